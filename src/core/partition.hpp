#pragma once
// A partition: a contiguous range of global neuron ids with everything needed to advance them
// independently of the other partitions between two spike exchanges (DESIGN §3):
// their state (model blocks, struct of arrays), their incoming synapses, their calendar queue,
// their event heap and the devices that act on them.

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <glia/model.hpp>
#include <glia/plasticity.hpp>
#include <glia/recording.hpp>
#include <glia/rng.hpp>
#include <glia/types.hpp>

#include "core/calendar_queue.hpp"
#include "core/event_heap.hpp"
#include "core/poisson_sampler.hpp"
#include "core/post_history.hpp"

namespace glia {

// Homeostatic gains of one block (homeostasis_spec): per neuron a filtered rate, a target and
// the gains on its excitatory and inhibitory input.
struct homeostasis_state {
    std::vector<double> target;  // [Hz]
    std::vector<double> rate;    // [Hz], exponentially filtered
    std::vector<double> g_E, g_I;
    std::vector<double> merged;  // scratch: the model's single-port input (split ports)
    double decay = 1;            // exp(-dt / tau) per step
    double increment = 0;        // rate increase per spike [Hz] = 1000 / tau[ms]
    double eta = 0, g_min = 0, g_max = 0;
    step_t interval = 1, next_update = 1;

    // Applies the gains to a block's input slots (two per neuron: E then I); returns what
    // the model reads: the same slots (two ports), or their weighted sum (one port).
    std::span<const double> apply(std::span<double> in, bool split, std::size_t n);
    // The rate estimate after step `now` with these spikes; gains move every interval.
    void after_step(step_t now, std::span<const std::uint32_t> spiked);
};

// The neurons of one population inside one partition.
struct block_slot {
    std::size_t population = 0;
    std::size_t first_in_population = 0;  // population-local id of the block's first neuron
    std::size_t count = 0;
    neuron_id first_gid = 0;
    std::size_t n_ports = 0;
    std::size_t input_offset = 0;   // first slot of the block in partition::input
    std::size_t neuron_offset = 0;  // index of the block's first neuron inside the partition
    bool has_current = false;       // some current device targets this block
    bool lazy = false;              // advanced only in steps where its neurons get input
    bool split_port = false;        // homeostasis on a one-port model: E and I slots, summed
    // Models with graded output (astrocytes): the column of the block's first neuron in the
    // graded buffer, written after every advance(); npos: none.
    std::size_t graded_column = static_cast<std::size_t>(-1);
    std::unique_ptr<homeostasis_state> homeostasis;
    const model_info* info = nullptr;
    std::unique_ptr<neuron_block> block;
};

// Incoming static synapses of one partition, compressed rows by global source id, each row cut
// into segments of equal delay. Per synapse: input slot + weight = 8 bytes; per (source,
// delay) segment 8 bytes; per source 4 bytes.
//   segments of source s:   [row_segment[s], row_segment[s + 1])
//   synapses of segment k:  [segment_begin[k], segment_begin[k + 1]), all of delay segment_delay[k]
struct synapse_store {
    std::vector<std::uint32_t> row_segment;    // n_sources + 1
    std::vector<std::uint32_t> segment_delay;  // [steps] >= 1
    std::vector<std::uint32_t> segment_begin;  // n_segments + 1
    std::vector<std::uint32_t> target;         // input slot in the partition
    std::vector<float> weight;                 // [port weight unit]

