// STDP (models/synapse/stdp.cpp) against closed forms and against NEST's documented update.

#include <algorithm>
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

struct stdp_params {
    double tau_plus = 20, tau_minus = 20, lambda = 0.01, alpha = 1.1, mu_plus = 0, mu_minus = 0;
    double Wmax = 1.0;              // [mV]
    double dendritic_fraction = 1;  // NEST's convention
    bool nearest = false;
};

void set_plasticity(projection_spec& p, const stdp_params& s) {
    p.synapse = "stdp";
    p.plasticity = {{"tau_plus", test::c(s.tau_plus)},   {"tau_minus", test::c(s.tau_minus)},
                    {"lambda", test::c(s.lambda)},       {"alpha", test::c(s.alpha)},
                    {"mu_plus", test::c(s.mu_plus)},     {"mu_minus", test::c(s.mu_minus)},
                    {"Wmax", test::c(s.Wmax)},           {"pairing", test::c(s.nearest ? 1 : 0)},
                    {"dendritic_delay_fraction", test::c(s.dendritic_fraction)}};
}

// pre: spike source(s) with plastic synapses onto one iaf_psc_delta `post`; `drive` makes post
// fire at chosen times (a strong static input with a 1-step delay). Returns the post spike
// times and the final plastic weights (after every pending update).
struct scripted_result {
    std::vector<double> post_times;  // [ms], emission time stamps
    std::vector<synapse_weight> weights;
};

scripted_result run_scripted(const std::vector<std::vector<double>>& pre_times,
                             const std::vector<double>& pre_delays,  // one per pre neuron [ms]
                             const std::vector<double>& drive_times, const stdp_params& s,
                             double w0, double duration, double dt = 0.1) {
    auto e = test::experiment(dt, duration);
    auto pre = test::population("pre", "spike_source_array", pre_times.size());
    pre.spike_times = pre_times;
    auto drive = test::population("drive", "spike_source_array", 1);
    drive.spike_times = {drive_times};
    // A neuron that fires on the drive and nowhere else: the plastic input is far too weak.
    auto post = test::population("post", "iaf_psc_delta", 1,
                                 {{"E_L", 0}, {"V_th", 10}, {"V_reset", 0}, {"t_ref", 0},
                                  {"tau_m", 10}, {"C_m", 250}});
    e.populations = {pre, drive, post};
    auto p = test::projection("plastic", "pre", "post", rule::from_list, test::c(w0), test::c(dt));
    for (std::size_t i = 0; i < pre_times.size(); ++i) {
        p.connectivity.edges.push_back(edge_spec{static_cast<neuron_id>(i), 0, w0, pre_delays[i]});
    }
    set_plasticity(p, s);
    auto d = test::projection("drive", "drive", "post", rule::one_to_one, test::c(100), test::c(dt));
    e.projections = {p, d};
    test::record_all_spikes(e);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    scripted_result r;
    const neuron_id post_gid = static_cast<neuron_id>(pre_times.size() + 1);
    for (const auto& sp: out.recorded_spikes) {
        if (sp.gid == post_gid) {
            r.post_times.push_back(static_cast<double>(sp.step + 1) * dt);
        }
    }
    r.weights = sim.weights("plastic");
    return r;
}

double power(double x, double mu) { return mu == 0 ? 1.0 : std::pow(x, mu); }

