// Event-driven ("lazy") updates of iaf_psc_delta against the clock-driven reference on random
// networks. The documented rule (docs/architecture.md): V agrees up to rounding (one power of
// the decay factor instead of k products), so spikes are identical unless V lands within
// rounding of V_th; these networks check spikes for equality and V to 1e-9 mV.

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include <glia/rng.hpp>

#include "spec_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

// A random network of delta-synapse LIF neurons driven by Poisson sources and a spike array,
// with random parameters (resting level below threshold, I_e included), delays and weights.
experiment_spec random_network(std::uint64_t seed, const std::string& update, bool generator) {
    rng_stream r(stream_key(seed, stream::parameters, 99), 0, 0);
    auto e = test::experiment(0.1, 300.0, seed);
    auto src = test::population("src", "poisson_source", 100, {{"rate", r.uniform(20, 80)}});
    auto arr = test::population("arr", "spike_source_array", 3);
    arr.spike_times = {{1.0, 50.0, 50.1}, {}, {10.0, 200.0}};
    e.populations = {src, arr};
    for (const char* name: {"a", "b"}) {
        const double E_L = r.uniform(-70, -60);
        const double V_th = E_L + r.uniform(10, 20);
        auto p = test::population(name, "iaf_psc_delta", 150 + static_cast<std::size_t>(r.below(100)),
                                  {{"E_L", E_L},
                                   {"V_th", V_th},
                                   {"V_reset", E_L - r.uniform(0, 5)},
                                   {"tau_m", r.uniform(5, 30)},
                                   {"t_ref", 0.1 * static_cast<double>(r.below(30))},
                                   {"C_m", 250},
                                   {"I_e", r.uniform(0, 100)}});  // R I_e < 12 mV < V_th - E_L
        p.initial["V_m"] = test::uniform(E_L - 5, V_th);
        p.update = update;
        e.populations.push_back(p);
    }
    auto in = test::projection("in", "src", "a", rule::pairwise_bernoulli, test::uniform(0, 4),
                               test::uniform(0.1, 5.0));
    in.connectivity.p = 0.2;
    auto arr_b = test::projection("arr_b", "arr", "b", rule::all_to_all, test::c(30),
                                  test::c(1.0));
    auto ab = test::projection("ab", "a", "b", rule::fixed_indegree, test::uniform(0, 3),
                               test::uniform(0.5, 3.0));
    ab.connectivity.n = 20;
    auto ba = test::projection("ba", "b", "a", rule::fixed_outdegree, test::uniform(-6, 0),
                               test::c(0.8));
    ba.connectivity.n = 10;
    auto aa = test::projection("aa", "a", "a", rule::pairwise_bernoulli, test::uniform(-1, 2),
                               test::uniform(0.1, 2.0));
    aa.connectivity.p = 0.05;
    e.projections = {in, arr_b, ab, ba, aa};
    if (generator) {
        input_spec g;
        g.name = "g";
        g.type = input_spec::kind::poisson_generator;
        g.target = "b";
        g.rate = 300;
        g.weight = 2.0;
        e.inputs.push_back(g);
    }
    test::record_all_spikes(e);
    for (const char* name: {"a", "b"}) {
        report_spec rep;
        rep.name = std::string(name) + ".V_m";
        rep.population = name;
        rep.variable = "V_m";
        rep.interval = 0.5;
        e.record.reports.push_back(rep);
    }
    return e;
}

}  // namespace

TEST(lazy_update, equals_the_clock_driven_reference_on_random_networks) {
    for (std::uint64_t seed = 1; seed <= 6; ++seed) {
        for (bool generator: {false, true}) {
            const auto clock = test::run(random_network(seed, "clock", generator), 2, 3);
            const auto lazy = test::run(random_network(seed, "lazy", generator), 2, 3);
            ASSERT_GT(clock.out.recorded_spikes.size(), 200u) << "seed " << seed;
            EXPECT_EQ(lazy.out.recorded_spikes, clock.out.recorded_spikes)
                << "seed " << seed << (generator ? " with generator" : "");
            ASSERT_EQ(lazy.out.report_data.size(), clock.out.report_data.size());
            for (std::size_t r = 0; r < clock.out.report_data.size(); ++r) {
                const auto& a = clock.out.report_data[r];
                const auto& b = lazy.out.report_data[r];
                ASSERT_EQ(a.size(), b.size());
                double worst = 0;
                for (std::size_t k = 0; k < a.size(); ++k) {
                    worst = std::max(worst, static_cast<double>(std::abs(a[k] - b[k])));
                }
                // Reports are float32: 1e-9 mV is below their resolution, so equal floats.
                EXPECT_LT(worst, 1e-4) << "seed " << seed << " report " << r;
            }
        }
    }
}

TEST(lazy_update, final_state_matches_at_full_precision) {
    for (std::uint64_t seed = 11; seed <= 13; ++seed) {
        auto spec_clock = random_network(seed, "clock", false);
        auto spec_lazy = random_network(seed, "lazy", false);
        spec_clock.record.reports.clear();
        spec_lazy.record.reports.clear();
        simulation clock(spec_clock, test::builtin_models(), test::quiet_context());
        simulation lazy(spec_lazy, test::builtin_models(), test::quiet_context(2, 4));
        memory_sink a, b;
        clock.run(a);
        lazy.run(b);
        ASSERT_EQ(a.recorded_spikes, b.recorded_spikes);
        double worst = 0;
        for (neuron_id gid = 103; gid < 103 + 300; ++gid) {  // neurons of populations a and b
            worst = std::max(worst, std::abs(clock.value(gid, "V_m") - lazy.value(gid, "V_m")));
        }
        EXPECT_LT(worst, 1e-9) << "seed " << seed;
    }
}

TEST(lazy_update, auto_mode_is_lazy_only_where_it_can_be) {
    // A dc current makes V move between inputs: lazy updates are refused when asked for.
    auto e = test::experiment(0.1, 10.0);
    auto p = test::population("a", "iaf_psc_delta", 10);
    p.update = "lazy";
    e.populations.push_back(p);
    input_spec dc;
    dc.name = "dc";
    dc.type = input_spec::kind::dc_generator;
    dc.target = "a";
    dc.amplitude = 10;
    e.inputs.push_back(dc);
    EXPECT_THAT([&] { simulation s(e, test::builtin_models(), test::quiet_context()); },
                testing::ThrowsMessage<error>(testing::HasSubstr(
                    "population 'a': update: lazy needs a model solved exactly between inputs")));
    // A resting level above threshold (tonic firing) cannot be updated lazily either.
    auto f = test::experiment(0.1, 10.0);
    auto q = test::population("a", "iaf_psc_delta", 10, {{"I_e", 1000}});
    q.update = "lazy";
    f.populations.push_back(q);
    EXPECT_THAT([&] { simulation s(f, test::builtin_models(), test::quiet_context()); },
                testing::ThrowsMessage<error>(testing::HasSubstr("update: lazy")));
}
