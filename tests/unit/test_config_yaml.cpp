// The YAML experiment loader (src/io/config_yaml.hpp): schema, values, errors, overrides.
// Uses a small fake model registry so that it does not depend on the built-in models; one test
// at the end reads a config with the real ones.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

#include "io/config_yaml.hpp"
#include "models/modulator/nalsm_astrocyte.hpp"
#include "models/modulator/volume_transmitter.hpp"
#include "models/register_models.hpp"
#include "spec_harness.hpp"

#include <unistd.h>

namespace {

using glia::dimension;
using glia::value_range;
using glia::value_spec;
using kind = glia::value_spec::kind;
using rule = glia::connectivity_spec::rule;

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

std::unique_ptr<glia::neuron_block> no_block(const glia::block_args&) {
    return nullptr;
}

// A current-based LIF: ports chosen by sign, takes current, every kind of parameter.
glia::neuron_model fake_lif() {
    glia::model_info info;
    info.name = "fake_lif";
    info.aliases = {"IF_fake"};
    info.params = {
        {"E_L", dimension::voltage, -65.0, ""},
        {"C_m", dimension::capacitance, 250.0, "", value_range::positive},
        {"tau_m", dimension::time, 20.0, "", value_range::positive, true},
        {"t_ref", dimension::time, 2.0, "", value_range::non_negative},
        {"V_th", dimension::voltage, -50.0, "", value_range::any, true},
        {"V_reset", dimension::voltage, -65.0, ""},
        {"I_e", dimension::current, 0.0, "", value_range::any, true},
        {"tau_syn_ex", dimension::time, 5.0, "", value_range::positive},
        {"V_min", dimension::voltage, -inf, "", value_range::any, true},
        {"p_release", dimension::none, 0.5, "", value_range::unit_interval, true},
        {"integration",
         dimension::none,
         0.0,
         "",
         value_range::any,
         false,
         {"published", "consistent"}},
        {"adaptive", dimension::flag, 0.0, ""},
    };
    info.variables = {{"V_m", dimension::voltage, ""}, {"I_syn", dimension::current, ""}};
    info.ports = {{"ex", dimension::current, ""}, {"in", dimension::current, ""}};
    info.ports_by_sign = true;
    info.accepts_current = true;
    return glia::neuron_model{std::move(info), nullptr, no_block};
}

// A conductance model with named receptors, a required parameter and no current input.
glia::neuron_model fake_cond() {
    glia::model_info info;
    info.name = "fake_cond";
    info.params = {
        {"g_L", dimension::conductance, nan, "", value_range::positive},
        {"E_in", dimension::voltage, -80.0, ""},
    };
    info.variables = {{"V_m", dimension::voltage, ""}, {"g_AMPA", dimension::conductance, ""}};
    info.ports = {{"AMPA", dimension::conductance, ""}, {"GABA", dimension::conductance, ""}};
    return glia::neuron_model{std::move(info), nullptr, no_block};
}

// A spike source: no ports, no variables, spike times.
glia::neuron_model fake_source() {
    glia::model_info info;
    info.name = "fake_source";
    info.aliases = {"SpikeSourceFake"};
    info.uses_spike_times = true;
    return glia::neuron_model{std::move(info), nullptr, no_block};
}

const glia::model_registry& fakes() {
    static const glia::model_registry registry = [] {
        glia::model_registry r;
        r.add(fake_lif());
        r.add(fake_cond());
        r.add(fake_source());
        // The loader reads modulators generically from their model's parameters and roles;
        // the modulator tests use the built-in modulator models.
        r.add(glia::models::volume_transmitter_model());
        r.add(glia::models::nalsm_astrocyte_model());
        return r;
    }();
    return registry;
}

glia::experiment_spec parse(const std::string& yaml, const std::vector<std::string>& sets = {}) {
    return glia::io::parse_experiment(yaml, "test.yaml", sets, fakes());
}

// The message of the glia::error that reading `yaml` throws.
std::string error_of(const std::string& yaml, const std::vector<std::string>& sets = {}) {
    try {
        parse(yaml, sets);
    }
    catch (const glia::error& e) {
        return e.what();
    }
    return "(no error)";
}

// A valid experiment with three populations (lines 1-13); tests append sections from line 14.
const std::string base = R"(simulation:
  duration: 100 ms
populations:
  exc:
    model: fake_lif
    size: 4
  inh:
    model: fake_cond
    size: 2
    params: {g_L: 10 nS}
  src:
    model: fake_source
    size: 3
)";

// A population block for params tests: `params` goes on line 6, column 13.
std::string with_params(const std::string& params) {
    return "simulation:\n  duration: 100 ms\npopulations:\n  exc:\n    model: fake_lif\n"
           "    params: " +
           params + "\n    size: 4\n";
}

// A projection exc -> exc whose delay starts on line 6, column 12.
std::string with_delay(const std::string& delay, const std::string& dt = "0.1 ms") {
    return "simulation: {dt: " + dt +
           ", duration: 100 ms}\npopulations:\n  exc: {model: fake_lif, size: 4}\n"
           "projections:\n  ee: {source: exc, target: exc, rule: one_to_one, weight: 1 pA,\n"
           "       delay: " +
           delay + "}\n";
}

// ---------------------------------------------------------------------------------------------
// A complete file

const std::string complete = R"(simulation:
  dt: 0.1 ms
  duration: 2 s
  seed: 42
  threads: 2
  partitions: 4
populations:
  exc:
    model: IF_fake
    size: 4
    params:
      tau_m: 10 ms
      cm: 0.25 nF
      V_th: {uniform: {low: -55 mV, high: -50 mV}}
      I_e: [1 pA, 2 pA, 0.003 nA, 4]
      p_release: {normal: {mean: 0.5, std: 0.1, min: 0, max: 1}}
      integration: consistent
      adaptive: true
      v_rest: -70 mV
      V_min: -.inf
    initial:
      v: {uniform: {low: -70 mV, high: -60 mV}}
      I_syn: 0
  inh:
    model: fake_cond
    size: 2
    params: {g_L: 16.7 nS}
  src:
    model: SpikeSourceFake
    size: 3
    spike_times: [[1 ms, 5 ms], [2.5 ms], []]
projections:
  ee:
    source: exc
    target: exc
    rule: pairwise_bernoulli
    p: 0.5
    weight: 16.2 pA
    delay: 0.2 ms
    allow_autapses: false
  ei:
    source: exc
    target: inh
    rule: fixed_indegree
    indegree: 3
    allow_multapses: false
    weight: {lognormal: {mu: 0.5, sigma: 0.2, min: 0.1 nS, max: 10 nS}}
    delay: {uniform: {low: 0.5 ms, high: 1.5 ms}}
    receptor: AMPA
    synapse: static
  se:
    source: src
    target: exc
    rule: from_list
    connections: [[0, 1], [2, 3, -5 pA, 1 ms]]
    weight: 2 pA
  ii:
    source: inh
    target: inh
    rule: all_to_all
    weight: [1 nS, 2, 3 nS, 4]
    delay: [0.1 ms, 0.2 ms, 0.3, 0.4 ms]
  tot: {source: exc, target: exc, rule: fixed_total_number, N: 5,
        weight: {normal: {mean: 10 pA, std: 1 pA}}, delay: {normal: {mean: 1 ms, std: 0.5 ms, min: 0.1 ms}}}
  oo: {source: exc, target: exc, rule: one_to_one, weight: 1 pA}
  out: {source: exc, target: inh, rule: fixed_outdegree, outdegree: 1, weight: 2 nS, receptor: GABA}
inputs:
  drive:
    type: poisson_generator
    target: exc
    rate: 2 kHz
    weight: 0.1 nA
    neurons: {first: 2}
    start: 10 ms
    stop: 500 ms
  dc: {type: dc_generator, target: exc, amplitude: 300 pA, neurons: [0, 3]}
  steps:
    type: step_current_generator
    target: exc
    times: [10 ms, 20 ms]
    amplitudes: [0.1 nA, 0 pA]
    neurons: {range: [1, 3]}
  noise: {type: noise_generator, target: exc, mean: 1 pA, std: 5 pA}
  cond: {type: poisson_generator, target: inh, receptor: GABA, weight: 2 nS, rate: 10}
record:
  spikes: [inh, exc]
  reports:
    vm: {population: exc, variable: V_m, neurons: {first: 2}, start: 0 ms, stop: 100 ms, interval: 1 ms}
    cond: {population: inh, variables: [V_m, g_AMPA]}
output:
  file: out/run.h5
  flush_interval: 2 s
)";

TEST(config_yaml, reads_the_simulation_section) {
    const auto spec = parse(complete);
    EXPECT_EQ(spec.simulation.dt, 0.1);
    EXPECT_EQ(spec.simulation.duration, 2000.0);
    EXPECT_EQ(spec.simulation.seed, 42u);
    EXPECT_EQ(spec.simulation.threads, 2);
    EXPECT_EQ(spec.simulation.partitions, 4);
    EXPECT_EQ(spec.simulation.where, "test.yaml:2:3");
    EXPECT_EQ(spec.source_path, "test.yaml");
}

TEST(config_yaml, reads_populations_in_file_order_with_canonical_names) {
    const auto spec = parse(complete);
    ASSERT_EQ(spec.populations.size(), 3u);
    const auto& exc = spec.populations[0];
    EXPECT_EQ(exc.name, "exc");
    EXPECT_EQ(exc.model, "fake_lif");  // from the alias IF_fake
    EXPECT_EQ(exc.size, 4u);
    EXPECT_EQ(exc.where, "test.yaml:9:5");
    EXPECT_EQ(spec.populations[1].name, "inh");
    EXPECT_EQ(spec.populations[2].model, "fake_source");

    // Aliases are stored under the canonical names; defaults are not filled in.
    std::vector<std::string> names;
    for (const auto& [name, v]: exc.params) {
        names.push_back(name);
    }
    EXPECT_THAT(names, testing::ElementsAre("C_m", "E_L", "I_e", "V_min", "V_th", "adaptive",
                                            "integration", "p_release", "tau_m"));
    const auto& p = exc.params;
    EXPECT_EQ(p.at("tau_m").type, kind::constant);
    EXPECT_EQ(p.at("tau_m").value, 10.0);
    EXPECT_EQ(p.at("tau_m").dim, dimension::time);
    EXPECT_EQ(p.at("tau_m").where, "test.yaml:12:14");
    EXPECT_EQ(p.at("C_m").value, 250.0);
    EXPECT_EQ(p.at("C_m").dim, dimension::capacitance);
    EXPECT_EQ(p.at("E_L").value, -70.0);
    EXPECT_EQ(p.at("V_th").type, kind::uniform);
    EXPECT_EQ(p.at("V_th").low, -55.0);
    EXPECT_EQ(p.at("V_th").high, -50.0);
    EXPECT_EQ(p.at("V_th").dim, dimension::voltage);
    EXPECT_EQ(p.at("I_e").type, kind::list);
    EXPECT_THAT(p.at("I_e").values, testing::ElementsAre(1.0, 2.0, 3.0, 4.0));
    EXPECT_EQ(p.at("I_e").dim, dimension::current);
    EXPECT_EQ(p.at("p_release").type, kind::normal);
    EXPECT_EQ(p.at("p_release").mean, 0.5);
    EXPECT_EQ(p.at("p_release").std, 0.1);
    EXPECT_EQ(p.at("p_release").min, 0.0);
    EXPECT_EQ(p.at("p_release").max, 1.0);
    EXPECT_EQ(p.at("p_release").dim, dimension::none);
    EXPECT_EQ(p.at("integration").value, 1.0);  // index of "consistent"
    EXPECT_EQ(p.at("adaptive").value, 1.0);
    EXPECT_EQ(p.at("V_min").value, -inf);  // allowed: its default is infinite

    ASSERT_EQ(exc.initial.size(), 2u);
    EXPECT_EQ(exc.initial.at("V_m").type, kind::uniform);  // from the alias v
    EXPECT_EQ(exc.initial.at("V_m").low, -70.0);
    EXPECT_EQ(exc.initial.at("I_syn").value, 0.0);
    EXPECT_EQ(exc.initial.at("I_syn").dim, dimension::none);
    EXPECT_TRUE(exc.spike_times.empty());

    const auto& src = spec.populations[2];
    ASSERT_EQ(src.spike_times.size(), 3u);
    EXPECT_THAT(src.spike_times[0], testing::ElementsAre(1.0, 5.0));
    EXPECT_THAT(src.spike_times[1], testing::ElementsAre(2.5));
    EXPECT_TRUE(src.spike_times[2].empty());
    EXPECT_FALSE(src.allow_offgrid_times);
}