// NEST's stdp_synapse::send, transcribed from its documented update (science-spec §6.4), for
// one synapse: pre spike stamps t_pre, post spike stamps t_post, delay d (dendritic).
double nest_reference(const std::vector<double>& t_pre, const std::vector<double>& t_post,
                      double d, double w, const stdp_params& s) {
    const double eps = 1e-9;
    double Kplus = 0, t_last = 0;
    auto K_minus = [&](double t) {  // post trace at t, from spikes strictly before t
        double K = 0, last = -1e300;
        for (double tp: t_post) {
            if (t - tp > eps) {
                K = K * std::exp((last - tp) / s.tau_minus) + 1.0;
                last = tp;
            }
        }
        return last < -1e299 ? 0.0 : K * std::exp((last - t) / s.tau_minus);
    };
    for (double ts: t_pre) {
        for (double tp: t_post) {  // history (t_last - d, t_spike - d]
            if (tp > t_last - d + eps && tp <= ts - d + eps) {
                const double x = w / s.Wmax;
                const double y = x + s.lambda * power(1 - x, s.mu_plus) * Kplus *
                                         std::exp((t_last - (tp + d)) / s.tau_plus);
                w = y < 1 ? y * s.Wmax : s.Wmax;
            }
        }
        const double x = w / s.Wmax;
        const double y = x - s.alpha * s.lambda * power(x, s.mu_minus) * K_minus(ts - d);
        w = y > 0 ? y * s.Wmax : 0;
        Kplus = Kplus * std::exp((t_last - ts) / s.tau_plus) + 1.0;
        t_last = ts;
    }
    return w;
}

}  // namespace

// One pre and one post spike, offsets from -100 to +100 ms at the synapse: the weight change is
// lambda Wmax (1 - w/Wmax)^mu+ exp(-dt/tau+) after (dt > 0) and
// -alpha lambda Wmax (w/Wmax)^mu- exp(dt/tau-) before; nothing at dt = 0 (NEST).
TEST(stdp, pair_window_matches_the_analytic_curve) {
    for (const double mu: {0.0, 1.0, 0.4}) {
        stdp_params s;
        s.mu_plus = s.mu_minus = mu;
        s.tau_minus = 30;
        const double w0 = 0.5, d = 2.0, dt = 0.1;
        for (int offset = -100; offset <= 100; offset += 5) {
            // Pre at the synapse at 150 ms; post at the synapse at 150 + offset ms: the post
            // soma spike is at 150 + offset - d, made by a drive spike one step earlier.
            const double t_pre = 150.0;
            const double t_post = t_pre + offset - d;
            const auto r = run_scripted({{t_pre}}, {d}, {t_post - dt}, s, w0, 400.0);
            ASSERT_EQ(r.post_times.size(), 1u);
            ASSERT_NEAR(r.post_times[0], t_post, 1e-9);
            const double x = w0 / s.Wmax;
            double expected = w0;
            if (offset > 0) {
                expected += s.Wmax * s.lambda * power(1 - x, mu) * std::exp(-offset / s.tau_plus);
            } else if (offset < 0) {
                expected -= s.Wmax * s.alpha * s.lambda * power(x, mu) *
                            std::exp(offset / s.tau_minus);
            }
            ASSERT_EQ(r.weights.size(), 1u);
            EXPECT_NEAR(r.weights[0].weight, expected, 1e-12)
                << "mu " << mu << ", offset " << offset << " ms";
        }
    }
}

// With all of the delay axonal (Brian's convention), the pairing is measured from the
// presynaptic arrival at the soma, and a post spike in the arrival step pairs as "after".
TEST(stdp, axonal_delays_pair_at_the_postsynaptic_soma) {
    stdp_params s;
    s.dendritic_fraction = 0;
    const double w0 = 0.5, d = 3.0, dt = 0.1;
    for (int offset: {-40, -5, 0, 5, 40}) {
        const double t_pre = 100.0;           // emission; arrival at synapse and soma: +d
        const double t_post = t_pre + d + offset;
        const auto r = run_scripted({{t_pre}}, {d}, {t_post - dt}, s, w0, 300.0);
        ASSERT_NEAR(r.post_times.at(0), t_post, 1e-9);
        double expected = w0;
        if (offset >= 0) {
            expected += s.Wmax * s.lambda * std::exp(-offset / s.tau_plus);
        } else {
            expected -= s.Wmax * s.alpha * s.lambda * std::exp(offset / s.tau_minus);
        }
        EXPECT_NEAR(r.weights.at(0).weight, expected, 1e-12) << "offset " << offset;
    }
}

