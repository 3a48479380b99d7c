#include "reservoir/branching.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

branching_result branching_statistics(const adjacency& graph, std::uint32_t n,
                                      std::span<const std::uint32_t> raster_step,
                                      std::span<const std::uint32_t> raster_neuron,
                                      const branching_params& params) {
    if (raster_step.size() != raster_neuron.size()) {
        throw error(fmt::format("branching factor: {} spike steps but {} spike neurons",
                                raster_step.size(), raster_neuron.size()));
    }
    check_csr(graph.in_offset, graph.in_pre, n, "presynaptic");
    check_csr(graph.out_offset, graph.out_post, n, "postsynaptic");

    // The kept spikes as (step, neuron) keys, in time order.
    std::vector<std::uint64_t> spikes;
    for (std::size_t i = 0; i < raster_step.size(); ++i) {
        if (raster_neuron[i] < n && raster_step[i] >= params.keep_begin &&
            raster_step[i] < params.keep_end) {
            spikes.push_back((static_cast<std::uint64_t>(raster_step[i]) << 32) | raster_neuron[i]);
        }
    }
    std::sort(spikes.begin(), spikes.end());
    const auto step_of = [&](std::size_t i) { return static_cast<std::int64_t>(spikes[i] >> 32); };
    const auto neuron_of = [&](std::size_t i) {
        return static_cast<std::uint32_t>(spikes[i] & 0xffffffffu);
    };

    // Sliding windows over the steps, one pass: for the step t being evaluated,
    //   pre_count[m]  = spikes in [t - dt, t) of m's presynaptic neurons,
    //   post_count[m] = spikes in [t + 1, t + dt + 1) of m's postsynaptic neurons,
    // kept up to date by scattering each spike to its neighbours when it enters and when it
    // leaves a window: 4 x (spikes x degree) increments in all, whatever the spike density.
    std::vector<std::uint64_t> pre_count(n, 0), post_count(n, 0);
    const auto scatter = [](std::vector<std::uint64_t>& count, std::span<const std::uint32_t> offset,
                            std::span<const std::uint32_t> targets, std::uint32_t from,
                            bool add) {
        for (std::uint32_t e = offset[from]; e < offset[from + 1]; ++e) {
            if (add) {
                ++count[targets[e]];
            } else {
                --count[targets[e]];
            }
        }
    };
    std::size_t pre_in = 0, pre_out = 0, post_in = 0, post_out = 0;  // window edges in `spikes`

    const std::int64_t dt = params.dt;
    const std::int64_t first_step = static_cast<std::int64_t>(params.keep_begin) + dt;
    const std::int64_t end_step = static_cast<std::int64_t>(params.keep_end) - dt;
    // Per neuron, the sum of bf over its evaluated spikes, added in time order.
    std::vector<double> neuron_sum(n, 0.0);
    std::vector<std::size_t> neuron_spikes(n, 0);
    branching_result result;
    for (std::size_t i = 0; i < spikes.size(); ++i) {
        const std::int64_t t = step_of(i);
        if (t < first_step || t >= end_step) {
            continue;
        }
        // The spikes of m's neighbours enter at step t - dt .. t - 1 (pre) and
        // t + 1 .. t + dt (post) and leave behind them; j's out-neighbours m have j presynaptic.
        for (; pre_in < spikes.size() && step_of(pre_in) < t; ++pre_in) {
            scatter(pre_count, graph.out_offset, graph.out_post, neuron_of(pre_in), true);
        }
        for (; pre_out < spikes.size() && step_of(pre_out) < t - dt; ++pre_out) {
            scatter(pre_count, graph.out_offset, graph.out_post, neuron_of(pre_out), false);
        }
        for (; post_in < spikes.size() && step_of(post_in) <= t + dt; ++post_in) {
            scatter(post_count, graph.in_offset, graph.in_pre, neuron_of(post_in), true);
        }
        for (; post_out < spikes.size() && step_of(post_out) <= t; ++post_out) {
            scatter(post_count, graph.in_offset, graph.in_pre, neuron_of(post_out), false);
        }
        const std::uint32_t m = neuron_of(i);
        const std::uint64_t pre = pre_count[m];
        const std::uint64_t post = post_count[m];
        neuron_sum[m] +=
            static_cast<double>(post) / static_cast<double>(std::max<std::uint64_t>(pre, 1));
        ++neuron_spikes[m];
        result.pre += pre;
        result.post += post;
    }
    double sum = 0;
    for (std::uint32_t m = 0; m < n; ++m) {
        if (neuron_spikes[m] > 0) {
            sum += neuron_sum[m] / static_cast<double>(neuron_spikes[m]);
            ++result.neurons;
            result.spikes += neuron_spikes[m];
        }
    }
    if (result.neurons > 0) {
        result.value = sum / static_cast<double>(result.neurons);
    }
    return result;
}

double branching_factor(const adjacency& graph, std::uint32_t n,
                        std::span<const std::uint32_t> raster_step,
                        std::span<const std::uint32_t> raster_neuron,
                        const branching_params& params) {
    return branching_statistics(graph, n, raster_step, raster_neuron, params).value;
}

}  // namespace glia::reservoir