TEST(config_yaml, reads_projections_with_every_rule) {
    const auto spec = parse(complete);
    ASSERT_EQ(spec.projections.size(), 7u);
    const auto& ee = spec.projections[0];
    EXPECT_EQ(ee.name, "ee");
    EXPECT_EQ(ee.source, "exc");
    EXPECT_EQ(ee.target, "exc");
    EXPECT_EQ(ee.connectivity.type, rule::pairwise_bernoulli);
    EXPECT_EQ(ee.connectivity.p, 0.5);
    EXPECT_FALSE(ee.connectivity.allow_autapses);
    EXPECT_TRUE(ee.connectivity.allow_multapses);
    EXPECT_EQ(ee.weight.value, 16.2);
    EXPECT_EQ(ee.weight.dim, dimension::current);
    EXPECT_EQ(ee.delay.value, 0.2);
    EXPECT_EQ(ee.delay.dim, dimension::time);
    EXPECT_EQ(ee.receptor, "");
    EXPECT_EQ(ee.synapse, "static");
    EXPECT_EQ(ee.where, "test.yaml:34:5");

    const auto& ei = spec.projections[1];
    EXPECT_EQ(ei.connectivity.type, rule::fixed_indegree);
    EXPECT_EQ(ei.connectivity.n, 3u);
    EXPECT_FALSE(ei.connectivity.allow_multapses);
    EXPECT_EQ(ei.weight.type, kind::lognormal);
    EXPECT_EQ(ei.weight.mu, 0.5);
    EXPECT_EQ(ei.weight.sigma, 0.2);
    EXPECT_EQ(ei.weight.min, 0.1);
    EXPECT_EQ(ei.weight.max, 10.0);
    EXPECT_EQ(ei.weight.dim, dimension::conductance);
    EXPECT_EQ(ei.delay.type, kind::uniform);
    EXPECT_EQ(ei.delay.low, 0.5);
    EXPECT_EQ(ei.delay.high, 1.5);
    EXPECT_EQ(ei.receptor, "AMPA");

    const auto& se = spec.projections[2];
    EXPECT_EQ(se.connectivity.type, rule::from_list);
    ASSERT_EQ(se.connectivity.edges.size(), 2u);
    EXPECT_EQ(se.connectivity.edges[0].source, 0u);
    EXPECT_EQ(se.connectivity.edges[0].target, 1u);
    EXPECT_TRUE(std::isnan(se.connectivity.edges[0].weight));
    EXPECT_TRUE(std::isnan(se.connectivity.edges[0].delay));
    EXPECT_EQ(se.connectivity.edges[1].source, 2u);
    EXPECT_EQ(se.connectivity.edges[1].target, 3u);
    EXPECT_EQ(se.connectivity.edges[1].weight, -5.0);
    EXPECT_EQ(se.connectivity.edges[1].delay, 1.0);
    EXPECT_EQ(se.delay.value, 0.1);  // default: dt
    EXPECT_EQ(se.delay.dim, dimension::time);

    const auto& ii = spec.projections[3];
    EXPECT_EQ(ii.connectivity.type, rule::all_to_all);
    EXPECT_THAT(ii.weight.values, testing::ElementsAre(1.0, 2.0, 3.0, 4.0));
    EXPECT_EQ(ii.weight.dim, dimension::conductance);
    EXPECT_THAT(ii.delay.values, testing::ElementsAre(0.1, 0.2, 0.3, 0.4));

    const auto& tot = spec.projections[4];
    EXPECT_EQ(tot.connectivity.type, rule::fixed_total_number);
    EXPECT_EQ(tot.connectivity.n, 5u);
    EXPECT_EQ(tot.weight.type, kind::normal);
    EXPECT_EQ(tot.weight.mean, 10.0);
    EXPECT_EQ(tot.weight.std, 1.0);
    EXPECT_EQ(tot.weight.min, -inf);
    EXPECT_EQ(tot.weight.max, inf);
    EXPECT_EQ(tot.delay.min, 0.1);

    EXPECT_EQ(spec.projections[5].connectivity.type, rule::one_to_one);
    EXPECT_EQ(spec.projections[6].connectivity.type, rule::fixed_outdegree);
    EXPECT_EQ(spec.projections[6].connectivity.n, 1u);
    EXPECT_EQ(spec.projections[6].receptor, "GABA");
}

TEST(config_yaml, reads_every_input_device) {
    const auto spec = parse(complete);
    ASSERT_EQ(spec.inputs.size(), 5u);
    using ik = glia::input_spec::kind;
    const auto& drive = spec.inputs[0];
    EXPECT_EQ(drive.name, "drive");
    EXPECT_EQ(drive.type, ik::poisson_generator);
    EXPECT_EQ(drive.target, "exc");
    EXPECT_EQ(drive.rate, 2000.0);
    EXPECT_EQ(drive.weight, 100.0);
    EXPECT_EQ(drive.weight_dim, dimension::current);
    EXPECT_THAT(drive.neurons, testing::ElementsAre(0u, 1u));
    EXPECT_EQ(drive.start, 10.0);
    EXPECT_EQ(drive.stop, 500.0);
    EXPECT_EQ(drive.receptor, "");

    const auto& dc = spec.inputs[1];
    EXPECT_EQ(dc.type, ik::dc_generator);
    EXPECT_EQ(dc.amplitude, 300.0);
    EXPECT_THAT(dc.neurons, testing::ElementsAre(0u, 3u));
    EXPECT_EQ(dc.start, 0.0);
    EXPECT_EQ(dc.stop, inf);

    const auto& steps = spec.inputs[2];
    EXPECT_EQ(steps.type, ik::step_current_generator);
    EXPECT_THAT(steps.times, testing::ElementsAre(10.0, 20.0));
    EXPECT_THAT(steps.amplitudes, testing::ElementsAre(100.0, 0.0));
    EXPECT_THAT(steps.neurons, testing::ElementsAre(1u, 2u));

    const auto& noise = spec.inputs[3];
    EXPECT_EQ(noise.type, ik::noise_generator);
    EXPECT_EQ(noise.mean, 1.0);
    EXPECT_EQ(noise.std, 5.0);
    EXPECT_TRUE(noise.neurons.empty());

    const auto& cond = spec.inputs[4];
    EXPECT_EQ(cond.rate, 10.0);
    EXPECT_EQ(cond.weight, 2.0);
    EXPECT_EQ(cond.weight_dim, dimension::conductance);
    EXPECT_EQ(cond.receptor, "GABA");
}

TEST(config_yaml, reads_record_and_output) {
    const auto spec = parse(complete);
    EXPECT_THAT(spec.record.spikes, testing::ElementsAre("inh", "exc"));
    ASSERT_EQ(spec.record.reports.size(), 3u);
    const auto& vm = spec.record.reports[0];
    EXPECT_EQ(vm.name, "vm");
    EXPECT_EQ(vm.population, "exc");
    EXPECT_EQ(vm.variable, "V_m");
    EXPECT_THAT(vm.neurons, testing::ElementsAre(0u, 1u));
    EXPECT_EQ(vm.start, 0.0);
    EXPECT_EQ(vm.stop, 100.0);
    EXPECT_EQ(vm.interval, 1.0);
    // variables: one report per variable, named <name>.<variable>.
    EXPECT_EQ(spec.record.reports[1].name, "cond.V_m");
    EXPECT_EQ(spec.record.reports[1].variable, "V_m");
    EXPECT_EQ(spec.record.reports[2].name, "cond.g_AMPA");
    EXPECT_EQ(spec.record.reports[2].variable, "g_AMPA");
    EXPECT_EQ(spec.record.reports[2].population, "inh");
    EXPECT_TRUE(spec.record.reports[2].neurons.empty());
    EXPECT_EQ(spec.record.reports[2].stop, inf);
    EXPECT_EQ(spec.record.reports[2].interval, 0.0);
    EXPECT_EQ(spec.output.path, "out/run.h5");
    EXPECT_EQ(spec.output.flush_interval, 2.0);
}

TEST(config_yaml, resolved_config_reads_back_to_the_same_spec) {
    const auto spec = parse(complete, {"simulation.seed=7"});
    EXPECT_THAT(spec.config_text, testing::HasSubstr("seed: 7"));
    const auto again = parse(spec.config_text);
    EXPECT_EQ(again.simulation.seed, 7u);
    EXPECT_EQ(again.populations.size(), spec.populations.size());
    EXPECT_EQ(again.populations[0].params.at("I_e").values,
              spec.populations[0].params.at("I_e").values);
    EXPECT_EQ(again.projections.size(), spec.projections.size());
    EXPECT_EQ(again.inputs.size(), spec.inputs.size());
    EXPECT_EQ(again.record.reports.size(), spec.record.reports.size());
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(config_yaml, fills_defaults_of_the_schema) {
    const auto spec = parse(base);
    EXPECT_EQ(spec.simulation.dt, 0.1);
    EXPECT_EQ(spec.simulation.seed, 1u);
    EXPECT_EQ(spec.simulation.threads, 0);
    EXPECT_EQ(spec.simulation.partitions, 0);
    EXPECT_TRUE(spec.projections.empty());
    EXPECT_TRUE(spec.inputs.empty());
    EXPECT_THAT(spec.record.spikes, testing::ElementsAre("exc", "inh", "src"));
    EXPECT_TRUE(spec.record.reports.empty());
    EXPECT_EQ(spec.output.path, "results/test.h5");
    EXPECT_EQ(spec.output.flush_interval, 5.0);
    EXPECT_TRUE(spec.populations[0].params.empty());  // the builder fills model defaults
    // A spike source without times never fires: one empty train per neuron.
    EXPECT_EQ(spec.populations[2].spike_times.size(), 3u);
}

TEST(config_yaml, stop_times_may_be_infinite) {
    const auto spec = parse(base + "inputs:\n  d: {type: dc_generator, target: exc, amplitude: "
                                   "1 pA, stop: .inf}\n");
    EXPECT_EQ(spec.inputs[0].stop, inf);
    EXPECT_EQ(error_of(base + "inputs:\n  d: {type: dc_generator, target: exc, amplitude: .inf}\n"),
              "test.yaml:15:51: inputs.d.amplitude must be a finite number, got '.inf'");
}

TEST(config_yaml, default_output_is_named_after_the_file_stem) {
    const auto spec = glia::io::parse_experiment(base, "configs/brunel_ai.yaml", {}, fakes());
    EXPECT_EQ(spec.output.path, "results/brunel_ai.h5");
}

TEST(config_yaml, record_spikes_all_none_and_empty_sections) {
    EXPECT_THAT(parse(base + "record: {spikes: all}\n").record.spikes,
                testing::ElementsAre("exc", "inh", "src"));
    EXPECT_TRUE(parse(base + "record: {spikes: none}\n").record.spikes.empty());
    EXPECT_THAT(parse(base + "record:\n").record.spikes, testing::SizeIs(3));
    EXPECT_TRUE(parse(base + "projections:\ninputs:\n").projections.empty());
}

TEST(config_yaml, flat_spike_times_are_the_same_for_every_neuron) {
    const auto spec = parse(base + "    spike_times: [1 ms, 2 ms]\n");
    ASSERT_EQ(spec.populations[2].spike_times.size(), 3u);
    for (const auto& train: spec.populations[2].spike_times) {
        EXPECT_THAT(train, testing::ElementsAre(1.0, 2.0));
    }
}

TEST(config_yaml, offgrid_spike_times_are_kept_when_allowed) {
    const auto spec = parse(base + "    spike_times: [1.05 ms]\n    allow_offgrid_times: true\n");
    EXPECT_TRUE(spec.populations[2].allow_offgrid_times);
    EXPECT_THAT(spec.populations[2].spike_times[0], testing::ElementsAre(1.05));
}

// ---------------------------------------------------------------------------------------------
// Errors: each with its exact message and location

TEST(config_yaml_errors, unknown_key_names_the_section_and_the_allowed_keys) {
    EXPECT_EQ(error_of("simulation:\n  duraton: 100 ms\npopulations: {}\n"),
              "test.yaml:2:3: unknown key 'duraton' in 'simulation'; expected one of: dt, "
              "duration, seed, threads, partitions");
    EXPECT_EQ(error_of(base + "outputs: {}\n"),
              "test.yaml:14:1: unknown key 'outputs' at the top level; expected one of: "
              "simulation, grids, populations, projections, inputs, modulators, record, "
              "output, metrics, protocol, readout, sweep");
}

TEST(config_yaml_errors, is_a_config_error_with_a_one_based_location) {
    try {
        parse("simulation:\n  duraton: 100 ms\n");
        FAIL() << "no error";
    }
    catch (const glia::config_error& e) {
        EXPECT_EQ(e.file(), "test.yaml");
        EXPECT_EQ(e.line(), 2);
        EXPECT_EQ(e.column(), 3);
        EXPECT_EQ(e.message(),
                  "unknown key 'duraton' in 'simulation'; expected one of: dt, duration, seed, "
                  "threads, partitions");
    }
}

TEST(config_yaml_errors, missing_required_keys_point_at_their_map) {
    EXPECT_EQ(error_of("simulation:\n  dt: 0.1 ms\npopulations: {}\n"),
              "test.yaml:2:3: missing required key 'duration' in 'simulation'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\n"),
              "test.yaml:1:1: missing required key 'populations' at the top level");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc: {model: fake_lif}\n"),
              "test.yaml:3:8: missing required key 'size' in 'populations.exc'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations: {}\n"),
              "test.yaml:2:14: populations must define at least one population");
    EXPECT_EQ(error_of(""),
              "test.yaml:1:1: the file is empty; an experiment needs at least 'simulation' and "
              "'populations'");
}

