// simulation::save_state / load_state in process (src/core/checkpoint.cpp): a run stopped at
// an epoch boundary, saved, loaded into a new simulation (other thread and partition counts)
// and run to the end gives, concatenated, exactly the output of the uninterrupted run: spikes,
// report frames (bit for bit) and weight snapshots, for every model and device glia has.

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <oneapi/tbb/task_arena.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>

#include "core/partition.hpp"
#include "io/config_yaml.hpp"
#include "network/builder.hpp"
#include "spec_harness.hpp"

namespace fs = std::filesystem;
using testing::HasSubstr;

namespace {

// Everything a run hands its sink, concatenated over the parts of an interrupted run.
struct outputs {
    std::vector<glia::spike_event> spikes;
    std::vector<std::vector<float>> reports;                // per report, frame-major
    std::vector<std::vector<std::vector<double>>> weights;  // recorder, snapshot, synapse
    std::vector<std::uint64_t> spike_counts;
    std::uint64_t synaptic_events = 0;
    std::vector<double> final_state;  // every variable of every neuron after the run, exact
};

std::vector<double> final_state(const glia::simulation& sim, const glia::experiment_spec& spec) {
    std::vector<double> out;
    glia::neuron_id gid = 0;
    for (const auto& p: spec.populations) {
        const auto* model = glia::test::builtin_models().find(p.model);
        for (std::size_t k = 0; k < p.size; ++k, ++gid) {
            for (const auto& v: model->info.variables) {
                out.push_back(sim.value(gid, v.name));
            }
        }
    }
    return out;
}

glia::experiment_spec load_yaml(const std::string& text) {
    const fs::path p = fs::temp_directory_path() /
                       ("glia_ckpt_unit_" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(p) << text;
    auto spec = glia::io::load_experiment(p.string(), {}, glia::test::builtin_models());
    fs::remove(p);
    return spec;
}

outputs whole(const glia::experiment_spec& spec, int threads, int partitions) {
    glia::simulation sim(spec, glia::test::builtin_models(),
                         glia::test::quiet_context(threads, partitions));
    glia::memory_sink m;
    const auto s = sim.run(m);
    return outputs{m.recorded_spikes, m.report_data,   m.weight_snapshots,
                   s.spike_counts,    s.synaptic_events, final_state(sim, spec)};
}

// Stops the run at the end of the first epoch that ends at or after `stop_step`, saves,
// restores into a simulation with other thread and partition counts, runs to the end.
outputs interrupted(const glia::experiment_spec& spec, glia::step_t stop_step, int threads1,
                    int partitions1, int threads2, int partitions2,
                    glia::step_t* stopped_at = nullptr) {
    std::stringstream buffer;
    outputs o;
    {
        glia::simulation sim(spec, glia::test::builtin_models(),
                             glia::test::quiet_context(threads1, partitions1));
        std::atomic<bool> stop{false};
        glia::run_control control;
        control.stop = &stop;
        control.progress_interval = 0;  // every epoch
        control.on_progress = [&](const glia::progress_info& p) {
            if (p.step >= stop_step) {
                stop = true;
            }
        };
        glia::memory_sink m;
        const auto s = sim.run(m, control);
        EXPECT_EQ(s.status, glia::run_status::interrupted);
        if (stopped_at != nullptr) {
            *stopped_at = s.steps_done;
        }
        sim.save_state(buffer);
        o.spikes = m.recorded_spikes;
        o.reports = m.report_data;
        for (std::size_t r = 0; r < o.reports.size(); ++r) {
            const std::size_t width = m.layout.reports[r].node_ids.size();
            o.reports[r].resize(m.report_frames[r] * width);
        }
        o.weights = m.weight_snapshots;
    }
    glia::simulation sim(spec, glia::test::builtin_models(),
                         glia::test::quiet_context(threads2, partitions2));
    sim.load_state(buffer);
    glia::memory_sink m;
    const auto s = sim.run(m);
    EXPECT_EQ(s.status, glia::run_status::completed);
    o.spikes.insert(o.spikes.end(), m.recorded_spikes.begin(), m.recorded_spikes.end());
    for (std::size_t r = 0; r < o.reports.size(); ++r) {
        const std::size_t done = o.reports[r].size();
        o.reports[r].insert(o.reports[r].end(),
                            m.report_data[r].begin() + static_cast<std::ptrdiff_t>(done),
                            m.report_data[r].end());
    }
    for (std::size_t w = 0; w < o.weights.size(); ++w) {
        o.weights[w].insert(o.weights[w].end(), m.weight_snapshots[w].begin(),
                            m.weight_snapshots[w].end());
    }
    o.spike_counts = s.spike_counts;
    o.synaptic_events = s.synaptic_events;
    o.final_state = final_state(sim, spec);
    return o;
}

void expect_identical(const outputs& a, const outputs& b) {
    ASSERT_FALSE(a.spikes.empty());
    EXPECT_EQ(a.spikes.size(), b.spikes.size());
    EXPECT_TRUE(a.spikes == b.spikes) << "spikes differ";
    ASSERT_EQ(a.reports.size(), b.reports.size());
    for (std::size_t r = 0; r < a.reports.size(); ++r) {
        ASSERT_EQ(a.reports[r].size(), b.reports[r].size()) << "report " << r;
        EXPECT_EQ(std::memcmp(a.reports[r].data(), b.reports[r].data(),
                              a.reports[r].size() * sizeof(float)),
                  0)
            << "report " << r << " differs";
    }
    ASSERT_EQ(a.weights.size(), b.weights.size());
    for (std::size_t w = 0; w < a.weights.size(); ++w) {
        ASSERT_EQ(a.weights[w].size(), b.weights[w].size()) << "weight recorder " << w;
        for (std::size_t k = 0; k < a.weights[w].size(); ++k) {
            EXPECT_TRUE(a.weights[w][k] == b.weights[w][k])
                << "weight recorder " << w << ", snapshot " << k << " differs";
        }
    }
    EXPECT_EQ(a.spike_counts, b.spike_counts);
    EXPECT_EQ(a.synaptic_events, b.synaptic_events);
    ASSERT_EQ(a.final_state.size(), b.final_state.size());
    EXPECT_EQ(std::memcmp(a.final_state.data(), b.final_state.data(),
                          a.final_state.size() * sizeof(double)),
              0)
        << "the final state differs";
}

struct net_case {
    const char* name;
    const char* yaml;
};

// Small networks that together use every model, rule, device and engine path: clock-driven
// and lazy updates, several delays per row, plastic and static segments in one bucket,
// dc/step/noise currents (heap), homeostasis, modulators, astrocytes with sic coupling.
const net_case cases[] = {
    {"brunel_delta_poisson", R"(
simulation: {dt: 0.1 ms, duration: 150 ms, seed: 3}
populations:
  exc: {model: iaf_psc_delta, size: 400, params: &lif {E_L: 0 mV, V_th: 20 mV, V_reset: 10 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 1 pF}, initial: {V_m: {uniform: {low: 0 mV, high: 20 mV}}}}
  inh: {model: iaf_psc_delta, size: 100, params: *lif}
projections:
  ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 40, weight: 0.8 mV, delay: {uniform: {low: 1 ms, high: 3 ms}}}
  ei: {source: exc, target: inh, rule: fixed_indegree, indegree: 40, weight: 0.8 mV, delay: 1.5 ms}
  ie: {source: inh, target: exc, rule: fixed_indegree, indegree: 10, weight: -4 mV, delay: 1.5 ms}
  ii: {source: inh, target: inh, rule: fixed_indegree, indegree: 10, weight: -4 mV, delay: 1.5 ms}
inputs:
  ext_e: {type: poisson_generator, target: exc, rate: 2 kHz, weight: 0.8 mV}
  ext_i: {type: poisson_generator, target: inh, rate: 2 kHz, weight: 0.8 mV}
record:
  spikes: all
  reports: {vm: {population: exc, variable: V_m, neurons: {first: 7}, interval: 0.5 ms}}
)"},
    {"lazy_delta_sources", R"(
simulation: {dt: 0.1 ms, duration: 150 ms, seed: 5}
populations:
  input: {model: poisson_source, size: 60, params: {rate: 40 Hz}}
  times: {model: spike_source_array, size: 3, spike_times: [[5 ms, 70 ms, 71 ms], [33.3 ms], [100 ms]]}
  exc: {model: iaf_psc_delta, size: 300, update: lazy, params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}, initial: {V_m: {uniform: {low: -65 mV, high: -52 mV}}}}
projections:
  in_e: {source: input, target: exc, rule: fixed_outdegree, outdegree: 40, weight: 5 mV, delay: 1 ms}
  t_e: {source: times, target: exc, rule: all_to_all, weight: 3 mV, delay: 2 ms}
  ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 10, weight: 2 mV, delay: {uniform: {low: 0.5 ms, high: 4 ms}}}
record:
  spikes: all
  reports: {vm: {population: exc, variable: V_m, interval: 2 ms}}
)"},
    {"lazy_delta_unobserved", R"(
simulation: {dt: 0.1 ms, duration: 150 ms, seed: 5}
populations:
  input: {model: poisson_source, size: 60, params: {rate: 10 Hz}}
  times: {model: spike_source_array, size: 3, spike_times: [[5 ms, 70 ms, 71 ms], [33.3 ms], [100 ms]]}
  exc: {model: iaf_psc_delta, size: 300, update: lazy, params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}, initial: {V_m: {uniform: {low: -65 mV, high: -52 mV}}}}
