// NALSM reference mode (src/reservoir/nalsm.hpp, science-spec §1): the event-driven worker
// against a literal, dense implementation of the paper's per-step order written here; hand
// computed traces; liquid construction statistics; input events; thread independence; the
// branching factor on a hand-made raster.

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <tbb/task_arena.h>

#include <glia/error.hpp>

#include "reservoir/branching.hpp"
#include "reservoir/nalsm.hpp"
#include "reservoir/nalsm_protocol.hpp"

namespace glia::reservoir::nalsm {
namespace {

// ---------------------------------------------------------------------------------------------
// A literal implementation of science-spec §1.2 steps 1-11 on every neuron and synapse: inputs
// are LIF neurons driven by I_ext, s_ij is kept per synapse and clipped at 100, the current is
// summed over all synapses every step. Weights and traces are floats as in the worker.
struct dense_reference {
    const liquid& net;
    model_params params;
    const astrocyte_layout& layout;
    std::vector<double> v;
    std::vector<double> ref;
    std::vector<float> x;
    std::vector<double> s;  // per synapse

    dense_reference(const liquid& n, const model_params& p, const astrocyte_layout& l) :
        net(n), params(p), layout(l), v(n.n_total()), ref(n.n_total()), x(n.n_total()),
        s(n.n_synapses()) {}

