// Sweep expansion (src/sweep/sweep.hpp): grid, zip, random and repeats, their numbering, the
// points' overrides and paths, located errors for bad blocks; the collected table of a sweep
// without outputs, and the SLURM script (src/sweep/collect.hpp, slurm.hpp).

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/model_registry.hpp>

#include "io/config_yaml.hpp"
#include "models/register_models.hpp"
#include "sweep/collect.hpp"
#include "sweep/slurm.hpp"
#include "sweep/sweep.hpp"

namespace {

using testing::HasSubstr;

// 12 lines: a sweep block appended to it starts on line 13 ("sweep:"), its entries on 14.
const std::string base = R"(simulation: {dt: 0.1 ms, duration: 50 ms, seed: 3}
populations:
  exc:
    model: iaf_psc_exp
    size: 8
    params: {tau_m: 20 ms, C_m: 250 pF}
  inh: {model: iaf_psc_exp, size: 2}
projections:
  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 30 pA, delay: 1 ms}
inputs:
  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}
output: {file: out/net.h5}
)";

const glia::model_registry& models() {
    static const glia::model_registry registry = [] {
        glia::model_registry r;
        glia::models::register_builtin_models(r);
        return r;
    }();
    return registry;
}

glia::sweep::sweep_plan expand(const std::string& sweep_block,
                               const std::string& name = "test.yaml") {
    return glia::sweep::parse_sweep(base + sweep_block, name, models());
}