projections:
  in_e: {source: input, target: exc, rule: fixed_outdegree, outdegree: 20, weight: 5 mV, delay: 1 ms}
  t_e: {source: times, target: exc, rule: all_to_all, weight: 3 mV, delay: 2 ms}
  ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 10, weight: 2 mV, delay: {uniform: {low: 0.5 ms, high: 4 ms}}}
record:
  spikes: all
)"},
    {"psc_exp_currents_homeostasis", R"(
simulation: {dt: 0.1 ms, duration: 150 ms, seed: 9}
populations:
  exc:
    model: iaf_psc_exp
    size: 200
    params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}
    initial: {V_m: {uniform: {low: -65 mV, high: -50 mV}}}
    homeostasis: {target_rate: {uniform: {low: 5 Hz, high: 20 Hz}}, tau: 100 ms, interval: 5 ms, eta: 0.2}
  inh: {model: iaf_psc_exp, size: 50}
projections:
  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 30 pA, delay: 1.5 ms}
  ie: {source: inh, target: exc, rule: fixed_indegree, indegree: 5, weight: -40 pA, delay: {uniform: {low: 0.5 ms, high: 2 ms}}}
  ei: {source: exc, target: inh, rule: fixed_indegree, indegree: 10, weight: 50 pA, delay: 1 ms}
