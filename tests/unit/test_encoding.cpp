// NALSM's input encoding (src/reservoir/encoding.hpp, science-spec §1.3) against hand
// computations, the per-set R of the protocol, black images, errors, and Fashion-MNIST.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "reservoir/dataset.hpp"
#include "reservoir/encoding.hpp"

namespace {

using glia::reservoir::image_set;
using testing::HasSubstr;

// Four images of 2 x 2 pixels:
//   0: {0, 50, 100, 50}   sum 200, x / sum = {0, .25, .5, .25}
//   1: {10, 10, 10, 10}   sum 40,  x / sum = {.25, .25, .25, .25}
//   2: {255, 0, 0, 0}     sum 255, x / sum = {1, 0, 0, 0}
//   3: {0, 0, 0, 0}       black
image_set four_images() {
    image_set s;
    s.n = 4;
    s.rows = 2;
    s.cols = 2;
    s.pixels = {0, 50, 100, 50, 10, 10, 10, 10, 255, 0, 0, 0, 0, 0, 0, 0};
    s.labels = {0, 1, 2, 3};
    return s;
}

TEST(encoding, rescale_factor_is_the_largest_normalised_pixel) {
    const image_set s = four_images();
    const std::vector<std::size_t> first_two{0, 1};
    const std::vector<std::size_t> second{1};
    const std::vector<std::size_t> third{2};
    const std::vector<std::size_t> black{3};
    EXPECT_DOUBLE_EQ(glia::reservoir::nalsm_rescale_factor(s, first_two), 0.5);
    EXPECT_DOUBLE_EQ(glia::reservoir::nalsm_rescale_factor(s, second), 0.25);
    EXPECT_DOUBLE_EQ(glia::reservoir::nalsm_rescale_factor(s, third), 1.0);
    EXPECT_EQ(glia::reservoir::nalsm_rescale_factor(s, black), 0.0);
}

TEST(encoding, probabilities_match_a_hand_computation) {
    const image_set s = four_images();
    const std::vector<std::size_t> idx{0, 1, 3};  // R = 0.5 (image 0's pixel 2)
    const std::vector<float> p = glia::reservoir::nalsm_probabilities(s, idx);
    const std::vector<float> expected{0.0f, 0.5f, 1.0f, 0.5f,   // image 0: (x / 200) / 0.5
                                      0.5f, 0.5f, 0.5f, 0.5f,   // image 1: (10 / 40) / 0.5
                                      0.0f, 0.0f, 0.0f, 0.0f};  // black image: p = 0
    EXPECT_EQ(p, expected);
    const std::vector<std::size_t> one{1};
    EXPECT_EQ(glia::reservoir::nalsm_probabilities(s, one, 0.5),
              (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}));
}

TEST(encoding, split_uses_one_factor_for_train_and_validation_and_one_for_test) {
    const image_set s = four_images();
    glia::reservoir::split parts;
    parts.train = {0};
    parts.validation = {1};
    parts.test = {2, 1};
    const auto enc = glia::reservoir::nalsm_encode(s, parts);
    EXPECT_DOUBLE_EQ(enc.R_train_validation, 0.5);  // max over images 0 and 1
    EXPECT_DOUBLE_EQ(enc.R_test, 1.0);              // max over images 2 and 1
    EXPECT_EQ(enc.train, (std::vector<float>{0.0f, 0.5f, 1.0f, 0.5f}));
    EXPECT_EQ(enc.validation, (std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}));
    EXPECT_EQ(enc.test, (std::vector<float>{1.0f, 0.0f, 0.0f, 0.0f, 0.25f, 0.25f, 0.25f, 0.25f}));
}

TEST(encoding, rejects_a_factor_too_small_and_a_bad_index) {
    const image_set s = four_images();
    const std::vector<std::size_t> idx{2};
    EXPECT_THAT([&] { glia::reservoir::nalsm_probabilities(s, idx, 0.5); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("image 2 pixel 0 gives p = 2 > 1: R = 0.5 was not computed over a "
                              "set holding this image")));
    EXPECT_THAT([&] { glia::reservoir::nalsm_probabilities(s, idx, 0.0); },
                testing::ThrowsMessage<glia::error>(HasSubstr("R must be > 0, got 0")));
    const std::vector<std::size_t> bad{4};
    EXPECT_THAT([&] { glia::reservoir::nalsm_probabilities(s, bad); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("image index 4 out of range (the set holds 4 images)")));
}

TEST(encoding_real, fashion_mnist_probabilities_reach_one_in_each_set) {
    const std::filesystem::path dir(glia::reservoir::fashion_mnist_dir);
    if (!std::filesystem::exists(dir / "train-images-idx3-ubyte.gz")) {
        GTEST_SKIP() << "Fashion-MNIST is not installed at " << dir;
    }
    const auto data = glia::reservoir::load_official(dir);
    const auto parts = glia::reservoir::nalsm_split(data);
    const auto enc = glia::reservoir::nalsm_encode(data.images, parts);
    ASSERT_EQ(enc.train.size(), 50000u * 784u);
    ASSERT_EQ(enc.test.size(), 10000u * 784u);
    // Each set's brightest normalised pixel maps to exactly 1; nothing exceeds it.
    const float top_trval =
        std::max(*std::max_element(enc.train.begin(), enc.train.end()),
                 *std::max_element(enc.validation.begin(), enc.validation.end()));
    EXPECT_EQ(top_trval, 1.0f);
    EXPECT_EQ(*std::max_element(enc.test.begin(), enc.test.end()), 1.0f);
    EXPECT_GE(*std::min_element(enc.train.begin(), enc.train.end()), 0.0f);
    // R is max(x) / sum(x) of some image: at most 1, and above the uniform 1/784.
    EXPECT_GT(enc.R_train_validation, 1.0 / 784);
    EXPECT_LE(enc.R_train_validation, 1.0);
    EXPECT_NE(enc.R_train_validation, enc.R_test);
}

}  // namespace
