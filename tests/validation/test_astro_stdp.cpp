// NALSM's astrocyte and astro-modulated STDP in the general engine (docs/models/
// nalsm_astrocyte.md; science-spec §1.4-1.5): the nalsm_astrocyte modulator's A(t), indexed by
// spike time, follows its recursion for scripted spikes; astro_stdp changes weights exactly as
// the per-step rule that pairs presynaptic arrival times with postsynaptic spike times, for
// scripted spikes (E, I and input roles, bounds included; modes astro, symmetric and frozen),
// and a recurrent network gives the same A(t), spikes and weights for any thread and partition
// count.

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

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
    m.type = "nalsm_astrocyte";
    if (!excite.empty()) {
        m.roles["excite"] = std::move(excite);
    }
    if (!inhibit.empty()) {
        m.roles["inhibit"] = std::move(inhibit);
    }
    m.params = {{"w", test::c(w)},         {"b", test::c(b)},   {"tau", test::c(tau)},
                {"initial", test::c(initial)}, {"rho", test::c(rho)}, {"decay", test::c(decay)}};
    return m;
}

// NALSM's recursion, indexed by spike time: A(0) = a0;
//   A(t + 1) = decay (A(t) + (w C(t) + dt (b - A(t))) / tau), then w and b times decay,
// C(t) the signed count of the read spikes whose time is t dt (emitted in step t - 1; C(0) = 0).
// `count` is keyed by that time in steps. Returns A(0) .. A(n_steps).
std::vector<double> recursion(const std::map<step_t, double>& count, step_t n_steps, double dt,
                              double w, double b, double tau, double a0, double decay) {
    std::vector<double> A{a0};
    for (step_t t = 0; t < n_steps; ++t) {
        const auto it = count.find(t);
        const double c = it == count.end() ? 0.0 : it->second;
        A.push_back(decay * (A.back() + (w * c + dt * (b - A.back())) / tau));
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
    // The reference reads the scripted times: a spike at t ms is emitted in step t / dt - 1,
    // so its time is t / dt steps and it counts in C(t / dt).
    std::map<step_t, double> count;
    std::size_t n_scripted = 0;
    for (const auto& p: {std::pair{&liquid, 1.0}, std::pair{&in, -1.0}}) {
        for (const auto& times: p.first->spike_times) {
            for (double t: times) {
                count[static_cast<step_t>(std::llround(t / dt))] += p.second;
                ++n_scripted;
            }
        }
    }
    ASSERT_EQ(out.recorded_spikes.size(), n_scripted);
    // ... and the spikes were emitted where the reference puts them.
    for (const auto& s: out.recorded_spikes) {
        EXPECT_TRUE(count.count(s.step + 1) > 0) << "a spike in step " << s.step;
    }
    const auto n_steps = static_cast<step_t>(std::llround(duration / dt));
    const auto expected = recursion(count, n_steps, dt, w, b, tau, a0, decay);
    const auto levels = sim.modulator_level("astro");
    EXPECT_EQ(levels.first_step, 0);
    EXPECT_EQ(levels.n_regions, 1U);
    const auto& level = levels.values;
    ASSERT_EQ(level.size(), expected.size());  // times 0 .. now()
    EXPECT_EQ(level[0], a0);
    for (std::size_t t = 0; t < level.size(); ++t) {
        EXPECT_NEAR(level[t], expected[t], 1e-12) << "time " << t << " steps";
    }
    // It reacts: 3 liquid spikes at 5 ms against none of the input, counted in C(5 ms), so
    // A jumps from time 5 ms to the next step.
    const auto s5 = static_cast<std::size_t>(std::llround(5.0 / dt));
    EXPECT_GT(level[s5 + 1] - level[s5], 0.5 * w * 3 / tau);
}

INSTANTIATE_TEST_SUITE_P(dt_and_decay, astrocyte_recursion,
                         testing::Values(astro_case{1.0, 1.0}, astro_case{1.0, 0.99},
                                         astro_case{0.5, 1.0}));

TEST(astrocyte_mask, reads_exactly_round_rho_n_neurons_of_each_population) {
    // Neuron k of `liquid` spikes alone at time 10 k + 6 ms (emitted in step 10 k + 5): a jump
    // of A from that time to the next shows it is read.
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
    const auto level = sim.modulator_level("astro").values;
    ASSERT_EQ(level.size(), 10 * n + 11);
    std::size_t read = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t t = 10 * k + 6;  // the spike's time: C(t) counts it, A(t + 1) holds it
        // A(t + 1) = A(t) + (C(t) - A(t)) / 10 (w 1, b 0, tau 10, dt 1)
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
    int mode = 0;  // 0 astro, 1 symmetric (A replaced by eta), 2 frozen
};

struct pair_scenario {
    std::vector<double> pre, drive;  // [ms]
    double w0 = 1.0, delay = 1.0, duration = 200.0;
};

// The astrocyte of run_pairs.
constexpr double astro_w = 0.3, astro_b = 0.2, astro_tau = 5.0, astro_initial = 0.25;

struct pair_outcome {
    double weight = 0;
    std::vector<step_t> pre, post;  // emission steps
    std::vector<double> level;      // A at times 0 .. duration (empty without a modulator)
};

// pre (a spike source) -> post (iaf_psc_delta, driven to spike by `drive`) through astro_stdp;
// the astrocyte counts post spikes (+) and pre spikes (-), so that A varies. Without
// `with_modulator` the experiment has no modulator and the projection names none.
pair_outcome run_pairs(const pair_scenario& sc, const stdp_params& p, bool with_modulator = true) {
    auto e = test::experiment(1.0, sc.duration);
    auto pre = test::population("pre", "spike_source_array", 1);
    pre.spike_times = {sc.pre};
    auto drive = test::population("drive", "spike_source_array", 1);
    drive.spike_times = {sc.drive};
    auto post = test::population("post", "iaf_psc_delta", 1,
                                 {{"E_L", 0}, {"V_th", 500}, {"V_reset", 0}, {"t_ref", 0},
                                  {"tau_m", 10}, {"C_m", 250}, {"V_min", -1e9}});
    e.populations = {pre, drive, post};
    auto pl = test::projection("plastic", "pre", "post", rule::all_to_all, test::c(sc.w0),
                               test::c(sc.delay));
    pl.synapse = "astro_stdp";
    if (with_modulator) {
        e.modulators = {astrocyte({"post"}, {"pre"}, astro_w, astro_b, astro_tau,
                                  astro_initial)};
        pl.modulator = "astro";
    }
    pl.plasticity = {{"role", test::c(p.role)},   {"eta", test::c(p.eta)},
                     {"a", test::c(p.a)},         {"d", test::c(p.d)},
                     {"w_max", test::c(p.w_max)}, {"eta_decay", test::c(p.eta_decay)},
                     {"mode", test::c(p.mode)}};
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
    if (with_modulator) {
        o.level = sim.modulator_level("astro").values;
    }
    return o;
}

// Spike times in steps (dt = 1 ms): a presynaptic spike emitted in step T arrives at time
// T + D (D the delay in steps); a postsynaptic spike emitted in step p happens at time p + 1.
std::vector<step_t> arrival_times(const pair_outcome& o, const pair_scenario& sc) {
    const auto D = static_cast<step_t>(std::llround(sc.delay));
    std::vector<step_t> t;
    for (step_t s: o.pre) {
        t.push_back(s + D);
    }
    return t;
}

std::vector<step_t> post_times(const pair_outcome& o) {
    std::vector<step_t> t;
    for (step_t s: o.post) {
        t.push_back(s + 1);
    }
    return t;
}

// run_pairs' astrocyte from the recorded spikes (post +1, pre -1 at their spike times).
std::vector<double> pair_level(const pair_outcome& o, const pair_scenario& sc) {
    std::map<step_t, double> count;
    for (step_t s: o.post) {
        count[s + 1] += 1.0;
    }
    for (step_t s: o.pre) {
        count[s + 1] -= 1.0;
    }
    return recursion(count, static_cast<step_t>(std::llround(sc.duration)), 1.0, astro_w,
                     astro_b, astro_tau, astro_initial, 1.0);
}

// The rule written per time step from its equations, as NALSM runs it (dt = 1 ms): at each
// time t, with S_j(t) a presynaptic arrival at t and S_i(t) a postsynaptic spike at t,
//   dw = L+(t) x_j(t) S_i(t) + L-(t) x_i(t) S_j(t), then w clipped to the role's bounds
// (both terms of a time added before the one clip); x(t) = sum over events at times u < t of
// a d^((t - u) dt); eta(t) = eta eta_decay^t; excitatory and input: L+ = eta, L- = -A;
// inhibitory: L+ = -A, L- = eta; A(t) = level[t] (mode astro) or eta(t) (symmetric); frozen:
// no change.
double reference(const pair_outcome& o, const stdp_params& p, const pair_scenario& sc,
                 const std::vector<double>& level) {
    const double dt = 1.0;
    const double lo = p.role == 0 ? 0.0 : -p.w_max;
    const double hi = p.role == 1 ? 0.0 : p.w_max;
    const auto arrivals = arrival_times(o, sc);
    const auto posts = post_times(o);
    const std::set<step_t> pre(arrivals.begin(), arrivals.end());
    const std::set<step_t> post(posts.begin(), posts.end());
    auto trace = [&](const std::set<step_t>& s, step_t t) {
        double x = 0;
        for (step_t u: s) {
            if (u < t) {
                x += p.a * std::pow(p.d, static_cast<double>(t - u) * dt);
            }
        }
        return x;
    };
    double w = sc.w0;
    if (p.mode == 2) {
        return w;
    }
    const step_t last = std::max(pre.empty() ? 0 : *pre.rbegin(), post.empty() ? 0 : *post.rbegin());
    for (step_t t = 0; t <= last; ++t) {
        const bool s_i = post.count(t) > 0;
        const bool s_j = pre.count(t) > 0;
        if (!s_i && !s_j) {
            continue;
        }
        const double eta = p.eta * std::pow(p.eta_decay, static_cast<double>(t));
        const double A = p.mode == 1 ? eta : level.at(static_cast<std::size_t>(t));
        const double l_plus = p.role == 1 ? -A : eta;
        const double l_minus = p.role == 1 ? eta : -A;
        const double dw = (s_i ? l_plus * trace(pre, t) : 0.0) + (s_j ? l_minus * trace(post, t) : 0.0);
        w = std::clamp(w + dw, lo, hi);
    }
    return w;
}

// Times at which a presynaptic arrival and a postsynaptic spike coincide.
std::size_t coincidences(const pair_outcome& o, const pair_scenario& sc) {
    auto arrivals = arrival_times(o, sc);
    auto posts = post_times(o);
    std::sort(arrivals.begin(), arrivals.end());
    std::vector<step_t> both;
    std::set_intersection(arrivals.begin(), arrivals.end(), posts.begin(), posts.end(),
                          std::back_inserter(both));
    return both.size();
}

// The spikes are where the scenario puts them: pre at t ms in step t - 1, post in the step
// of the drive's arrival (drive at t ms, delay 1 ms: step t).
void expect_scripted_spikes(const pair_outcome& o, const pair_scenario& sc) {
    ASSERT_EQ(o.pre.size(), sc.pre.size());
    ASSERT_EQ(o.post.size(), sc.drive.size());  // the plastic input never makes post fire
    for (std::size_t k = 0; k < o.pre.size(); ++k) {
        EXPECT_EQ(o.pre[k], std::llround(sc.pre[k]) - 1);
    }
    for (std::size_t k = 0; k < o.post.size(); ++k) {
        EXPECT_EQ(o.post[k], std::llround(sc.drive[k]));
    }
}

struct pair_case {
    const char* name;
    stdp_params p;
    pair_scenario sc;
    std::size_t coincident;  // arrivals at the time of a post spike (both terms at once)
    double lo_hit, hi_hit;   // a bound the weight must end on (NaN: none)
};

// A spike time t (ms) is emitted in step t - 1; the drive at t makes post spike in step t, at
// time t + 1 (its delay is 1 ms). With delay 1 ms, pre at 14, 41 and 63 arrive when post
// spikes (drive 13, 40, 62); with delay 3 ms pre arrives at t + 2: 60 and 61 (drive 61, 62).
const std::vector<double> pre_times = {10, 14, 30, 33, 41, 60, 61, 63, 90, 120};
const std::vector<double> drive_times = {13, 25, 33, 40, 61, 62, 100, 122};

void PrintTo(const pair_case& c, std::ostream* os) { *os << c.name; }

class astro_stdp_pairs: public testing::TestWithParam<pair_case> {};

TEST_P(astro_stdp_pairs, weight_follows_the_per_step_rule) {
    const auto& c = GetParam();
    const auto o = run_pairs(c.sc, c.p);
    expect_scripted_spikes(o, c.sc);
    EXPECT_EQ(coincidences(o, c.sc), c.coincident);
    // The level the rule reads is the astrocyte's recursion (its own test is above).
    const auto level = pair_level(o, c.sc);
    ASSERT_EQ(o.level.size(), level.size());
    for (std::size_t t = 0; t < level.size(); ++t) {
        ASSERT_NEAR(o.level[t], level[t], 1e-12) << "time " << t;
    }
    const double expected = reference(o, c.p, c.sc, level);
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
        pair_case{"excitatory", {0}, {pre_times, drive_times, 1.0}, 3, none, none},
        pair_case{"inhibitory", {1}, {pre_times, drive_times, -1.0}, 3, none, none},
        pair_case{"input", {2}, {pre_times, drive_times, 0.5}, 3, none, none},
        // Arrival-time pairing: with a delay of 3 ms a pre spike pairs at its arrival.
        pair_case{"excitatory_decaying_eta_longer_delay",
                  {0, 0.15, 0.1, 0.904774, 3.0, 0.99},
                  {pre_times, drive_times, 1.0, 3.0}, 2, none, none},
        pair_case{"inhibitory_decaying_eta_longer_delay",
                  {1, 0.15, 0.1, 0.904774, 3.0, 0.99},
                  {pre_times, drive_times, -1.0, 3.0}, 2, none, none},
        // Bounds: big LTP pushes E to w_max; LTD (A x_i) pushes E to 0; inhibition
        // strengthened (-A x_j) to -w_max; input weights cross zero and stop at -w_max.
        pair_case{"excitatory_upper_bound",
                  {0, 5.0, 0.5, 0.904774, 3.0, 1.0},
                  {{10, 20, 30}, {12, 22, 32}, 2.0}, 0, none, 3.0},
        pair_case{"excitatory_lower_bound",
                  {0, 0.15, 1.0, 0.904774, 3.0, 1.0},
                  {{12, 22, 32, 42, 52}, {10, 11, 20, 21, 30, 31, 40, 41, 50, 51}, 0.2}, 5, 0.0,
                  none},
        pair_case{"inhibitory_lower_bound",
                  {1, 0.15, 1.0, 0.904774, 3.0, 1.0},
                  {{10, 20, 30, 40}, {11, 21, 31, 41, 42}, -2.9}, 0, -3.0, none},
        pair_case{"input_changes_sign_and_stops_at_the_bound",
                  {2, 0.15, 1.0, 0.904774, 1.0, 1.0},
                  {{12, 22, 32, 42, 52, 62}, {10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61},
                   0.3},
                  6, -1.0, none}),
    [](const testing::TestParamInfo<pair_case>& i) { return std::string(i.param.name); });

