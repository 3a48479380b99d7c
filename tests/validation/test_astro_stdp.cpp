// NALSM's astrocyte and astro-modulated STDP in the general engine (docs/models/
// nalsm_astrocyte.md; science-spec §1.4-1.5): the nalsm_astrocyte modulator's A(t) follows its
// recursion for scripted spikes, astro_stdp changes weights exactly as the per-step rule for
// scripted spike pairs (E, I and input roles, bounds included), and a recurrent network gives
// the same A(t), spikes and weights for any thread and partition count.

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <ostream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

modulator_spec astrocyte(std::vector<std::string> excite, std::vector<std::string> inhibit,
                         double w, double b, double tau, double initial, double rho = 1.0,
                         double decay = 1.0) {
    modulator_spec m;
    m.name = "astro";
    m.astrocyte = true;
    m.excite = std::move(excite);
    m.inhibit = std::move(inhibit);
    m.w = w;
    m.b = b;
    m.tau = tau;
    m.initial = initial;
    m.rho = rho;
    m.decay = decay;
    return m;
}

// A(t + 1) = A(t) + (w C(t) + dt (b - A(t))) / tau, then A, w, b times decay; C(t) the
// liquid spikes minus the input spikes of step t.
std::vector<double> recursion(const std::map<step_t, double>& count, step_t n_steps, double dt,
                              double w, double b, double tau, double a0, double decay) {
    std::vector<double> A{a0};
    for (step_t t = 0; t < n_steps; ++t) {
        const auto it = count.find(t);
        const double c = it == count.end() ? 0.0 : it->second;
        A.push_back((A.back() + (w * c + dt * (b - A.back())) / tau) * decay);
        w *= decay;
        b *= decay;
    }
    return A;
}

struct astro_case {
    double dt, decay;
};

void PrintTo(const astro_case& c, std::ostream* os) {
    *os << "dt " << c.dt << " ms, decay " << c.decay;
}

class astrocyte_recursion: public testing::TestWithParam<astro_case> {};

TEST_P(astrocyte_recursion, level_equals_the_recursion_for_scripted_spikes) {
    const auto [dt, decay] = GetParam();
    const double duration = 60.0;
    auto e = test::experiment(dt, duration);
    auto liquid = test::population("liquid", "spike_source_array", 3);
    liquid.spike_times = {{2, 5, 9, 30}, {5, 6, 7, 8, 9, 10, 40}, {5, 11}};
    auto in = test::population("in", "spike_source_array", 2);
    in.spike_times = {{3, 9, 20, 21}, {9, 50}};
    e.populations = {liquid, in};
    const double w = 0.2, b = 0.15, tau = 10.0, a0 = 0.4;
    e.modulators = {astrocyte({"liquid"}, {"in"}, w, b, tau, a0, 1.0, decay)};
    test::record_all_spikes(e);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    // The reference reads the scripted times (a spike at t ms is emitted in step t / dt - 1).
    std::map<step_t, double> count;
    std::size_t n_scripted = 0;
    for (const auto& p: {std::pair{&liquid, 1.0}, std::pair{&in, -1.0}}) {
        for (const auto& times: p.first->spike_times) {
            for (double t: times) {
                count[static_cast<step_t>(std::llround(t / dt)) - 1] += p.second;
                ++n_scripted;
            }
        }
    }
    ASSERT_EQ(out.recorded_spikes.size(), n_scripted);
    const auto n_steps = static_cast<step_t>(std::llround(duration / dt));
    const auto expected = recursion(count, n_steps, dt, w, b, tau, a0, decay);
    const auto level = sim.astrocyte_level("astro");
    ASSERT_EQ(level.size(), expected.size());
    for (std::size_t t = 0; t < level.size(); ++t) {
        EXPECT_NEAR(level[t], expected[t], 1e-12) << "step " << t;
    }
    // It reacts: 6 liquid spikes at 5 ms against none of the input.
    const auto s5 = static_cast<std::size_t>(std::llround(5.0 / dt));
    EXPECT_GT(level[s5] - level[s5 - 1], 0.5 * w * 3 / tau);
}

