// metrics.branching_factor end to end (`glia run` on a network experiment): a tiny network
// driven by a hand-made raster through known synapses writes to /metrics exactly the branching
// factor that the definition (science-spec §1.8, tests/branching_reference.hpp) gives on the
// raster derived by hand; the summary line, --stats and `glia inspect` show it; the value is the
// same for any thread and partition count, and does not need the populations to be recorded;
// a run stopped by SIGTERM and resumed ends with the value of the uninterrupted run; a bad
// metrics block is a located error that leaves no output.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "branching_reference.hpp"
#include "cli_harness.hpp"
#include "io/hdf5_reader.hpp"
#include "io/network_metrics.hpp"

namespace fs = std::filesystem;
using testing::HasSubstr;

namespace {

using glia::test::binned_spike;
using glia::test::run_glia;

class branching_cli: public glia::test::scratch_test {
protected:
    branching_cli(): scratch_test("bf") {}
};

// /metrics of an output file, by name ("branching_factor.value", "branching_factor@bin").
std::map<std::string, std::string> metrics_of(const std::string& file) {
    std::map<std::string, std::string> out;
    for (const auto& m: glia::io::read_metrics(file)) {
        out[m.name] = m.text;
    }
    return out;
}

// Every input spike makes its target spike when it arrives (20 mV onto 15 mV below threshold,
// delta synapses): a spike at t reaches a target at t + delay, which spikes then.
//   in0: 5, 12, 20 ms       in1: 7, 21 ms
//   exc0 = in0 + 1:          6, 13, 21
//   exc1 = (in1 + 1) u (exc0 + 1) = {8, 22} u {7, 14, 22}:   7, 8, 14, 22 (two inputs at 22:
//          one spike); exc0 -> exc1 is a multapse (two synapses, one pair)
//   exc2 = exc1 + 1:         8, 9, 15, 23
//   inh0 = exc2 + 2 (exc2 -> inh0 only): 10, 11, 17, 25
// inh0 -> every exc neuron with -1 mV (an inhibitory synapse counts like any other) is too weak
// to stop any of these spikes.
const std::string hand_config = R"(simulation: {dt: 0.1 ms, duration: 40 ms, seed: 3}
populations:
  in:
    model: spike_source_array
    size: 2
    spike_times: [[5 ms, 12 ms, 20 ms], [7 ms, 21 ms]]
  exc:
    model: iaf_psc_delta
    size: 3
    params: &lif {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 0.5 ms, tau_m: 10 ms, C_m: 250 pF}
  inh: {model: iaf_psc_delta, size: 1, params: *lif}
projections:
  drive: {source: in, target: exc, rule: from_list, connections: [[0, 0], [1, 1]], weight: 20 mV, delay: 1 ms}
  chain: {source: exc, target: exc, rule: from_list, connections: [[0, 1], [0, 1], [1, 2]], weight: 20 mV, delay: 1 ms}
  ei: {source: exc, target: inh, rule: from_list, connections: [[2, 0]], weight: 20 mV, delay: 2 ms}
  ie: {source: inh, target: exc, rule: all_to_all, weight: -1 mV, delay: 1 ms}
metrics:
  branching_factor: {populations: [exc, inh], bin: 1 ms, delta_t: 3 ms, start: 2 ms, stop: 38 ms}
)";

// The hand-derived raster above, in metric indices (exc 0-2, inh 3), times in ms.
const std::vector<std::pair<double, std::uint32_t>> hand_raster = {
    {6, 0},  {13, 0}, {21, 0}, {7, 1},  {8, 1},  {14, 1}, {22, 1}, {8, 2},
    {9, 2},  {15, 2}, {23, 2}, {10, 3}, {11, 3}, {17, 3}, {25, 3}};
// exc0 -> exc1, exc1 -> exc2, exc2 -> inh0, inh0 -> exc0, exc1, exc2 (in -> exc: not chosen).
const std::set<std::pair<std::uint32_t, std::uint32_t>> hand_pairs = {
    {0, 1}, {1, 2}, {2, 3}, {3, 0}, {3, 1}, {3, 2}};

std::vector<binned_spike> binned(double bin) {
    std::vector<binned_spike> out;
    for (const auto& [t, n]: hand_raster) {
        out.push_back({static_cast<std::uint32_t>(std::floor(t / bin)), n});
    }
    return out;
}

