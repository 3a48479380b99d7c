#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "network/values.hpp"
#include "spec_harness.hpp"

using namespace glia;

TEST(values, constant_gives_one_shared_value) {
    EXPECT_EQ(per_neuron_values(test::c(3.0), 1, stream::parameters, 0, 0, 100),
              std::vector<double>{3.0});
}

TEST(values, per_neuron_draws_depend_on_global_id_not_on_the_range_asked) {
    const auto v = test::uniform(-1, 1);
    const auto all = per_neuron_values(v, 5, stream::initial_state, 0, 100, 50);
    const auto tail = per_neuron_values(v, 5, stream::initial_state, 0, 120, 30);
    for (std::size_t k = 0; k < 30; ++k) {
        EXPECT_EQ(all[20 + k], tail[k]);
    }
}

TEST(values, normal_with_bounds_redraws_inside_them) {
    const auto v = test::normal(0, 1, -0.5, 2.0);
    const auto xs = per_neuron_values(v, 3, stream::parameters, 1, 0, 20000);
    double sum = 0;
    for (double x: xs) {
        ASSERT_GE(x, -0.5);
        ASSERT_LE(x, 2.0);
        sum += x;
    }
    // Mean of N(0,1) truncated to [-0.5, 2]: (phi(-0.5) - phi(2)) / (Phi(2) - Phi(-0.5)) = 0.4447
    EXPECT_NEAR(sum / 20000, 0.4447, 0.02);
}

TEST(values, impossible_bounds_are_an_error_not_a_hang) {
    const auto v = test::normal(0, 1, 50, 60);
    EXPECT_THAT([&] { per_neuron_values(v, 3, stream::parameters, 1, 0, 10); },
                testing::ThrowsMessage<error>(testing::HasSubstr("reject almost every value")));
}

TEST(values, list_must_have_one_value_per_neuron) {
    EXPECT_THAT([] { per_neuron_values(test::list({1, 2}), 3, stream::parameters, 1, 0, 3); },
                testing::ThrowsMessage<error>(testing::HasSubstr("expected one per neuron (3)")));
}