    // Returns the raster (step, neuron) of liquid spikes; fills counts, final V, A trace.
    void run(std::vector<float>& w, const input_events& ev, std::size_t steps, double decay,
             std::vector<std::pair<std::uint32_t, std::uint32_t>>& raster,
             std::vector<double>& a_trace, std::vector<double>& final_v) {
        const auto& nr = params.neuron;
        const std::uint32_t nl = net.n_liquid();
        const std::uint32_t nt = net.n_total();
        std::fill(v.begin(), v.end(), 0.0);
        std::fill(ref.begin(), ref.end(), 0.0);
        std::fill(s.begin(), s.end(), static_cast<double>(nr.s_init));
        double eta = params.stdp.eta;
        double w_a = params.astrocyte.w_a;
        double b_a = params.astrocyte.b_a;
        std::vector<double> a(layout.n_regions, params.astrocyte.a0);
        std::vector<std::uint32_t> pre(net.n_synapses());
        for (std::uint32_t j = 0; j < nt; ++j) {
            for (std::uint32_t q = net.out_offset[j]; q < net.out_offset[j + 1]; ++q) {
                pre[q] = j;
            }
        }
        const double w_max = params.stdp.w_max;
        const auto bounds = [&](std::uint32_t j) {
            switch (net.group_of(j)) {
            case group::excitatory: return std::pair(0.0, w_max);
            case group::inhibitory: return std::pair(-w_max, 0.0);
            default: return std::pair(-w_max, w_max);
            }
        };
        std::vector<int> spk(nt);
        for (std::size_t t = 0; t < steps; ++t) {
            for (std::uint32_t i = 0; i < nt; ++i) {  // 1. register
                spk[i] = v[i] >= nr.v_th && ref[i] <= 0 ? 1 : 0;
            }
            for (std::uint32_t i = 0; i < nt; ++i) {  // 2. reset
                v[i] *= 1 - spk[i];
            }
            for (std::uint32_t i = 0; i < nl; ++i) {  // 3. record
                if (spk[i]) {
                    raster.emplace_back(static_cast<std::uint32_t>(t), i);
                }
            }
            for (std::size_t q = 0; q < s.size(); ++q) {  // 4. propagate
                if (spk[pre[q]]) {
                    s[q] = 0;
                }
            }
            std::vector<double> input(nt, 0.0);  // 5. integrate
            for (std::size_t q = 0; q < s.size(); ++q) {
                input[net.post[q]] += w[q] * std::exp(-s[q] / nr.tau_u) / nr.tau_u;
            }
            for (std::uint32_t e = ev.offset[t]; e < ev.offset[t + 1]; ++e) {
                input[nl + ev.pixel[e]] += nr.i_ext;
            }
            for (std::uint32_t i = 0; i < nt; ++i) {
                v[i] = v[i] + input[i] - v[i] / nr.tau_v;
            }
            for (double& sq: s) {  // 6. evolve
                sq = std::min(sq + 1, 100.0);
            }
            for (std::uint32_t i = 0; i < nt; ++i) {  // 7. refractory
                ref[i] = (ref[i] - 1) * (1 - spk[i]) + spk[i] * nr.t_ref;
            }
            if (params.rule != plasticity::none) {  // 8. STDP
                for (std::size_t q = 0; q < s.size(); ++q) {
                    const std::uint32_t j = pre[q];
                    const std::uint32_t i = net.post[q];
                    const double big_a = params.rule == plasticity::astro_stdp
                                             ? a[layout.region[i]]
                                             : eta;
                    const bool inh = net.group_of(j) == group::inhibitory;
                    const double l_plus = inh ? -big_a : eta;
                    const double l_minus = inh ? eta : -big_a;
                    const double dw = l_plus * x[j] * spk[i] + l_minus * x[i] * spk[j];
                    if (spk[i] || spk[j]) {
                        const auto [lo, hi] = bounds(j);
                        w[q] = static_cast<float>(std::clamp(w[q] + dw, lo, hi));
                    }
                }
            }
            for (std::uint32_t i = 0; i < nt; ++i) {  // 9. traces
                x[i] = static_cast<float>(params.stdp.d * (x[i] + params.stdp.a * spk[i]));
            }
            std::vector<double> liquid_read(layout.n_regions, 0.0);  // 10. astrocytes
            double input_read = 0;
            for (std::uint32_t i = 0; i < nt; ++i) {
                if (spk[i] && layout.reads[i]) {
                    if (i < nl) {
                        liquid_read[layout.region[i]] += 1;
                    } else {
                        input_read += 1;
                    }
                }
            }
            for (std::size_t r = 0; r < a.size(); ++r) {
                const double drive = liquid_read[r] - input_read / layout.n_regions;
                a[r] += (w_a * drive + b_a - a[r]) / params.astrocyte.tau_a;
            }
            eta *= decay;  // 11. decays
            w_a *= decay;
            b_a *= decay;
            for (double& ar: a) {
                ar *= decay;
                a_trace.push_back(ar);
            }
        }
        final_v.assign(v.begin(), v.begin() + nl);
    }
};

liquid small_liquid(std::uint64_t seed) {
    liquid_params lp;
    lp.grid = {3, 3, 2};
    lp.n_input = 6;
    lp.input_density = 0.5;
    lp.c_ee = 0.5;
    lp.c_ei = 0.5;
    lp.c_ie = 0.6;
    lp.c_ii = 0.3;
    lp.lambda = 2;
    liquid net = build_liquid(lp, seed);
    // Random, non-round weights inside each group's bounds, a few on a bound.
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::uint32_t j = 0; j < net.n_total(); ++j) {
        for (std::uint32_t q = net.out_offset[j]; q < net.out_offset[j + 1]; ++q) {
            double mag = 1.0 + 12.0 * u(gen);
            if (u(gen) < 0.1) {
                mag = 3.0;  // on the bound of the default w_max
            }
            const group g = net.group_of(j);
            const double sign = g == group::inhibitory ? -1 : g == group::input && u(gen) < 0.3 ? -1 : 1;
            net.weight[q] = static_cast<float>(sign * mag);
        }
    }
    return net;
}

input_events random_events(std::uint32_t n_input, std::size_t steps, double p, std::uint64_t seed) {
    std::mt19937_64 gen(seed);
    std::bernoulli_distribution b(p);
    input_events ev;
    ev.offset.push_back(0);
    for (std::size_t t = 0; t < steps; ++t) {
        for (std::uint32_t k = 0; k < n_input; ++k) {
            if (b(gen)) {
                ev.pixel.push_back(k);
            }
        }
        ev.offset.push_back(static_cast<std::uint32_t>(ev.pixel.size()));
    }
    return ev;
}

struct dense_case {
    plasticity rule;
    std::array<std::uint32_t, 3> regions;
    double rho;
    double decay;
    double w_max;
};

class worker_vs_dense: public ::testing::TestWithParam<dense_case> {};

TEST_P(worker_vs_dense, same_spikes_weights_potentials_and_astrocytes) {
    const dense_case c = GetParam();
    for (std::uint64_t seed: {1u, 2u, 3u}) {
        const liquid net = small_liquid(seed);
        model_params mp;
        mp.rule = c.rule;
        mp.stdp.w_max = c.w_max;
        mp.astrocyte.regions = c.regions;
        mp.astrocyte.rho = c.rho;
        mp.astrocyte.w_a = 0.05;  // a small liquid: a larger weight makes A move visibly
        const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, seed);
        worker w(net, mp, layout);
        dense_reference ref(net, mp, layout);
        std::vector<float> w_fast = net.weight;
        std::vector<float> w_dense = net.weight;
        // Two samples in a row: weights and traces carry over (phase A conditions).
        for (int sample = 0; sample < 2; ++sample) {
            const std::size_t steps = 150;
            const input_events ev = random_events(net.n_input, steps, 0.2, seed * 10 + sample);
            sample_record rec;
            rec.raster = true;
            rec.final_v = true;
            rec.astrocyte_trace = true;
            sample_output out;
            w.run_events(w_fast, ev, steps, c.decay, rec, out);
            std::vector<std::pair<std::uint32_t, std::uint32_t>> raster;
            std::vector<double> a_trace, final_v;
            ref.run(w_dense, ev, steps, c.decay, raster, a_trace, final_v);

            ASSERT_EQ(out.raster_step.size(), raster.size()) << "seed " << seed;
            ASSERT_GT(raster.size(), 20U) << "the test network must be active";
            for (std::size_t k = 0; k < raster.size(); ++k) {
                ASSERT_EQ(out.raster_step[k], raster[k].first) << "spike " << k;
                ASSERT_EQ(out.raster_neuron[k], raster[k].second) << "spike " << k;
            }
            for (std::size_t q = 0; q < w_fast.size(); ++q) {
                ASSERT_NEAR(w_fast[q], w_dense[q], 1e-5 * (1 + std::abs(w_dense[q])))
                    << "synapse " << q;
            }
            for (std::size_t i = 0; i < final_v.size(); ++i) {
                ASSERT_NEAR(out.final_v[i], final_v[i], 1e-6 * (1 + std::abs(final_v[i])));
            }
            ASSERT_EQ(out.astrocyte.size(), a_trace.size());
            for (std::size_t k = 0; k < a_trace.size(); ++k) {
                ASSERT_NEAR(out.astrocyte[k], a_trace[k], 1e-6 * (1 + std::abs(a_trace[k])));
            }
            for (std::uint32_t i = 0; i < net.n_total(); ++i) {
                ASSERT_FLOAT_EQ(w.traces()[i], ref.x[i]);
            }
        }
        if (c.rule != plasticity::none) {
            EXPECT_NE(w_fast, net.weight) << "plasticity changed nothing";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(
    rules, worker_vs_dense,
    ::testing::Values(dense_case{plasticity::none, {1, 1, 1}, 1.0, 1.0, 3.0},
                      dense_case{plasticity::stdp, {1, 1, 1}, 1.0, 1.0, 3.0},
                      dense_case{plasticity::astro_stdp, {1, 1, 1}, 1.0, 1.0, 3.0},
                      dense_case{plasticity::astro_stdp, {1, 1, 1}, 1.0, 0.99, 13.0},
                      dense_case{plasticity::astro_stdp, {3, 1, 2}, 0.5, 0.99, 13.0},
                      dense_case{plasticity::stdp, {1, 1, 1}, 1.0, 0.99, 13.0}));

// ---------------------------------------------------------------------------------------------
// Hand-computed: one input neuron -> one excitatory neuron, one input event at t = 0.

liquid chain(float w) {
    liquid net;
    net.n_exc = 1;
    net.n_inh = 0;
    net.n_input = 1;
    net.grid = {1, 1, 1};
    net.position = {{0, 0, 0}};
    net.out_offset = {0, 0, 1};  // neuron 0 (E): no synapses; neuron 1 (input): -> 0
    net.post = {0};
    net.weight = {w};
    net.in_offset = {0, 1};
    net.in_synapse = {0};
    net.in_pre = {1};
    return net;
}

input_events events_at(std::size_t steps, std::set<std::size_t> at) {
    input_events ev;
    ev.offset.push_back(0);
    for (std::size_t t = 0; t < steps; ++t) {
        if (at.count(t)) {
            ev.pixel.push_back(0);
        }
        ev.offset.push_back(static_cast<std::uint32_t>(ev.pixel.size()));
    }
    return ev;
}

TEST(nalsm_hand, membrane_trace_of_an_input_driven_neuron) {
    const liquid net = chain(10.0F);
    model_params mp;
    mp.rule = plasticity::none;
    const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, 1);
    worker w(net, mp, layout);
    // t = 0: the input gets I_ext (its V = 100); E sees only the initial kernel w e^-20.
    // t = 1: the input fires (not refractory): s = 0, E gets w.
    // t = 2, 3: the kernel gives w e^-1, w e^-2. Leak: -V / 64 on the V before the input.
    const double w0 = 10;
    std::vector<double> expected;
    double v = 0;
    v += w0 * std::exp(-20.0) - v / 64;
    expected.push_back(v);
    v += w0 - v / 64;
    expected.push_back(v);
    v += w0 * std::exp(-1.0) - v / 64;
    expected.push_back(v);
    v += w0 * std::exp(-2.0) - v / 64;
    expected.push_back(v);
    for (std::size_t steps = 1; steps <= 4; ++steps) {
        std::vector<float> weights = net.weight;
        sample_record rec;
        rec.final_v = true;
        sample_output out;
        w.run_events(weights, events_at(steps, {0}), steps, 1.0, rec, out);
        // final_v is stored as float: 24 bits.
        EXPECT_NEAR(out.final_v[0], expected[steps - 1], 2e-6 * (1 + expected[steps - 1]))
            << steps << " steps";
        EXPECT_EQ(out.input_spikes, steps >= 2 ? 1U : 0U);
        EXPECT_EQ(out.liquid_spikes, 0U);
    }
}

TEST(nalsm_hand, input_neurons_fire_at_most_every_third_step) {
    const liquid net = chain(0.0F);
    model_params mp;
    const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, 1);
    worker w(net, mp, layout);
    std::vector<float> weights = net.weight;
    sample_output out;
    // Events every step from t = 0: spikes at t = 1, 4, 7, ... (refractory 2 steps).
    std::set<std::size_t> every;
    for (std::size_t t = 0; t < 30; ++t) {
        every.insert(t);
    }
    w.run_events(weights, events_at(30, every), 30, 1.0, {}, out);
    EXPECT_EQ(out.input_spikes, 10U);  // t = 1, 4, ..., 28
    // Events while refractory merge into the next spike: events at 0, 2, 3 give spikes at 1, 4.
    w.run_events(weights, events_at(10, {0, 2, 3}), 10, 1.0, {}, out);
    EXPECT_EQ(out.input_spikes, 2U);
}

TEST(nalsm_hand, pre_before_post_potentiates_by_eta_times_the_pre_trace) {
    const liquid net = chain(25.0F);  // one input spike drives E over threshold
    model_params mp;
    mp.rule = plasticity::astro_stdp;
    mp.stdp.w_max = 30;
    const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, 1);
    worker w(net, mp, layout);
    std::vector<float> weights = net.weight;
    sample_record rec;
    rec.raster = true;
    sample_output out;
    // Input event t = 0 -> input spike t = 1 -> E: V = 25 at t = 1 -> E spike at t = 2.
    w.run_events(weights, events_at(3, {0}), 3, 1.0, rec, out);
    ASSERT_EQ(out.raster_step, std::vector<std::uint32_t>{2});
    // At t = 1 the pre spike depresses by A x_post = 0 (x_post = 0). At t = 2 the post spike
    // potentiates by eta x_pre, x_pre = d (0 + a) after t = 1.
    const double expected = 25.0 + 0.15 * (0.904774 * 0.1);
    EXPECT_NEAR(weights[0], expected, 1e-5);
    // Bounds: with w_max = 3 the same run clips the input synapse to +3.
    model_params clipped = mp;
    clipped.stdp.w_max = 3;
    worker w3(net, clipped, layout);
    std::vector<float> weights3 = net.weight;
    w3.run_events(weights3, events_at(3, {0}), 3, 1.0, rec, out);
    EXPECT_EQ(weights3[0], 3.0F);
}

