#include "io/hdf5_writer.hpp"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>

#include "io/hdf5_handle.hpp"
#include "io/hdf5_reader.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace glia::io {

namespace {

namespace fs = std::filesystem;
using h5::handle;

// The raw (unfiltered) chunks we write with H5Dwrite_chunk are the bytes of our buffers: the
// file types below are little-endian, so the buffers must be too.
static_assert(std::endian::native == std::endian::little,
              "hdf5_sink writes raw chunks in native byte order, which must be little-endian");

constexpr std::uint32_t sonata_magic = 0x0A7A;
constexpr std::uint32_t sonata_version[2] = {0, 1};

std::string errno_text(int e) {
    return std::generic_category().message(e);
}

// Every HDF5 failure of the writer becomes this error: the file, what we were doing, and
// what HDF5 said.
[[noreturn]] void fail(const std::string& file, const std::string& what) {
    const std::string detail = h5::last_error();
    throw glia::error(fmt::format("cannot write output file '{}': {}{}", file, what,
                                  detail.empty() ? "" : " (HDF5: " + detail + ")"));
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

// Variable-length UTF-8 strings, as SONATA's "units" and h5py's str.
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

// Group `name` of `loc`, created if it does not exist yet.
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

// Where a report lives in its file: /report/<population> (SONATA), or, for populations that
// emit no spikes (astrocytes), /astrocytes/<population>/<variable> with the same layout.
std::string report_group_path(const run_layout& layout, const report_layout& rep) {
    const auto& pop = layout.populations[rep.population];
    return pop.emits_spikes ? "/report/" + pop.name
                            : "/astrocytes/" + pop.name + "/" + rep.variable;
}

// Replaces attribute `name` of `obj` (if any) with `value`.
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

// The SONATA root attributes: magic (uint32 scalar) and version (uint32[2]).
void write_root_attributes(hid_t file_id, const std::string& file) {
    const handle scalar = scalar_space(file);
    write_attribute(file_id, "magic", H5T_STD_U32LE, scalar.get(), H5T_NATIVE_UINT32, &sonata_magic,
                    file);
    const hsize_t two[] = {2};
    const handle pair = simple_space(two, {}, file);
    write_attribute(file_id, "version", H5T_STD_U32LE, pair.get(), H5T_NATIVE_UINT32,
                    sonata_version, file);
}

// A small dataset written once (contiguous, or compact: stored in the object header).
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

// HDF5's shuffle filter: byte k of element i goes to position k * n + i.
void shuffle(const std::byte* in, std::byte* out, std::size_t n_elements, std::size_t elem_size) {
    for (std::size_t i = 0; i < n_elements; ++i) {
        for (std::size_t k = 0; k < elem_size; ++k) {
            out[k * n_elements + i] = in[i * elem_size + k];
        }
    }
}

// One appendable dataset, rank 1 (rows) or rank 2 (rows x width), chunked along rows (and
// along the width in chunks of chunk_cols), with the filters shuffle + deflate.
//
// Rows are buffered here and reach the file only in write_chunk_row() + commit_extent(),
// which the sink calls in rounds separated by H5Fflush (state::write_out). What keeps a
// killed run readable:
//   - A chunk row is written (and indexed) before the extent grows over it: H5Dwrite_chunk
//     accepts a chunk that starts at the current extent, so each round writes the chunk row
//     that holds the first row beyond the extent, and the next H5Fflush puts the chunk and its
//     index entry on disk while the extent still hides them; only then does the extent grow,
//     in an H5Fflush of its own that changes nothing else.
//   - File space holding flushed data is never rewritten with other bytes. A chunk row
//     complete at its first write is compressed (by us: shuffle + zlib, which is what the
//     dataset's filters decode) into new space. A chunk row first written partial is stored
//     unfiltered at full chunk size (filter mask: every filter skipped) and later rewritten in
//     place, the bytes already flushed unchanged; it stays unfiltered. (HDF5 moves a chunk
//     whose stored size changes, and may put the new copy over the old one: a kill before
//     the next flush would leave an unreadable chunk.)
class column {
public:
    column(hid_t loc, const std::string& name, hid_t file_type, std::size_t elem_size, int rank,
           hsize_t width, hsize_t chunk_rows, hsize_t chunk_cols, int deflate_level,
           std::string file):
        elem_size_(elem_size),
        rank_(rank),
        width_(width),
        chunk_rows_(chunk_rows),
        chunk_cols_(rank == 1 ? 1 : chunk_cols),
        deflate_level_(deflate_level),
        file_(std::move(file)),
        name_(name) {
        const hsize_t dims[] = {0, width_};
        const hsize_t maxdims[] = {H5S_UNLIMITED, width_};
        const hsize_t chunk[] = {chunk_rows_, chunk_cols_};
        const auto r = static_cast<std::size_t>(rank_);
        const handle space = simple_space(std::span(dims, r), std::span(maxdims, r), file_);
        const handle dcpl = plist(H5P_DATASET_CREATE, file_);
        check_status(H5Pset_chunk(dcpl.get(), rank_, chunk), file_, "cannot set chunks");
        check_status(H5Pset_shuffle(dcpl.get()), file_, "cannot set the shuffle filter");
        check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate_level)), file_,
                     "cannot set the deflate filter");
        dset_ = handle{check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                           dcpl.get(), H5P_DEFAULT),
                                file_, "cannot create dataset '" + name + "'"),
                       H5Dclose};
        const int n_filters = H5Pget_nfilters(dcpl.get());
        if (n_filters != 2) {
            fail(file_, "unexpected filter pipeline on '" + name + "'");
        }
        chunk_.resize(chunk_rows_ * chunk_cols_ * elem_size_);
        shuffled_.resize(chunk_.size());
        compressed_.resize(::compressBound(static_cast<uLong>(chunk_.size())));

        // HDF5 1.10.8 creates a chunk index on the first write into a non-empty dataset only:
        // H5Dwrite_chunk into an empty dataset with no index crashes (segfault in H5B_find).
        // So grow to one row, write a chunk (this creates the index) and shrink back, which
        // removes the chunk and keeps the empty index. This happens before the first flush.
        const hsize_t one[] = {1, width_};
        const hsize_t origin[] = {0, 0};
        check_status(H5Dset_extent(dset_.get(), one), file_, "cannot extend '" + name + "'");
        check_status(H5Dwrite_chunk(dset_.get(), H5P_DEFAULT, unfiltered_mask, origin,
                                    chunk_.size(), chunk_.data()),
                     file_, "cannot write '" + name + "'");
        check_status(H5Dset_extent(dset_.get(), dims), file_, "cannot shrink '" + name + "'");
    }

    // An existing dataset of the file (a resumed run, see resume_at()); its chunk shape is
    // read from the file, its rank, width and element size must be as expected.
    struct existing {};
    column(existing, hid_t loc, const std::string& name, std::size_t elem_size, int rank,
           hsize_t width, int deflate_level, std::string file):
        elem_size_(elem_size),
        rank_(rank),
        width_(width),
        deflate_level_(deflate_level),
        file_(std::move(file)),
        name_(name) {
        dset_ = handle{check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), file_,
                                "cannot open dataset '" + name + "'"),
                       H5Dclose};
        const handle space{check_id(H5Dget_space(dset_.get()), file_, "cannot read '" + name + "'"),
                           H5Sclose};
        const handle type{check_id(H5Dget_type(dset_.get()), file_, "cannot read '" + name + "'"),
                          H5Tclose};
        hsize_t dims[2] = {0, 1};
        const handle dcpl{check_id(H5Dget_create_plist(dset_.get()), file_,
                                   "cannot read '" + name + "'"),
                          H5Pclose};
        hsize_t chunk[2] = {0, 1};
        if (H5Sget_simple_extent_ndims(space.get()) != rank_ || H5Tget_size(type.get()) != elem_size_ ||
            H5Pget_chunk(dcpl.get(), rank_, chunk) != rank_ ||
            H5Sget_simple_extent_dims(space.get(), dims, nullptr) != rank_ ||
            (rank_ == 2 && dims[1] != width_)) {
            throw glia::error(fmt::format("cannot resume output file '{}': dataset '{}' does not "
                                          "have the shape this run writes",
                                          file_, name));
        }
        chunk_rows_ = chunk[0];
        chunk_cols_ = rank_ == 1 ? 1 : chunk[1];
        extent_ = dims[0];
        pending_extent_ = extent_;
        buffer_first_ = extent_;
        chunk_.resize(chunk_rows_ * chunk_cols_ * elem_size_);
        shuffled_.resize(chunk_.size());
        compressed_.resize(::compressBound(static_cast<uLong>(chunk_.size())));
    }

    // Continues an existing dataset after its first `rows` rows (a resumed run): rows beyond
    // are dropped. The rows of the last, partial chunk row are read back into the buffer, so
    // that the next write_chunk_row() writes them again, unchanged, with the new ones:
    //   - the file has exactly `rows` rows (the usual case: the run that wrote the checkpoint
    //     closed the file): nothing changes on disk; that chunk row, stored unfiltered since
    //     it was partial, is rewritten in place as during a run;
    //   - it has more (a resumed run was killed after the checkpoint): the extent shrinks to
    //     the start of that chunk row (whole chunks are dropped, no chunk is rewritten by
    //     HDF5), and the buffered rows are written as a new chunk row.
    // Throws glia::error if the dataset has fewer than `rows` rows.
    void resume_at(hsize_t rows, hid_t mem_type) {
        if (extent_ < rows) {
            throw glia::error(fmt::format("cannot resume output file '{}': dataset '{}' has {} "
                                          "rows, the checkpoint needs {} (the file is older "
                                          "than the checkpoint)",
                                          file_, name_, extent_, rows));
        }
        const hsize_t first = rows - rows % chunk_rows_;
        buffer_.assign((rows - first) * width_ * elem_size_, std::byte{0});
        if (rows > first) {
            const hsize_t start[] = {first, 0};
            const hsize_t count[] = {rows - first, width_};
            const auto r = static_cast<std::size_t>(rank_);
            const handle file_space{check_id(H5Dget_space(dset_.get()), file_,
                                             "cannot read '" + name_ + "'"),
                                    H5Sclose};
            check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr,
                                             count, nullptr),
                         file_, "cannot read '" + name_ + "'");
            const handle mem_space = simple_space(std::span(count, r), {}, file_);
            check_status(H5Dread(dset_.get(), mem_type, mem_space.get(), file_space.get(),
                                 H5P_DEFAULT, buffer_.data()),
                         file_, "cannot read '" + name_ + "'");
        }
        buffer_first_ = first;
        if (extent_ > rows) {
            const hsize_t dims[] = {first, width_};
            check_status(H5Dset_extent(dset_.get(), dims), file_,
                         "cannot truncate '" + name_ + "'");
            extent_ = first;
        }
        pending_extent_ = extent_;
    }

    hid_t id() const { return dset_.get(); }
    hsize_t rows() const { return buffer_first_ + buffered_rows(); }
    hsize_t extent() const { return extent_; }
    std::size_t unwritten_bytes() const { return (rows() - extent_) * width_ * elem_size_; }

    void append(const void* data, hsize_t n_rows) {
        const auto* src = static_cast<const std::byte*>(data);
        buffer_.insert(buffer_.end(), src, src + n_rows * width_ * elem_size_);
    }

    // Writes the chunk row holding row extent() (if there are rows beyond it); true if it did.
    bool write_chunk_row() {
        if (rows() == extent_) {
            return false;
        }
        const hsize_t first = extent_ - extent_ % chunk_rows_;  // first row of the chunk row
        const hsize_t end = std::min(rows(), first + chunk_rows_);
        const bool complete = end == first + chunk_rows_;
        const bool fresh = extent_ == first;  // nothing of it in the file yet
        const std::size_t row_bytes = width_ * elem_size_;
        for (hsize_t col = 0; col < width_; col += chunk_cols_) {
            const hsize_t n_cols = std::min(chunk_cols_, width_ - col);
            std::fill(chunk_.begin(), chunk_.end(), std::byte{0});
            for (hsize_t row = first; row < end; ++row) {
                std::memcpy(chunk_.data() + (row - first) * chunk_cols_ * elem_size_,
                            buffer_.data() + (row - buffer_first_) * row_bytes + col * elem_size_,
                            n_cols * elem_size_);
            }
            const void* bytes = chunk_.data();
            std::size_t n_bytes = chunk_.size();
            std::uint32_t mask = unfiltered_mask;
            if (complete && fresh) {
                shuffle(chunk_.data(), shuffled_.data(), chunk_.size() / elem_size_, elem_size_);
                auto packed = static_cast<uLongf>(compressed_.size());
                if (::compress2(reinterpret_cast<Bytef*>(compressed_.data()), &packed,
                                reinterpret_cast<const Bytef*>(shuffled_.data()),
                                static_cast<uLong>(shuffled_.size()), deflate_level_) == Z_OK &&
                    packed < chunk_.size()) {
                    bytes = compressed_.data();
                    n_bytes = packed;
                    mask = 0;
                }
            }
            const hsize_t offset[] = {first, col};
            check_status(H5Dwrite_chunk(dset_.get(), H5P_DEFAULT, mask, offset, n_bytes, bytes),
                         file_, "cannot write '" + name_ + "'");
        }
        pending_extent_ = end;
        return true;
    }

    // Grows the extent over the chunk row written last (its index is on disk by now).
    void commit_extent() {
        if (pending_extent_ <= extent_) {
            return;
        }
        const hsize_t dims[] = {pending_extent_, width_};
        check_status(H5Dset_extent(dset_.get(), dims), file_, "cannot extend '" + name_ + "'");
        extent_ = pending_extent_;
    }

    // Forgets the buffered rows of chunk rows that are complete in the file.
    void trim() {
        const hsize_t keep_from = extent_ - extent_ % chunk_rows_;
        if (keep_from > buffer_first_) {
            const std::size_t bytes = (keep_from - buffer_first_) * width_ * elem_size_;
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(bytes));
            buffer_first_ = keep_from;
        }
    }

