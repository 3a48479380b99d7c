#pragma once
// Branching factor (NALSM's definition, science-spec §1.8; Ivanov & Michmizos 2021,
// compute_branching_factor.py): how many spikes a spike is followed by downstream, per spike
// that led to it upstream. Near 1: critical; above: supercritical; below: subcritical.
//
// For each spike of neuron n at a step t with keep_begin + dt <= t < keep_end - dt:
//   pre  = spikes of n's presynaptic neurons at steps in [t - dt, t)
//   post = spikes of n's postsynaptic neurons at steps in [t + 1, t + dt + 1)
//   bf   = post / max(pre, 1)
// (only spikes at steps in [keep_begin, keep_end) count). A neuron's BF is the mean over its
// spikes; the raster's BF is the mean over the neurons that have any (NaN if none do).
// NALSM: keep [25, 225) of a 250 ms sample, dt = 4 ms; the reported number is the mean of the
// per-sample values over 20 samples.
// Cost: one sort of the kept spikes and 4 x (kept spikes x mean degree) counter updates (each
// spike enters and leaves a look-back and a look-ahead window once); memory O(n + spikes).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

namespace glia::reservoir {

struct branching_params {
    std::uint32_t keep_begin = 25;
    std::uint32_t keep_end = 225;
    std::uint32_t dt = 4;
};

// A directed graph over neurons 0..n-1 in both CSR directions: the presynaptic neurons of n are
// in_pre[in_offset[n]..in_offset[n + 1]), its postsynaptic ones out_post[out_offset[n]..].
// Multiple synapses between the same pair count once each.
struct adjacency {
    std::span<const std::uint32_t> in_offset, in_pre;
    std::span<const std::uint32_t> out_offset, out_post;
};

// What the mean is made of: the value and how many spikes and neurons it averages.
struct branching_result {
    double value = std::nan("");  // mean over `neurons` of their mean bf; NaN when neurons == 0
    std::size_t spikes = 0;       // spikes evaluated (at steps in [keep_begin + dt, keep_end - dt))
    std::size_t neurons = 0;      // neurons with at least one evaluated spike
    std::uint64_t pre = 0;        // sum of `pre` over the evaluated spikes
    std::uint64_t post = 0;       // sum of `post` over the evaluated spikes
};

// raster_step[i], raster_neuron[i]: the spikes, in any order; neurons >= n are ignored (e.g.
// input neurons). Throws glia::error when the two spans differ in length or the adjacency is
// inconsistent.
branching_result branching_statistics(const adjacency& graph, std::uint32_t n,
                                      std::span<const std::uint32_t> raster_step,
                                      std::span<const std::uint32_t> raster_neuron,
                                      const branching_params& params = {});

// branching_statistics(...).value.
double branching_factor(const adjacency& graph, std::uint32_t n,
                        std::span<const std::uint32_t> raster_step,
                        std::span<const std::uint32_t> raster_neuron,
                        const branching_params& params = {});

}  // namespace glia::reservoir