TEST_F(branching_cli, writes_the_value_of_the_definition_on_a_hand_made_raster) {
    const std::string out = path("hand.h5");
    const std::string stats = path("stats.json");
    const auto r = run_glia("run " + write("hand.yaml", hand_config) + " -o " + out +
                            " --stats " + stats + " --threads 2");
    ASSERT_EQ(r.code, 0) << r.out;

    // The run produced the hand-derived raster.
    std::vector<std::pair<double, std::uint32_t>> got;
    for (const auto& [name, offset]: {std::pair<const char*, std::uint32_t>{"exc", 0}, {"inh", 3}}) {
        const auto s = glia::io::read_spikes(out, name);
        for (std::size_t k = 0; k < s.timestamps.size(); ++k) {
            got.emplace_back(std::round(s.timestamps[k] * 10) / 10,
                             offset + static_cast<std::uint32_t>(s.node_ids[k]));
        }
    }
    std::sort(got.begin(), got.end());
    auto expected_raster = hand_raster;
    std::sort(expected_raster.begin(), expected_raster.end());
    ASSERT_EQ(got, expected_raster);

    // Bins of 1 ms, delta_t 3 bins, window [2, 38) ms.
    const auto expected = glia::test::branching_reference(binned(1.0), hand_pairs, 4, 2, 38, 3);
    ASSERT_TRUE(std::isfinite(expected.value));
    ASSERT_GT(expected.value, 0.0);
    const auto m = metrics_of(out);
    ASSERT_TRUE(m.count("branching_factor.value")) << r.out;
    EXPECT_DOUBLE_EQ(std::stod(m.at("branching_factor.value")), expected.value);
    EXPECT_EQ(m.at("branching_factor.spikes"), std::to_string(expected.spikes));
    EXPECT_EQ(m.at("branching_factor.neurons"), std::to_string(expected.neurons));
    EXPECT_EQ(m.at("branching_factor@connected_pairs"), std::to_string(hand_pairs.size()));
    EXPECT_EQ(m.at("branching_factor@kept_spikes"), std::to_string(hand_raster.size()));
    EXPECT_EQ(m.at("branching_factor@populations"), "exc, inh");
    EXPECT_EQ(m.at("branching_factor@bin"), "1");
    EXPECT_EQ(m.at("branching_factor@delta_t"), "3");
    EXPECT_EQ(m.at("branching_factor@start"), "2");
    EXPECT_EQ(m.at("branching_factor@stop"), "38");

    // The summary line, --stats and inspect.
    EXPECT_THAT(r.out, HasSubstr(fmt::format("branching factor {:.4f}", expected.value)));
    std::stringstream json;
    json << std::ifstream(stats).rdbuf();
    EXPECT_THAT(json.str(), HasSubstr("\"branching_factor\": "));
    const auto at = json.str().find("\"branching_factor\": ");
    EXPECT_DOUBLE_EQ(std::stod(json.str().substr(at + 20)), expected.value);
    const auto i = run_glia("inspect " + out);
    ASSERT_EQ(i.code, 0) << i.out;
    EXPECT_THAT(i.out, HasSubstr("metrics:"));
    EXPECT_THAT(i.out, HasSubstr("branching_factor.value"));
    EXPECT_THAT(i.out, HasSubstr(m.at("branching_factor.value")));

    // Bins of 2 ms (several spikes of one neuron may share one), delta_t 2 bins, [2, 38) ms.
    const std::string out2 = path("hand2.h5");
    ASSERT_EQ(run_glia("run " + path("hand.yaml") + " -o " + out2 +
                       " --set 'metrics.branching_factor.bin=2 ms'"
                       " --set 'metrics.branching_factor.delta_t=4 ms'")
                  .code,
              0);
    const auto expected2 = glia::test::branching_reference(binned(2.0), hand_pairs, 4, 1, 19, 2);
    EXPECT_DOUBLE_EQ(std::stod(metrics_of(out2).at("branching_factor.value")), expected2.value);
    EXPECT_NE(expected2.value, expected.value);
}

// A random network with a plastic projection among the chosen populations, exc not recorded.
const std::string random_config = R"(simulation: {dt: 0.1 ms, duration: 300 ms, seed: 5}
populations:
  exc:
    model: iaf_psc_exp
    size: 160
    params: &lif {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}
    initial: {V_m: {uniform: {low: -65 mV, high: -50 mV}}}
  inh: {model: iaf_psc_exp, size: 40, params: *lif}
projections:
  ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 10, weight: 30 pA,
       delay: {uniform: {low: 0.5 ms, high: 3 ms}}, synapse: stdp, plasticity: {Wmax: 100 pA}}
  ei: {source: exc, target: inh, rule: pairwise_bernoulli, p: 0.1, weight: 30 pA, delay: 1 ms}
  ie: {source: inh, target: exc, rule: fixed_indegree, indegree: 5, weight: -40 pA, delay: 1 ms}
inputs:
  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}
record: {spikes: [inh]}
metrics:
  branching_factor: {populations: [exc, inh], start: 50 ms}
)";

TEST_F(branching_cli, value_does_not_depend_on_threads_or_partitions) {
    const std::string cfg = write("random.yaml", random_config);
    std::vector<std::map<std::string, std::string>> runs;
    for (const char* opts: {"--threads 1 --partitions 1", "--threads 2 --partitions 2",
                            "--threads 2 --partitions 5"}) {
        const std::string out = path(std::string("r") + std::to_string(runs.size()) + ".h5");
        const auto r = run_glia("run " + cfg + " -o " + out + " " + opts);
        ASSERT_EQ(r.code, 0) << r.out;
        runs.push_back(metrics_of(out));
    }
    ASSERT_TRUE(runs[0].count("branching_factor.value"));
    EXPECT_TRUE(std::isfinite(std::stod(runs[0].at("branching_factor.value"))));
    EXPECT_GT(std::stoull(runs[0].at("branching_factor.spikes")), 500u);
    EXPECT_GT(std::stoull(runs[0].at("branching_factor@connected_pairs")), 1000u);
    for (std::size_t k = 1; k < runs.size(); ++k) {
        EXPECT_EQ(runs[k], runs[0]) << "run " << k;  // every value, to the last digit
    }
}

