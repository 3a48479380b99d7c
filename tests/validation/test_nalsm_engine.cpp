// The NALSM liquid as engine parts (nalsm_lif, astro_stdp with its kernel, nalsm_astrocyte,
// a dataset_source) against the literal per-step oracle of the paper's loop
// (tests/oracle/nalsm_oracle.hpp): the same spikes every step, and potentials, weights and
// the astrocyte's A to rounding, over a phase A of presentations with persistent plasticity
// and phase B samples from W_INI with the per-step decays.

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/trial.hpp>

#include "io/config_yaml.hpp"
#include "models/register_models.hpp"
#include "oracle/nalsm_oracle.hpp"

namespace glia {
namespace {

// A NALSM liquid of E and I nalsm_lif neurons driven by `input` through a dataset_source;
// `mode` is astro_stdp's mode, `decay` the phase-B decay per step (1 in phase A).
std::string liquid_yaml(const std::string& mode, double decay, std::uint64_t seed,
                        double w_a = 0.05) {
    const std::string rule = fmt::format(
        "synapse: astro_stdp, {}plasticity: {{mode: {}, eta_decay: {}, role: ROLE}}",
        mode == "astro" ? "modulator: astro, " : "", mode, decay);
    auto proj = [&](const std::string& name, const std::string& src, const std::string& tgt,
                    double p, const std::string& weight, const std::string& role) {
        std::string r = rule;
        r.replace(r.find("ROLE"), 4, role);
        return fmt::format("  {}: {{source: {}, target: {}, rule: pairwise_bernoulli, p: {}, "
                           "allow_autapses: false, weight: {}, delay: 1 ms, {}}}\n",
                           name, src, tgt, p, weight, r);
    };
    std::string y = fmt::format(
        "simulation: {{dt: 1 ms, duration: 100 ms, seed: {}}}\n"
        "populations:\n"
        "  E: {{model: nalsm_lif, size: 48}}\n"
        "  I: {{model: nalsm_lif, size: 12}}\n"
        "  input: {{model: nalsm_lif, size: 24}}\n"
        "inputs:\n"
        "  pixels: {{type: dataset_source, target: input, weight: 100, receptor: direct}}\n"
        "modulators:\n"
        "  astro: {{type: nalsm_astrocyte, excite: [E, I], inhibit: [input], w: {}, decay: {}}}\n"
        "projections:\n",
        seed, w_a, decay);
    y += proj("EE", "E", "E", 0.25, "3", "excitatory");
    y += proj("EI", "E", "I", 0.2, "3", "excitatory");
    y += proj("IE", "I", "E", 0.4, "-3", "inhibitory");
    y += proj("II", "I", "I", 0.1, "-3", "inhibitory");
    y += proj("inE", "input", "E", 0.3, "{choice: [-3, 3]}", "input");
    y += proj("inI", "input", "I", 0.3, "{choice: [-3, 3]}", "input");
    return y;
}

trial_runner make_runner(const std::string& yaml) {
    static model_registry models = [] {
        model_registry m;
        models::register_builtin_models(m);
        return m;
    }();
    const experiment_spec spec = io::parse_experiment(yaml, "liquid.yaml", {}, models);
    context ctx;
    ctx.threads = 1;
    return trial_runner(spec, models, ctx);
}

struct link {
    std::string projection;
    std::size_t index;  // in the projection's canonical order
};

// The oracle's network: every plastic synapse of the engine, grouped by its source.
oracle::nalsm_oracle make_oracle(const trial_runner& runner, const network_state& state,
                                 const oracle::params& p, std::vector<link>& links) {
    const auto [e0, ne] = runner.population("E");
    const auto [i0, ni] = runner.population("I");
    const auto [in0, nin] = runner.population("input");
    const auto n = static_cast<std::uint32_t>(ne + ni + nin);
    std::vector<oracle::synapse> syn;
    for (const auto& proj: runner.plastic_projections()) {
        const auto w = runner.weights(state, proj);
        for (std::size_t k = 0; k < w.size(); ++k) {
            oracle::synapse s;
            s.pre = w[k].source;
            s.post = w[k].target;
            s.w = w[k].weight;
            s.pre_group = s.pre >= in0 ? oracle::group::input
                          : s.pre >= i0 ? oracle::group::inhibitory
                                        : oracle::group::excitatory;
            syn.push_back(s);
            links.push_back(link{proj, k});
        }
    }
    std::vector<int> sign(n, 0);
    for (std::uint32_t g = 0; g < n; ++g) {
        sign[g] = g >= in0 ? -1 : 1;
    }
    return oracle::nalsm_oracle(n, std::move(syn), std::move(sign), p);
}

std::vector<float> random_probabilities(std::size_t n, std::mt19937_64& gen) {
    std::uniform_real_distribution<double> u(0.0, 0.35);
    std::vector<float> p(n);
    for (auto& x: p) {
        x = static_cast<float>(u(gen));
    }
    return p;
}

// Runs one sample on both and compares every step; adds the engine's spikes to `spikes`.
void compare_sample(trial_session& session, oracle::nalsm_oracle& ref,
                           const std::vector<link>& links, std::size_t input,
                           std::span<const float> p, std::uint64_t seed, std::uint64_t key,
                           step_t steps, std::uint32_t n, const std::string& what,
                           std::size_t& spikes) {
    const auto events = trial_input_events(seed, input, p, steps, key);
    const trial_input ti{input, p};
    session.begin(trial{key, steps, std::span<const trial_input>(&ti, 1)});
    std::vector<std::uint32_t> engine_prev;  // spikes of the previous engine step: S(t)
    std::map<std::string, std::vector<synapse_weight>> w;
    for (step_t t = 0; t < steps; ++t) {
        // Input events are on the input population, whose gids follow E and I.
        std::vector<std::uint32_t> ext;
        for (std::uint32_t v: events[static_cast<std::size_t>(t)]) {
            ext.push_back(n - static_cast<std::uint32_t>(p.size()) + v);
        }
        ref.step(ext);
        const auto sp = session.step();
        ASSERT_EQ(ref.spikes(), engine_prev) << what << ", step " << t;
        engine_prev.clear();
        for (const auto& e: sp) {
            engine_prev.push_back(e.gid);
        }
        spikes += sp.size();
        for (std::uint32_t g = 0; g < n; ++g) {
            const double ve = session.value(g, "V_m");
            ASSERT_NEAR(ve, ref.v(g), 1e-9 * (1 + std::abs(ref.v(g))))
                << what << ", step " << t << ", neuron " << g;
        }
        w.clear();
        for (std::size_t k = 0; k < links.size(); ++k) {
            auto& ws = w[links[k].projection];
            if (ws.empty()) {
                ws = session.weights(links[k].projection);
            }
            ASSERT_NEAR(ws[links[k].index].weight, ref.weight(k), 1e-9)
                << what << ", step " << t << ", synapse " << k;
        }
        ASSERT_NEAR(session.level("astro", session.now()), ref.astrocyte(), 1e-12)
            << what << ", step " << t;
    }
}

class nalsm_engine_vs_oracle: public ::testing::TestWithParam<std::string> {};

TEST_P(nalsm_engine_vs_oracle, same_spikes_potentials_weights_and_astrocyte_every_step) {
    const std::string mode = GetParam();
    const std::uint64_t seed = 11;
    trial_runner run_a = make_runner(liquid_yaml(mode, 1.0, seed));
    oracle::params pa;
    pa.plasticity = mode == "astro"       ? oracle::rule::astro
                    : mode == "symmetric" ? oracle::rule::symmetric
                                          : oracle::rule::frozen;
    pa.w_a = 0.05;
    std::vector<link> links;
    auto ref = make_oracle(run_a, run_a.initial_state(), pa, links);
    const auto n = static_cast<std::uint32_t>(run_a.population("E").second +
                                              run_a.population("I").second +
                                              run_a.population("input").second);
    const std::size_t input = run_a.input_index("pixels");
    std::mt19937_64 gen(5);

    // Phase A: presentations of 20 steps, weights and traces carried over.
    trial_session a = run_a.session();
    std::size_t spikes = 0;
    for (std::uint64_t q = 0; q < 40; ++q) {
        const auto p = random_probabilities(24, gen);
        ref.begin_sample(false);
        compare_sample(a, ref, links, input, p, seed, q, 20, n,
                       fmt::format("phase A sample {}", q), spikes);
        if (HasFailure()) {
            return;
        }
    }
    EXPECT_GT(spikes, 1000u);  // the liquid is active: the comparison means something

    // Phase B: from W_INI with the decays of 0.99 per step, traces reset.
    trial_runner run_b = make_runner(liquid_yaml(mode, 0.99, seed));
    const network_state end_a = a.save();
    network_state w_ini = run_b.initial_state();
    std::vector<double> w_ini_ref;
    for (const auto& proj: run_b.plastic_projections()) {
        std::vector<double> w;
        for (const auto& s: run_a.weights(end_a, proj)) {
            w.push_back(s.weight);
        }
        w_ini = run_b.with_weights(w_ini, proj, w);
    }
    for (std::size_t k = 0; k < links.size(); ++k) {
        w_ini_ref.push_back(ref.weight(k));
    }
    oracle::params pb = pa;
    pb.decay = 0.99;
    std::vector<link> links_b;
    auto ref_b = make_oracle(run_b, w_ini, pb, links_b);
    ref_b.set_weights(w_ini_ref);
    trial_session b = run_b.session();
    for (std::uint64_t q = 0; q < 4; ++q) {
        const auto p = random_probabilities(24, gen);
        b.load(w_ini);
        ref_b.set_weights(w_ini_ref);
        ref_b.begin_sample(true);
        compare_sample(b, ref_b, links_b, input, p, seed, 1000 + q, 80, n,
                       fmt::format("phase B sample {}", q), spikes);
        if (HasFailure()) {
            return;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(modes, nalsm_engine_vs_oracle,
                         ::testing::Values("astro", "symmetric", "frozen"));

}  // namespace
}  // namespace glia