INSTANTIATE_TEST_SUITE_P(dt_and_decay, astrocyte_recursion,
                         testing::Values(astro_case{1.0, 1.0}, astro_case{1.0, 0.99},
                                         astro_case{0.5, 1.0}));

TEST(astrocyte_mask, reads_exactly_round_rho_n_neurons_of_each_population) {
    // Neuron k of `liquid` spikes alone at step 10 k + 5: a jump of A at that step shows it is
    // read.
    const std::size_t n = 10;
    auto e = test::experiment(1.0, 10.0 * n + 10);
    auto liquid = test::population("liquid", "spike_source_array", n);
    liquid.spike_times.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
        liquid.spike_times[k] = {10.0 * static_cast<double>(k) + 6};
    }
    e.populations = {liquid};
    e.modulators = {astrocyte({"liquid"}, {}, 1.0, 0.0, 10.0, 0.0, 0.3)};
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    const auto level = sim.astrocyte_level("astro");
    std::size_t read = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t t = 10 * k + 5;  // the spike's step; A(t + 1) holds it
        const double jump = level[t + 1] - level[t] * (1 - 0.1);
        EXPECT_TRUE(std::abs(jump) < 1e-12 || std::abs(jump - 0.1) < 1e-12) << jump;
        read += jump > 0.05 ? 1 : 0;
    }
    EXPECT_EQ(read, 3U);  // round(0.3 * 10)
}

// ---- astro_stdp with scripted pairs ----

struct stdp_params {
    int role = 0;  // 0 excitatory, 1 inhibitory, 2 input
    double eta = 0.15, a = 0.1, d = 0.904774, w_max = 3.0, eta_decay = 1.0;
};

struct pair_scenario {
    std::vector<double> pre, drive;  // [ms]
    double w0 = 1.0, delay = 1.0, duration = 200.0;
};

struct pair_outcome {
    double weight = 0;
    std::vector<step_t> pre, post;  // emission steps
    std::vector<double> level;
};

// pre (a spike source) -> post (iaf_psc_delta, driven to spike by `drive`) through astro_stdp;
// the astrocyte counts post spikes (+) and pre spikes (-), so that A varies.
pair_outcome run_pairs(const pair_scenario& sc, const stdp_params& p) {
    auto e = test::experiment(1.0, sc.duration);
    auto pre = test::population("pre", "spike_source_array", 1);
    pre.spike_times = {sc.pre};
    auto drive = test::population("drive", "spike_source_array", 1);
    drive.spike_times = {sc.drive};
    auto post = test::population("post", "iaf_psc_delta", 1,
                                 {{"E_L", 0}, {"V_th", 500}, {"V_reset", 0}, {"t_ref", 0},
                                  {"tau_m", 10}, {"C_m", 250}, {"V_min", -1e9}});
    e.populations = {pre, drive, post};
    e.modulators = {astrocyte({"post"}, {"pre"}, 0.3, 0.2, 5.0, 0.25)};
    auto pl = test::projection("plastic", "pre", "post", rule::all_to_all, test::c(sc.w0),
                               test::c(sc.delay));
    pl.synapse = "astro_stdp";
    pl.modulator = "astro";
    pl.plasticity = {{"role", test::c(p.role)}, {"eta", test::c(p.eta)},
                     {"a", test::c(p.a)},       {"d", test::c(p.d)},
                     {"w_max", test::c(p.w_max)}, {"eta_decay", test::c(p.eta_decay)}};
    auto dr = test::projection("drive", "drive", "post", rule::one_to_one, test::c(1000.0),
                               test::c(1.0));
    e.projections = {pl, dr};
    test::record_all_spikes(e);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    pair_outcome o;
    for (const auto& s: out.recorded_spikes) {
        if (s.gid == 0) {
            o.pre.push_back(s.step);
        } else if (s.gid == 2) {
            o.post.push_back(s.step);
        }
    }
    o.weight = sim.weights("plastic").at(0).weight;
    o.level = sim.astrocyte_level("astro");
    return o;
}

