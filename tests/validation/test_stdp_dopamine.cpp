// Three-factor STDP (models/synapse/stdp_dopamine.cpp): the weight after scripted pre, post and
// modulator events equals the exact integral of dw/dt = c (n - b).

#include <algorithm>
#include <cmath>
#include <tuple>

#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

struct dopa_params {
    double A_plus = 1.0, A_minus = 1.5, tau_plus = 20, tau_minus = 20, tau_c = 1000, tau_n = 200;
    double b = 0.0, Wmin = 0, Wmax = 200;
};

// pre (one spike source), post (driven to spike at chosen times), a plastic stdp_dopamine
// projection with delay d; the modulator is scripted (times, amounts) or a spike source.
struct scenario {
    std::vector<double> pre, drive, dopa, amounts;  // [ms]
    double d = 1.0, mod_delay = 1.0, w0 = 50.0, duration = 3000.0, dt = 0.1;
    bool dopa_from_population = false;
};

struct outcome {
    double weight = 0;
    std::vector<double> post;  // post spike stamps [ms]
    double t_end = 0;          // time the weight refers to [ms]
};

outcome run(const scenario& sc, const dopa_params& p) {
    auto e = test::experiment(sc.dt, sc.duration);
    auto pre = test::population("pre", "spike_source_array", 1);
    pre.spike_times = {sc.pre};
    auto drive = test::population("drive", "spike_source_array", 1);
    drive.spike_times = {sc.drive};
    auto post = test::population("post", "iaf_psc_delta", 1,
                                 {{"E_L", 0}, {"V_th", 10}, {"V_reset", 0}, {"t_ref", 0},
                                  {"tau_m", 10}, {"C_m", 250}});
    e.populations = {pre, drive, post};
    modulator_spec mod;
    mod.name = "dopamine";
    mod.type = "volume_transmitter";
    mod.params["delay"] = test::c(sc.mod_delay);
    if (sc.dopa_from_population) {
        auto da = test::population("da", "spike_source_array", 1);
        da.spike_times = {sc.dopa};
        e.populations.push_back(da);
        mod.roles["population"] = {"da"};
    } else {
        mod.times = sc.dopa;
        mod.amounts = sc.amounts;
    }
    e.modulators = {mod};
    auto pl = test::projection("plastic", "pre", "post", rule::all_to_all, test::c(sc.w0),
                               test::c(sc.d));
    pl.synapse = "stdp_dopamine";
    pl.modulator = "dopamine";
    pl.plasticity = {{"A_plus", test::c(p.A_plus)},   {"A_minus", test::c(p.A_minus)},
                     {"tau_plus", test::c(p.tau_plus)}, {"tau_minus", test::c(p.tau_minus)},
                     {"tau_c", test::c(p.tau_c)},     {"tau_n", test::c(p.tau_n)},
                     {"b", test::c(p.b)},             {"Wmin", test::c(p.Wmin)},
                     {"Wmax", test::c(p.Wmax)}};
    // The plastic input must not make post fire: the drive alone does (weights are mV jumps
    // up to 200 mV here, so the post neuron gets a huge threshold and is driven by 1000 mV).
    auto dr = test::projection("drive", "drive", "post", rule::one_to_one, test::c(1000.0),
                               test::c(sc.dt));
    e.projections = {pl, dr};
    e.populations[2].params["V_th"] = test::c(500);
    e.populations[2].params["V_min"] = test::c(-1e9);
    test::record_all_spikes(e);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    outcome o;
    for (const auto& s: out.recorded_spikes) {
        if (s.gid == 2) {
            o.post.push_back(static_cast<double>(s.step + 1) * sc.dt);
        }
    }
    o.weight = sim.weights("plastic").at(0).weight;
    // weights() brings the synapse to now - d (the latest time every event is known).
    o.t_end = sc.duration - sc.d + 0;
    return o;
}

