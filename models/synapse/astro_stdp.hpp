#pragma once
// astro_stdp: NALSM's astrocyte-modulated pair STDP (Ivanov & Michmizos 2021, science-spec
// §1.4): LTP rate eta, LTD rate A(t) read from a nalsm_astrocyte modulator, roles swapped for
// inhibitory synapses. Equations and parameters: docs/models/nalsm_astrocyte.md.

#include <glia/plasticity.hpp>

namespace glia::models {

synapse_model astro_stdp_model();

}  // namespace glia::models
