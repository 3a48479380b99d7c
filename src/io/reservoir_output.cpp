#include "io/reservoir_output.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>

#include "io/hdf5_common.hpp"
#include "io/hdf5_handle.hpp"

namespace glia::io {

namespace {

using h5::check_id;
using h5::check_status;
using h5::fail;
using h5::handle;
using h5::open_or_make_group;
using h5::plist;
using h5::simple_space;
using h5::write_f64_attribute;
using h5::write_i64_attribute;
using h5::write_run_summary;
using h5::write_status;
using h5::write_string_attribute;
using h5::write_strings;
using h5::write_u64_attribute;

// A dataset of variable-length strings (the /run/population_* and /run/reports/* of a network
// run's file).
void strings(hid_t loc, const std::string& name, const std::vector<std::string>& values,
             const std::string& file) {
    if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0) {
        H5Ldelete(loc, name.c_str(), H5P_DEFAULT);
    }
    write_strings(loc, name, values, file);
}

// A fixed-size dataset written at once (compressed when large).
template <typename T>
void dataset(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
             std::span<const T> values, std::vector<hsize_t> dims, const std::string& file) {
    if (dims.empty()) {
        dims.push_back(values.size());
    }
    if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0) {
        H5Ldelete(loc, name.c_str(), H5P_DEFAULT);  // rewritten by a resumed run
    }
    const handle space = simple_space(dims, {}, file);
    const handle dcpl = plist(H5P_DATASET_CREATE, file);
    if (values.size() > 4096) {
        std::vector<hsize_t> chunk = dims;
        hsize_t rest = 1;
        for (std::size_t i = 1; i < chunk.size(); ++i) {
            rest *= chunk[i];
        }
        chunk[0] = std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (1U << 18) / std::max<hsize_t>(rest, 1)));
        H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
        H5Pset_deflate(dcpl.get(), 4);
    }
    const handle d{check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                       dcpl.get(), H5P_DEFAULT),
                            file, "cannot create dataset " + name),
                   H5Dclose};
    if (!values.empty()) {
        check_status(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                     file, "cannot write dataset " + name);
    }
}

// An extendible dataset of rows x width, appended to.
struct growing {
    handle d;
    hsize_t width = 1;
    hsize_t rows = 0;
    hid_t mem_type = H5T_NATIVE_FLOAT;
};

growing make_growing(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
                     hsize_t width, hsize_t chunk_rows, const std::string& file) {
    const bool matrix = width > 1;
    const std::array<hsize_t, 2> dims = {0, width};
    const std::array<hsize_t, 2> maxdims = {H5S_UNLIMITED, width};
    const handle space = simple_space(std::span(dims.data(), matrix ? 2 : 1),
                                      std::span(maxdims.data(), matrix ? 2 : 1), file);
    const handle dcpl = plist(H5P_DATASET_CREATE, file);
    const std::array<hsize_t, 2> chunk = {chunk_rows, width};
    H5Pset_chunk(dcpl.get(), matrix ? 2 : 1, chunk.data());
    H5Pset_deflate(dcpl.get(), 4);
    growing g;
    g.d = handle{check_id(H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT,
                                     dcpl.get(), H5P_DEFAULT),
                          file, "cannot create dataset " + name),
                 H5Dclose};
    g.width = width;
    g.mem_type = mem_type;
    return g;
}

// An existing extendible dataset, cut to `rows` rows.
growing open_growing(hid_t loc, const std::string& name, hid_t mem_type, hsize_t rows,
                     const std::string& file) {
    growing g;
    g.d = handle{check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), file, "cannot open " + name),
                 H5Dclose};
    const handle space{check_id(H5Dget_space(g.d.get()), file, "cannot get a dataspace"), H5Sclose};
    std::array<hsize_t, 2> dims = {0, 1};
    const int rank = H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    g.width = rank == 2 ? dims[1] : 1;
    if (dims[0] < rows) {
        fail(file, fmt::format("{} holds {} rows, fewer than the {} the file says are done", name,
                               dims[0], rows));
    }
    const std::array<hsize_t, 2> size = {rows, g.width};
    check_status(H5Dset_extent(g.d.get(), size.data()), file, "cannot cut " + name);
    g.rows = rows;
    g.mem_type = mem_type;
    return g;
}

