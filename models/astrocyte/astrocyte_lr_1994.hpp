#pragma once
// astrocyte_lr_1994: the Li-Rinzel astrocyte (IP3, cytosolic calcium, IP3 receptor gating) of
// NEST astrocyte_lr_1994, with its slow inward current (SIC) as graded output. Equations,
// parameters, integration scheme, its measured error and sources:
// docs/models/astrocyte_lr_1994.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model astrocyte_lr_1994_model();

}  // namespace glia::models
