#pragma once
// The interface between the engine and neuron models (DESIGN §4).
//
// A model is described by a `model_info` (parameters with units and defaults, recordable state
// variables, spike input ports) and implemented as `neuron_block`s: the struct-of-arrays state of
// a contiguous range of one population's neurons. The engine makes one block per (population,
// partition) and calls it once per step for the whole range: one virtual call per block, never
// per neuron.

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <glia/state_columns.hpp>
#include <glia/types.hpp>
#include <glia/units.hpp>

namespace glia {

// Which values a parameter accepts; checked once, when the experiment is read.
enum class value_range { any, positive, non_negative, unit_interval };

struct param_info {
    std::string name;
    dimension dim = dimension::none;
    double default_value = 0;  // NaN: the parameter is required
    std::string doc;
    value_range range = value_range::any;
    bool per_neuron = false;   // may differ between neurons (a distribution or a list)
    // Non-empty: the parameter is one of these words in configs, stored as its index
    // (e.g. integration: [published, consistent] -> 0 or 1). dim is then dimension::none.
    std::vector<std::string> choices = {};
    // Plasticity rules: the value is in the unit of the projection's weights (mV, pA or nS,
    // set by the target's port); dim is then dimension::none.
    bool weight_unit = false;
    // Plasticity rules: when the projection does not set it, the value of the target
    // population's parameter of the same name if its model has one (it must then be the same
    // for every target neuron), else default_value. E.g. astro_stdp's kernel time constant
    // tau_u follows a nalsm_lif target's.
    bool from_target = false;
    // Modulators: values per parameter (a list of this many numbers, or one number for all),
    // e.g. a nalsm_astrocyte's regions per axis.
    std::size_t components = 1;
};

struct variable_info {
    std::string name;
    dimension dim = dimension::none;
    std::string doc;
};

struct port_info {
    std::string name;
    dimension weight_dim = dimension::none;  // unit of a weight arriving at this port
    std::string doc;
    // Weights outside this range are refused when the experiment is checked (the builder
    // reports the projection or input that sends them), e.g. astrocyte_lr_1994's ip3: >= 0.
    value_range weight_range = value_range::any;
};

struct model_info {
    std::string name;
    std::vector<std::string> aliases;  // other names users know it by (PyNN)
    std::string doc;
    std::vector<param_info> params;
    std::vector<variable_info> variables;  // recordable and initialisable state
    std::vector<port_info> ports;          // spike input ports; none for a pure source
    bool ports_by_sign = false;     // default port: weight >= 0 -> ports[0], weight < 0 -> ports[1]
    bool uses_spike_times = false;  // takes population_spec::spike_times (spike_source_array)
    bool accepts_current = false;   // takes external current from dc/step/noise generators
    bool needs_modulator = false;   // plasticity rules: a three-factor rule (projection.modulator)
    // false: the model never spikes (astrocytes). Its populations cannot be the source of spike
    // synapses, record.spikes or a modulator; their reports are written under /astrocytes.
    bool emits_spikes = true;
    // A graded (continuous) output per neuron and step, read by the engine after every
    // advance() through neuron_block::graded_output and sent through `sic` connections (the
    // slow inward current of astrocytes, in pA): docs/architecture.md, "Graded coupling".
    bool emits_graded = false;

    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
    std::size_t param_index(std::string_view n) const {
        for (std::size_t i = 0; i < params.size(); ++i) {
            if (params[i].name == n) {
                return i;
            }
        }
        return npos;
    }
    std::size_t variable_index(std::string_view n) const {
        for (std::size_t i = 0; i < variables.size(); ++i) {
            if (variables[i].name == n) {
                return i;
            }
        }
        return npos;
    }
    std::size_t port_index(std::string_view n) const {
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (ports[i].name == n) {
                return i;
            }
        }
        return npos;
    }
};

// Values of one population's parameters (or initial state), resolved from defaults,
// constants and distributions. Entry i belongs to params[i] (variables[i]); each entry holds
// one value (the same for every neuron), `size` values (one per neuron), or none (initial
// state left to the model's default).
class value_table {
public:
    value_table() = default;
    explicit value_table(std::size_t n_entries) : entries_(n_entries) {}

    void set(std::size_t i, std::vector<double> values) { entries_.at(i) = std::move(values); }
    bool has(std::size_t i) const { return !entries_.at(i).empty(); }
    bool is_uniform(std::size_t i) const { return entries_.at(i).size() == 1; }
    // The value for neuron k of the population (any k when the entry is uniform).
    double at(std::size_t i, std::size_t k) const {
        const auto& e = entries_[i];
        return e.size() == 1 ? e[0] : e[k];
    }
    double scalar(std::size_t i) const { return entries_.at(i).front(); }
    std::size_t n_entries() const { return entries_.size(); }

private:
    std::vector<std::vector<double>> entries_;
};