private:
    static constexpr std::uint32_t unfiltered_mask = 0x3;  // shuffle and deflate skipped

    hsize_t buffered_rows() const { return buffer_.size() / (width_ * elem_size_); }

    handle dset_;
    std::size_t elem_size_;
    int rank_;
    hsize_t width_;  // values per row (1 for rank 1)
    hsize_t chunk_rows_;
    hsize_t chunk_cols_;  // 1 for rank 1
    int deflate_level_;
    std::string file_;
    std::string name_;
    std::vector<std::byte> buffer_;  // rows [buffer_first_, rows()), row-major
    hsize_t buffer_first_ = 0;       // a multiple of chunk_rows_
    hsize_t extent_ = 0;             // rows the dataset has (in the file after a flush)
    hsize_t pending_extent_ = 0;     // rows written, extent not yet grown over them
    std::vector<std::byte> chunk_;   // one chunk being assembled
    std::vector<std::byte> shuffled_;
    std::vector<std::byte> compressed_;
};

// A file being written: the main output or a sibling report file.
struct output_file {
    std::string path;
    handle file;
};

struct spike_output {
    std::size_t population = 0;
    handle group;
    std::optional<column> timestamps;  // [ms]
    std::optional<column> node_ids;    // population-local
    step_t last_step = 0;
    std::vector<double> stage_times;  // [ms] this batch's spikes, before append
    std::vector<std::uint64_t> stage_ids;
};

