// Reservoir time-series tasks (src/reservoir/tasks.hpp): memory capacity of ideal and random
// state matrices, the NARMA-10 series against a hand computation, and the NRMSE ordering of
// linear readouts on ideal, linear-memory and random states.

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "reservoir/tasks.hpp"

namespace {

using glia::reservoir::feature_view;
using testing::HasSubstr;

// Random numbers for test data, keyed independently of glia::stream numbering (which may change).
glia::rng_stream test_stream(std::uint64_t seed, std::uint64_t tag) {
    return {glia::mix64(glia::mix64(seed) ^ tag), 0, 0};
}

// Row t holds u(t - 1), ..., u(t - K): a perfect memory of the last K inputs (0 before t = 0).
std::vector<float> delay_line(const std::vector<double>& u, std::size_t K,
                              std::size_t first_lag = 1) {
    std::vector<float> s(u.size() * K, 0.0f);
    for (std::size_t t = 0; t < u.size(); ++t) {
        for (std::size_t j = 0; j < K; ++j) {
            const std::size_t lag = first_lag + j;
            s[t * K + j] = t >= lag ? static_cast<float>(u[t - lag]) : 0.0f;
        }
    }
    return s;
}

std::vector<float> random_states(std::size_t T, std::size_t n, std::uint64_t seed) {
    glia::rng_stream rng = test_stream(seed, 97);
    std::vector<float> s(T * n);
    for (float& v: s) {
        v = static_cast<float>(rng.uniform(-1, 1));
    }
    return s;
}

TEST(memory_capacity, of_a_delay_line_is_its_length) {
    const std::size_t T = 4000, K = 10, k_max = 25;
    const std::vector<double> u = glia::reservoir::uniform_series(T, -1, 1, 1);
    const std::vector<float> s = delay_line(u, K);
    const auto r = glia::reservoir::memory_capacity(feature_view(s, T, K), u, k_max);
    ASSERT_EQ(r.mc_k.size(), k_max);
    for (std::size_t k = 1; k <= K; ++k) {
        EXPECT_GT(r.mc_k[k - 1], 0.9999) << "k = " << k;  // float states: not exactly 1
    }
    for (std::size_t k = K + 1; k <= k_max; ++k) {
        EXPECT_LT(r.mc_k[k - 1], 0.01) << "k = " << k;  // the input is i.i.d.: nothing to recall
    }
    EXPECT_NEAR(r.mc, static_cast<double>(K), 0.1);
}

TEST(memory_capacity, of_random_states_is_about_zero) {
    const std::size_t T = 4000, n = 20, k_max = 25;
    const std::vector<double> u = glia::reservoir::uniform_series(T, -1, 1, 2);
    const std::vector<float> s = random_states(T, n, 3);
    const auto r = glia::reservoir::memory_capacity(feature_view(s, T, n), u, k_max);
    // Chance squared correlation of a 20-feature readout on ~1200 held-out rows: ~1e-3 per delay.
    EXPECT_LT(r.mc, 0.15);
    EXPECT_GE(r.mc, 0.0);
}

TEST(memory_capacity, reports_bad_input) {
    const std::vector<double> u = glia::reservoir::uniform_series(300, -1, 1, 4);
    const std::vector<float> s = delay_line(u, 3);
    const feature_view v(s, 300, 3);
    EXPECT_THAT([&] { glia::reservoir::memory_capacity(v, std::span(u).first(299), 5); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("memory_capacity: 300 state rows but 299 inputs")));
    EXPECT_THAT([&] { glia::reservoir::memory_capacity(v, u, 0); },
                testing::ThrowsMessage<glia::error>(HasSubstr("k_max must be >= 1")));
    EXPECT_THAT(
        [&] { glia::reservoir::memory_capacity(v, u, 300); },
        testing::ThrowsMessage<glia::error>(HasSubstr(
            "memory_capacity: 300 rows leave none after the first 300 (washout and delays)")));
    std::vector<float> broken = s;
    broken[5 * 3 + 1] = std::numeric_limits<float>::infinity();
    EXPECT_THAT([&] { glia::reservoir::memory_capacity(feature_view(broken, 300, 3), u, 5); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("memory_capacity: feature matrix value at row 5, column 1 is inf")));
    std::vector<double> bad_u = u;
    bad_u[7] = std::nan("");
    EXPECT_THAT([&] { glia::reservoir::memory_capacity(v, bad_u, 5); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("memory_capacity: input u: value nan at t = 7 is not finite")));
    glia::reservoir::linear_task_params p;
    p.train_fraction = 1.0;
    EXPECT_THAT(
        [&] { glia::reservoir::memory_capacity(v, u, 5, p); },
        testing::ThrowsMessage<glia::error>(HasSubstr("train_fraction must be in (0, 1), got 1")));
}

TEST(uniform_series, is_in_range_and_a_function_of_the_seed) {
    const auto a = glia::reservoir::uniform_series(1000, 0, 0.5, 7);
    for (double v: a) {
        ASSERT_GE(v, 0.0);
        ASSERT_LT(v, 0.5);
    }
    double mean = 0;
    for (double v: a) {
        mean += v / 1000;
    }
    EXPECT_NEAR(mean, 0.25, 0.02);  // sd of the mean: 0.5 / sqrt(12 * 1000) = 0.0046
    EXPECT_EQ(a, glia::reservoir::uniform_series(1000, 0, 0.5, 7));
    EXPECT_NE(a, glia::reservoir::uniform_series(1000, 0, 0.5, 8));
    EXPECT_THAT([] { glia::reservoir::uniform_series(3, 1, 1, 0); },
                testing::ThrowsMessage<glia::error>(HasSubstr("needs low < high, got [1, 1)")));
}

TEST(narma, series_matches_a_hand_computed_prefix) {
    std::vector<double> u(14);
    for (std::size_t t = 0; t < u.size(); ++t) {
        u[t] = 0.03 * static_cast<double>(t + 1);  // 0.03, 0.06, ..., 0.42
    }
    const std::vector<double> y = glia::reservoir::narma_series(u);
    for (std::size_t t = 0; t <= 10; ++t) {
        EXPECT_EQ(y[t], 0.0) << "t = " << t;
    }
    // y(t+1) = 0.2 y(t) + 0.04 y(t) sum_{i=0}^{9} y(t-i) + 1.5 u(t-10) u(t) + 0.001
    const double y11 = 1.5 * u[0] * u[10] + 0.001;  // t = 10: every y is 0
    const double y12 = 0.2 * y11 + 0.04 * y11 * y11 + 1.5 * u[1] * u[11] + 0.001;
    const double y13 = 0.2 * y12 + 0.04 * y12 * (y12 + y11) + 1.5 * u[2] * u[12] + 0.001;
    EXPECT_DOUBLE_EQ(y[11], y11);
    EXPECT_DOUBLE_EQ(y[12], y12);
    EXPECT_DOUBLE_EQ(y[13], y13);
    EXPECT_DOUBLE_EQ(y11, 1.5 * 0.03 * 0.33 + 0.001);
}

TEST(narma, reports_a_diverging_series) {
    const std::vector<double> u(400, 3.0);
    glia::reservoir::narma_params p;
    p.a2 = 5.0;
    EXPECT_THAT([&] { glia::reservoir::narma_series(u, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("narma_series: the series diverged at t = ")));
}

TEST(narma, readout_error_orders_ideal_memory_and_random_states) {
    const std::size_t T = 4000;
    const std::vector<double> u = glia::reservoir::uniform_series(T, 0, 0.5, 9);
    const std::vector<double> y = glia::reservoir::narma_series(u);
    // Ideal: the three terms of y(t+1) that are not constant, all known at time t.
    std::vector<float> ideal(T * 3, 0.0f);
    for (std::size_t t = 10; t < T; ++t) {
        double window = 0;
        for (std::size_t i = 0; i < 10; ++i) {
            window += y[t - i];
        }
        ideal[t * 3 + 0] = static_cast<float>(y[t]);
        ideal[t * 3 + 1] = static_cast<float>(y[t] * window);
        ideal[t * 3 + 2] = static_cast<float>(u[t - 10] * u[t]);
    }
    // Linear memory: u(t), ..., u(t - 19); no products, so the readout can only approximate.
    const std::vector<float> memory = delay_line(u, 20, 0);
    const std::vector<float> noise = random_states(T, 20, 10);
    const auto r_ideal = glia::reservoir::narma_task(feature_view(ideal, T, 3), y);
    const auto r_memory = glia::reservoir::narma_task(feature_view(memory, T, 20), y);
    const auto r_noise = glia::reservoir::narma_task(feature_view(noise, T, 20), y);
    EXPECT_LT(r_ideal.nrmse_test, 1e-4);  // exact up to float rounding of the features
    EXPECT_GT(r_memory.nrmse_test, 0.1);
    EXPECT_LT(r_memory.nrmse_test, 0.9);
    EXPECT_GT(r_noise.nrmse_test, 0.95);
    EXPECT_LT(r_ideal.nrmse_test, r_memory.nrmse_test);
    EXPECT_LT(r_memory.nrmse_test, r_noise.nrmse_test);
    EXPECT_EQ(r_ideal.test_prediction.size(), r_ideal.test_target.size());
    // Row t predicts y(t + 1): the last held-out target is the series' last value.
    EXPECT_EQ(r_ideal.test_target.back(), y.back());
}

}  // namespace