TEST(nalsm_hand, astrocyte_follows_its_recursion_for_scripted_input_spikes) {
    // No synapses onto the liquid: the liquid stays silent; the input fires at t = 1, 4, 7, ...
    liquid net = chain(0.0F);
    model_params mp;
    mp.rule = plasticity::astro_stdp;
    mp.astrocyte.w_a = 0.02;
    mp.astrocyte.b_a = 0.1;
    mp.astrocyte.a0 = 0.3;
    mp.astrocyte.tau_a = 50;
    const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, 1);
    worker w(net, mp, layout);
    std::vector<float> weights = net.weight;
    std::set<std::size_t> every;
    for (std::size_t t = 0; t < 40; ++t) {
        every.insert(t);
    }
    sample_record rec;
    rec.astrocyte_trace = true;
    sample_output out;
    const double decay = 0.99;
    w.run_events(weights, events_at(40, every), 40, decay, rec, out);
    double a = 0.3;
    double w_a = 0.02;
    double b_a = 0.1;
    for (std::size_t t = 0; t < 40; ++t) {
        const double input_spikes = (t >= 1 && (t - 1) % 3 == 0) ? 1.0 : 0.0;
        a += (w_a * (0.0 - input_spikes) + b_a - a) / 50.0;
        a *= decay;
        w_a *= decay;
        b_a *= decay;
        ASSERT_NEAR(out.astrocyte[t], a, 1e-7) << "t = " << t;
    }
}