TEST(config_yaml_errors, wrong_dimension_names_the_allowed_units) {
    EXPECT_EQ(error_of(with_params("{tau_m: 20 mV}")),
              "test.yaml:6:21: populations.exc.params.tau_m must be a time (ms, s, us, min), got "
              "'20 mV'");
    EXPECT_EQ(error_of(with_params("{tau_m: 20 xs}")),
              "test.yaml:6:21: populations.exc.params.tau_m has an unknown unit in '20 xs'; "
              "expected a time (ms, s, us, min)");
    EXPECT_EQ(error_of(with_params("{p_release: 0.5 ms}")),
              "test.yaml:6:25: populations.exc.params.p_release must be a plain number, got "
              "'0.5 ms'");
}

TEST(config_yaml_errors, out_of_range_values_say_the_range_and_the_value) {
    EXPECT_EQ(error_of(with_params("{tau_m: -3}")),
              "test.yaml:6:21: populations.exc.params.tau_m must be > 0 ms, got -3");
    EXPECT_EQ(error_of(with_params("{t_ref: -1 ms}")),
              "test.yaml:6:21: populations.exc.params.t_ref must be >= 0 ms, got -1 ms");
    EXPECT_EQ(error_of(with_params("{p_release: [0.1, 0.2, 1.5, 0]}")),
              "test.yaml:6:36: populations.exc.params.p_release[2] must be in [0, 1], got 1.5");
    EXPECT_EQ(error_of(with_params("{tau_m: {uniform: {low: 0 ms, high: 5 ms}}}")),
              "test.yaml:6:37: populations.exc.params.tau_m.uniform.low must be > 0 ms, got 0 "
              "ms");
    EXPECT_EQ(error_of(with_params("{tau_m: {normal: {mean: 10 ms, std: 1 ms}}}")),
              "test.yaml:6:30: populations.exc.params.tau_m.normal needs 'min': values must be > "
              "0 ms, and draws outside [min, max] are redrawn");
    EXPECT_EQ(error_of(with_params("{p_release: {lognormal: {mu: -1, sigma: 0.5}}}")),
              "test.yaml:6:37: populations.exc.params.p_release.lognormal needs 'max': values "
              "must be in [0, 1], and draws outside [min, max] are redrawn");
    EXPECT_EQ(error_of("simulation: {duration: 0 ms}\npopulations: {}\n"),
              "test.yaml:1:24: simulation.duration must be > 0 ms, got 0 ms");
}

TEST(config_yaml_errors, refuses_nan_and_infinity) {
    EXPECT_EQ(error_of("simulation: {dt: .nan, duration: 1 s}\n"),
              "test.yaml:1:18: simulation.dt must be a finite number, got '.nan'");
    EXPECT_EQ(error_of("simulation: {duration: .inf}\n"),
              "test.yaml:1:24: simulation.duration must be a finite number, got '.inf'");
    // V_min's default is -infinity: constants and list entries may be infinite, draws may not.
    EXPECT_EQ(
        parse(with_params("{V_min: [-.inf, 0, 0, 0]}")).populations[0].params.at("V_min").values[0],
        -inf);
    EXPECT_EQ(error_of(with_params("{V_min: {uniform: {low: -.inf, high: 0 mV}}}")),
              "test.yaml:6:37: populations.exc.params.V_min.uniform.low must be a finite number, "
              "got '-.inf'");
    EXPECT_EQ(error_of(with_params("{tau_m: .inf}")),
              "test.yaml:6:21: populations.exc.params.tau_m must be a finite number, got '.inf'");
}

TEST(config_yaml_errors, wrong_types_say_what_was_expected_and_given) {
    EXPECT_EQ(error_of(with_params("{tau_m: fast}")),
              "test.yaml:6:21: populations.exc.params.tau_m must be a number, got 'fast'");
    EXPECT_EQ(error_of(with_params("[1, 2]")),
              "test.yaml:6:13: populations.exc.params must be a map, got a list");
    EXPECT_EQ(error_of("simulation: {duration: 1 s, seed: fast}\n"),
              "test.yaml:1:35: simulation.seed must be an integer >= 0, got 'fast'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s, seed: -1}\n"),
              "test.yaml:1:35: simulation.seed must be an integer >= 0, got '-1'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s, threads: 1.5}\n"),
              "test.yaml:1:38: simulation.threads must be an integer in [0, 2147483647], got "
              "'1.5'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc: {model: fake_lif, "
                       "size: 0}\n"),
              "test.yaml:3:32: populations.exc.size must be an integer in [1, 4294967295], got "
              "'0'");
    EXPECT_EQ(error_of(with_params("{adaptive: yes}")),
              "test.yaml:6:24: populations.exc.params.adaptive must be true or false, got 'yes'");
    EXPECT_EQ(error_of(with_params("{tau_m: }")),
              "test.yaml:6:21: populations.exc.params.tau_m must be a number, got nothing");
    EXPECT_EQ(error_of(base + "    spike_times: 5\n"),
              "test.yaml:14:18: populations.src.spike_times must be a list, got '5'");
    EXPECT_EQ(error_of("- 1\n- 2\n"), "test.yaml:1:1: the top level must be a map, got a list");
}

TEST(config_yaml_errors, seeds_use_the_full_64_bits) {
    EXPECT_EQ(parse(base + "", {"simulation.seed=18446744073709551615"}).simulation.seed,
              18446744073709551615u);
    EXPECT_EQ(parse(base, {"simulation.seed=1e3"}).simulation.seed, 1000u);
}

TEST(config_yaml_errors, duplicate_keys_are_refused) {
    EXPECT_EQ(error_of("simulation:\n  duration: 1 s\n  duration: 2 s\n"),
              "test.yaml:3:3: duplicate key 'duration' in 'simulation' (first at line 2, column "
              "3)");
}

TEST(config_yaml_errors, yaml_syntax_errors_carry_yaml_cpp_marks) {
    EXPECT_EQ(error_of("simulation: {duration: 1 s\npopulations: {}\n"),
              "test.yaml:2:12: end of map flow not found");
}

TEST(config_yaml_errors, unknown_model_lists_the_known_models) {
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc: {model: lif, size: 1}\n"),
              "test.yaml:3:16: populations.exc.model: unknown model 'lif'; known models: "
              "fake_cond, fake_lif, fake_source");
}

TEST(config_yaml_errors, missing_file_is_a_plain_error) {
    EXPECT_THAT([] { glia::io::load_experiment("/nonexistent/x.yaml", {}, fakes()); },
                testing::ThrowsMessage<glia::error>(
                    testing::StrEq("cannot open experiment file '/nonexistent/x.yaml'")));
}

TEST(config_yaml_errors, unknown_populations_list_the_populations) {
    EXPECT_EQ(error_of(base + "projections:\n  ee:\n    source: exd\n    target: exc\n"
                              "    rule: all_to_all\n    weight: 1 pA\n"),
              "test.yaml:16:13: projections.ee.source: no population 'exd'; populations are: "
              "exc, inh, src");
    EXPECT_EQ(error_of(base + "record: {spikes: [exc, inhh]}\n"),
              "test.yaml:14:24: record.spikes[1]: no population 'inhh'; populations are: exc, "
              "inh, src");
}

TEST(config_yaml_errors, parameters_are_checked_against_the_model) {
    EXPECT_EQ(error_of(with_params("{taum: 20 ms}")),
              "test.yaml:6:14: unknown parameter 'taum' in 'populations.exc.params' (model "
              "fake_lif); parameters are: E_L, C_m, tau_m, t_ref, V_th, V_reset, I_e, "
              "tau_syn_ex, V_min, p_release, integration, adaptive");
    // e_rev_E is PyNN's E_ex: an alias only where the model has E_ex.
    EXPECT_THAT(error_of(with_params("{e_rev_E: 0 mV}")),
                testing::HasSubstr("unknown parameter 'e_rev_E' in 'populations.exc.params'"));
    EXPECT_EQ(error_of(with_params("{C_m: [1, 2, 3, 4]}")),
              "test.yaml:6:19: populations.exc.params.C_m: C_m cannot differ between neurons in "
              "fake_lif");
    EXPECT_EQ(error_of(with_params("{C_m: {uniform: {low: 1, high: 2}}}")),
              "test.yaml:6:19: populations.exc.params.C_m: C_m cannot differ between neurons in "
              "fake_lif");
    EXPECT_EQ(error_of(with_params("{tau_m: [1, 2, 3]}")),
              "test.yaml:6:21: populations.exc.params.tau_m has 3 entries; it needs one per "
              "neuron of 'exc' (4)");
    EXPECT_EQ(error_of(with_params("{integration: fast}")),
              "test.yaml:6:27: populations.exc.params.integration must be one of: published, "
              "consistent; got 'fast'");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  inh: {model: fake_cond, "
                       "size: 2, params: {E_in: -80 mV}}\n"),
              "test.yaml:3:44: missing required parameter 'g_L' in 'populations.inh.params' "
              "(model fake_cond has no default for it)");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  inh: {model: fake_cond, "
                       "size: 2}\n"),
              "test.yaml:3:8: missing required parameter 'g_L' in 'populations.inh.params' "
              "(model fake_cond has no default for it)");
}

TEST(config_yaml_errors, values_must_be_well_formed) {
    EXPECT_EQ(error_of(with_params("{V_th: {uniform: {low: -50 mV, high: -55 mV}}}")),
              "test.yaml:6:30: populations.exc.params.V_th.uniform: low (-50 mV) must be below "
              "high (-55 mV)");
    EXPECT_EQ(error_of(with_params("{V_th: {uniform: {low: -50 mV, hi: -55 mV}}}")),
              "test.yaml:6:44: unknown key 'hi' in 'populations.exc.params.V_th.uniform'; "
              "expected one of: low, high");
    EXPECT_EQ(error_of(with_params("{V_th: {gauss: {mean: -50 mV}}}")),
              "test.yaml:6:21: unknown distribution 'gauss' in populations.exc.params.V_th; "
              "expected one of: uniform, normal, lognormal, choice");
    EXPECT_EQ(error_of(with_params("{V_th: {normal: {mean: -50 mV, std: -1 mV}}}")),
              "test.yaml:6:49: populations.exc.params.V_th.normal.std must be >= 0, got -1 mV");
    EXPECT_EQ(error_of(with_params("{V_th: {normal: {mean: -50 mV, std: 1 mV, min: -40 mV, "
                                   "max: -60 mV}}}")),
              "test.yaml:6:29: populations.exc.params.V_th.normal: min (-40 mV) must be below max "
              "(-60 mV)");
    EXPECT_EQ(error_of(with_params("{V_th: {uniform: {low: -50 mV, high: 1 pA}}}")),
              "test.yaml:6:50: populations.exc.params.V_th.uniform.high must be a voltage (mV, V, "
              "uV), got '1 pA'");
    EXPECT_EQ(error_of(with_params("{tau_m: {lognormal: {mu: 1 ms, sigma: 1}}}")),
              "test.yaml:6:38: populations.exc.params.tau_m.lognormal.mu must be a plain number, "
              "got '1 ms'");
    EXPECT_EQ(error_of(with_params("{V_th: {uniform: {low: 1}, normal: {mean: 1}}}")),
              "test.yaml:6:20: populations.exc.params.V_th must be a number, a list or a map with "
              "one key (uniform, normal, lognormal or choice), got a map with 2 keys");
    EXPECT_EQ(error_of(with_params("{V_th: []}")),
              "test.yaml:6:20: populations.exc.params.V_th must not be an empty list");
}

TEST(config_yaml_errors, initial_values_are_checked_against_the_model_variables) {
    EXPECT_EQ(error_of(base + "    initial: {V_m: -65 mV}\n"),
              "test.yaml:14:15: unknown variable 'V_m' in 'populations.src.initial': model "
              "fake_source has no state variables");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc:\n    model: fake_lif\n"
                       "    size: 2\n    initial: {V: -65 mV}\n"),
              "test.yaml:6:15: unknown variable 'V' in 'populations.exc.initial' (model "
              "fake_lif); variables are: V_m, I_syn");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc:\n    model: fake_lif\n"
                       "    size: 2\n    initial: {V_m: -65 pA}\n"),
              "test.yaml:6:20: populations.exc.initial.V_m must be a voltage (mV, V, uV), got "
              "'-65 pA'");
}