// The rule written per step, as NALSM runs it: traces as sums over earlier spikes, both terms
// of a step added before the clip.
double reference(const pair_outcome& o, const stdp_params& p, double w0) {
    const double lo = p.role == 0 ? 0.0 : -p.w_max;
    const double hi = p.role == 1 ? 0.0 : p.w_max;
    const std::set<step_t> pre(o.pre.begin(), o.pre.end());
    const std::set<step_t> post(o.post.begin(), o.post.end());
    auto trace = [&](const std::set<step_t>& s, step_t t) {
        double x = 0;
        for (step_t u: s) {
            if (u < t) {
                x += p.a * std::pow(p.d, static_cast<double>(t - u));
            }
        }
        return x;
    };
    double w = w0;
    const step_t last = std::max(o.pre.empty() ? 0 : o.pre.back(), o.post.empty() ? 0 : o.post.back());
    for (step_t t = 0; t <= last; ++t) {
        const bool s_i = post.count(t) > 0;
        const bool s_j = pre.count(t) > 0;
        if (!s_i && !s_j) {
            continue;
        }
        const double eta = p.eta * std::pow(p.eta_decay, static_cast<double>(t));
        const double A = o.level.at(static_cast<std::size_t>(t));
        const double l_plus = p.role == 1 ? -A : eta;
        const double l_minus = p.role == 1 ? eta : -A;
        const double dw = (s_i ? l_plus * trace(pre, t) : 0.0) + (s_j ? l_minus * trace(post, t) : 0.0);
        w = std::clamp(w + dw, lo, hi);
    }
    return w;
}

struct pair_case {
    const char* name;
    stdp_params p;
    pair_scenario sc;
    double lo_hit, hi_hit;  // a bound the weight must end on (NaN: none)
};

// A spike time t (ms) is emitted in step t - 1; the drive at t makes post spike in step t
// (its delay is 1 ms). Pre at 14, 41 and 63: pre and post spike in the same step.
const std::vector<double> pre_times = {10, 14, 30, 33, 41, 60, 61, 63, 90, 120};
const std::vector<double> drive_times = {13, 25, 33, 40, 61, 62, 100, 122};

void PrintTo(const pair_case& c, std::ostream* os) { *os << c.name; }

class astro_stdp_pairs: public testing::TestWithParam<pair_case> {};

TEST_P(astro_stdp_pairs, weight_follows_the_per_step_rule) {
    const auto& c = GetParam();
    const auto o = run_pairs(c.sc, c.p);
    ASSERT_EQ(o.pre.size(), c.sc.pre.size());
    ASSERT_EQ(o.post.size(), c.sc.drive.size());  // the plastic input never makes post fire
    if (c.sc.pre == pre_times) {  // both terms in one step happen here
        std::vector<step_t> both;
        std::set_intersection(o.pre.begin(), o.pre.end(), o.post.begin(), o.post.end(),
                              std::back_inserter(both));
        EXPECT_EQ(both.size(), 3U);
    }
    const double expected = reference(o, c.p, c.sc.w0);
    EXPECT_NEAR(o.weight, expected, 1e-12);
    EXPECT_NE(o.weight, c.sc.w0);  // the scenario does change the weight
    if (!std::isnan(c.lo_hit)) {
        EXPECT_EQ(o.weight, c.lo_hit);
    }
    if (!std::isnan(c.hi_hit)) {
        EXPECT_EQ(o.weight, c.hi_hit);
    }
}

constexpr double none = std::numeric_limits<double>::quiet_NaN();