// ---------------------------------------------------------------------------------------------
// Construction and inputs.

TEST(nalsm_liquid, construction_follows_the_connection_rule) {
    liquid_params lp;  // the paper's 10 x 10 x 10 liquid
    const liquid net = build_liquid(lp, 7);
    EXPECT_EQ(net.n_exc, 800U);
    EXPECT_EQ(net.n_inh, 200U);
    EXPECT_EQ(net.n_synapses() - net.n_liquid_synapses(), 117600U);  // int(0.15 * 1000 * 784)
    // Positions: a permutation of the lattice.
    std::set<std::array<std::uint16_t, 3>> points(net.position.begin(), net.position.end());
    EXPECT_EQ(points.size(), 1000U);
    // Expected liquid synapses from the rule, per type, against the realised counts (each a
    // sum of independent Bernoullis: within 5 standard deviations).
    const std::array<double, 4> c = {lp.c_ee, lp.c_ei, lp.c_ie, lp.c_ii};
    std::array<double, 4> mean{}, var{}, got{};
    for (std::uint32_t i = 0; i < 1000; ++i) {
        for (std::uint32_t j = 0; j < 1000; ++j) {
            if (i == j) {
                continue;
            }
            double d2 = 0;
            for (int a = 0; a < 3; ++a) {
                const double d = net.position[i][a] - net.position[j][a];
                d2 += d * d;
            }
            const std::size_t type = 2 * (j >= 800) + (i >= 800);
            const double p = c[type] * std::exp(-d2 / 9.0);
            mean[type] += p;
            var[type] += p * (1 - p);
        }
    }
    for (std::uint32_t j = 0; j < 1000; ++j) {
        for (std::uint32_t q = net.out_offset[j]; q < net.out_offset[j + 1]; ++q) {
            got[2 * (j >= 800) + (net.post[q] >= 800)] += 1;
            EXPECT_EQ(net.weight[q], j < 800 ? 3.0F : -3.0F);
            EXPECT_NE(net.post[q], j) << "self-connection";
        }
    }
    for (std::size_t type = 0; type < 4; ++type) {
        EXPECT_NEAR(got[type], mean[type], 5 * std::sqrt(var[type])) << "type " << type;
    }
    // About 16.7k liquid synapses (science-spec §1.1).
    EXPECT_NEAR(static_cast<double>(net.n_liquid_synapses()), 16700, 600);
    // Input signs: about half negative.
    std::size_t negative = 0;
    for (std::size_t q = net.n_liquid_synapses(); q < net.n_synapses(); ++q) {
        negative += net.weight[q] < 0;
    }
    EXPECT_NEAR(static_cast<double>(negative), 58800, 5 * std::sqrt(117600 * 0.25));
    // Both CSR directions describe the same synapses.
    for (std::uint32_t i = 0; i < 1000; ++i) {
        for (std::uint32_t e = net.in_offset[i]; e < net.in_offset[i + 1]; ++e) {
            const std::uint32_t q = net.in_synapse[e];
            EXPECT_EQ(net.post[q], i);
            EXPECT_GE(q, net.out_offset[net.in_pre[e]]);
            EXPECT_LT(q, net.out_offset[net.in_pre[e] + 1]);
        }
    }
    // The same seed builds the same liquid; another seed another one.
    const liquid again = build_liquid(lp, 7);
    EXPECT_EQ(again.post, net.post);
    EXPECT_EQ(again.weight, net.weight);
    EXPECT_NE(build_liquid(lp, 8).post, net.post);
}

