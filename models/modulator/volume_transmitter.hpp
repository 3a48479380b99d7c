#pragma once
#include <glia/modulator.hpp>

namespace glia::models {
// NEST's volume_transmitter: the spikes of a population (or a scripted signal) as the events
// that three-factor rules (stdp_dopamine) read. docs/models/stdp_dopamine.md.
modulator_model volume_transmitter_model();
}  // namespace glia::models
