#pragma once
// The models a run may use, by name. Filled explicitly at start-up
// (glia::models::register_builtin_models); no self-registration.

#include <string>
#include <string_view>
#include <vector>

#include <glia/model.hpp>

namespace glia {

class model_registry {
public:
    // Throws internal_error when the name or an alias is taken.
    void add(neuron_model model);
    // By canonical name or alias; nullptr if unknown.
    const neuron_model* find(std::string_view name) const;
    std::vector<std::string> names() const;  // canonical names, sorted

private:
    std::vector<neuron_model> models_;
};

}  // namespace glia
