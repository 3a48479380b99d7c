#pragma once
// Trials: one network, built once, run as many independent short runs as a protocol needs
// (DESIGN §3, "Samples in parallel"; NALSM runs 70,000 samples of 250 ms on one liquid).
//
//   glia::trial_runner runner(spec, models, ctx);          // builds the network once
//   glia::network_state w_ini = runner.initial_state();    // weights as built, traces at 0
//   std::vector<glia::trial> trials = ...;                 // key (sample index), steps, inputs
//   std::vector<glia::trial_result> out(trials.size());
//   runner.run(w_ini, trials, recording, out);             // in parallel, any thread count
//
// A trial starts from a network_state: its plastic synapses (weights and the rules' traces)
// and spike histories. Neurons, modulators, queues (spikes in flight are dropped) and devices
// start as built, at the state's step; the plastic rules reset what belongs to one sample
// (NALSM's synaptic kernel, the learning-rate schedule). Trial inputs (dataset_source inputs
// of the network) get their event probabilities per trial.
//
// Workers: each thread of the runner's pool owns one copy of the network's mutable state
// (neuron state, plastic weights and traces, queues); the connectivity exists once and is
// shared (memory() says how much each part takes). A trial's random draws (its inputs, Poisson
// generators) are keyed by the trial's key, never by the worker, and every trial starts from a
// complete reset: results do not depend on the thread count or on which trials ran before on
// the same worker.
//
// A trial_session is one worker for sequential protocols (NALSM's phase A carries weights
// and traces from sample to sample) and for step-by-step inspection in tests.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <glia/context.hpp>
#include <glia/model_registry.hpp>
#include <glia/recording.hpp>
#include <glia/simulation.hpp>
#include <glia/spec.hpp>
#include <glia/state_columns.hpp>
#include <glia/types.hpp>

namespace glia {

// What one trial carries to the next: the plastic state and spike histories, and (for
// sessions that continue exactly) neurons and modulators. Saved from a session or made by the
// runner; independent of workers and threads.
class network_state {
public:
    step_t step() const { return step_; }
    std::size_t bytes() const;

private:
    friend class trial_runner;
    friend class trial_session;
    struct plastic_columns {
        state_columns segment, synapse, block, target;
    };
    step_t step_ = 0;
    std::vector<state_columns> neurons_;       // per neuron block
    std::vector<plastic_columns> plastic_;     // per plastic block
    std::vector<std::vector<step_t>> history_;  // per neuron: spike history (plastic targets)
    std::vector<state_columns> modulators_;    // per modulator
};

// The synapses of one plastic projection with their weights (e.g. W_INI after a protocol's
// phase A), in simulation::weights() order: by source, target, delay.
struct projection_synapses {
    std::string name;
    std::vector<neuron_id> source, target;  // global ids
    std::vector<step_t> delay;              // [steps]
    std::vector<double> weight;
};

// The probabilities of a trial input (a dataset_source of the network): one per value of a
// sample, the event probability per step of the neuron that value drives.
struct trial_input {
    std::size_t input = 0;  // trial_runner::input_index
    std::span<const float> values;
};

struct trial {
    std::uint64_t key = 0;  // keys the trial's random draws (a protocol's sample index)
    step_t steps = 0;
    std::span<const trial_input> inputs;
};

// What trials record. A trial of T steps from step s counts the spikes whose time lies in
// [s dt, (s + T) dt): those emitted in steps s .. s + T - 2 (a spike of the last step happens
// at the end, which belongs to the next interval). Recorded populations are concatenated in
// the order given: that order is the feature order.
struct trial_recording {
    std::vector<std::string> populations;  // spike counts per neuron of these
    std::size_t bins = 0;                  // > 0: also counts in this many equal time bins
    bool raster = false;                   // every counted spike: (time step - s, index)
    std::vector<std::string> final_state;  // variables read per neuron at the end (e.g. V_m)
    std::vector<std::string> levels;       // modulators whose level is recorded per step
};

struct trial_result {
    std::vector<float> counts;       // per recorded neuron
    std::vector<float> binned;       // bins x recorded neurons
    std::vector<float> final_state;  // final_state.size() x recorded neurons
    std::vector<std::uint32_t> raster_step, raster_index;
    // Per recorded modulator: its level after every step (times s + 1 .. s + T), x regions.
    std::vector<std::vector<double>> levels;
    std::vector<std::uint64_t> population_spikes;  // per population of the network (counted)
    std::uint64_t synaptic_events = 0;
};

// Where the memory of a runner goes [bytes].
struct trial_memory {
    std::size_t shared = 0;      // the connectivity: static and plastic synapse structure, once
    std::size_t per_worker = 0;  // one worker's mutable state (weights, neurons, queues, traces)
    std::size_t workers = 0;     // workers made so far
    // Distinct copies of the synapse structure among the built network and its workers: 1
    // when every worker shares the built network's.
    std::size_t structure_copies = 0;
};

// The events a dataset_source input (the experiment's input number `input`) gets in a trial
// of `steps` steps keyed `trial_key` from probabilities p: per step, the indices of the values
// with an event, ascending. What trial_runner draws, for tests and tools.
std::vector<std::vector<std::uint32_t>> trial_input_events(std::uint64_t seed, std::size_t input,
                                                           std::span<const float> p, step_t steps,
                                                           std::uint64_t trial_key);

class trial_session;

class trial_runner {
public:
    // Builds the network of `spec` once (one partition: trials run side by side, not split);
    // ctx.threads sets the pool for run() (0: spec.simulation.threads, else all cores).
    trial_runner(const experiment_spec& spec, const model_registry& models, const context& ctx);
    trial_runner(trial_runner&&) noexcept;
    trial_runner& operator=(trial_runner&&) noexcept;
    ~trial_runner();