TEST(config_yaml_errors, spike_times_are_checked) {
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc:\n    model: fake_lif\n"
                       "    size: 2\n    spike_times: [1 ms]\n"),
              "test.yaml:6:5: populations.exc.spike_times: model fake_lif does not take spike "
              "times (models that do: fake_source)");
    EXPECT_EQ(error_of(base + "    spike_times: [[1 ms], [2 ms]]\n"),
              "test.yaml:14:18: populations.src.spike_times has 2 lists; it needs one per neuron "
              "(3), or one flat list of times for every neuron");
    EXPECT_EQ(error_of(base + "    spike_times: [1.05 ms]\n"),
              "test.yaml:14:19: populations.src.spike_times[0] = 1.05 ms is not a multiple of dt "
              "= 0.1 ms (set allow_offgrid_times: true to round times to the nearest step)");
    EXPECT_EQ(error_of(base + "    spike_times: [2 ms, 1 ms]\n"),
              "test.yaml:14:25: populations.src.spike_times[1] = 1 ms is not after the previous "
              "time (2 ms); spike times must increase strictly");
    EXPECT_EQ(error_of(base + "    spike_times: [0 ms]\n"),
              "test.yaml:14:19: populations.src.spike_times[0] must be > 0 ms, got 0 ms");
    EXPECT_EQ(error_of(base + "    spike_times: [[1 ms], 2 ms, []]\n"),
              "test.yaml:14:27: populations.src.spike_times[1] must be a list of times, got '2 "
              "ms' (give either one list of times per neuron or one flat list for every neuron)");
    EXPECT_EQ(error_of(base + "    spike_times: [0.01 ms]\n    allow_offgrid_times: true\n"),
              "test.yaml:14:19: populations.src.spike_times[0] = 0.01 ms is below dt/2 = 0.05 ms: "
              "it would round to time 0, before the first step ends");
}

TEST(config_yaml_errors, delays_must_be_whole_steps_of_at_least_dt) {
    EXPECT_EQ(error_of(with_delay("0.05 ms")),
              "test.yaml:6:15: projections.ee.delay = 0.05 ms is below dt = 0.1 ms");
    EXPECT_EQ(error_of(with_delay("0.15 ms")),
              "test.yaml:6:15: projections.ee.delay = 0.15 ms is not a multiple of dt = 0.1 ms");
    EXPECT_EQ(error_of(with_delay("-1 ms")),
              "test.yaml:6:15: projections.ee.delay must be > 0 ms, got -1 ms");
    EXPECT_EQ(error_of(with_delay("[0.1 ms, 0.2 ms, 0.25 ms, 0.3 ms]")),
              "test.yaml:6:32: projections.ee.delay[2] = 0.25 ms is not a multiple of dt = 0.1 "
              "ms");
    EXPECT_EQ(error_of(with_delay("0.3 ms", "1 ms")),
              "test.yaml:6:15: projections.ee.delay = 0.3 ms is below dt = 1 ms");
    EXPECT_EQ(error_of(with_delay("1 mV")),
              "test.yaml:6:15: projections.ee.delay must be a time (ms, s, us, min), got '1 mV'");
    // Values a float sum lands next to are still on the grid.
    EXPECT_EQ(parse(with_delay("0.3 ms")).projections[0].delay.value, 0.3);
    EXPECT_EQ(parse(with_delay("0.7 ms")).projections[0].delay.value, 0.7);
}

TEST(config_yaml_errors, delay_distributions_need_a_lower_bound_of_half_a_step) {
    EXPECT_EQ(error_of(with_delay("{uniform: {low: 0.01 ms, high: 1 ms}}")),
              "test.yaml:6:31: projections.ee.delay.uniform.low = 0.01 ms is below dt/2 = 0.05 "
              "ms: delays drawn from a distribution are rounded to the nearest step of dt = 0.1 "
              "ms, and every delay must be at least one step");
    EXPECT_EQ(error_of(with_delay("{normal: {mean: 1 ms, std: 0.2 ms}}")),
              "test.yaml:6:24: projections.ee.delay.normal needs 'min' >= dt/2 = 0.05 ms: delays "
              "drawn from a distribution are rounded to the nearest step of dt = 0.1 ms, and "
              "every delay must be at least one step");
    EXPECT_EQ(error_of(with_delay("{lognormal: {mu: 0, sigma: 0.5}}")),
              "test.yaml:6:27: projections.ee.delay.lognormal needs 'min' >= dt/2 = 0.05 ms: "
              "delays drawn from a distribution are rounded to the nearest step of dt = 0.1 ms, "
              "and every delay must be at least one step");
    const auto spec = parse(with_delay("{normal: {mean: 1 ms, std: 0.2 ms, min: 0.05 ms}}"));
    EXPECT_EQ(spec.projections[0].delay.min, 0.05);
}

TEST(config_yaml_errors, projections_check_rules_and_receptors) {
    const std::string head = base + "projections:\n  p:\n";  // keys from line 16
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: random, weight: 1}\n"),
              "test.yaml:16:38: projections.p.rule: unknown rule 'random'; expected one of: "
              "all_to_all, one_to_one, pairwise_bernoulli, fixed_indegree, fixed_outdegree, "
              "fixed_total_number, from_list, distance");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: fixed_indegree, p: 0.1, "
                              "weight: 1}\n"),
              "test.yaml:16:54: projections.p.p applies only to rule pairwise_bernoulli, not "
              "fixed_indegree");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: pairwise_bernoulli, p: 1.5, "
                              "weight: 1}\n"),
              "test.yaml:16:61: projections.p.p must be in [0, 1], got 1.5");
    EXPECT_EQ(error_of(head + "    {source: exc, target: src, rule: all_to_all, weight: 1}\n"),
              "test.yaml:16:27: projections.p.target: population 'src' (model fake_source) has no "
              "input ports and cannot be a target");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: all_to_all, weight: 1, "
                              "receptor: ex}\n"),
              "test.yaml:16:71: projections.p.receptor: model fake_lif has no receptor choice: "
              "the port is chosen by the weight's sign (ex for weights >= 0, in for weights < "
              "0)");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: all_to_all, weight: 1 nS, "
                              "receptor: NMDA}\n"),
              "test.yaml:16:74: projections.p.receptor: model fake_cond has no port 'NMDA'; ports "
              "are: AMPA, GABA");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: all_to_all, weight: 1 pA}\n"),
              "test.yaml:16:58: projections.p.weight must be a conductance (nS, uS, mS, pS), got "
              "'1 pA'");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: one_to_one, weight: 1}\n"),
              "test.yaml:16:5: projections.p: one_to_one needs populations of the same size; "
              "'exc' has 4 neurons, 'inh' has 2");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: fixed_indegree, indegree: 4, "
                              "allow_autapses: false, allow_multapses: false, weight: 1}\n"),
              "test.yaml:16:64: projections.p.indegree = 4 is more than the 3 distinct sources "
              "available without multapses (set allow_multapses: true, or lower it)");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: fixed_indegree, indegree: 2, "
                              "weight: [1, 2]}\n"),
              "test.yaml:16:75: projections.p.weight: a list needs one value per connection in a "
              "known order, which only all_to_all, one_to_one and from_list have; use a constant "
              "or a distribution");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: all_to_all, weight: [1, 2]}\n"),
              "test.yaml:16:58: projections.p.weight has 2 entries; it needs one per connection of "
              "the projection (8)");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: all_to_all, synapse: stdp, "
                              "weight: 1}\n"),
              "test.yaml:16:59: projections.p.synapse: unknown synapse model 'stdp'; synapse "
              "models are: sic, static");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: all_to_all}\n"),
              "test.yaml:16:5: missing required key 'weight' in 'projections.p'");
    EXPECT_EQ(error_of(head + "    {source: exc, target: exc, rule: from_list, weight: 1}\n"),
              "test.yaml:16:5: projections.p: rule from_list needs 'connections' or "
              "'connections_file'");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: from_list, weight: 1,\n"
                              "     connections: [[0, 1], [4, 0]]}\n"),
              "test.yaml:17:29: projections.p.connections[1]: source 4 is not in population "
              "'exc' (size 4)");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: from_list, weight: 1,\n"
                              "     connections: [[0, 1, 2]]}\n"),
              "test.yaml:17:20: projections.p.connections[0] must be [source, target] or [source, "
              "target, weight, delay], got a list of 3");
    EXPECT_EQ(error_of(head + "    {source: exc, target: inh, rule: from_list, weight: 1,\n"
                              "     connections: [[0, 1, 2 nS, 0.05 ms]]}\n"),
              "test.yaml:17:33: projections.p.connections[0][3] = 0.05 ms is below dt = 0.1 ms");
    EXPECT_EQ(error_of(base + "projections:\n  'a.b': {source: exc, target: exc, rule: "
                              "all_to_all, weight: 1}\n"),
              "test.yaml:15:3: projections: 'a.b' is not a valid projection name; use letters, "
              "digits, '_' and '-'");
}

TEST(config_yaml_errors, inputs_check_their_target_model) {
    const std::string head = base + "inputs:\n  i:\n";  // keys from line 16
    EXPECT_EQ(error_of(head + "    {type: dc_generator, target: inh, amplitude: 1 pA}\n"),
              "test.yaml:16:34: inputs.i.target: population 'inh' (model fake_cond) does not "
              "accept current, which a dc_generator injects");
    EXPECT_EQ(
        error_of(head + "    {type: poisson_generator, target: src, rate: 1 Hz, weight: 1}\n"),
        "test.yaml:16:39: inputs.i.target: population 'src' (model fake_source) has no "
        "input ports for a poisson_generator's events");
    EXPECT_EQ(error_of(head + "    {type: poisson_generator, target: exc, rate: 1 Hz, weight: 1 "
                              "nS}\n"),
              "test.yaml:16:64: inputs.i.weight must be a current (pA, nA, uA), got '1 nS'");
    EXPECT_EQ(error_of(head + "    {type: poisson_generator, target: exc, rate: -1 Hz, weight: "
                              "1}\n"),
              "test.yaml:16:50: inputs.i.rate must be >= 0 Hz, got -1 Hz");
    EXPECT_EQ(error_of(head + "    {type: poisson_generator, target: exc, rate: 1 Hz}\n"),
              "test.yaml:16:5: missing required key 'weight' in 'inputs.i'");
    EXPECT_EQ(error_of(head + "    {type: dc_generator, target: exc, amplitude: 1 pA, rate: 1}\n"),
              "test.yaml:16:56: inputs.i.rate applies only to poisson_generator, not "
              "dc_generator");
    EXPECT_EQ(error_of(head + "    {type: ac_generator, target: exc}\n"),
              "test.yaml:16:12: inputs.i.type: unknown device type 'ac_generator'; expected one "
              "of: poisson_generator, dc_generator, step_current_generator, noise_generator, "
              "dataset_source");
    EXPECT_EQ(error_of(head + "    {type: step_current_generator, target: exc, times: [2 ms, 1 "
                              "ms], amplitudes: [1 pA, 2 pA]}\n"),
              "test.yaml:16:63: inputs.i.times[1] = 1 ms must be after inputs.i.times[0] = 2 ms "
              "(times must increase strictly)");
    EXPECT_EQ(error_of(head + "    {type: step_current_generator, target: exc, times: [1 ms], "
                              "amplitudes: [1 pA, 2 pA]}\n"),
              "test.yaml:16:76: inputs.i.amplitudes has 2 entries; it needs one per time in "
              "inputs.i.times (1)");
    EXPECT_EQ(error_of(head + "    {type: step_current_generator, target: exc, times: [1.05 ms], "
                              "amplitudes: [1 pA]}\n"),
              "test.yaml:16:57: inputs.i.times[0] = 1.05 ms is not a multiple of dt = 0.1 ms");
    EXPECT_EQ(error_of(head + "    {type: noise_generator, target: exc, std: -1 pA}\n"),
              "test.yaml:16:47: inputs.i.std must be >= 0 pA, got -1 pA");
    EXPECT_EQ(error_of(head + "    {type: dc_generator, target: exc, amplitude: 1 pA, start: 5 "
                              "ms, stop: 5 ms}\n"),
              "test.yaml:16:75: inputs.i.stop must be after start (5 ms), got 5 ms");
}

TEST(config_yaml_errors, neuron_selections_stay_inside_the_population) {
    const std::string head = base + "inputs:\n  i:\n    type: dc_generator\n    target: exc\n"
                                    "    amplitude: 1 pA\n    neurons: ";  // line 19, col 14
    EXPECT_EQ(error_of(head + "[0, 4]\n"),
              "test.yaml:19:18: inputs.i.neurons[1] = 4 is not a neuron of population 'exc' (ids "
              "0 to 3)");
    EXPECT_EQ(error_of(head + "[1, 1]\n"), "test.yaml:19:18: inputs.i.neurons[1]: neuron 1 is "
                                           "listed twice");
    EXPECT_EQ(error_of(head + "{first: 0}\n"),
              "test.yaml:19:22: inputs.i.neurons.first must be an integer in [1, 4], got '0'");
    EXPECT_EQ(error_of(head + "{range: [3, 2]}\n"),
              "test.yaml:19:22: inputs.i.neurons.range must be [begin, end) with begin < end <= 4 "
              "(the size of 'exc'), got [3, 2]");
    EXPECT_EQ(error_of(head + "some\n"),
              "test.yaml:19:14: inputs.i.neurons must be all, a list of neuron ids, {first: n} or "
              "{range: [begin, end]}, got 'some'");
    EXPECT_EQ(error_of(head + "[]\n"),
              "test.yaml:19:14: inputs.i.neurons must not be empty; write 'all' (or leave it out) "
              "for every neuron");
}