void append_rows(growing& g, const void* data, hsize_t rows, const std::string& file) {
    if (rows == 0) {
        return;
    }
    const bool matrix = g.width > 1;
    const std::array<hsize_t, 2> size = {g.rows + rows, g.width};
    check_status(H5Dset_extent(g.d.get(), size.data()), file, "cannot extend a dataset");
    const handle fspace{check_id(H5Dget_space(g.d.get()), file, "cannot get a dataspace"),
                        H5Sclose};
    const std::array<hsize_t, 2> start = {g.rows, 0};
    const std::array<hsize_t, 2> count = {rows, g.width};
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const handle mspace = simple_space(std::span(count.data(), matrix ? 2 : 1), {}, file);
    check_status(H5Dwrite(g.d.get(), g.mem_type, mspace.get(), fspace.get(), H5P_DEFAULT, data),
                 file, "cannot write rows");
    g.rows += rows;
}

}  // namespace

struct reservoir_file::state {
    std::string path;
    handle file;
    handle part;  // current /reservoir/<part> group
    growing features, labels, index, liquid_spikes, input_spikes, final_a;
    std::size_t done = 0;
    bool closed = false;
    std::uint64_t n_neurons = 0, n_synapses = 0;
    double wall_seconds = 0, build_seconds = 0;
};

reservoir_file::reservoir_file(const std::string& path, const reservoir_provenance& prov) :
    s_(std::make_unique<state>()) {
    const h5::quiet_errors quiet;
    s_->path = path;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);
    }
    s_->file = handle{
        check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, h5::unlocked_access().get()),
                 path, "cannot create the file"),
        H5Fclose};
    // /run as a network run's (io/hdf5_writer.hpp, docs/output_format.md), with its kind: the
    // same readers (glia inspect, sweep status and --collect) serve both.
    const handle run = open_or_make_group(s_->file.get(), "run", path);
    write_string_attribute(run.get(), "kind", prov.kind, path);
    write_status(run.get(), "running", path, true);
    write_string_attribute(run.get(), "config", prov.config_text, path);
    write_string_attribute(run.get(), "source_path", prov.source_path, path);
    write_string_attribute(run.get(), "version", prov.version, path);
    write_string_attribute(run.get(), "git_hash", prov.git_hash, path);
    write_string_attribute(run.get(), "host", prov.host, path);
    write_string_attribute(run.get(), "command_line", prov.command_line, path);
    write_string_attribute(run.get(), "started", prov.started, path);
    write_u64_attribute(run.get(), "seed", prov.seed, path);
    write_f64_attribute(run.get(), "dt", prov.dt, path);
    write_f64_attribute(run.get(), "duration", prov.duration, path);
    write_i64_attribute(run.get(), "n_steps", 0, path);
    const handle reports = open_or_make_group(run.get(), "reports", path);
    for (const char* name: {"name", "population", "variable", "unit", "file", "path"}) {
        strings(reports.get(), name, {}, path);
    }
    open_or_make_group(s_->file.get(), "reservoir", path);
    open_or_make_group(s_->file.get(), "metrics", path);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

reservoir_file::~reservoir_file() {
    if (!s_->closed) {
        try {
            close("failed");  // an error left the run: close() was not reached
        }
        catch (...) {  // a destructor must not throw; the file was flushed after every block
        }
    }
}

