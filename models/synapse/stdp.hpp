#pragma once
// stdp: pair-based spike-timing-dependent plasticity with NEST's stdp_synapse update.
// Equations, parameters, timing and sources: docs/models/stdp.md.

#include <glia/plasticity.hpp>

namespace glia::models {

synapse_model stdp_model();

}  // namespace glia::models
