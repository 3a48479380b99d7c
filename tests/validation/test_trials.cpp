// The trial API (include/glia/trial.hpp) and the engine parts NALSM is made of:
//   - nalsm_lif against its closed form (constant drive, one kernel, refractoriness, input
//     events merged while refractory);
//   - the dataset_source's events: the requested probability per step, independent steps, keyed
//     by the trial and the value, and what a trial's neurons receive;
//   - trials: identical features for 1, 2 and 4 threads, a trial's result independent of the
//     trials run before it on the same worker, one copy of the connectivity for all workers.

#include <cmath>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>
#include <glia/trial.hpp>

#include "io/config_yaml.hpp"
#include "models/register_models.hpp"

namespace glia {
namespace {

const model_registry& registry() {
    static const model_registry models = [] {
        model_registry m;
        models::register_builtin_models(m);
        return m;
    }();
    return models;
}

trial_runner runner_of(const std::string& yaml, int threads = 1) {
    const experiment_spec spec = io::parse_experiment(yaml, "trial.yaml", {}, registry());
    context ctx;
    ctx.threads = threads;
    ctx.log = spdlog::default_logger();
    return trial_runner(spec, registry(), ctx);
}

// ---------------------------------------------------------------------------------------------
// nalsm_lif

// One nalsm_lif neuron driven by a dataset_source (every step with p = 1, or never), and a
// spike_source_array that reaches it through a frozen astro_stdp synapse (NALSM's kernel) or a
// static one.
std::string one_neuron(double drive, double w, const std::string& synapse, double t_ref = 2) {
    return fmt::format(
        "simulation: {{dt: 1 ms, duration: 100 ms, seed: 1}}\n"
        "populations:\n"
        "  n: {{model: nalsm_lif, size: 1, params: {{V_th: 1e9, t_ref: {} ms}}}}\n"
        "  pre: {{model: spike_source_array, size: 1, spike_times: [[5 ms]]}}\n"
        "inputs:\n"
        "  drive: {{type: dataset_source, target: n, weight: {}, receptor: direct}}\n"
        "projections:\n"
        "  p: {{source: pre, target: n, rule: all_to_all, weight: {}, delay: 1 ms{}}}\n",
        t_ref, drive, w,
        synapse == "static" ? std::string()
                            : ", synapse: astro_stdp, plasticity: {mode: frozen, w_max: 10}");
}

TEST(nalsm_lif, constant_drive_follows_the_closed_form) {
    // V(n) = I tau_v (1 - (1 - 1/tau_v)^n) for V(0) = 0 and I added every 1 ms step.
    const double I = 0.7, tau_v = 64;
    trial_runner r = runner_of(one_neuron(I, 0.0, "static"));
    trial_session s = r.session();
    const std::vector<float> p = {1.0F};
    const trial_input in{r.input_index("drive"), p};
    s.begin(trial{0, 100, std::span<const trial_input>(&in, 1)});
    for (int n = 1; n <= 100; ++n) {
        s.step();
        const double expected = I * tau_v * (1 - std::pow(1 - 1 / tau_v, n));
        ASSERT_NEAR(s.value(0, "V_m"), expected, 1e-12 * (1 + expected)) << "step " << n;
    }
}

TEST(nalsm_lif, one_presynaptic_spike_gives_the_exponential_kernel) {
    // The spike at 5 ms (emitted in step 4) arrives in step 5: the kernel adds w, w e^-1,
    // w e^-2, ... (tau_u = 1 ms) to successive steps, each leaking with 1 - 1/tau_v. With the
    // frozen astro_stdp synapse the trial also starts with the kernel of age s_init = 20 ms.
    const double w = 2.5, tau_v = 64;
    for (const std::string syn: {"static", "frozen"}) {
        trial_runner r = runner_of(one_neuron(0.0, w, syn));
        trial_session s = r.session();
        s.begin(trial{0, 40, {}});
        double v = 0;
        for (int n = 0; n < 40; ++n) {
            s.step();
            double in = 0;
            if (n >= 5) {
                in += w * std::exp(-(n - 5.0));
            }
            if (syn == "frozen" && n < 5) {
                // The kernel a trial starts with, until the spike replaces it (NALSM's s_ij
                // restarts at 0: one kernel per synapse, the latest spike's).
                in += w * std::exp(-(20.0 + n));
            }
            v = v + in - v / tau_v;
            ASSERT_NEAR(s.value(0, "V_m"), v, 1e-12 * (1 + std::abs(v)))
                << syn << ", step " << n;
        }
        EXPECT_GT(v, 1.0);  // the kernel did arrive
    }
}

TEST(nalsm_lif, input_events_while_refractory_fire_when_the_period_ends) {
    // NALSM's input neurons: I_ext = 100 > V_th = 20 every step fires at times 1, 4, 7, ...
    // (2 refractory steps after each spike); V keeps integrating meanwhile.
    const std::string yaml =
        "simulation: {dt: 1 ms, duration: 100 ms, seed: 1}\n"
        "populations:\n"
        "  n: {model: nalsm_lif, size: 1}\n"
        "inputs:\n"
        "  drive: {type: dataset_source, target: n, weight: 100, receptor: direct}\n";
    trial_runner r = runner_of(yaml);
    trial_session s = r.session();
    const std::vector<float> p = {1.0F};
    const trial_input in{r.input_index("drive"), p};
    s.begin(trial{0, 30, std::span<const trial_input>(&in, 1)});
    std::vector<step_t> emitted;
    for (int n = 0; n < 30; ++n) {
        for (const auto& e: s.step()) {
            emitted.push_back(e.step);
        }
    }
    // Emitted in steps 0, 3, 6, ...: spike times 1, 4, 7, ... ms.
    ASSERT_EQ(emitted.size(), 10U);
    for (std::size_t k = 0; k < emitted.size(); ++k) {
        EXPECT_EQ(emitted[k], static_cast<step_t>(3 * k));
    }
}

// ---------------------------------------------------------------------------------------------
// dataset_source

TEST(dataset_source, events_have_the_requested_probability_and_independent_steps) {
    const std::vector<float> p = {0.0F, 0.02F, 0.3F, 0.9F, 1.0F};
    const step_t steps = 200000;
    const auto ev = trial_input_events(5, 0, p, steps, 42);
    std::vector<double> count(p.size());
    std::vector<char> has(static_cast<std::size_t>(steps));
    for (std::size_t t = 0; t < ev.size(); ++t) {
        for (std::size_t q = 0; q < ev[t].size(); ++q) {
            if (q > 0) {
                ASSERT_GT(ev[t][q], ev[t][q - 1]) << "values ascend within a step";
            }
            count[ev[t][q]] += 1;
            has[t] = has[t] || ev[t][q] == 2;
        }
    }
    for (std::size_t k = 0; k < p.size(); ++k) {
        const double n = static_cast<double>(steps);
        const double sd = std::sqrt(n * p[k] * (1 - p[k]));
        EXPECT_NEAR(count[k], n * p[k], 5 * sd + 1e-9) << "value " << k;
    }
    // Independence across steps: after an event of value 2, the next step has one with p.
    double pairs = 0, firsts = 0;
    for (std::size_t t = 0; t + 1 < has.size(); ++t) {
        if (has[t]) {
            firsts += 1;
            pairs += has[t + 1];
        }
    }
    EXPECT_NEAR(pairs / firsts, 0.3, 5 * std::sqrt(0.3 * 0.7 / firsts));
    // The same trial, the same events; another trial key, seed or input, others.
    EXPECT_EQ(trial_input_events(5, 0, p, 1000, 42), trial_input_events(5, 0, p, 1000, 42));
    EXPECT_NE(trial_input_events(5, 0, p, 1000, 43), trial_input_events(5, 0, p, 1000, 42));
    EXPECT_NE(trial_input_events(6, 0, p, 1000, 42), trial_input_events(5, 0, p, 1000, 42));
    EXPECT_NE(trial_input_events(5, 1, p, 1000, 42), trial_input_events(5, 0, p, 1000, 42));
}

TEST(dataset_source, a_trials_neurons_receive_exactly_the_drawn_events) {
    // Value k drives neuron k (a nalsm_lif with a huge threshold): V jumps by the weight at
    // every event and leaks otherwise.
    const std::string yaml =
        "simulation: {dt: 1 ms, duration: 100 ms, seed: 9}\n"
        "populations:\n"
        "  px: {model: nalsm_lif, size: 6, params: {V_th: 1e9}}\n"
        "inputs:\n"
        "  pixels: {type: dataset_source, target: px, weight: 1.5, receptor: direct}\n";
    trial_runner r = runner_of(yaml);
    const std::vector<float> p = {0.1F, 0.0F, 0.5F, 1.0F, 0.25F, 0.05F};
    const std::size_t input = r.input_index("pixels");
    const auto ev = trial_input_events(9, input, p, 200, 77);
    trial_session s = r.session();
    const trial_input in{input, p};
    s.begin(trial{77, 200, std::span<const trial_input>(&in, 1)});
    std::vector<double> v(6, 0.0);
    for (std::size_t t = 0; t < 200; ++t) {
        s.step();
        std::vector<double> drive(6, 0.0);
        for (std::uint32_t k: ev[t]) {
            drive[k] += 1.5;
        }
        for (std::uint32_t k = 0; k < 6; ++k) {
            v[k] = v[k] + drive[k] - v[k] / 64.0;
            ASSERT_NEAR(s.value(k, "V_m"), v[k], 1e-12 * (1 + v[k])) << "step " << t;
        }
    }
    // Wrong numbers of values are refused.
    const std::vector<float> short_p = {0.1F};
    const trial_input bad{input, short_p};
    EXPECT_THROW(s.begin(trial{1, 10, std::span<const trial_input>(&bad, 1)}), error);
    EXPECT_THROW(r.input_index("nope"), error);
}

// ---------------------------------------------------------------------------------------------
// Trials

// A small NALSM liquid with Poisson background noise too (so that trial keys reach a device
// besides the dataset source): plastic, astrocyte-modulated, 4 projections.
std::string small_liquid() {
    return "simulation: {dt: 1 ms, duration: 100 ms, seed: 3}\n"
           "grids:\n"
           "  g: {shape: [4, 4, 4], order: random}\n"
           "populations:\n"
           "  E: {model: nalsm_lif, size: 51, positions: {grid: g}}\n"
           "  I: {model: nalsm_lif, size: 13, positions: {grid: g}}\n"
           "  input: {model: nalsm_lif, size: 40}\n"
           "inputs:\n"
           "  pixels: {type: dataset_source, target: input, weight: 100, receptor: direct}\n"
           "  bg: {type: poisson_generator, target: E, rate: 20 Hz, weight: 5, receptor: direct}\n"
           "modulators:\n"
           "  astro: {type: nalsm_astrocyte, excite: [E, I], inhibit: [input], w: 0.1}\n"
           "projections:\n"
           "  EE: {source: E, target: E, rule: distance, C: 0.3, lambda: 2, weight: 3, delay: 1 "
           "ms, synapse: astro_stdp, modulator: astro, plasticity: {role: excitatory}}\n"
           "  IE: {source: I, target: E, rule: distance, C: 0.4, lambda: 2, weight: -3, delay: 1 "
           "ms, synapse: astro_stdp, modulator: astro, plasticity: {role: inhibitory}}\n"
           "  EI: {source: E, target: I, rule: distance, C: 0.2, lambda: 2, weight: 3, delay: {uniform: "
           "{low: 0.5 ms, high: 3.5 ms}}, synapse: astro_stdp, modulator: astro, plasticity: {role: "
           "excitatory}}\n"
           "  inE: {source: input, target: E, rule: fixed_total_number, density: 0.2, weight: "
           "{choice: [-3, 3]}, delay: 1 ms, synapse: astro_stdp, modulator: astro, plasticity: "
           "{role: input}}\n";
}

struct batch {
    std::vector<std::vector<float>> p;
    std::vector<trial_input> inputs;
    std::vector<trial> trials;
};

batch make_batch(const trial_runner& r, std::size_t n, std::uint64_t seed) {
    batch b;
    std::mt19937_64 gen(seed);
    std::uniform_real_distribution<double> u(0.0, 0.3);
    b.p.resize(n, std::vector<float>(40));
    for (auto& row: b.p) {
        for (auto& x: row) {
            x = static_cast<float>(u(gen));
        }
    }
    b.inputs.resize(n);
    b.trials.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        b.inputs[i] = trial_input{r.input_index("pixels"), b.p[i]};
        b.trials[i] = trial{1000 + i, 120, std::span<const trial_input>(&b.inputs[i], 1)};
    }
    return b;
}

trial_recording recording() {
    trial_recording rec;
    rec.populations = {"E", "I"};
    rec.bins = 3;
    rec.final_state = {"V_m"};
    rec.levels = {"astro"};
    rec.raster = true;
    return rec;
}

bool same(const trial_result& a, const trial_result& b) {
    return a.counts == b.counts && a.binned == b.binned && a.final_state == b.final_state &&
           a.raster_step == b.raster_step && a.raster_index == b.raster_index &&
           a.levels == b.levels && a.population_spikes == b.population_spikes;
}

TEST(trials, results_are_identical_for_1_2_and_4_threads) {
    std::vector<std::vector<trial_result>> all;
    for (int threads: {1, 2, 4}) {
        trial_runner r = runner_of(small_liquid(), threads);
        const batch b = make_batch(r, 24, 5);
        std::vector<trial_result> out(b.trials.size());
        ASSERT_EQ(r.run(r.initial_state(), b.trials, recording(), out), b.trials.size());
        all.push_back(std::move(out));
    }
    std::uint64_t spikes = 0;
    for (std::size_t i = 0; i < all[0].size(); ++i) {
        EXPECT_TRUE(same(all[0][i], all[1][i])) << "trial " << i << ", 2 threads";
        EXPECT_TRUE(same(all[0][i], all[2][i])) << "trial " << i << ", 4 threads";
        for (float c: all[0][i].counts) {
            spikes += static_cast<std::uint64_t>(c);
        }
        // Counts are the sum of the binned counts.
        for (std::size_t n = 0; n < all[0][i].counts.size(); ++n) {
            float sum = 0;
            for (std::size_t k = 0; k < 3; ++k) {
                sum += all[0][i].binned[k * all[0][i].counts.size() + n];
            }
            EXPECT_EQ(sum, all[0][i].counts[n]);
        }
    }
    EXPECT_GT(spikes, 500U);
    // Different inputs give different results (the comparison is not of empty trials).
    EXPECT_NE(all[0][0].counts, all[0][1].counts);
}

TEST(trials, a_trial_does_not_depend_on_the_trials_before_it_on_a_worker) {
    trial_runner r = runner_of(small_liquid(), 1);
    const batch b = make_batch(r, 8, 6);
    const network_state start = r.initial_state();
    // Trial 5 alone on a fresh worker ...
    std::vector<trial_result> alone(1);
    {
        trial_runner fresh = runner_of(small_liquid(), 1);
        fresh.run(start, std::span<const trial>(&b.trials[5], 1), recording(), alone);
    }
    // ... after the others on one worker, and again after it ran itself.
    std::vector<trial_result> out(b.trials.size());
    r.run(start, b.trials, recording(), out);
    std::vector<trial_result> again(1);
    r.run(start, std::span<const trial>(&b.trials[5], 1), recording(), again);
    EXPECT_TRUE(same(alone[0], out[5]));
    EXPECT_TRUE(same(alone[0], again[0]));
    // A session that ran other trials gives the same result from the same start.
    trial_session s = r.session();
    trial_result r1;
    s.load(start);
    s.begin(b.trials[2]);
    s.run(recording(), r1);
    s.load(start);
    s.begin(b.trials[5]);
    s.run(recording(), r1);
    EXPECT_TRUE(same(alone[0], r1));
}

TEST(trials, the_connectivity_exists_once_for_all_workers) {
    trial_runner r = runner_of(small_liquid(), 2);
    const batch b = make_batch(r, 16, 7);
    std::vector<trial_result> out(b.trials.size());
    const trial_memory before = r.memory();
    r.run(r.initial_state(), b.trials, recording(), out);
    const trial_memory after = r.memory();
    EXPECT_GE(after.workers, 1U);
    EXPECT_EQ(after.structure_copies, 1U);  // the workers use the built network's synapses
    EXPECT_EQ(after.shared, before.shared);  // counted once, whatever the number of workers
    // The plastic structure (slot, target and initial weight per synapse) and the static store
    // hold at least 16 bytes per synapse; a worker's state holds the current weights (8 bytes
    // per synapse) besides per-neuron and per-segment state.
    EXPECT_GE(after.shared, 16 * r.report().n_synapses);
    EXPECT_GT(after.per_worker, 8 * r.report().n_synapses);
}

TEST(trials, weights_of_a_state_round_trip_and_phase_a_carries_them) {
    trial_runner r = runner_of(small_liquid(), 1);
    const network_state s0 = r.initial_state();
    auto w = r.weights(s0, "EE");
    ASSERT_FALSE(w.empty());
    std::vector<double> values;
    for (const auto& x: w) {
        EXPECT_EQ(x.weight, 3.0);
        values.push_back(2.0);
    }
    const network_state s1 = r.with_weights(s0, "EE", values);
    for (const auto& x: r.weights(s1, "EE")) {
        EXPECT_EQ(x.weight, 2.0);
    }
    EXPECT_THROW(r.with_weights(s0, "EE", std::vector<double>(3, 1.0)), error);
    EXPECT_THROW(r.weights(s0, "nope"), error);
    // A session's presentations change the weights, and save() carries them.
    trial_session s = r.session();
    const batch b = make_batch(r, 5, 8);
    trial_result res;
    for (const auto& t: b.trials) {
        s.begin(t);
        s.run(recording(), res);
    }
    const network_state end = s.save();
    EXPECT_EQ(end.step(), 5 * 120);
    bool changed = false;
    for (const auto& proj: r.plastic_projections()) {
        const auto a = r.weights(s0, proj);
        const auto z = r.weights(end, proj);
        for (std::size_t k = 0; k < a.size(); ++k) {
            changed = changed || a[k].weight != z[k].weight;
        }
    }
    EXPECT_TRUE(changed);
}

}  // namespace
}  // namespace glia
