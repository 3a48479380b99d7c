// Delays: a spike emitted in step t through a synapse of delay d is delivered in step t + d,
// exactly, for every d from 1 step to 1000 ms, across many wrap-arounds of the calendar ring,
// and for several synapses between one pair with different delays.

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;

namespace {

// One source spiking at the given steps; target k is reached through a synapse of delay
// delays[k] steps. Targets spike in the step the input arrives (weight 1 mV, threshold 0.5 mV,
// no refractoriness), so their spike steps are the delivery steps.
std::map<neuron_id, std::set<step_t>> delivery_steps(const std::vector<step_t>& source_steps,
                                                     const std::vector<step_t>& delays,
                                                     int partitions) {
    const double dt = 0.1;
    auto e = test::experiment(dt, 0.0);
    auto src = test::population("src", "spike_source_array", 1);
    src.spike_times.emplace_back();
    for (step_t s: source_steps) {
        src.spike_times[0].push_back(static_cast<double>(s + 1) * dt);
    }
    e.populations.push_back(src);
    e.populations.push_back(test::population(
        "tgt", "iaf_psc_delta", delays.size(),
        {{"E_L", 0}, {"V_th", 0.5}, {"V_reset", 0}, {"t_ref", 0}, {"tau_m", 10}}));
    auto p = test::projection("p", "src", "tgt", connectivity_spec::rule::from_list, test::c(1.0),
                              test::c(dt));
    step_t last = 0;
    for (std::size_t k = 0; k < delays.size(); ++k) {
        p.connectivity.edges.push_back(
            edge_spec{0, static_cast<neuron_id>(k), 1.0, static_cast<double>(delays[k]) * dt});
        last = std::max(last, source_steps.back() + delays[k]);
    }
    e.projections.push_back(p);
    e.simulation.duration = static_cast<double>(last + 5) * dt;
    test::record_all_spikes(e);
    const auto r = test::run(e, 2, partitions);
    std::map<neuron_id, std::set<step_t>> out;
    for (const auto& s: r.out.recorded_spikes) {
        if (s.gid >= 1) {
            out[s.gid - 1].insert(s.step);
        }
    }
    return out;
}

}  // namespace

TEST(delays, every_spike_arrives_exactly_delay_steps_later) {
    // 1 step, small, around the minimum and the epoch length, across the ring size, 1000 ms.
    const std::vector<step_t> delays = {1, 2, 3, 7, 15, 99, 100, 101, 4567, 9999, 10000};
    const std::vector<step_t> sources = {0, 1, 1499, 9998, 12344};
    for (int partitions: {1, 3}) {
        const auto got = delivery_steps(sources, delays, partitions);
        for (std::size_t k = 0; k < delays.size(); ++k) {
            std::set<step_t> expected;
            for (step_t s: sources) {
                expected.insert(s + delays[k]);
            }
            const auto it = got.find(static_cast<neuron_id>(k));
            ASSERT_NE(it, got.end()) << "delay " << delays[k];
            EXPECT_EQ(it->second, expected) << "delay " << delays[k] << ", partitions "
                                            << partitions;
        }
    }
}

TEST(delays, one_pair_may_have_several_synapses_with_different_delays) {
    const double dt = 1.0;
    auto e = test::experiment(dt, 40.0);
    auto src = test::population("src", "spike_source_array", 1);
    src.spike_times = {{5.0}};  // emitted in step 4
    e.populations.push_back(src);
    e.populations.push_back(test::population(
        "tgt", "iaf_psc_delta", 1,
        {{"E_L", 0}, {"V_th", 0.5}, {"V_reset", 0}, {"t_ref", 0}, {"tau_m", 10}}));
    auto p = test::projection("p", "src", "tgt", connectivity_spec::rule::from_list, test::c(1.0),
                              test::c(1.0));
    for (double d: {3.0, 1.0, 20.0, 3.0}) {
        p.connectivity.edges.push_back(edge_spec{0, 0, 1.0, d});
    }
    e.projections.push_back(p);
    test::record_all_spikes(e);
    const auto r = test::run(e);
    std::vector<step_t> target_steps;
    for (const auto& s: r.out.recorded_spikes) {
        if (s.gid == 1) {
            target_steps.push_back(s.step);
        }
    }
    EXPECT_EQ(target_steps, (std::vector<step_t>{5, 7, 24}));
    EXPECT_EQ(r.summary.synaptic_events, 4u);
}

TEST(delays, min_and_max_delay_are_reported) {
    auto e = test::experiment(0.1, 1.0);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 10));
    auto p = test::projection("p", "a", "a", connectivity_spec::rule::all_to_all, test::c(0.1),
                              test::uniform(0.25, 2.0));
    e.projections.push_back(p);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    // Draws are rounded to the nearest step: [0.25, 2.0) ms gives 2 (or 3) to 20 steps.
    EXPECT_GE(sim.report().min_delay, 2);
    EXPECT_LE(sim.report().min_delay, 3);
    EXPECT_LE(sim.report().max_delay, 20);
    EXPECT_EQ(sim.report().n_synapses, 100u);
}
