#pragma once
// The interface between the engine and synaptic plasticity rules (DESIGN §4).
//
// A plastic projection is stored, in every partition, as a `plastic_block` that owns the
// projection's synapses onto the partition's neurons: compressed rows by presynaptic global id,
// each row cut into segments of equal delay (one presynaptic spike train, one delay: so the
// presynaptic side of a rule, its trace and last arrival, is per segment), and per-synapse
// state in struct-of-arrays form. The engine calls the block once per delivered segment, never
// per synapse: the block applies its rule to the segment's synapses and adds their (updated)
// weights to the input slots, in the segment's canonical order.
//
// Timing (NEST's stdp_synapse, "dendritic" convention by default): a presynaptic spike emitted
// in step s reaches the synapse at step s + D_ax and the soma at s + D (D = D_ax + D_dend, the
// synapse's delay); a postsynaptic spike emitted in step p reaches the synapse at p + D_dend.
// Rules process events lazily, at presynaptic deliveries and at periodic sweeps, in the order
// of their times at the synapse, as NEST does.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <glia/model.hpp>
#include <glia/modulator.hpp>
#include <glia/state_columns.hpp>
#include <glia/types.hpp>

namespace glia {

// Recent spikes of the partition's neurons, for rules that pair pre and post spikes.
// Spikes older than the horizon are forgotten; rules sweep (apply what depends on them) before.
class spike_history {
public:
    virtual ~spike_history() = default;
    // Emission steps of partition neuron `neuron`, ascending (within the horizon).
    virtual std::span<const step_t> spikes(std::uint32_t neuron) const = 0;
};

// Where a plastic block's synapses point: input slot -> partition neuron index.
struct slot_map {
    std::size_t input_offset = 0;   // first slot of the target block
    std::size_t n_ports = 1;
    std::size_t neuron_offset = 0;  // partition index of the target block's first neuron
    std::size_t count = 0;          // neurons in the target block
    std::uint32_t neuron(std::uint32_t slot) const {
        return static_cast<std::uint32_t>((slot - input_offset) / n_ports + neuron_offset);
    }
};

// The synapses of one plastic projection onto one partition, as the builder hands them over:
// rows by global source id, cut into delay segments (as synapse_store), synapse order canonical.
struct plastic_synapses {
    std::vector<std::uint32_t> row_segment;    // n_sources + 1
    std::vector<std::uint32_t> segment_delay;  // [steps] >= 1
    std::vector<std::uint32_t> segment_begin;  // n_segments + 1
    std::vector<std::uint32_t> slot;           // input slot of each synapse
    std::vector<double> weight;                // initial weights [port weight unit]
    std::vector<neuron_id> target_gid;         // global id of each synapse's target

    // The longest segment delay [steps] (1 without segments).
    step_t max_delay() const {
        step_t m = 1;
        for (std::uint32_t d: segment_delay) {
            m = std::max<step_t>(m, d);
        }
        return m;
    }
    // Per synapse, the partition index of its target neuron (for spike_history::spikes).
    std::vector<std::uint32_t> target_neurons(const slot_map& targets) const {
        std::vector<std::uint32_t> out(slot.size());
        for (std::size_t i = 0; i < slot.size(); ++i) {
            out[i] = targets.neuron(slot[i]);
        }
        return out;
    }
};

// The sweep interval of the pair-based rules: 50 ms in steps (at least one), short enough to
// keep the post-spike history small, long enough that sweeps cost little.
inline step_t pair_rule_sweep_interval(double dt) {
    return std::max<step_t>(1, static_cast<step_t>(std::llround(50.0 / dt)));
}

struct plastic_block_args {
    const model_info& info;           // the rule's parameters as a model_info (params only)
    const value_table& params;        // resolved, one value each (rules are homogeneous)
    // The synapses: immutable once built and shared by every copy of the block (trials run
    // several copies of one network, include/glia/trial.hpp).
    std::shared_ptr<const plastic_synapses> synapses;
    slot_map targets;
    const spike_history* post = nullptr;  // the partition's spike history
    double dt = 0.1;                      // [ms]
    const modulator_history* modulator = nullptr;  // three-factor rules: the modulator
};

class plastic_block {
public:
    virtual ~plastic_block() = default;

    const plastic_synapses& synapses() const { return *syn_; }
    // Current weights in synapse order (after sweep(now)).
    std::span<const double> weights() const { return w_; }

