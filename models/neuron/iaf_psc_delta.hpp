#pragma once
// iaf_psc_delta: leaky integrate-and-fire neuron with delta-shaped synaptic input.
// Equations, parameters and sources: docs/models/iaf_psc_delta.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model iaf_psc_delta_model();

}  // namespace glia::models
