// Bug (hostile-input testing): a delay of 1e23 ms was reported as "delay = 1e+23 ms is below
// dt = 0.1 ms": the conversion to steps overflowed before the check. A delay longer than the
// step clock holds (2^31 - 1 steps) is now refused as too large, with its key path, by the
// loader (constants, list entries and the upper end of distributions) and by the lowering (drawn
// delays).

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class huge_delay_was_reported_below_dt: public glia::test::scratch_test {
protected:
    huge_delay_was_reported_below_dt(): scratch_test("regression") {}
};

TEST_F(huge_delay_was_reported_below_dt, a_delay_past_the_step_clock_is_too_large) {
    const std::string cfg = std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml";
    const std::string limit =
        "is too large for the step clock: at most 2147483647 steps of dt = 0.1 ms "
        "(214748364.7 ms)";
    const struct {
        std::string value;
        std::string key;
    } cases[] = {
        {"1e23 ms", "projections.exc_exc.delay = 1e+23 ms "},
        {"{uniform: {low: 1 ms, high: 1e23 ms}}",
         "projections.exc_exc.delay.uniform.high = 1e+23 ms "},
        {"{normal: {mean: 1e23 ms, std: 1 ms, min: 1 ms}}",
         "projections.exc_exc.delay.normal.mean = 1e+23 ms "},
    };
    for (const auto& c: cases) {
        const std::string set = "projections.exc_exc.delay=" + c.value;
        for (const std::string& command:
             {"validate " + cfg, "run " + cfg + " -o " + path("out.h5")}) {
            const auto r = glia::test::run_glia(command + " --set '" + set + "'");
            EXPECT_EQ(r.code, 1) << r.out;
            EXPECT_THAT(r.out, HasSubstr("--set " + set + ": " + c.key + limit));
            EXPECT_THAT(r.out, Not(HasSubstr("below dt")));
        }
    }
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
    // Long delays within the clock are accepted.
    const auto ok =
        glia::test::run_glia("validate " + cfg + " --set 'projections.exc_exc.delay=2e8 ms'");
    EXPECT_EQ(ok.code, 0) << ok.out;
}

}  // namespace
