#pragma once
// Drawing per-element values (parameters, initial state, weights, delays) from value_specs.

#include <cstdint>
#include <string>
#include <vector>

#include <glia/rng.hpp>
#include <glia/spec.hpp>

namespace glia {

// One draw of `v` for the element with canonical index `index` (used by lists).
double draw_value(const value_spec& v, rng_stream& rng, std::size_t index);

// The values of `v` for n neurons with global ids first_gid...: a single value when `v` is a
// constant, else one per neuron, neuron k drawn from the stream (seed, purpose, tag; gid).
std::vector<double> per_neuron_values(const value_spec& v, std::uint64_t seed, stream purpose,
                                      std::uint64_t tag, neuron_id first_gid, std::size_t n);

// "file:line:col: " or "" when the location is unknown.
std::string located(const std::string& where);

}  // namespace glia