INSTANTIATE_TEST_SUITE_P(
    roles, astro_stdp_pairs,
    testing::Values(
        pair_case{"excitatory", {0}, {pre_times, drive_times, 1.0}, none, none},
        pair_case{"inhibitory", {1}, {pre_times, drive_times, -1.0}, none, none},
        pair_case{"input", {2}, {pre_times, drive_times, 0.5}, none, none},
        pair_case{"excitatory_decaying_eta_longer_delay",
                  {0, 0.15, 0.1, 0.904774, 3.0, 0.99},
                  {pre_times, drive_times, 1.0, 3.0}, none, none},
        // Bounds: big LTP pushes E to w_max; LTD (A x_i) pushes E to 0; inhibition
        // strengthened (-A x_j) to -w_max; input weights cross zero and stop at -w_max.
        pair_case{"excitatory_upper_bound",
                  {0, 5.0, 0.5, 0.904774, 3.0, 1.0},
                  {{10, 20, 30}, {12, 22, 32}, 2.0}, none, 3.0},
        pair_case{"excitatory_lower_bound",
                  {0, 0.15, 1.0, 0.904774, 3.0, 1.0},
                  {{12, 22, 32, 42, 52}, {10, 11, 20, 21, 30, 31, 40, 41, 50, 51}, 0.2}, 0.0,
                  none},
        pair_case{"inhibitory_lower_bound",
                  {1, 0.15, 1.0, 0.904774, 3.0, 1.0},
                  {{10, 20, 30, 40}, {11, 21, 31, 41, 42}, -2.9}, -3.0, none},
        pair_case{"input_changes_sign_and_stops_at_the_bound",
                  {2, 0.15, 1.0, 0.904774, 1.0, 1.0},
                  {{12, 22, 32, 42, 52, 62}, {10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61},
                   0.3},
                  -1.0, none}),
    [](const testing::TestParamInfo<pair_case>& i) { return std::string(i.param.name); });

TEST(astro_stdp, refuses_a_volume_transmitter_and_initial_weights_outside_the_role_bounds) {
    auto e = test::experiment(1.0, 10.0);
    e.populations = {test::population("pre", "spike_source_array", 1),
                     test::population("post", "iaf_psc_delta", 1)};
    e.populations[0].spike_times = {{2.0}};
    auto pl = test::projection("plastic", "pre", "post", rule::all_to_all, test::c(-1.0),
                               test::c(1.0));
    pl.synapse = "astro_stdp";
    pl.modulator = "astro";
    e.projections = {pl};
    e.modulators = {astrocyte({"post"}, {}, 0.1, 0.1, 10, 0.1)};
    try {
        simulation sim(e, test::builtin_models(), test::quiet_context());
        ADD_FAILURE() << "no error";
    }
    catch (const error& ex) {
        EXPECT_THAT(ex.what(), testing::HasSubstr(
                                   "initial weight -1 is outside the bounds of role excitatory: "
                                   "[0, 3] (w_max = 3)"));
    }
    modulator_spec vt;
    vt.name = "astro";
    vt.population = "pre";
    e.modulators = {vt};
    e.projections[0].weight = test::c(1.0);
    try {
        simulation sim(e, test::builtin_models(), test::quiet_context());
        ADD_FAILURE() << "no error";
    }
    catch (const error& ex) {
        EXPECT_THAT(ex.what(), testing::HasSubstr(
                                   "modulator: rule astro_stdp reads a modulator of type "
                                   "nalsm_astrocyte; 'astro' is of type volume_transmitter"));
    }
}

TEST(astrocyte_modulator, refuses_an_astrocyte_population_of_the_same_name) {
    auto e = test::experiment(1.0, 10.0);
    e.populations = {test::population("E", "spike_source_array", 2),
                     test::population("astro", "astrocyte_lr_1994", 2)};
    e.populations[0].spike_times = {{2.0}, {3.0}};
    e.modulators = {astrocyte({"E"}, {}, 0.1, 0.1, 10, 0.1)};
    try {
        simulation sim(e, test::builtin_models(), test::quiet_context());
        ADD_FAILURE() << "no error";
    }
    catch (const error& ex) {
        EXPECT_THAT(ex.what(), testing::HasSubstr(
                                   "modulators.astro: the astrocyte population 'astro' has the "
                                   "same name; both would be written under /astrocytes/astro "
                                   "(rename one)"));
    }
}

// ---- determinism ----

