#pragma once
// iaf_cond_exp: leaky integrate-and-fire neuron with exponentially decaying synaptic
// conductances (NEST iaf_cond_exp, PyNN IF_cond_exp). Equations, parameters, integration
// scheme, its measured error and sources: docs/models/iaf_cond_exp.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model iaf_cond_exp_model();

}  // namespace glia::models