// Mode symmetric (NALSM's LSM+STDP baseline) reads no modulator: a projection without one
// builds, and the weight follows the astro rule with A(t) replaced by eta(t); a modulator,
// when named, changes nothing. Mode frozen keeps the weight.
TEST(astro_stdp_modes, symmetric_needs_no_modulator_and_replaces_A_by_eta) {
    for (int role: {0, 1, 2}) {
        SCOPED_TRACE(role);
        stdp_params p;
        p.role = role;
        p.eta_decay = 0.99;  // eta(t) varies: A must be eta at the time of each pairing
        p.mode = 1;
        const pair_scenario sc{pre_times, drive_times, role == 0 ? 1.0 : role == 1 ? -1.0 : 0.5,
                               3.0};
        const auto o = run_pairs(sc, p, false);
        expect_scripted_spikes(o, sc);
        EXPECT_TRUE(o.level.empty());
        const double expected = reference(o, p, sc, {});
        EXPECT_NEAR(o.weight, expected, 1e-12);
        EXPECT_NE(o.weight, sc.w0);
        // With the astrocyte named, symmetric ignores it ...
        const auto with = run_pairs(sc, p, true);
        EXPECT_EQ(with.weight, o.weight);
        // ... while mode astro reads it (A differs from eta here).
        p.mode = 0;
        const auto astro = run_pairs(sc, p, true);
        EXPECT_NEAR(astro.weight, reference(astro, p, sc, pair_level(astro, sc)), 1e-12);
        EXPECT_GT(std::abs(astro.weight - o.weight), 1e-6);
        // Frozen: no change, without a modulator.
        p.mode = 2;
        const auto frozen = run_pairs(sc, p, false);
        expect_scripted_spikes(frozen, sc);
        EXPECT_EQ(frozen.weight, sc.w0);
    }
}

