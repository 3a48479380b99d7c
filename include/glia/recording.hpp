#pragma once
// What a run hands to its output while it goes on: a layout first, then spikes and sampled
// state in batches, then a summary. The HDF5 writer (src/io) and the in-memory sink below
// implement the same interface; the engine never knows which one it feeds.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <glia/types.hpp>

namespace glia {

// A spike emitted at the end of step `step`: its time is (step + 1) * dt.
struct spike_event {
    step_t step = 0;
    neuron_id gid = 0;
    friend bool operator==(const spike_event&, const spike_event&) = default;
};

struct population_layout {
    std::string name;
    std::string model;
    neuron_id first_gid = 0;
    std::size_t size = 0;
    bool spikes_recorded = false;
    bool emits_spikes = true;  // false: astrocytes; their reports go under /astrocytes
};

// One state report: one variable of chosen neurons of one population, sampled every
// `interval_steps` steps from `start_step` on. Frame j holds the state at time
// (start_step + j * interval_steps) * dt, before that step is taken.
struct report_layout {
    std::string name;
    std::size_t population = 0;       // index into run_layout::populations
    std::string variable;
    std::string unit;
    std::vector<neuron_id> node_ids;  // population-local, ascending
    step_t start_step = 0;
    step_t interval_steps = 1;
    std::size_t n_frames = 0;         // frames in a complete run
};

// Weight snapshots of one plastic projection: the synapses (fixed for the run, in canonical
// order: by source, target, delay) and the steps at which snapshots are taken.
struct weight_layout {
    std::string projection;
    std::string rule;
    std::size_t source_population = 0;  // indices into run_layout::populations
    std::size_t target_population = 0;
    std::string unit;                   // of the weights: mV, pA or nS
    std::vector<neuron_id> sources;     // population-local ids, one per synapse
    std::vector<neuron_id> targets;
    std::vector<step_t> delays;         // [steps]
    std::vector<step_t> steps;          // snapshot steps (the state at the start of each)
};

// What an output holds when a run starts after step 0 (resumed from a checkpoint): a sink
// that continues an earlier output starts from these counts (the HDF5 writer truncates every
// dataset to them: docs/output_format.md, "Checkpoints").
struct recorded_counts {
    std::vector<std::uint64_t> spikes;            // per population (0 when not recorded)
    std::vector<std::uint64_t> report_frames;     // per report
    std::vector<std::uint64_t> weight_snapshots;  // per weight recorder
};

struct run_layout {
    double dt = 0.1;       // [ms]
    step_t n_steps = 0;    // steps in a complete run
    std::uint64_t seed = 0;
    std::vector<population_layout> populations;
    std::vector<report_layout> reports;
    std::vector<weight_layout> weights;
    step_t first_step = 0;     // the step this run starts at (> 0: resumed from a checkpoint)
    recorded_counts recorded;  // recorded before first_step (all 0 when it is 0)
};

enum class run_status { completed, interrupted };

// The counts (steps_done, synaptic_events, spike_counts) are those of the whole run; the times
// those of this part of it. A run resumed from a checkpoint started at first_step with
// synaptic_events_at_start already counted: its speed is (synaptic_events -
// synaptic_events_at_start) / wall_seconds and (steps_done - first_step) / wall_seconds.
struct run_summary {
    run_status status = run_status::completed;
    step_t steps_done = 0;
    double wall_seconds = 0;         // simulation loop only (this part)
    double build_seconds = 0;        // network construction (this part)
    std::uint64_t synaptic_events = 0;
    step_t first_step = 0;                       // where this part started (0 unless resumed)
    std::uint64_t synaptic_events_at_start = 0;  // counted before first_step
    std::vector<std::uint64_t> spike_counts;  // per population (recorded or not)
    std::size_t n_neurons = 0;
    std::size_t n_synapses = 0;
};

class recording_sink {
public:
    virtual ~recording_sink() = default;
    virtual void begin(const run_layout& layout) = 0;
    // Spikes of recorded populations, in (step, gid) order, batch after batch.
    virtual void spikes(std::span<const spike_event> batch) = 0;
    // Frames [first_frame, first_frame + n_frames) of report `report`, frame-major
    // (n_frames x node_ids.size() values).
    virtual void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                        std::span<const float> data) = 0;
    virtual void end(const run_summary& summary) = 0;
    // Make everything received so far durable (an HDF5 flush); called periodically.
    virtual void flush() {}
    // Snapshot `snapshot` (index into its weight_layout::steps) of weight recorder `recorder`:
    // one weight per synapse, in the layout's order.
    virtual void weights(std::size_t /*recorder*/, std::size_t /*snapshot*/,
                         std::span<const double> /*values*/) {}
};

// Keeps everything in memory: for tests and for library users.
class memory_sink: public recording_sink {
public:
    void begin(const run_layout& l) override {
        layout = l;
        recorded_spikes.clear();
        report_data.assign(l.reports.size(), {});
        for (std::size_t r = 0; r < l.reports.size(); ++r) {
            report_data[r].assign(l.reports[r].n_frames * l.reports[r].node_ids.size(), 0.0f);
        }
        report_frames.assign(l.reports.size(), 0);
        weight_snapshots.assign(l.weights.size(), {});
    }
    void spikes(std::span<const spike_event> batch) override {
        recorded_spikes.insert(recorded_spikes.end(), batch.begin(), batch.end());
    }
    void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                std::span<const float> data) override {
        const std::size_t width = layout.reports[report].node_ids.size();
        std::copy(data.begin(), data.end(), report_data[report].begin() + first_frame * width);
        report_frames[report] = first_frame + n_frames;
    }
    void end(const run_summary& s) override { summary = s; }
    void weights(std::size_t recorder, std::size_t, std::span<const double> values) override {
        weight_snapshots[recorder].emplace_back(values.begin(), values.end());
    }

    run_layout layout;
    std::vector<std::vector<std::vector<double>>> weight_snapshots;  // recorder, snapshot, synapse
    std::vector<spike_event> recorded_spikes;
    std::vector<std::vector<float>> report_data;  // per report, frame-major
    std::vector<std::size_t> report_frames;       // frames received per report
    run_summary summary;
};

}  // namespace glia