inputs:
  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}
  bias: {type: dc_generator, target: inh, amplitude: 300 pA, start: 20 ms, stop: 120 ms}
  steps: {type: step_current_generator, target: inh, times: [10 ms, 50.5 ms, 90 ms], amplitudes: [100 pA, 250 pA, 50 pA]}
  noise: {type: noise_generator, target: inh, mean: 10 pA, std: 80 pA}
record:
  spikes: all
  reports:
    vm: {population: exc, variable: V_m, neurons: {first: 3}, interval: 1 ms}
    isyn: {population: inh, variables: [I_syn_ex, V_m], neurons: [0, 7, 49]}
)"},
    {"izhikevich_polychronization", R"(
simulation: {dt: 1 ms, duration: 2500 ms, seed: 1}
populations:
  exc: {model: izhikevich, size: 160, params: {a: 0.02, b: 0.2, c: -65 mV, d: 8}, initial: {V_m: -65 mV}}
  inh: {model: izhikevich, size: 40, params: {a: 0.1, b: 0.2, c: -65 mV, d: 2}, initial: {V_m: -65 mV}}
projections:
  exc_exc: {source: exc, target: exc, rule: fixed_outdegree, outdegree: 16, allow_autapses: false, weight: 6, delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}, synapse: izhikevich2006, plasticity: {update_interval: 500 ms}}
  exc_inh: {source: exc, target: inh, rule: fixed_outdegree, outdegree: 4, weight: 6, delay: {uniform: {low: 0.5 ms, high: 20.5 ms}}, synapse: izhikevich2006, plasticity: {update_interval: 500 ms}}
  inh_exc: {source: inh, target: exc, rule: fixed_outdegree, outdegree: 20, weight: -5, delay: 1 ms}
