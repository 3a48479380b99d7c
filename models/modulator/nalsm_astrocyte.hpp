#pragma once
#include <glia/modulator.hpp>

namespace glia::models {
// NALSM's astrocyte (Ivanov & Michmizos 2021): a leaky integrator of the spikes of `excite`
// minus those of `inhibit`, read by astro_stdp. docs/models/nalsm_astrocyte.md.
modulator_model nalsm_astrocyte_model();
}  // namespace glia::models
