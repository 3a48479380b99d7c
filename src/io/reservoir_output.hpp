#pragma once
// The output file of a protocol run (docs/output_format.md, "Protocol runs"):
//
//   /run                        attributes: kind "two_phase" or "timeseries" (the protocol);
//                               status (fixed-length string, as a network run's) "running",
//                               then "complete", "interrupted" or "failed"; config (YAML text),
//                               source_path, version, git_hash, host, command_line, started,
//                               seed, dt, duration, n_steps (0); when closed: steps_done (0),
//                               wall_seconds, build_seconds, n_neurons, n_synapses,
//                               synaptic_events (0). Datasets population_names, _models,
//                               _first_gids, _sizes, _spikes_recorded (all 0), as a network
//                               run's; reports/{name, population, variable, unit, file, path}
//                               empty
//   /reservoir/network/<pop>    attributes first_gid, size
//   /reservoir/w_ini/<proj>/    source, target (uint64 global ids), delay (int64 [steps]),
//                               weight (float64): a plastic projection after phase A
//   /reservoir/init/            final_level, state_rate (float32 per phase-A presentation);
//                               attributes samples_done, samples_planned
//   /reservoir/<part>/          part = train, validation, test: features (samples x width,
//                               float32), labels (uint8), index (uint64, the sample's index in
//                               the dataset), state_spikes, input_spikes (uint32), final_level
//                               (float32); attributes samples_done, samples_planned,
//                               feature_layout
//   /reservoir/rasters/         sample, step, neuron (uint32): the state spikes of the samples
//                               the branching factor is computed from; level (float32 samples x
//                               steps x regions) and its level_definition, with a level
//                               modulator
//   /task/                      timeseries: float64 arrays (array()): u, states, target,
//                               test_prediction, test_target
//   /metrics/                   numbers as scalar float64 datasets, texts as attributes,
//                               curves and matrices as float64 or uint64 datasets
//
// Samples are appended block by block; after each block the file is flushed and samples_done
// updated, so an interrupted run leaves a readable file with every finished block.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <glia/trial.hpp>

namespace glia::io {

struct reservoir_provenance {
    std::string kind = "two_phase";  // /run@kind: the protocol, two_phase or timeseries
    std::string config_text, source_path, version, git_hash, host, command_line, started;
    std::uint64_t seed = 0;
    double dt = 0;        // [ms]
    double duration = 0;  // [ms] simulation.duration of the experiment
};

class reservoir_file {
public:
    // Creates (truncates) the file. Throws glia::error naming the path when it cannot.
    reservoir_file(const std::string& path, const reservoir_provenance& prov);
    // Reopens the file of an interrupted run to continue it (glia run --resume). Throws
    // glia::error when it is missing, not a reservoir file of kind `kind`, or was made from
    // another config text than `config_text`.
    struct resume_tag {};
    reservoir_file(resume_tag, const std::string& path, const std::string& kind,
                   const std::string& config_text);
    ~reservoir_file();
    reservoir_file(const reservoir_file&) = delete;
    reservoir_file& operator=(const reservoir_file&) = delete;

    // The populations: /reservoir/network/<name> with attributes first_gid and size.
    void write_network(std::span<const std::string> names, std::span<const std::string> models,
                       std::span<const neuron_id> first, std::span<const std::uint64_t> sizes);
    // Figures for /run's summary, written when the file is closed.
    void set_summary(std::uint64_t n_synapses, double build_seconds, double wall_seconds);
    // Phase A: /reservoir/w_ini/<projection>/{source, target, delay, weight} and
    // /reservoir/init/{final_level, state_rate} per presentation.
    void write_init(const std::vector<projection_synapses>& w_ini,
                    std::span<const float> final_level, std::span<const float> state_rate,
                    std::size_t samples_planned);

    // W_INI of a completed phase A (empty when phase A did not finish).
    std::vector<projection_synapses> completed_w_ini() const;

    // Continues part `name` as begin_part would start it: an existing part keeps its first
    // samples_done rows (anything written after them is cut off) and the count is returned;
    // a part the file does not have yet is begun, and 0 returned.
    std::size_t resume_part(const std::string& name, std::size_t planned, std::size_t width,
                            const std::string& feature_layout);

    // The features of the current part written so far (samples_done x width).
    std::vector<float> part_features() const;

    // Starts part `name` (train, validation, test) of `planned` samples, `width` floats each.
    void begin_part(const std::string& name, std::size_t planned, std::size_t width,
                    const std::string& feature_layout);
    // Appends rows to the current part and flushes the file.
    void append(std::span<const float> features, std::span<const std::uint8_t> labels,
                std::span<const std::size_t> index, std::span<const std::uint32_t> state_spikes,
                std::span<const std::uint32_t> input_spikes, std::span<const float> final_level);

    void write_rasters(std::span<const std::uint32_t> sample, std::span<const std::uint32_t> step,
                       std::span<const std::uint32_t> neuron, std::span<const float> astrocyte,
                       std::size_t samples, std::size_t steps, std::size_t regions);

    // /metrics: a scalar attribute, a text attribute, a dataset of doubles or of counts.
    void metric(const std::string& name, double value);
    void metric_text(const std::string& name, const std::string& value);
    void metric_array(const std::string& name, std::span<const double> values,
                      std::span<const std::size_t> dims);
    void metric_counts(const std::string& name, std::span<const std::size_t> values,
                       std::span<const std::size_t> dims);

    // A float64 dataset `name` in group `group` (created with its parents when missing).
    void array(const std::string& group, const std::string& name, std::span<const double> values,
               std::span<const std::size_t> dims);

    // Sets /run@status ("complete", "interrupted" or "failed") and closes the file.
    void close(const std::string& status);

private:
    struct state;
    std::unique_ptr<state> s_;
};

// ----- reading back -----

struct reservoir_part_info {
    std::string name;
    std::uint64_t samples_done = 0;
    std::uint64_t samples_planned = 0;
    std::uint64_t width = 0;
    std::string feature_layout;
};

struct reservoir_summary {
    std::string kind;                                    // /run@kind
    std::string status;                                  // /run@status
    std::string error;                                   // /run@error ("failed" only)
    std::string config;                                  // /run@config
    std::vector<reservoir_part_info> parts;              // those present, in file order
    std::vector<std::pair<std::string, double>> metrics; // numeric /metrics attributes
    std::vector<std::pair<std::string, std::string>> texts;  // text /metrics attributes
    double metric(const std::string& name) const;        // NaN when absent
};

// True when `path` is an HDF5 file written by reservoir_file (/run@kind two_phase or
// timeseries).
bool is_reservoir_file(const std::string& path);
// Throws glia::error naming the file when it cannot be read.
reservoir_summary read_reservoir_summary(const std::string& path);
// The features of a part (samples_done x width, row-major) and its labels.
std::vector<float> read_reservoir_features(const std::string& path, const std::string& part);
std::vector<std::uint8_t> read_reservoir_labels(const std::string& path, const std::string& part);
// The text `glia inspect` prints for a reservoir file.
std::string inspect_reservoir(const std::string& path);

}  // namespace glia::io