// The message of the error that expanding and loading every point throws ("" if none).
std::string error_of(const std::string& sweep_block) {
    try {
        const auto plan = expand(sweep_block);
        glia::sweep::check_points(plan, models());
    }
    catch (const glia::error& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> values_of(const glia::sweep::sweep_plan& plan, std::size_t key) {
    std::vector<std::string> out;
    for (const auto& p: plan.points) {
        out.push_back(p.values.at(key).value);
    }
    return out;
}

double number(const std::string& quantity) {
    return std::stod(quantity);  // "12.5 ms" -> 12.5
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Expansion and numbering

TEST(sweep_expansion, grid_is_the_cartesian_product_with_the_first_key_outermost) {
    const auto plan = expand("sweep:\n"
                             "  grid:\n"
                             "    populations.exc.params.tau_m: [10 ms, 20 ms]\n"
                             "    projections.ee.p: [0.01, 0.02, 0.03]\n");
    ASSERT_EQ(plan.points.size(), 6u);
    EXPECT_EQ(plan.keys,
              (std::vector<std::string>{"populations.exc.params.tau_m", "projections.ee.p"}));
    EXPECT_EQ(values_of(plan, 0),
              (std::vector<std::string>{"10 ms", "10 ms", "10 ms", "20 ms", "20 ms", "20 ms"}));
    EXPECT_EQ(values_of(plan, 1),
              (std::vector<std::string>{"0.01", "0.02", "0.03", "0.01", "0.02", "0.03"}));
    EXPECT_EQ(
        plan.points[4].overrides(),
        (std::vector<std::string>{"populations.exc.params.tau_m=20 ms", "projections.ee.p=0.02"}));
    for (std::size_t k = 0; k < plan.points.size(); ++k) {
        EXPECT_EQ(plan.points[k].index, k);
    }
}

TEST(sweep_expansion, zip_varies_its_lists_together) {
    const auto plan = expand("sweep:\n"
                             "  zip:\n"
                             "    projections.ee.weight: [10 pA, 20 pA, 30 pA]\n"
                             "    inputs.drive.rate: [1 kHz, 2 kHz, 3 kHz]\n");
    ASSERT_EQ(plan.points.size(), 3u);
    EXPECT_EQ(values_of(plan, 0), (std::vector<std::string>{"10 pA", "20 pA", "30 pA"}));
    EXPECT_EQ(values_of(plan, 1), (std::vector<std::string>{"1 kHz", "2 kHz", "3 kHz"}));
}

TEST(sweep_expansion, blocks_multiply_as_nested_loops_grid_zip_random_repeats) {
    const auto plan = expand("sweep:\n"
                             "  repeats: 2\n"  // the block order in the file does not matter
                             "  random: {n: 2, inputs.drive.rate: {uniform: [1 kHz, 9 kHz]}}\n"
                             "  zip: {projections.ee.weight: [1 pA, 2 pA, 3 pA], "
                             "projections.ee.delay: [1 ms, 2 ms, 3 ms]}\n"
                             "  grid: {populations.exc.params.tau_m: [10 ms, 20 ms]}\n");
    const std::size_t G = 2, Z = 3, R = 2, S = 2;
    ASSERT_EQ(plan.points.size(), G * Z * R * S);
    ASSERT_EQ(plan.keys, (std::vector<std::string>{"populations.exc.params.tau_m",
                                                   "projections.ee.weight", "projections.ee.delay",
                                                   "inputs.drive.rate", "simulation.seed"}));
    const std::vector<std::string> grid{"10 ms", "20 ms"};
    const std::vector<std::string> zip_w{"1 pA", "2 pA", "3 pA"};
    const std::vector<std::string> zip_d{"1 ms", "2 ms", "3 ms"};
    std::vector<std::string> draws;  // of the random key, by draw index
    std::vector<std::string> seeds;  // by repeat index
    for (std::size_t k = 0; k < plan.points.size(); ++k) {
        // K = ((g * Z + z) * R + r) * S + s
        const std::size_t s = k % S, r = (k / S) % R, z = (k / (S * R)) % Z, g = k / (S * R * Z);
        const auto& v = plan.points[k].values;
        EXPECT_EQ(v[0].value, grid[g]) << k;
        EXPECT_EQ(v[1].value, zip_w[z]) << k;
        EXPECT_EQ(v[2].value, zip_d[z]) << k;
        if (draws.size() == r) {
            draws.push_back(v[3].value);
        }
        EXPECT_EQ(v[3].value, draws[r]) << k;
        if (seeds.size() == s) {
            seeds.push_back(v[4].value);
        }
        EXPECT_EQ(v[4].value, seeds[s]) << k;
    }
    EXPECT_NE(draws[0], draws[1]);
    EXPECT_NE(seeds[0], seeds[1]);
}

TEST(sweep_expansion, numbering_and_values_are_stable_given_the_file) {
    const std::string block = "sweep:\n"
                              "  grid: {populations.exc.params.tau_m: [10 ms, 20 ms]}\n"
                              "  random: {n: 3, inputs.drive.rate: {uniform: [1 kHz, 9 kHz]}}\n"
                              "  repeats: 2\n";
    const auto a = expand(block);
    const auto b = expand(block);
    ASSERT_EQ(a.points.size(), b.points.size());
    for (std::size_t k = 0; k < a.points.size(); ++k) {
        EXPECT_EQ(a.points[k].overrides(), b.points[k].overrides());
    }
}

TEST(sweep_expansion, a_keys_draws_depend_only_on_the_seed_the_key_and_the_draw_index) {
    const auto one = expand("sweep:\n"
                            "  random: {n: 3, inputs.drive.rate: {uniform: [1 kHz, 9 kHz]}}\n");
    // Another key before it, and more draws: the first three draws of the rate are unchanged.
    const auto two = expand("sweep:\n"
                            "  random:\n"
                            "    n: 5\n"
                            "    projections.ee.weight: {uniform: [1 pA, 2 pA]}\n"
                            "    inputs.drive.rate: {uniform: [1 kHz, 9 kHz]}\n");
    ASSERT_EQ(two.points.size(), 5u);
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(one.points[k].values[0].value, two.points[k].values[1].value) << k;
    }
    // Another sweep seed: other draws.
    const auto other = expand("sweep:\n"
                              "  seed: 2\n"
                              "  random: {n: 3, inputs.drive.rate: {uniform: [1 kHz, 9 kHz]}}\n");
    for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_NE(one.points[k].values[0].value, other.points[k].values[0].value) << k;
    }
}

TEST(sweep_expansion, random_draws_follow_their_distributions) {
    const std::size_t n = 4000;
    const auto plan = expand("sweep:\n"
                             "  random:\n"
                             "    n: 4000\n"
                             "    populations.exc.params.tau_m: {uniform: [10 ms, 0.03 s]}\n"
                             "    populations.exc.params.C_m: {log_uniform: [10 pF, 1000 pF]}\n"
                             "    projections.ee.weight: {normal: {mean: 10 pA, std: 2 pA, "
                             "min: 9 pA}}\n"
                             "    populations.exc.size: {uniform_int: [1, 4]}\n"
                             "    projections.ee.rule: {choice: [pairwise_bernoulli, "
                             "all_to_all]}\n");
    ASSERT_EQ(plan.points.size(), n);
    double sum_tau = 0, sum_log_c = 0, sum_w = 0;
    std::map<std::string, int> sizes, rules;
    for (const auto& p: plan.points) {
        const auto& v = p.values;
        ASSERT_THAT(v[0].value, testing::EndsWith(" ms"));  // converted to the canonical unit
        const double tau = number(v[0].value);
        ASSERT_GE(tau, 10.0);
        ASSERT_LT(tau, 30.0);
        sum_tau += tau;
        ASSERT_THAT(v[1].value, testing::EndsWith(" pF"));
        const double c = number(v[1].value);
        ASSERT_GE(c, 10.0);
        ASSERT_LT(c, 1000.0);
        sum_log_c += std::log10(c);
        const double w = number(v[2].value);
        ASSERT_GE(w, 9.0);  // redrawn below min
        sum_w += w;
        ++sizes[v[3].value];
        ++rules[v[4].value];
    }
    const double N = static_cast<double>(n);
    // Means with tolerances of about 5 standard errors.
    EXPECT_NEAR(sum_tau / N, 20.0, 5 * 20.0 / std::sqrt(12.0 * N));
    EXPECT_NEAR(sum_log_c / N, 2.0, 5 * 2.0 / std::sqrt(12.0 * N));
    // Normal(10, 2) truncated below at 9 (alpha = -0.5): mean = 10 + 2 phi(a) / (1 - Phi(a)).
    const double alpha = -0.5;
    const double phi = std::exp(-alpha * alpha / 2) / std::sqrt(2 * M_PI);
    const double tail = 0.5 * std::erfc(alpha / std::sqrt(2.0));
    EXPECT_NEAR(sum_w / N, 10.0 + 2.0 * phi / tail, 5 * 2.0 / std::sqrt(N));
    EXPECT_EQ(sizes.size(), 4u);  // 1, 2, 3, 4: both ends included
    for (const auto& [size, count]: sizes) {
        EXPECT_TRUE(size == "1" || size == "2" || size == "3" || size == "4") << size;
        EXPECT_NEAR(count, N / 4, 5 * std::sqrt(N * 0.25 * 0.75)) << size;
    }
    EXPECT_EQ(rules.size(), 2u);
    EXPECT_EQ(rules.count("pairwise_bernoulli"), 1u);
    EXPECT_EQ(rules.count("all_to_all"), 1u);
}

TEST(sweep_expansion, a_normal_may_be_written_as_a_list_and_std_0_gives_the_mean) {
    const auto plan = expand("sweep:\n"
                             "  random: {n: 3, projections.ee.weight: {normal: [12 pA, 0 pA]}}\n");
    EXPECT_EQ(values_of(plan, 0), (std::vector<std::string>{"12 pA", "12 pA", "12 pA"}));
}

TEST(sweep_expansion, repeats_set_distinct_seeds_that_every_point_shares) {
    const auto plan = expand("sweep:\n"
                             "  grid: {projections.ee.p: [0.1, 0.2, 0.3]}\n"
                             "  repeats: 4\n");
    ASSERT_EQ(plan.points.size(), 12u);
    ASSERT_EQ(plan.keys.back(), "simulation.seed");
    std::set<std::string> seeds;
    for (std::size_t s = 0; s < 4; ++s) {
        seeds.insert(plan.points[s].values[1].value);
        for (std::size_t g = 1; g < 3; ++g) {
            EXPECT_EQ(plan.points[g * 4 + s].values[1].value, plan.points[s].values[1].value);
        }
    }
    EXPECT_EQ(seeds.size(), 4u);
    const auto spec = glia::sweep::load_point(plan, 6, {}, models());
    EXPECT_EQ(std::to_string(spec.simulation.seed), plan.points[6].values[1].value);
    EXPECT_DOUBLE_EQ(spec.projections.at(0).connectivity.p, 0.2);
}

TEST(sweep_expansion, output_paths_follow_the_output_file_and_the_sweep_name) {
    const auto by_stem = expand("sweep: {repeats: 2}\n", "dir/my_scan.yaml");
    EXPECT_EQ(by_stem.name, "my_scan");
    EXPECT_EQ(by_stem.directory, std::filesystem::path("out/my_scan"));
    EXPECT_EQ(by_stem.points[1].directory, std::filesystem::path("out/my_scan/point_1"));
    EXPECT_EQ(by_stem.points[1].output, std::filesystem::path("out/my_scan/point_1/net.h5"));
    const auto named = expand("sweep: {name: tau-scan, repeats: 2}\n");
    EXPECT_EQ(named.points[0].output, std::filesystem::path("out/tau-scan/point_0/net.h5"));
}

// ---------------------------------------------------------------------------------------------
// Loading points

TEST(sweep_points, the_points_overrides_apply_before_the_users) {
    const auto plan = expand("sweep:\n"
                             "  grid: {populations.exc.params.tau_m: [10 ms, 15 ms]}\n");
    const auto spec = glia::sweep::load_point(plan, 1, {}, models());
    EXPECT_DOUBLE_EQ(spec.populations.at(0).params.at("tau_m").value, 15.0);
    const auto user = glia::sweep::load_point(
        plan, 1, {"populations.exc.params.tau_m=30 ms", "simulation.duration=20 ms"}, models());
    EXPECT_DOUBLE_EQ(user.populations.at(0).params.at("tau_m").value, 30.0);
    EXPECT_DOUBLE_EQ(user.simulation.duration, 20.0);
    EXPECT_THAT(
        [&] { glia::sweep::load_point(plan, 2, {}, models()); },
        testing::ThrowsMessage<glia::error>("test.yaml: no point 2; the sweep has points 0 to 1"));
}

TEST(sweep_points, the_loader_accepts_the_block_and_leaves_it_out_of_the_resolved_config) {
    const std::string text = base + "sweep: {repeats: 2}\n";
    const auto spec = glia::io::parse_experiment(text, "test.yaml", {}, models());
    EXPECT_THAT(spec.config_text, testing::Not(HasSubstr("sweep")));
    EXPECT_THAT(spec.config_text, HasSubstr("populations"));
    const auto plan = expand("sweep: {repeats: 2}\n");
    const auto configs = glia::sweep::check_points(plan, models());
    ASSERT_EQ(configs.size(), 2u);
    EXPECT_NE(configs[0], configs[1]);  // the seeds differ
    EXPECT_THAT(configs[1], HasSubstr("seed: " + plan.points[1].values[0].value));
}

// ---------------------------------------------------------------------------------------------
// Errors: each with its exact message and location

TEST(sweep_errors, bad_blocks_are_reported_at_their_place) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"sweep:\n  gird: {projections.ee.p: [0.1]}\n",
         "test.yaml:14:3: unknown key 'gird' in 'sweep'; expected one of: name, seed, grid, zip, "
         "random, repeats"},
        {"sweep:\n",
         "test.yaml:13:1: sweep: nothing to vary; give at least one of grid, zip, random, "
         "repeats"},
        {"sweep: {name: a/b, repeats: 2}\n",
         "test.yaml:13:15: sweep.name must be a name of letters, digits, '_' and '-', got 'a/b'"},
        {"sweep:\n  grid: {projections.ee.p: []}\n",
         "test.yaml:14:28: sweep.grid: 'projections.ee.p' has no values; give a non-empty list"},
        {"sweep:\n  grid: {projections.ee.p: 0.1}\n",
         "test.yaml:14:28: sweep.grid: 'projections.ee.p' must be a list of values, got '0.1'"},
        {"sweep:\n  grid: {}\n",
         "test.yaml:14:9: sweep.grid is empty; give key paths with lists of values"},
        {"sweep:\n  zip:\n    projections.ee.p: [0.1, 0.2]\n    projections.ee.weight: [1 pA]\n",
         "test.yaml:16:5: sweep.zip: 'projections.ee.weight' has 1 value but 'projections.ee.p' "
         "has 2; zip lists must have equal lengths"},
        {"sweep:\n  grid: {projections.ex.p: [0.1]}\n",
         "test.yaml:14:10: sweep.grid: 'projections.ex' is not in the file (key path "
         "'projections.ex.p')"},
        {"sweep:\n  grid: {simulation.dt.x: [1]}\n",
         "test.yaml:14:10: sweep.grid: 'simulation.dt' is not a map in the file (key path "
         "'simulation.dt.x'; it is '0.1 ms')"},
        {"sweep:\n  grid: {projections..p: [0.1]}\n",
         "test.yaml:14:10: sweep.grid: 'projections..p' is not a key path (keys separated by "
         "'.', e.g. populations.exc.params.tau_m)"},
        {"sweep:\n  grid: {sweep.seed: [1, 2]}\n",
         "test.yaml:14:10: sweep.grid: 'sweep.seed' is inside the sweep block; a sweep varies the "
         "experiment, not itself"},
        {"sweep:\n  grid: {projections.ee.p: [0.1]}\n  zip: {projections.ee.p: [0.2]}\n",
         "test.yaml:15:9: sweep.zip: 'projections.ee.p' is already varied by sweep.grid; vary a "
         "key in one place only"},
        {"sweep:\n  grid: {projections.ee: [{}]}\n  zip: {projections.ee.p: [0.2]}\n",
         "test.yaml:15:9: sweep.zip: 'projections.ee.p' lies inside 'projections.ee', which "
         "sweep.grid varies too"},
        {"sweep:\n  grid: {simulation.seed: [1, 2]}\n  repeats: 3\n",
         "test.yaml:15:12: sweep.repeats sets simulation.seed, which sweep.grid varies too; vary "
         "it in one place only"},
        {"sweep:\n  repeats: 0\n", "test.yaml:14:12: sweep.repeats must be >= 1, got 0"},
        {"sweep:\n  seed: -1\n  repeats: 2\n",
         "test.yaml:14:9: sweep.seed must be a whole number >= 0, got '-1'"},
        {"sweep:\n  random: {inputs.drive.rate: {uniform: [1 kHz, 2 kHz]}}\n",
         "test.yaml:14:11: missing required key 'n' in 'sweep.random' (the number of draws)"},
        {"sweep:\n  random: {n: 2, m: 3, inputs.drive.rate: {uniform: [1 kHz, 2 kHz]}}\n",
         "test.yaml:14:18: unknown key 'm' in 'sweep.random'; expected 'n' (the number of draws) "
         "or key paths such as populations.exc.params.tau_m"},
        {"sweep:\n  random: {n: 2}\n",
         "test.yaml:14:11: sweep.random has no key paths to draw; add e.g. "
         "'populations.exc.params.tau_m: {uniform: [10 ms, 30 ms]}'"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {uniform: [2 kHz, 1 kHz]}}\n",
         "test.yaml:14:47: sweep.random: 'inputs.drive.rate': uniform needs low < high, got "
         "[2 kHz, 1 kHz]"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {uniform: [1 kHz, 2 mV]}}\n",
         "test.yaml:14:47: sweep.random: 'inputs.drive.rate': uniform bounds must have the same "
         "dimension, got '1 kHz' and '2 mV'"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {log_uniform: [0 Hz, 1 kHz]}}\n",
         "test.yaml:14:51: sweep.random: 'inputs.drive.rate': log_uniform needs 0 < low, got "
         "0 Hz"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {gamma: [1, 2]}}\n",
         "test.yaml:14:38: sweep.random: 'inputs.drive.rate': unknown distribution 'gamma'; "
         "expected one of: uniform: [low, high], log_uniform: [low, high], normal: {mean, std, "
         "min, max} or [mean, std], uniform_int: [low, high], choice: [values...]"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {normal: {mean: 1 kHz}}}\n",
         "test.yaml:14:46: sweep.random: 'inputs.drive.rate': normal needs both mean and std"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: {choice: []}}\n",
         "test.yaml:14:46: sweep.random: 'inputs.drive.rate': choice needs a non-empty list of "
         "values, got a list"},
        {"sweep:\n  random: {n: 2, inputs.drive.rate: 5 kHz}\n",
         "test.yaml:14:37: sweep.random: 'inputs.drive.rate' must be a distribution, a map with "
         "one key (uniform: [low, high], log_uniform: [low, high], normal: {mean, std, min, max} "
         "or [mean, std], uniform_int: [low, high], choice: [values...]), got '5 kHz'"},
    };
    for (const auto& [block, message]: cases) {
        EXPECT_EQ(error_of(block), message) << block;
    }
}