reservoir_file::reservoir_file(resume_tag, const std::string& path, const std::string& kind,
                               const std::string& config_text) :
    s_(std::make_unique<state>()) {
    const h5::quiet_errors quiet;
    s_->path = path;
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        throw glia::error(fmt::format("--resume: '{}' does not exist or is not an HDF5 file; run "
                                      "without --resume to start",
                                      path));
    }
    s_->file = handle{check_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, h5::unlocked_access().get()),
                               path, "cannot open the file to resume"),
                      H5Fclose};
    if (H5Lexists(s_->file.get(), "run", H5P_DEFAULT) <= 0) {
        throw glia::error(fmt::format("--resume: '{}' has no /run group: not a glia output file",
                                      path));
    }
    const handle run{H5Gopen2(s_->file.get(), "run", H5P_DEFAULT), H5Gclose};
    const auto text = [&](const char* name) {
        return h5::read_string_attribute(run.get(), name).value_or("");
    };
    if (text("kind") != kind) {  // another protocol, or a network run's file
        throw glia::error(fmt::format("--resume: '{}' is not the output of a {} experiment "
                                      "(/run@kind is '{}')",
                                      path, kind, text("kind")));
    }
    if (text("config") != config_text) {
        throw glia::error(fmt::format("--resume: '{}' was made from a different experiment (its "
                                      "/run@config differs from this file with these --set "
                                      "options); resume with the same file and options, or run "
                                      "without --resume",
                                      path));
    }
    if (H5Aexists(run.get(), "error") > 0) {  // an earlier attempt's (mark_run_failed)
        check_status(H5Adelete(run.get(), "error"), path, "cannot remove /run@error");
    }
    write_status(run.get(), "running", path, true);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

std::vector<projection_synapses> reservoir_file::completed_w_ini() const {
    const h5::quiet_errors quiet;
    const hid_t f = s_->file.get();
    if (H5Lexists(f, "reservoir", H5P_DEFAULT) <= 0 ||
        H5Lexists(f, "reservoir/w_ini", H5P_DEFAULT) <= 0 ||
        H5Lexists(f, "reservoir/init", H5P_DEFAULT) <= 0) {
        return {};
    }
    const handle init{H5Gopen2(f, "reservoir/init", H5P_DEFAULT), H5Gclose};
    std::uint64_t done = 0, planned = 1;
    for (auto [name, out]: {std::pair{"samples_done", &done}, std::pair{"samples_planned", &planned}}) {
        if (H5Aexists(init.get(), name) > 0) {
            const handle a{H5Aopen(init.get(), name, H5P_DEFAULT), H5Aclose};
            H5Aread(a.get(), H5T_NATIVE_UINT64, out);
        }
    }
    if (done != planned) {
        return {};
    }
    const handle w{H5Gopen2(f, "reservoir/w_ini", H5P_DEFAULT), H5Gclose};
    hsize_t n_links = 0;
    H5Gget_num_objs(w.get(), &n_links);
    std::vector<projection_synapses> out;
    for (hsize_t i = 0; i < n_links; ++i) {
        char name[512];
        H5Gget_objname_by_idx(w.get(), i, name, sizeof name);
        const std::string base = std::string("reservoir/w_ini/") + name;
        projection_synapses p;
        p.name = name;
        // From the open file: 1-D datasets of this writer's own making.
        auto read_vector = [&](const std::string& dataset, hid_t mem_type, auto& values) {
            const std::string at = base + "/" + dataset;
            const handle d{
                check_id(H5Dopen2(f, at.c_str(), H5P_DEFAULT), s_->path, "cannot open " + at),
                H5Dclose};
            const handle space{H5Dget_space(d.get()), H5Sclose};
            values.resize(static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get())));
            if (!values.empty() && H5Dread(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                           values.data()) < 0) {
                fail(s_->path, "cannot read " + at);
            }
        };
        std::vector<std::uint64_t> source, target;
        std::vector<std::int64_t> delay;
        read_vector("source", H5T_NATIVE_UINT64, source);
        read_vector("target", H5T_NATIVE_UINT64, target);
        read_vector("delay", H5T_NATIVE_INT64, delay);
        read_vector("weight", H5T_NATIVE_DOUBLE, p.weight);
        p.source.assign(source.begin(), source.end());
        p.target.assign(target.begin(), target.end());
        p.delay.assign(delay.begin(), delay.end());
        out.push_back(std::move(p));
    }
    return out;
}