experiment_spec recurrent_network() {
    auto e = test::experiment(1.0, 400.0, 11);
    auto exc = test::population("E", "iaf_psc_delta", 40,
                                {{"E_L", 0}, {"V_th", 20}, {"V_reset", 0}, {"t_ref", 2},
                                 {"tau_m", 20}, {"C_m", 250}});
    auto inh = test::population("I", "iaf_psc_delta", 10,
                                {{"E_L", 0}, {"V_th", 20}, {"V_reset", 0}, {"t_ref", 2},
                                 {"tau_m", 20}, {"C_m", 250}});
    auto in = test::population("input", "poisson_source", 20, {{"rate", 40}});
    e.populations = {exc, inh, in};
    auto proj = [&](const char* name, const char* src, const char* tgt, double w, int role,
                    double p) {
        auto pr = test::projection(name, src, tgt, rule::pairwise_bernoulli, test::c(w),
                                   test::c(1.0));
        pr.connectivity.p = p;
        pr.synapse = "astro_stdp";
        pr.modulator = "astro";
        pr.plasticity = {{"role", test::c(role)}, {"eta", test::c(0.5)}, {"a", test::c(0.5)},
                         {"w_max", test::c(8.0)}};
        return pr;
    };
    e.projections = {proj("EE", "E", "E", 2.0, 0, 0.2), proj("EI", "E", "I", 2.0, 0, 0.2),
                     proj("IE", "I", "E", -4.0, 1, 0.3), proj("inE", "input", "E", 6.0, 2, 0.3),
                     proj("inI", "input", "I", 6.0, 2, 0.3)};
    e.modulators = {astrocyte({"E", "I"}, {"input"}, 0.05, 0.15, 100, 0.15, 0.5)};
    test::record_all_spikes(e);
    return e;
}

struct det_result {
    std::vector<spike_event> spikes;
    std::vector<double> level;
    std::vector<std::vector<synapse_weight>> weights;
};

det_result run_det(int threads, int partitions) {
    const auto e = recurrent_network();
    simulation sim(e, test::builtin_models(), test::quiet_context(threads, partitions));
    memory_sink out;
    sim.run(out);
    det_result r;
    r.spikes = out.recorded_spikes;
    r.level = sim.astrocyte_level("astro");
    for (const char* p: {"EE", "EI", "IE", "inE", "inI"}) {
        r.weights.push_back(sim.weights(p));
    }
    return r;
}

TEST(astro_stdp_determinism, same_level_spikes_and_weights_for_any_thread_and_partition_count) {
    const auto ref = run_det(1, 1);
    ASSERT_GT(ref.spikes.size(), 200U);
    // A moved away from its start and the weights changed: the comparison is not vacuous.
    const auto [lo, hi] = std::minmax_element(ref.level.begin(), ref.level.end());
    EXPECT_GT(*hi - *lo, 0.01);
    std::size_t changed = 0;
    for (std::size_t p = 0; p < ref.weights.size(); ++p) {
        for (const auto& w: ref.weights[p]) {
            changed += w.weight != (p == 2 ? -4.0 : p >= 3 ? 6.0 : 2.0) ? 1 : 0;
        }
    }
    EXPECT_GT(changed, 100U);
    for (const auto& [threads, partitions]: {std::pair{1, 3}, std::pair{2, 1}, std::pair{2, 3}}) {
        const auto r = run_det(threads, partitions);
        EXPECT_EQ(r.spikes, ref.spikes) << threads << " threads, " << partitions << " partitions";
        EXPECT_EQ(r.level, ref.level) << threads << " threads, " << partitions << " partitions";
        ASSERT_EQ(r.weights.size(), ref.weights.size());
        for (std::size_t p = 0; p < r.weights.size(); ++p) {
            ASSERT_EQ(r.weights[p].size(), ref.weights[p].size());
            for (std::size_t i = 0; i < r.weights[p].size(); ++i) {
                EXPECT_EQ(r.weights[p][i].weight, ref.weights[p][i].weight);
                EXPECT_EQ(r.weights[p][i].source, ref.weights[p][i].source);
                EXPECT_EQ(r.weights[p][i].target, ref.weights[p][i].target);
            }
        }
    }
}

}  // namespace
