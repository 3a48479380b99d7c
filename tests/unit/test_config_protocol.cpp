// The protocol: and readout: blocks of experiment files (src/io/config_yaml*.cpp,
// docs/config_reference.md "protocol" and "readout"): one wrong value per key, each refused with
// the file:line:col of the value, the key's path and what is allowed. The files are read only
// (no dataset, no network): what a run would find later is tested through the executable in
// tests/integration/test_reservoir_cli.cpp.

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "io/config_yaml.hpp"
#include "spec_harness.hpp"

namespace {

// A network with a dataset_source input (lines 1-10); the protocol block follows from line 11.
const std::string network = R"(simulation: {dt: 1 ms, seed: 1}
populations:
  E: {model: nalsm_lif, size: 8}
  input: {model: nalsm_lif, size: 4}
  L: {model: iaf_psc_delta, size: 8}
inputs:
  pixels: {type: dataset_source, target: input, weight: 100, receptor: direct}
  poisson: {type: poisson_generator, target: E, rate: 5 Hz, weight: 1}
projections:
  inE: {source: input, target: E, rule: all_to_all, weight: 1, delay: 1 ms}
)";

// Every two_phase and readout key given a valid value (lines 11-24).
const std::string two_phase = R"(protocol:
  type: two_phase
  input: pixels
  state: [E]
  dataset: {format: idx_official, path: /usr/share/datasets/fashion-mnist}
  phase_a: {samples: 10, duration: 20 ms, shuffle: true}
  phase_b: {duration: 100 ms, set: {inputs.pixels.weight: 50}}
  bins: 2
  block: 10
  branching_samples: 2
readout:
  method: ridge
  features: counts
  ridge: {lambdas: [1, 10]}
  softmax: {learning_rate: 1, rho: 0.9, epsilon: 1e-6, l2_beta: 0, batch_size: 10, max_epochs: 5, patience: 2, train_curve: true}
)";

// Every timeseries key given a valid value (lines 11-15).
const std::string timeseries = R"(protocol:
  type: timeseries
  task: {kind: memory_capacity, steps: 200, step_duration: 5 ms, k_max: 10, washout: 20, train_fraction: 0.5, ridge_lambda: 1e-4, standardize: true}
  input: {population: L, fraction: 0.5, gain: 100 pA, bias: 10 pA}
  state: {populations: [L], tau: 20 ms, save: false}
)";

std::string error_of(const std::string& yaml) {
    try {
        glia::io::parse_experiment(yaml, "p.yaml", {}, glia::test::builtin_models());
    }
    catch (const glia::error& e) {
        return e.what();
    }
    return "(no error)";
}

struct bad_value {
    std::string from, to;  // the first `from` in the block becomes `to`
    std::string message;   // the whole error
};

std::string with(const std::string& block, const bad_value& c) {
    std::string text = block;
    const auto at = text.find(c.from);
    if (at == std::string::npos) {
        ADD_FAILURE() << "'" << c.from << "' is not in the block";
        return network + text;
    }
    return network + text.replace(at, c.from.size(), c.to);
}

TEST(config_protocol, the_complete_blocks_are_read) {
    EXPECT_EQ(error_of(network + two_phase), "(no error)");
    EXPECT_EQ(error_of(network + timeseries), "(no error)");
    const auto spec =
        glia::io::parse_experiment(network + two_phase, "p.yaml", {}, glia::test::builtin_models());
    EXPECT_EQ(spec.protocol.type, glia::protocol_spec::kind::two_phase);
    EXPECT_EQ(spec.protocol.input, "pixels");
    EXPECT_THAT(spec.protocol.state, testing::ElementsAre("E"));
    EXPECT_EQ(spec.protocol.phase_a_samples, 10U);
    EXPECT_DOUBLE_EQ(spec.protocol.phase_b_duration, 100.0);
    EXPECT_EQ(spec.protocol.bins, 2U);
    EXPECT_EQ(spec.protocol.block, 10U);
    EXPECT_EQ(spec.protocol.branching_samples, 2U);
    EXPECT_DOUBLE_EQ(spec.readout.rho, 0.9);
    EXPECT_EQ(spec.readout.max_epochs, 5U);
}