TEST(astro_stdp, refuses_weights_outside_the_role_bounds_and_a_modulator_without_a_level) {
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
    const auto error_of = [](const experiment_spec& spec) -> std::string {
        try {
            simulation sim(spec, test::builtin_models(), test::quiet_context());
        }
        catch (const error& ex) {
            return ex.what();
        }
        return "(no error)";
    };
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic (astro_stdp): initial weight -1 is outside "
                                 "the bounds of role excitatory: [0, 3] (w_max = 3)"));
    e.projections[0].weight = test::c(0.5);
    e.projections[0].plasticity = {{"role", test::c(1)}};
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic (astro_stdp): initial weight 0.5 is outside "
                                 "the bounds of role inhibitory: [-3, 0] (w_max = 3)"));
    e.projections[0].weight = test::c(-2.5);
    e.projections[0].plasticity = {{"role", test::c(2)}, {"w_max", test::c(2)}};
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic (astro_stdp): initial weight -2.5 is outside "
                                 "the bounds of role input: [-2, 2] (w_max = 2)"));
    // On the bounds is inside.
    e.projections[0].weight = test::c(-2.0);
    EXPECT_EQ(error_of(e), "(no error)");
    // Mode astro reads a level, which a volume transmitter does not make ...
    modulator_spec vt;
    vt.name = "astro";
    vt.type = "volume_transmitter";
    vt.roles["population"] = {"pre"};
    e.modulators = {vt};
    e.projections[0].weight = test::c(1.0);
    e.projections[0].plasticity.clear();
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic.modulator: rule astro_stdp reads a level "
                                 "(e.g. nalsm_astrocyte); 'astro' is a volume_transmitter, which "
                                 "makes events (e.g. volume_transmitter)"));
    // ... nor does a volume transmitter's rule read a level.
    e.modulators = {astrocyte({"post"}, {}, 0.1, 0.1, 10, 0.1)};
    e.projections[0].synapse = "stdp_dopamine";
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic.modulator: rule stdp_dopamine reads events "
                                 "(e.g. volume_transmitter); 'astro' is a nalsm_astrocyte, which "
                                 "makes a level (e.g. nalsm_astrocyte)"));
    // Mode astro needs a modulator; symmetric and frozen do not.
    e.projections[0].synapse = "astro_stdp";
    e.projections[0].modulator.clear();
    e.modulators.clear();
    EXPECT_THAT(error_of(e), testing::HasSubstr(
                                 "projections.plastic: rule astro_stdp needs a modulator (set "
                                 "modulator: to one of the experiment's modulators)"));
    for (int mode: {1, 2}) {
        e.projections[0].plasticity = {{"mode", test::c(mode)}};
        EXPECT_EQ(error_of(e), "(no error)") << "mode " << mode;
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
    r.level = sim.modulator_level("astro").values;
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
