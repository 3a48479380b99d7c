#pragma once
// Classification metrics of a readout: accuracy, confusion matrix, per-class accuracy.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace glia::reservoir {

// Fraction of predicted[i] == truth[i]; NaN for no samples. Sizes must agree (glia::error).
double accuracy(std::span<const std::uint8_t> predicted, std::span<const std::uint8_t> truth);

// counts[t * n_classes + p]: samples of true class t predicted as class p.
struct confusion_matrix {
    std::size_t n_classes = 0;
    std::vector<std::size_t> counts;

    std::size_t at(std::size_t true_class, std::size_t predicted_class) const {
        return counts[true_class * n_classes + predicted_class];
    }
};

// Labels >= n_classes are a glia::error.
confusion_matrix confusion(std::span<const std::uint8_t> predicted,
                           std::span<const std::uint8_t> truth, std::size_t n_classes);

// Per true class: correct / samples of that class (the recall). NaN for a class without samples.
std::vector<double> per_class_accuracy(const confusion_matrix& m);

// max(label) + 1 over all given label lists (0 when all are empty).
std::size_t count_classes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b = {},
                          std::span<const std::uint8_t> c = {});

}  // namespace glia::reservoir
