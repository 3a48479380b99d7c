#pragma once
// nalsm_lif: the discrete-time LIF neuron of NALSM (Ivanov & Michmizos 2021, science-spec
// §1.2) at the paper's step order, with its exponential synaptic current and refractoriness.
// docs/models/nalsm_lif.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model nalsm_lif_model();

}  // namespace glia::models
