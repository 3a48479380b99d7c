// The sections that describe the network, except projections: simulation, grids, populations
// (positions, params, initial, spike_times, homeostasis), modulators and inputs.

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/config_yaml_detail.hpp"

namespace glia::io::config_yaml_detail {
namespace {

// PyNN's names for glia's (NEST's) parameters; applied only where the model has the target.
// cm and i_offset differ in unit as well (nF, nA in PyNN), so a bare number is refused.
constexpr std::pair<string_view, string_view> param_aliases[] = {
    {"v_rest", "E_L"},       {"v_thresh", "V_th"},        {"v_reset", "V_reset"},
    {"tau_refrac", "t_ref"}, {"tau_syn_E", "tau_syn_ex"}, {"tau_syn_I", "tau_syn_in"},
    {"e_rev_E", "E_ex"},     {"e_rev_I", "E_in"},         {"cm", "C_m"},
    {"i_offset", "I_e"},
};
constexpr std::pair<string_view, string_view> variable_aliases[] = {{"v", "V_m"}};

string input_kind_name(input_spec::kind k) {
    switch (k) {
    case input_spec::kind::poisson_generator:
        return "poisson_generator";
    case input_spec::kind::dc_generator:
        return "dc_generator";
    case input_spec::kind::step_current_generator:
        return "step_current_generator";
    case input_spec::kind::noise_generator:
        return "noise_generator";
    case input_spec::kind::dataset_source:
        return "dataset_source";
    }
    return "";
}

constexpr input_spec::kind all_input_kinds[] = {
    input_spec::kind::poisson_generator, input_spec::kind::dc_generator,
    input_spec::kind::step_current_generator, input_spec::kind::noise_generator,
    input_spec::kind::dataset_source};

std::vector<string_view> input_keys(input_spec::kind k) {
    switch (k) {
    case input_spec::kind::poisson_generator:
        return {"rate", "weight", "receptor"};
    case input_spec::kind::dc_generator:
        return {"amplitude"};
    case input_spec::kind::step_current_generator:
        return {"times", "amplitudes"};
    case input_spec::kind::noise_generator:
        return {"mean", "std"};
    case input_spec::kind::dataset_source:
        return {"weight", "receptor", "encoding", "max_rate"};
    }
    return {};
}

}  // namespace

simulation_spec loader::read_simulation(const yaml_map& root) {
    const yaml_map m = as_map(required(root, "simulation"), "simulation");
    check_keys(m, {"dt", "duration", "seed", "threads", "partitions"});
    simulation_spec s;
    s.where = where(m.node);
    if (const entry* e = m.find("dt")) {
        s.dt = time_at(e->value, "simulation.dt");
        if (!(s.dt > 0)) {
            fail(e->value, "simulation.dt must be > 0 ms, got " + e->value.Scalar());
        }
    }
    dt_ = s.dt;
    // A protocol sets the lengths of its runs itself: duration is then optional.
    const entry* duration_entry = m.find("duration");
    if (duration_entry == nullptr && root.find("protocol") == nullptr) {
        required(m, "duration");
    }
    if (duration_entry != nullptr) {
        const YAML::Node& duration = duration_entry->value;
        s.duration = time_at(duration, "simulation.duration");
        if (!(s.duration > 0)) {
            fail(duration, "simulation.duration must be > 0 ms, got " + duration.Scalar());
        }
        check_grid_time(duration, "simulation.duration", s.duration);
    }
    if (const entry* e = m.find("seed")) {
        s.seed = integer_at(e->value, "simulation.seed", 0);
    }
    constexpr auto int_max = static_cast<std::uint64_t>(std::numeric_limits<int>::max());
    if (const entry* e = m.find("threads")) {
        s.threads = static_cast<int>(integer_at(e->value, "simulation.threads", 0, int_max));
    }
    if (const entry* e = m.find("partitions")) {
        s.partitions = static_cast<int>(integer_at(e->value, "simulation.partitions", 0, int_max));
    }
    return s;
}

// grids.<name>: {shape: [d1, d2, d3], spacing, order}.
grid_spec loader::read_grid(const entry& e) {
    const string path = "grids." + e.key;
    const yaml_map m = as_map(e.value, path);
    check_keys(m, {"shape", "spacing", "order"});
    grid_spec g;
    g.name = e.key;
    g.where = where(m.node);
    const string shape_path = sub(path, "shape");
    const YAML::Node& shape = required(m, "shape");
    if (!shape.IsSequence() || shape.size() != 3) {
        fail(shape, shape_path + " must be a list of three sizes [d1, d2, d3], got " +
                        (shape.IsSequence() ? fmt::format("a list of {}", shape.size())
                                            : shown(shape)));
    }
    double points = 1;  // exact: each side < 2^32, and the product is refused above 2^32 - 1
    for (std::size_t k = 0; k < 3; ++k) {
        g.shape[k] = integer_at(shape[k], item(shape_path, k), 1, max_grid_points);
        points *= static_cast<double>(g.shape[k]);
    }
    if (points > static_cast<double>(max_grid_points)) {
        fail(shape, fmt::format("{}: {} x {} x {} = {:.0f} points; a grid has at most {} "
                                "(2^32 - 1)",
                                shape_path, g.shape[0], g.shape[1], g.shape[2], points,
                                max_grid_points));
    }
    if (const entry* sp = m.find("spacing")) {
        g.spacing = quantity_at(sp->value, sub(path, "spacing"), {}).value;
        if (!(g.spacing > 0)) {
            fail(sp->value, sub(path, "spacing") + " must be > 0, got " + sp->value.Scalar());
        }
    }
    if (const entry* o = m.find("order")) {
        const string& order = text_at(o->value, sub(path, "order"), "an order");
        if (order != "lattice" && order != "random") {
            fail(o->value, sub(path, "order") + ": unknown order '" + order +
                               "'; expected one of: lattice, random");
        }
        g.random = order == "random";
    }
    grids_.push_back({g.name, static_cast<std::uint64_t>(points), 0, {}});
    return g;
}

// populations.<name>.positions: {grid: NAME} (the grid's next `size` points) or a list of
// [x, y, z], one per neuron.
void loader::read_positions(population_spec& pop, const YAML::Node& n, const string& path) {
    const string usage = "{grid: NAME} or a list of [x, y, z] (one per neuron)";
    if (n.IsMap()) {
        const yaml_map m = as_map(n, path);
        check_keys(m, {"grid"});
        const string grid_path = sub(path, "grid");
        const YAML::Node& grid_node = required(m, "grid");
        const string& name = text_at(grid_node, grid_path, "a grid name");
        const auto it = std::find_if(grids_.begin(), grids_.end(),
                                     [&](const grid_ref& g) { return g.name == name; });
        if (it == grids_.end()) {
            std::vector<string> names;
            for (const auto& g: grids_) {
                names.push_back(g.name);
            }
            fail(grid_node, grid_path + ": no grid '" + name + "'; grids are: " +
                                (names.empty() ? "(none: define one under 'grids')"
                                               : join(names)));
        }
        if (pop.size > it->points - it->used) {
            fail(grid_node,
                 fmt::format("{}: grid '{}' has {} points; {} are taken by the populations "
                             "before '{}' ({}), which needs {} more",
                             grid_path, name, it->points, it->used, pop.name,
                             it->users.empty() ? string("none") : join(it->users), pop.size));
        }
        it->used += pop.size;
        it->users.push_back(pop.name);
        pop.grid = name;
        return;
    }
    if (!n.IsSequence()) {
        fail(n, path + " must be " + usage + ", got " + shown(n));
    }
    if (n.size() != pop.size) {
        fail(n, fmt::format("{} has {} entries; it needs one [x, y, z] per neuron of '{}' ({})",
                            path, n.size(), pop.name, pop.size));
    }
    pop.positions.reserve(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) {
        const YAML::Node& p = n[i];
        const string p_path = item(path, i);
        if (!p.IsSequence() || p.size() != 3) {
            fail(p, p_path + " must be [x, y, z], got " +
                        (p.IsSequence() ? fmt::format("a list of {}", p.size()) : shown(p)));
        }
        double xyz[3];
        for (std::size_t k = 0; k < 3; ++k) {
            xyz[k] = quantity_at(p[k], item(p_path, k), {}).value;
        }
        pop.positions.push_back(position{xyz[0], xyz[1], xyz[2]});
    }
}

population_spec loader::read_population(const entry& e) {
    const string path = "populations." + e.key;
    const yaml_map m = as_map(e.value, path);
    check_keys(m, {"model", "size", "params", "initial", "spike_times", "spike_times_file",
                   "allow_offgrid_times", "update", "homeostasis", "positions"});
    population_spec pop;
    pop.name = e.key;
    pop.where = where(m.node);
    const YAML::Node& model_node = required(m, "model");
    const string& model_name = text_at(model_node, sub(path, "model"), "a model name");
    const neuron_model* model = models_.find(model_name);
    if (model == nullptr) {
        fail(model_node, sub(path, "model") + ": unknown model '" + model_name +
                             "'; known models: " + join(models_.names()));
    }
    pop.model = model->info.name;
    pop.size = integer_at(required(m, "size"), sub(path, "size"), 1,
                          std::numeric_limits<neuron_id>::max());
    populations_.push_back({pop.name, pop.size, model});
    if (const entry* p = m.find("positions")) {
        read_positions(pop, p->value, sub(path, "positions"));
        populations_.back().has_positions = true;
    }

    const entry* params = m.find("params");
    read_params(pop,
                params ? as_map(params->value, sub(path, "params")) : yaml_map{m.node, path, {}},
                *model);
    if (const entry* initial = m.find("initial")) {
        read_initial(pop, as_map(initial->value, sub(path, "initial")), *model);
    }
    read_spike_times(pop, m, *model);
    if (const entry* update = m.find("update")) {
        const string& mode = text_at(update->value, sub(path, "update"), "an update mode");
        if (mode != "auto" && mode != "clock" && mode != "lazy") {
            fail(update->value, sub(path, "update") + ": unknown update mode '" + mode +
                                    "'; expected one of: auto, clock, lazy");
        }
        pop.update = mode;
    }
    if (const entry* h = m.find("homeostasis")) {
        const string h_path = sub(path, "homeostasis");
        const yaml_map hm = as_map(h->value, h_path);
        check_keys(hm, {"target_rate", "tau", "eta", "interval", "g_min", "g_max"});
        auto& hs = pop.homeostasis;
        hs.enabled = true;
        hs.where = where(hm.node);
        value_rule rate_rule;
        rate_rule.dims = {dimension::rate};
        rate_rule.list_size = pop.size;
        rate_rule.list_what = "one per neuron of '" + pop.name + "'";
        rate_rule.range = value_range::positive;
        rate_rule.range_dim = dimension::rate;
        hs.target_rate = value_at(required(hm, "target_rate"), sub(h_path, "target_rate"),
                                  rate_rule);
        auto positive_time = [&](const char* key, double& out) {
            if (const entry* e2 = hm.find(key)) {
                out = time_at(e2->value, sub(h_path, key));
                if (!(out > 0)) {
                    fail(e2->value, sub(h_path, key) + " must be > 0 ms");
                }
            }
        };
        positive_time("tau", hs.tau);
        positive_time("interval", hs.interval);
        if (const entry* e2 = hm.find("interval")) {
            check_grid_time(e2->value, sub(h_path, "interval"), hs.interval);
        }
        auto number = [&](const char* key, double& out, double min) {
            if (const entry* e2 = hm.find(key)) {
                out = quantity_at(e2->value, sub(h_path, key), {dimension::none}).value;
                if (!(out >= min)) {
                    fail(e2->value, fmt::format("{} must be >= {}", sub(h_path, key), min));
                }
            }
        };
        number("eta", hs.eta, 0.0);
        number("g_min", hs.g_min, 0.0);
        number("g_max", hs.g_max, 0.0);
        if (!(hs.g_max > hs.g_min)) {
            fail(hm.node, h_path + ": g_max must be above g_min");
        }
    }
    return pop;
}

void loader::read_params(population_spec& pop, const yaml_map& params, const neuron_model& model) {
    const model_info& info = model.info;
    const string path = "populations." + pop.name + ".params";
    std::map<string, string> given_as;  // canonical name -> the key the user wrote
    for (const auto& e: params.entries) {
        string name = e.key;
        if (info.param_index(name) == model_info::npos) {
            for (const auto& [alias, canonical]: param_aliases) {
                if (name == alias && info.param_index(canonical) != model_info::npos) {
                    name = canonical;
                }
            }
        }
        const std::size_t index = info.param_index(name);
        if (index == model_info::npos) {
            std::vector<string> names;
            for (const auto& p: info.params) {
                names.push_back(p.name);
            }
            const string message = info.params.empty()
                                       ? "unknown parameter '" + e.key + "' in '" + path +
                                             "': model " + info.name + " has no parameters"
                                       : "unknown parameter '" + e.key + "' in '" + path +
                                             "' (model " + info.name +
                                             "); parameters are: " + join(names);
            fail(override_label(e.value) ? e.value : e.key_node, message);
        }
        if (auto [it, fresh] = given_as.emplace(name, e.key); !fresh) {
            const string& alias = it->second == name ? e.key : it->second;
            fail(override_label(e.value) ? e.value : e.key_node,
                 path + ": '" + alias + "' and '" + name + "' are the same parameter ('" + alias +
                     "' is the PyNN name of '" + name + "'); give only one");
        }
        const param_info& p = info.params[index];
        const string key_path = sub(path, e.key);
        value_spec v;
        if (!p.choices.empty()) {
            const string& word = text_at(e.value, key_path, "one of: " + join(p.choices));
            const auto at = std::find(p.choices.begin(), p.choices.end(), word);
            if (at == p.choices.end()) {
                fail(e.value,
                     key_path + " must be one of: " + join(p.choices) + "; got " + shown(e.value));
            }
            v = value_spec::constant_of(static_cast<double>(at - p.choices.begin()));
            v.where = where(e.value);
        } else if (p.dim == dimension::flag) {
            v = value_spec::constant_of(bool_at(e.value, key_path) ? 1.0 : 0.0);
            v.where = where(e.value);
        } else {
            value_rule rule;
            if (p.dim != dimension::none) {
                rule.dims = {p.dim};
            }
            rule.per_element = p.per_neuron;
            rule.fixed_message = p.name + " cannot differ between neurons in " + info.name;
            rule.list_size = pop.size;
            rule.list_what = "one per neuron of '" + pop.name + "'";
            rule.range = p.range;
            rule.range_dim = p.dim;
            rule.allow_infinite = std::isinf(p.default_value);  // V_min = -inf: "no bound"
            if (e.key == "cm") {
                rule.unit_hint = [](double x) {
                    return fmt::format("PyNN's cm is in nF, glia's C_m in pF; write '{} nF' or "
                                       "'{} pF'",
                                       x, x * 1000);
                };
            } else if (e.key == "i_offset") {
                rule.unit_hint = [](double x) {
                    return fmt::format("PyNN's i_offset is in nA, glia's I_e in pA; write '{} nA' "
                                       "or '{} pA'",
                                       x, x * 1000);
                };
            }
            v = value_at(e.value, key_path, rule);
        }
        pop.params[name] = std::move(v);
    }
    for (const auto& p: info.params) {
        if (std::isnan(p.default_value) && pop.params.count(p.name) == 0) {
            fail(params.node, "missing required parameter '" + p.name + "' in '" + path +
                                  "' (model " + info.name + " has no default for it)");
        }
    }
}

void loader::read_initial(population_spec& pop, const yaml_map& initial,
                          const neuron_model& model) {
    const model_info& info = model.info;
    const string path = "populations." + pop.name + ".initial";
    std::map<string, string> given_as;
    for (const auto& e: initial.entries) {
        string name = e.key;
        if (info.variable_index(name) == model_info::npos) {
            for (const auto& [alias, canonical]: variable_aliases) {
                if (name == alias && info.variable_index(canonical) != model_info::npos) {
                    name = canonical;
                }
            }
        }
        const std::size_t index = info.variable_index(name);
        if (index == model_info::npos) {
            std::vector<string> names;
            for (const auto& v: info.variables) {
                names.push_back(v.name);
            }
            const string message = info.variables.empty()
                                       ? "unknown variable '" + e.key + "' in '" + path +
                                             "': model " + info.name + " has no state variables"
                                       : "unknown variable '" + e.key + "' in '" + path +
                                             "' (model " + info.name +
                                             "); variables are: " + join(names);
            fail(override_label(e.value) ? e.value : e.key_node, message);
        }
        if (auto [it, fresh] = given_as.emplace(name, e.key); !fresh) {
            const string& alias = it->second == name ? e.key : it->second;
            fail(override_label(e.value) ? e.value : e.key_node,
                 path + ": '" + alias + "' and '" + name + "' are the same variable ('" + alias +
                     "' is the PyNN name of '" + name + "'); give only one");
        }
        const variable_info& var = info.variables[index];
        value_rule rule;
        if (var.dim != dimension::none) {
            rule.dims = {var.dim};
        }
        rule.list_size = pop.size;
        rule.list_what = "one per neuron of '" + pop.name + "'";
        pop.initial[name] = value_at(e.value, sub(path, e.key), rule);
    }
}

void loader::read_spike_times(population_spec& pop, const yaml_map& m, const neuron_model& model) {
    const string path = "populations." + pop.name;
    const entry* times = m.find("spike_times");
    const entry* file = m.find("spike_times_file");
    const entry* offgrid = m.find("allow_offgrid_times");
    if (!model.info.uses_spike_times) {
        for (const entry* e: {times, file, offgrid}) {
            if (e != nullptr) {
                std::vector<string> takers;
                for (const auto& name: models_.names()) {
                    if (models_.find(name)->info.uses_spike_times) {
                        takers.push_back(name);
                    }
                }
                fail(override_label(e->value) ? e->value : e->key_node,
                     sub(path, e->key) + ": model " + model.info.name +
                         " does not take spike times" +
                         (takers.empty() ? string() : " (models that do: " + join(takers) + ")"));
            }
        }
        return;
    }
    if (offgrid != nullptr) {
        pop.allow_offgrid_times = bool_at(offgrid->value, sub(path, "allow_offgrid_times"));
    }
    if (times != nullptr && file != nullptr) {
        fail(override_label(file->value) ? file->value : file->key_node,
             path + ": give either spike_times or spike_times_file, not both");
    }
    pop.spike_times.assign(pop.size, {});
    if (file != nullptr) {
        read_spike_times_file(pop, file->value, sub(path, "spike_times_file"));
        return;
    }
    if (times == nullptr) {
        return;  // a source that never fires
    }
    const string times_path = sub(path, "spike_times");
    const YAML::Node& n = times->value;
    if (!n.IsSequence()) {
        fail(n, times_path + " must be a list, got " + shown(n));
    }
    // One list per neuron, or one flat list for all of them.
    const bool per_neuron = n.size() > 0 && n[0].IsSequence();
    auto read_train = [&](const YAML::Node& list, const string& list_path) {
        std::vector<double> train;
        train.reserve(list.size());
        for (std::size_t i = 0; i < list.size(); ++i) {
            const YAML::Node& t_node = list[i];
            const string t_path = item(list_path, i);
            if (t_node.IsSequence()) {
                fail(t_node, t_path + " must be a time, got a list (give either one list of "
                                      "times per neuron or one flat list for every neuron)");
            }
            const double t = time_at(t_node, t_path);
            if (!(t > 0)) {
                fail(t_node, t_path + " must be > 0 ms, got " + t_node.Scalar());
            }
            if (!pop.allow_offgrid_times && !on_grid(t, dt_)) {
                fail(t_node, fmt::format("{} = {} ms is not a multiple of dt = {} ms (set "
                                         "allow_offgrid_times: true to round times to the "
                                         "nearest step)",
                                         t_path, t, dt_));
            }
            if (pop.allow_offgrid_times && t < dt_ / 2) {
                fail(t_node, fmt::format("{} = {} ms is below dt/2 = {} ms: it would round to "
                                         "time 0, before the first step ends",
                                         t_path, t, dt_ / 2));
            }
            if (!train.empty() && !(t > train.back())) {
                fail(t_node, fmt::format("{} = {} ms is not after the previous time ({} ms); "
                                         "spike times must increase strictly",
                                         t_path, t, train.back()));
            }
            train.push_back(t);
        }
        return train;
    };
    if (!per_neuron) {
        const auto train = read_train(n, times_path);
        std::fill(pop.spike_times.begin(), pop.spike_times.end(), train);
        return;
    }
    if (n.size() != pop.size) {
        fail(n, fmt::format("{} has {} lists; it needs one per neuron ({}), or one flat list of "
                            "times for every neuron",
                            times_path, n.size(), pop.size));
    }
    for (std::size_t k = 0; k < n.size(); ++k) {
        if (!n[k].IsSequence()) {
            fail(n[k], item(times_path, k) + " must be a list of times, got " + shown(n[k]) +
                           " (give either one list of times per neuron or one flat list for "
                           "every neuron)");
        }
        pop.spike_times[k] = read_train(n[k], item(times_path, k));
    }
}

// modulators.<name>: {type: MODEL, <role>: population(s)..., <parameter>: value...,
// times: [...], amounts: [...]} for any registered modulator model (include/glia/modulator.hpp):
// a role key names populations (one name or a list), times/amounts a scripted signal (models
// that take events), every other key is a parameter of the model.
modulator_spec loader::read_modulator(const entry& e) {
    const string path = "modulators." + e.key;
    const yaml_map m = as_map(e.value, path);
    modulator_spec mod;
    mod.name = e.key;
    mod.where = where(m.node);
    const modulator_model* model = models_.find_modulator("volume_transmitter");
    if (const entry* type = m.find("type")) {
        const auto names = models_.modulator_names();
        const string& word = text_at(type->value, sub(path, "type"), "one of: " + join(names));
        model = models_.find_modulator(word);
        if (model == nullptr) {
            fail(type->value, sub(path, "type") + " must be one of: " + join(names) + "; got " +
                                  shown(type->value));
        }
    }
    if (model == nullptr) {
        throw internal_error("no modulator model volume_transmitter is registered");
    }
    mod.type = model->info.name;
    std::vector<string> seen;
    for (const auto& en: m.entries) {
        const string k_path = sub(path, en.key);
        if (en.key == "type") {
            continue;
        }
        const auto role = std::find_if(model->roles.begin(), model->roles.end(),
                                       [&](const modulator_role& r) { return r.name == en.key; });
        if (role != model->roles.end()) {
            auto& out = mod.roles[en.key];
            const auto add = [&](const YAML::Node& n, const string& at) {
                const string name = populations_[population_at(n, at)].name;
                if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
                    fail(n, at + ": population '" + name +
                                "' is already listed (each population at most once in a "
                                "modulator)");
                }
                seen.push_back(name);
                out.push_back(name);
            };
            if (en.value.IsScalar()) {
                add(en.value, k_path);
            } else if (en.value.IsSequence()) {
                for (std::size_t i = 0; i < en.value.size(); ++i) {
                    add(en.value[i], item(k_path, i));
                }
            } else {
                fail(en.value, k_path + " must be a population name or a list of them, got " +
                                   shown(en.value));
            }
            continue;
        }
        if ((en.key == "times" || en.key == "amounts") && model->takes_events) {
            continue;  // read below, together
        }
        const std::size_t index = model->info.param_index(en.key);
        if (index == model_info::npos) {
            std::vector<string> keys{"type"};
            for (const auto& r: model->roles) {
                keys.push_back(r.name);
            }
            if (model->takes_events) {
                keys.push_back("times");
                keys.push_back("amounts");
            }
            for (const auto& p: model->info.params) {
                keys.push_back(p.name);
            }
            fail(override_label(en.value) ? en.value : en.key_node,
                 "unknown key '" + en.key + "' in '" + path + "' (modulator " +
                     model->info.name + "); keys are: " + join(keys));
        }
        const param_info& p = model->info.params[index];
        value_rule r;
        if (p.dim != dimension::none) {
            r.dims = {p.dim};
        }
        r.range = p.range;
        r.range_dim = p.dim;
        if (p.components > 1) {
            r.per_element = true;
            r.list_size = p.components;
            r.list_what = "one per axis";
        } else {
            r.per_element = false;
            r.fixed_message = k_path + " must be a single value";
        }
        value_spec v = value_at(en.value, k_path, r);
        if (p.components > 1 && !v.is_constant() && v.type != value_spec::kind::list) {
            fail(en.value, k_path + fmt::format(" must be a number or a list of {}", p.components));
        }
        if (p.dim == dimension::time && v.is_constant()) {
            check_grid_time(en.value, k_path, v.value);
        }
        mod.params[en.key] = std::move(v);
    }
    const entry* times = m.find("times");
    if (model->takes_events && times != nullptr) {
        const YAML::Node& amounts = required(m, "amounts");
        const string t_path = sub(path, "times");
        const string a_path = sub(path, "amounts");
        if (!times->value.IsSequence() || times->value.size() == 0) {
            fail(times->value, t_path + " must be a non-empty list of times, got " +
                                   shown(times->value));
        }
        if (!amounts.IsSequence() || amounts.size() != times->value.size()) {
            fail(amounts, fmt::format("{} must be a list with one number per time in {} ({})",
                                      a_path, t_path, times->value.size()));
        }
        for (std::size_t i = 0; i < times->value.size(); ++i) {
            const double t = time_at(times->value[i], item(t_path, i));
            if (!(t > 0)) {
                fail(times->value[i], item(t_path, i) + " must be > 0 ms");
            }
            if (!mod.times.empty() && !(t > mod.times.back())) {
                fail(times->value[i], item(t_path, i) + " must be after the previous time");
            }
            check_grid_time(times->value[i], item(t_path, i), t);
            mod.times.push_back(t);
            mod.amounts.push_back(
                quantity_at(amounts[i], item(a_path, i), {dimension::none}).value);
        }
    } else if (model->takes_events && m.find("amounts") != nullptr) {
        fail(m.find("amounts")->key_node,
             sub(path, "amounts") + ": only a scripted signal (times) has amounts");
    }
    {
        // What drives the modulator (its parameters are checked when the network is lowered,
        // with their defaults): populations, or a scripted signal for models that take one.
        bool has_role = false;
        for (const auto& [role, names]: mod.roles) {
            has_role = has_role || !names.empty();
        }
        if (model->takes_events && has_role == !mod.times.empty()) {
            fail(m.node, path + ": give either " + model->roles.front().name +
                             " (its spikes drive the modulator) or times and amounts (a "
                             "scripted signal)");
        }
        if (!model->takes_events && !has_role && !model->roles.empty()) {
            std::vector<string> names;
            for (const auto& r: model->roles) {
                names.push_back(r.name);
            }
            fail(m.node, path + ": a " + model->info.name + " reads at least one population: "
                                "give " + join(names));
        }
    }
    return mod;
}

