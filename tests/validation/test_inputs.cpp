// Devices: Poisson generator statistics, dc and step currents switching at exact steps,
// Gaussian noise variance, Poisson sources.

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "spec_harness.hpp"

using namespace glia;

namespace {

// A neuron that only counts its input: no leak to speak of, no threshold.
std::map<std::string, double> integrator() {
    return {{"E_L", 0}, {"V_th", 1e12}, {"V_reset", 0}, {"t_ref", 0}, {"tau_m", 1e15},
            {"C_m", 1}};
}

input_spec device(input_spec::kind k, const std::string& target) {
    input_spec in;
    in.name = "d";
    in.type = k;
    in.target = target;
    return in;
}

report_spec vm_every_step(const std::string& pop) {
    report_spec r;
    r.name = "vm";
    r.population = pop;
    r.variable = "V_m";
    return r;
}

}  // namespace

TEST(inputs, poisson_generator_counts_are_poisson_and_independent) {
    const int n = 400;
    const double rate = 5000, dt = 0.1, T = 100;  // lambda = 0.5 per step, 1000 steps
    auto e = test::experiment(dt, T, 21);
    e.populations.push_back(test::population("a", "iaf_psc_delta", n, integrator()));
    auto in = device(input_spec::kind::poisson_generator, "a");
    in.rate = rate;
    in.weight = 1.0;
    e.inputs.push_back(in);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    std::vector<double> counts(n);
    for (int i = 0; i < n; ++i) {
        counts[i] = std::round(sim.value(static_cast<neuron_id>(i), "V_m"));
    }
    const double expected = rate * T * 1e-3;  // 500 per neuron
    const double mean = std::accumulate(counts.begin(), counts.end(), 0.0) / n;
    double var = 0;
    for (double c: counts) {
        var += (c - mean) * (c - mean);
    }
    var /= n - 1;
    EXPECT_NEAR(mean, expected, 5 * std::sqrt(expected / n));
    // Sample variance of n Poisson counts: sd ~ lambda * sqrt(2 / (n - 1)) -> 35; 5 sigma.
    EXPECT_NEAR(var, expected, 5 * expected * std::sqrt(2.0 / (n - 1)));
}

TEST(inputs, dc_generator_is_on_exactly_between_start_and_stop) {
    const double dt = 0.1;
    auto e = test::experiment(dt, 10.0);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 1, integrator()));
    auto in = device(input_spec::kind::dc_generator, "a");
    in.amplitude = 2.0;  // pA into C_m = 1 pF: 2 mV/ms, 0.2 mV per step
    in.start = 2.0;
    in.stop = 5.0;
    e.inputs.push_back(in);
    e.record.reports.push_back(vm_every_step("a"));
    const auto r = test::run(e);
    const auto& v = r.out.report_data[0];  // frame n: V before step n
    ASSERT_EQ(v.size(), 100u);
    for (int n = 0; n <= 20; ++n) {
        EXPECT_EQ(v[static_cast<std::size_t>(n)], 0.0f) << n;
    }
    EXPECT_NEAR(v[21], 0.2, 1e-6);
    EXPECT_NEAR(v[50], 6.0, 1e-5);
    for (int n = 51; n < 100; ++n) {
        EXPECT_NEAR(v[static_cast<std::size_t>(n)], 6.0, 1e-5) << n;
    }
}

TEST(inputs, step_current_switches_at_its_times) {
    auto e = test::experiment(1.0, 10.0);
    e.populations.push_back(test::population("a", "iaf_psc_delta", 2, integrator()));
    auto in = device(input_spec::kind::step_current_generator, "a");
    in.times = {2.0, 4.0, 7.0};
    in.amplitudes = {1.0, -3.0, 0.5};
    in.neurons = {1};
    e.inputs.push_back(in);
    e.record.reports.push_back(vm_every_step("a"));
    const auto r = test::run(e);
    const auto& v = r.out.report_data[0];  // frames x 2 neurons
    const std::vector<double> expected = {0, 0, 0, 1, 2, -1, -4, -7, -6.5, -6};
    for (std::size_t n = 0; n < expected.size(); ++n) {
        EXPECT_EQ(v[2 * n], 0.0f);
        EXPECT_NEAR(v[2 * n + 1], expected[n], 1e-9) << "frame " << n;
    }
}

TEST(inputs, noise_generator_has_the_given_variance) {
    const int n = 2000;
    auto e = test::experiment(1.0, 1.0, 4);
    e.populations.push_back(test::population("a", "iaf_psc_delta", n, integrator()));
    auto in = device(input_spec::kind::noise_generator, "a");
    in.mean = 1.0;
    in.std = 3.0;
    e.inputs.push_back(in);
    simulation sim(e, test::builtin_models(), test::quiet_context());
    memory_sink out;
    sim.run(out);
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        const double x = sim.value(static_cast<neuron_id>(i), "V_m");  // one step of current
        sum += x;
        sum2 += x * x;
    }
    const double mean = sum / n;
    const double sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(mean, 1.0, 5 * 3.0 / std::sqrt(n));
    EXPECT_NEAR(sd, 3.0, 5 * 3.0 / std::sqrt(2.0 * n));
}

TEST(inputs, poisson_source_population_fires_at_its_rate) {
    const int n = 500;
    auto e = test::experiment(0.1, 1000.0, 8);
    auto src = test::population("src", "poisson_source", n, {{"rate", 20}});
    e.populations.push_back(src);
    test::record_all_spikes(e);
    const auto r = test::run(e, 2, 3);
    const double expected = 20.0 * n;  // spikes in 1 s
    EXPECT_NEAR(static_cast<double>(r.out.recorded_spikes.size()), expected,
                5 * std::sqrt(expected));
}
