#pragma once
// Small helpers shared by the HDF5 writer and reader (private to glia_io): an owning handle
// for HDF5 identifiers, a guard that silences HDF5's own printing of error stacks, and the
// text of the innermost HDF5 error, so that our glia::error messages can say what HDF5 said.

#include <string>
#include <utility>

#include <hdf5.h>

namespace glia::io::h5 {

// Owns one HDF5 identifier and closes it with the matching H5?close function.
class handle {
public:
    using closer = herr_t (*)(hid_t);

    handle() = default;
    handle(hid_t id, closer close): id_(id), close_(close) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    handle(handle&& other) noexcept:
        id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
    handle& operator=(handle&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
            close_ = other.close_;
        }
        return *this;
    }
    ~handle() { reset(); }

    hid_t get() const { return id_; }
    bool valid() const { return id_ >= 0; }
    hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
    void reset() {
        if (id_ >= 0 && close_ != nullptr) {
            close_(id_);  // a close failure leaves nothing to recover here
        }
        id_ = H5I_INVALID_HID;
    }

private:
    hid_t id_ = H5I_INVALID_HID;
    closer close_ = nullptr;
};

// While alive, HDF5 does not print its error stack to stderr on this thread (we turn failures
// into glia::error instead). The previous setting is restored on destruction.
class quiet_errors {
public:
    quiet_errors() {
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    quiet_errors(const quiet_errors&) = delete;
    quiet_errors& operator=(const quiet_errors&) = delete;
    ~quiet_errors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

// File access properties without HDF5's file lock: glia's writers take none, so that a run's
// output can be read (glia inspect, h5py with HDF5_USE_FILE_LOCKING=FALSE) while it is written,
// and its readers take none, so that reading never blocks or fails on a running file.
inline handle unlocked_access() {
    handle fapl{H5Pcreate(H5P_FILE_ACCESS), H5Pclose};
    H5Pset_file_locking(fapl.get(), false, true);
    return fapl;
}

// The description of the innermost entry of this thread's HDF5 error stack (where HDF5
// detected the problem, e.g. "unable to open file: name = ..., errno = 2, ..."), or "" if
// the stack is empty. Clears the stack.
inline std::string last_error() {
    std::string message;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* entry, void* out) -> herr_t {
            if (n == 0 && entry != nullptr && entry->desc != nullptr) {
                *static_cast<std::string*>(out) = entry->desc;
            }
            return 0;
        },
        &message);
    H5Eclear2(H5E_DEFAULT);
    return message;
}

}  // namespace glia::io::h5
