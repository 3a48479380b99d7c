// Bug (hostile-input testing): `glia sweep --list` showed a point whose run an error ended
// (/run@status "failed") as `running-or-killed`, as if it might still be running. Now it is
// `failed`, followed by the message in its /run@error.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"
#include "io/hdf5_writer.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class sweep_listed_a_failed_point_as_running_or_killed: public glia::test::scratch_test {
protected:
    sweep_listed_a_failed_point_as_running_or_killed(): scratch_test("regression") {}
};

TEST_F(sweep_listed_a_failed_point_as_running_or_killed, a_failed_point_is_listed_failed) {
    const std::string cfg = write("s.yaml", "simulation: {dt: 0.1 ms, duration: 1 ms}\n"
                                            "populations:\n"
                                            "  p: {model: iaf_psc_delta, size: 10}\n"
                                            "output: {file: " +
                                                path("s.h5") +
                                                "}\n"
                                                "sweep:\n"
                                                "  name: one\n"
                                                "  grid:\n"
                                                "    populations.p.size: [10]\n");
    const auto run = glia::test::run_glia("run --no-progress " + cfg + " --point 0");
    ASSERT_EQ(run.code, 0) << run.out;
    const auto before = glia::test::run_glia("sweep --list " + cfg);
    ASSERT_THAT(before.out, HasSubstr("complete")) << before.out;
    const std::string out = before.out.substr(before.out.rfind(' ') + 1,
                                              before.out.size() - before.out.rfind(' ') - 2);
    ASSERT_TRUE(glia::io::mark_run_failed(out, "disk full while writing 'x.h5'")) << out;
    const auto after = glia::test::run_glia("sweep --list " + cfg);
    EXPECT_EQ(after.code, 0) << after.out;
    EXPECT_THAT(after.out, HasSubstr("failed: disk full while writing 'x.h5'")) << after.out;
    EXPECT_THAT(after.out, Not(HasSubstr("running-or-killed")));
}

}  // namespace
