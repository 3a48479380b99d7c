#include "reservoir/branching.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::reservoir {

namespace {

void check_csr(std::span<const std::uint32_t> offset, std::span<const std::uint32_t> targets,
               std::uint32_t n, const char* what) {
    if (offset.size() != static_cast<std::size_t>(n) + 1 || offset.front() != 0 ||
        offset.back() != targets.size()) {
        throw error(
            fmt::format("branching factor: {} adjacency does not describe {} neurons", what, n));
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        if (offset[i] > offset[i + 1]) {
            throw error(fmt::format("branching factor: {} offsets decrease at neuron {}", what, i));
        }
    }
    for (std::uint32_t t: targets) {
        if (t >= n) {
            throw error(
                fmt::format("branching factor: {} adjacency names neuron {} of {}", what, t, n));
        }
    }
}

}  // namespace

double branching_factor(const adjacency& graph, std::uint32_t n,
                        std::span<const std::uint32_t> raster_step,
                        std::span<const std::uint32_t> raster_neuron,
                        const branching_params& params) {
    if (raster_step.size() != raster_neuron.size()) {
        throw error(fmt::format("branching factor: {} spike steps but {} spike neurons",
                                raster_step.size(), raster_neuron.size()));
    }
    check_csr(graph.in_offset, graph.in_pre, n, "presynaptic");
    check_csr(graph.out_offset, graph.out_post, n, "postsynaptic");

    // Spike steps of each neuron inside the kept window, sorted (CSR by neuron).
    std::vector<std::uint32_t> offset(static_cast<std::size_t>(n) + 1, 0);
    const auto kept = [&](std::size_t i) {
        return raster_neuron[i] < n && raster_step[i] >= params.keep_begin &&
               raster_step[i] < params.keep_end;
    };
    for (std::size_t i = 0; i < raster_step.size(); ++i) {
        if (kept(i)) {
            ++offset[raster_neuron[i] + 1];
        }
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        offset[i + 1] += offset[i];
    }
    std::vector<std::uint32_t> times(offset[n]);
    {
        std::vector<std::uint32_t> fill(offset.begin(), offset.end() - 1);
        for (std::size_t i = 0; i < raster_step.size(); ++i) {
            if (kept(i)) {
                times[fill[raster_neuron[i]]++] = raster_step[i];
            }
        }
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        std::sort(times.begin() + offset[i], times.begin() + offset[i + 1]);
    }
    // Spikes of neuron j at steps in [lo, hi).
    const auto count = [&](std::uint32_t j, std::int64_t lo, std::int64_t hi) -> std::size_t {
        const auto first = times.begin() + offset[j];
        const auto last = times.begin() + offset[j + 1];
        const auto clamp = [](std::int64_t t) {
            return static_cast<std::uint32_t>(
                std::clamp<std::int64_t>(t, 0, std::numeric_limits<std::uint32_t>::max()));
        };
        return static_cast<std::size_t>(std::lower_bound(first, last, clamp(hi)) -
                                        std::lower_bound(first, last, clamp(lo)));
    };

    const std::int64_t dt = params.dt;
    const std::int64_t first_step = static_cast<std::int64_t>(params.keep_begin) + dt;
    const std::int64_t end_step = static_cast<std::int64_t>(params.keep_end) - dt;
    double sum = 0;
    std::size_t neurons = 0;
    for (std::uint32_t nrn = 0; nrn < n; ++nrn) {
        double neuron_sum = 0;
        std::size_t spikes = 0;
        for (std::uint32_t k = offset[nrn]; k < offset[nrn + 1]; ++k) {
            const std::int64_t t = times[k];
            if (t < first_step || t >= end_step) {
                continue;
            }
            std::size_t pre = 0;
            for (std::uint32_t e = graph.in_offset[nrn]; e < graph.in_offset[nrn + 1]; ++e) {
                pre += count(graph.in_pre[e], t - dt, t);
            }
            std::size_t post = 0;
            for (std::uint32_t e = graph.out_offset[nrn]; e < graph.out_offset[nrn + 1]; ++e) {
                post += count(graph.out_post[e], t + 1, t + dt + 1);
            }
            neuron_sum +=
                static_cast<double>(post) / static_cast<double>(std::max<std::size_t>(pre, 1));
            ++spikes;
        }
        if (spikes > 0) {
            sum += neuron_sum / static_cast<double>(spikes);
            ++neurons;
        }
    }
    return neurons > 0 ? sum / static_cast<double>(neurons) : std::nan("");
}

}  // namespace glia::reservoir