std::size_t reservoir_file::resume_part(const std::string& name, std::size_t planned,
                                        std::size_t width, const std::string& feature_layout) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    const std::string path = "reservoir/" + name;
    if (H5Lexists(s_->file.get(), path.c_str(), H5P_DEFAULT) <= 0) {
        begin_part(name, planned, width, feature_layout);
        return 0;
    }
    s_->part = handle{
        check_id(H5Gopen2(s_->file.get(), path.c_str(), H5P_DEFAULT), f, "cannot open " + path),
        H5Gclose};
    const hid_t g = s_->part.get();
    std::uint64_t done = 0;
    {
        const handle a{check_id(H5Aopen(g, "samples_done", H5P_DEFAULT), f,
                                "cannot read " + path + "@samples_done"),
                       H5Aclose};
        H5Aread(a.get(), H5T_NATIVE_UINT64, &done);
    }
    s_->features = open_growing(g, "features", H5T_NATIVE_FLOAT, done, f);
    if (s_->features.width != width) {
        fail(f, fmt::format("{}/features is {} wide, this experiment writes {}", path,
                            s_->features.width, width));
    }
    s_->labels = open_growing(g, "labels", H5T_NATIVE_UINT8, done, f);
    s_->index = open_growing(g, "index", H5T_NATIVE_UINT64, done, f);
    s_->liquid_spikes = open_growing(g, "state_spikes", H5T_NATIVE_UINT32, done, f);
    s_->input_spikes = open_growing(g, "input_spikes", H5T_NATIVE_UINT32, done, f);
    s_->final_a = open_growing(g, "final_level", H5T_NATIVE_FLOAT, done, f);
    s_->done = done;
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
    return done;
}

std::vector<float> reservoir_file::part_features() const {
    const h5::quiet_errors quiet;
    const growing& g = s_->features;
    std::vector<float> out(g.rows * g.width);
    if (g.rows == 0) {
        return out;
    }
    const handle fspace{check_id(H5Dget_space(g.d.get()), s_->path, "cannot get a dataspace"),
                        H5Sclose};
    const std::array<hsize_t, 2> start = {0, 0};
    const std::array<hsize_t, 2> count = {g.rows, g.width};
    H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const handle mspace = simple_space(count, {}, s_->path);
    check_status(
        H5Dread(g.d.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(), H5P_DEFAULT, out.data()),
        s_->path, "cannot read the features to resume");
    return out;
}

void reservoir_file::write_network(std::span<const std::string> names,
                                   std::span<const std::string> models,
                                   std::span<const neuron_id> first,
                                   std::span<const std::uint64_t> sizes) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    {
        const handle run = open_or_make_group(s_->file.get(), "run", f);
        std::vector<std::uint64_t> first64(first.begin(), first.end());
        std::vector<std::uint64_t> size64(sizes.begin(), sizes.end());
        std::vector<std::uint8_t> recorded(names.size(), 0);
        strings(run.get(), "population_names", {names.begin(), names.end()}, f);
        strings(run.get(), "population_models", {models.begin(), models.end()}, f);
        dataset<std::uint64_t>(run.get(), "population_first_gids", H5T_STD_U64LE,
                               H5T_NATIVE_UINT64, first64, {}, f);
        dataset<std::uint64_t>(run.get(), "population_sizes", H5T_STD_U64LE, H5T_NATIVE_UINT64,
                               size64, {}, f);
        dataset<std::uint8_t>(run.get(), "population_spikes_recorded", H5T_STD_U8LE,
                              H5T_NATIVE_UINT8, recorded, {}, f);
        s_->n_neurons = 0;
        for (auto n: sizes) {
            s_->n_neurons += n;
        }
    }
    const handle res = open_or_make_group(s_->file.get(), "reservoir", f);
    const handle g = open_or_make_group(res.get(), "network", f);
    for (std::size_t i = 0; i < names.size(); ++i) {
        const handle p = open_or_make_group(g.get(), names[i], f);
        write_u64_attribute(p.get(), "first_gid", first[i], f);
        write_u64_attribute(p.get(), "size", sizes[i], f);
    }
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::set_summary(std::uint64_t n_synapses, double build_seconds,
                                 double wall_seconds) {
    s_->n_synapses = n_synapses;
    s_->build_seconds = build_seconds;
    s_->wall_seconds = wall_seconds;
}