TEST(sweep_errors, a_value_the_loader_refuses_is_reported_at_that_value) {
    // The leaf key may be new to the file (a parameter left at its default), so a misspelt one
    // is found by the loader, at the first point that uses it.
    EXPECT_EQ(error_of("sweep:\n  grid: {populations.exc.params.tau_mm: [10 ms]}\n"),
              "test.yaml:14:42: sweep point 0: populations.exc.params.tau_mm=10 ms: unknown "
              "parameter 'tau_mm' in 'populations.exc.params' (model iaf_psc_exp); parameters "
              "are: E_L, C_m, tau_m, t_ref, V_th, V_reset, tau_syn_ex, tau_syn_in, I_e");
    EXPECT_EQ(error_of("sweep:\n  grid: {populations.exc.params.tau_m: [10 ms, -2 ms]}\n"),
              "test.yaml:14:48: sweep point 1: populations.exc.params.tau_m=-2 ms: "
              "populations.exc.params.tau_m must be > 0 ms, got -2 ms");
    EXPECT_EQ(error_of("sweep:\n  random: {n: 1, populations.exc.size: {choice: [many]}}\n"),
              "test.yaml:14:40: sweep point 0: populations.exc.size=many: populations.exc.size "
              "must be an integer in [1, 4294967295], got 'many'");
}

