#pragma once
// The interface between the engine and neuromodulator models (DESIGN §4): what three-factor
// and astrocyte-modulated plasticity rules read besides pre and post spikes.
//
// A modulator model is described like a neuron model (model_info: parameters with units and
// defaults) plus the population lists it reads (`roles`, e.g. a nalsm_astrocyte's excite and
// inhibit) and whether it takes scripted events. The engine makes one modulator_block per
// modulator of an experiment (per worker when trials run side by side), hands it the spikes of
// every epoch in canonical (step, gid) order between epochs, and gives plastic blocks read
// access to its modulator_history. Models are registered in models/register_models.cpp like
// neurons: adding one touches no loader, builder or engine file.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <glia/model.hpp>
#include <glia/recording.hpp>
#include <glia/spec.hpp>
#include <glia/state_columns.hpp>
#include <glia/types.hpp>

namespace glia {

// What a modulator offers the rules that read it.
enum class modulator_output {
    events,  // a sequence of (time, amount) events (NEST's volume transmitter)
    level,   // a value per step and region (NALSM's astrocyte A(t))
};

// What rules read. Every value before `complete_until` (events) or `level_end()` (levels) is
// final; the engine exchanges spikes often enough (modulator_block::latency) that a rule never
// needs one that is not.
struct modulator_history {
    // Events, in event time: a spike of step n happens at n + 1, plus the modulator's delay.
    std::vector<step_t> times;   // ascending
    std::vector<double> amounts;
    step_t complete_until = 0;   // event times < complete_until are all in the history

    // Levels: level_at(t, r) is the level of region r at time t*dt, i.e. during step t, from
    // the spikes of times < t (emission steps < t - 1). Kept for t in [level_first, level_end()).
    std::size_t n_regions = 1;
    step_t level_first = 0;
    std::vector<double> level;  // (t - level_first) * n_regions + r
    // The region of each global id's neuron (empty: every neuron is in region 0). Rules look
    // up the regions of their targets once.
    std::shared_ptr<const std::vector<std::uint32_t>> region_of;

    step_t level_end() const {
        return level_first + static_cast<step_t>(level.size() / n_regions);
    }
    double level_at(step_t t, std::uint32_t region = 0) const {
        return level[static_cast<std::size_t>(t - level_first) * n_regions + region];
    }
    std::uint32_t region(neuron_id gid) const {
        return region_of && !region_of->empty() ? (*region_of)[gid] : 0;
    }
};

// A population a modulator reads, as the builder resolved it.
struct population_ref {
    std::string name;
    neuron_id first_gid = 0;
    std::size_t size = 0;
    // 3-D positions of its neurons (population `positions`), empty when it has none.
    std::span<const position> positions;
};

struct modulator_args {
    const model_info& info;
    // One entry per info.params, each holding one value, or as many as the parameter's
    // `components` (e.g. a nalsm_astrocyte's regions per axis).
    const value_table& params;
    std::vector<std::vector<population_ref>> roles;  // one list per modulator_model::roles
    std::span<const double> times;    // scripted events [ms] (models with takes_events)
    std::span<const double> amounts;
    double dt = 0.1;          // [ms]
    std::uint64_t seed = 0;   // master seed
    std::size_t index = 0;    // the modulator's index in the experiment (keys its draws)
    std::size_t n_neurons = 0;  // global ids are [0, n_neurons)
};

class modulator_block {
public:
    virtual ~modulator_block() = default;

    const modulator_history& history() const { return history_; }

    // Between epochs, in order: the spikes of every population emitted in steps [from, to),
    // in (step, gid) order. Afterwards the history is complete as far as the model's latency
    // allows (complete_until / level_end() >= to + latency()).
    virtual void advance(step_t from, step_t to, std::span<const spike_event> spikes) = 0;

    // The fewest steps between the emission of a spike and the first step at which a rule may
    // read its effect: epochs are at most this long.
    virtual step_t latency() const = 0;

    // A trial starts at step `now`: the state becomes the initial one, with the clock at `now`.
    virtual void begin_trial(step_t now) = 0;

    // A value per step for the output (a level: NALSM's A(t), written to
    // /astrocytes/<name>/A); empty for models without one. Row-major steps x regions, from
    // step level_first.
    virtual bool records_level() const { return false; }

    // Checkpoints: the dynamic state (history included) as named columns.
    virtual void save_state(state_columns& out) const = 0;
    virtual void load_state(const state_columns& in) = 0;

    virtual std::unique_ptr<modulator_block> clone() const = 0;

protected:
    modulator_history history_;
};

struct modulator_role {
    std::string name;  // the key of the population list in a config
    std::string doc;
};

struct modulator_model {
    model_info info;  // name, aliases, doc, params; variables and ports unused
    std::vector<modulator_role> roles;  // the population lists it reads
    bool takes_events = false;          // scripted events: `times` and `amounts`
    modulator_output output = modulator_output::events;
    // Checks that involve several parameters or roles; throws glia::error.
    void (*validate)(const value_table& params,
                     std::span<const std::vector<std::string>> roles) = nullptr;
    std::unique_ptr<modulator_block> (*make_block)(const modulator_args& args) = nullptr;
};

}  // namespace glia