TEST(config_yaml_errors, reports_check_variables_and_names) {
    const std::string head = base + "record:\n  reports:\n    r: ";  // line 16, col 8
    EXPECT_EQ(error_of(head + "{population: exc, variable: V}\n"),
              "test.yaml:16:36: record.reports.r.variable: model fake_lif has no variable 'V'; "
              "variables are: V_m, I_syn");
    EXPECT_EQ(error_of(head + "{population: src, variable: V}\n"),
              "test.yaml:16:36: record.reports.r.variable: model fake_source has no variable 'V'; "
              "it has no recordable variables");
    EXPECT_EQ(error_of(head + "{population: exc}\n"),
              "test.yaml:16:8: missing required key 'variable' in 'record.reports.r' (or "
              "'variables' with a list of names)");
    EXPECT_EQ(error_of(head + "{population: exc, variable: V_m, variables: [V_m]}\n"),
              "test.yaml:16:41: record.reports.r: give either variable or variables, not both");
    EXPECT_EQ(error_of(head + "{population: exc, variable: V_m, interval: 0.05 ms}\n"),
              "test.yaml:16:51: record.reports.r.interval = 0.05 ms is below dt = 0.1 ms");
    EXPECT_EQ(error_of(head + "{population: exc, variable: V_m, interval: 0 ms}\n"),
              "test.yaml:16:51: record.reports.r.interval must be > 0 ms, got 0 ms");
    EXPECT_EQ(error_of(head + "{population: exc, variables: [V_m]}\n    r.V_m: {population: "
                              "exc, variable: I_syn}\n"),
              "test.yaml:17:12: record.reports.r.V_m: report name 'r.V_m' is already used by "
              "record.reports.r");
    EXPECT_EQ(error_of(base + "record: {spikes: exc}\n"),
              "test.yaml:14:18: record.spikes must be all, none or a list of population names "
              "(e.g. [exc]), got 'exc'");
}

TEST(config_yaml_errors, output_flush_interval_needs_a_unit) {
    EXPECT_EQ(error_of(base + "output: {flush_interval: 5}\n"),
              "test.yaml:14:26: output.flush_interval needs a unit (e.g. '5 s'), got '5'");
    EXPECT_EQ(error_of(base + "output: {flush_interval: 0 s}\n"),
              "test.yaml:14:26: output.flush_interval must be > 0 s, got 0 s");
    EXPECT_EQ(parse(base + "output: {flush_interval: 500 ms}\n").output.flush_interval, 0.5);
}

TEST(config_yaml_errors, duration_must_be_whole_steps) {
    EXPECT_EQ(error_of("simulation: {dt: 0.1 ms, duration: 100.05 ms}\npopulations: {}\n"),
              "test.yaml:1:36: simulation.duration = 100.05 ms is not a multiple of dt = 0.1 ms");
}

// ---------------------------------------------------------------------------------------------
// PyNN aliases

TEST(config_yaml_aliases, map_pynn_names_to_canonical_ones) {
    const auto spec = parse(with_params(
        "{v_rest: -70 mV, v_thresh: -52 mV, v_reset: -60 mV, tau_refrac: 1 ms, tau_syn_E: 3 ms, "
        "cm: 0.5 nF, i_offset: 0.1 nA}"));
    const auto& p = spec.populations[0].params;
    EXPECT_EQ(p.at("E_L").value, -70.0);
    EXPECT_EQ(p.at("V_th").value, -52.0);
    EXPECT_EQ(p.at("V_reset").value, -60.0);
    EXPECT_EQ(p.at("t_ref").value, 1.0);
    EXPECT_EQ(p.at("tau_syn_ex").value, 3.0);
    EXPECT_EQ(p.at("C_m").value, 500.0);
    EXPECT_EQ(p.at("I_e").value, 100.0);
    EXPECT_EQ(p.size(), 7u);
}

TEST(config_yaml_aliases, refuse_bare_numbers_where_pynn_units_differ) {
    EXPECT_EQ(error_of(with_params("{cm: 0.25}")),
              "test.yaml:6:18: populations.exc.params.cm needs a unit: PyNN's cm is in nF, glia's "
              "C_m in pF; write '0.25 nF' or '250 pF'");
    EXPECT_EQ(error_of(with_params("{i_offset: [0.5, 1, 1, 1]}")),
              "test.yaml:6:25: populations.exc.params.i_offset[0] needs a unit: PyNN's i_offset "
              "is in nA, glia's I_e in pA; write '0.5 nA' or '500 pA'");
}

TEST(config_yaml_aliases, refuse_an_alias_together_with_its_canonical_name) {
    EXPECT_EQ(error_of(with_params("{E_L: -70 mV, v_rest: -65 mV}")),
              "test.yaml:6:27: populations.exc.params: 'v_rest' and 'E_L' are the same parameter "
              "('v_rest' is the PyNN name of 'E_L'); give only one");
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc:\n    model: fake_lif\n"
                       "    size: 2\n    initial: {v: -65 mV, V_m: -60 mV}\n"),
              "test.yaml:6:26: populations.exc.initial: 'v' and 'V_m' are the same variable ('v' "
              "is the PyNN name of 'V_m'); give only one");
}

// ---------------------------------------------------------------------------------------------
// Overrides (--set)

TEST(config_yaml_overrides, replace_values_anywhere_in_the_file) {
    const auto spec =
        parse(complete, {"simulation.duration=3 s", "projections.ee.p=0.05",
                         "populations.exc.params.tau_m=12 ms", "populations.exc.params.cm=0.3 nF",
                         "record.spikes=[exc]", "inputs.drive.neurons=[3]"});
    EXPECT_EQ(spec.simulation.duration, 3000.0);
    EXPECT_EQ(spec.projections[0].connectivity.p, 0.05);
    EXPECT_EQ(spec.populations[0].params.at("tau_m").value, 12.0);
    EXPECT_EQ(spec.populations[0].params.at("tau_m").where,
              "--set populations.exc.params.tau_m=12 ms");
    EXPECT_EQ(spec.populations[0].params.at("C_m").value, 300.0);
    EXPECT_THAT(spec.record.spikes, testing::ElementsAre("exc"));
    EXPECT_THAT(spec.inputs[0].neurons, testing::ElementsAre(3u));
    EXPECT_THAT(spec.config_text, testing::HasSubstr("duration: 3 s"));
}

TEST(config_yaml_overrides, add_new_keys_and_whole_maps) {
    const auto spec = parse(base, {"simulation.seed=9", "populations.exc.params={tau_m: 5 ms}",
                                   "populations.exc.params.V_th=-40 mV"});
    EXPECT_EQ(spec.simulation.seed, 9u);
    EXPECT_EQ(spec.populations[0].params.at("tau_m").value, 5.0);
    EXPECT_EQ(spec.populations[0].params.at("V_th").value, -40.0);
}

TEST(config_yaml_overrides, do_not_reach_maps_shared_through_yaml_aliases) {
    const std::string yaml = R"(simulation: {duration: 100 ms}
populations:
  exc:
    model: fake_lif
    size: 2
    params: &lif {tau_m: 20 ms, E_L: -49 mV}
  inh: {model: fake_lif, size: 2, params: *lif}
)";
    const auto spec =
        parse(yaml, {"populations.exc.params.tau_m=10 ms", "populations.exc.params.V_th=-40 mV"});
    EXPECT_EQ(spec.populations[0].params.at("tau_m").value, 10.0);
    EXPECT_EQ(spec.populations[0].params.at("V_th").value, -40.0);
    EXPECT_EQ(spec.populations[1].params.at("tau_m").value, 20.0);
    EXPECT_EQ(spec.populations[1].params.count("V_th"), 0u);
    // Untouched entries keep their place in the file; populations keep their order.
    EXPECT_EQ(spec.populations[0].params.at("E_L").where, "test.yaml:6:38");
    EXPECT_EQ(spec.populations[0].name, "exc");
    // The resolved config says the same.
    const auto again = parse(spec.config_text);
    EXPECT_EQ(again.populations[0].params.at("tau_m").value, 10.0);
    EXPECT_EQ(again.populations[1].params.at("tau_m").value, 20.0);
}

TEST(config_yaml_overrides, maps_on_the_path_keep_their_location_in_the_file) {
    EXPECT_EQ(error_of("simulation: {duration: 1 s}\npopulations:\n  exc: {model: fake_lif, "
                       "params: {}}\n",
                       {"populations.exc.params.tau_m=5 ms"}),
              "test.yaml:3:8: missing required key 'size' in 'populations.exc'");
}

TEST(config_yaml_overrides, later_overrides_win) {
    EXPECT_EQ(parse(base, {"simulation.seed=3", "simulation.seed=4"}).simulation.seed, 4u);
}

TEST(config_yaml_overrides, errors_in_overridden_values_name_the_override) {
    EXPECT_EQ(error_of(base, {"simulation.duration=-2 s"}),
              "--set simulation.duration=-2 s: simulation.duration must be > 0 ms, got -2 s");
    EXPECT_EQ(error_of(base, {"simulation.duraton=2 s"}),
              "--set simulation.duraton=2 s: unknown key 'duraton' in 'simulation'; expected one "
              "of: dt, duration, seed, threads, partitions");
    EXPECT_EQ(error_of(base, {"populations.exc.params={tau_m: [1, 2]}"}),
              "--set populations.exc.params={tau_m: [1, 2]}: populations.exc.params.tau_m has 2 "
              "entries; it needs one per neuron of 'exc' (4)");
    EXPECT_EQ(error_of(with_params("{V_th: -50 mV}"),
                       {"populations.exc.params.tau_m={uniform: {low: 0, high: 1}}"}),
              "--set populations.exc.params.tau_m={uniform: {low: 0, high: 1}}: "
              "populations.exc.params.tau_m.uniform.low must be > 0 ms, got 0");
    // A valid override does not hide an error elsewhere in the file.
    EXPECT_EQ(error_of(with_params("{tau_m: -1}"), {"simulation.seed=3"}),
              "test.yaml:6:21: populations.exc.params.tau_m must be > 0 ms, got -1");
    // dt from --set, delay from the file: the error points into the file.
    EXPECT_EQ(error_of(with_delay("0.1 ms"), {"simulation.dt=0.2 ms"}),
              "test.yaml:6:15: projections.ee.delay = 0.1 ms is below dt = 0.2 ms");
}

TEST(config_yaml_overrides, paths_must_exist_up_to_the_last_key) {
    EXPECT_THAT([] { parse(base, {"simulaton.dt=0.2 ms"}); },
                testing::ThrowsMessage<glia::error>(
                    testing::StrEq("--set simulaton.dt=0.2 ms: 'simulaton' is not in the file")));
    EXPECT_EQ(error_of(base, {"projections.ee.p=0.05"}),
              "--set projections.ee.p=0.05: 'projections' is not in the file");
    EXPECT_EQ(error_of(base, {"simulation.duration.value=1"}),
              "--set simulation.duration.value=1: 'simulation.duration' is not a map in the file "
              "(it is '100 ms')");
    EXPECT_EQ(error_of(base, {"simulation.seed"}),
              "--set 'simulation.seed': expected key.path=value, e.g. simulation.duration=2 s");
    EXPECT_EQ(error_of(base, {"simulation..seed=1"}),
              "--set 'simulation..seed=1': 'simulation..seed' is not a key path (keys separated "
              "by '.', e.g. simulation.dt)");
    EXPECT_EQ(error_of(base, {"simulation.seed=[1, 2"}),
              "--set simulation.seed=[1, 2: the value is not valid YAML: end of sequence flow not "
              "found");
}

// ---------------------------------------------------------------------------------------------
// Data files

class config_yaml_files: public testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("glia_test_config_yaml_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_ / "inputs");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(dir_ / name) << text;
        return (dir_ / name).string();
    }

    std::filesystem::path dir_;
};

TEST_F(config_yaml_files, reads_spike_times_relative_to_the_yaml_file) {
    write("inputs/times.txt", "1, 2.5\n\n0.1 0.2,0.3\n");
    const auto path = write("exp.yaml", base + "    spike_times_file: inputs/times.txt\n");
    const auto spec = glia::io::load_experiment(path, {}, fakes());
    const auto& trains = spec.populations[2].spike_times;
    ASSERT_EQ(trains.size(), 3u);
    EXPECT_THAT(trains[0], testing::ElementsAre(1.0, 2.5));
    EXPECT_TRUE(trains[1].empty());
    EXPECT_THAT(trains[2], testing::ElementsAre(0.1, 0.2, 0.3));
    EXPECT_EQ(spec.source_path, path);
    EXPECT_EQ(spec.output.path, "results/exp.h5");
}

