// Bug (found while measuring NALSM8000): --set of a key under a section the file leaves out
// (protocol.dataset.limit) was an internal error, exit 2. Now: a located message, exit 1, and
// the section can be given whole as a map value.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;

TEST(set_under_a_section_the_file_leaves_out, is_a_located_error_and_the_whole_section_works) {
    if (const std::string why = glia::test::missing_fashion_mnist(); !why.empty()) {
        GTEST_SKIP() << why;  // validate reads the dataset's headers
    }
    const std::string cfg = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm8000_fashion.yaml";
    const auto bad =
        glia::test::run_glia("validate " + cfg + " --set protocol.dataset.limit.train=600");
    EXPECT_EQ(bad.code, 1) << bad.out;
    EXPECT_THAT(bad.out, HasSubstr("'protocol.dataset.limit' is not in the file"));
    const auto r = glia::test::run_glia("validate " + cfg +
                                        " --set 'protocol.dataset.limit={train: 600}' "
                                        "--set readout.softmax.patience=5");
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("8784 neurons"));
}

}  // namespace
