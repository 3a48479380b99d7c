#pragma once
// The time-series protocol (docs/reservoir_tasks.md) on any network: a scalar series u(t),
// each value held protocol.task.step_duration as a step current on a random fraction of one
// population (half of the chosen neurons with +gain, half with -gain, around a bias); the state
// after step t is the exponentially filtered spike train (tau) of every neuron of the state
// populations at the end of the step; a ridge readout learns memory capacity (Jaeger 2002) or
// NARMA-n (src/reservoir/tasks.hpp). The network runs once on the engine (simulation), the
// series given as step_current_generator inputs.

#include <atomic>
#include <memory>

#include <spdlog/spdlog.h>

#include "protocol/protocol.hpp"

namespace glia::protocol {

struct timeseries_options {
    int threads = 0;
    std::shared_ptr<spdlog::logger> log;
};

struct timeseries_summary {
    outcome status = outcome::completed;
    std::string line;  // the result in words ("memory capacity 2.31 ...")
    double state_rate_hz = 0;
    double simulation_seconds = 0;
    std::size_t state_neurons = 0;
};

// The network with the task's input devices added and the state populations recorded; throws
// glia::error (located at the protocol block) when the input population is too small.
experiment_spec timeseries_network(const experiment_spec& spec);

timeseries_summary run_timeseries(const experiment_spec& spec, const model_registry& models,
                                  const timeseries_options& options, protocol_output& out,
                                  protocol_observer& observer, const std::atomic<bool>& stop);

}  // namespace glia::protocol
