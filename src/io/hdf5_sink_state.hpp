#pragma once
// The state of an hdf5_sink (the pimpl of hdf5_writer.hpp): the files, groups and columns of a
// run's output. Shared by the SONATA writer (hdf5_writer.cpp) and resume (hdf5_resume.cpp).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <hdf5.h>

#include <glia/recording.hpp>

#include "io/hdf5_column.hpp"
#include "io/hdf5_handle.hpp"
#include "io/hdf5_writer.hpp"

namespace glia::io {

// Where a report lives in its file: /report/<population> (SONATA), or, for populations that
// emit no spikes (astrocytes), /astrocytes/<population>/<variable> with the same layout.
std::string report_group_path(const run_layout& layout, const report_layout& rep);

// A file being written: the main output or a sibling report file.
struct output_file {
    std::string path;
    h5::handle file;
};

struct spike_output {
    std::size_t population = 0;
    h5::handle group;
    std::optional<h5::column> timestamps;  // [ms]
    std::optional<h5::column> node_ids;    // population-local
    step_t last_step = 0;
    std::vector<double> stage_times;  // [ms] this batch's spikes, before append
    std::vector<std::uint64_t> stage_ids;
};

struct report_output {
    std::size_t file = 0;  // index into files
    h5::handle group;      // /report/<population>
    std::optional<h5::column> data;
    h5::handle time;  // mapping/time: [t_start, t_stop, dt] [ms]
    std::size_t width = 0;
    std::size_t frames = 0;          // received
    std::size_t frames_in_time = 0;  // t_stop written for this many frames
    double t_start = 0;              // [ms]
    double dt = 0;                   // [ms] between frames
};

// /weights/<projection>: snapshots of a plastic projection's weights.
struct weight_output {
    std::optional<h5::column> time;    // [ms] one row per snapshot
    std::optional<h5::column> weight;  // one row per snapshot, one column per synapse
    std::size_t width = 0;
    std::size_t snapshots = 0;  // received
};

struct hdf5_sink::state {
    provenance prov;
    hdf5_options options;
    run_layout layout;
    bool begun = false;
    // A write failed (a full disk): nothing is written or flushed any more, and the files are
    // left unclosed (closing writes metadata), so that they stay as their last flush left them.
    bool abandoned = false;
    bool ended = false;
    bool owns_main = false;               // begin() created the main file, or reopened it to resume
    std::vector<std::string> file_paths;  // main file first
    // Declared before the objects in them, so that those close first.
    std::vector<output_file> files;
    h5::handle run_group;
    h5::handle spike_counts;  // /run/spike_counts
    std::vector<spike_output> spike_outputs;
    std::vector<std::ptrdiff_t> spike_output_of;  // per population, -1 if not recorded
    std::vector<std::pair<neuron_id, std::size_t>> first_gids;  // (first gid, population), sorted
    std::vector<report_output> reports;
    std::vector<weight_output> weight_outputs;
    std::size_t unwritten_bytes = 0;  // received, not yet in the files

    const std::string& main_path() const { return files.front().path; }

    void create_spikes(hid_t file_id, const std::string& file);
    void create_report(std::size_t r, std::size_t file_index);
    void create_weights(hid_t file_id, const std::string& file);
    void create_run(hid_t file_id, const std::string& file,
                    const std::vector<std::string>& report_files);
    // A resumed run (hdf5_options::resume): opens the files and every dataset begin() would
    // create, cuts each to what layout.recorded says was written before layout.first_step,
    // and sets /run@status back to "running". The first flush (at the end of begin()) writes
    // the cut chunk rows again (column::resume_at). In hdf5_resume.cpp.
    void reopen(hid_t fapl, const std::vector<std::size_t>& file_of);
    // mapping/time says how many frames the data have in the file: t_stop = t_start + n dt.
    void update_report_times();
    void flush_files();
    std::vector<h5::column*> columns();
    // Puts every received row in the files, in rounds that each leave the files consistent
    // should the process die at any moment (see `column`):
    //   1. every column writes the chunk row beyond its extent; H5Fflush: chunks and index
    //      entries reach the disk while the extents still hide them;
    //   2. the extents (and mapping/time) grow over them; H5Fflush: only object headers change.
    // A kill between the two flushes of step 2 can leave timestamps one round longer than
    // node_ids (or report data than mapping/time): readers take the common part.
    void write_out();
    void write_out_unguarded();
    // write_out, a last H5Fflush (for anything else that changed), then fdatasync: what a
    // crash of the machine keeps too.
    void flush_all();
    void flush_and_sync();
    void end_unguarded(const run_summary& summary);
    // Closes every object, then the files; `check`: report a failed close (end()), or not
    // (the destructor).
    void close_all(bool check);
};

}  // namespace glia::io
