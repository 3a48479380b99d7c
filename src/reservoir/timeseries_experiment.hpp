#pragma once
// A reservoir time-series experiment (`experiment: timeseries`; docs/reservoir_tasks.md): a
// network experiment file (any glia network) driven by a scalar input series u(t), each value
// held for step_duration ms as a step current on a random fraction of one population (half
// of them with a positive gain, half negative); the state after step t is the exponentially
// filtered spike train of every neuron of the state populations, sampled at the end of the
// step; a ridge readout is trained for memory capacity (Jaeger 2002) or NARMA-n (tasks.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "reservoir/tasks.hpp"

namespace glia::reservoir {

struct timeseries_experiment {
    enum class task_kind { memory_capacity, narma };
    std::string source_path;
    std::string config_text;
    std::uint64_t seed = 1;          // the input series and the choice of input neurons
    std::string network;             // the network experiment file (resolved path)
    std::vector<std::string> network_sets;  // --set overrides for the network file
    task_kind task = task_kind::memory_capacity;
    std::size_t steps = 2000;        // length of the series
    double step_duration = 20;       // [ms] each value is held
    std::size_t k_max = 40;          // memory capacity: delays 1..k_max
    narma_params narma;              // NARMA: order and coefficients
    linear_task_params readout;      // washout, train fraction, ridge lambda, standardize
    std::string input_population;
    double input_fraction = 0.2;     // of its neurons receive the signal
    double gain = 10;                // [pA] per unit of the centred signal
    double bias = 0;                 // [pA] added to every input neuron
    std::vector<std::string> state_populations;  // empty: all
    double tau = 20;                 // [ms] filter of the spike trains
    bool save_states = false;        // write the state matrix to /task/states
    int threads = 0;
    std::string output;
};

}  // namespace glia::reservoir