    std::size_t n_synapses() const { return target.size(); }
    std::size_t bytes() const {
        return row_segment.size() * 4 + segment_delay.size() * 4 + segment_begin.size() * 4 +
               target.size() * 4 + weight.size() * 4;
    }
};

// Graded coupling (docs/architecture.md): the graded output (an astrocyte's SIC [pA]) of
// every neuron of a model with emits_graded, one column each, in a ring of rows indexed by
// time: row n holds the outputs at t = n*dt, written by the owning partition right after
// step n - 1. Shared by all partitions; each writes only its own neurons' columns, and reads
// only rows written in earlier epochs (a sic delay is at least the epoch length), so there
// are neither locks nor races, and the values read do not depend on the partitioning.
// `rows` >= max sic delay + epoch length + 1: a row is not overwritten while it may be read.
struct graded_buffer {
    std::size_t width = 0;       // graded neurons in the network
    step_t rows = 0;
    std::vector<double> values;  // rows x width
    double* row(step_t n) { return values.data() + static_cast<std::size_t>(n % rows) * width; }
    const double* row(step_t n) const {
        return values.data() + static_cast<std::size_t>(n % rows) * width;
    }
};

// Incoming sic connections of a partition: in step t, target neuron i receives
// sum over its connections of weight * (graded output of the source at t = (t - delay)*dt) as
// external current [pA] (0 for times <= 0). Connections with the same (delay, target,
// source) are merged into one (weights summed in canonical order); the rest are sorted by
// (delay, target, source), which fixes the order of the sum into each target whatever the
// partitioning. Segment k holds the connections of delay segment_delay[k].
struct sic_store {
    std::vector<std::uint32_t> segment_delay;  // [steps] >= 1
    std::vector<std::uint32_t> segment_begin;  // n_segments + 1
    std::vector<std::uint32_t> column;         // graded column of the source
    std::vector<std::uint32_t> neuron;         // partition neuron index of the target
    std::vector<double> weight;                // plain number
    std::vector<neuron_id> source_gid;         // for inspection and hashing

    std::size_t size() const { return weight.size(); }
    bool empty() const { return weight.empty(); }
};

// NEST's poisson_generator: an independent Poisson train into each target neuron.
// The count of target gid in step n comes from the uniform u(gid, n): half (n mod 2) of the
// Philox block (key, gid, n / 2). One block serves two steps; `next_u` keeps the second half.
struct poisson_device {
    std::uint64_t key = 0;         // stream key
    poisson_sampler counts{0.0};   // inversion table for lambda = rate * dt
    double weight = 0;             // per event [port weight unit]
    step_t start = 0, stop = 0;    // active on steps [start, stop)
    std::vector<std::uint32_t> slots;  // input slot of each target
    std::vector<neuron_id> gids;
    std::vector<double> next_u;    // u(gid, 2m + 1) for the block pair m = cached_pair
    step_t cached_pair = -1;
};

// The event steps in [lo, hi) of value `v` with probability p per step in trial `trial_key`:
// independent Bernoulli draws, made as geometric gaps from the stream (key, v, trial_key).
template <typename Emit>
void trial_events(std::uint64_t key, std::uint32_t v, double p, step_t lo, step_t hi,
                  std::uint64_t trial_key, Emit emit) {
    const double pk = p > 1 ? 1.0 : p;
    if (!(pk > 0) || lo >= hi) {
        return;
    }
    if (pk >= 1) {
        for (step_t t = lo; t < hi; ++t) {
            emit(t);
        }
        return;
    }
    rng_stream rng(key, v, trial_key);
    const double inv_log_q = 1.0 / std::log1p(-pk);
    double t = static_cast<double>(lo) + std::floor(std::log(rng.uniform_pos()) * inv_log_q);
    while (t < static_cast<double>(hi)) {
        emit(static_cast<step_t>(t));
        t += 1.0 + std::floor(std::log(rng.uniform_pos()) * inv_log_q);
    }
}

// A trial input (dataset_source): per trial, target k receives `weight` in the steps of its
// events, drawn from the probabilities the protocol sets (trial.hpp). Events of value (pixel)
// k come from the stream (key, k, trial key) as geometric gaps: independent Bernoulli draws
// per step, keyed by the value and the trial, never by the worker or partition.
struct dataset_device {
    std::size_t input = 0;              // index in the experiment's inputs
    std::uint64_t key = 0;
    double weight = 0;                  // per event [port weight unit]
    step_t start = 0, stop = 0;         // active on steps [start, stop) of a trial (from its first)
    std::size_t n_values = 0;           // values per sample (the input's neurons)
    std::vector<std::uint32_t> slots;   // input slot of each target in this partition
    std::vector<std::uint32_t> values;  // ... and the index of its value in a sample
    // This trial's events: offset[t - first] .. offset[t - first + 1] into slot_of_event.
    step_t first = 0;
    std::vector<std::uint32_t> offset;
    std::vector<std::uint32_t> event_slot;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> scratch;  // (step, slot) while drawing