TEST_F(config_yaml_files, reports_errors_in_spike_time_files_at_their_line) {
    const auto times = write("inputs/times.txt", "1\n2 x\n3\n");
    const auto path = write("exp.yaml", base + "    spike_times_file: inputs/times.txt\n");
    EXPECT_THAT([&] { glia::io::load_experiment(path, {}, fakes()); },
                testing::ThrowsMessage<glia::config_error>(
                    testing::StrEq(times + ":2:3: 'x' is not a number (spike times in ms)")));
    write("inputs/times.txt", "1\n2\n");
    EXPECT_THAT([&] { glia::io::load_experiment(path, {}, fakes()); },
                testing::ThrowsMessage<glia::config_error>(
                    testing::StrEq(path + ":14:23: populations.src.spike_times_file: '" + times +
                                   "' has 2 lines; it needs one line per neuron of 'src' (3)")));
    EXPECT_THAT(
        [&] {
            glia::io::load_experiment(path, {"populations.src.spike_times_file=none.txt"}, fakes());
        },
        testing::ThrowsMessage<glia::error>(
            testing::StrEq("--set populations.src.spike_times_file=none.txt: "
                           "populations.src.spike_times_file: cannot open spike times file '" +
                           (dir_ / "none.txt").string() + "'")));
}

TEST_F(config_yaml_files, reads_connections_from_csv) {
    write("edges.csv", "# source,target,weight,delay\n0,1\n 3 , 0 , -2.5, 0.2  # inhibitory\n\n");
    const auto path = write("exp.yaml", base + "projections:\n  ee: {source: exc, target: exc, "
                                               "rule: from_list, connections_file: edges.csv, "
                                               "weight: 1 pA}\n");
    const auto spec = glia::io::load_experiment(path, {}, fakes());
    const auto& edges = spec.projections[0].connectivity.edges;
    ASSERT_EQ(edges.size(), 2u);
    EXPECT_EQ(edges[0].source, 0u);
    EXPECT_EQ(edges[0].target, 1u);
    EXPECT_TRUE(std::isnan(edges[0].weight));
    EXPECT_EQ(edges[1].source, 3u);
    EXPECT_EQ(edges[1].target, 0u);
    EXPECT_EQ(edges[1].weight, -2.5);
    EXPECT_EQ(edges[1].delay, 0.2);

    const auto csv = write("edges.csv", "0,1\n0,9\n");
    EXPECT_THAT([&] { glia::io::load_experiment(path, {}, fakes()); },
                testing::ThrowsMessage<glia::config_error>(
                    testing::StrEq(csv + ":2:3: target 9 is not in population 'exc' (size 4)")));
    write("edges.csv", "0,1,1,0.15\n");
    EXPECT_THAT([&] { glia::io::load_experiment(path, {}, fakes()); },
                testing::ThrowsMessage<glia::config_error>(testing::StrEq(
                    csv + ":1:7: delay = 0.15 ms is not a multiple of dt = 0.1 ms")));
    write("edges.csv", "0,1,1\n");
    EXPECT_THAT([&] { glia::io::load_experiment(path, {}, fakes()); },
                testing::ThrowsMessage<glia::config_error>(testing::StrEq(
                    csv + ":1:1: expected source,target or source,target,weight,delay; got 3 "
                          "fields")));
}

// ---------------------------------------------------------------------------------------------
// The built-in models

TEST(config_yaml_builtin, reads_a_pynn_style_network_with_the_real_models) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const std::string yaml = R"(simulation: {dt: 0.1 ms, duration: 100 ms}
populations:
  exc:
    model: IF_curr_exp
    size: 8
    params: {v_rest: -65 mV, cm: 1 nF, tau_refrac: 0.1 ms, i_offset: 0.5 nA, tau_syn_E: 5 ms}
    initial: {v: {uniform: {low: -65 mV, high: -55 mV}}}
  cond:
    model: IF_cond_exp
    size: 2
    params: {e_rev_E: 0 mV, e_rev_I: -80 mV}
  stim: {model: SpikeSourceArray, size: 2, spike_times: [[1 ms], [2 ms, 3 ms]]}
  noise: {model: SpikeSourcePoisson, size: 2, params: {rate: 5 Hz}}
projections:
  se: {source: stim, target: exc, rule: all_to_all, weight: 100 pA}
  ec: {source: exc, target: cond, rule: fixed_indegree, indegree: 2, weight: 6 nS, delay: 1 ms}
  nc: {source: noise, target: cond, rule: one_to_one, weight: -1 nS}
record:
  reports:
    v: {population: cond, variables: [V_m, g_ex]}
)";
    const auto spec = glia::io::parse_experiment(yaml, "pynn.yaml", {}, models);
    ASSERT_EQ(spec.populations.size(), 4u);
    EXPECT_EQ(spec.populations[0].model, "iaf_psc_exp");
    EXPECT_EQ(spec.populations[0].params.at("E_L").value, -65.0);
    EXPECT_EQ(spec.populations[0].params.at("C_m").value, 1000.0);
    EXPECT_EQ(spec.populations[0].params.at("t_ref").value, 0.1);
    EXPECT_EQ(spec.populations[0].params.at("I_e").value, 500.0);
    EXPECT_EQ(spec.populations[0].params.at("tau_syn_ex").value, 5.0);
    EXPECT_EQ(spec.populations[0].initial.at("V_m").type, kind::uniform);
    EXPECT_EQ(spec.populations[1].model, "iaf_cond_exp");
    EXPECT_EQ(spec.populations[1].params.at("E_ex").value, 0.0);
    EXPECT_EQ(spec.populations[1].params.at("E_in").value, -80.0);
    EXPECT_EQ(spec.populations[2].model, "spike_source_array");
    EXPECT_THAT(spec.populations[2].spike_times[1], testing::ElementsAre(2.0, 3.0));
    EXPECT_EQ(spec.populations[3].model, "poisson_source");
    EXPECT_EQ(spec.projections[1].weight.dim, dimension::conductance);
    ASSERT_EQ(spec.record.reports.size(), 2u);
    EXPECT_EQ(spec.record.reports[1].name, "v.g_ex");

    // The real models' ports: conductance weights into a current-based model are refused.
    EXPECT_THAT(
        [&] {
            glia::io::parse_experiment(yaml, "pynn.yaml", {"projections.se.weight=1 nS"}, models);
        },
        testing::ThrowsMessage<glia::error>(testing::StrEq(
            "--set projections.se.weight=1 nS: projections.se.weight must be a current "
            "(pA, nA, uA), got '1 nS'")));
}

// Astrocytes: synapse: sic (weight defaults to NEST's 1, plain numbers) and the
// tripartite block, with its defaults (p 1, random pools of the whole astrocyte population,
// third_in/out weight 1, delays NaN = the projection's); record.spikes: all leaves out
// populations that never spike.
TEST(config_yaml, reads_sic_projections_and_tripartite_blocks) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const std::string yaml = R"(
simulation: {dt: 0.1 ms, duration: 10 ms}
populations:
  exc: {model: iaf_cond_exp, size: 20}
  astro: {model: astrocyte_lr_1994, size: 10, initial: {IP3: 0.4 uM}}
projections:
  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 1 nS, delay: 2 ms,
       tripartite: {astrocytes: astro, p: 0.5, pool_type: block, pool_size: 1,
                    third_in: {weight: {uniform: {low: 1, high: 2}}}, third_out: {weight: 0.05, delay: 1 ms}}}
  ei: {source: exc, target: exc, rule: one_to_one, weight: 1 nS, tripartite: {astrocytes: astro}}
  ae: {source: astro, target: exc, rule: fixed_indegree, indegree: 2, synapse: sic, delay: 3 ms}
)";
    const auto spec = glia::io::parse_experiment(yaml, "astro.yaml", {}, models);
    EXPECT_EQ(spec.record.spikes, (std::vector<std::string>{"exc"}));
    ASSERT_EQ(spec.projections.size(), 3u);
    const auto& t = spec.projections[0].tripartite;
    EXPECT_TRUE(t.enabled);
    EXPECT_EQ(t.astrocytes, "astro");
    EXPECT_EQ(t.p, 0.5);
    EXPECT_EQ(t.pool_type, glia::tripartite_spec::pool::block);
    EXPECT_EQ(t.pool_size, 1u);
    EXPECT_EQ(t.in_weight.type, kind::uniform);
    EXPECT_TRUE(std::isnan(t.in_delay.value));
    EXPECT_EQ(t.out_weight.value, 0.05);
    EXPECT_EQ(t.out_delay.value, 1.0);
    EXPECT_EQ(t.where, "astro.yaml:8:20");
    const auto& d = spec.projections[1].tripartite;
    EXPECT_EQ(d.p, 1.0);
    EXPECT_EQ(d.pool_type, glia::tripartite_spec::pool::random);
    EXPECT_EQ(d.pool_size, 0u);  // the whole astrocyte population
    EXPECT_EQ(d.in_weight.value, 1.0);
    EXPECT_EQ(d.out_weight.value, 1.0);
    EXPECT_FALSE(spec.projections[2].tripartite.enabled);
    EXPECT_EQ(spec.projections[2].synapse, "sic");
    EXPECT_EQ(spec.projections[2].weight.value, 1.0);
    EXPECT_EQ(spec.projections[2].delay.value, 3.0);
    // The resolved config reads back to the same tripartite block.
    const auto again = glia::io::parse_experiment(spec.config_text, "astro.yaml", {}, models);
    EXPECT_EQ(again.projections[0].tripartite.out_weight.value, 0.05);
    EXPECT_EQ(again.projections[0].tripartite.pool_type, glia::tripartite_spec::pool::block);
}

// ---------------------------------------------------------------------------------------------
// metrics.branching_factor (lines 14 on, after `base`)

// `base` plus a metrics.branching_factor block: `lines` go on lines 16 on, indented by four.
std::string with_branching(const std::vector<std::string>& lines) {
    std::string out = base + "metrics:\n  branching_factor:\n";
    for (const auto& l: lines) {
        out += "    " + l + "\n";
    }
    return out;
}

TEST(config_yaml, reads_metrics_branching_factor_in_canonical_units) {
    const auto spec = parse(with_branching(
        {"populations: [inh, exc]", "bin: 0.5 ms", "delta_t: 2 ms", "start: 0.01 s", "stop: 90 ms"}));
    const auto& bf = spec.metrics.branching_factor;
    EXPECT_TRUE(bf.enabled);
    EXPECT_THAT(bf.populations, testing::ElementsAre("inh", "exc"));
    EXPECT_EQ(bf.bin, 0.5);
    EXPECT_EQ(bf.delta_t, 2.0);
    EXPECT_EQ(bf.start, 10.0);
    EXPECT_EQ(bf.stop, 90.0);
    EXPECT_EQ(bf.where, "test.yaml:16:5");
    // Read back from the resolved config, and changed by --set.
    EXPECT_EQ(parse(spec.config_text).metrics.branching_factor.populations, bf.populations);
    EXPECT_EQ(parse(spec.config_text, {"metrics.branching_factor.bin=1 ms"})
                  .metrics.branching_factor.bin,
              1.0);
}

TEST(config_yaml, metrics_branching_factor_defaults) {
    const auto on = parse(with_branching({"populations: [exc]"})).metrics.branching_factor;
    EXPECT_TRUE(on.enabled);
    EXPECT_EQ(on.bin, 1.0);
    EXPECT_EQ(on.delta_t, 4.0);
    EXPECT_EQ(on.start, 0.0);
    EXPECT_EQ(on.stop, inf);  // the end of the run
    EXPECT_EQ(parse(with_branching({"populations: [exc]", "stop: .inf"}))
                  .metrics.branching_factor.stop,
              inf);
    EXPECT_FALSE(parse(base).metrics.branching_factor.enabled);
    EXPECT_FALSE(parse(base + "metrics:\n").metrics.branching_factor.enabled);
    EXPECT_FALSE(parse(base + "metrics: {}\n").metrics.branching_factor.enabled);
}

TEST(config_yaml_errors, metrics_keys_and_populations_are_checked) {
    EXPECT_EQ(error_of(base + "metrics:\n  branching: {}\n"),
              "test.yaml:15:3: unknown key 'branching' in 'metrics'; expected one of: "
              "branching_factor");
    EXPECT_EQ(error_of(with_branching({"populations: [exc]", "window: 4 ms"})),
              "test.yaml:17:5: unknown key 'window' in 'metrics.branching_factor'; expected one "
              "of: populations, bin, delta_t, start, stop");
    EXPECT_EQ(error_of(with_branching({"bin: 1 ms"})),
              "test.yaml:16:5: missing required key 'populations' in 'metrics.branching_factor'");
    EXPECT_EQ(error_of(with_branching({"populations: exc"})),
              "test.yaml:16:18: metrics.branching_factor.populations must be a non-empty list of "
              "population names (e.g. [exc, inh]), got 'exc'");
    EXPECT_EQ(error_of(with_branching({"populations: []"})),
              "test.yaml:16:18: metrics.branching_factor.populations must be a non-empty list of "
              "population names (e.g. [exc, inh]), got an empty list");
    EXPECT_EQ(error_of(with_branching({"populations: [exc, exd]"})),
              "test.yaml:16:24: metrics.branching_factor.populations[1]: no population 'exd'; "
              "populations are: exc, inh, src");
    EXPECT_EQ(error_of(with_branching({"populations: [exc, exc]"})),
              "test.yaml:16:24: metrics.branching_factor.populations[1]: population 'exc' is "
              "listed twice");
}

