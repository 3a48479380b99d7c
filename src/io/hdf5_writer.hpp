#pragma once
// The HDF5 output of a run, in the SONATA layout (docs/output_format.md): spikes under
// /spikes/<population>, state reports under /report/<population>, and a /run group that says
// how the file was made and how the run ended. Data are appended while the run goes on.
//
// Crash safety: a run killed with SIGKILL leaves a file that h5py and our reader open, with
// everything received up to its last flush() (tested by killing writers at random moments).
//   - The oldest HDF5 format (superblock 0, v1 B-trees): no file-consistency flags, which a
//     dead writer would leave set (as SWMR and libver "latest" files do), so plain
//     h5py.File(path, "r") opens the file.
//   - HDF5's metadata cache never writes on its own (evictions off): the file's structure
//     changes on disk only in H5Fflush calls that we order.
//   - Data are buffered (up to hdf5_options::buffer_bytes) and written out in rounds that each
//     leave a consistent file: first chunks and their index entries, hidden beyond the
//     datasets' extents (H5Fflush); then the extents grow over them (H5Fflush). HDF5 flushes
//     its metadata in address order, so one flush that both indexes a chunk and grows the
//     extent could be cut between the two: the kill test showed zeros and "addr overflow".
//   - Flushed bytes are never rewritten with other bytes: a chunk complete at its first write
//     is compressed into new file space; one first written partial stays uncompressed and is
//     rewritten in place (HDF5 would move a compressed chunk that changes size, possibly over
//     its old copy).
//   - end() changes no structure: the summary overwrites placeholders written by begin(), and
//     /run@status (a fixed-length string) is written last, in a flush of its own.
// Known limit: when a chunk index node splits (after 64 chunks of a dataset, then every 32),
// HDF5 writes the parent before the new node in one flush; a kill between the two leaves that
// dataset unreadable ("addr overflow"). Default chunks make this rare (docs/output_format.md).
// The writer takes no HDF5 file lock, so `glia inspect` and h5py can read the file while the
// run goes on (from another process: HDF5 shares a file opened twice in one process).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <glia/recording.hpp>

namespace glia::io {

// How the file was made; written to /run at begin().
struct provenance {
    std::string config_text;  // the resolved experiment (YAML)
    std::string source_path;  // the config file it came from
    std::string version;      // glia version
    std::string git_hash;
    std::string host;
    std::string command_line;
    std::string started;     // ISO 8601 local time with offset
    std::uint64_t seed = 0;  // informational: /run@seed is run_layout::seed, what the engine used
    double duration_ms = 0;  // requested simulated time [ms]
};

struct hdf5_options {
    std::size_t spike_chunk = 16384;          // spikes per chunk (timestamps and node_ids)
    std::size_t report_chunk_values = 65536;  // values per chunk of report data (frames x nodes)
    int deflate_level = 4;                    // 1..9
    std::size_t buffer_bytes = 4u << 20;      // data held in memory before it is written out
    // Resume (glia run --resume): begin() opens the existing file(s) instead of creating
    // them, cuts every dataset to run_layout::recorded (what was written before
    // run_layout::first_step) and appends from there; /run@status is "running" again until
    // end(). The file must have been written by the same experiment (/run@config) and hold at
    // least that much (docs/output_format.md, "Checkpoints").
    bool resume = false;
};

class hdf5_sink: public recording_sink {
public:
    hdf5_sink(std::string path, provenance p, hdf5_options options = {});
    hdf5_sink(const hdf5_sink&) = delete;
    hdf5_sink& operator=(const hdf5_sink&) = delete;
    // Without end(), flushes what it has and closes: /run@status stays "running".
    ~hdf5_sink() override;

    void begin(const run_layout& layout) override;
    void spikes(std::span<const spike_event> batch) override;
    void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                std::span<const float> data) override;
    void end(const run_summary& summary) override;
    void flush() override;
    void weights(std::size_t recorder, std::size_t snapshot,
                 std::span<const double> values) override;

    const std::string& path() const { return path_; }
    // Whether begin() has created the main file (or reopened it to resume): it is this run's,
    // and its /run@status may say how the run ended (mark_run_failed).
    bool owns_output() const;
    // Every file written: the main file first, then one per extra report of a population
    // (known after begin()).
    std::vector<std::string> files() const;

private:
    void check_resumable(const std::vector<std::string>& paths, const run_layout& layout) const;
    void create_files(const std::vector<std::string>& paths,
                      const std::vector<std::size_t>& file_of, std::int64_t fapl,
                      std::vector<std::string>& created);

    struct state;
    std::string path_;
    std::unique_ptr<state> impl_;
};

// The file a report goes to when its population already has a report in the main file:
// "<path without .h5>.<report name>.h5".
std::string sibling_report_path(const std::string& path, const std::string& report_name);

// Marks the output file of a run that an error ended (a network or a protocol run's, once its
// writer has closed it): /run@status "failed" and /run@error the message (escaped for
// terminals). Best effort: a file that cannot be opened, or has no /run, is left as it is.
// The HDF5 library for the life of a process (one, first thing in main): closed at the end
// unless a file could not be closed (its metadata could not be written: a full disk), which
// would crash HDF5's own shutdown at exit. What was flushed before stays on disk as it is.
class hdf5_library_guard {
public:
    hdf5_library_guard();
    hdf5_library_guard(const hdf5_library_guard&) = delete;
    hdf5_library_guard& operator=(const hdf5_library_guard&) = delete;
    ~hdf5_library_guard();
};

// Returns whether the status was written (not where the disk is full and the file could
// not be closed).
bool mark_run_failed(const std::string& path, const std::string& message);

// Throws glia::error("cannot write output file '<path>': <reason>") unless `path` can be
// created: creates missing parent directories, checks that an existing `path` is a writable
// regular file and that its directory accepts a new file, leaving no file behind.
void check_writable(const std::string& path);

}  // namespace glia::io