void reservoir_file::write_init(const std::vector<projection_synapses>& w_ini,
                                std::span<const float> final_level,
                                std::span<const float> state_rate, std::size_t samples_planned) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    const handle res = open_or_make_group(s_->file.get(), "reservoir", f);
    const handle w = open_or_make_group(res.get(), "w_ini", f);
    for (const auto& p: w_ini) {
        const handle g = open_or_make_group(w.get(), p.name, f);
        const std::vector<std::uint64_t> source(p.source.begin(), p.source.end());
        const std::vector<std::uint64_t> target(p.target.begin(), p.target.end());
        const std::vector<std::int64_t> delay(p.delay.begin(), p.delay.end());
        dataset<std::uint64_t>(g.get(), "source", H5T_STD_U64LE, H5T_NATIVE_UINT64, source, {}, f);
        dataset<std::uint64_t>(g.get(), "target", H5T_STD_U64LE, H5T_NATIVE_UINT64, target, {}, f);
        dataset<std::int64_t>(g.get(), "delay", H5T_STD_I64LE, H5T_NATIVE_INT64, delay, {}, f);
        dataset<double>(g.get(), "weight", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, p.weight, {}, f);
    }
    const handle g = open_or_make_group(res.get(), "init", f);
    dataset<float>(g.get(), "final_level", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, final_level, {}, f);
    dataset<float>(g.get(), "state_rate", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, state_rate, {}, f);
    write_u64_attribute(g.get(), "samples_done", final_level.size(), f);
    write_u64_attribute(g.get(), "samples_planned", samples_planned, f);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::begin_part(const std::string& name, std::size_t planned, std::size_t width,
                                const std::string& feature_layout) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    const handle res = open_or_make_group(s_->file.get(), "reservoir", f);
    s_->part = open_or_make_group(res.get(), name, f);
    const hid_t g = s_->part.get();
    const hsize_t chunk = std::max<hsize_t>(1, std::min<hsize_t>(256, planned));
    s_->features = make_growing(g, "features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, width, chunk, f);
    s_->labels = make_growing(g, "labels", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, 4096, f);
    s_->index = make_growing(g, "index", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, 4096, f);
    s_->liquid_spikes = make_growing(g, "state_spikes", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, 4096, f);
    s_->input_spikes = make_growing(g, "input_spikes", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, 4096, f);
    s_->final_a = make_growing(g, "final_level", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, 4096, f);
    s_->done = 0;
    write_u64_attribute(g, "samples_done", 0, f);
    write_u64_attribute(g, "samples_planned", planned, f);
    write_string_attribute(g, "feature_layout", feature_layout, f);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::append(std::span<const float> features, std::span<const std::uint8_t> labels,
                            std::span<const std::size_t> index,
                            std::span<const std::uint32_t> state_spikes,
                            std::span<const std::uint32_t> input_spikes,
                            std::span<const float> final_level) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    const hsize_t rows = labels.size();
    if (!s_->part.valid() || features.size() != rows * s_->features.width ||
        index.size() != rows || state_spikes.size() != rows || input_spikes.size() != rows ||
        final_level.size() != rows) {
        throw internal_error("reservoir_file::append: inconsistent block");
    }
    std::vector<std::uint64_t> idx(index.begin(), index.end());
    append_rows(s_->features, features.data(), rows, f);
    append_rows(s_->labels, labels.data(), rows, f);
    append_rows(s_->index, idx.data(), rows, f);
    append_rows(s_->liquid_spikes, state_spikes.data(), rows, f);
    append_rows(s_->input_spikes, input_spikes.data(), rows, f);
    append_rows(s_->final_a, final_level.data(), rows, f);
    s_->done += rows;
    write_u64_attribute(s_->part.get(), "samples_done", s_->done, f);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::write_rasters(std::span<const std::uint32_t> sample,
                                   std::span<const std::uint32_t> step,
                                   std::span<const std::uint32_t> neuron,
                                   std::span<const float> astrocyte, std::size_t samples,
                                   std::size_t steps, std::size_t regions) {
    const h5::quiet_errors quiet;
    const std::string& f = s_->path;
    const handle res = open_or_make_group(s_->file.get(), "reservoir", f);
    const handle g = open_or_make_group(res.get(), "rasters", f);
    dataset<std::uint32_t>(g.get(), "sample", H5T_STD_U32LE, H5T_NATIVE_UINT32, sample, {}, f);
    dataset<std::uint32_t>(g.get(), "step", H5T_STD_U32LE, H5T_NATIVE_UINT32, step, {}, f);
    dataset<std::uint32_t>(g.get(), "neuron", H5T_STD_U32LE, H5T_NATIVE_UINT32, neuron, {}, f);
    if (!astrocyte.empty()) {
        dataset<float>(g.get(), "level", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, astrocyte,
                       {samples, steps, regions}, f);
        write_string_attribute(
            g.get(), "level_definition",
            "the first level modulator (NALSM's astrocyte A) after every step of each "
            "sample, per region",
            f);
    }
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::metric(const std::string& name, double value) {
    const h5::quiet_errors quiet;
    const handle m = open_or_make_group(s_->file.get(), "metrics", s_->path);
    if (H5Lexists(m.get(), name.c_str(), H5P_DEFAULT) > 0) {
        H5Ldelete(m.get(), name.c_str(), H5P_DEFAULT);
    }
    const double v[1] = {value};
    dataset<double>(m.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, {}, s_->path);
}

void reservoir_file::metric_text(const std::string& name, const std::string& value) {
    const h5::quiet_errors quiet;
    const handle m = open_or_make_group(s_->file.get(), "metrics", s_->path);
    write_string_attribute(m.get(), name, value, s_->path);
}

void reservoir_file::metric_array(const std::string& name, std::span<const double> values,
                                  std::span<const std::size_t> dims) {
    const h5::quiet_errors quiet;
    const handle m = open_or_make_group(s_->file.get(), "metrics", s_->path);
    dataset<double>(m.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values,
                    std::vector<hsize_t>(dims.begin(), dims.end()), s_->path);
}

void reservoir_file::metric_counts(const std::string& name, std::span<const std::size_t> values,
                                   std::span<const std::size_t> dims) {
    const h5::quiet_errors quiet;
    const handle m = open_or_make_group(s_->file.get(), "metrics", s_->path);
    std::vector<std::uint64_t> v(values.begin(), values.end());
    dataset<std::uint64_t>(m.get(), name, H5T_STD_U64LE, H5T_NATIVE_UINT64, v,
                           std::vector<hsize_t>(dims.begin(), dims.end()), s_->path);
}

void reservoir_file::array(const std::string& group_path, const std::string& name,
                           std::span<const double> values, std::span<const std::size_t> dims) {
    const h5::quiet_errors quiet;
    handle g{H5Gopen2(s_->file.get(), "/", H5P_DEFAULT), H5Gclose};
    std::size_t start = 0;
    while (start < group_path.size()) {
        const std::size_t slash = group_path.find('/', start);
        const std::string part = group_path.substr(start, slash == std::string::npos
                                                              ? std::string::npos
                                                              : slash - start);
        if (!part.empty()) {
            g = open_or_make_group(g.get(), part, s_->path);
        }
        if (slash == std::string::npos) {
            break;
        }
        start = slash + 1;
    }
    dataset<double>(g.get(), name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values,
                    std::vector<hsize_t>(dims.begin(), dims.end()), s_->path);
    H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
}

void reservoir_file::close(const std::string& status) {
    if (s_->closed) {
        return;
    }
    const h5::quiet_errors quiet;
    s_->closed = true;
    s_->features = {};
    s_->labels = {};
    s_->index = {};
    s_->liquid_spikes = {};
    s_->input_spikes = {};
    s_->final_a = {};
    s_->part.reset();
    {
        // The summary a network run's /run has (glia inspect and sweeps read it), then the
        // status, last.
        const handle run = open_or_make_group(s_->file.get(), "run", s_->path);
        run_summary summary;  // steps_done and synaptic_events 0: a protocol counts neither
        summary.wall_seconds = s_->wall_seconds;
        summary.build_seconds = s_->build_seconds;
        summary.n_neurons = s_->n_neurons;
        summary.n_synapses = s_->n_synapses;
        write_run_summary(run.get(), summary, s_->path);
        H5Fflush(s_->file.get(), H5F_SCOPE_GLOBAL);
        write_status(run.get(), status, s_->path, true);
    }
    s_->file.reset();
}

// ---------------------------------------------------------------------------------------------
// Reading back

namespace {

[[noreturn]] void read_fail(const std::string& file, const std::string& what) {
    const std::string detail = h5::last_error();
    throw glia::error(fmt::format("cannot read '{}': {}{}", file, what,
                                  detail.empty() ? "" : " (HDF5: " + detail + ")"));
}

handle open_read(const std::string& path) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access().get());
    if (f < 0) {
        read_fail(path, "not an HDF5 file, or it cannot be opened");
    }
    return {f, H5Fclose};
}

std::uint64_t read_u64_attribute(hid_t obj, const char* name) {
    std::uint64_t v = 0;
    if (H5Aexists(obj, name) > 0) {
        const handle a{H5Aopen(obj, name, H5P_DEFAULT), H5Aclose};
        H5Aread(a.get(), H5T_NATIVE_UINT64, &v);
    }
    return v;
}

template <typename T>
std::vector<T> read_all(const std::string& path, const std::string& name, hid_t mem_type,
                        std::size_t rows_limit, std::size_t* width = nullptr) {
    const h5::quiet_errors quiet;
    const handle f = open_read(path);
    const hid_t d = H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT);
    if (d < 0) {
        read_fail(path, "no dataset " + name);
    }
    const handle ds{d, H5Dclose};
    const handle space{H5Dget_space(ds.get()), H5Sclose};
    std::array<hsize_t, 2> dims = {0, 1};
    const int rank = H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    if (rank < 1 || rank > 2) {
        read_fail(path, name + " is not a vector or a matrix");
    }
    const hsize_t rows = std::min<hsize_t>(dims[0], rows_limit);
    const hsize_t cols = rank == 2 ? dims[1] : 1;
    if (width != nullptr) {
        *width = cols;
    }
    std::vector<T> out(rows * cols);
    if (rows > 0) {
        const std::array<hsize_t, 2> start = {0, 0};
        const std::array<hsize_t, 2> count = {rows, cols};
        H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr);
        const handle mspace{H5Screate_simple(rank, count.data(), nullptr), H5Sclose};
        if (H5Dread(ds.get(), mem_type, mspace.get(), space.get(), H5P_DEFAULT, out.data()) < 0) {
            read_fail(path, "cannot read " + name);
        }
    }
    return out;
}