TEST(config_yaml_errors, metrics_times_must_fit_dt_the_bin_and_the_run) {
    const auto bf_error = [](const std::string& line) {
        return error_of(with_branching({"populations: [exc]", line}));
    };
    EXPECT_EQ(bf_error("bin: 0.25 ms"),
              "test.yaml:17:10: metrics.branching_factor.bin = 0.25 ms is not a multiple of dt = "
              "0.1 ms");
    EXPECT_EQ(bf_error("bin: 0.05 ms"),
              "test.yaml:17:10: metrics.branching_factor.bin = 0.05 ms is below dt = 0.1 ms");
    EXPECT_EQ(bf_error("bin: -1 ms"),
              "test.yaml:17:10: metrics.branching_factor.bin must be > 0 ms, got -1 ms");
    EXPECT_EQ(bf_error("bin: 1 mV"),
              "test.yaml:17:10: metrics.branching_factor.bin must be a time (ms, s, us, min), got "
              "'1 mV'");
    EXPECT_EQ(bf_error("delta_t: 2.5 ms"),
              "test.yaml:17:14: metrics.branching_factor.delta_t = 2.5 ms is not a multiple of "
              "bin = 1 ms");
    EXPECT_EQ(bf_error("delta_t: 0 ms"),
              "test.yaml:17:14: metrics.branching_factor.delta_t must be > 0 ms, got 0 ms");
    EXPECT_EQ(bf_error("start: 10.5 ms"),
              "test.yaml:17:12: metrics.branching_factor.start = 10.5 ms is not a multiple of bin "
              "= 1 ms");
    EXPECT_EQ(bf_error("start: -1 ms"),
              "test.yaml:17:12: metrics.branching_factor.start must be >= 0 ms, got -1 ms");
    EXPECT_EQ(bf_error("stop: 200 ms"),
              "test.yaml:17:11: metrics.branching_factor.stop = 200 ms is after the end of the "
              "run (simulation.duration = 100 ms)");
    EXPECT_EQ(bf_error("stop: 0 ms"),
              "test.yaml:17:11: metrics.branching_factor.stop must be after start (0 ms), got 0 "
              "ms");
    EXPECT_EQ(bf_error("start: 95 ms"),
              "test.yaml:17:12: metrics.branching_factor: the window [95, 100) ms is too short "
              "for delta_t = 4 ms: spikes are evaluated in [start + delta_t, stop - delta_t), so "
              "stop - start must exceed 2 delta_t");
    // The default bin (1 ms) must fit dt too.
    EXPECT_EQ(error_of("simulation: {dt: 0.3 ms, duration: 99 ms}\npopulations:\n"
                       "  exc: {model: fake_lif, size: 4}\n"
                       "metrics:\n  branching_factor: {populations: [exc]}\n"),
              "test.yaml:5:21: metrics.branching_factor.bin: the default bin of 1 ms is not a "
              "multiple of dt = 0.3 ms; give a bin");
    // An override is named instead of a location.
    EXPECT_EQ(error_of(with_branching({"populations: [exc]"}),
                       {"metrics.branching_factor.bin=0.25 ms"}),
              "--set metrics.branching_factor.bin=0.25 ms: metrics.branching_factor.bin = 0.25 ms "
              "is not a multiple of dt = 0.1 ms");
}

TEST(config_yaml_builtin, metrics_branching_factor_refuses_populations_without_spikes) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const std::string yaml = "simulation: {dt: 0.1 ms, duration: 10 ms}\npopulations:\n"
                             "  exc: {model: iaf_cond_exp, size: 2}\n"
                             "  astro: {model: astrocyte_lr_1994, size: 1}\n"
                             "metrics:\n  branching_factor: {populations: [exc, astro]}\n";
    EXPECT_THAT([&] { glia::io::parse_experiment(yaml, "astro.yaml", {}, models); },
                testing::ThrowsMessage<glia::error>(testing::StrEq(
                    "astro.yaml:6:41: metrics.branching_factor.populations[1]: population "
                    "'astro' (model astrocyte_lr_1994) emits no spikes")));
}

}  // namespace

// nalsm_astrocyte modulators (docs/models/nalsm_astrocyte.md): keys, located errors. The spec
// holds what the file gave, in canonical units; defaults come from the model when the network
// is lowered (config_yaml_builtin.nalsm_astrocyte_defaults_come_from_the_model_at_lowering).
TEST(config_yaml, reads_a_nalsm_astrocyte_modulator_keeping_only_the_given_keys) {
    const auto spec = parse(base + "modulators:\n"
                                   "  astro: {type: nalsm_astrocyte, excite: [exc, inh], "
                                   "inhibit: src, w: 0.01, rho: 0.5, tau: 0.2 s, "
                                   "regions: [2, 1, 3]}\n");
    ASSERT_EQ(spec.modulators.size(), 1U);
    const auto& m = spec.modulators[0];
    EXPECT_EQ(m.name, "astro");
    EXPECT_EQ(m.type, "nalsm_astrocyte");
    EXPECT_EQ(m.where, "test.yaml:15:10");
    ASSERT_EQ(m.roles.size(), 2U);
    EXPECT_THAT(m.roles.at("excite"), testing::ElementsAre("exc", "inh"));
    EXPECT_THAT(m.roles.at("inhibit"), testing::ElementsAre("src"));  // a single name
    std::vector<std::string> keys;
    for (const auto& [k, v]: m.params) {
        keys.push_back(k);
    }
    EXPECT_THAT(keys, testing::ElementsAre("regions", "rho", "tau", "w"));  // no defaults here
    EXPECT_TRUE(m.params.at("w").is_constant());
    EXPECT_DOUBLE_EQ(m.params.at("w").value, 0.01);
    EXPECT_DOUBLE_EQ(m.params.at("rho").value, 0.5);
    EXPECT_DOUBLE_EQ(m.params.at("tau").value, 200.0);  // canonical: ms
    EXPECT_EQ(m.params.at("tau").dim, dimension::time);
    EXPECT_EQ(m.params.at("regions").type, kind::list);
    EXPECT_THAT(m.params.at("regions").values, testing::ElementsAre(2.0, 1.0, 3.0));
    EXPECT_TRUE(m.times.empty());
    EXPECT_TRUE(m.amounts.empty());
}

// volume_transmitter is the default type; its delay is a parameter like any other.
TEST(config_yaml, reads_volume_transmitters_driven_by_a_population_or_scripted) {
    const auto spec = parse(base + "modulators:\n"
                                   "  da: {population: src, delay: 2 ms}\n"
                                   "  reward: {type: volume_transmitter, times: [5 ms, 7.5 ms], "
                                   "amounts: [1, -0.5]}\n");
    ASSERT_EQ(spec.modulators.size(), 2U);
    const auto& da = spec.modulators[0];
    EXPECT_EQ(da.type, "volume_transmitter");
    ASSERT_EQ(da.roles.size(), 1U);
    EXPECT_THAT(da.roles.at("population"), testing::ElementsAre("src"));
    ASSERT_EQ(da.params.size(), 1U);
    EXPECT_DOUBLE_EQ(da.params.at("delay").value, 2.0);
    EXPECT_TRUE(da.times.empty());
    const auto& rw = spec.modulators[1];
    EXPECT_EQ(rw.type, "volume_transmitter");
    EXPECT_TRUE(rw.params.empty());  // delay: the model's default, at lowering
    bool any_population = false;
    for (const auto& [role, names]: rw.roles) {
        any_population = any_population || !names.empty();
    }
    EXPECT_FALSE(any_population);
    EXPECT_THAT(rw.times, testing::ElementsAre(5.0, 7.5));
    EXPECT_THAT(rw.amounts, testing::ElementsAre(1.0, -0.5));
}

TEST(config_yaml_errors, nalsm_astrocyte_errors_are_located_and_say_what_is_allowed) {
    const std::string head = base + "modulators:\n  astro:\n    type: nalsm_astrocyte\n";
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    rho: 1.5\n"),
              "test.yaml:18:10: modulators.astro.rho must be in [0, 1], got 1.5");
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    tau_A: 100 ms\n"),
              "test.yaml:18:5: unknown key 'tau_A' in 'modulators.astro' (modulator "
              "nalsm_astrocyte); keys are: type, excite, inhibit, w, b, tau, initial, rho, decay, "
              "regions");
    // A nalsm_astrocyte takes no scripted signal.
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    times: [1 ms]\n"),
              "test.yaml:18:5: unknown key 'times' in 'modulators.astro' (modulator "
              "nalsm_astrocyte); keys are: type, excite, inhibit, w, b, tau, initial, rho, decay, "
              "regions");
    EXPECT_EQ(error_of(head + "    excite: [exc, exc]\n"),
              "test.yaml:17:19: modulators.astro.excite[1]: population 'exc' is already listed "
              "(each population at most once in a modulator)");
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    inhibit: exc\n"),
              "test.yaml:18:14: modulators.astro.inhibit: population 'exc' is already listed "
              "(each population at most once in a modulator)");
    EXPECT_EQ(error_of(head + "    excite: [nope]\n"),
              "test.yaml:17:14: modulators.astro.excite[0]: no population 'nope'; populations "
              "are: exc, inh, src");
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    tau: 0 ms\n"),
              "test.yaml:18:10: modulators.astro.tau must be > 0 ms, got 0 ms");
    EXPECT_EQ(error_of(head + "    excite: [exc]\n    tau: 5 mV\n"),
              "test.yaml:18:10: modulators.astro.tau must be a time (ms, s, us, min), got '5 mV'");
    EXPECT_EQ(error_of(head + "    w: 0.01\n"),
              "test.yaml:16:5: modulators.astro: a nalsm_astrocyte reads at least one population: "
              "give excite, inhibit");
    EXPECT_EQ(error_of(base + "modulators:\n  astro: {type: astrocyte, excite: exc}\n"),
              "test.yaml:15:17: modulators.astro.type must be one of: nalsm_astrocyte, "
              "volume_transmitter; got 'astrocyte'");
    // An override is named instead of a location.
    EXPECT_EQ(error_of(head + "    excite: [exc]\n", {"modulators.astro.rho=2"}),
              "--set modulators.astro.rho=2: modulators.astro.rho must be in [0, 1], got 2");
}

// regions (a parameter with 3 components): a number, or a list of one per axis.
TEST(config_yaml_errors, nalsm_astrocyte_regions_need_one_value_per_axis) {
    const std::string head =
        base + "modulators:\n  astro:\n    type: nalsm_astrocyte\n    excite: [exc]\n";
    EXPECT_EQ(parse(head + "    regions: 2\n").modulators[0].params.at("regions").value, 2.0);
    EXPECT_EQ(error_of(head + "    regions: [2, 2]\n"),
              "test.yaml:18:14: modulators.astro.regions has 2 entries; it needs one per axis "
              "(3)");
    EXPECT_EQ(error_of(head + "    regions: {uniform: {low: 1, high: 2}}\n"),
              "test.yaml:18:14: modulators.astro.regions must be a number or a list of 3");
}

// What the file leaves out of a modulator comes from its model when the network is lowered:
// nalsm_astrocyte's b = 0.15, tau = 100 ms, initial = 0.15 and decay = 1 (science-spec §1.5).
// Without spikes A follows A(t + 1) = A(t) + dt (b - A(t)) / tau from A(0) = initial.
TEST(config_yaml_builtin, nalsm_astrocyte_defaults_come_from_the_model_at_lowering) {
    const std::string yaml = "simulation: {dt: 1 ms, duration: 3 ms}\npopulations:\n"
                             "  exc: {model: iaf_psc_delta, size: 2}\n"
                             "modulators:\n"
                             "  defaults: {type: nalsm_astrocyte, excite: exc}\n"
                             "  from_zero: {type: nalsm_astrocyte, excite: exc, initial: 0}\n";
    const auto spec =
        glia::io::parse_experiment(yaml, "astro.yaml", {}, glia::test::builtin_models());
    ASSERT_EQ(spec.modulators.size(), 2U);
    EXPECT_TRUE(spec.modulators[0].params.empty());
    glia::simulation sim(spec, glia::test::builtin_models(), glia::test::quiet_context());
    glia::memory_sink out;
    sim.run(out);
    const double b = 0.15, tau = 100.0, dt = 1.0;
    for (const auto& [name, a0]: {std::pair{"defaults", 0.15}, std::pair{"from_zero", 0.0}}) {
        const auto level = sim.modulator_level(name);
        ASSERT_EQ(level.values.size(), 4U) << name;  // times 0 .. 3 ms
        double a = a0;
        for (std::size_t t = 0; t < 4; ++t) {
            EXPECT_NEAR(level.values[t], a, 1e-15) << name << " at " << t << " ms";
            a += dt * (b - a) / tau;
        }
    }
    // The first moves: 0, 0.0015, ...
    EXPECT_NEAR(sim.modulator_level("from_zero").values[1], 0.0015, 1e-15);
}

