// Unit tests of the built-in models (models/): their descriptions, their parameter checks and
// the behaviour of each block that is not a closed-form validation (those are in
// tests/validation/test_lif_closed_form.cpp and test_izhikevich_patterns.cpp).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/model.hpp>
#include <glia/model_registry.hpp>
#include <glia/rng.hpp>

#include "models/neuron/iaf_psc_exp.hpp"
#include "models/register_models.hpp"
#include "models/source/poisson_source.hpp"
#include "models_harness.hpp"

namespace {

using glia::test::model_block;
using glia::test::model_setup;
using testing::HasSubstr;
using testing::ThrowsMessage;

glia::model_registry builtin_registry() {
    glia::model_registry r;
    glia::models::register_builtin_models(r);
    return r;
}

// ---------------------------------------------------------------------------------------------
// Descriptions

TEST(models, registers_the_builtin_models_with_their_aliases) {
    const auto r = builtin_registry();
    EXPECT_THAT(r.names(),
                testing::ElementsAre("astrocyte_lr_1994", "iaf_cond_exp", "iaf_psc_delta",
                                     "iaf_psc_exp", "izhikevich", "nalsm_lif", "poisson_source",
                                     "spike_source_array"));
    EXPECT_THAT(r.modulator_names(), testing::ElementsAre("nalsm_astrocyte", "volume_transmitter"));
    EXPECT_THAT(r.synapse_names(), testing::ElementsAre("astro_stdp", "izhikevich2006", "sic",
                                                        "static", "stdp", "stdp_dopamine"));
    EXPECT_EQ(r.find("IF_curr_exp"), r.find("iaf_psc_exp"));
    EXPECT_EQ(r.find("IF_cond_exp"), r.find("iaf_cond_exp"));
    EXPECT_EQ(r.find("Izhikevich"), r.find("izhikevich"));
    EXPECT_EQ(r.find("SpikeSourcePoisson"), r.find("poisson_source"));
    EXPECT_EQ(r.find("SpikeSourceArray"), r.find("spike_source_array"));
    EXPECT_EQ(r.find("IF_curr_delta"), r.find("iaf_psc_delta"));
}

TEST(models, descriptions_are_consistent) {
    const auto r = builtin_registry();
    for (const auto& name: r.names()) {
        SCOPED_TRACE(name);
        const auto& m = *r.find(name);
        EXPECT_NE(m.validate, nullptr);
        EXPECT_FALSE(m.info.doc.empty());
        for (std::size_t i = 0; i < m.info.params.size(); ++i) {
            const auto& p = m.info.params[i];
            SCOPED_TRACE(p.name);
            EXPECT_EQ(m.info.param_index(p.name), i);  // names are unique
            EXPECT_FALSE(p.doc.empty());
            if (!p.choices.empty()) {
                EXPECT_EQ(p.dim, glia::dimension::none);
                EXPECT_LT(p.default_value, static_cast<double>(p.choices.size()));
            }
        }
        for (std::size_t i = 0; i < m.info.variables.size(); ++i) {
            EXPECT_EQ(m.info.variable_index(m.info.variables[i].name), i);
        }
        if (m.info.ports_by_sign) {
            EXPECT_EQ(m.info.ports.size(), 2u);
        }
    }
}

TEST(models, only_the_poisson_rate_is_required) {
    const auto r = builtin_registry();
    std::vector<std::string> required;
    for (const auto& name: r.names()) {
        for (const auto& p: r.find(name)->info.params) {
            if (std::isnan(p.default_value)) {
                required.push_back(name + "." + p.name);
            }
        }
    }
    EXPECT_THAT(required, testing::ElementsAre("poisson_source.rate"));
}

TEST(models, each_model_builds_with_its_defaults) {
    const auto r = builtin_registry();
    for (const auto& name: r.names()) {
        SCOPED_TRACE(name);
        model_setup s{.model = name, .size = 3};
        if (name == "poisson_source") {
            s.params["rate"] = {10.0};
        }
        if (name == "spike_source_array") {
            s.spike_steps = {{0}, {}, {0}};
        }
        model_block b(s);
        const auto spiked = b.step();
        EXPECT_EQ(b.size(), 3u);
        if (name == "spike_source_array") {
            EXPECT_THAT(spiked, testing::ElementsAre(0u, 2u));
        }
    }
}

TEST(models, unknown_variable_is_an_internal_error) {
    const auto r = builtin_registry();
    for (const auto& name: r.names()) {
        SCOPED_TRACE(name);
        model_setup s{.model = name, .size = 1};
        if (name == "poisson_source") {
            s.params["rate"] = {10.0};
        }
        if (name == "spike_source_array") {
            s.spike_steps = {{}};
        }
        model_block b(s);
        const std::size_t bad = b.info().variables.size();
        EXPECT_THROW((void)b.block().value(bad, 0), glia::internal_error);
        std::vector<std::uint32_t> local{0};
        std::vector<float> out(1);
        EXPECT_THROW(b.block().sample(bad, local, out), glia::internal_error);
    }
}

TEST(models, sample_copies_state_as_float) {
    model_block b({.model = "iaf_psc_exp",
                   .size = 3,
                   .initial = {{"V_m", {-60.0, -61.0, -62.0}}, {"I_syn_in", {-5.0}}}});
    std::vector<std::uint32_t> local{2, 0};
    std::vector<float> out(2);
    b.block().sample(b.variable("V_m"), local, out);
    EXPECT_THAT(out, testing::ElementsAre(-62.0f, -60.0f));
    b.block().sample(b.variable("I_syn_in"), local, out);
    EXPECT_THAT(out, testing::ElementsAre(-5.0f, -5.0f));
}

// ---------------------------------------------------------------------------------------------
// Parameter checks: the messages are part of the contract.

TEST(models, lif_models_reject_V_reset_at_or_above_V_th) {
    for (const char* name: {"iaf_psc_delta", "iaf_psc_exp", "iaf_cond_exp"}) {
        SCOPED_TRACE(name);
        EXPECT_THAT(
            [&] {
                model_block({.model = name, .params = {{"V_reset", {-55.0}}}});
            },
            ThrowsMessage<glia::error>(
                testing::StrEq("V_reset (-55 mV) must be below V_th (-55 mV)")));
        EXPECT_THAT(
            [&] {
                model_block({.model = name, .params = {{"V_th", {-60.0}}, {"V_reset", {-50.0}}}});
            },
            ThrowsMessage<glia::error>(
                testing::StrEq("V_reset (-50 mV) must be below V_th (-60 mV)")));
    }
}

TEST(models, lif_models_reject_t_ref_off_the_dt_grid) {
    for (const char* name: {"iaf_psc_delta", "iaf_psc_exp", "iaf_cond_exp"}) {
        SCOPED_TRACE(name);
        EXPECT_THAT(
            [&] {
                model_block({.model = name, .dt = 0.1, .params = {{"t_ref", {0.25}}}});
            },
            ThrowsMessage<glia::error>(
                testing::StrEq("t_ref = 0.25 ms is not a multiple of dt = 0.1 ms")));
        // On the grid up to rounding: accepted.
        EXPECT_NO_THROW(model_block({.model = name, .dt = 0.1, .params = {{"t_ref", {0.3}}}}));
    }
}

TEST(models, iaf_cond_exp_rejects_fractional_substeps) {
    EXPECT_THAT(
        [] {
            model_block({.model = "iaf_cond_exp", .params = {{"substeps", {2.5}}}});
        },
        ThrowsMessage<glia::error>(
            testing::StrEq("substeps must be a whole number from 1 to 100000, got 2.5")));
}

TEST(models, izhikevich_rejects_c_at_or_above_V_th) {
    EXPECT_THAT(
        [] {
            model_block({.model = "izhikevich", .params = {{"c", {30.0}}}});
        },
        ThrowsMessage<glia::error>(testing::StrEq("c (30 mV) must be below V_th (30 mV)")));
    EXPECT_THAT(
        [] {
            model_block(
                {.model = "izhikevich", .size = 3, .params = {{"c", {-65.0, -65.0, 35.0}}}});
        },
        ThrowsMessage<glia::error>(
            testing::StrEq("c (35 mV) must be below V_th (30 mV) (neuron 2)")));
    const double ex = glia::test::choice("izhikevich", "heterogeneity", "excitatory_2003");
    EXPECT_THAT(
        [&] {
            model_block(
                {.model = "izhikevich", .params = {{"c", {20.0}}, {"heterogeneity", {ex}}}});
        },
        ThrowsMessage<glia::error>(testing::StrEq(
            "c (20 mV, raised by up to 15 mV by heterogeneity excitatory_2003) must be below "
            "V_th (30 mV)")));
}

TEST(models, poisson_source_rejects_more_than_a_tenth_of_an_event_per_step) {
    EXPECT_THAT(
        [] {
            model_block({.model = "poisson_source", .dt = 1.0, .params = {{"rate", {200.0}}}});
        },
        ThrowsMessage<glia::error>(testing::StrEq(
            "poisson_source: rate = 200 Hz gives rate * dt = 0.2 events per step at dt = 1 ms; "
            "at most 0.1 is allowed, since a step holds at most one spike (the emitted rate "
            "would be 181.3 Hz): use a smaller dt or split the rate over several sources")));
    EXPECT_NO_THROW(
        model_block({.model = "poisson_source", .dt = 1.0, .params = {{"rate", {100.0}}}}));
    EXPECT_THAT(
        [] {
            model_block({.model = "poisson_source",
                         .size = 2,
                         .dt = 0.1,
                         .params = {{"rate", {10.0, 1500.0}}}});
        },
        ThrowsMessage<glia::error>(HasSubstr("rate = 1500 Hz (neuron 1) gives rate * dt = 0.15")));
}

TEST(models, poisson_source_requires_a_rate) {
    EXPECT_THAT([] { model_block({.model = "poisson_source"}); },
                ThrowsMessage<glia::error>(HasSubstr("'rate'")));
}

TEST(models, poisson_source_rejects_stop_before_start_and_times_off_the_grid) {
    EXPECT_THAT(
        [] {
            model_block({.model = "poisson_source",
                         .params = {{"rate", {10.0}}, {"start", {5.0}}, {"stop", {4.0}}}});
        },
        ThrowsMessage<glia::error>(testing::StrEq("stop (4 ms) must not be before start (5 ms)")));
    EXPECT_THAT(
        [] {
            model_block(
                {.model = "poisson_source", .params = {{"rate", {10.0}}, {"start", {0.05}}}});
        },
        ThrowsMessage<glia::error>(
            testing::StrEq("start = 0.05 ms is not a multiple of dt = 0.1 ms")));
}

// ---------------------------------------------------------------------------------------------
// iaf_psc_exp propagator near tau_syn == tau_m

// P21 as a Taylor series in x = h d (d = 1/tau_syn - 1/tau_m), in long double: exact to
// rounding for small |x|, an independent evaluation of the near-singular case.
long double p21_series(long double h, long double tau_syn, long double tau_m, long double C_m) {
    const long double x = h * (1.0L / tau_syn - 1.0L / tau_m);
    long double term = 1.0L, sum = 0.0L;  // sum_k (-x)^k / (k+1)!
    for (int k = 0; k < 40; ++k) {
        sum += term;
        term *= -x / static_cast<long double>(k + 2);
    }
    return h / C_m * std::exp(-h / tau_m) * sum;
}

TEST(iaf_psc_exp, propagator_is_exact_through_tau_syn_equal_tau_m) {
    const double h = 0.1, tau_m = 10.0, C_m = 250.0;
    EXPECT_DOUBLE_EQ(glia::models::psc_exp_propagator(h, tau_m, tau_m, C_m),
                     h / C_m * std::exp(-h / tau_m));
    for (int e = 1; e <= 16; ++e) {
        for (const double sign: {-1.0, 1.0}) {
            const double tau_syn = tau_m * (1.0 + sign * std::pow(10.0, -e));
            SCOPED_TRACE(tau_syn);
            const double got = glia::models::psc_exp_propagator(h, tau_syn, tau_m, C_m);
            const auto want = static_cast<double>(p21_series(h, tau_syn, tau_m, C_m));
            EXPECT_NEAR(got, want, 1e-14 * want);
        }
    }
}

TEST(iaf_psc_exp, propagator_matches_the_plain_formula_far_from_the_singularity) {
    const double h = 0.1, tau_m = 10.0, C_m = 250.0;
    for (const double tau_syn: {0.1, 0.5, 2.0, 5.0, 20.0, 100.0}) {
        SCOPED_TRACE(tau_syn);
        const double plain = tau_syn * tau_m / (C_m * (tau_m - tau_syn)) *
                             (std::exp(-h / tau_m) - std::exp(-h / tau_syn));
        EXPECT_NEAR(glia::models::psc_exp_propagator(h, tau_syn, tau_m, C_m), plain, 1e-12 * plain);
    }
}

TEST(iaf_psc_exp, input_during_refractoriness_still_adds_to_the_synaptic_current) {
    model_block b({.model = "iaf_psc_exp",
                   .dt = 0.1,
                   .params = {{"t_ref", {2.0}}},
                   .initial = {{"V_m", {-54.0}}}});
    std::vector<double> in{0.0, 0.0};
    const std::vector<double> strong(1, 1e4);
    ASSERT_THAT(b.step({}, strong), testing::ElementsAre(0u));  // spikes in step 0
    in = {100.0, -40.0};
    b.step(in);  // refractory: the input lands anyway
    EXPECT_EQ(b.value("V_m"), -70.0);
    EXPECT_DOUBLE_EQ(b.value("I_syn_ex"), 100.0);
    EXPECT_DOUBLE_EQ(b.value("I_syn_in"), -40.0);
}

// ---------------------------------------------------------------------------------------------
// iaf_psc_delta

TEST(iaf_psc_delta, discards_input_during_refractoriness_and_respects_V_min) {
    model_block b({.model = "iaf_psc_delta",
                   .dt = 0.1,
                   .params = {{"t_ref", {0.3}}, {"V_min", {-75.0}}},
                   .initial = {{"V_m", {-54.9}}}});
    std::vector<double> kick{1.0};
    ASSERT_THAT(b.step(kick), testing::ElementsAre(0u));
    for (int k = 0; k < 3; ++k) {
        b.step(kick);  // refractory for 3 steps: discarded
        EXPECT_EQ(b.value("V_m"), -70.0);
    }
    std::vector<double> down{-20.0};
    b.step(down);
    EXPECT_EQ(b.value("V_m"), -75.0);
}

// ---------------------------------------------------------------------------------------------
// iaf_cond_exp

TEST(iaf_cond_exp, conductances_decay_exactly_and_inhibition_adds_its_magnitude) {
    const double dt = 0.1, tau_ex = 0.2, tau_in = 2.0;
    model_block b({.model = "iaf_cond_exp",
                   .dt = dt,
                   .params = {{"tau_syn_ex", {tau_ex}}, {"tau_syn_in", {tau_in}}}});
    std::vector<double> in{6.0, -67.0};  // NEST convention: inhibitory weights are negative
    b.step(in);
    EXPECT_DOUBLE_EQ(b.value("g_ex"), 6.0);
    EXPECT_DOUBLE_EQ(b.value("g_in"), 67.0);
    for (int k = 1; k <= 200; ++k) {
        b.step();
        EXPECT_NEAR(b.value("g_ex"), 6.0 * std::exp(-k * dt / tau_ex), 1e-13 * 6.0);
        EXPECT_NEAR(b.value("g_in"), 67.0 * std::exp(-k * dt / tau_in),
                    1e-13 * 67.0 * std::exp(-k * dt / tau_in));
    }
    // A positive weight sent to port `in` (PyNN's convention) is also an inhibitory conductance.
    std::vector<double> pynn{0.0, 5.0};
    const double before = b.value("g_in");
    b.step(pynn);
    EXPECT_NEAR(b.value("g_in"), before * std::exp(-dt / tau_in) + 5.0, 1e-12);
    // Inhibition pulls V towards E_in.
    EXPECT_LT(b.value("V_m"), -70.0);
}

TEST(iaf_cond_exp, refractory_clamps_V_while_conductances_go_on) {
    model_block b({.model = "iaf_cond_exp",
                   .dt = 0.1,
                   .params = {{"t_ref", {0.5}}},
                   .initial = {{"V_m", {-54.0}}, {"g_ex", {50.0}}}});
    ASSERT_THAT(b.step(), testing::ElementsAre(0u));
    std::vector<double> in{10.0, 0.0};
    for (int k = 0; k < 5; ++k) {
        EXPECT_TRUE(b.step(in).empty());
        EXPECT_EQ(b.value("V_m"), -60.0);
    }
    EXPECT_GT(b.value("g_ex"), 10.0);
    b.step();
    EXPECT_GT(b.value("V_m"), -60.0);  // integrating again, pushed up by g_ex
}

// ---------------------------------------------------------------------------------------------
// izhikevich: heterogeneity

// The documented draw: the parameters stream with the tag of the `heterogeneity` parameter.
double heterogeneity_r(std::uint64_t seed, glia::neuron_id gid) {
    const auto registry = builtin_registry();
    const std::uint64_t tag = registry.find("izhikevich")->info.param_index("heterogeneity");
    return glia::rng_stream(glia::stream_key(seed, glia::stream::parameters, tag), gid, 0)
        .uniform();
}

TEST(izhikevich, heterogeneity_draws_do_not_share_a_stream_with_drawn_parameters) {
    // The builder draws per-neuron parameter i from stream_key(seed, parameters, i); the
    // heterogeneity stream must be none of those of a parameter that can be drawn.
    const auto registry = builtin_registry();
    const auto& info = registry.find("izhikevich")->info;
    const std::uint64_t tag = info.param_index("heterogeneity");
    for (std::size_t i = 0; i < info.params.size(); ++i) {
        if (info.params[i].per_neuron) {
            EXPECT_NE(i, tag) << info.params[i].name;
        }
    }
    EXPECT_FALSE(info.params[tag].per_neuron);
}

TEST(izhikevich, inhibitory_heterogeneity_draws_a_and_b_per_gid_in_the_paper_ranges) {
    const double inh = glia::test::choice("izhikevich", "heterogeneity", "inhibitory_2003");
    const std::size_t n = 200;
    model_block b({.model = "izhikevich",
                   .size = n,
                   .seed = 7,
                   .population_gid = 1000,
                   .params = {{"b", {0.25}}, {"d", {2.0}}, {"heterogeneity", {inh}}},
                   .initial = {{"V_m", {-65.0}}}});
    double lo = 1, hi = 0;
    for (std::uint32_t k = 0; k < n; ++k) {
        const double b_eff = b.value("U_m", k) / -65.0;  // U_m defaults to b * V_m
        const double r = heterogeneity_r(7, 1000 + k);
        EXPECT_NEAR(b_eff, 0.25 - 0.05 * r, 1e-15);
        EXPECT_GT(b_eff, 0.2);
        EXPECT_LE(b_eff, 0.25);
        lo = std::min(lo, r);
        hi = std::max(hi, r);
    }
    EXPECT_LT(lo, 0.05);  // the draws cover U(0, 1)
    EXPECT_GT(hi, 0.95);
}

TEST(izhikevich, heterogeneity_equals_the_explicit_per_neuron_parameters) {
    // The drawn c, d (a, b) act exactly as if given per neuron: same trajectories, bit for bit.
    for (const char* which: {"excitatory_2003", "inhibitory_2003"}) {
        SCOPED_TRACE(which);
        const bool ex = std::string(which) == "excitatory_2003";
        const std::size_t n = 50;
        const std::uint64_t seed = 3;
        std::vector<double> a(n, 0.02), b(n, ex ? 0.2 : 0.25), c(n, -65.0), d(n, ex ? 8.0 : 2.0);
        for (std::size_t k = 0; k < n; ++k) {
            const double r = heterogeneity_r(seed, static_cast<glia::neuron_id>(k));
            if (ex) {
                c[k] += 15 * r * r;
                d[k] -= 6 * r * r;
                EXPECT_GE(c[k], -65.0);
                EXPECT_LT(c[k], -50.0);
                EXPECT_GT(d[k], 2.0);
                EXPECT_LE(d[k], 8.0);
            } else {
                a[k] += 0.08 * r;
                b[k] -= 0.05 * r;
            }
        }
        model_block drawn(
            {.model = "izhikevich",
             .size = n,
             .dt = 1.0,
             .seed = seed,
             .params = {
                 {"a", {0.02}},
                 {"b", {ex ? 0.2 : 0.25}},
                 {"c", {-65.0}},
                 {"d", {ex ? 8.0 : 2.0}},
                 {"I_e", {10.0}},
                 {"heterogeneity", {glia::test::choice("izhikevich", "heterogeneity", which)}}}});
        model_block given({.model = "izhikevich",
                           .size = n,
                           .dt = 1.0,
                           .seed = seed,
                           .params = {{"a", a}, {"b", b}, {"c", c}, {"d", d}, {"I_e", {10.0}}}});
        std::size_t spikes = 0;
        for (int t = 0; t < 300; ++t) {
            const auto s1 = drawn.step();
            ASSERT_EQ(s1, given.step());
            spikes += s1.size();
            for (std::uint32_t k = 0; k < n; ++k) {
                ASSERT_EQ(drawn.value("V_m", k), given.value("V_m", k));
                ASSERT_EQ(drawn.value("U_m", k), given.value("U_m", k));
            }
        }
        EXPECT_GT(spikes, n);  // the comparison saw resets, so c and d were exercised
    }
}

TEST(izhikevich, heterogeneity_does_not_depend_on_the_block_range) {
    const double ex = glia::test::choice("izhikevich", "heterogeneity", "excitatory_2003");
    model_setup s{.model = "izhikevich",
                  .size = 40,
                  .dt = 1.0,
                  .seed = 11,
                  .population_gid = 500,
                  .params = {{"I_e", {10.0}}, {"heterogeneity", {ex}}}};
    model_setup s_whole = s;
    model_setup s_part = s;
    s_part.first = 15;
    s_part.count = 20;
    model_block whole(s_whole), part(s_part);
    for (int t = 0; t < 200; ++t) {
        whole.step();
        part.step();
        for (std::uint32_t k = 0; k < 20; ++k) {
            ASSERT_EQ(part.value("V_m", k), whole.value("V_m", 15 + k));
            ASSERT_EQ(part.value("U_m", k), whole.value("U_m", 15 + k));
        }
    }
}

TEST(izhikevich, a_different_seed_gives_different_draws) {
    const double inh = glia::test::choice("izhikevich", "heterogeneity", "inhibitory_2003");
    model_block one(
        {.model = "izhikevich", .size = 10, .seed = 1, .params = {{"heterogeneity", {inh}}}});
    model_block two(
        {.model = "izhikevich", .size = 10, .seed = 2, .params = {{"heterogeneity", {inh}}}});
    int same = 0;
    for (std::uint32_t k = 0; k < 10; ++k) {
        same += one.value("U_m", k) == two.value("U_m", k) ? 1 : 0;
    }
    EXPECT_EQ(same, 0);
}

// ---------------------------------------------------------------------------------------------
// poisson_source

TEST(poisson_source, rate_is_within_four_binomial_sigmas) {
    // N sources x S steps Bernoulli(p) trials: the count is Binomial(N S, p), sigma = sqrt(NS p
    // (1-p)). The test fails beyond 4 sigma (probability 6e-5 for a correct model; fixed seed).
    const double rate = 40.0, dt = 0.1;  // [Hz], [ms]
    const std::size_t n = 500;
    const int steps = 10000;  // 1 s
    model_block b(
        {.model = "poisson_source", .size = n, .dt = dt, .seed = 5, .params = {{"rate", {rate}}}});
    std::vector<std::vector<int>> times(n);
    std::size_t count = 0;
    for (int t = 0; t < steps; ++t) {
        for (const auto i: b.step()) {
            times[i].push_back(t);
            ++count;
        }
    }
    const double p = -std::expm1(-rate * dt * 1e-3);
    const double trials = static_cast<double>(n) * steps;
    const double sigma = std::sqrt(trials * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(count), trials * p, 4 * sigma);
    // The emitted rate is p / dt: 0.2 % below `rate` at rate dt = 0.004.
    EXPECT_NEAR(static_cast<double>(count) / (n * steps * dt * 1e-3), rate, 4 * sigma / (n * 1.0));

    // Inter-spike intervals: geometric with mean 1/p steps, CV sqrt(1-p) ~ 0.998 (Poisson: 1).
    std::vector<double> isi;
    for (const auto& ts: times) {
        for (std::size_t k = 1; k < ts.size(); ++k) {
            isi.push_back(ts[k] - ts[k - 1]);
        }
    }
    ASSERT_GT(isi.size(), 10000u);
    const auto n_isi = static_cast<double>(isi.size());
    const double mean = std::accumulate(isi.begin(), isi.end(), 0.0) / n_isi;
    double var = 0;
    for (const double x: isi) {
        var += (x - mean) * (x - mean);
    }
    var /= n_isi - 1;
    const double cv = std::sqrt(var) / mean;
    EXPECT_NEAR(cv, std::sqrt(1 - p), 0.03);
    EXPECT_NEAR(mean, 1 / p, 0.03 / p);
}

TEST(poisson_source, draws_depend_only_on_seed_gid_and_step) {
    const model_setup s{.model = "poisson_source",
                        .size = 100,
                        .dt = 0.1,
                        .seed = 9,
                        .population_gid = 300,
                        .params = {{"rate", {200.0}}}};
    model_setup left = s, right = s;
    left.count = 60;
    right.first = 40;
    model_block whole(s), a(left), b(right);
    std::size_t total = 0;
    for (int t = 0; t < 2000; ++t) {
        const auto w = whole.step();
        const auto sa = a.step();
        const auto sb = b.step();
        std::vector<std::uint32_t> merged = sa;
        for (const auto i: sb) {
            if (i + 40 >= 60) {
                merged.push_back(i + 40);
            } else {
                ASSERT_TRUE(std::binary_search(sa.begin(), sa.end(), i + 40));  // overlap agrees
            }
        }
        ASSERT_EQ(merged, w);
        total += w.size();
    }
    EXPECT_GT(total, 1000u);
    // And a different seed differs.
    model_setup other = s;
    other.seed = 10;
    model_block o(other), again(s);
    std::size_t differ = 0;
    for (int t = 0; t < 200; ++t) {
        differ += o.step() != again.step() ? 1 : 0;
    }
    EXPECT_GT(differ, 50u);
}

TEST(poisson_source, emits_only_from_start_until_stop) {
    model_block b({.model = "poisson_source",
                   .size = 50,
                   .dt = 0.1,
                   .params = {{"rate", {900.0}}, {"start", {1.0}}, {"stop", {2.5}}}});
    std::vector<int> active;
    for (int t = 0; t < 40; ++t) {
        if (!b.step().empty()) {
            active.push_back(t);
        }
    }
    ASSERT_FALSE(active.empty());
    EXPECT_GE(active.front(), 10);  // t_n = n dt in [1.0, 2.5): steps 10..24
    EXPECT_LE(active.back(), 24);
    EXPECT_GE(active.size(), 12u);  // 50 sources at p = 0.086: almost every step has a spike
}

// ---------------------------------------------------------------------------------------------
// spike_source_array

TEST(spike_source_array, emits_exactly_the_given_steps_in_ascending_local_order) {
    const std::vector<std::vector<glia::step_t>> steps = {{0, 5, 7}, {}, {5, 100}, {1}, {7, 8, 9}};
    model_block b({.model = "spike_source_array", .size = 5, .spike_steps = steps});
    std::vector<std::vector<glia::step_t>> got(5);
    for (int t = 0; t < 200; ++t) {
        const auto s = b.step();
        EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
        for (const auto i: s) {
            got[i].push_back(t);
        }
    }
    EXPECT_EQ(got, steps);
}

TEST(spike_source_array, a_block_emits_only_its_own_neurons) {
    const std::vector<std::vector<glia::step_t>> steps = {{0, 3}, {3}, {2, 3}, {1}};
    model_block b(
        {.model = "spike_source_array", .size = 4, .spike_steps = steps, .first = 1, .count = 2});
    EXPECT_TRUE(b.step().empty());                        // step 0: neuron 0 is not ours
    EXPECT_TRUE(b.step().empty());                        // step 1: neuron 3 is not ours
    EXPECT_THAT(b.step(), testing::ElementsAre(1u));      // step 2: population neuron 2
    EXPECT_THAT(b.step(), testing::ElementsAre(0u, 1u));  // step 3: neurons 1 and 2
    EXPECT_TRUE(b.step().empty());
}

TEST(spike_source_array, finds_its_place_when_steps_jump) {
    const std::vector<std::vector<glia::step_t>> steps = {{2, 10, 20}, {10}};
    model_block b({.model = "spike_source_array", .size = 2, .spike_steps = steps});
    EXPECT_THAT(b.step_at(10), testing::ElementsAre(0u, 1u));
    EXPECT_THAT(b.step_at(20), testing::ElementsAre(0u));
    EXPECT_THAT(b.step_at(2), testing::ElementsAre(0u));  // a restart from an earlier step
    EXPECT_TRUE(b.step_at(3).empty());
}

TEST(spike_source_array, rejects_unsorted_lists_as_a_builder_bug) {
    EXPECT_THROW(model_block({.model = "spike_source_array", .size = 1, .spike_steps = {{5, 5}}}),
                 glia::internal_error);
    EXPECT_THROW(model_block({.model = "spike_source_array", .size = 2, .spike_steps = {{1}}}),
                 glia::internal_error);
}

}  // namespace