struct report_output {
    std::size_t file = 0;  // index into files
    handle group;          // /report/<population>
    std::optional<column> data;
    handle time;  // mapping/time: [t_start, t_stop, dt] [ms]
    std::size_t width = 0;
    std::size_t frames = 0;          // received
    std::size_t frames_in_time = 0;  // t_stop written for this many frames
    double t_start = 0;              // [ms]
    double dt = 0;                   // [ms] between frames
};

// /weights/<projection>: snapshots of a plastic projection's weights.
struct weight_output {
    std::optional<column> time;    // [ms] one row per snapshot
    std::optional<column> weight;  // one row per snapshot, one column per synapse
    std::size_t width = 0;
    std::size_t snapshots = 0;     // received
};

// /run@status: a fixed-length string, so that end() overwrites it in place (one object
// header write), never through the global heap as a variable-length string would.
constexpr std::size_t status_length = 16;

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

// Overwrites the value of an existing attribute in place.
void overwrite_attribute(hid_t obj, const std::string& name, hid_t mem_type, const void* value,
                         const std::string& file) {
    const handle attr{check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), file,
                               "cannot open attribute '" + name + "'"),
                      H5Aclose};
    check_status(H5Awrite(attr.get(), mem_type, value), file,
                 "cannot write attribute '" + name + "'");
}

void validate_name(const std::string& name, const char* what) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos) {
        throw glia::error(fmt::format(
            "{} name '{}' cannot name an HDF5 group: it must be non-empty, not '.', without '/'",
            what, name));
    }
}

}  // namespace

struct hdf5_sink::state {
    provenance prov;
    hdf5_options options;
    run_layout layout;
    bool begun = false;
    bool ended = false;
    std::vector<std::string> file_paths;  // main file first
    // Declared before the objects in them, so that those close first.
    std::vector<output_file> files;
    handle run_group;
    handle spike_counts;  // /run/spike_counts
    std::vector<spike_output> spike_outputs;
    std::vector<std::ptrdiff_t> spike_output_of;  // per population, -1 if not recorded
    std::vector<std::pair<neuron_id, std::size_t>> first_gids;  // (first gid, population), sorted
    std::vector<report_output> reports;
    std::vector<weight_output> weight_outputs;
    std::size_t unwritten_bytes = 0;  // received, not yet in the files

    const std::string& main_path() const { return files.front().path; }

    void create_spikes(hid_t file_id, const std::string& file) {
        handle spikes_group = make_group(file_id, "spikes", file);
        spike_output_of.assign(layout.populations.size(), -1);
        for (std::size_t p = 0; p < layout.populations.size(); ++p) {
            const auto& pop = layout.populations[p];
            if (!pop.spikes_recorded) {
                continue;
            }
            spike_output out;
            out.population = p;
            out.group = make_group(spikes_group.get(), pop.name, file);
            // sorting: the SONATA enum {none, by_id, by_time}; we emit in time order.
            handle sorting{check_id(H5Tenum_create(H5T_STD_U8LE), file, "cannot create an enum"),
                           H5Tclose};
            const std::uint8_t none = 0, by_id = 1, by_time = 2;
            check_status(H5Tenum_insert(sorting.get(), "none", &none), file, "cannot build enum");
            check_status(H5Tenum_insert(sorting.get(), "by_id", &by_id), file, "cannot build enum");
            check_status(H5Tenum_insert(sorting.get(), "by_time", &by_time), file,
                         "cannot build enum");
            const handle scalar = scalar_space(file);
            write_attribute(out.group.get(), "sorting", sorting.get(), scalar.get(), sorting.get(),
                            &by_time, file);
            const auto chunk = static_cast<hsize_t>(options.spike_chunk);
            out.timestamps.emplace(out.group.get(), "timestamps", H5T_IEEE_F64LE, sizeof(double), 1,
                                   1, chunk, 1, options.deflate_level, file);
            write_string_attribute(out.timestamps->id(), "units", "ms", file);
            out.node_ids.emplace(out.group.get(), "node_ids", H5T_STD_U64LE, sizeof(std::uint64_t),
                                 1, 1, chunk, 1, options.deflate_level, file);
            spike_output_of[p] = static_cast<std::ptrdiff_t>(spike_outputs.size());
            spike_outputs.push_back(std::move(out));
        }
    }