std::uint64_t part_done(const std::string& path, const std::string& part) {
    const h5::quiet_errors quiet;
    const handle f = open_read(path);
    const std::string g = "reservoir/" + part;
    if (H5Lexists(f.get(), "reservoir", H5P_DEFAULT) <= 0 ||
        H5Lexists(f.get(), g.c_str(), H5P_DEFAULT) <= 0) {
        read_fail(path, "no part " + part);
    }
    const handle grp{H5Gopen2(f.get(), g.c_str(), H5P_DEFAULT), H5Gclose};
    return read_u64_attribute(grp.get(), "samples_done");
}

}  // namespace

double reservoir_summary::metric(const std::string& name) const {
    for (const auto& [k, v]: metrics) {
        if (k == name) {
            return v;
        }
    }
    return std::nan("");
}

bool is_reservoir_file(const std::string& path) {
    const h5::quiet_errors quiet;
    if (H5Fis_hdf5(path.c_str()) <= 0) {
        return false;
    }
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, h5::unlocked_access().get());
    if (f < 0) {
        return false;
    }
    const handle file{f, H5Fclose};
    if (H5Lexists(file.get(), "run", H5P_DEFAULT) <= 0) {
        return false;
    }
    const handle run{H5Gopen2(file.get(), "run", H5P_DEFAULT), H5Gclose};
    const std::string kind = h5::read_string_attribute(run.get(), "kind").value_or("");
    return kind == "two_phase" || kind == "timeseries";
}

