// Resume (glia run --resume): an existing output is checked against this run (hdf5_sink::
// check_resumable), reopened, and every dataset cut to what the checkpoint had recorded
// (hdf5_sink::state::reopen, h5::column::resume_at), so that the run appends from there.
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <hdf5.h>

#include <glia/error.hpp>

#include "io/hdf5_column.hpp"
#include "io/hdf5_common.hpp"
#include "io/hdf5_reader.hpp"
#include "io/hdf5_sink_state.hpp"
#include "io/hdf5_writer.hpp"

#include <zlib.h>

namespace glia::io::h5 {

column::column(existing, hid_t loc, const std::string& name, std::size_t elem_size, int rank,
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

void column::resume_at(hsize_t rows, hid_t mem_type) {
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

}  // namespace glia::io::h5

namespace glia::io {

namespace fs = std::filesystem;
using h5::check_id;
using h5::check_status;
using h5::column;
using h5::handle;
using h5::write_i64_attribute;
using h5::write_status;
using h5::write_string_attribute;

void hdf5_sink::state::reopen(hid_t fapl, const std::vector<std::size_t>& file_of) {
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
    if (H5Aexists(run_group.get(), "error") > 0) {  // an earlier attempt's (mark_run_failed)
        check_status(H5Adelete(run_group.get(), "error"), file, "cannot remove /run@error");
    }
    write_status(run_group.get(), "running", file, false);
    flush_all();
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

}  // namespace glia::io