    // Segment `segment` of a spike emitted in step now - delay reaches the soma in step `now`:
    // apply the rule to its synapses and add their weights to `input`. Returns the synapse count.
    virtual std::size_t deliver(std::uint32_t segment, step_t now, std::span<double> input) = 0;

    // Apply the updates that are due at the start of step `now`: every pending update that
    // depends on spikes older than `now` - horizon (so that the history may forget them), and
    // any periodic update of the rule. Called at the steps that are multiples of
    // sweep_interval(), and before weights are read (then `now` need not be a multiple: a rule
    // with periodic updates applies them only at multiples).
    virtual void sweep(step_t now) = 0;
    virtual step_t sweep_interval() const = 0;

    // Neurons whose spikes the rule needs in the history (all the block's targets, usually).
    virtual bool needs_post_history() const { return true; }

    // Steps of history a rule needs behind `now` (the engine keeps at least that much).
    virtual step_t history_horizon() const = 0;

    // ---- Eager rules: updates in the step they belong to, not at the next delivery. ----
    // A rule whose effect on the targets depends on its weights between presynaptic spikes
    // (NALSM's synaptic kernel reads the current weight every step) cannot wait for the next
    // delivery to apply a postsynaptic update. The engine calls an eager block every step:
    //   begin_step(now, input, next)  before the calendar bucket of step `now` is walked: the
    //                               block may add input to its targets' slots in this step
    //                               (`input`) and, until the step ends, in the next (`next`:
    //                               valid for deliver() and post_spikes() of this step);
    //   post_spikes(now, neurons)   after every block of the partition advanced through step
    //                               `now`: the partition indices (ascending) of the neurons that
    //                               spiked in it, all of them (the block picks its targets).
    virtual bool eager() const { return false; }
    virtual void begin_step(step_t /*now*/, std::span<double> /*input*/,
                            std::span<double> /*next*/) {}
    virtual void post_spikes(step_t /*now*/, std::span<const std::uint32_t> /*neurons*/) {}

    // ---- Trials (include/glia/trial.hpp). ----
    // A trial (one sample of a protocol) starts at step `now`: reset what a sample reset
    // resets and is not saved state (a synaptic kernel, a learning rate schedule counted from
    // the trial start). Weights and traces continue as loaded.
    virtual void begin_trial(step_t /*now*/) {}
    // An independent copy, state included, reading another partition's spike history and
    // another copy of the network's modulators; the synapses stay shared.
    virtual std::unique_ptr<plastic_block> clone(const spike_history* post,
                                                 const modulator_history* modulator) const = 0;

    // Checkpoints (docs/architecture.md, "Checkpoint and resume"): the rule's dynamic state
    // (weights included) between steps, without sweeping first. per_segment: one value per
    // delay segment, in segment order; per_synapse: one per synapse, in synapse order (the
    // weights as column "weight"); per_block: one value each, the same in every partition (a
    // function of time, such as the step of the last periodic update); per_target: one value
    // per neuron of the target block (block order). The engine keys segments by (source,
    // delay), synapses by their canonical order and targets by global id, so the state loads
    // into another partitioning.
    virtual void save_state(state_columns& per_segment, state_columns& per_synapse,
                            state_columns& per_block, state_columns& per_target) const = 0;
    virtual void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                            const state_columns& per_block, const state_columns& per_target) = 0;

    // Bytes of per-copy state (weights and rule state; the shared synapses not counted).
    virtual std::size_t state_bytes() const { return w_.size() * sizeof(double); }

protected:
    explicit plastic_block(std::shared_ptr<const plastic_synapses> s) :
        syn_(std::move(s)), w_(syn_->weight) {}
    std::shared_ptr<const plastic_synapses> syn_;
    std::vector<double> w_;  // current weights, synapse order [port weight unit]
};

// A plasticity rule: its parameters (reusing model_info's parameter schema) and its factory.
struct synapse_model {
    model_info info;  // name, aliases, doc, params; variables/ports unused
    // Cross-parameter checks; throws glia::error.
    void (*validate)(const value_table& params) = nullptr;
    std::unique_ptr<plastic_block> (*make_block)(plastic_block_args args) = nullptr;
    // With info.needs_modulator: what the rule reads of its modulator (a modulator model
    // provides one or the other, modulator.hpp).
    modulator_output reads = modulator_output::events;
    // With info.needs_modulator: whether these parameters leave the modulator unread (so
    // that a projection may omit it: astro_stdp in its symmetric and frozen modes); nullptr:
    // always read.
    bool (*ignores_modulator)(const value_table& params) = nullptr;
};

}  // namespace glia
