#include "network/positions.hpp"

#include <numeric>
#include <unordered_map>
#include <utility>

#include <glia/error.hpp>

namespace glia {

std::uint64_t grid_size(const grid_spec& g) {
    std::uint64_t n = 1;
    for (std::uint64_t d: g.shape) {
        if (d == 0 || d > max_grid_points / n) {
            return 0;
        }
        n *= d;
    }
    return n;
}

std::vector<std::uint32_t> shuffled_prefix(std::uint64_t n, std::uint64_t count, rng_stream& rng,
                                           bool sparse) {
    if (count > n || n > max_grid_points + 1) {
        throw internal_error("shuffled_prefix: count > n or n > 2^32");
    }
    std::vector<std::uint32_t> out;
    out.reserve(count);
    if (!sparse) {
        std::vector<std::uint32_t> a(n);
        std::iota(a.begin(), a.end(), 0U);
        for (std::uint64_t i = 0; i < count; ++i) {
            const std::uint64_t r = i + rng.below(n - i);
            std::swap(a[i], a[r]);
            out.push_back(a[i]);
        }
        return out;
    }
    // Entry p holds p until a swap moves another value there.
    std::unordered_map<std::uint64_t, std::uint32_t> moved;
    moved.reserve(count);
    auto at = [&](std::uint64_t p) {
        const auto it = moved.find(p);
        return it == moved.end() ? static_cast<std::uint32_t>(p) : it->second;
    };
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t r = i + rng.below(n - i);
        const std::uint32_t value = at(r);
        moved[r] = at(i);  // entry i is never read again
        out.push_back(value);
    }
    return out;
}

std::vector<position> grid_points(const grid_spec& g, std::uint32_t index, std::uint64_t seed,
                                  std::uint64_t count) {
    const std::uint64_t n = grid_size(g);
    if (count > n) {
        throw internal_error("grid_points: more points asked than the grid has");
    }
    std::vector<std::uint32_t> point;
    if (g.random) {
        rng_stream rng(stream_key(seed, stream::positions), index, 0);
        // Dense is faster while the grid is not much larger than the part of it in use.
        point = shuffled_prefix(n, count, rng, n > 4 * count + (1U << 16));
    } else {
        point.resize(count);
        std::iota(point.begin(), point.end(), 0U);
    }
    const std::uint64_t d2 = g.shape[1];
    const std::uint64_t d3 = g.shape[2];
    std::vector<position> out;
    out.reserve(count);
    for (std::uint64_t q: point) {
        out.push_back(position{static_cast<double>(q / (d2 * d3)) * g.spacing,
                               static_cast<double>((q / d3) % d2) * g.spacing,
                               static_cast<double>(q % d3) * g.spacing});
    }
    return out;
}

}  // namespace glia
