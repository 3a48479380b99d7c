#pragma once
// The branching factor straight from its definition (science-spec §1.8), for tests: every
// evaluated spike is compared with every other spike, with no index, sorting or CSR (unlike
// src/reservoir/branching.cpp). O(spikes^2): for small rasters only.
//
// Spikes in bins [start, stop) are kept. A kept spike of neuron n in bin k with
// start + D <= k < stop - D gives pre = kept spikes of neurons j with (j, n) in `pairs` in
// bins [k - D, k), post = kept spikes of neurons j with (n, j) in `pairs` in [k + 1, k + D + 1),
// bf = post / max(pre, 1). The value is the mean over neurons with evaluated spikes of the mean
// of their bf (NaN if none).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace glia::test {

struct binned_spike {
    std::uint32_t bin = 0;
    std::uint32_t neuron = 0;
};

struct branching_reference_result {
    double value = std::nan("");
    std::size_t spikes = 0;   // evaluated
    std::size_t neurons = 0;  // with an evaluated spike
};

inline branching_reference_result branching_reference(
    const std::vector<binned_spike>& raster,
    const std::set<std::pair<std::uint32_t, std::uint32_t>>& pairs, std::uint32_t n,
    std::uint32_t start, std::uint32_t stop, std::uint32_t D) {
    std::vector<binned_spike> kept;
    for (const auto& s: raster) {
        if (s.bin >= start && s.bin < stop) {
            kept.push_back(s);
        }
    }
    // Within a neuron, spikes in time order: the sums then add in the same order as the
    // implementation's (which sorts them), so the results agree to the last bit or nearly.
    std::stable_sort(kept.begin(), kept.end(),
                     [](const binned_spike& a, const binned_spike& b) { return a.bin < b.bin; });
    branching_reference_result r;
    double total = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        double sum = 0;
        std::size_t count = 0;
        for (const auto& a: kept) {
            if (a.neuron != i || a.bin < start + D || a.bin + D >= stop) {
                continue;
            }
            std::size_t pre = 0, post = 0;
            for (const auto& b: kept) {
                if (pairs.count({b.neuron, i}) > 0 && b.bin + D >= a.bin && b.bin < a.bin) {
                    ++pre;
                }
                if (pairs.count({i, b.neuron}) > 0 && b.bin > a.bin && b.bin <= a.bin + D) {
                    ++post;
                }
            }
            sum += static_cast<double>(post) / static_cast<double>(std::max<std::size_t>(pre, 1));
            ++count;
        }
        if (count > 0) {
            total += sum / static_cast<double>(count);
            ++r.neurons;
            r.spikes += count;
        }
    }
    if (r.neurons > 0) {
        r.value = total / static_cast<double>(r.neurons);
    }
    return r;
}

}  // namespace glia::test