    void create_report(std::size_t r, std::size_t file_index) {
        const auto& rep = layout.reports[r];
        const auto& pop = layout.populations[rep.population];
        const std::string& file = files[file_index].path;
        const hid_t file_id = files[file_index].file.get();
        report_output out;
        out.file = file_index;
        out.width = rep.node_ids.size();
        out.t_start = static_cast<double>(rep.start_step) * layout.dt;
        out.dt = static_cast<double>(rep.interval_steps) * layout.dt;
        if (pop.emits_spikes) {
            const handle report_group = open_or_make_group(file_id, "report", file);
            out.group = make_group(report_group.get(), pop.name, file);
        } else {
            const handle astro_group = open_or_make_group(file_id, "astrocytes", file);
            const handle pop_group = open_or_make_group(astro_group.get(), pop.name, file);
            out.group = make_group(pop_group.get(), rep.variable, file);
        }
        write_string_attribute(out.group.get(), "report", rep.name, file);

        const auto width = static_cast<hsize_t>(out.width);
        const hsize_t values = std::max<hsize_t>(1, options.report_chunk_values);
        const hsize_t chunk_cols = std::min(width, values);
        const hsize_t chunk_rows = std::max<hsize_t>(1, values / chunk_cols);
        out.data.emplace(out.group.get(), "data", H5T_IEEE_F32LE, sizeof(float), 2, width,
                         chunk_rows, chunk_cols, options.deflate_level, file);
        write_string_attribute(out.data->id(), "units", rep.unit, file);
        write_string_attribute(out.data->id(), "variable", rep.variable, file);

        handle mapping = make_group(out.group.get(), "mapping", file);
        std::vector<std::uint64_t> ids(rep.node_ids.begin(), rep.node_ids.end());
        write_u64s(mapping.get(), "node_ids", ids, file);
        std::vector<std::uint64_t> pointers(ids.size() + 1);
        for (std::size_t i = 0; i < pointers.size(); ++i) {
            pointers[i] = i;
        }
        write_u64s(mapping.get(), "index_pointers", pointers, file);
        const std::vector<std::uint32_t> elements(ids.size(), 0);
        write_dataset(mapping.get(), "element_ids", H5T_STD_U32LE, H5T_NATIVE_UINT32,
                      elements.size(), elements.data(), false, file);
        const double time[3] = {out.t_start, out.t_start, out.dt};
        out.time = write_dataset(mapping.get(), "time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 3, time,
                                 true, file);
        write_string_attribute(out.time.get(), "units", "ms", file);
        reports.push_back(std::move(out));
    }

    void create_weights(hid_t file_id, const std::string& file) {
        if (layout.weights.empty()) {
            return;
        }
        handle group = make_group(file_id, "weights", file);
        for (const auto& wl: layout.weights) {
            weight_output out;
            out.width = wl.sources.size();
            handle g = make_group(group.get(), wl.projection, file);
            write_string_attribute(g.get(), "rule", wl.rule, file);
            write_string_attribute(g.get(), "source_population",
                                   layout.populations[wl.source_population].name, file);
            write_string_attribute(g.get(), "target_population",
                                   layout.populations[wl.target_population].name, file);
            write_u64s(g.get(), "source", std::vector<std::uint64_t>(wl.sources.begin(),
                                                                      wl.sources.end()),
                       file);
            write_u64s(g.get(), "target", std::vector<std::uint64_t>(wl.targets.begin(),
                                                                      wl.targets.end()),
                       file);
            std::vector<double> delay_ms;
            for (step_t d: wl.delays) {
                delay_ms.push_back(static_cast<double>(d) * layout.dt);
            }
            handle delay = write_dataset(g.get(), "delay", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                         delay_ms.size(), delay_ms.data(), false, file);
            write_string_attribute(delay.get(), "units", "ms", file);
            out.time.emplace(g.get(), "time", H5T_IEEE_F64LE, sizeof(double), 1, 1, 64, 1,
                             options.deflate_level, file);
            write_string_attribute(out.time->id(), "units", "ms", file);
            const auto width = static_cast<hsize_t>(std::max<std::size_t>(1, out.width));
            const hsize_t values = std::max<hsize_t>(1, options.report_chunk_values);
            const hsize_t chunk_cols = std::min(width, values);
            const hsize_t chunk_rows = std::max<hsize_t>(1, values / chunk_cols);
            out.weight.emplace(g.get(), "weight", H5T_IEEE_F32LE, sizeof(float), 2, width,
                               chunk_rows, chunk_cols, options.deflate_level, file);
            write_string_attribute(out.weight->id(), "units", wl.unit, file);
            weight_outputs.push_back(std::move(out));
        }
    }

    void create_run(hid_t file_id, const std::string& file,
                    const std::vector<std::string>& report_files) {
        run_group = make_group(file_id, "run", file);
        const hid_t g = run_group.get();
        write_string_attribute(g, "config", prov.config_text, file);
        write_string_attribute(g, "source_path", prov.source_path, file);
        write_u64_attribute(g, "seed", layout.seed, file);
        write_string_attribute(g, "version", prov.version, file);
        write_string_attribute(g, "git_hash", prov.git_hash, file);
        write_string_attribute(g, "host", prov.host, file);
        write_string_attribute(g, "command_line", prov.command_line, file);
        write_string_attribute(g, "started", prov.started, file);
        write_f64_attribute(g, "dt", layout.dt, file);
        write_f64_attribute(g, "duration", prov.duration_ms, file);
        write_i64_attribute(g, "n_steps", layout.n_steps, file);
        // What end() writes, created now and overwritten in place then: end() changes no
        // structure, so a kill during it cannot break the file. Until /run@status says
        // otherwise, these are placeholders.
        write_i64_attribute(g, "steps_done", 0, file);
        write_f64_attribute(g, "wall_seconds", 0, file);
        write_f64_attribute(g, "build_seconds", 0, file);
        write_u64_attribute(g, "n_neurons", 0, file);
        write_u64_attribute(g, "n_synapses", 0, file);
        write_u64_attribute(g, "synaptic_events", 0, file);
        write_status(g, "running", file, true);

        std::vector<std::string> names, models;
        std::vector<std::uint64_t> first, sizes;
        std::vector<std::uint8_t> recorded;
        for (const auto& pop: layout.populations) {
            names.push_back(pop.name);
            models.push_back(pop.model);
            first.push_back(pop.first_gid);
            sizes.push_back(pop.size);
            recorded.push_back(pop.spikes_recorded ? 1 : 0);
        }
        write_strings(g, "population_names", names, file);
        write_strings(g, "population_models", models, file);
        write_u64s(g, "population_first_gids", first, file);
        write_u64s(g, "population_sizes", sizes, file);
        write_dataset(g, "population_spikes_recorded", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                      recorded.size(), recorded.data(), false, file);
        spike_counts = write_dataset(
            g, "spike_counts", H5T_STD_U64LE, H5T_NATIVE_UINT64, layout.populations.size(),
            std::vector<std::uint64_t>(layout.populations.size(), 0).data(), false, file);

        // /run/reports: one row per report across parallel string datasets.
        handle table = make_group(g, "reports", file);
        std::vector<std::string> r_name, r_pop, r_var, r_unit, r_file, r_path;
        for (std::size_t r = 0; r < layout.reports.size(); ++r) {
            const auto& rep = layout.reports[r];
            const std::string& pop = layout.populations[rep.population].name;
            r_name.push_back(rep.name);
            r_pop.push_back(pop);
            r_var.push_back(rep.variable);
            r_unit.push_back(rep.unit);
            r_file.push_back(report_files[r]);
            r_path.push_back(report_group_path(layout, rep));
        }
        write_strings(table.get(), "name", r_name, file);
        write_strings(table.get(), "population", r_pop, file);
        write_strings(table.get(), "variable", r_var, file);
        write_strings(table.get(), "unit", r_unit, file);
        write_strings(table.get(), "file", r_file, file);
        write_strings(table.get(), "path", r_path, file);
    }

