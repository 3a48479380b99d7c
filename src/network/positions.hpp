#pragma once
// Positions of neurons in space (population_spec::grid / positions): the points of a grid in
// their order, lattice or shuffled. The builder lowers them once into population_rt::positions,
// for distance-dependent connectivity and for whatever else reads where a neuron is.

#include <cstdint>
#include <vector>

#include <glia/rng.hpp>
#include <glia/spec.hpp>

namespace glia {

// The number of points of a grid, or 0 if its shape has a zero entry or the product exceeds
// max_grid_points (computed without overflow).
std::uint64_t grid_size(const grid_spec& g);

// The first `count` entries of a uniformly random permutation of [0, n), drawn from `rng` by a
// forward Fisher-Yates shuffle: step i swaps entry i with a uniform entry of [i, n), after which
// entry i is final. So a prefix costs `count` steps whatever n is. `sparse` keeps only the
// entries the swaps moved (memory O(count) for any n) instead of all n; the result is the same.
std::vector<std::uint32_t> shuffled_prefix(std::uint64_t n, std::uint64_t count, rng_stream& rng,
                                           bool sparse);

// The first `count` points (<= grid_size(g)) of grid `g`'s point sequence: lattice order, or
// for `order: random` the lattice points permuted by shuffled_prefix from the stream
// (seed, positions; entity `index`: the grid's index in file order). Neuron k of the grid (its
// populations in file order) takes point k of the sequence. Memory is O(count), never
// O(points of the grid).
std::vector<position> grid_points(const grid_spec& g, std::uint32_t index, std::uint64_t seed,
                                  std::uint64_t count);

}  // namespace glia
