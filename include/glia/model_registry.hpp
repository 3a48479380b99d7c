#pragma once
// The neuron models and synapse (plasticity) models a run may use, by name. Filled explicitly
// at start-up (glia::models::register_builtin_models); no self-registration.

#include <string>
#include <string_view>
#include <vector>

#include <glia/model.hpp>
#include <glia/modulator.hpp>
#include <glia/plasticity.hpp>

namespace glia {

class model_registry {
public:
    // Throws internal_error when the name or an alias is taken.
    void add(neuron_model model);
    // By canonical name or alias; nullptr if unknown.
    const neuron_model* find(std::string_view name) const;
    std::vector<std::string> names() const;  // canonical names, sorted

    // Synapse models ("static" and "sic", the graded coupling, are built into the engine and
    // not registered).
    void add(synapse_model model);
    const synapse_model* find_synapse(std::string_view name) const;
    std::vector<std::string> synapse_names() const;  // canonical names, sorted, with the built-ins

    // Modulator models (nalsm_astrocyte, volume_transmitter, ...).
    void add(modulator_model model);
    const modulator_model* find_modulator(std::string_view name) const;
    std::vector<std::string> modulator_names() const;  // canonical names, sorted

private:
    std::vector<neuron_model> models_;
    std::vector<synapse_model> synapses_;
    std::vector<modulator_model> modulators_;
};

}  // namespace glia