    const build_report& report() const;
    double dt() const;
    int threads() const;

    // The network as built: weights from the spec, traces and histories empty, step 0.
    network_state initial_state() const;

    // A dataset_source input by name (glia::error naming the inputs when there is none) and
    // the number of values a sample gives it.
    std::size_t input_index(std::string_view name) const;
    std::size_t input_values(std::size_t input) const;
    // The global ids of a population's neurons: [first, first + size). glia::error if unknown.
    std::pair<neuron_id, std::size_t> population(std::string_view name) const;

    // The weights of a plastic projection in a state, in the order of simulation::weights()
    // (by source, target, delay); and a copy of the state with those weights replaced.
    std::vector<synapse_weight> weights(const network_state& state,
                                        std::string_view projection) const;
    network_state with_weights(const network_state& state, std::string_view projection,
                               std::span<const double> weights) const;
    // Every static synapse (as simulation::static_synapses()) and every plastic projection's
    // synapses with their initial weights: the whole spike connectivity, for tools (the
    // branching factor's graph, the test oracle).
    std::vector<synapse_weight> static_synapses() const;
    std::vector<std::string> plastic_projections() const;

    // Runs every trial from `start` on the pool; out[i] is trial i's result. Trials are
    // independent; the order in which they run does not matter. Returns how many ran (fewer
    // when *stop became true: the rest of `out` is untouched).
    std::size_t run(const network_state& start, std::span<const trial> trials,
                    const trial_recording& recording, std::span<trial_result> out,
                    const std::atomic<bool>* stop = nullptr);

    trial_session session();

    trial_memory memory() const;

    struct worker;  // one copy of the mutable state (trial.cpp)
    struct state;

private:
    friend class trial_session;
    std::unique_ptr<state> impl_;
};

// One worker, driven by the caller: load a state, begin a trial, step, inspect, save.
class trial_session {
public:
    trial_session(trial_session&&) noexcept;
    trial_session& operator=(trial_session&&) noexcept;
    ~trial_session();

    // Restores a state: plastic synapses and histories always; neurons and modulators too
    // when the state holds them (a saved session state), else they are as built.
    void load(const network_state& state);
    // The complete state now (neurons and modulators included).
    network_state save();

    // A trial starts at now(): neurons, modulators, queues and devices as built; plastic
    // synapses and histories continue; the inputs get their events.
    void begin(const trial& t);
    // Runs the trial begun last to its end, recording as asked.
    void run(const trial_recording& recording, trial_result& out);
    // One step (after begin()); the spikes it emitted.
    std::span<const spike_event> step();

    step_t now() const;
    double value(neuron_id gid, std::string_view variable) const;
    // Current weights of a plastic projection (pending updates applied), simulation::weights()
    // order.
    std::vector<synapse_weight> weights(std::string_view projection);
    // A modulator's level at time t (steps) in region r.
    double level(std::string_view modulator, step_t t, std::uint32_t region = 0) const;

private:
    friend class trial_runner;
    trial_session(trial_runner::state* runner, std::unique_ptr<trial_runner::worker> w);
    trial_runner::state* runner_;
    std::unique_ptr<trial_runner::worker> w_;
};

}  // namespace glia