inputs:
  thalamic_exc: {type: poisson_generator, target: exc, rate: 5 Hz, weight: 20}
  thalamic_inh: {type: poisson_generator, target: inh, rate: 5 Hz, weight: 20}
record:
  spikes: all
  weights: {exc_exc: {interval: 300 ms}, exc_inh: {interval: 700 ms}}
)"},
    {"stdp_pair_and_dopamine", R"(
simulation: {dt: 0.1 ms, duration: 300 ms, seed: 21}
populations:
  exc: {model: iaf_psc_exp, size: 150, params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}, initial: {V_m: {uniform: {low: -65 mV, high: -50 mV}}}}
  da: {model: iaf_psc_exp, size: 20, params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms, C_m: 250 pF}}
modulators:
  dopamine: {population: da, delay: 1 ms}
  reward: {times: [50 ms, 120 ms, 121 ms], amounts: [1, 2, 0.5], delay: 0.5 ms}
projections:
  ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 15, weight: 40 pA, delay: {uniform: {low: 0.5 ms, high: 5 ms}}, synapse: stdp, plasticity: {Wmax: 100 pA, lambda: 0.05, dendritic_delay_fraction: 0.5}}
  ee_nn: {source: exc, target: exc, rule: fixed_indegree, indegree: 5, weight: 30 pA, delay: 2 ms, synapse: stdp, plasticity: {Wmax: 100 pA, pairing: nearest}}
  ee_da: {source: exc, target: exc, rule: fixed_indegree, indegree: 5, weight: 20 pA, delay: {uniform: {low: 1 ms, high: 3 ms}}, synapse: stdp_dopamine, modulator: dopamine, plasticity: {A_plus: 1, A_minus: 1.5, tau_c: 100 ms, tau_n: 20 ms, Wmax: 200}}
  ee_rw: {source: exc, target: exc, rule: fixed_indegree, indegree: 3, weight: 20 pA, delay: 1 ms, synapse: stdp_dopamine, modulator: reward, plasticity: {A_plus: 1, A_minus: 1.5, tau_c: 100 ms, tau_n: 20 ms, Wmax: 200}}
  static_ee: {source: exc, target: exc, rule: fixed_indegree, indegree: 5, weight: 10 pA, delay: 2 ms}
inputs:
  drive: {type: poisson_generator, target: exc, rate: 9 kHz, weight: 40 pA}
  da_drive: {type: poisson_generator, target: da, rate: 7 kHz, weight: 40 pA}
