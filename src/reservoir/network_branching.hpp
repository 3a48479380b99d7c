#pragma once
// The branching factor of a network run (`metrics.branching_factor` of an experiment file;
// NALSM's definition, science-spec §1.8, evaluated by branching.hpp): the spikes of the chosen
// populations, counted in bins, and the synapses among those populations.
//
// Bins: a spike emitted in step s has the time t = (s + 1) dt (as in the output file) and falls
// in bin floor(t / bin). Spikes with start <= t < stop are kept. With D = delta_t / bin bins,
// each kept spike of neuron n in bin k with start/bin + D <= k < stop/bin - D gives
//   pre  = kept spikes of n's presynaptic neurons in bins [k - D, k)
//   post = kept spikes of n's postsynaptic neurons in bins [k + 1, k + D + 1)
//   bf   = post / max(pre, 1);
// a neuron's bf is the mean over its evaluated spikes, and the value the mean over the neurons
// that have any (NaN if none has). With bin = dt = 1 ms, delta_t = 4 ms this is NALSM's
// computation on one sample (there: steps kept in [25, 225) of 250).
//
// Connectivity: every spike synapse, static or plastic, whatever its weight and sign, whose
// source and target both belong to the chosen populations. A pair of neurons joined by several
// synapses (multapses, several delays) counts once: "n's presynaptic neurons" is a set. An
// autapse makes a neuron its own pre- and postsynaptic neuron. Synapses from populations not
// chosen (inputs, as NALSM leaves out its input neurons) and sic connections do not count.
//
// Memory: 8 bytes per kept spike while the run goes on (no other spikes are held); then 8 bytes
// per synapse among the chosen populations (before multapses merge), 16 per connected pair and
// 8 per kept spike while measuring.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <glia/recording.hpp>
#include <glia/simulation.hpp>
#include <glia/spec.hpp>
#include <glia/types.hpp>

#include "reservoir/branching.hpp"

namespace glia::reservoir {

struct branching_measurement {
    branching_result result;               // value, evaluated spikes and neurons, sums of pre/post
    std::vector<std::string> populations;  // the chosen ones, in the order given
    std::uint64_t n_neurons = 0;           // neurons of the chosen populations
    std::uint64_t kept_spikes = 0;         // spikes at times in [start, stop)
    std::uint64_t connected_pairs = 0;     // (pre, post) neuron pairs with a synapse
    double bin = 0;                        // [ms]
    double delta_t = 0;                    // [ms]
    double start = 0;                      // [ms] the kept window [start, stop)
    double stop = 0;                       // [ms] (the resolved end, never infinite)
    std::uint64_t evaluated_bins = 0;      // bins in [start + delta_t, stop - delta_t)
};

class network_branching {
public:
    // Lowers spec.metrics.branching_factor (checked by the loader) against the experiment's
    // populations (global ids in file order), dt and duration. internal_error when it is not
    // enabled or names an unknown population.
    explicit network_branching(const experiment_spec& spec);

    // Spikes of the run, in any order and of any population: those of the chosen populations
    // inside the window are kept, the rest dropped. For run_control::on_spikes.
    void add_spikes(std::span<const spike_event> spikes);

    // Spikes of chosen population `population` (its name) read back from an output file: times
    // [ms] as written ((step + 1) dt) and population-local ids; only those emitted before step
    // `before` are taken (a resumed run feeds the rest through add_spikes).
    void add_recorded_spikes(const std::string& population, std::span<const double> times,
                             std::span<const std::uint64_t> node_ids, step_t before);

    // Synapses (global ids), e.g. simulation::static_synapses() and simulation::weights(p);
    // those not among the chosen populations are ignored.
    void add_synapses(std::span<const synapse_weight> synapses);

    // The branching factor of what was added so far (sorts the synapse pairs in place; more
    // may be added afterwards).
    branching_measurement measure();

    const std::vector<std::string>& populations() const { return names_; }
    // The first step whose spike is kept: a run resumed after it misses spikes.
    step_t first_kept_step() const { return first_time_step_ - 1; }

private:
    // The chosen populations' global ids [first_gid, end_gid) map to metric indices from offset.
    struct range {
        neuron_id first_gid = 0;
        neuron_id end_gid = 0;
        std::uint32_t offset = 0;
    };
    // The metric index of global id `gid`, or npos when it is not chosen.
    static constexpr std::uint32_t npos = 0xffffffffu;
    std::uint32_t index_of(neuron_id gid) const {
        for (const range& r: ranges_) {
            if (gid >= r.first_gid && gid < r.end_gid) {
                return r.offset + (gid - r.first_gid);
            }
        }
        return npos;
    }

    std::vector<std::string> names_;
    std::vector<range> ranges_;  // in the order of names_
    std::uint32_t n_ = 0;        // neurons of the chosen populations
    double dt_ = 0;              // [ms]
    double bin_ms_ = 0, delta_t_ms_ = 0;
    step_t bin_steps_ = 1;
    std::uint32_t start_bin_ = 0, stop_bin_ = 0, delta_bins_ = 0;
    step_t first_time_step_ = 0;  // spikes with (step + 1) in [first, end) are kept
    step_t end_time_step_ = 0;
    std::vector<std::uint32_t> bin_;     // per kept spike: its bin
    std::vector<std::uint32_t> neuron_;  // per kept spike: its metric index
    std::vector<std::uint64_t> pairs_;   // (pre << 32) | post, metric indices, unsorted
};

}  // namespace glia::reservoir