// ---------------------------------------------------------------------------------------------
// Grids, positions, rule distance, fixed_total_number density and groups

// Two populations on one grid, one with a list of positions (lines 1-9); tests append from 10.
const std::string spatial = R"(simulation: {duration: 100 ms}
grids:
  liquid: {shape: [4, 5, 5], spacing: 2, order: random}
  line: {shape: [3, 1, 1]}
populations:
  E: {model: fake_lif, size: 80, positions: {grid: liquid}}
  I: {model: fake_lif, size: 20, positions: {grid: liquid}}
  in: {model: fake_lif, size: 3, positions: [[0, 0, 0], [1, 2.5, -3], [1e3, 0, 0]]}
  far: {model: fake_lif, size: 2}
)";

TEST(config_yaml, reads_grids_positions_distance_and_grouped_total_numbers) {
    const auto spec = parse(spatial + R"(projections:
  EE: {source: E, target: E, rule: distance, C: 0.2, lambda: 3, allow_autapses: false, weight: 1}
  inE: {source: in, target: E, rule: fixed_total_number, density: 0.15, group: input,
        allow_multapses: false, weight: 1}
  inI: {source: in, target: I, rule: fixed_total_number, density: 0.15, group: input,
        allow_multapses: false, weight: 1}
  tot: {source: in, target: I, rule: fixed_total_number, N: 7, weight: 1}
)");
    ASSERT_EQ(spec.grids.size(), 2U);
    const auto& liquid = spec.grids[0];
    EXPECT_EQ(liquid.name, "liquid");
    EXPECT_EQ(liquid.shape, (std::array<std::uint64_t, 3>{4, 5, 5}));
    EXPECT_EQ(liquid.spacing, 2.0);
    EXPECT_TRUE(liquid.random);
    EXPECT_EQ(liquid.where, "test.yaml:3:11");
    EXPECT_EQ(spec.grids[1].spacing, 1.0);  // defaults
    EXPECT_FALSE(spec.grids[1].random);
    EXPECT_EQ(spec.populations[0].grid, "liquid");
    EXPECT_EQ(spec.populations[1].grid, "liquid");
    EXPECT_TRUE(spec.populations[0].positions.empty());
    ASSERT_EQ(spec.populations[2].positions.size(), 3U);
    EXPECT_EQ(spec.populations[2].positions[1].y, 2.5);
    EXPECT_EQ(spec.populations[2].positions[1].z, -3.0);
    EXPECT_EQ(spec.populations[2].positions[2].x, 1e3);
    EXPECT_TRUE(spec.populations[3].grid.empty() && spec.populations[3].positions.empty());
    const auto& ee = spec.projections[0].connectivity;
    EXPECT_EQ(ee.type, rule::distance);
    EXPECT_EQ(ee.C, 0.2);
    EXPECT_EQ(ee.lambda, 3.0);
    const auto& in_e = spec.projections[1].connectivity;
    EXPECT_EQ(in_e.type, rule::fixed_total_number);
    EXPECT_EQ(in_e.density, 0.15);
    EXPECT_EQ(in_e.group, "input");
    EXPECT_EQ(in_e.n, 0U);
    EXPECT_EQ(spec.projections[3].connectivity.n, 7U);
    EXPECT_LT(spec.projections[3].connectivity.density, 0);
    EXPECT_TRUE(spec.projections[3].connectivity.group.empty());
    // The resolved config reads back to the same spec; overrides reach the new keys.
    const auto again = parse(spec.config_text);
    EXPECT_EQ(again.grids[0].shape, liquid.shape);
    EXPECT_EQ(again.projections[2].connectivity.group, "input");
    const auto changed = parse(spec.config_text, {"grids.liquid.order=lattice",
                                                  "projections.EE.lambda=2.5"});
    EXPECT_FALSE(changed.grids[0].random);
    EXPECT_EQ(changed.projections[0].connectivity.lambda, 2.5);
}

TEST(config_yaml_errors, grids_and_positions_are_checked) {
    auto grids = [](const std::string& liquid) {
        return "simulation: {duration: 100 ms}\ngrids:\n  liquid: " + liquid +
               "\npopulations:\n  E: {model: fake_lif, size: 8, positions: {grid: liquid}}\n";
    };
    EXPECT_EQ(error_of(grids("{shape: [2, 2, 2], spacng: 1}")),
              "test.yaml:3:30: unknown key 'spacng' in 'grids.liquid'; expected one of: shape, "
              "spacing, order");
    EXPECT_EQ(error_of(grids("{shape: [2, 2]}")),
              "test.yaml:3:19: grids.liquid.shape must be a list of three sizes [d1, d2, d3], "
              "got a list of 2");
    EXPECT_EQ(error_of(grids("{shape: [2, 0, 2]}")),
              "test.yaml:3:23: grids.liquid.shape[1] must be an integer in [1, 4294967295], got "
              "'0'");
    EXPECT_EQ(error_of(grids("{shape: [100000, 100000, 100000]}")),
              "test.yaml:3:19: grids.liquid.shape: 100000 x 100000 x 100000 = "
              "1000000000000000 points; a grid has at most 4294967295 (2^32 - 1)");
    EXPECT_EQ(error_of(grids("{shape: [2, 2, 2], spacing: 0}")),
              "test.yaml:3:39: grids.liquid.spacing must be > 0, got 0");
    EXPECT_EQ(error_of(grids("{shape: [2, 2, 2], spacing: 1 um}")),
              "test.yaml:3:39: grids.liquid.spacing must be a plain number, got '1 um'");
    EXPECT_EQ(error_of(grids("{shape: [2, 2, 2], order: shuffled}")),
              "test.yaml:3:37: grids.liquid.order: unknown order 'shuffled'; expected one of: "
              "lattice, random");
    // Too many neurons on a grid: the population that does not fit, and who took the points.
    EXPECT_EQ(error_of(spatial, {"populations.I.size=21"}),
              "test.yaml:7:52: populations.I.positions.grid: grid 'liquid' has 100 points; 80 "
              "are taken by the populations before 'I' (E), which needs 21 more");
    EXPECT_EQ(error_of(grids("{shape: [2, 2, 1]}")),
              "test.yaml:5:51: populations.E.positions.grid: grid 'liquid' has 4 points; 0 are "
              "taken by the populations before 'E' (none), which needs 8 more");
    const std::string head = "simulation: {duration: 100 ms}\npopulations:\n  E: {model: "
                             "fake_lif, size: 2, positions: ";  // the value on 3:44
    EXPECT_EQ(error_of(head + "{grid: liquid}}\n"),
              "test.yaml:3:51: populations.E.positions.grid: no grid 'liquid'; grids are: (none: "
              "define one under 'grids')");
    EXPECT_EQ(error_of(head + "{grd: liquid}}\n"),
              "test.yaml:3:45: unknown key 'grd' in 'populations.E.positions'; expected one of: "
              "grid");
    EXPECT_EQ(error_of(head + "[[0, 0, 0]]}\n"),
              "test.yaml:3:44: populations.E.positions has 1 entries; it needs one [x, y, z] per "
              "neuron of 'E' (2)");
    EXPECT_EQ(error_of(head + "[[0, 0, 0], [1, 2]]}\n"),
              "test.yaml:3:56: populations.E.positions[1] must be [x, y, z], got a list of 2");
    EXPECT_EQ(error_of(head + "[[0, 0, 0], [1, 2, .nan]]}\n"),
              "test.yaml:3:63: populations.E.positions[1][2] must be a finite number, got '.nan'");
    EXPECT_EQ(error_of(head + "[[0, 0, 0], [1, 2, 3 um]]}\n"),
              "test.yaml:3:63: populations.E.positions[1][2] must be a plain number, got '3 um'");
    EXPECT_EQ(error_of(head + "liquid}\n"),
              "test.yaml:3:44: populations.E.positions must be {grid: NAME} or a list of [x, y, "
              "z] (one per neuron), got 'liquid'");
}

TEST(config_yaml_errors, distance_rule_keys_are_checked) {
    const std::string head = spatial + "projections:\n  p: {";  // keys from 11:7
    EXPECT_EQ(error_of(head + "source: E, target: far, rule: distance, C: 0.1, lambda: 1, "
                              "weight: 1}\n"),
              "test.yaml:11:37: projections.p.rule: rule distance needs positions for the source "
              "and the target; population 'far' has none (give it positions: {grid: NAME} or a "
              "list of [x, y, z])");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 1.5, lambda: 1, "
                              "weight: 1}\n"),
              "test.yaml:11:48: projections.p.C must be in [0, 1], got 1.5");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, lambda: 0, "
                              "weight: 1}\n"),
              "test.yaml:11:61: projections.p.lambda must be > 0 (in the length unit of the "
              "positions), got 0");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, lambda: -2, "
                              "weight: 1}\n"),
              "test.yaml:11:61: projections.p.lambda must be > 0 (in the length unit of the "
              "positions), got -2");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, weight: 1}\n"),
              "test.yaml:11:6: missing required key 'lambda' in 'projections.p'");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, lambda: 1, p: 0.1, "
                              "weight: 1}\n"),
              "test.yaml:11:64: projections.p.p applies only to rule pairwise_bernoulli, not "
              "distance");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, lambda: 1, sigma: 1, "
                              "weight: 1}\n"),
              "test.yaml:11:64: unknown key 'sigma' in 'projections.p'; expected one of: source, "
              "target, rule, weight, delay, receptor, synapse, allow_autapses, allow_multapses, "
              "plasticity, modulator, tripartite, p, indegree, outdegree, N, density, group, "
              "connections, connections_file, C, lambda");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: pairwise_bernoulli, p: 0.1, "
                              "lambda: 1, weight: 1}\n"),
              "test.yaml:11:63: projections.p.lambda applies only to rule distance, not "
              "pairwise_bernoulli");
    EXPECT_EQ(error_of(head + "source: E, target: I, rule: distance, C: 0.1, lambda: 1, "
                              "weight: 1}\n",
                       {"projections.p.C=2"}),
              "--set projections.p.C=2: projections.p.C must be in [0, 1], got 2");
}

TEST(config_yaml_errors, total_number_density_and_groups_are_checked) {
    const std::string head = spatial + "projections:\n";  // projections from line 11
    auto proj = [](const std::string& name, const std::string& body) {
        return "  " + name + ": {source: in, rule: fixed_total_number, weight: 1, " + body +
               "}\n";
    };
    EXPECT_EQ(error_of(head + proj("inE", "target: E")),
              "test.yaml:11:8: projections.inE: rule fixed_total_number needs 'N' (the number of "
              "connections) or 'density' (the fraction of all pairs)");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, N: 3, density: 0.1")),
              "test.yaml:11:75: projections.inE: give either N or density, not both");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, density: 1.5")),
              "test.yaml:11:78: projections.inE.density must be in [0, 1], got 1.5");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, density: 1, group: [a]")),
              "test.yaml:11:88: projections.inE.group must be a group name, got a list");
    // Members of a group: one source, the same N or density, the same allow_multapses.
    EXPECT_EQ(error_of(head + proj("inE", "target: E, density: 0.1, group: g") +
                       "  EI: {source: E, target: I, rule: fixed_total_number, density: 0.1, "
                       "group: g, weight: 1}\n"),
              "test.yaml:12:77: projections.EI.group: the projections of group 'g' draw their "
              "pairs from one source; 'inE' has source 'in', 'EI' has 'E'");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, density: 0.1, group: g") +
                       proj("inI", "target: I, N: 10, group: g")),
              "test.yaml:12:83: projections.inI.group: the projections of group 'g' must give "
              "the same N or density (it counts the pairs of the whole group); 'inE' gives "
              "density 0.1, 'inI' N 10");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, N: 10, group: g") +
                       proj("inI", "target: I, N: 10, group: g, allow_multapses: false")),
              "test.yaml:12:83: projections.inI.group: the projections of group 'g' must agree "
              "on allow_multapses; 'inE' and 'inI' differ");
    // Distinct pairs: of one projection, and of a whole group (3 x (80 + 20) = 300).
    EXPECT_EQ(error_of(head + proj("inI", "target: I, N: 61, allow_multapses: false")),
              "test.yaml:11:72: projections.inI.N = 61 is more than the 60 distinct pairs "
              "available without multapses (set allow_multapses: true, or lower it)");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, N: 301, group: g, allow_multapses: false") +
                       proj("inI", "target: I, N: 301, group: g, allow_multapses: false")),
              "test.yaml:11:84: projections.inE.group: group 'g' (inE, inI) asks for 301 "
              "connections, more than the 300 distinct pairs available without multapses");
    EXPECT_EQ(error_of(head + proj("inE", "target: E, N: 300, group: g, allow_multapses: false") +
                       proj("inI", "target: I, N: 300, group: g, allow_multapses: false")),
              "(no error)");
}
