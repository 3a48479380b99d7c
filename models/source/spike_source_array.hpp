#pragma once
// spike_source_array: neurons that emit given spike times (PyNN SpikeSourceArray, NEST
// spike_generator). Semantics and sources: docs/models/spike_source_array.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model spike_source_array_model();

}  // namespace glia::models
