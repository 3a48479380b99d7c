#include <cmath>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include <glia/rng.hpp>

using glia::rng_stream;
using glia::stream;
using glia::stream_key;

// Philox4x32-10 known-answer test from the Random123 distribution (kat_vectors):
// counter = key = 0 gives 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
TEST(rng, philox_matches_random123_known_answer) {
    r123::Philox4x32 g;
    const r123::Philox4x32::ctr_type ctr = {{0, 0, 0, 0}};
    const r123::Philox4x32::key_type key = {{0, 0}};
    const auto out = g(ctr, key);
    EXPECT_EQ(out.v[0], 0x6627e8d5u);
    EXPECT_EQ(out.v[1], 0xe169c58du);
    EXPECT_EQ(out.v[2], 0xbc57ac4cu);
    EXPECT_EQ(out.v[3], 0x9b00dbd8u);
}

TEST(rng, draws_are_pure_functions_of_coordinates) {
    const auto key = stream_key(42, stream::poisson_input, 3);
    rng_stream a(key, 17, 1000);
    rng_stream b(key, 17, 1000);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(a.next_u32(), b.next_u32());
    }
}

TEST(rng, different_coordinates_give_different_streams) {
    std::set<std::uint64_t> first_draws;
    for (std::uint64_t seed: {1, 2}) {
        for (auto purpose: {stream::connectivity, stream::initial_state}) {
            for (std::uint32_t entity: {0u, 1u}) {
                for (std::uint64_t sub: {0ull, 1ull, 1ull << 40}) {
                    rng_stream s(stream_key(seed, purpose), entity, sub);
                    first_draws.insert(s.next_u64());
                }
            }
        }
    }
    EXPECT_EQ(first_draws.size(), 24u);
}

TEST(rng, uniform_is_in_unit_interval_with_correct_moments) {
    rng_stream s(stream_key(7, stream::parameters), 0, 0);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        const double u = s.uniform();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
        sum += u;
        sum2 += u * u;
    }
    const double mean = sum / n;
    const double var = sum2 / n - mean * mean;
    // Standard error of the mean: sqrt(1/12/n) = 6.5e-4; allow 5 sigma.
    EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
    EXPECT_NEAR(var, 1.0 / 12, 0.002);
}

TEST(rng, below_is_unbiased_over_small_ranges) {
    rng_stream s(stream_key(9, stream::connectivity), 5, 0);
    const int n = 70000;
    std::vector<int> counts(7, 0);
    for (int i = 0; i < n; ++i) {
        const auto k = s.below(7);
        ASSERT_LT(k, 7u);
        ++counts[k];
    }
    // Chi-square with 6 degrees of freedom; 22.46 is the 0.999 quantile.
    double chi2 = 0;
    for (int c: counts) {
        chi2 += (c - n / 7.0) * (c - n / 7.0) / (n / 7.0);
    }
    EXPECT_LT(chi2, 22.46);
}

TEST(rng, normal_has_unit_variance) {
    rng_stream s(stream_key(11, stream::noise_input), 1, 0);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
        const double x = s.normal();
        sum += x;
        sum2 += x * x;
    }
    EXPECT_NEAR(sum / n, 0.0, 5 / std::sqrt(n));
    EXPECT_NEAR(sum2 / n, 1.0, 0.015);
}

TEST(rng, poisson_mean_and_variance_match_lambda) {
    for (double lambda: {0.02, 2.0, 45.0}) {
        rng_stream s(stream_key(13, stream::poisson_input), 2, 0);
        const int n = 100000;
        double sum = 0, sum2 = 0;
        for (int i = 0; i < n; ++i) {
            const auto k = static_cast<double>(s.poisson(lambda));
            sum += k;
            sum2 += k * k;
        }
        const double mean = sum / n;
        const double var = sum2 / n - mean * mean;
        EXPECT_NEAR(mean, lambda, 5 * std::sqrt(lambda / n)) << "lambda " << lambda;
        EXPECT_NEAR(var / lambda, 1.0, 0.05) << "lambda " << lambda;
    }
}