TEST(nalsm_liquid, bad_parameters_are_errors) {
    liquid_params lp;
    lp.grid = {0, 10, 10};
    EXPECT_THROW(build_liquid(lp, 1), glia::error);
    lp = {};
    lp.c_ee = 1.5;
    EXPECT_THROW(build_liquid(lp, 1), glia::error);
    lp = {};
    lp.lambda = 0;
    EXPECT_THROW(build_liquid(lp, 1), glia::error);
    const liquid net = build_liquid(liquid_params{}, 1);
    astrocyte_params ap;
    ap.regions = {11, 1, 1};
    EXPECT_THROW(make_astrocyte_layout(net, ap, 1), glia::error);
}

TEST(nalsm_liquid, astrocyte_regions_and_masks) {
    const liquid net = build_liquid(liquid_params{}, 3);
    astrocyte_params ap;
    ap.regions = {2, 2, 1};
    ap.rho = 0.4;
    const astrocyte_layout l = make_astrocyte_layout(net, ap, 3);
    EXPECT_EQ(l.n_regions, 4U);
    std::vector<std::size_t> per_region(4);
    for (std::uint32_t i = 0; i < net.n_liquid(); ++i) {
        const auto& p = net.position[i];
        EXPECT_EQ(l.region[i], (p[0] / 5U) * 2U + p[1] / 5U);
        ++per_region[l.region[i]];
    }
    EXPECT_EQ(per_region, (std::vector<std::size_t>{250, 250, 250, 250}));
    std::size_t liquid_read = 0, input_read = 0;
    for (std::uint32_t i = 0; i < net.n_total(); ++i) {
        (i < net.n_liquid() ? liquid_read : input_read) += l.reads[i];
    }
    EXPECT_EQ(liquid_read, 400U);  // exactly round(rho n) of each group
    EXPECT_EQ(input_read, 314U);
}

