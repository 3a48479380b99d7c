#pragma once
// stdp_dopamine: three-factor STDP (eligibility trace x neuromodulator) with NEST's
// stdp_dopamine_synapse semantics. Equations and parameters: docs/models/stdp_dopamine.md.

#include <glia/plasticity.hpp>

namespace glia::models {

synapse_model stdp_dopamine_model();

}  // namespace glia::models