TEST(stdp, weights_stay_within_zero_and_wmax) {
    stdp_params s;
    s.lambda = 0.5;  // large steps to reach the bounds
    std::vector<double> pre, drive;
    for (int k = 0; k < 20; ++k) {
        pre.push_back(10.0 + 20.0 * k);
        drive.push_back(12.0 + 20.0 * k);  // post 2 ms after each pre: potentiation
    }
    auto up = run_scripted({pre}, {1.0}, drive, s, 0.5, 500.0);
    EXPECT_DOUBLE_EQ(up.weights.at(0).weight, s.Wmax);
    std::vector<double> drive_before;
    for (double t: pre) {
        drive_before.push_back(t - 3.0);  // post 2 ms before each pre arrival: depression
    }
    auto down = run_scripted({pre}, {1.0}, drive_before, s, 0.5, 500.0);
    EXPECT_DOUBLE_EQ(down.weights.at(0).weight, 0.0);
}

// Scripted trains through synapses of several delays: every weight equals NEST's update.
TEST(stdp, matches_nest_stdp_synapse_on_scripted_sequences) {
    for (const double mu: {0.0, 1.0, 0.4}) {
        stdp_params s;
        s.mu_plus = s.mu_minus = mu;
        s.alpha = 1.05;
        s.lambda = 0.05;
        const std::vector<std::vector<double>> pre = {
            {5.0, 17.3, 30.0, 31.0, 60.5, 120.0, 200.0},
            {10.0, 11.0, 12.0, 50.0, 51.0, 199.0},
            {3.0, 80.0, 81.5, 140.2, 200.0},
            {44.4, 45.0, 90.0, 150.0, 198.0}};
        const std::vector<double> delays = {0.1, 1.5, 4.0, 12.0};
        const std::vector<double> drive = {8.0, 15.0, 29.9, 47.0, 55.0, 88.8, 118.0, 141.0, 160.0};
        const double w0 = 0.4;
        // NEST updates at presynaptic spikes only, while weights() also applies facilitation
        // from post spikes after the last pre spike: end every train with a pre spike after
        // every post spike, so that both have applied the same set of updates.
        // Runs with a final pre spike after every post spike: identical update sets.
        std::vector<std::vector<double>> pre_final = pre;
        for (auto& p: pre_final) {
            p.push_back(240.0);
        }
        const auto rf = run_scripted(pre_final, delays, drive, s, w0, 260.0);
        ASSERT_EQ(rf.post_times.size(), drive.size());
        ASSERT_EQ(rf.weights.size(), pre.size());
        for (std::size_t i = 0; i < pre.size(); ++i) {
            const double expected = nest_reference(pre_final[i], rf.post_times, delays[i], w0, s);
            EXPECT_NEAR(rf.weights[i].weight, expected, 1e-12)
                << "mu " << mu << ", synapse " << i << " (delay " << delays[i] << " ms)";
            EXPECT_NE(rf.weights[i].weight, w0) << "the sequence must change the weight";
        }
    }
}

TEST(stdp, nearest_pairing_uses_only_the_nearest_spikes) {
    stdp_params all, near;
    near.nearest = true;
    // Two pre spikes then one post 5 ms after the second: all-to-all pairs both.
    const std::vector<std::vector<double>> pre = {{50.0, 60.0}};
    const std::vector<double> drive = {64.9};  // post at 65 ms; synapse: +1 ms delay -> 66
    const auto a = run_scripted(pre, {1.0}, drive, all, 0.5, 200.0);
    const auto n = run_scripted(pre, {1.0}, drive, near, 0.5, 200.0);
    const double K_all = std::exp(-(66.0 - 50.0) / 20.0) + std::exp(-(66.0 - 60.0) / 20.0);
    const double K_near = std::exp(-(66.0 - 60.0) / 20.0);
    EXPECT_NEAR(a.weights.at(0).weight, 0.5 + 0.01 * K_all, 1e-12);
    EXPECT_NEAR(n.weights.at(0).weight, 0.5 + 0.01 * K_near, 1e-12);
}