reservoir_summary read_reservoir_summary(const std::string& path) {
    const h5::quiet_errors quiet;
    const handle f = open_read(path);
    reservoir_summary s;
    if (H5Lexists(f.get(), "run", H5P_DEFAULT) <= 0) {
        read_fail(path, "no /run group: not a glia output file");
    }
    {
        const handle run{H5Gopen2(f.get(), "run", H5P_DEFAULT), H5Gclose};
        s.kind = h5::read_string_attribute(run.get(), "kind").value_or("?");
        s.status = h5::read_string_attribute(run.get(), "status").value_or("?");
        s.config = h5::read_string_attribute(run.get(), "config").value_or("");
        s.error = h5::read_string_attribute(run.get(), "error").value_or("");
    }
    for (const char* name: {"train", "validation", "test"}) {
        const std::string g = std::string("reservoir/") + name;
        if (H5Lexists(f.get(), "reservoir", H5P_DEFAULT) <= 0 ||
            H5Lexists(f.get(), g.c_str(), H5P_DEFAULT) <= 0) {
            continue;
        }
        const handle grp{H5Gopen2(f.get(), g.c_str(), H5P_DEFAULT), H5Gclose};
        reservoir_part_info p;
        p.name = name;
        p.samples_done = read_u64_attribute(grp.get(), "samples_done");
        p.samples_planned = read_u64_attribute(grp.get(), "samples_planned");
        p.feature_layout = h5::read_string_attribute(grp.get(), "feature_layout").value_or("");
        const handle d{H5Dopen2(grp.get(), "features", H5P_DEFAULT), H5Dclose};
        if (d.valid()) {
            const handle space{H5Dget_space(d.get()), H5Sclose};
            std::array<hsize_t, 2> dims = {0, 0};
            H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
            p.width = dims[1];
        }
        s.parts.push_back(p);
    }
    if (H5Lexists(f.get(), "metrics", H5P_DEFAULT) > 0) {
        const handle m{H5Gopen2(f.get(), "metrics", H5P_DEFAULT), H5Gclose};
        // Texts are attributes, numbers scalar datasets.
        H5O_info_t info;
        H5Oget_info2(m.get(), &info, H5O_INFO_NUM_ATTRS);
        for (hsize_t k = 0; k < info.num_attrs; ++k) {
            const handle a{H5Aopen_by_idx(m.get(), ".", H5_INDEX_NAME, H5_ITER_INC, k, H5P_DEFAULT,
                                          H5P_DEFAULT),
                           H5Aclose};
            const ssize_t len = H5Aget_name(a.get(), 0, nullptr);
            std::string name(static_cast<std::size_t>(len), '\0');
            H5Aget_name(a.get(), static_cast<std::size_t>(len) + 1, name.data());
            s.texts.emplace_back(name,
                                 h5::read_string_attribute(m.get(), name.c_str()).value_or(""));
        }
        hsize_t n = 0;
        H5Gget_num_objs(m.get(), &n);
        for (hsize_t k = 0; k < n; ++k) {
            char name[512];
            H5Gget_objname_by_idx(m.get(), k, name, sizeof name);
            const handle d{H5Dopen2(m.get(), name, H5P_DEFAULT), H5Dclose};
            if (!d.valid()) {
                continue;
            }
            const handle space{H5Dget_space(d.get()), H5Sclose};
            if (H5Sget_simple_extent_npoints(space.get()) != 1) {
                continue;  // arrays: curves, confusion matrices
            }
            double v = 0;
            if (H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0) {
                s.metrics.emplace_back(name, v);
            }
        }
    }
    return s;
}