    // A resumed run (hdf5_options::resume): opens the files and every dataset begin() would
    // create, cuts each to what layout.recorded says was written before layout.first_step,
    // and sets /run@status back to "running". The first flush (at the end of begin()) writes
    // the cut chunk rows again (column::resume_at).
    void reopen(hid_t fapl, const std::vector<std::size_t>& file_of) {
        const auto& rec = layout.recorded;
        if (rec.spikes.size() != layout.populations.size() ||
            rec.report_frames.size() != layout.reports.size() ||
            rec.weight_snapshots.size() != layout.weights.size()) {
            throw glia::internal_error("hdf5_sink: recorded counts do not match the layout");
        }
        for (const auto& p: file_paths) {
            output_file f;
            f.path = p;
            f.file = handle{check_id(H5Fopen(p.c_str(), H5F_ACC_RDWR, fapl), p,
                                     "cannot open the file to resume it"),
                            H5Fclose};
            files.push_back(std::move(f));
        }
        const hid_t main_id = files.front().file.get();
        const std::string& file = main_path();
        auto open_group = [&](hid_t loc, const std::string& name, const std::string& in_file) {
            return handle{check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), in_file,
                                   "cannot open group '" + name + "'"),
                          H5Gclose};
        };

        spike_output_of.assign(layout.populations.size(), -1);
        if (std::any_of(layout.populations.begin(), layout.populations.end(),
                        [](const auto& p) { return p.spikes_recorded; })) {
            const handle spikes_group = open_group(main_id, "spikes", file);
            for (std::size_t p = 0; p < layout.populations.size(); ++p) {
                const auto& pop = layout.populations[p];
                if (!pop.spikes_recorded) {
                    continue;
                }
                spike_output out;
                out.population = p;
                out.group = open_group(spikes_group.get(), pop.name, file);
                out.timestamps.emplace(column::existing{}, out.group.get(), "timestamps",
                                       sizeof(double), 1, 1, options.deflate_level, file);
                out.node_ids.emplace(column::existing{}, out.group.get(), "node_ids",
                                     sizeof(std::uint64_t), 1, 1, options.deflate_level, file);
                out.timestamps->resume_at(rec.spikes[p], H5T_NATIVE_DOUBLE);
                out.node_ids->resume_at(rec.spikes[p], H5T_NATIVE_UINT64);
                out.last_step = layout.first_step;
                spike_output_of[p] = static_cast<std::ptrdiff_t>(spike_outputs.size());
                spike_outputs.push_back(std::move(out));
            }
        }
        for (std::size_t p = 0; p < layout.populations.size(); ++p) {
            first_gids.emplace_back(layout.populations[p].first_gid, p);
        }
        std::sort(first_gids.begin(), first_gids.end());

        for (std::size_t r = 0; r < layout.reports.size(); ++r) {
            const auto& rep = layout.reports[r];
            const std::string& in_file = files[file_of[r]].path;
            report_output out;
            out.file = file_of[r];
            out.width = rep.node_ids.size();
            out.t_start = static_cast<double>(rep.start_step) * layout.dt;
            out.dt = static_cast<double>(rep.interval_steps) * layout.dt;
            const std::string group = report_group_path(layout, rep);
            out.group = open_group(files[out.file].file.get(), group, in_file);
            out.data.emplace(column::existing{}, out.group.get(), "data", sizeof(float), 2,
                             static_cast<hsize_t>(out.width), options.deflate_level, in_file);
            out.data->resume_at(rec.report_frames[r], H5T_NATIVE_FLOAT);
            out.time = handle{check_id(H5Dopen2(out.group.get(), "mapping/time", H5P_DEFAULT),
                                       in_file, "cannot open " + group + "/mapping/time"),
                              H5Dclose};
            out.frames = static_cast<std::size_t>(rec.report_frames[r]);
            out.frames_in_time = static_cast<std::size_t>(-1);  // rewritten at the next flush
            reports.push_back(std::move(out));
        }

        if (!layout.weights.empty()) {
            const handle group = open_group(main_id, "weights", file);
            for (std::size_t w = 0; w < layout.weights.size(); ++w) {
                const auto& wl = layout.weights[w];
                weight_output out;
                out.width = wl.sources.size();
                const handle g = open_group(group.get(), wl.projection, file);
                out.time.emplace(column::existing{}, g.get(), "time", sizeof(double), 1, 1,
                                 options.deflate_level, file);
                out.weight.emplace(column::existing{}, g.get(), "weight", sizeof(float), 2,
                                   static_cast<hsize_t>(std::max<std::size_t>(1, out.width)),
                                   options.deflate_level, file);
                out.time->resume_at(rec.weight_snapshots[w], H5T_NATIVE_DOUBLE);
                out.weight->resume_at(rec.weight_snapshots[w], H5T_NATIVE_FLOAT);
                out.snapshots = static_cast<std::size_t>(rec.weight_snapshots[w]);
                weight_outputs.push_back(std::move(out));
            }
        }

        run_group = open_group(main_id, "run", file);
        spike_counts = handle{check_id(H5Dopen2(run_group.get(), "spike_counts", H5P_DEFAULT),
                                       file, "cannot open /run/spike_counts"),
                              H5Dclose};
        write_i64_attribute(run_group.get(), "resumed_from_step", layout.first_step, file);
        write_string_attribute(run_group.get(), "resumed_command_line", prov.command_line, file);
        write_status(run_group.get(), "running", file, false);
        flush_all();
    }

    // mapping/time says how many frames the data have in the file: t_stop = t_start + n dt.
    void update_report_times() {
        for (auto& rep: reports) {
            const std::size_t frames = rep.data->extent();
            if (rep.frames_in_time == frames) {
                continue;
            }
            const double time[3] = {rep.t_start, rep.t_start + static_cast<double>(frames) * rep.dt,
                                    rep.dt};
            check_status(
                H5Dwrite(rep.time.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, time),
                files[rep.file].path, "cannot write mapping/time");
            rep.frames_in_time = frames;
        }
    }

    void flush_files() {
        for (auto& f: files) {
            check_status(H5Fflush(f.file.get(), H5F_SCOPE_GLOBAL), f.path, "cannot flush");
        }
    }

    std::vector<column*> columns() {
        std::vector<column*> out;
        for (auto& s: spike_outputs) {
            out.push_back(&*s.timestamps);
            out.push_back(&*s.node_ids);
        }
        for (auto& r: reports) {
            out.push_back(&*r.data);
        }
        for (auto& w: weight_outputs) {
            out.push_back(&*w.time);
            out.push_back(&*w.weight);
        }
        return out;
    }

    // Puts every received row in the files, in rounds that each leave the files consistent
    // should the process die at any moment (see `column`):
    //   1. every column writes the chunk row beyond its extent; H5Fflush: chunks and index
    //      entries reach the disk while the extents still hide them;
    //   2. the extents (and mapping/time) grow over them; H5Fflush: only object headers change.
    // A kill between the two flushes of step 2 can leave timestamps one round longer than
    // node_ids (or report data than mapping/time): readers take the common part.
    void write_out() {
        const auto cols = columns();
        for (;;) {
            bool wrote = false;
            for (column* c: cols) {
                wrote = c->write_chunk_row() || wrote;
            }
            if (!wrote) {
                break;
            }
            flush_files();
            for (column* c: cols) {
                c->commit_extent();
            }
            update_report_times();
            flush_files();
        }
        for (column* c: cols) {
            c->trim();
        }
        unwritten_bytes = 0;
    }

    // write_out, a last H5Fflush (for anything else that changed), then fdatasync: what a
    // crash of the machine keeps too.
    void flush_all() {
        write_out();
        flush_files();
        for (auto& f: files) {
            void* vfd = nullptr;
            check_status(H5Fget_vfd_handle(f.file.get(), H5P_DEFAULT, &vfd), f.path,
                         "cannot get the file descriptor");
            if (vfd != nullptr && ::fdatasync(*static_cast<int*>(vfd)) != 0 && errno != EINVAL) {
                throw glia::error(fmt::format("cannot write output file '{}': fdatasync: {}",
                                              f.path, errno_text(errno)));
            }
        }
    }

    // Closes every object, then the files; `check`: report a failed close (end()), or not
    // (the destructor).
    void close_all(bool check) {
        reports.clear();
        weight_outputs.clear();
        spike_outputs.clear();
        spike_counts.reset();
        run_group.reset();
        std::vector<output_file> closing = std::move(files);
        files.clear();
        for (auto& f: closing) {
            const herr_t status = H5Fclose(f.file.release());
            if (check) {
                check_status(status, f.path, "cannot close the file");
            }
        }
    }
};