// A scaled-down polychronization network (configs/polychronization.yaml), 60 s at dt 1 ms:
// about half a second of wall time, long enough to be stopped by a signal in the middle.
std::string long_config(const std::string& recorded) {
    return "simulation: {dt: 1 ms, duration: 60 s, seed: 11}\n"
           "populations:\n"
           "  exc: {model: izhikevich, size: 400, params: {a: 0.02, b: 0.2, c: -65 mV, d: 8}}\n"
           "  inh: {model: izhikevich, size: 100, params: {a: 0.1, b: 0.2, c: -65 mV, d: 2}}\n"
           "projections:\n"
           "  ee: {source: exc, target: exc, rule: fixed_outdegree, outdegree: 40, weight: 6,"
           " delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}, synapse: izhikevich2006}\n"
           "  ei: {source: exc, target: inh, rule: fixed_outdegree, outdegree: 10, weight: 6,"
           " delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}}\n"
           "  ie: {source: inh, target: exc, rule: fixed_outdegree, outdegree: 50, weight: -5,"
           " delay: 1 ms}\n"
           "inputs:\n"
           "  te: {type: poisson_generator, target: exc, rate: 2 Hz, weight: 20}\n"
           "  ti: {type: poisson_generator, target: inh, rate: 2 Hz, weight: 20}\n"
           "record: {spikes: " +
           recorded +
           "}\n"
           "metrics:\n"
           "  branching_factor: {populations: [exc, inh], start: 1 s}\n";
}

// Runs `glia run ARGS` and sends it SIGTERM after a while; retries with other waits until the
// run was stopped in the middle (exit code 3). Returns the output of that run.
std::string interrupted_run(const std::string& args) {
    std::string outputs;
    for (const char* wait: {"0.3", "0.15", "0.6", "0.05"}) {
        const auto r = glia::test::run_shell(std::string(GLIA_EXECUTABLE) + " run " + args +
                                             " --no-progress 2>&1 & pid=$!; sleep " + wait +
                                             "; kill -TERM $pid; wait $pid");
        if (r.code == 3) {
            return r.out;
        }
        outputs += r.out;
    }
    ADD_FAILURE() << "no run was stopped in the middle:\n" << outputs;
    return outputs;
}

TEST_F(branching_cli, resumed_run_gives_the_value_of_the_uninterrupted_one) {
    const std::string cfg = write("long.yaml", long_config("all"));
    const std::string reference = path("reference.h5");
    ASSERT_EQ(run_glia("run " + cfg + " -o " + reference + " --no-progress").code, 0);
    const auto expected = metrics_of(reference);
    ASSERT_TRUE(expected.count("branching_factor.value"));

    // Stopped: no metric yet (the file holds a prefix); resumed with other threads: the
    // spikes before the checkpoint come back from the file.
    const std::string out = path("resumed.h5");
    const std::string stopped = interrupted_run(cfg + " -o " + out);
    EXPECT_THAT(stopped, HasSubstr("metrics.branching_factor: not computed for an interrupted run"));
    EXPECT_FALSE(metrics_of(out).count("branching_factor.value"));
    const auto r = run_glia("run " + cfg + " -o " + out + " --no-progress --resume --threads 1");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_EQ(metrics_of(out), expected);

    // Without the earlier spikes of exc in the file, a resumed run has no branching factor.
    const std::string cfg2 = write("long_inh.yaml", long_config("[inh]"));
    const std::string out2 = path("resumed_inh.h5");
    interrupted_run(cfg2 + " -o " + out2);
    const auto r2 = run_glia("run " + cfg2 + " -o " + out2 + " --no-progress --resume");
    ASSERT_EQ(r2.code, 0) << r2.out;
    EXPECT_THAT(r2.out, HasSubstr("metrics.branching_factor will not be computed: the run resumes "
                                  "at t = "));
    EXPECT_THAT(r2.out, HasSubstr("the earlier spikes of exc are not in the output"));
    EXPECT_FALSE(metrics_of(out2).count("branching_factor.value"));
}

TEST_F(branching_cli, bad_metrics_block_is_a_located_error_without_output) {
    std::string text = hand_config;
    const std::string from = "populations: [exc, inh]";
    text.replace(text.find(from), from.size(), "populations: [exc, inhh]");
    const std::string cfg = write("bad.yaml", text);
    const std::string out = path("never.h5");
    const auto r = run_glia("run " + cfg + " -o " + out);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(cfg + ":18:41: metrics.branching_factor.populations[1]: no "
                                       "population 'inhh'; populations are: in, exc, inh"));
    EXPECT_FALSE(fs::exists(out));
}

}  // namespace
