// The HDF5 helpers of hdf5_common.hpp.
#include "io/hdf5_common.hpp"

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::io::h5 {

int errno_in(const std::string& detail) {
    // HDF5's POSIX driver reports a failed system call as "..., errno = 28, error message =
    // 'No space left on device', ...".
    const std::string key = "errno = ";
    const auto at = detail.find(key);
    if (at == std::string::npos) {
        return 0;
    }
    return std::atoi(detail.c_str() + at + key.size());
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
    const std::string detail = h5::last_error();
    const int e = errno_in(detail);
    if (e == ENOSPC || e == EDQUOT) {
        throw glia::error(fmt::format("disk full while writing '{}' ({}: {})", file,
                                      std::generic_category().message(e), what));
    }
    if (e != 0) {
        throw glia::error(fmt::format("cannot write output file '{}': {} ({})", file,
                                      std::generic_category().message(e), what));
    }
    throw glia::error(fmt::format("cannot write output file '{}': {}{}", file, what,
                                  detail.empty() ? "" : " (HDF5: " + detail + ")"));
}

std::size_t files_left_open() {
    const ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
}

hid_t check_id(hid_t id, const std::string& file, const std::string& what) {
    if (id < 0) {
        fail(file, what);
    }
    return id;
}

void check_status(herr_t status, const std::string& file, const std::string& what) {
    if (status < 0) {
        fail(file, what);
    }
}

handle plist(hid_t cls, const std::string& file) {
    return {check_id(H5Pcreate(cls), file, "cannot create a property list"), H5Pclose};
}

handle simple_space(std::span<const hsize_t> dims, std::span<const hsize_t> maxdims,
                    const std::string& file) {
    return {check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                      maxdims.empty() ? nullptr : maxdims.data()),
                     file, "cannot create a dataspace"),
            H5Sclose};
}

handle scalar_space(const std::string& file) {
    return {check_id(H5Screate(H5S_SCALAR), file, "cannot create a dataspace"), H5Sclose};
}

handle string_type(const std::string& file) {
    handle t{check_id(H5Tcopy(H5T_C_S1), file, "cannot create a string type"), H5Tclose};
    check_status(H5Tset_size(t.get(), H5T_VARIABLE), file, "cannot create a string type");
    check_status(H5Tset_cset(t.get(), H5T_CSET_UTF8), file, "cannot create a string type");
    return t;
}

handle make_group(hid_t loc, const std::string& name, const std::string& file) {
    return {check_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file,
                     "cannot create group '" + name + "'"),
            H5Gclose};
}

handle open_or_make_group(hid_t loc, const std::string& name, const std::string& file) {
    const htri_t exists = H5Lexists(loc, name.c_str(), H5P_DEFAULT);
    check_status(exists < 0 ? -1 : 0, file, "cannot look up group '" + name + "'");
    if (exists > 0) {
        return {check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), file,
                         "cannot open group '" + name + "'"),
                H5Gclose};
    }
    return make_group(loc, name, file);
}

void write_attribute(hid_t obj, const std::string& name, hid_t file_type, hid_t space,
                     hid_t mem_type, const void* value, const std::string& file) {
    const htri_t exists = H5Aexists(obj, name.c_str());
    check_status(exists < 0 ? -1 : 0, file, "cannot look up attribute '" + name + "'");
    if (exists > 0) {
        check_status(H5Adelete(obj, name.c_str()), file, "cannot replace attribute '" + name + "'");
    }
    handle attr{check_id(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT),
                         file, "cannot create attribute '" + name + "'"),
                H5Aclose};
    check_status(H5Awrite(attr.get(), mem_type, value), file,
                 "cannot write attribute '" + name + "'");
}

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value,
                            const std::string& file) {
    const handle type = string_type(file);
    const handle space = scalar_space(file);
    const char* text = value.c_str();
    write_attribute(obj, name, type.get(), space.get(), type.get(), &text, file);
}

void write_u64_attribute(hid_t obj, const std::string& name, std::uint64_t value,
                         const std::string& file) {
    const handle space = scalar_space(file);
    write_attribute(obj, name, H5T_STD_U64LE, space.get(), H5T_NATIVE_UINT64, &value, file);
}

void write_i64_attribute(hid_t obj, const std::string& name, std::int64_t value,
                         const std::string& file) {
    const handle space = scalar_space(file);
    write_attribute(obj, name, H5T_STD_I64LE, space.get(), H5T_NATIVE_INT64, &value, file);
}