TEST(nalsm_inputs, events_have_the_requested_probability) {
    const std::vector<float> p = {0.0F, 0.02F, 0.3F, 0.9F, 1.0F};
    input_events ev;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> scratch;
    const std::size_t steps = 200000;
    draw_input_events(p, steps, 5, phase_features, 42, ev, scratch);
    std::vector<double> count(p.size());
    for (std::size_t t = 0; t < steps; ++t) {
        std::uint32_t last = 0;
        for (std::uint32_t e = ev.offset[t]; e < ev.offset[t + 1]; ++e) {
            if (e > ev.offset[t]) {
                ASSERT_GT(ev.pixel[e], last) << "pixels ascend within a step";
            }
            last = ev.pixel[e];
            count[ev.pixel[e]] += 1;
        }
    }
    for (std::size_t k = 0; k < p.size(); ++k) {
        const double n = static_cast<double>(steps);
        const double sd = std::sqrt(n * p[k] * (1 - p[k]));
        EXPECT_NEAR(count[k], n * p[k], 5 * sd + 1e-9) << "pixel " << k;
    }
    // Geometric gaps: the fraction of steps where pixel 2 has an event right after one is p.
    // (Independence across steps, not only the right marginal rate.)
    std::vector<char> has(steps);
    for (std::size_t t = 0; t < steps; ++t) {
        for (std::uint32_t e = ev.offset[t]; e < ev.offset[t + 1]; ++e) {
            has[t] = has[t] || ev.pixel[e] == 2;
        }
    }
    double pairs = 0, firsts = 0;
    for (std::size_t t = 0; t + 1 < steps; ++t) {
        if (has[t]) {
            firsts += 1;
            pairs += has[t + 1];
        }
    }
    EXPECT_NEAR(pairs / firsts, 0.3, 5 * std::sqrt(0.3 * 0.7 / firsts));
    // Same coordinates, same events; another sample key, other events.
    input_events again, other;
    draw_input_events(p, steps, 5, phase_features, 42, again, scratch);
    draw_input_events(p, steps, 5, phase_features, 43, other, scratch);
    EXPECT_EQ(again.pixel, ev.pixel);
    EXPECT_NE(other.pixel, ev.pixel);
}