hdf5_sink::hdf5_sink(std::string path, provenance p, hdf5_options options):
    path_(std::move(path)), impl_(std::make_unique<state>()) {
    if (!(options.deflate_level >= 1 && options.deflate_level <= 9)) {
        throw glia::error(fmt::format("hdf5 output: deflate level must be in 1..9 (got {})",
                                      options.deflate_level));
    }
    if (options.spike_chunk == 0 || options.report_chunk_values == 0) {
        throw glia::error("hdf5 output: chunk sizes must be > 0");
    }
    impl_->prov = std::move(p);
    impl_->options = options;
}

hdf5_sink::~hdf5_sink() {
    if (impl_ && impl_->begun && !impl_->ended) {
        const h5::quiet_errors quiet;
        try {
            impl_->flush_all();
        }
        catch (...) {
            // A destructor cannot report; what was flushed before stays readable.
        }
        try {
            impl_->close_all(false);
        }
        catch (...) {
        }
    }
}

std::vector<std::string> hdf5_sink::files() const {
    return impl_->file_paths.empty() ? std::vector<std::string>{path_} : impl_->file_paths;
}

// Before a resumed run reopens its files: every file exists, and the main one was written
// by this experiment for as many steps (read with the reader, before the writer opens it).
void hdf5_sink::check_resumable(const std::vector<std::string>& paths,
                                const run_layout& layout) const {
    std::error_code ec;
    for (const auto& p: paths) {
        if (!fs::is_regular_file(p, ec)) {
            throw glia::error(fmt::format("cannot resume output file '{}': it does not exist (a "
                                          "checkpoint continues the file its run wrote)",
                                          p));
        }
    }
    run_info info;
    try {
        info = read_run_info(path_);
    }
    catch (const glia::error& e) {
        throw glia::error(fmt::format("cannot resume output file '{}': {}", path_, e.what()));
    }
    if (info.config != impl_->prov.config_text) {
        throw glia::error(fmt::format("cannot resume output file '{}': it was written by another "
                                      "experiment (its /run@config differs from the resolved "
                                      "config)",
                                      path_));
    }
    if (info.n_steps != layout.n_steps) {
        throw glia::error(fmt::format("cannot resume output file '{}': it was written for {} "
                                      "steps, this run has {}",
                                      path_, info.n_steps, layout.n_steps));
    }
}