record:
  spikes: all
  weights: {ee: {interval: 20 ms}, ee_nn: {interval: 50 ms}, ee_da: {interval: 30 ms}, ee_rw: {interval: 100 ms}}
)"},
    {"nalsm_astrocyte_astro_stdp", R"(
simulation: {dt: 1 ms, duration: 400 ms, seed: 5}
populations:
  E: {model: iaf_psc_delta, size: 80}
  I: {model: iaf_psc_delta, size: 20}
  input: {model: poisson_source, size: 20, params: {rate: 20 Hz}}
modulators:
  astro: {type: nalsm_astrocyte, excite: [E, I], inhibit: input, w: 0.05, rho: 0.7, decay: 0.9995}
projections:
  EE: {source: E, target: E, rule: pairwise_bernoulli, p: 0.1, weight: 1 mV, delay: {uniform: {low: 1 ms, high: 3 ms}}, synapse: astro_stdp, modulator: astro, plasticity: {role: excitatory, eta: 0.3, w_max: 3 mV, eta_decay: 0.999}}
  IE: {source: I, target: E, rule: pairwise_bernoulli, p: 0.2, weight: -2 mV, delay: 1 ms, synapse: astro_stdp, modulator: astro, plasticity: {role: inhibitory, w_max: 3 mV}}
  inE: {source: input, target: E, rule: pairwise_bernoulli, p: 0.2, weight: 2 mV, delay: 2 ms, synapse: astro_stdp, modulator: astro, plasticity: {role: input, w_max: 3 mV}}
inputs:
  noise_E: {type: poisson_generator, target: E, rate: 7000 Hz, weight: 0.2 mV}
  noise_I: {type: poisson_generator, target: I, rate: 7000 Hz, weight: 0.2 mV}
record:
  spikes: all
  weights: {EE: {interval: 20 ms}, IE: {interval: 50 ms}, inE: {interval: 30 ms}}
)"},
    {"astrocytes_sic", R"(
simulation: {dt: 0.1 ms, duration: 200 ms, seed: 100}
populations:
  exc: {model: iaf_cond_exp, size: 160, params: &neuron {C_m: 281 pF, g_L: 30 nS, E_L: -70.6 mV, E_ex: 0 mV, E_in: -85 mV, V_th: -50.4 mV, V_reset: -60 mV, t_ref: 1 ms, tau_syn_ex: 2 ms, tau_syn_in: 4 ms}, initial: {V_m: {uniform: {low: -70 mV, high: -51 mV}}}}
  inh: {model: iaf_cond_exp, size: 40, params: *neuron}
  astro: {model: astrocyte_lr_1994, size: 100, initial: {IP3: 0.4 uM, Ca_astro: {uniform: {low: 0.05 uM, high: 0.3 uM}}}}
projections:
  exc_exc: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: 3 nS, delay: 2 ms, tripartite: &pair {astrocytes: astro, p: 0.5, pool_type: random, pool_size: 10, third_in: {weight: 1, delay: 2 ms}, third_out: {weight: 5, delay: 1 ms}}}
  exc_inh: {source: exc, target: inh, rule: pairwise_bernoulli, p: 0.1, weight: 3 nS, delay: 2 ms, tripartite: *pair}
  inh_exc: {source: inh, target: exc, rule: pairwise_bernoulli, p: 0.1, weight: -6 nS, delay: 1 ms}
inputs:
  noise_exc: {type: poisson_generator, target: exc, rate: 3000 Hz, weight: 2 nS}
  noise_inh: {type: poisson_generator, target: inh, rate: 3000 Hz, weight: 2 nS}
record:
  spikes: all
  reports:
    astro: {population: astro, variables: [IP3, Ca_astro, SIC], neurons: {first: 20}, interval: 0.5 ms}
    g: {population: exc, variables: [V_m, g_ex], neurons: {first: 4}}
)"},
};

class checkpoint_engine: public testing::TestWithParam<net_case> {};

TEST_P(checkpoint_engine, resumed_run_equals_uninterrupted_for_any_split) {
    const auto spec = load_yaml(GetParam().yaml);
    const auto reference = whole(spec, 1, 1);
    ASSERT_GT(reference.spikes.size(), 50u) << "the network must be active";
    const glia::step_t n = static_cast<glia::step_t>(spec.simulation.duration /
                                                     spec.simulation.dt);
    // Early (queues still filling), in the middle, and near the end; written with one
    // partitioning and read with another.
    const struct {
        double at;
        int t1, p1, t2, p2;
    } splits[] = {{0.05, 1, 1, 2, 3}, {0.37, 2, 3, 1, 1}, {0.61, 2, 2, 2, 5}, {0.93, 1, 4, 2, 2}};
    for (const auto& s: splits) {
        SCOPED_TRACE(testing::Message() << "stop near step " << s.at * static_cast<double>(n)
                                        << ", " << s.p1 << " -> " << s.p2 << " partitions");
        glia::step_t stopped = 0;
        const auto resumed = interrupted(spec, static_cast<glia::step_t>(s.at * static_cast<double>(n)),
                                         s.t1, s.p1, s.t2, s.p2, &stopped);
        EXPECT_GT(stopped, 0);
        EXPECT_LT(stopped, n);
        expect_identical(reference, resumed);
    }
}

INSTANTIATE_TEST_SUITE_P(networks, checkpoint_engine, testing::ValuesIn(cases),
                         [](const testing::TestParamInfo<net_case>& p) {
                             return std::string(p.param.name);
                         });

