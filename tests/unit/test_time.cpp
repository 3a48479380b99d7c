#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/spec.hpp>

#include "core/time.hpp"

TEST(time, converts_on_grid_times_exactly) {
    EXPECT_EQ(glia::to_steps(1.5, 0.1, "delay"), 15);
    EXPECT_EQ(glia::to_steps(1000.0, 0.1, "duration"), 10000);
    EXPECT_EQ(glia::to_steps(0.3, 0.1, "x"), 3);  // 0.3/0.1 = 2.9999999999999996
}

TEST(time, rejects_off_grid_times_with_their_name) {
    EXPECT_THAT([] { glia::to_steps(0.15, 0.1, "delay"); },
                testing::ThrowsMessage<glia::error>(
                    testing::HasSubstr("delay = 0.15 ms is not a multiple of dt = 0.1 ms")));
}

TEST(time, first_step_at_or_after_rounds_up_off_grid_and_clamps) {
    EXPECT_EQ(glia::first_step_at_or_after(0.0, 0.1, 100), 0);
    EXPECT_EQ(glia::first_step_at_or_after(0.25, 0.1, 100), 3);
    EXPECT_EQ(glia::first_step_at_or_after(0.3, 0.1, 100), 3);
    EXPECT_EQ(glia::first_step_at_or_after(glia::infinity, 0.1, 100), 100);
    EXPECT_EQ(glia::first_step_at_or_after(50.0, 0.1, 100), 100);
}
