#include "reservoir/metrics.hpp"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::reservoir {

namespace {

void check_sizes(std::span<const std::uint8_t> predicted, std::span<const std::uint8_t> truth,
                 const char* what) {
    if (predicted.size() != truth.size()) {
        throw error(fmt::format("{}: {} predictions but {} true labels", what, predicted.size(),
                                truth.size()));
    }
}

}  // namespace

double accuracy(std::span<const std::uint8_t> predicted, std::span<const std::uint8_t> truth) {
    check_sizes(predicted, truth, "accuracy");
    if (truth.empty()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    std::size_t correct = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        correct += predicted[i] == truth[i] ? 1 : 0;
    }
    return static_cast<double>(correct) / static_cast<double>(truth.size());
}

confusion_matrix confusion(std::span<const std::uint8_t> predicted,
                           std::span<const std::uint8_t> truth, std::size_t n_classes) {
    check_sizes(predicted, truth, "confusion");
    confusion_matrix m;
    m.n_classes = n_classes;
    m.counts.assign(n_classes * n_classes, 0);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] >= n_classes || predicted[i] >= n_classes) {
            throw error(fmt::format("confusion: sample {} has true class {} and predicted class "
                                    "{}; classes must be below n_classes = {}",
                                    i, truth[i], predicted[i], n_classes));
        }
        ++m.counts[truth[i] * n_classes + predicted[i]];
    }
    return m;
}

std::vector<double> per_class_accuracy(const confusion_matrix& m) {
    std::vector<double> out(m.n_classes, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t t = 0; t < m.n_classes; ++t) {
        std::size_t total = 0;
        for (std::size_t p = 0; p < m.n_classes; ++p) {
            total += m.at(t, p);
        }
        if (total > 0) {
            out[t] = static_cast<double>(m.at(t, t)) / static_cast<double>(total);
        }
    }
    return out;
}

std::size_t count_classes(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b,
                          std::span<const std::uint8_t> c) {
    std::size_t n = 0;
    for (auto labels: {a, b, c}) {
        for (std::uint8_t l: labels) {
            n = std::max<std::size_t>(n, std::size_t{l} + 1);
        }
    }
    return n;
}

}  // namespace glia::reservoir
