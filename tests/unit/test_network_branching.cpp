// The branching factor of a network run (src/reservoir/network_branching.hpp): the chosen
// populations' spikes binned and windowed, the synapses among them as a set of pairs, compared
// with the definition evaluated directly (tests/branching_reference.hpp); bin edges; batches,
// order and spikes read back from a file (a resumed run) change nothing.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/recording.hpp>
#include <glia/simulation.hpp>
#include <glia/spec.hpp>

#include "reservoir/branching.hpp"

#include "branching_reference.hpp"
#include "reservoir/network_branching.hpp"

namespace {

using glia::neuron_id;
using glia::spike_event;
using glia::step_t;
using glia::synapse_weight;
using glia::reservoir::network_branching;
using glia::test::binned_spike;

// Populations in (gids 0-1), exc (2-4), inh (5-6); dt 0.1 ms, 50 ms. The metric takes inh and
// exc, in that order: metric indices inh 0-1, exc 2-4. Bins of 0.5 ms (5 steps), delta_t 1.5 ms
// (3 bins), window [5, 45) ms = bins [10, 90).
glia::experiment_spec experiment() {
    glia::experiment_spec spec;
    spec.simulation.dt = 0.1;
    spec.simulation.duration = 50.0;
    for (const auto& [name, size]: {std::pair<const char*, std::size_t>{"in", 2}, {"exc", 3},
                                    {"inh", 2}}) {
        glia::population_spec p;
        p.name = name;
        p.size = size;
        spec.populations.push_back(p);
    }
    auto& bf = spec.metrics.branching_factor;
    bf.enabled = true;
    bf.populations = {"inh", "exc"};
    bf.bin = 0.5;
    bf.delta_t = 1.5;
    bf.start = 5.0;
    bf.stop = 45.0;
    return spec;
}
constexpr step_t bin_steps = 5;
constexpr std::uint32_t start_bin = 10, stop_bin = 90, D = 3;

// The metric index of a global id (npos: not chosen).
constexpr std::uint32_t npos = 0xffffffffu;
std::uint32_t metric_index(neuron_id gid) {
    if (gid >= 5) {
        return gid - 5;
    }
    return gid >= 2 ? gid : npos;
}

std::uint64_t mix(std::uint64_t x) {  // SplitMix64's finaliser: a fixed pseudo-random raster
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Every neuron spikes in about one step in eight, in (step, gid) order as a run emits them.
std::vector<spike_event> raster() {
    std::vector<spike_event> out;
    for (step_t s = 0; s < 500; ++s) {
        for (neuron_id g = 0; g < 7; ++g) {
            if (mix(static_cast<std::uint64_t>(s) * 7 + g) % 8 == 0) {
                out.push_back(spike_event{s, g});
            }
        }
    }
    return out;
}

// exc 2 -> 3 twice (a multapse), 3 -> 3 (an autapse), 3 -> 4 with two delays, exc -> inh,
// inh -> exc (negative weights count like any other); in -> exc is outside the chosen ones.
std::vector<synapse_weight> synapses() {
    return {{0, 2, 10, 1.0},  {1, 3, 10, 1.0},  {2, 3, 10, 1.0},  {2, 3, 10, 1.0},
            {2, 5, 20, 0.5},  {3, 3, 10, 1.0},  {3, 4, 10, 1.0},  {3, 4, 30, 1.0},
            {4, 6, 10, 0.5},  {5, 2, 10, -2.0}, {5, 4, 10, -2.0}, {6, 3, 10, -2.0},
            {6, 5, 10, -2.0}, {2, 3, 40, 0.0}};
}

std::set<std::pair<std::uint32_t, std::uint32_t>> pairs_of(const std::vector<synapse_weight>& syn) {
    std::set<std::pair<std::uint32_t, std::uint32_t>> out;
    for (const auto& s: syn) {
        if (metric_index(s.source) != npos && metric_index(s.target) != npos) {
            out.insert({metric_index(s.source), metric_index(s.target)});
        }
    }
    return out;
}

// The run's spikes as the reference sees them: bin of the spike time (step + 1) dt.
std::vector<binned_spike> binned(const std::vector<spike_event>& spikes) {
    std::vector<binned_spike> out;
    for (const auto& s: spikes) {
        if (metric_index(s.gid) != npos) {
            out.push_back({static_cast<std::uint32_t>((s.step + 1) / bin_steps),
                           metric_index(s.gid)});
        }
    }
    return out;
}

TEST(network_branching, equals_the_definition_on_a_pseudo_random_raster) {
    const auto spec = experiment();
    const auto spikes = raster();
    const auto syn = synapses();
    network_branching b(spec);
    b.add_spikes(spikes);
    b.add_synapses(syn);
    const auto m = b.measure();

    const auto pairs = pairs_of(syn);
    const auto expected =
        glia::test::branching_reference(binned(spikes), pairs, 5, start_bin, stop_bin, D);
    ASSERT_GT(expected.spikes, 100u);
    EXPECT_DOUBLE_EQ(m.result.value, expected.value);
    EXPECT_EQ(m.result.spikes, expected.spikes);
    EXPECT_EQ(m.result.neurons, expected.neurons);
    EXPECT_EQ(m.connected_pairs, pairs.size());
    std::size_t kept = 0;
    for (const auto& s: binned(spikes)) {
        kept += s.bin >= start_bin && s.bin < stop_bin ? 1 : 0;
    }
    EXPECT_EQ(m.kept_spikes, kept);
    EXPECT_EQ(m.n_neurons, 5u);
    EXPECT_EQ(m.populations, (std::vector<std::string>{"inh", "exc"}));
    EXPECT_EQ(m.bin, 0.5);
    EXPECT_EQ(m.delta_t, 1.5);
    EXPECT_EQ(m.start, 5.0);
    EXPECT_EQ(m.stop, 45.0);
    EXPECT_EQ(m.evaluated_bins, stop_bin - start_bin - 2 * D);
}

TEST(network_branching, batches_order_and_spikes_read_back_change_nothing) {
    const auto spec = experiment();
    const auto spikes = raster();
    network_branching whole(spec);
    whole.add_spikes(spikes);
    whole.add_synapses(synapses());
    const auto reference = whole.measure();

    // One epoch at a time, synapses in reverse order.
    network_branching epochs(spec);
    for (std::size_t i = 0; i < spikes.size(); i += 7) {
        epochs.add_spikes(std::span(spikes).subspan(i, std::min<std::size_t>(7, spikes.size() - i)));
    }
    auto reversed = synapses();
    std::reverse(reversed.begin(), reversed.end());
    epochs.add_synapses(reversed);
    const auto m = epochs.measure();
    EXPECT_EQ(m.result.value, reference.result.value);
    EXPECT_EQ(m.connected_pairs, reference.connected_pairs);

    // A run resumed at step 230: the earlier spikes of each chosen population come from the
    // output file (times (step + 1) dt in ms, local ids), the later ones from the run.
    constexpr step_t resume = 230;
    network_branching resumed(spec);
    for (const auto& [name, first]: {std::pair<const char*, neuron_id>{"inh", 5}, {"exc", 2}}) {
        std::vector<double> times;
        std::vector<std::uint64_t> ids;
        for (const auto& s: spikes) {  // the file holds them all by then
            const neuron_id end = first + (first == 5 ? 2 : 3);
            if (s.gid >= first && s.gid < end) {
                times.push_back(static_cast<double>(s.step + 1) * 0.1);
                ids.push_back(s.gid - first);
            }
        }
        resumed.add_recorded_spikes(name, times, ids, resume);
    }
    std::vector<spike_event> after;
    for (const auto& s: spikes) {
        if (s.step >= resume) {
            after.push_back(s);
        }
    }
    resumed.add_spikes(after);
    resumed.add_synapses(synapses());
    const auto r = resumed.measure();
    EXPECT_EQ(r.kept_spikes, reference.kept_spikes);
    EXPECT_EQ(r.result.value, reference.result.value);
}

TEST(network_branching, keeps_spikes_by_their_time_on_the_bin_grid) {
    network_branching b(experiment());
    // Time (step + 1) dt: step 49 is at 5.0 ms (kept, bin 10); step 48 at 4.9 ms (not);
    // step 448 at 44.9 ms (kept, bin 89); step 449 at 45.0 ms (not). Other populations never.
    b.add_spikes(std::vector<spike_event>{{48, 2}, {49, 2}, {49, 0}, {448, 6}, {449, 6}});
    const auto m = b.measure();
    EXPECT_EQ(m.kept_spikes, 2u);
    EXPECT_EQ(m.result.spikes, 0u);  // neither is inside [start + delta_t, stop - delta_t)
    EXPECT_TRUE(std::isnan(m.result.value));
    EXPECT_EQ(m.connected_pairs, 0u);
}

TEST(network_branching, stop_at_infinity_is_the_last_whole_bin_of_the_run) {
    auto spec = experiment();
    spec.simulation.duration = 49.8;  // 498 steps: 99 whole bins of 5 steps
    spec.metrics.branching_factor.stop = glia::infinity;
    network_branching b(spec);
    b.add_spikes(std::vector<spike_event>{{493, 2}, {494, 3}, {495, 4}});  // 49.4, 49.5, 49.6 ms
    const auto m = b.measure();
    EXPECT_EQ(m.stop, 49.5);
    EXPECT_EQ(m.kept_spikes, 1u);
}

TEST(network_branching, refuses_a_spec_without_the_metric) {
    auto spec = experiment();
    spec.metrics.branching_factor.enabled = false;
    EXPECT_THROW(network_branching{spec}, glia::internal_error);
    spec = experiment();
    spec.metrics.branching_factor.populations = {"exd"};
    EXPECT_THROW(network_branching{spec}, glia::internal_error);
}

}  // namespace

namespace glia::reservoir {
namespace {

// NALSM's branching factor (science-spec §1.8) on a hand-made raster of a chain 0 -> 1 -> 2.
TEST(branching_factor, hand_made_raster_on_a_chain) {
    const std::vector<std::uint32_t> in_offset = {0, 0, 1, 2}, in_pre = {0, 1};
    const std::vector<std::uint32_t> out_offset = {0, 1, 2, 2}, out_post = {1, 2};
    const adjacency g{in_offset, in_pre, out_offset, out_post};
    // neuron 0: 26 (kept, too early to be evaluated), 47, 48
    // neuron 1: 29, 50
    // neuron 2: 10 (outside the kept window), 51, 53, 55
    const std::vector<std::uint32_t> step = {26, 47, 48, 29, 50, 10, 51, 53, 55};
    const std::vector<std::uint32_t> neuron = {0, 0, 0, 1, 1, 2, 2, 2, 2};
    // neuron 0 at 47: pre 0 -> 1, post (1 in [48, 52)) = 1 -> 1; at 48: post (1 in [49, 53)) = 1
    //   -> neuron 0: 1.
    // neuron 1 at 29: pre (0 in [25, 29)) = 1, post (2 in [30, 34)) = 0 -> 0;
    //   at 50: pre (0 in [46, 50)) = 2, post (2 in [51, 55)) = 2 -> 1. Neuron 1: 0.5.
    // neuron 2 at 51: pre (1 in [47, 51)) = 1, post none -> 0; 53, 55 -> 0. Neuron 2: 0.
    EXPECT_DOUBLE_EQ(branching_factor(g, 3, step, neuron), (1.0 + 0.5 + 0.0) / 3.0);
    // Silent raster: NaN. Neurons beyond n are ignored.
    EXPECT_TRUE(std::isnan(branching_factor(g, 3, std::vector<std::uint32_t>{},
                                            std::vector<std::uint32_t>{})));
    const std::vector<std::uint32_t> s2 = {50}, n2 = {7};
    EXPECT_TRUE(std::isnan(branching_factor(g, 3, s2, n2)));
    // Inconsistent input is an error.
    EXPECT_THROW(branching_factor(g, 4, step, neuron), glia::error);
    EXPECT_THROW(branching_factor(g, 3, step, n2), glia::error);
}

}  // namespace
}  // namespace glia::reservoir
