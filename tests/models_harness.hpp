#pragma once
// Test harness for the built-in models: makes one block of a model through the real interface
// (model_registry, model_info, value_table, validate, block_args, make_block), resolving
// parameters as the network builder does: a value given here, else the model's default, else
// (a NaN default) an error; then per-value range and choice checks; then the model's own
// cross-parameter checks. Then it steps the block and reads its state.

#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/model.hpp>
#include <glia/model_registry.hpp>

#include "models/register_models.hpp"

namespace glia::test {

struct model_setup {
    std::string model;             // canonical name or alias
    std::size_t size = 1;          // population size
    double dt = 0.1;               // [ms]
    std::uint64_t seed = 1;        // master seed
    neuron_id population_gid = 0;  // global id of population neuron 0
    // Overrides, in canonical units: one value (all neurons) or `size` values (per neuron).
    std::map<std::string, std::vector<double>> params = {};
    std::map<std::string, std::vector<double>> initial = {};
    std::vector<std::vector<step_t>> spike_steps = {};  // spike_source_array: one per neuron
    // The block holds population neurons [first, first + count); count 0: up to the end.
    std::size_t first = 0;
    std::size_t count = 0;
};

// The index of `word` among the choices of parameter `param` of `model`.
inline double choice(std::string_view model, std::string_view param, std::string_view word) {
    model_registry registry;
    models::register_builtin_models(registry);
    const auto& info = registry.find(model)->info;
    const auto& choices = info.params.at(info.param_index(param)).choices;
    for (std::size_t i = 0; i < choices.size(); ++i) {
        if (choices[i] == word) {
            return static_cast<double>(i);
        }
    }
    throw internal_error(fmt::format("{}.{} has no choice '{}'", model, param, word));
}

class model_block {
public:
    explicit model_block(model_setup s): setup_(std::move(s)) {
        models::register_builtin_models(registry_);
        model_ = registry_.find(setup_.model);
        if (model_ == nullptr) {
            throw internal_error(fmt::format("no model '{}'", setup_.model));
        }
        const model_info& info = model_->info;
        params_ = resolve_params(info);
        initial_ = value_table(info.variables.size());
        for (const auto& [name, values]: setup_.initial) {
            const std::size_t i = info.variable_index(name);
            if (i == model_info::npos) {
                throw internal_error(fmt::format("{} has no variable '{}'", info.name, name));
            }
            check_size(name, values);
            initial_.set(i, values);
        }
        if (model_->validate != nullptr) {
            model_->validate(params_, setup_.size);
        }
        const std::size_t count = setup_.count == 0 ? setup_.size - setup_.first : setup_.count;
        const block_args args{
            .info = info,
            .params = params_,
            .initial = initial_,
            .first = setup_.first,
            .count = count,
            .first_gid = setup_.population_gid + static_cast<neuron_id>(setup_.first),
            .dt = setup_.dt,
            .seed = setup_.seed,
            .spike_steps = setup_.spike_steps,
        };
        block_ = model_->make_block(args);
        n_ = count;
        n_ports_ = info.ports.size();
        zeros_.assign(n_ * n_ports_, 0.0);
    }

    const model_info& info() const { return model_->info; }
    std::size_t size() const { return n_; }  // neurons in the block
    step_t now() const { return now_; }      // the next step to advance

    // Advance one step. `input`: n * ports values, neuron major (empty: none); `current`: one
    // value per neuron [pA] or empty. Returns the block-local indices that spiked.
    std::vector<std::uint32_t> step(std::span<const double> input = {},
                                    std::span<const double> current = {}) {
        std::vector<std::uint32_t> spiked;
        if (input.empty()) {
            input = zeros_;
        }
        if (input.size() != n_ * n_ports_ || !(current.empty() || current.size() == n_)) {
            throw internal_error("model_block::step: input or current of the wrong size");
        }
        block_->advance(now_, input, current, spiked);
        ++now_;
        return spiked;
    }

    // Advance as the engine would at step `n` (which need not follow the previous one).
    std::vector<std::uint32_t> step_at(step_t n) {
        now_ = n;
        return step();
    }

    double value(std::string_view var, std::uint32_t local = 0) const {
        return block_->value(variable(var), local);
    }
    std::size_t variable(std::string_view var) const {
        const std::size_t i = info().variable_index(var);
        if (i == model_info::npos) {
            throw internal_error(fmt::format("{} has no variable '{}'", info().name, var));
        }
        return i;
    }
    neuron_block& block() { return *block_; }

private:
    value_table resolve_params(const model_info& info) const {
        for (const auto& [name, values]: setup_.params) {
            if (info.param_index(name) == model_info::npos) {
                throw internal_error(fmt::format("{} has no parameter '{}'", info.name, name));
            }
        }
        value_table table(info.params.size());
        for (std::size_t i = 0; i < info.params.size(); ++i) {
            const param_info& p = info.params[i];
            std::vector<double> values;
            if (const auto it = setup_.params.find(p.name); it != setup_.params.end()) {
                values = it->second;
                check_size(p.name, values);
                if (values.size() > 1 && !p.per_neuron) {
                    throw error(fmt::format("{} must be the same for every neuron", p.name));
                }
            } else if (std::isnan(p.default_value)) {
                throw error(fmt::format("missing required parameter '{}'", p.name));
            } else {
                values = {p.default_value};
            }
            for (const double v: values) {
                check_range(p, v);
            }
            table.set(i, std::move(values));
        }
        return table;
    }

    static void check_range(const param_info& p, double v) {
        bool ok = true;
        switch (p.range) {
        case value_range::any:
            ok = !std::isnan(v);
            break;
        case value_range::positive:
            ok = v > 0;
            break;
        case value_range::non_negative:
            ok = v >= 0;
            break;
        case value_range::unit_interval:
            ok = v >= 0 && v <= 1;
            break;
        }
        if (!p.choices.empty()) {
            ok = ok && v >= 0 && v < static_cast<double>(p.choices.size()) && v == std::floor(v);
        }
        if (!ok) {
            throw error(fmt::format("{} = {} is out of range", p.name, v));
        }
    }

    void check_size(const std::string& name, const std::vector<double>& values) const {
        if (values.size() != 1 && values.size() != setup_.size) {
            throw internal_error(
                fmt::format("{}: {} values for {} neurons", name, values.size(), setup_.size));
        }
    }

    model_setup setup_;
    model_registry registry_;
    const neuron_model* model_ = nullptr;
    value_table params_;
    value_table initial_;
    std::unique_ptr<neuron_block> block_;
    std::size_t n_ = 0;
    std::size_t n_ports_ = 0;
    std::vector<double> zeros_;
    step_t now_ = 0;
};

}  // namespace glia::test
