#pragma once
// izhikevich2006: the STDP of Izhikevich (2006) "Polychronization" (spnet.cpp).
// Equations, timing and parameters: docs/models/izhikevich2006.md.

#include <glia/plasticity.hpp>

namespace glia::models {

synapse_model izhikevich2006_model();

}  // namespace glia::models