TEST(sweep_errors, a_file_without_a_sweep_block_is_refused) {
    EXPECT_THAT([] { glia::sweep::parse_sweep(base, "test.yaml", models()); },
                testing::ThrowsMessage<glia::error>(
                    "test.yaml has no 'sweep:' block (see docs/sweeps.md)"));
}

// ---------------------------------------------------------------------------------------------
// The collected table and the SLURM script, without running anything

TEST(sweep_collect, points_without_output_are_missing_and_parameters_are_numbers) {
    const auto plan = expand("sweep:\n"
                             "  grid:\n"
                             "    populations.exc.params.tau_m: [10 ms, 0.02 s]\n"
                             "    projections.ee.rule: [pairwise_bernoulli, all_to_all]\n",
                             "/nonexistent/test.yaml");
    const auto t = glia::sweep::collect_table(plan, {});
    ASSERT_EQ(t.rows, 4u);
    const auto* tau = t.find("populations.exc.params.tau_m");
    ASSERT_NE(tau, nullptr);
    EXPECT_TRUE(tau->numeric);
    EXPECT_EQ(tau->unit, "ms");
    EXPECT_EQ(tau->numbers, (std::vector<double>{10, 10, 20, 20}));
    const auto* rule = t.find("projections.ee.rule");
    ASSERT_NE(rule, nullptr);
    EXPECT_FALSE(rule->numeric);
    EXPECT_EQ(rule->texts[1], "all_to_all");
    const auto* status = t.find("status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->texts, std::vector<std::string>(4, "missing"));
    const auto* spikes = t.find("spikes");
    ASSERT_NE(spikes, nullptr);
    for (double v: spikes->numbers) {
        EXPECT_TRUE(std::isnan(v));
    }
    EXPECT_EQ(t.columns.front().name, "point");
    EXPECT_EQ(t.columns.back().name, "output");
}

TEST(sweep_slurm, array_ranges_join_consecutive_points) {
    using glia::sweep::array_ranges;
    EXPECT_EQ(array_ranges({0, 1, 2, 3}), "0-3");
    EXPECT_EQ(array_ranges({0, 1, 2, 3, 5, 7, 8, 9}), "0-3,5,7-9");
    EXPECT_EQ(array_ranges({4}), "4");
}

TEST(sweep_slurm, the_script_runs_one_point_per_task_and_asks_for_the_warning_signal) {
    const auto plan = expand("sweep: {name: scan, repeats: 6}\n");
    glia::sweep::slurm_options o;
    o.executable = "/opt/glia/bin/glia";
    o.work_dir = "/home/me/work";
    o.partition = "short";
    o.time = "01:00:00";
    o.array_limit = 2;
    o.cpus_per_task = 4;
    o.mem = "2G";
    o.account = "lab";
    o.extra = {"--qos=low --constraint=avx2"};
    const std::string s = glia::sweep::sbatch_script(plan, {0, 1, 2, 3, 5}, o);
    const auto dir = std::filesystem::absolute("out/scan").string();
    const auto file = std::filesystem::absolute("test.yaml").string();
    EXPECT_THAT(s, testing::StartsWith("#!/bin/bash\n"));
    for (const std::string line:
         {"#SBATCH --array=0-3,5%2", "#SBATCH --job-name=glia-scan", "#SBATCH --signal=B:USR1@120",
          "#SBATCH --cpus-per-task=4", "#SBATCH --chdir=/home/me/work", "#SBATCH --partition=short",
          "#SBATCH --time=01:00:00", "#SBATCH --mem=2G", "#SBATCH --account=lab",
          "#SBATCH --qos=low", "#SBATCH --constraint=avx2", "#SBATCH --requeue",
          "#SBATCH --open-mode=append"}) {
        EXPECT_THAT(s, HasSubstr(line + "\n"));
    }
    EXPECT_THAT(s, HasSubstr("#SBATCH --output=" + dir + "/slurm/%A_%a.out\n"));
    EXPECT_THAT(s, HasSubstr("\nexec '/opt/glia/bin/glia' run '" + file +
                             "' --point \"$SLURM_ARRAY_TASK_ID\" --threads "
                             "\"${SLURM_CPUS_PER_TASK:-1}\" --no-progress\n"));
    // Every #SBATCH line comes before the first command (sbatch stops reading them there).
    EXPECT_LT(s.rfind("#SBATCH"), s.find("\nexec "));
}