TEST(config_protocol, every_bad_two_phase_or_readout_key_is_located) {
    const std::vector<bad_value> cases = {
        {"type: two_phase", "type: two",
         "p.yaml:12:9: protocol.type must be one of: two_phase, timeseries; got 'two'"},
        {"input: pixels", "inputs: pixels",
         "p.yaml:13:3: unknown key 'inputs' in 'protocol'; expected one of: type, input, state, "
         "dataset, phase_a, phase_b, bins, final_state, block, branching_samples"},
        {"input: pixels", "input: poisson",
         "p.yaml:13:10: protocol.input: no dataset_source input 'poisson'; dataset_source inputs "
         "are: pixels"},
        {"state: [E]", "state: []",
         "p.yaml:14:10: protocol.state must be a population name or a non-empty list of them, got "
         "a list"},
        {"state: [E]", "state: [E, E]",
         "p.yaml:14:14: protocol.state[1]: population 'E' is listed twice"},
        {"state: [E]", "state: [J]",
         "p.yaml:14:11: protocol.state[0]: no population 'J'; populations are: E, input, L"},
        {"format: idx_official", "format: idx",
         "p.yaml:15:12: missing required key 'images' in 'protocol.dataset'"},
        {"fashion-mnist}", "fashion-mnist, split: random}",
         "p.yaml:15:83: protocol.dataset.split must be one of: nalsm, fractions; got 'random'"},
        {"fashion-mnist}", "fashion-mnist, limit: {train: 0}}",
         "p.yaml:15:91: protocol.dataset.limit.train must be an integer in [1, 4294967295], got "
         "'0'"},
        {"fashion-mnist}", "fashion-mnist, limit: {training: 5}}",
         "p.yaml:15:84: unknown key 'training' in 'protocol.dataset.limit'; expected one of: "
         "train, validation, test"},
        {"samples: 10", "samples: -1",
         "p.yaml:16:22: protocol.phase_a.samples must be an integer in [0, 4294967295], got '-1'"},
        {"duration: 20 ms", "duration: 0.5 ms",
         "p.yaml:16:36: protocol.phase_a.duration must be at least one step (dt = 1 ms), got "
         "0.5 ms"},
        {"duration: 20 ms", "duration: 20 mV",
         "p.yaml:16:36: protocol.phase_a.duration must be a time (ms, s, us, min), got '20 mV'"},
        {"shuffle: true", "shuffle: maybe",
         "p.yaml:16:52: protocol.phase_a.shuffle must be true or false, got 'maybe'"},
        {"duration: 100 ms", "duration: 100.5 ms",
         "p.yaml:17:23: protocol.phase_b.duration = 100.5 ms is not a multiple of dt = 1 ms"},
        {"set: {inputs", "sett: {inputs",
         "p.yaml:17:31: unknown key 'sett' in 'protocol.phase_b'; expected one of: duration, set"},
        {"inputs.pixels.weight: 50", "inputs.pixels.wieght: 50",
         "p.yaml:17:37: protocol.phase_b.set: 'inputs.pixels.wieght' is not in the file"},
        {"inputs.pixels.weight: 50", "populations.E.size: 9",
         "p.yaml:17:37: protocol.phase_b.set: 'populations.E.size' changes the network's "
         "structure, which phase B shares with phase A; it may set parameters of neurons, "
         "inputs, projections' plasticity and modulators"},
        {"inputs.pixels.weight: 50", "simulation.dt: 0.5 ms",
         "p.yaml:17:37: protocol.phase_b.set: 'simulation.dt' changes the network's structure, "
         "which phase B shares with phase A; it may set parameters of neurons, inputs, "
         "projections' plasticity and modulators"},
        {"bins: 2", "bins: 1000",
         "p.yaml:18:9: protocol.bins must be an integer in [0, 100], got '1000'"},
        {"block: 10", "block: 0",
         "p.yaml:19:10: protocol.block must be an integer in [1, 4294967295], got '0'"},
        {"branching_samples: 2", "branching_samples: 1e6",
         "p.yaml:20:22: protocol.branching_samples must be an integer in [0, 100000], got '1e6'"},
        {"  block: 10", "  final_state: V_x",
         "p.yaml:19:16: protocol.final_state: model nalsm_lif of state population 'E' has no "
         "variable 'V_x'"},
        {"method: ridge", "method: svm",
         "p.yaml:22:11: readout.method must be one of: softmax, ridge, both; got 'svm'"},
        {"features: counts", "features: rates",
         "p.yaml:23:13: readout.features must be one of: counts, all; got 'rates'"},
        {"lambdas: [1, 10]", "lambdas: [1, -10]",
         "p.yaml:24:24: readout.ridge.lambdas[1] must be in [1e-6, 1e12] (a smaller penalty is "
         "below what the ridge solver resolves), got -10"},
        {"lambdas: [1, 10]", "lambdas: []",
         "p.yaml:24:20: readout.ridge.lambdas must be a non-empty list of numbers, got a list"},
        {"learning_rate: 1", "learning_rate: 0",
         "p.yaml:25:28: readout.softmax.learning_rate must be in (0, 1000000], got 0"},
        {"rho: 0.9", "rho: 1", "p.yaml:25:36: readout.softmax.rho must be in [0, 1), got 1"},
        {"batch_size: 10", "batch_size: 0",
         "p.yaml:25:80: readout.softmax.batch_size must be an integer in [1, 4294967295], got "
         "'0'"},
        {"max_epochs: 5", "max_epochs: 0",
         "p.yaml:25:96: readout.softmax.max_epochs must be an integer in [1, 1000000], got '0'"},
        {"patience: 2", "patience: -2",
         "p.yaml:25:109: readout.softmax.patience must be an integer in [0, 1000000], got '-2'"},
    };
    for (const auto& c: cases) {
        EXPECT_EQ(error_of(with(two_phase, c)), c.message) << c.from << " -> " << c.to;
    }
}