// Stops that land exactly on scheduled work: a weight snapshot due at the stop step (taken by
// the resumed run, not the stopped one), a periodic plasticity update (500 ms) at the stop step,
// both together, and the step after an update. Epochs are one step long in this network, so a
// stop requested in the progress report of step S - 1 ends the run at S exactly.
TEST(checkpoint_engine_edges, stops_on_snapshot_and_update_steps_resume_exactly) {
    const auto it = std::find_if(std::begin(cases), std::end(cases), [](const net_case& c) {
        return std::string(c.name) == "izhikevich_polychronization";
    });
    ASSERT_NE(it, std::end(cases));
    const auto spec = load_yaml(it->yaml);
    const auto reference = whole(spec, 1, 1);
    ASSERT_EQ(reference.weights.at(0).size(), 9u);  // exc_exc every 300 ms: 0 ... 2400 ms
    // 900: exc_exc snapshot; 1000: update; 1500: snapshot and update; 2100: both snapshots;
    // 1001: the step after an update.
    for (const glia::step_t at: {900, 1000, 1500, 2100, 1001}) {
        SCOPED_TRACE(testing::Message() << "stop at step " << at);
        glia::step_t stopped = 0;
        const auto resumed = interrupted(spec, at - 1, 2, 3, 1, 2, &stopped);
        ASSERT_EQ(stopped, at);
        expect_identical(reference, resumed);
    }
}

// A bucket holds entries of spikes routed in several epochs, static and plastic ones; the
// order of the sum into an input slot is the order of routing: epoch by epoch, static
// segments before plastic ones within an epoch. The spikes in flight recovered from the
// queues and routed again epoch by epoch (what load_state does) must refill every bucket in
// that order, into partitions cut differently; routed all at once they would not. (End to
// end, the last-bit differences such an order makes in a sum are nearly always absorbed by
// larger state, so this is checked on the queues themselves.)
TEST(checkpoint_queues, spikes_in_flight_refill_every_bucket_in_routing_order) {
    const auto spec = load_yaml(R"(
simulation: {dt: 0.1 ms, duration: 10 ms, seed: 8}
populations:
  exc: {model: iaf_psc_exp, size: 60}
projections:
  fixed: {source: exc, target: exc, rule: fixed_indegree, indegree: 30, weight: 5 pA, delay: {uniform: {low: 0.1 ms, high: 0.6 ms}}}
  plastic: {source: exc, target: exc, rule: fixed_indegree, indegree: 30, weight: 5 pA, delay: {uniform: {low: 0.1 ms, high: 0.6 ms}}, synapse: stdp}
)");
    oneapi::tbb::task_arena arena(1);
    auto build = [&](int partitions) {
        auto net = glia::build_network(spec, glia::test::builtin_models(), partitions, arena);
        for (auto& p: net.partitions) {
            p->queue = glia::calendar_queue(64);  // no ring aliasing in this test
            p->finish_setup(0);
        }
        return net;
    };
    // Three epochs of two steps, with spikes of every neuron in some steps; then the steps
    // before `now` are delivered (their buckets emptied).
    const glia::step_t now = 16;
    const std::vector<std::vector<glia::spike_event>> epochs = {
        {{10, 3}, {10, 17}, {11, 3}, {11, 40}},
        {{12, 5}, {12, 6}, {12, 59}, {13, 0}},
        {{14, 1}, {14, 17}, {14, 33}, {15, 2}, {15, 58}}};
    auto original = build(1);
    auto& source = *original.partitions[0];
    for (const auto& e: epochs) {
        source.route(e);
    }
    for (glia::step_t t = 10; t < now; ++t) {
        source.queue.bucket(t).clear();
    }
    std::vector<glia::spike_event> flying;
    source.queued_spikes(now, flying);
    std::sort(flying.begin(), flying.end(), [](const auto& a, const auto& b) {
        return a.step != b.step ? a.step < b.step : a.gid < b.gid;
    });
    flying.erase(std::unique(flying.begin(), flying.end()), flying.end());
    ASSERT_GT(flying.size(), 5u);

    // The same queue rebuilt from the spikes in flight: by epoch, or all at once.
    auto rebuild = [&](bool by_epoch) {
        auto net = build(1);
        auto& p = *net.partitions[0];
        for (glia::step_t first: {glia::step_t{10}, glia::step_t{12}, glia::step_t{14}}) {
            std::vector<glia::spike_event> batch;
            for (const auto& s: flying) {
                if (!by_epoch || (s.step >= first && s.step < first + 2)) {
                    batch.push_back(s);
                }
            }
            p.route_pending(batch, now);
            if (!by_epoch) {
                break;
            }
        }
        std::vector<std::vector<std::uint32_t>> buckets;
        for (glia::step_t t = now; t < now + static_cast<glia::step_t>(p.queue.n_buckets()); ++t) {
            buckets.push_back(p.queue.bucket(t));
        }
        return buckets;
    };
    std::vector<std::vector<std::uint32_t>> expected;
    for (glia::step_t t = now; t < now + static_cast<glia::step_t>(source.queue.n_buckets()); ++t) {
        expected.push_back(source.queue.bucket(t));
    }
    EXPECT_EQ(rebuild(true), expected);
    EXPECT_NE(rebuild(false), expected) << "the case must need the epochs";

    // Cut into 3 partitions: each queue holds the same spikes' deliveries onto its neurons.
    auto split = build(3);
    for (const auto& e: epochs) {
        for (auto& p: split.partitions) {
            p->route(e);
        }
    }
    std::vector<glia::spike_event> flying3;
    for (auto& p: split.partitions) {
        for (glia::step_t t = 10; t < now; ++t) {
            p->queue.bucket(t).clear();
        }
        p->queued_spikes(now, flying3);
    }
    std::sort(flying3.begin(), flying3.end(), [](const auto& a, const auto& b) {
        return a.step != b.step ? a.step < b.step : a.gid < b.gid;
    });
    flying3.erase(std::unique(flying3.begin(), flying3.end()), flying3.end());
    EXPECT_TRUE(flying3 == flying) << "the spikes in flight do not depend on the partitioning";
}

