#pragma once
// glia::simulation: build a network from an experiment_spec, run it, feed a recording_sink.
//
//   glia::model_registry models;
//   glia::models::register_builtin_models(models);
//   glia::simulation sim(spec, models, ctx);     // validates, builds (parallel, deterministic)
//   glia::memory_sink out;
//   auto summary = sim.run(out);                 // spec.simulation.duration

#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <glia/context.hpp>
#include <glia/model_registry.hpp>
#include <glia/recording.hpp>
#include <glia/spec.hpp>
#include <glia/types.hpp>

namespace glia {

struct build_report {
    std::size_t n_neurons = 0;
    std::size_t n_synapses = 0;
    std::size_t synapse_bytes = 0;   // the delivery structure: targets, weights, delay segments, row index
    double build_seconds = 0;        // wall time of construction
    std::size_t peak_rss_bytes = 0;  // process peak resident set after construction
    int threads = 0;
    int partitions = 0;
    step_t min_delay = 0;            // [steps]: spikes are exchanged every min_delay steps
    step_t max_delay = 0;            // [steps]
};

struct progress_info {
    step_t step = 0;       // steps done
    step_t n_steps = 0;    // steps in the run
    double wall_seconds = 0;  // since this part of the run started (run() was called)
    double eta_seconds = 0;
    std::uint64_t spikes = 0;
    std::uint64_t synaptic_events = 0;           // of the whole run (a resumed run: since step 0)
    std::uint64_t synaptic_events_at_start = 0;  // of them, counted before this part started
    step_t first_step = 0;  // the step this part started at (> 0: resumed from a checkpoint)
};

// One synapse of a plastic projection, as simulation::weights() returns it.
struct synapse_weight {
    neuron_id source = 0;  // global ids
    neuron_id target = 0;
    step_t delay = 0;      // [steps]
    double weight = 0;     // [the projection's weight unit]
};

// A modulator's level per step (and region) over a run.
struct modulator_levels {
    step_t first_step = 0;      // the time (in steps) of values[0 .. n_regions)
    std::size_t n_regions = 1;
    std::vector<double> values;  // steps x regions
};

struct run_control {
    const std::atomic<bool>* stop = nullptr;          // polled between epochs
    std::function<void(const progress_info&)> on_progress;
    double progress_interval = 1.0;                   // [s] of wall time between calls
    // Called once per epoch that has spikes, with that epoch's spikes of every population
    // (recorded or not), in (step, gid) order, on the thread that called run(), between
    // epochs: for figures computed from spikes (src/app/run_metrics.hpp). Keep it short.
    std::function<void(std::span<const spike_event>)> on_spikes;
};

// Peak resident set size of this process so far [bytes] (Linux VmHWM); 0 if unknown.
std::size_t peak_rss_bytes();

// Checks a spec against the models without building the network: its memory (check_memory
// first), references, parameter values, units, delays against dt. Throws glia::error
// (located) on the first problem.
void check_experiment(const experiment_spec& spec, const model_registry& models);

// What the network of a spec is expected to take in memory, from the spec alone (sizes,
// expected synapse counts of the connection rules, per-neuron state of the models, protocol
// features): docs/performance.md, "Memory".
struct memory_estimate {
    double neurons = 0;
    double synapses = 0;  // expected
    double neuron_bytes = 0;
    double synapse_bytes = 0;
    double recording_bytes = 0;  // writer buffers, weight snapshots, protocol features
    double total_bytes = 0;
    std::string largest_where;  // the largest part: its location and what it is
    std::string largest_what;
};
memory_estimate estimate_memory(const experiment_spec& spec, const model_registry& models);

// The memory a run may take: GLIA_MEMORY_LIMIT if set (bytes, or with K, M, G, T: "64G"),
// else MemAvailable of /proc/meminfo, or the address-space limit (ulimit -v) if lower.
struct memory_limit {
    std::uint64_t bytes = 0;
    std::string source;  // where the figure comes from, for messages
};
memory_limit available_memory();

// Throws glia::error, located at the largest part of the network, when the estimate exceeds
// the available memory.
void check_memory(const experiment_spec& spec, const model_registry& models);

class simulation {
public:
    simulation(const experiment_spec& spec, const model_registry& models, const context& ctx);
    simulation(simulation&&) noexcept;
    simulation& operator=(simulation&&) noexcept;
    ~simulation();

    const build_report& report() const;

    // Runs the experiment's whole duration from the current state, feeding `sink`.
    run_summary run(recording_sink& sink, const run_control& control = {});

    // Introspection for tests and tools.
    double value(neuron_id gid, std::string_view variable) const;
    std::uint64_t connectivity_hash() const;  // of every synapse: source, target, port, weight, delay
    // The current weights of a plastic projection, every pending update applied, sorted by
    // (source, target, delay) with multapses in their canonical order.
    std::vector<synapse_weight> weights(std::string_view projection);
    // Every static spike synapse (weight in its port's unit), and every sic connection
    // (connections with the same source, target and delay merged, weights summed), sorted by
    // (source, target, delay), multapses in canonical order. For tests and tools: a copy.
    std::vector<synapse_weight> static_synapses() const;
    std::vector<synapse_weight> sic_connections() const;
    step_t now() const;
    // The level of a modulator that has one (a nalsm_astrocyte's A) at times first_step ..
    // now(): docs/models/nalsm_astrocyte.md. Throws glia::error for an unknown name.
    modulator_levels modulator_level(std::string_view modulator) const;

    // ---- Checkpoints (docs/architecture.md, "Checkpoint and resume"). ----
    // Writes the complete dynamic state at now() to `out` (the body of a checkpoint file,
    // docs/output_format.md, "Checkpoints"): neuron, homeostasis, plasticity and modulator
    // state, spikes in flight, the graded (sic) buffer, counters and recorder positions, in a
    // form that does not depend on the thread or partition count. The structure (synapses,
    // devices) is not saved: the same experiment builds it again, bit for bit. Call it after
    // run() returned `interrupted` and before value() or weights(), which bring lazily
    // updated neurons and pending plastic updates up to date and so change how the run would
    // continue in the last bits (internal_error if they were called).
    void save_state(std::ostream& out) const;
    // Restores a state written by save_state into a simulation built from the same experiment
    // that has not run yet (any thread or partition count): the next run() continues from the
    // saved step, and its output repeats the uninterrupted run bit for bit. Throws glia::error
    // saying what does not match this network (populations, models, projections, sizes).
    void load_state(std::istream& in);

private:
    struct state;
    std::unique_ptr<state> impl_;
};

}  // namespace glia