    // Draws the events of steps [now, now + steps) from p (one probability per value of a
    // sample; only this partition's values are read) for trial `trial_key`.
    void draw(std::span<const float> p, step_t now, step_t steps, std::uint64_t trial_key);
    void clear() {
        offset.clear();
        event_slot.clear();
    }
};

// Gaussian current, drawn anew every step for every target.
struct noise_device {
    std::uint64_t key = 0;
    double mean = 0, std = 0;      // [pA]
    step_t start = 0, stop = 0;
    std::vector<std::uint32_t> neurons;  // partition neuron index of each target
    std::vector<neuron_id> gids;
};

// A piecewise-constant current (dc and step generators); its amplitude changes through heap events.
struct current_device {
    double amplitude = 0;                // [pA], current value
    std::vector<std::uint32_t> neurons;  // partition neuron index of each target
};

// Where one report's recorded neurons of this partition go.
struct report_part {
    std::size_t report = 0;
    std::size_t variable = 0;     // index into the model's variables
    step_t start = 0, stop = 0;   // sample steps start, start + interval, ... < stop
    step_t interval = 1;
    std::size_t width = 0;        // columns of the whole report
    struct piece {
        std::size_t block = 0;
        std::vector<std::uint32_t> local;    // block-local neuron indices
        std::vector<std::uint32_t> column;   // column of each in the report
        std::vector<float> scratch;          // sampled values before scattering
    };
    std::vector<piece> pieces;
};

// Frames of one report produced during one epoch: frames [first, first + count).
struct frame_buffer {
    std::size_t first = 0;
    std::size_t count = 0;
    std::vector<float> data;  // count x width
};

class partition {
public:
    neuron_id first_gid = 0;  // the partition holds global ids [first_gid, end_gid)
    neuron_id end_gid = 0;
    std::vector<block_slot> blocks;
    // Immutable once built: the copies of a partition that trials run share it.
    std::shared_ptr<const synapse_store> synapses;
    calendar_queue queue;
    event_heap heap;
    std::vector<poisson_device> poisson;
    std::vector<noise_device> noise;
    std::vector<dataset_device> dataset;
    std::vector<current_device> currents;
    std::vector<report_part> reports;
    // Plastic projections onto this partition; their segments follow the static ones in the
    // calendar queue: block b owns queue ids [plastic_offset[b], plastic_offset[b + 1]).
    std::vector<std::unique_ptr<plastic_block>> plastic;
    std::vector<std::size_t> plastic_projection;  // projection index of each plastic block
    std::vector<slot_map> plastic_targets;        // the target block of each plastic block
    std::vector<std::ptrdiff_t> plastic_modulator;  // modulator index of each (-1: none)
    std::vector<std::uint32_t> plastic_offset;
    post_history history;
    sic_store sic;                     // graded input onto this partition's neurons
    graded_buffer* graded = nullptr;   // the network's; set when any model has graded output

    // Call once after the fields above are filled, with the step the run starts at.
    void finish_setup(step_t now);

    // An independent copy for trials (include/glia/trial.hpp): blocks, queues, devices and
    // plastic state copied; the static synapses and the plastic blocks' synapses shared. The
    // copy reads `graded` and `modulators` (the copy's own, one per network modulator).
    std::unique_ptr<partition> clone(graded_buffer* graded,
                                     std::span<const modulator_history* const> modulators) const;

    // A trial starts at step `now` (trial.cpp): spikes in flight and this epoch's spikes are
    // dropped, the input slots cleared, devices and homeostasis as in `built` (the partition
    // this one was cloned from, never run) with their random draws keyed by the trial too,
    // every plastic block told (begin_trial). Neuron state is the caller's.
    void begin_trial(step_t now, const partition& built, std::uint64_t trial_key);

    // Brings lazily updated blocks to the start of step `now` (before their state is read).
    void catch_up(step_t now);

    // Advance steps [from, to); spikes of these steps collect in spikes(). Samples go to
    // frames[report] (already sized by the caller).
    void run_epoch(step_t from, step_t to, std::vector<frame_buffer>& frames);

    // Route spikes (all partitions', in canonical (step, gid) order) into the calendar queue.
    void route(std::span<const spike_event> spikes);