input_spec loader::read_input(const entry& e) {
    const string path = "inputs." + e.key;
    const yaml_map m = as_map(e.value, path);
    std::vector<string_view> every{"type", "target", "neurons", "start", "stop"};
    for (auto k: all_input_kinds) {
        for (auto key: input_keys(k)) {
            if (std::find(every.begin(), every.end(), key) == every.end()) {
                every.push_back(key);
            }
        }
    }
    check_keys(m, every);

    input_spec in;
    in.name = e.key;
    in.where = where(m.node);
    const YAML::Node& type_node = required(m, "type");
    const string& type = text_at(type_node, sub(path, "type"), "a device type");
    std::vector<string> type_names;
    bool known = false;
    for (auto k: all_input_kinds) {
        type_names.push_back(input_kind_name(k));
        if (input_kind_name(k) == type) {
            in.type = k;
            known = true;
        }
    }
    if (!known) {
        fail(type_node, sub(path, "type") + ": unknown device type '" + type +
                            "'; expected one of: " + join(type_names));
    }
    // Keys of the other device types.
    const auto own = input_keys(in.type);
    for (const auto& k: m.entries) {
        std::vector<string> users;
        for (auto kind: all_input_kinds) {
            const auto keys = input_keys(kind);
            if (std::find(keys.begin(), keys.end(), k.key) != keys.end()) {
                users.push_back(input_kind_name(kind));
            }
        }
        if (!users.empty() && std::find(own.begin(), own.end(), k.key) == own.end()) {
            fail(override_label(k.value) ? k.value : k.key_node,
                 sub(path, k.key) + " applies only to " + join(users, " and ") + ", not " + type);
        }
    }

    const YAML::Node& target_node = required(m, "target");
    const population_ref& target = populations_[population_at(target_node, sub(path, "target"))];
    in.target = target.name;
    const model_info& info = target.model->info;
    const bool current = in.type != input_spec::kind::poisson_generator &&
                         in.type != input_spec::kind::dataset_source;
    if (current && !info.accepts_current) {
        fail(target_node, sub(path, "target") + ": population '" + target.name + "' (model " +
                              info.name + ") does not accept current, which a " + type +
                              " injects");
    }
    if (!current && info.ports.empty()) {
        fail(target_node, sub(path, "target") + ": population '" + target.name + "' (model " +
                              info.name + ") has no input ports for a " + type + "'s events");
    }
    if (const entry* n = m.find("neurons")) {
        in.neurons = neurons_at(n->value, sub(path, "neurons"), target);
    }
    if (const entry* s = m.find("start")) {
        in.start = time_at(s->value, sub(path, "start"));
        if (!(in.start >= 0)) {
            fail(s->value, sub(path, "start") + " must be >= 0 ms, got " + s->value.Scalar());
        }
    }
    if (const entry* s = m.find("stop")) {
        in.stop = time_at(s->value, sub(path, "stop"), true);
        if (!(in.stop > in.start)) {
            fail(s->value, fmt::format("{} must be after start ({} ms), got {}", sub(path, "stop"),
                                       in.start, s->value.Scalar()));
        }
    }

    const std::vector<dimension> pA{dimension::current};
    switch (in.type) {
    case input_spec::kind::dataset_source:
    case input_spec::kind::poisson_generator: {
        if (in.type == input_spec::kind::poisson_generator) {
            const YAML::Node& rate = required(m, "rate");
            in.rate = quantity_at(rate, sub(path, "rate"), {dimension::rate}).value;
            if (!(in.rate >= 0)) {
                fail(rate, sub(path, "rate") + " must be >= 0 Hz, got " + rate.Scalar());
            }
        } else {
            if (const entry* enc = m.find("encoding")) {
                in.encoding = text_at(enc->value, sub(path, "encoding"), "nalsm or rate");
                if (in.encoding != "nalsm" && in.encoding != "rate") {
                    fail(enc->value, sub(path, "encoding") + " must be one of: nalsm, rate; got " +
                                         shown(enc->value));
                }
            }
            if (const entry* mr = m.find("max_rate")) {
                if (in.encoding != "rate") {
                    fail(mr->key_node, sub(path, "max_rate") + " applies only to encoding: rate");
                }
                in.max_rate = quantity_at(mr->value, sub(path, "max_rate"), {dimension::rate}).value;
                if (!(in.max_rate > 0)) {
                    fail(mr->value, sub(path, "max_rate") + " must be > 0 Hz, got " +
                                        mr->value.Scalar());
                }
            } else if (in.encoding == "rate") {
                fail(m.node, "missing required key 'max_rate' in '" + path +
                                 "' (encoding rate: the rate of the brightest value)");
            }
        }
        // The port: the receptor, else by the weight's sign, else the model's first port.
        const entry* r = m.find("receptor");
        std::size_t port = npos;
        if (r != nullptr) {
            const string r_path = sub(path, "receptor");
            const string& name = text_at(r->value, r_path, "a port name");
            if (info.ports_by_sign) {
                fail(r->value, r_path + ": model " + info.name +
                                   " has no receptor choice: the port is chosen by the weight's "
                                   "sign (" +
                                   info.ports[0].name + " for weights >= 0, " + info.ports[1].name +
                                   " for weights < 0)");
            }
            port = info.port_index(name);
            if (port == model_info::npos) {
                std::vector<string> ports;
                for (const auto& p: info.ports) {
                    ports.push_back(p.name);
                }
                fail(r->value, r_path + ": model " + info.name + " has no port '" + name +
                                   "'; ports are: " + join(ports));
            }
            in.receptor = name;
        }
        const YAML::Node& weight = required(m, "weight");
        std::vector<dimension> dims;
        for (std::size_t i = 0; i < info.ports.size(); ++i) {
            const auto d = info.ports[i].weight_dim;
            if ((port == npos || port == i) && d != dimension::none &&
                std::find(dims.begin(), dims.end(), d) == dims.end()) {
                dims.push_back(d);
            }
        }
        const quantity w = quantity_at(weight, sub(path, "weight"), dims);
        if (port == npos) {
            port = info.ports_by_sign && w.value < 0 ? 1 : 0;
        }
        if (w.dim != dimension::none && w.dim != info.ports[port].weight_dim) {
            fail(weight, sub(path, "weight") + " must be " + describe(info.ports[port].weight_dim) +
                             " for port " + info.ports[port].name + " of model " + info.name +
                             ", got " + shown(weight));
        }
        in.weight = w.value;
        in.weight_dim = info.ports[port].weight_dim;
        break;
    }
    case input_spec::kind::dc_generator:
        in.amplitude = quantity_at(required(m, "amplitude"), sub(path, "amplitude"), pA).value;
        break;
    case input_spec::kind::step_current_generator: {
        const YAML::Node& times = required(m, "times");
        const YAML::Node& amplitudes = required(m, "amplitudes");
        const string t_path = sub(path, "times");
        const string a_path = sub(path, "amplitudes");
        if (!times.IsSequence() || times.size() == 0) {
            fail(times, t_path + " must be a non-empty list of times, got " + shown(times));
        }
        if (!amplitudes.IsSequence()) {
            fail(amplitudes, a_path + " must be a list of currents, got " + shown(amplitudes));
        }
        if (amplitudes.size() != times.size()) {
            fail(amplitudes, fmt::format("{} has {} entries; it needs one per time in {} ({})",
                                         a_path, amplitudes.size(), t_path, times.size()));
        }
        for (std::size_t i = 0; i < times.size(); ++i) {
            const double t = time_at(times[i], item(t_path, i));
            if (!(t >= 0)) {
                fail(times[i], item(t_path, i) + " must be >= 0 ms, got " + times[i].Scalar());
            }
            if (!in.times.empty() && !(t > in.times.back())) {
                fail(times[i],
                     fmt::format("{} = {} ms must be after {} = {} ms (times must "
                                 "increase strictly)",
                                 item(t_path, i), t, item(t_path, i - 1), in.times.back()));
            }
            check_grid_time(times[i], item(t_path, i), t);
            in.times.push_back(t);
            in.amplitudes.push_back(quantity_at(amplitudes[i], item(a_path, i), pA).value);
        }
        break;
    }
    case input_spec::kind::noise_generator: {
        if (const entry* mean = m.find("mean")) {
            in.mean = quantity_at(mean->value, sub(path, "mean"), pA).value;
        }
        const YAML::Node& std_node = required(m, "std");
        in.std = quantity_at(std_node, sub(path, "std"), pA).value;
        if (!(in.std >= 0)) {
            fail(std_node, sub(path, "std") + " must be >= 0 pA, got " + std_node.Scalar());
        }
        break;
    }
    }
    return in;
}

}  // namespace glia::io::config_yaml_detail
