#pragma once
// The only bridge from description to engine: experiment_spec -> network.
// Lowers every population (parameters resolved, checked, per-neuron values drawn), splits the
// neurons into partitions, and builds in parallel each partition's blocks, incoming synapses,
// devices and report pieces. Deterministic: the network does not depend on the thread or
// partition count (every draw is keyed by global ids, see glia/rng.hpp).

#include <vector>

#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

#include "core/network.hpp"

namespace spdlog {
class logger;
}

namespace glia {

// Lowers and checks populations, projections, inputs and reports without building anything
// large. Throws glia::error (located with the spec's `where`) on the first problem.
std::vector<population_rt> lower_populations(const experiment_spec& spec,
                                             const model_registry& models);

// build_network(spec, models, n_partitions, arena), defined in builder.cpp, is declared with
// the network in core/network.hpp.

}  // namespace glia
