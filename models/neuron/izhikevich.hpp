#pragma once
// izhikevich: the Izhikevich (2003) simple spiking neuron, with the published integration scheme
// of net.m or NEST's consistent forward Euler, and per-neuron a, b, c, d (optionally drawn as in
// the paper's network). Equations, parameters and sources: docs/models/izhikevich.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model izhikevich_model();

}  // namespace glia::models
