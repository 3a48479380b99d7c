#pragma once
// The runnable network: what build_network (src/network/builder.hpp) makes of an
// experiment_spec, and the engine (simulation, trial_runner) runs. Lowered populations, the
// partitions with their blocks, synapses and devices, modulators and the graded buffer.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <oneapi/tbb/task_arena.h>
#include <spdlog/logger.h>

#include <glia/model_registry.hpp>
#include <glia/modulator.hpp>
#include <glia/recording.hpp>
#include <glia/spec.hpp>
#include <glia/types.hpp>

#include "core/partition.hpp"

namespace glia {

struct population_rt {
    std::string name;
    const neuron_model* model = nullptr;
    neuron_id first_gid = 0;
    std::size_t size = 0;
    value_table params;   // one entry per model parameter, defaults filled in
    value_table initial;  // one entry per model variable, empty where the model default applies
    std::vector<std::vector<step_t>> spike_steps;  // spike_source_array: emission steps per neuron
    bool spikes_recorded = false;
    std::string update = "auto";  // population_spec::update
    homeostasis_spec homeostasis;
    std::vector<double> target_rates;  // homeostasis: one per neuron [Hz]
    // Where each neuron is (population_spec::grid / positions, lowered: grid points taken in
    // order, explicit lists as given); empty when the population has no positions.
    std::vector<position> positions;
    std::string where;
};

struct network {
    double dt = 0.1;  // [ms]
    step_t n_steps = 0;
    std::uint64_t seed = 0;
    std::vector<population_rt> populations;
    std::vector<std::unique_ptr<partition>> partitions;
    std::vector<report_layout> reports;
    std::vector<std::string> input_names;  // the spec's inputs, in order
    struct projection_info {
        std::string name;
        std::size_t source = 0, target = 0;  // population indices
        std::string rule;                    // "static", "sic" or the plasticity rule
        std::string weight_unit;             // mV, pA or nS ("" for sic: a plain number)
    };
    std::vector<projection_info> projections;  // in spec order
    // Neuromodulators: what three-factor and astrocyte-modulated rules read. Each block
    // reads every epoch's spikes between epochs (simulation_state::record_modulators).
    struct modulator {
        std::string name;
        const modulator_model* model = nullptr;
        std::unique_ptr<modulator_block> block;
    };
    std::vector<modulator> modulators;
    // Graded coupling: per population the graded-buffer column of its first neuron (npos for
    // models without graded output), the buffer's width, and the buffer itself, which the
    // simulation sizes once the epoch length is known (a heap object: partitions point to it).
    std::vector<std::size_t> graded_offset;
    std::size_t n_graded = 0;
    std::unique_ptr<graded_buffer> graded;
    std::size_t n_sic = 0;      // sic connections (after merging equal ones)
    step_t max_sic_delay = 0;   // [steps]
    std::size_t n_neurons = 0;
    std::size_t n_synapses = 0;
    std::size_t synapse_bytes = 0;
    step_t min_delay = 0;  // [steps], spike and sic connections; 0 when there are none
    step_t max_delay = 0;  // [steps]
};

// Builds the network of `spec`: lowers and checks it, then builds every partition in parallel
// in `arena`. Defined by the builder (src/network/builder.cpp), the only bridge from description
// to engine; declared here because the engine builds its own network.
// `log`, if given, receives the progress of a long synapse build.
network build_network(const experiment_spec& spec, const model_registry& models,
                      int n_partitions, oneapi::tbb::task_arena& arena,
                      spdlog::logger* log = nullptr);

}  // namespace glia