TEST(nalsm_protocol, features_are_identical_for_one_and_two_threads) {
    liquid_params lp;
    lp.grid = {5, 5, 4};
    lp.n_input = 50;
    const liquid net = build_liquid(lp, 11);
    model_params mp;
    const astrocyte_layout layout = make_astrocyte_layout(net, mp.astrocyte, 11);
    std::mt19937 gen(3);
    std::uniform_real_distribution<float> u(0.0F, 0.4F);
    const std::size_t rows = 24;
    std::vector<float> p(rows * lp.n_input);
    for (float& v: p) {
        v = u(gen);
    }
    std::vector<std::size_t> key(rows);
    for (std::size_t r = 0; r < rows; ++r) {
        key[r] = 1000 + r;
    }
    const encoded_samples samples{p, key};
    init_params ip;
    ip.samples = 30;
    const init_result init = initialize(net, mp, layout, samples, ip, 11);
    ASSERT_EQ(init.samples_done, 30U);
    EXPECT_NE(init.weights, net.weight);
    feature_params fp;
    fp.steps = 100;
    fp.bins = 4;
    fp.final_v = true;
    feature_block one, two;
    tbb::task_arena(1).execute(
        [&] { one = compute_features(net, mp, layout, init.weights, samples, 0, rows, fp, 11); });
    tbb::task_arena(2).execute(
        [&] { two = compute_features(net, mp, layout, init.weights, samples, 0, rows, fp, 11); });
    EXPECT_EQ(one.values, two.values);
    EXPECT_EQ(one.final_a, two.final_a);
    EXPECT_EQ(one.width, 100U * 6U);
    // A block of the rows gives the same rows.
    feature_block part;
    part = compute_features(net, mp, layout, init.weights, samples, 10, 5, fp, 11);
    EXPECT_TRUE(std::equal(part.values.begin(), part.values.end(),
                           one.values.begin() + 10 * one.width));
    // A worker of its own (recomputing the reset current from the weights) gives row 3.
    {
        worker w(net, mp, layout);
        std::vector<float> weights = init.weights;
        sample_record rec;
        rec.bins = 4;
        rec.final_v = true;
        sample_output out;
        w.run(weights, std::span<const float>(p).subspan(3 * lp.n_input, lp.n_input), fp.steps,
              fp.decay, 11, phase_features, key[3], rec, out);
        EXPECT_TRUE(std::equal(out.counts.begin(), out.counts.end(),
                               one.values.begin() + 3 * one.width));
    }
    // Counts equal the sum of the binned counts.
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t i = 0; i < 100; ++i) {
            float sum = 0;
            for (std::size_t b = 0; b < 4; ++b) {
                sum += one.values[r * one.width + 100 + b * 100 + i];
            }
            ASSERT_EQ(sum, one.values[r * one.width + i]);
        }
    }
    std::uint64_t total = 0;
    for (auto s: one.liquid_spikes) {
        total += s;
    }
    EXPECT_GT(total, 0U);
}

// ---------------------------------------------------------------------------------------------
// Branching factor on a hand-made raster (science-spec §1.8).

TEST(branching_factor, hand_made_raster_on_a_chain) {
    // 0 -> 1 -> 2.
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
}  // namespace glia::reservoir::nalsm