std::vector<float> read_reservoir_features(const std::string& path, const std::string& part) {
    const std::uint64_t done = part_done(path, part);
    return read_all<float>(path, "reservoir/" + part + "/features", H5T_NATIVE_FLOAT, done);
}

std::vector<std::uint8_t> read_reservoir_labels(const std::string& path, const std::string& part) {
    const std::uint64_t done = part_done(path, part);
    return read_all<std::uint8_t>(path, "reservoir/" + part + "/labels", H5T_NATIVE_UINT8, done);
}

std::string inspect_reservoir(const std::string& path) {
    const reservoir_summary s = read_reservoir_summary(path);
    std::string out = fmt::format("{}: {} protocol experiment, status {}{}\n", path, s.kind,
                                  s.status, s.error.empty() ? "" : " (" + s.error + ")");
    for (const auto& p: s.parts) {
        out += fmt::format("  {:<10} {} / {} samples, features {}\n", p.name, p.samples_done,
                           p.samples_planned, p.feature_layout);
    }
    for (const auto& [k, v]: s.texts) {
        out += fmt::format("  {:<32} {}\n", k, v);
    }
    for (const auto& [k, v]: s.metrics) {
        out += fmt::format("  {:<32} {:.6g}\n", k, v);
    }
    return out;
}

}  // namespace glia::io
