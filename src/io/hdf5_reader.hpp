#pragma once
// Reading glia (SONATA) output files back: spikes, reports and the /run record
// (docs/output_format.md). Also reads SONATA spike files of other writers: the `sorting`
// attribute as an HDF5 enum or as a string, and the legacy layout /spikes/gids +
// /spikes/timestamps, exposed as one population named "" (the empty string).
// A file whose writer was killed opens like any other; its /run@status is "running".
// Every failure is a glia::error that names the file and what is missing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glia::io {

struct spike_data {
    std::vector<double> timestamps;       // [ms]
    std::vector<std::uint64_t> node_ids;  // population-local (legacy layout: the gids)
    std::string sorting;  // "by_time", "by_id", "none", legacy "by_gid"; "" if absent
};

// Populations with a spike group in the file, by name ({""} for the legacy layout).
std::vector<std::string> list_spike_populations(const std::string& path);
spike_data read_spikes(const std::string& path, const std::string& population);

// How many spikes a population has and the time of the last, without reading them all
// (for files sorted by_time; others are read in full).
struct spike_summary {
    std::uint64_t count = 0;
    double last_time = 0;  // [ms] 0 without spikes
};
spike_summary summarize_spikes(const std::string& path, const std::string& population);

struct report_data {
    std::vector<float> data;  // frame-major: n_frames x node_ids.size()
    std::size_t n_frames = 0;
    std::vector<std::uint64_t> node_ids;  // population-local
    double t_start = 0;                   // [ms] time of frame 0
    double t_stop = 0;                    // [ms] exclusive
    double dt = 0;                        // [ms] between frames
    std::string units;
    std::string variable;  // "" if the file does not say
};

// The report of `population` in the file at `path` (for a report in a sibling file, pass
// that file: run_info::reports[i].file, relative to the main file's directory).
report_data read_report(const std::string& path, const std::string& population);
// The report in group `group` of the file, e.g. an astrocyte report
// "/astrocytes/<population>/<variable>" (run_info::reports[i].path).
report_data read_report_at(const std::string& path, const std::string& group);

// Everything of read_report but the data and node ids.
struct report_summary {
    std::size_t n_frames = 0;
    std::size_t n_nodes = 0;
    double t_start = 0;  // [ms]
    double t_stop = 0;   // [ms]
    double dt = 0;       // [ms]
    std::string units;
    std::string variable;
};
report_summary summarize_report(const std::string& path, const std::string& population);
report_summary summarize_report_at(const std::string& path, const std::string& group);

struct population_info {
    std::string name;
    std::string model;
    std::uint64_t first_gid = 0;
    std::uint64_t size = 0;
    bool spikes_recorded = false;
    bool has_spike_count = false;  // the run ended: /run/spike_counts holds the counts
    std::uint64_t spike_count = 0;
};

struct report_info {
    std::string name;
    std::string population;
    std::string variable;
    std::string unit;
    std::string file;  // file name, relative to the main file's directory
    std::string path;  // group in that file: "/report/<population>", or for astrocytes
                       // "/astrocytes/<population>/<variable>"
};

struct run_info {
    std::string status;  // "running" (or killed), "complete", "interrupted", "failed"
    std::string error;   // "failed": the message of the error that ended the run, if known
    std::string config, source_path, version, git_hash, host, command_line, started;
    std::uint64_t seed = 0;
    double dt = 0;        // [ms]
    double duration = 0;  // [ms] requested
    std::int64_t n_steps = 0;
    // Written at the end of the run; has_summary is false for a run that was killed.
    bool has_summary = false;
    std::int64_t steps_done = 0;
    double wall_seconds = 0;
    double build_seconds = 0;
    std::uint64_t n_neurons = 0;
    std::uint64_t n_synapses = 0;
    std::uint64_t synaptic_events = 0;
    std::vector<population_info> populations;
    std::vector<report_info> reports;
};

run_info read_run_info(const std::string& path);

// /weights/<projection>: snapshots of a plastic projection's weights.
struct weight_data {
    std::vector<std::uint64_t> source, target;  // population-local ids, one per synapse
    std::vector<double> delay;                  // [ms]
    std::vector<double> time;                   // [ms], one per snapshot
    std::vector<float> weight;                  // snapshot-major: time.size() x source.size()
    std::string units;
};
weight_data read_weights(const std::string& path, const std::string& projection);

}  // namespace glia::io
