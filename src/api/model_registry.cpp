#include <glia/model_registry.hpp>

#include <algorithm>

#include <glia/error.hpp>

namespace glia {

void model_registry::add(neuron_model model) {
    auto taken = [&](const std::string& n) { return find(n) != nullptr; };
    if (taken(model.info.name)) {
        throw internal_error("model '" + model.info.name + "' is registered twice");
    }
    for (const auto& a: model.info.aliases) {
        if (taken(a)) {
            throw internal_error("model alias '" + a + "' is registered twice");
        }
    }
    if (model.make_block == nullptr) {
        throw internal_error("model '" + model.info.name + "' has no make_block");
    }
    models_.push_back(std::move(model));
}

const neuron_model* model_registry::find(std::string_view name) const {
    for (const auto& m: models_) {
        if (m.info.name == name ||
            std::find(m.info.aliases.begin(), m.info.aliases.end(), name) != m.info.aliases.end()) {
            return &m;
        }
    }
    return nullptr;
}

std::vector<std::string> model_registry::names() const {
    std::vector<std::string> out;
    out.reserve(models_.size());
    for (const auto& m: models_) {
        out.push_back(m.info.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

void model_registry::add(synapse_model model) {
    auto taken = [&](const std::string& n) {
        return n == "static" || n == "sic" || find_synapse(n) != nullptr;
    };
    if (taken(model.info.name)) {
        throw internal_error("synapse model '" + model.info.name + "' is registered twice");
    }
    for (const auto& a: model.info.aliases) {
        if (taken(a)) {
            throw internal_error("synapse model alias '" + a + "' is registered twice");
        }
    }
    if (model.make_block == nullptr) {
        throw internal_error("synapse model '" + model.info.name + "' has no make_block");
    }
    synapses_.push_back(std::move(model));
}

const synapse_model* model_registry::find_synapse(std::string_view name) const {
    for (const auto& m: synapses_) {
        if (m.info.name == name ||
            std::find(m.info.aliases.begin(), m.info.aliases.end(), name) != m.info.aliases.end()) {
            return &m;
        }
    }
    return nullptr;
}

std::vector<std::string> model_registry::synapse_names() const {
    std::vector<std::string> out{"static", "sic"};
    for (const auto& m: synapses_) {
        out.push_back(m.info.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

void model_registry::add(modulator_model model) {
    auto taken = [&](const std::string& n) { return find_modulator(n) != nullptr; };
    if (taken(model.info.name)) {
        throw internal_error("modulator model '" + model.info.name + "' is registered twice");
    }
    for (const auto& a: model.info.aliases) {
        if (taken(a)) {
            throw internal_error("modulator model alias '" + a + "' is registered twice");
        }
    }
    if (model.make_block == nullptr) {
        throw internal_error("modulator model '" + model.info.name + "' has no make_block");
    }
    modulators_.push_back(std::move(model));
}

const modulator_model* model_registry::find_modulator(std::string_view name) const {
    for (const auto& m: modulators_) {
        if (m.info.name == name ||
            std::find(m.info.aliases.begin(), m.info.aliases.end(), name) != m.info.aliases.end()) {
            return &m;
        }
    }
    return nullptr;
}

std::vector<std::string> model_registry::modulator_names() const {
    std::vector<std::string> out;
    for (const auto& m: modulators_) {
        out.push_back(m.info.name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace glia