void write_f64_attribute(hid_t obj, const std::string& name, double value,
                         const std::string& file) {
    const handle space = scalar_space(file);
    write_attribute(obj, name, H5T_IEEE_F64LE, space.get(), H5T_NATIVE_DOUBLE, &value, file);
}

handle write_dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type, hsize_t n,
                     const void* data, bool compact, const std::string& file) {
    const hsize_t dims[] = {n};
    const handle space = simple_space(dims, {}, file);
    const handle dcpl = plist(H5P_DATASET_CREATE, file);
    if (compact) {
        check_status(H5Pset_layout(dcpl.get(), H5D_COMPACT), file, "cannot set a compact layout");
    }
    handle dset{check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                    dcpl.get(), H5P_DEFAULT),
                         file, "cannot create dataset '" + name + "'"),
                H5Dclose};
    if (n > 0) {
        check_status(H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), file,
                     "cannot write dataset '" + name + "'");
    }
    return dset;
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                   const std::string& file) {
    std::vector<const char*> texts;
    texts.reserve(values.size());
    for (const auto& v: values) {
        texts.push_back(v.c_str());
    }
    const handle type = string_type(file);
    write_dataset(loc, name, type.get(), type.get(), texts.size(), texts.data(), false, file);
}

void write_u64s(hid_t loc, const std::string& name, const std::vector<std::uint64_t>& values,
                const std::string& file) {
    write_dataset(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, values.size(), values.data(), false,
                  file);
}

void write_status(hid_t run, const std::string& status, const std::string& file, bool create) {
    handle type{check_id(H5Tcopy(H5T_C_S1), file, "cannot create a string type"), H5Tclose};
    check_status(H5Tset_size(type.get(), status_length), file, "cannot create a string type");
    check_status(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), file, "cannot create a string type");
    char text[status_length] = {};
    status.copy(text, status_length - 1);
    if (create) {
        const handle space = scalar_space(file);
        write_attribute(run, "status", type.get(), space.get(), type.get(), text, file);
        return;
    }
    const handle attr{
        check_id(H5Aopen(run, "status", H5P_DEFAULT), file, "cannot open /run@status"), H5Aclose};
    check_status(H5Awrite(attr.get(), type.get(), text), file, "cannot write /run@status");
}

void overwrite_attribute(hid_t obj, const std::string& name, hid_t mem_type, const void* value,
                         const std::string& file) {
    const handle attr{check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), file,
                               "cannot open attribute '" + name + "'"),
                      H5Aclose};
    check_status(H5Awrite(attr.get(), mem_type, value), file,
                 "cannot write attribute '" + name + "'");
}

void write_run_summary(hid_t run, const run_summary& summary, const std::string& file) {
    write_i64_attribute(run, "steps_done", summary.steps_done, file);
    write_f64_attribute(run, "wall_seconds", summary.wall_seconds, file);
    write_f64_attribute(run, "build_seconds", summary.build_seconds, file);
    write_u64_attribute(run, "n_neurons", summary.n_neurons, file);
    write_u64_attribute(run, "n_synapses", summary.n_synapses, file);
    write_u64_attribute(run, "synaptic_events", summary.synaptic_events, file);
}

std::optional<std::string> read_string_attribute(hid_t obj, const char* name) {
    if (H5Aexists(obj, name) <= 0) {
        return std::nullopt;
    }
    const handle a{H5Aopen(obj, name, H5P_DEFAULT), H5Aclose};
    const handle ftype{H5Aget_type(a.get()), H5Tclose};
    if (H5Tget_class(ftype.get()) != H5T_STRING) {
        return std::nullopt;
    }
    if (H5Tis_variable_str(ftype.get()) > 0) {
        const handle type{H5Tcopy(H5T_C_S1), H5Tclose};
        H5Tset_size(type.get(), H5T_VARIABLE);
        H5Tset_cset(type.get(), H5T_CSET_UTF8);
        char* text = nullptr;
        if (H5Aread(a.get(), type.get(), &text) < 0 || text == nullptr) {
            return std::nullopt;
        }
        std::string out(text);
        H5free_memory(text);
        return out;
    }
    // Fixed length (a network run's /run@status): NUL-padded or NUL-terminated.
    std::string out(H5Tget_size(ftype.get()), '\0');
    if (H5Aread(a.get(), ftype.get(), out.data()) < 0) {
        return std::nullopt;
    }
    out.erase(out.find_last_not_of('\0') + 1);
    return out;
}

}  // namespace glia::io::h5
