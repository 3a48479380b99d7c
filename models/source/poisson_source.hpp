#pragma once
// poisson_source: a population of independent Poisson spike sources, at most one spike per step
// (PyNN SpikeSourcePoisson). Definition, rate limit and sources: docs/models/poisson_source.md.

#include <glia/model.hpp>

namespace glia::models {

neuron_model poisson_source_model();

// The largest expected number of events per step (rate * dt) a source accepts: a step holds at
// most one spike, so the emitted rate is (1 - exp(-rate dt)) / dt, 4.8 % below `rate` here.
inline constexpr double poisson_source_max_rate_dt = 0.1;

}  // namespace glia::models
