#include "reservoir/encoding.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::reservoir {

namespace {

void check_indices(const image_set& set, std::span<const std::size_t> indices, const char* what) {
    for (std::size_t i: indices) {
        if (i >= set.n) {
            throw error(fmt::format("{}: image index {} out of range (the set holds {} images)",
                                    what, i, set.n));
        }
    }
}

std::uint32_t pixel_sum(std::span<const std::uint8_t> image) {
    std::uint32_t sum = 0;
    for (std::uint8_t x: image) {
        sum += x;
    }
    return sum;
}

}  // namespace

double nalsm_rescale_factor(const image_set& set, std::span<const std::size_t> indices) {
    check_indices(set, indices, "nalsm_rescale_factor");
    double R = 0;
    for (std::size_t i: indices) {
        const auto image = set.image(i);
        const std::uint32_t sum = pixel_sum(image);
        if (sum == 0) {
            continue;  // black image: no contribution (NALSM would produce NaN)
        }
        // max_k x_k / sum equals (max_k x_k) / sum: the same division numpy does for that pixel.
        const std::uint8_t brightest = *std::max_element(image.begin(), image.end());
        R = std::max(R, static_cast<double>(brightest) / static_cast<double>(sum));
    }
    return R;
}

std::vector<float> nalsm_probabilities(const image_set& set, std::span<const std::size_t> indices) {
    return nalsm_probabilities(set, indices, nalsm_rescale_factor(set, indices));
}

std::vector<float> nalsm_probabilities(const image_set& set, std::span<const std::size_t> indices,
                                       double R) {
    check_indices(set, indices, "nalsm_probabilities");
    const std::size_t m = set.pixels_per_image();
    std::vector<float> p(indices.size() * m, 0.0f);
    if (indices.empty()) {
        return p;
    }
    if (!(R > 0)) {
        bool all_black = true;
        for (std::size_t i: indices) {
            all_black = all_black && pixel_sum(set.image(i)) == 0;
        }
        if (all_black) {
            return p;  // nothing to encode: every probability is 0
        }
        throw error(fmt::format("nalsm_probabilities: R must be > 0, got {}", R));
    }
    for (std::size_t r = 0; r < indices.size(); ++r) {
        const auto image = set.image(indices[r]);
        const std::uint32_t sum = pixel_sum(image);
        if (sum == 0) {
            continue;
        }
        for (std::size_t k = 0; k < m; ++k) {
            // Two divisions in NALSM's order: (x / sum) / R, in double, then rounded once to float.
            const double v = static_cast<double>(image[k]) / static_cast<double>(sum) / R;
            if (v > 1.0) {
                throw error(fmt::format("nalsm_probabilities: image {} pixel {} gives p = {} > 1: "
                                        "R = {} was not computed over a set holding this image",
                                        indices[r], k, v, R));
            }
            p[r * m + k] = static_cast<float>(v);
        }
    }
    return p;
}

split_probabilities nalsm_encode(const image_set& set, const split& parts) {
    std::vector<std::size_t> train_validation = parts.train;
    train_validation.insert(train_validation.end(), parts.validation.begin(),
                            parts.validation.end());
    split_probabilities out;
    out.R_train_validation = nalsm_rescale_factor(set, train_validation);
    out.R_test = nalsm_rescale_factor(set, parts.test);
    out.train = nalsm_probabilities(set, parts.train, out.R_train_validation);
    out.validation = nalsm_probabilities(set, parts.validation, out.R_train_validation);
    out.test = nalsm_probabilities(set, parts.test, out.R_test);
    return out;
}

}  // namespace glia::reservoir
