// The determinism contract (DESIGN §3): for a given config and seed, spikes and sampled state
// are bit-identical for any thread count and any partition count.

#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;
using rule = connectivity_spec::rule;

namespace {

void add_vm_report(experiment_spec& e, const std::string& pop, std::vector<neuron_id> neurons) {
    report_spec r;
    r.name = pop + ".V_m";
    r.population = pop;
    r.variable = "V_m";
    r.neurons = std::move(neurons);
    r.interval = 1.0;
    e.record.reports.push_back(r);
}

// Brunel's model A scaled down to 1000 neurons (J scaled up to keep the drive), with
// heterogeneous delays on the E->E projection so rows hold several delay segments.
experiment_spec mini_brunel() {
    auto e = test::experiment(0.1, 200.0, 11);
    const std::map<std::string, double> lif = {{"E_L", 0},   {"V_th", 20},   {"V_reset", 10},
                                               {"t_ref", 2}, {"tau_m", 20},  {"C_m", 1}};
    e.populations.push_back(test::population("exc", "iaf_psc_delta", 800, lif));
    e.populations.push_back(test::population("inh", "iaf_psc_delta", 200, lif));
    auto ee = test::projection("ee", "exc", "exc", rule::fixed_indegree, test::c(0.8),
                               test::uniform(1.0, 3.0));
    ee.connectivity.n = 80;
    auto ei = test::projection("ei", "exc", "inh", rule::fixed_indegree, test::c(0.8), test::c(1.5));
    ei.connectivity.n = 80;
    auto ie = test::projection("ie", "inh", "exc", rule::fixed_indegree, test::c(-4.0), test::c(1.5));
    ie.connectivity.n = 20;
    auto ii = test::projection("ii", "inh", "inh", rule::fixed_indegree, test::c(-4.0), test::c(1.5));
    ii.connectivity.n = 20;
    e.projections = {ee, ei, ie, ii};
    for (const char* target: {"exc", "inh"}) {
        input_spec in;
        in.name = std::string("ext_") + target;
        in.type = input_spec::kind::poisson_generator;
        in.target = target;
        in.rate = 2000;
        in.weight = 0.8;
        e.inputs.push_back(in);
    }
    test::record_all_spikes(e);
    add_vm_report(e, "exc", {0, 1, 399, 400, 799});
    return e;
}

// A CUBA-like network (Brette et al. 2007 benchmark 2) at 1/10 scale.
experiment_spec mini_cuba() {
    auto e = test::experiment(0.1, 200.0, 5);
    const std::map<std::string, double> lif = {
        {"E_L", -49},   {"V_th", -50},        {"V_reset", -60},     {"t_ref", 5},
        {"tau_m", 20},  {"C_m", 200},         {"tau_syn_ex", 5},    {"tau_syn_in", 10}};
    e.populations.push_back(test::population("exc", "iaf_psc_exp", 320, lif));
    e.populations.push_back(test::population("inh", "iaf_psc_exp", 80, lif));
    for (auto& p: e.populations) {
        p.initial["V_m"] = test::uniform(-60, -50);
    }
    for (const char* s: {"exc", "inh"}) {
        for (const char* t: {"exc", "inh"}) {
            auto p = test::projection(std::string(s) + t, s, t, rule::pairwise_bernoulli,
                                      test::c(std::string(s) == "exc" ? 162.0 : -900.0),
                                      test::c(0.1));
            p.connectivity.p = 0.02;
            e.projections.push_back(p);
        }
    }
    test::record_all_spikes(e);
    add_vm_report(e, "exc", {3, 100, 319});
    return e;
}

// Izhikevich (2003) at 1/5 scale: dense random weights, thalamic noise, dt = 1 ms.
experiment_spec mini_izhikevich() {
    auto e = test::experiment(1.0, 300.0, 3);
    auto exc = test::population("exc", "izhikevich", 160);
    exc.params["heterogeneity"] = test::c(1);  // excitatory_2003
    auto inh = test::population("inh", "izhikevich", 40, {{"a", 0.02}, {"b", 0.25}, {"d", 2}});
    inh.params["heterogeneity"] = test::c(2);  // inhibitory_2003
    exc.initial["V_m"] = test::c(-65);
    inh.initial["V_m"] = test::c(-65);
    e.populations = {exc, inh};
    e.projections.push_back(test::projection("e", "exc", "exc", rule::all_to_all,
                                             test::uniform(0, 2.5), test::c(1.0)));
    e.projections.push_back(test::projection("ei", "exc", "inh", rule::all_to_all,
                                             test::uniform(0, 2.5), test::c(1.0)));
    e.projections.push_back(test::projection("ie", "inh", "exc", rule::all_to_all,
                                             test::uniform(-5, 0), test::c(1.0)));
    e.projections.push_back(test::projection("ii", "inh", "inh", rule::all_to_all,
                                             test::uniform(-5, 0), test::c(1.0)));
    for (auto [target, sd]: {std::pair{"exc", 5.0}, std::pair{"inh", 2.0}}) {
        input_spec in;
        in.name = std::string("thalamic_") + target;
        in.type = input_spec::kind::noise_generator;
        in.target = target;
        in.std = sd;
        e.inputs.push_back(in);
    }
    test::record_all_spikes(e);
    add_vm_report(e, "inh", {0, 39});
    return e;
}

void expect_identical_for_any_threads_and_partitions(const experiment_spec& e) {
    const auto reference = test::run(e, 1, 1);
    ASSERT_GT(reference.out.recorded_spikes.size(), 50u) << "the network must be active";
    for (int threads: {1, 2, 4}) {
        for (int partitions: {1, 3, 8}) {
            const auto r = test::run(e, threads, partitions);
            EXPECT_EQ(r.out.recorded_spikes, reference.out.recorded_spikes)
                << threads << " threads, " << partitions << " partitions";
            EXPECT_EQ(r.out.report_data, reference.out.report_data)
                << threads << " threads, " << partitions << " partitions";
            EXPECT_EQ(r.summary.synaptic_events, reference.summary.synaptic_events);
        }
    }
}

}  // namespace

TEST(reproducibility, same_config_and_seed_give_identical_spikes) {
    const auto e = mini_brunel();
    const auto a = test::run(e);
    const auto b = test::run(e);
    ASSERT_FALSE(a.out.recorded_spikes.empty());
    EXPECT_EQ(a.out.recorded_spikes, b.out.recorded_spikes);
    auto other = e;
    other.simulation.seed = 12;
    EXPECT_NE(test::run(other).out.recorded_spikes, a.out.recorded_spikes);
}

TEST(reproducibility, brunel_is_identical_for_any_threads_and_partitions) {
    expect_identical_for_any_threads_and_partitions(mini_brunel());
}

TEST(reproducibility, cuba_is_identical_for_any_threads_and_partitions) {
    expect_identical_for_any_threads_and_partitions(mini_cuba());
}

TEST(reproducibility, izhikevich_is_identical_for_any_threads_and_partitions) {
    expect_identical_for_any_threads_and_partitions(mini_izhikevich());
}