    std::span<const spike_event> spikes() const { return spikes_; }
    void clear_spikes() { spikes_.clear(); }
    std::uint64_t synaptic_events() const { return events_; }

    std::size_t n_neurons() const { return end_gid - first_gid; }

    // Applies every plastic block's pending updates up to step `now` and prunes the history
    // (periodically during a run, and before weights are read).
    void sweep_plastic(step_t now);
    double value(neuron_id gid, const std::string& variable) const;

    // ---- Checkpoints (src/core/checkpoint.cpp): not used inside a run. ----
    // The spikes with deliveries still queued at the start of step `now`, as (emission step,
    // source gid), appended to `out` unsorted and with repeats.
    void queued_spikes(step_t now, std::vector<spike_event>& out) const;
    // route() for a run resumed at step `now`: pushes only the deliveries due at `now` or
    // later (the earlier ones happened before the checkpoint).
    void route_pending(std::span<const spike_event> spikes, step_t now);
    // Brings a freshly built partition to the start of step `now` of a resumed run: the heap's
    // events before `now` take effect (device amplitudes and their summed current), plastic
    // sweeps fall on the steps they would have had. Neuron, synapse and queue state are
    // restored separately.
    void resume_at(step_t now);
    void set_synaptic_events(std::uint64_t n) { events_ = n; }
    // Input already in the slots of step `now` between epochs (sent by eager plastic blocks
    // for the next step): (gid, port, value) of every nonzero slot, and restoring one.
    void carried_input(std::vector<neuron_id>& gid, std::vector<std::uint32_t>& port,
                       std::vector<double>& value) const;
    void carry_input(neuron_id gid, std::uint32_t port, double value);

private:
    template <bool Pending>
    void route_spikes(std::span<const spike_event> spikes, step_t now);
    void sample(step_t now, std::vector<frame_buffer>& frames);
    void apply_heap_events(step_t now);
    // Adds this step's synaptic input; returns how many slot writes it made.
    std::size_t deliver(step_t now);
    // Adds device input; returns how many slot writes it made.
    std::size_t apply_devices(step_t now);
    // Adds this step's graded (sic) input to current_.
    void apply_sic(step_t now);
    // Zeroes the input slots written in this step and empties the step's bucket.
    void clear_input(step_t now, std::size_t writes);
    // Input slots written by synapses in this step (sorted, unique) -> touched_slots_.
    void collect_touched(step_t now);
    // Advances lazy block b: the neurons among touched_slots_ only.
    void advance_lazy_block(step_t now, block_slot& b, std::span<const double> in);

    std::vector<double> input_;         // spike input slots, cleared after every step
    // With eager plastic blocks: the slots of the next step, which they may write during a
    // step; swapped with input_ when the step ends.
    std::vector<double> input_next_;
    std::vector<double> base_current_;  // [pA] from dc/step devices, per partition neuron
    std::vector<double> current_;       // [pA] base + noise + sic for this step
    bool any_current_ = false;
    std::vector<std::uint32_t> spiked_;  // scratch: block-local spikes of one block
    std::vector<spike_event> spikes_;    // this epoch's spikes, (step, gid) order
    bool poisson_written_ = false;       // a Poisson device wrote slots in this step
    bool dataset_written_ = false;       // ... a dataset device
    std::vector<std::size_t> eager_;     // indices of the eager plastic blocks
    std::vector<std::uint32_t> step_spiked_;  // partition indices of this step's spikes
    bool any_lazy_ = false;
    std::vector<step_t> next_sweep_;  // per plastic block: the step of its next sweep
    step_t history_horizon_ = 0;
    std::uint32_t n_static_segments_ = 0;
    // Calls f(slot) for every input slot that queue entry k writes.
    template <typename F>
    void for_each_slot(std::uint32_t k, F f) const;
    std::vector<step_t> slot_stamp_;            // lazy: last step a slot was touched
    std::vector<std::uint32_t> touched_slots_;  // lazy: slots touched in this step, sorted
    std::vector<std::uint32_t> touched_local_;  // lazy: block-local neurons touched
    std::uint64_t events_ = 0;           // synaptic events delivered so far
};

}  // namespace glia
