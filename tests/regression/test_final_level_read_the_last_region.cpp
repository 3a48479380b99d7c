// Bug: the level a two_phase run stores per sample (final_level, and the monitor's astrocyte
// level) was the last region's level at the end of the trial, not the mean over the
// modulator's regions that it is documented as. With configs/nalsm_astro_demo.yaml (four
// regions), each stored final_level must be the mean of the four levels the raster of the same
// sample holds for its last step.

#include <cmath>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using glia::test::read_floats;

class final_level_read_the_last_region: public glia::test::scratch_test {
protected:
    final_level_read_the_last_region(): scratch_test("regression") {}
};

TEST_F(final_level_read_the_last_region, final_level_is_the_mean_over_regions) {
    if (const std::string why = glia::test::missing_fashion_mnist(); !why.empty()) {
        GTEST_SKIP() << why;
    }
    const std::string out = path("demo.h5");
    const auto r = glia::test::run_glia(
        "run " + std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_astro_demo.yaml -o " + out +
        " --no-progress --set 'protocol.dataset.limit={train: 40, validation: 10, test: 10}'"
        " --set protocol.phase_a.samples=40 --set protocol.branching_samples=5");
    ASSERT_EQ(r.code, 0) << r.out;
    const auto level = read_floats(out, "/reservoir/rasters/level");  // samples x steps x regions
    const auto final_level = read_floats(out, "/reservoir/test/final_level");
    ASSERT_EQ(level.dims.size(), 3u);
    ASSERT_EQ(level.dims[0], 5u);
    ASSERT_EQ(level.dims[2], 4u);
    ASSERT_EQ(final_level.dims.size(), 1u);
    ASSERT_EQ(final_level.dims[0], 10u);
    const std::size_t steps = level.dims[1];
    bool regions_differ = false;
    for (std::size_t k = 0; k < 5; ++k) {
        const float* last = &level.values[(k * steps + steps - 1) * 4];
        double mean = 0;
        for (int g = 0; g < 4; ++g) {
            mean += last[g] / 4.0;
            regions_differ = regions_differ || last[g] != last[0];
        }
        EXPECT_NEAR(final_level.values[k], mean, 1e-6 * std::abs(mean)) << "sample " << k;
    }
    EXPECT_TRUE(regions_differ) << "the regions end at one level: the test cannot tell them apart";
}

}  // namespace
