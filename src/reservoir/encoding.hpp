#pragma once
// NALSM's input encoding (science-spec §1.3; NALSM_SIM_SUPPORT.assemble_data[_FMNIST]):
//
//   p_k = (x_k / sum_j x_j) / R,     R = max over the images of a set and their pixels k of
//                                        (x_k / sum_j x_j),
//
// the probability per step that input neuron k receives I_ext = 100 (a Bernoulli draw per pixel
// and step, drawn by the engine with its counter-based RNG; NALSM's step is 1 ms, and another dt
// changes the input rate). R is computed per set: once over the
// train + validation images (NALSM: all 60,000 official train images), and separately over the
// test images. Every p_k is then in [0, 1] and the brightest normalised pixel of the set has p = 1.
//
// Deviation, stated: an all-black image (sum 0) gives 0/0 = NaN in NALSM's numpy code (and a NaN
// R for its whole set). Here it gets p = 0 everywhere and is left out of R.

#include <cstddef>
#include <span>
#include <vector>

#include "reservoir/dataset.hpp"

namespace glia::reservoir {

// R over the images `indices` of `set` (0 when every one of them is black). Accumulates in
// double: the order of the images does not change R.
double nalsm_rescale_factor(const image_set& set, std::span<const std::size_t> indices);

// indices.size() x pixels_per_image() probabilities, row i for image indices[i], with R computed
// over `indices` themselves.
std::vector<float> nalsm_probabilities(const image_set& set, std::span<const std::size_t> indices);

// The same with a given R (> 0); probabilities above 1 (an image brighter than the set R came
// from) are a glia::error.
std::vector<float> nalsm_probabilities(const image_set& set, std::span<const std::size_t> indices,
                                       double R);

// The whole protocol's encoding of a split: R_train_validation over train + validation, R_test
// over test, and the probabilities of each part (row i of `train` is image split.train[i]).
struct split_probabilities {
    double R_train_validation = 0;
    double R_test = 0;
    std::vector<float> train;
    std::vector<float> validation;
    std::vector<float> test;
};
split_probabilities nalsm_encode(const image_set& set, const split& parts);

}  // namespace glia::reservoir