void hdf5_sink::begin(const run_layout& layout) {
    auto& s = *impl_;
    if (s.begun) {
        throw glia::internal_error("hdf5_sink::begin called twice");
    }
    if (!(layout.dt > 0)) {
        throw glia::internal_error(fmt::format("hdf5_sink: dt must be > 0 ms (got {})", layout.dt));
    }
    for (const auto& pop: layout.populations) {
        validate_name(pop.name, "population");
    }
    // The first report of a population goes into the main file, every further one into a
    // sibling file of its own (SONATA: one report per population per file). Astrocyte
    // reports are grouped by variable (/astrocytes/<population>/<variable>): the first report
    // of each (population, variable) goes into the main file.
    std::vector<std::size_t> file_of(layout.reports.size(), 0);
    std::vector<std::string> paths{path_};
    std::vector<bool> population_has_report(layout.populations.size(), false);
    std::vector<std::string> astro_paths_used;
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        const auto& rep = layout.reports[r];
        if (rep.population >= layout.populations.size()) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: report '{}' names population {} of {}", rep.name,
                            rep.population, layout.populations.size()));
        }
        if (rep.node_ids.empty()) {
            throw glia::error(fmt::format("report '{}' records no neurons", rep.name));
        }
        if (!(rep.interval_steps >= 1) || rep.start_step < 0) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: report '{}' has interval {} steps from step {}", rep.name,
                            rep.interval_steps, rep.start_step));
        }
        for (std::size_t q = 0; q < r; ++q) {
            if (layout.reports[q].name == rep.name) {
                throw glia::error(fmt::format("report name '{}' is used twice", rep.name));
            }
        }
        bool taken = false;
        if (layout.populations[rep.population].emits_spikes) {
            taken = population_has_report[rep.population];
            population_has_report[rep.population] = true;
        } else {
            validate_name(rep.variable, "variable");
            const std::string where = report_group_path(layout, rep);
            taken = std::find(astro_paths_used.begin(), astro_paths_used.end(), where) !=
                    astro_paths_used.end();
            astro_paths_used.push_back(where);
        }
        if (taken) {
            validate_name(rep.name, "report");
            file_of[r] = paths.size();
            paths.push_back(sibling_report_path(path_, rep.name));
        }
    }
    if (s.options.resume) {
        check_resumable(paths, layout);
    } else if (layout.first_step != 0) {
        throw glia::internal_error("hdf5_sink: a run that starts after step 0 needs "
                                   "hdf5_options::resume");
    }
    for (const auto& p: paths) {
        check_writable(p);
    }
    s.file_paths = paths;

    s.layout = layout;
    s.begun = true;
    const h5::quiet_errors quiet;

    // File access: the oldest format (no consistency flags a crash would leave set), no file
    // lock (so that readers can look while the run goes on), and a metadata cache that writes
    // only when flushed.
    const handle fapl = plist(H5P_FILE_ACCESS, path_);
    check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_EARLIEST, H5F_LIBVER_V18), path_,
                 "cannot set format bounds");
    check_status(H5Pset_file_locking(fapl.get(), false, true), path_, "cannot disable locking");
    H5AC_cache_config_t cache{};
    cache.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    check_status(H5Pget_mdc_config(fapl.get(), &cache), path_, "cannot get the cache config");
    cache.evictions_enabled = false;
    cache.incr_mode = H5C_incr__off;
    cache.flash_incr_mode = H5C_flash_incr__off;
    cache.decr_mode = H5C_decr__off;
    cache.set_initial_size = true;
    cache.initial_size = 8u << 20;
    cache.max_size = std::max(cache.max_size, cache.initial_size);
    cache.min_size = std::min(cache.min_size, cache.initial_size);
    check_status(H5Pset_mdc_config(fapl.get(), &cache), path_, "cannot set the cache config");

    if (s.options.resume) {
        s.reopen(fapl.get(), file_of);
        return;
    }

    std::vector<std::string> report_files(layout.reports.size());
    for (const auto& p: paths) {
        output_file f;
        f.path = p;
        f.file = handle{check_id(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), p,
                                 "cannot create the file"),
                        H5Fclose};
        write_root_attributes(f.file.get(), p);
        s.files.push_back(std::move(f));
    }
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        report_files[r] = fs::path(paths[file_of[r]]).filename().string();
    }

    const hid_t main_id = s.files.front().file.get();
    s.create_spikes(main_id, path_);
    for (std::size_t p = 0; p < layout.populations.size(); ++p) {
        s.first_gids.emplace_back(layout.populations[p].first_gid, p);
    }
    std::sort(s.first_gids.begin(), s.first_gids.end());
    for (std::size_t r = 0; r < layout.reports.size(); ++r) {
        s.create_report(r, file_of[r]);
    }
    s.create_weights(main_id, path_);
    s.create_run(main_id, path_, report_files);
    s.flush_all();
}

void hdf5_sink::weights(std::size_t recorder, std::size_t snapshot, std::span<const double> values) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::weights outside begin()..end()");
    }
    if (recorder >= s.weight_outputs.size()) {
        throw glia::internal_error(fmt::format("hdf5_sink: weights of recorder {} of {}", recorder,
                                               s.weight_outputs.size()));
    }
    auto& out = s.weight_outputs[recorder];
    const auto& wl = s.layout.weights[recorder];
    if (snapshot != out.snapshots || snapshot >= wl.steps.size() || values.size() != out.width) {
        throw glia::internal_error(fmt::format("hdf5_sink: weight snapshot {} of '{}' with {} "
                                               "values (expected snapshot {}, {} values)",
                                               snapshot, wl.projection, values.size(),
                                               out.snapshots, out.width));
    }
    const double t = static_cast<double>(wl.steps[snapshot]) * s.layout.dt;
    out.time->append(&t, 1);
    std::vector<float> row(std::max<std::size_t>(1, values.size()));
    std::copy(values.begin(), values.end(), row.begin());
    out.weight->append(row.data(), 1);
    ++out.snapshots;
    s.unwritten_bytes += row.size() * sizeof(float) + sizeof(double);
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        const h5::quiet_errors quiet;
        s.write_out();
    }
}

