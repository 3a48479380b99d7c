// Bug: readout.softmax.rho = 1 passed `glia validate` (the loader accepted (0, 1]) and failed
// only when the readout started, after both phases had run. Adadelta needs rho in [0, 1): the
// loader refuses 1, naming the override, and the run writes nothing.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;

class softmax_rho_one_passed_validate: public glia::test::scratch_test {
protected:
    softmax_rho_one_passed_validate(): scratch_test("regression") {}
};

TEST_F(softmax_rho_one_passed_validate, rho_one_is_refused_before_the_run) {
    const std::string cfg = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_tiny.yaml";
    const std::string out = path("out.h5");
    for (const std::string& args: {"validate " + cfg, "run " + cfg + " -o " + out}) {
        const auto r = glia::test::run_glia(args + " --set readout.softmax.rho=1");
        EXPECT_EQ(r.code, 1) << r.out;
        // An override is named instead of a file location.
        EXPECT_THAT(r.out, HasSubstr("--set readout.softmax.rho=1: readout.softmax.rho must be "
                                     "in [0, 1), got 1"));
    }
    EXPECT_FALSE(std::filesystem::exists(out));
    const auto ok = glia::test::run_glia("validate " + cfg + " --set readout.softmax.rho=0");
    EXPECT_EQ(ok.code, 0) << ok.out;
}

}  // namespace