TEST(checkpoint_engine_errors, another_network_is_refused_with_what_differs) {
    const auto spec = load_yaml(cases[0].yaml);
    std::stringstream buffer;
    {
        glia::simulation sim(spec, glia::test::builtin_models(), glia::test::quiet_context());
        sim.save_state(buffer);
    }
    auto other = spec;
    other.populations[1].size = 101;
    glia::simulation sim(other, glia::test::builtin_models(), glia::test::quiet_context());
    EXPECT_THAT([&] { sim.load_state(buffer); },
                testing::ThrowsMessage<glia::error>(HasSubstr(
                    "the checkpoint is of another network: the size is 500 neurons")));
}

TEST(checkpoint_engine_errors, truncated_state_is_a_clear_error) {
    const auto spec = load_yaml(cases[3].yaml);
    std::stringstream buffer;
    {
        glia::simulation sim(spec, glia::test::builtin_models(), glia::test::quiet_context());
        sim.save_state(buffer);
    }
    std::string text = buffer.str();
    text.resize(text.size() / 2);
    std::stringstream cut(text);
    glia::simulation sim(spec, glia::test::builtin_models(), glia::test::quiet_context());
    EXPECT_THAT([&] { sim.load_state(cut); },
                testing::ThrowsMessage<glia::error>(HasSubstr("the data end inside section")));
}

TEST(checkpoint_engine_errors, state_read_after_the_stop_cannot_be_saved) {
    const auto spec = load_yaml(cases[1].yaml);  // lazy blocks: value() catches them up
    glia::simulation sim(spec, glia::test::builtin_models(), glia::test::quiet_context());
    std::atomic<bool> stop{true};
    glia::run_control control;
    control.stop = &stop;
    glia::memory_sink m;
    ASSERT_EQ(sim.run(m, control).status, glia::run_status::interrupted);
    (void)sim.value(100, "V_m");
    std::stringstream buffer;
    EXPECT_THROW(sim.save_state(buffer), glia::internal_error);
}

}  // namespace