void hdf5_sink::spikes(std::span<const spike_event> batch) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::spikes outside begin()..end()");
    }
    const h5::quiet_errors quiet;
    for (const auto& ev: batch) {
        auto it = std::upper_bound(s.first_gids.begin(), s.first_gids.end(), ev.gid,
                                   [](neuron_id gid, const std::pair<neuron_id, std::size_t>& e) {
                                       return gid < e.first;
                                   });
        const bool found = it != s.first_gids.begin();
        const std::size_t p = found ? std::prev(it)->second : 0;
        const auto& pop = s.layout.populations[found ? p : 0];
        if (!found || ev.gid - pop.first_gid >= pop.size) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: spike of gid {}, in no population", ev.gid));
        }
        const std::ptrdiff_t o = s.spike_output_of[p];
        if (o < 0) {
            throw glia::internal_error(fmt::format(
                "hdf5_sink: spike of gid {} of population '{}', whose spikes are not recorded",
                ev.gid, pop.name));
        }
        auto& out = s.spike_outputs[static_cast<std::size_t>(o)];
        if (ev.step < out.last_step) {
            throw glia::internal_error(
                fmt::format("hdf5_sink: spikes out of time order in '{}' (step {} after {})",
                            pop.name, ev.step, out.last_step));
        }
        out.last_step = ev.step;
        out.stage_times.push_back(static_cast<double>(ev.step + 1) * s.layout.dt);
        out.stage_ids.push_back(ev.gid - pop.first_gid);
    }
    for (auto& out: s.spike_outputs) {
        if (!out.stage_times.empty()) {
            out.timestamps->append(out.stage_times.data(), out.stage_times.size());
            out.node_ids->append(out.stage_ids.data(), out.stage_ids.size());
            s.unwritten_bytes += out.stage_times.size() * (sizeof(double) + sizeof(std::uint64_t));
            out.stage_times.clear();
            out.stage_ids.clear();
        }
    }
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        s.write_out();
    }
}

void hdf5_sink::frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                       std::span<const float> data) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::frames outside begin()..end()");
    }
    if (report >= s.reports.size()) {
        throw glia::internal_error(
            fmt::format("hdf5_sink: frames of report {} of {}", report, s.reports.size()));
    }
    auto& rep = s.reports[report];
    if (first_frame != rep.frames) {
        throw glia::internal_error(fmt::format("hdf5_sink: report '{}' got frames from {}, "
                                               "expected {} (frames must be appended in order)",
                                               s.layout.reports[report].name, first_frame,
                                               rep.frames));
    }
    if (data.size() != n_frames * rep.width) {
        throw glia::internal_error(
            fmt::format("hdf5_sink: report '{}' got {} values for {} frames of {} nodes",
                        s.layout.reports[report].name, data.size(), n_frames, rep.width));
    }
    rep.data->append(data.data(), n_frames);
    rep.frames += n_frames;
    s.unwritten_bytes += data.size_bytes();
    if (s.unwritten_bytes > s.options.buffer_bytes) {
        const h5::quiet_errors quiet;
        s.write_out();
    }
}

void hdf5_sink::flush() {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        return;
    }
    const h5::quiet_errors quiet;
    s.flush_all();
}

void hdf5_sink::end(const run_summary& summary) {
    auto& s = *impl_;
    if (!s.begun || s.ended) {
        throw glia::internal_error("hdf5_sink::end outside begin()..end()");
    }
    const std::size_t n_pops = s.layout.populations.size();
    if (summary.spike_counts.size() != n_pops) {
        throw glia::internal_error(fmt::format("hdf5_sink: {} spike counts for {} populations",
                                               summary.spike_counts.size(), n_pops));
    }
    const h5::quiet_errors quiet;
    s.write_out();
    // The summary overwrites its placeholders and is flushed; then the status, alone, in its
    // own flush: the status is what says the summary is valid.
    const hid_t g = s.run_group.get();
    const std::string& file = s.main_path();
    const std::int64_t steps_done = summary.steps_done;
    const std::uint64_t counts[] = {summary.n_neurons, summary.n_synapses, summary.synaptic_events};
    overwrite_attribute(g, "steps_done", H5T_NATIVE_INT64, &steps_done, file);
    overwrite_attribute(g, "wall_seconds", H5T_NATIVE_DOUBLE, &summary.wall_seconds, file);
    overwrite_attribute(g, "build_seconds", H5T_NATIVE_DOUBLE, &summary.build_seconds, file);
    overwrite_attribute(g, "n_neurons", H5T_NATIVE_UINT64, &counts[0], file);
    overwrite_attribute(g, "n_synapses", H5T_NATIVE_UINT64, &counts[1], file);
    overwrite_attribute(g, "synaptic_events", H5T_NATIVE_UINT64, &counts[2], file);
    if (n_pops > 0) {
        check_status(H5Dwrite(s.spike_counts.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL,
                              H5P_DEFAULT, summary.spike_counts.data()),
                     file, "cannot write /run/spike_counts");
    }
    s.flush_files();
    write_status(g, summary.status == run_status::completed ? "complete" : "interrupted", file,
                 false);
    s.flush_all();
    s.ended = true;
    s.close_all(true);
}

std::string sibling_report_path(const std::string& path, const std::string& report_name) {
    std::string stem = path;
    if (stem.size() >= 3 && stem.compare(stem.size() - 3, 3, ".h5") == 0) {
        stem.resize(stem.size() - 3);
    }
    return stem + "." + report_name + ".h5";
}

void check_writable(const std::string& path) {
    const auto fail_with = [&](const std::string& reason) {
        throw glia::error(fmt::format("cannot write output file '{}': {}", path, reason));
    };
    if (path.empty()) {
        fail_with("the path is empty");
    }
    const fs::path file(path);
    if (!file.has_filename()) {
        fail_with("the path names a directory, not a file");
    }
    fs::path dir = file.parent_path();
    if (dir.empty()) {
        dir = ".";
    }
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        // The nearest existing ancestor must be a directory we can create the rest in.
        fs::path existing = dir;
        while (!existing.empty() && !fs::exists(existing, ec) &&
               existing != existing.parent_path()) {
            existing = existing.parent_path();
        }
        if (!existing.empty() && fs::exists(existing, ec) && !fs::is_directory(existing, ec)) {
            fail_with(fmt::format("'{}' is not a directory", existing.string()));
        }
        fs::create_directories(dir, ec);
        if (ec) {
            fail_with(fmt::format("cannot create directory '{}': {}", dir.string(), ec.message()));
        }
    }
    const auto status = fs::status(file, ec);
    if (fs::exists(status)) {
        if (fs::is_directory(status)) {
            fail_with("it is a directory");
        }
        if (!fs::is_regular_file(status)) {
            fail_with("it exists and is not a regular file");
        }
        if (::access(path.c_str(), W_OK) != 0) {
            fail_with(fmt::format("the existing file is not writable ({})", errno_text(errno)));
        }
    }
    // Can a file be created in `dir`? An unnamed temporary file answers without leaving one
    // behind; where the file system has no O_TMPFILE, a named one, removed at once.
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        std::string probe = (dir / ".glia-write-test-XXXXXX").string();
        fd = ::mkstemp(probe.data());
        if (fd >= 0) {
            ::unlink(probe.c_str());
        }
    }
    if (fd < 0) {
        fail_with(fmt::format("directory '{}' does not accept new files ({})", dir.string(),
                              errno_text(errno)));
    }
    ::close(fd);
}

}  // namespace glia::io