TEST(config_protocol, every_bad_timeseries_key_is_located) {
    const std::vector<bad_value> cases = {
        {"kind: memory_capacity", "kind: mackey_glass",
         "p.yaml:13:16: protocol.task.kind must be one of: memory_capacity, narma; got "
         "'mackey_glass'"},
        {"steps: 200", "steps: 5",
         "p.yaml:13:40: protocol.task.steps must be an integer in [10, 10000000], got '5'"},
        {"step_duration: 5 ms", "step_duration: 0.5 ms",
         "p.yaml:13:60: protocol.task.step_duration must be at least dt = 1 ms, got 0.5 ms"},
        {"k_max: 10", "k_max: 0",
         "p.yaml:13:73: protocol.task.k_max must be an integer in [1, 10000], got '0'"},
        {"washout: 20", "washout: 200",
         "p.yaml:13:86: protocol.task.washout must be an integer in [0, 199], got '200'"},
        {"train_fraction: 0.5", "train_fraction: 1",
         "p.yaml:13:106: protocol.task.train_fraction must be in (0, 1), got 1"},
        {"ridge_lambda: 1e-4", "ridge_lambda: 0",
         "p.yaml:13:125: protocol.task.ridge_lambda must be in [1e-6, 1e12] (a smaller penalty "
         "is below what the ridge solver resolves), got 0"},
        {"standardize: true", "standardize: 2",
         "p.yaml:13:144: protocol.task.standardize must be true or false, got '2'"},
        {"population: L", "population: E",
         "p.yaml:14:23: protocol.input.population: population 'E' (model nalsm_lif) takes no "
         "current, which the series is given as"},
        {"population: L", "population: Q",
         "p.yaml:14:23: protocol.input.population: no population 'Q'; populations are: E, "
         "input, L"},
        {" fraction: 0.5", " fraction: 0",
         "p.yaml:14:36: protocol.input.fraction must be in (0, 1], got 0"},
        {"gain: 100 pA", "gain: 100 ms",
         "p.yaml:14:47: protocol.input.gain must be a current (pA, nA, uA), got '100 ms'"},
        {"populations: [L]", "populations: [L, L]",
         "p.yaml:15:28: protocol.state.populations[1]: population 'L' is listed twice"},
        {"tau: 20 ms", "tau: 0 ms", "p.yaml:15:34: protocol.state.tau must be > 0 ms, got 0 ms"},
        {"save: false", "save: 7",
         "p.yaml:15:47: protocol.state.save must be true or false, "
         "got '7'"},
        {"  state: {", "  stat: {",
         "p.yaml:15:3: unknown key 'stat' in 'protocol'; expected one of: type, task, input, "
         "state"},
    };
    for (const auto& c: cases) {
        EXPECT_EQ(error_of(with(timeseries, c)), c.message) << c.from << " -> " << c.to;
    }
}

}  // namespace