struct block_args {
    const model_info& info;
    const value_table& params;   // one entry per info.params; never empty
    const value_table& initial;  // one entry per info.variables; empty entries: model default
    std::size_t first = 0;       // the block holds population neurons [first, first + count)
    std::size_t count = 0;
    neuron_id first_gid = 0;     // global id of population neuron `first`
    double dt = 0.1;             // [ms]
    std::uint64_t seed = 0;      // master seed; sources key their draws by global id and step
    std::span<const std::vector<step_t>> spike_steps;  // spike_source_array: whole population
};

// The values of column `v` at the block-local indices `local`, as floats (the usual
// neuron_block::sample of a model whose state is one std::vector<double> per variable).
inline void sample_column(std::span<const double> v, std::span<const std::uint32_t> local,
                          std::span<float> out) {
    for (std::size_t k = 0; k < local.size(); ++k) {
        out[k] = static_cast<float>(v[local[k]]);
    }
}

class neuron_block {
public:
    virtual ~neuron_block() = default;

    // Advance every neuron of the block over step `now`, from t = now*dt to (now+1)*dt.
    //   input:   spike input delivered in this step, ports().size() values per neuron, neuron
    //            major, in the ports' weight units (the engine clears it afterwards);
    //   current: external current [pA] per neuron during this step, or empty if there is none;
    //   spiked:  receives the block-local index of every neuron that spiked at the end of the
    //            step, in ascending order. A spike of step n has time (n+1)*dt.
    virtual void advance(step_t now, std::span<const double> input, std::span<const double> current,
                         std::vector<std::uint32_t>& spiked) = 0;

    // Copy variable `var` of the given block-local neurons into `out`, one value each.
    virtual void sample(std::size_t var, std::span<const std::uint32_t> local,
                        std::span<float> out) const = 0;

    // One value at full precision (tests, inspection).
    virtual double value(std::size_t var, std::uint32_t local) const = 0;

    // ---- Event-driven ("lazy") update, for models solved exactly between inputs. ----
    // A block may offer it when, with its parameters, a neuron cannot reach threshold without
    // input (exact LIF whose resting level E_L + R I_e lies below V_th). The engine then calls
    // advance_touched() for the neurons that received input in a step, and nobody else: an
    // idle neuron costs nothing. State is brought up to date before it is read (catch_up).
    // Mode rule: V after an update equals the clock-driven V up to rounding (the decay over k
    // idle steps is one power instead of k products), so spikes are the same unless V lands
    // within rounding of V_th; docs/architecture.md states it, tests check it.
    virtual bool can_update_lazily() const { return false; }
    // From step `now` on, the engine calls advance_touched() instead of advance().
    virtual void use_lazy_updates(step_t /*now*/) {}
    //   touched: block-local indices of the neurons with input in this step, ascending, once
    //   each; input as for advance(). Appends spiking neurons (ascending) to `spiked`.
    virtual void advance_touched(step_t /*now*/, std::span<const std::uint32_t> /*touched*/,
                                 std::span<const double> /*input*/,
                                 std::vector<std::uint32_t>& /*spiked*/) {}
    // Brings every neuron to the start of step `now` (before sampling and inspection).
    virtual void catch_up(step_t /*now*/) {}

    // ---- Graded output, for models with model_info::emits_graded. ----
    // Called by the engine right after advance(now): writes the output of every neuron of the
    // block at time (now + 1)*dt, the end of the step (out has one entry per neuron, block
    // order). For astrocytes: the slow inward current [pA] that `sic` connections carry.
    virtual void graded_output(std::span<double> /*out*/) const {}

    // ---- Checkpoints (docs/architecture.md, "Checkpoint and resume"). ----
    // save_state: the block's dynamic state at the start of step `now` (steps before it done)
    // as columns of one value per neuron, block order: everything advance() reads that is not
    // a function of the parameters, the step and the seed. Lazily updated blocks save without
    // catching up, so that the resumed run repeats the uninterrupted one bit for bit.
    // load_state: restores it at step `now` into a freshly made block (after
    // use_lazy_updates() if the block is lazy: the engine may choose the other update mode
    // than the block that saved, with another partitioning). Stateless models (sources whose
    // draws are keyed by step) save nothing. Throws glia::error on a missing column.
    virtual void save_state(step_t now, state_columns& out) const = 0;
    virtual void load_state(step_t now, const state_columns& in) = 0;

    // ---- Trials (include/glia/trial.hpp). ----
    // An independent copy of the block, state included: the engine runs several copies of one
    // network side by side (one per worker), each starting its trials from saved states.
    virtual std::unique_ptr<neuron_block> clone() const = 0;
};

// A model: its description, its cross-parameter checks and how to make its blocks.
struct neuron_model {
    model_info info;
    // Checks that involve several parameters (V_reset < V_th, ...); throws glia::error with a
    // message that names the parameters. Per-value range checks are done before, generically.
    void (*validate)(const value_table& params, std::size_t size) = nullptr;
    std::unique_ptr<neuron_block> (*make_block)(const block_args& args) = nullptr;
};

}  // namespace glia