// The reference, written from the equations rather than from NEST's lazy bookkeeping: every
// event in time order (modulator events before post arrivals before the presynaptic spike at
// equal times), traces as sums of exponentials, and between events either the closed form of
// the integral or (fine = true) a fine numerical integration of dw/dt = c (n - b).
double reference(const scenario& sc, const std::vector<double>& post, const dopa_params& p,
                 double t_end, bool fine) {
    enum kind { dopa = 0, post_arrival = 1, pre_spike = 2 };
    std::vector<std::tuple<double, int, double>> ev;  // (time, kind, amount)
    for (std::size_t k = 0; k < sc.dopa.size(); ++k) {
        ev.emplace_back(sc.dopa[k] + sc.mod_delay, dopa,
                        sc.dopa_from_population ? 1.0 : sc.amounts[k]);
    }
    for (double t: post) {
        ev.emplace_back(t + sc.d, post_arrival, 0.0);
    }
    for (double t: sc.pre) {
        ev.emplace_back(t, pre_spike, 0.0);
    }
    std::sort(ev.begin(), ev.end());
    double w = sc.w0, c = 0, n = 0, t = 0;
    std::vector<double> pre_done, post_done;
    auto evolve = [&](double t1) {
        const double span = t1 - t;
        if (span <= 0) {
            return;
        }
        if (!fine) {
            const double tau_s = (p.tau_c + p.tau_n) / (p.tau_c * p.tau_n);
            w -= c * (n / tau_s * std::expm1(-tau_s * span) -
                      p.b * p.tau_c * std::expm1(-span / p.tau_c));
        } else {  // composite Simpson on dw/dt = c e^{-s/tau_c} (n e^{-s/tau_n} - b)
            const int m = 20000;
            const double h = span / m;
            double sum = 0;
            for (int j = 0; j <= m; ++j) {
                const double s = j * h;
                const double f = c * std::exp(-s / p.tau_c) * (n * std::exp(-s / p.tau_n) - p.b);
                sum += (j == 0 || j == m ? 1 : (j % 2 == 1 ? 4 : 2)) * f;
            }
            w += sum * h / 3;
        }
        w = std::clamp(w, p.Wmin, p.Wmax);
        c *= std::exp(-span / p.tau_c);
        n *= std::exp(-span / p.tau_n);
        t = t1;
    };
    for (const auto& [te, k, amount]: ev) {
        if (te > t_end) {
            break;
        }
        evolve(te);
        if (k == dopa) {
            n += amount / p.tau_n;
        } else if (k == post_arrival) {
            double K = 0;  // presynaptic spikes strictly before
            for (double tp: pre_done) {
                K += std::exp(-(te - tp) / p.tau_plus);
            }
            c += p.A_plus * K;
            post_done.push_back(te);
        } else {
            double K = 0;  // postsynaptic arrivals strictly before
            for (double tq: post_done) {
                if (tq < te) {
                    K += std::exp(-(te - tq) / p.tau_minus);
                }
            }
            c -= p.A_minus * K;
            pre_done.push_back(te);
        }
    }
    evolve(t_end);
    return w;
}

scenario base_scenario() {
    scenario sc;
    sc.pre = {100.0, 140.0, 400.0, 420.5, 800.0, 1500.0, 1510.0};
    sc.drive = {109.9, 300.0, 415.0, 430.0, 805.0, 1200.0, 1505.0};  // post one step later
    sc.dopa = {150.0, 500.0, 501.0, 900.0, 1600.0, 2000.0};
    sc.amounts = {1.0, 2.0, 1.0, 3.0, 1.0, 0.5};
    sc.d = 2.0;
    return sc;
}

}  // namespace

TEST(stdp_dopamine, weight_equals_the_exact_integral_of_c_times_n_minus_b) {
    for (double b: {0.0, 0.002}) {
        dopa_params p;
        p.b = b;
        const scenario sc = base_scenario();
        const auto o = run(sc, p);
        ASSERT_EQ(o.post.size(), sc.drive.size());
        const double closed = reference(sc, o.post, p, o.t_end, false);
        const double fine = reference(sc, o.post, p, o.t_end, true);
        EXPECT_NEAR(closed, fine, 1e-9 * std::abs(fine)) << "the closed form is the integral";
        EXPECT_NEAR(o.weight, closed, 1e-9 * std::abs(closed)) << "b = " << b;
        EXPECT_GT(std::abs(o.weight - sc.w0), 0.01) << "the sequence must move the weight";
    }
}

TEST(stdp_dopamine, bounds_clip_the_weight) {
    dopa_params p;
    p.Wmax = 50.5;
    p.A_plus = 50;  // strong potentiation drives w to the bound
    scenario sc = base_scenario();
    const auto o = run(sc, p);
    EXPECT_NEAR(o.weight, reference(sc, o.post, p, o.t_end, false), 1e-9);
    EXPECT_DOUBLE_EQ(o.weight, 50.5);
}

TEST(stdp_dopamine, population_modulator_equals_the_same_scripted_events) {
    dopa_params p;
    scenario scripted = base_scenario();
    scripted.amounts.assign(scripted.dopa.size(), 1.0);
    scenario spiking = scripted;
    spiking.dopa_from_population = true;
    // A spike source emits at the given times; its spike at t reaches the synapses at t + delay
    // as the scripted event at t would.
    const auto a = run(scripted, p);
    const auto b = run(spiking, p);
    EXPECT_NEAR(a.weight, b.weight, 1e-12);
    EXPECT_NEAR(b.weight, reference(spiking, b.post, p, b.t_end, false), 1e-9 * std::abs(b.weight));
}

TEST(stdp_dopamine, no_modulator_events_means_no_weight_change) {
    dopa_params p;
    scenario sc = base_scenario();
    sc.dopa = {2999.0};  // after every pairing... and reaching the synapse after t_end
    sc.amounts = {1.0};
    const auto o = run(sc, p);
    EXPECT_DOUBLE_EQ(o.weight, sc.w0);
}
