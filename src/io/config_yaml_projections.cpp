// The projections section: source and target, the connection rule and its keys, weights and
// delays, synapse models and plasticity, modulators, tripartite pairing, inline edge lists, and
// the check of fixed_total_number groups.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "io/config_yaml_detail.hpp"

namespace glia::io::config_yaml_detail {
namespace {

string rule_name(connectivity_spec::rule r) {
    switch (r) {
    case connectivity_spec::rule::all_to_all:
        return "all_to_all";
    case connectivity_spec::rule::one_to_one:
        return "one_to_one";
    case connectivity_spec::rule::pairwise_bernoulli:
        return "pairwise_bernoulli";
    case connectivity_spec::rule::fixed_indegree:
        return "fixed_indegree";
    case connectivity_spec::rule::fixed_outdegree:
        return "fixed_outdegree";
    case connectivity_spec::rule::fixed_total_number:
        return "fixed_total_number";
    case connectivity_spec::rule::from_list:
        return "from_list";
    case connectivity_spec::rule::distance:
        return "distance";
    }
    return "";
}

constexpr connectivity_spec::rule all_rules[] = {
    connectivity_spec::rule::all_to_all,         connectivity_spec::rule::one_to_one,
    connectivity_spec::rule::pairwise_bernoulli, connectivity_spec::rule::fixed_indegree,
    connectivity_spec::rule::fixed_outdegree,    connectivity_spec::rule::fixed_total_number,
    connectivity_spec::rule::from_list,          connectivity_spec::rule::distance,
};

// The keys only one rule reads.
std::vector<string_view> rule_keys(connectivity_spec::rule r) {
    switch (r) {
    case connectivity_spec::rule::pairwise_bernoulli:
        return {"p"};
    case connectivity_spec::rule::fixed_indegree:
        return {"indegree"};
    case connectivity_spec::rule::fixed_outdegree:
        return {"outdegree"};
    case connectivity_spec::rule::fixed_total_number:
        return {"N", "density", "group"};
    case connectivity_spec::rule::from_list:
        return {"connections", "connections_file"};
    case connectivity_spec::rule::distance:
        return {"C", "lambda"};
    default:
        return {};
    }
}

}  // namespace

projection_spec loader::read_projection(const entry& e) {
    const string path = "projections." + e.key;
    const yaml_map m = as_map(e.value, path);
    std::vector<string_view> common{"source",  "target",         "rule",
                                    "weight",  "delay",          "receptor",
                                    "synapse", "allow_autapses", "allow_multapses",
                                    "plasticity", "modulator", "tripartite"};
    std::vector<string_view> every = common;
    for (auto r: all_rules) {
        for (auto k: rule_keys(r)) {
            every.push_back(k);
        }
    }
    check_keys(m, every);

    projection_spec proj;
    proj.name = e.key;
    proj.where = where(m.node);
    const YAML::Node& source_node = required(m, "source");
    const YAML::Node& target_node = required(m, "target");
    const population_ref& source = populations_[population_at(source_node, sub(path, "source"))];
    const population_ref& target = populations_[population_at(target_node, sub(path, "target"))];
    proj.source = source.name;
    proj.target = target.name;
    const model_info& source_info = source.model->info;
    const model_info& target_info = target.model->info;
    // synapse: sic (graded coupling) connects a graded output to a neuron's current.
    const entry* synapse_entry = m.find("synapse");
    const bool sic = synapse_entry != nullptr && synapse_entry->value.IsScalar() &&
                     synapse_entry->value.Scalar() == "sic";
    if (sic) {
        if (!source_info.emits_graded) {
            fail(source_node, sub(path, "source") + ": synapse: sic needs a source with graded "
                                  "output (astrocytes, e.g. astrocyte_lr_1994); population '" +
                                  source.name + "' (model " + source_info.name + ") has none");
        }
        if (!target_info.accepts_current || !target_info.emits_spikes) {
            fail(target_node, sub(path, "target") + ": population '" + target.name + "' (model " +
                                  target_info.name +
                                  ") takes no sic input: sic connections need a neuron model "
                                  "that accepts current");
        }
    } else {
        if (!source_info.emits_spikes) {
            fail(source_node, sub(path, "source") + ": population '" + source.name + "' (model " +
                                  source_info.name +
                                  ") emits no spikes; its output reaches neurons through "
                                  "synapse: sic");
        }
        if (target_info.ports.empty()) {
            fail(target_node, sub(path, "target") + ": population '" + target.name + "' (model " +
                                  target_info.name +
                                  ") has no input ports and cannot be a target");
        }
    }

    // The rule, and the keys that only other rules read.
    auto& c = proj.connectivity;
    const YAML::Node& rule_node = required(m, "rule");
    const string& rule = text_at(rule_node, sub(path, "rule"), "a connection rule");
    std::vector<string> rule_names;
    bool known_rule = false;
    for (auto r: all_rules) {
        rule_names.push_back(rule_name(r));
        if (rule_name(r) == rule) {
            c.type = r;
            known_rule = true;
        }
    }
    if (!known_rule) {
        fail(rule_node, sub(path, "rule") + ": unknown rule '" + rule +
                            "'; expected one of: " + join(rule_names));
    }
    for (const auto& k: m.entries) {
        for (auto r: all_rules) {
            const auto keys = rule_keys(r);
            if (r != c.type && std::find(keys.begin(), keys.end(), k.key) != keys.end()) {
                fail(override_label(k.value) ? k.value : k.key_node,
                     sub(path, k.key) + " applies only to rule " + rule_name(r) + ", not " + rule);
            }
        }
    }
    if (const entry* a = m.find("allow_autapses")) {
        c.allow_autapses = bool_at(a->value, sub(path, "allow_autapses"));
    }
    if (const entry* a = m.find("allow_multapses")) {
        c.allow_multapses = bool_at(a->value, sub(path, "allow_multapses"));
    }
    const bool same = source.name == target.name;
    const std::uint64_t no_autapse = same && !c.allow_autapses ? 1 : 0;

    // Receptor and the weight dimensions it allows.
    std::vector<dimension> weight_dims;
    if (const entry* r = m.find("receptor"); r != nullptr && sic) {
        fail(r->key_node, sub(path, "receptor") + ": sic connections have no receptor (the "
                                                  "target receives current)");
    }
    if (sic) {
        // a plain number: the target receives weight * the source's output [pA]
    } else if (const entry* r = m.find("receptor")) {
        const string r_path = sub(path, "receptor");
        const string& port = text_at(r->value, r_path, "a port name");
        if (target_info.ports_by_sign) {
            fail(r->value,
                 r_path + ": model " + target_info.name +
                     " has no receptor choice: the port is chosen by the weight's sign (" +
                     target_info.ports[0].name + " for weights >= 0, " + target_info.ports[1].name +
                     " for weights < 0)");
        }
        const std::size_t index = target_info.port_index(port);
        if (index == model_info::npos) {
            std::vector<string> ports;
            for (const auto& p: target_info.ports) {
                ports.push_back(p.name);
            }
            fail(r->value, r_path + ": model " + target_info.name + " has no port '" + port +
                               "'; ports are: " + join(ports));
        }
        proj.receptor = port;
        weight_dims.push_back(target_info.ports[index].weight_dim);
    } else {
        for (const auto& p: target_info.ports) {
            if (std::find(weight_dims.begin(), weight_dims.end(), p.weight_dim) ==
                weight_dims.end()) {
                weight_dims.push_back(p.weight_dim);
            }
        }
    }
    weight_dims.erase(std::remove(weight_dims.begin(), weight_dims.end(), dimension::none),
                      weight_dims.end());

    // Rule parameters and the number of connections, where it is known before building.
    std::size_t n_connections = npos;
    const std::uint64_t S = source.size, T = target.size;
    switch (c.type) {
    case connectivity_spec::rule::all_to_all:
        n_connections = S * T - no_autapse * S;
        break;
    case connectivity_spec::rule::one_to_one:
        if (S != T) {
            fail(m.node, fmt::format("{}: one_to_one needs populations of the same size; '{}' has "
                                     "{} neurons, '{}' has {}",
                                     path, source.name, S, target.name, T));
        }
        n_connections = no_autapse ? 0 : S;
        break;
    case connectivity_spec::rule::pairwise_bernoulli: {
        const YAML::Node& p_node = required(m, "p");
        c.p = quantity_at(p_node, sub(path, "p"), {}).value;
        if (!(c.p >= 0 && c.p <= 1)) {
            fail(p_node, sub(path, "p") + " must be in [0, 1], got " + p_node.Scalar());
        }
        break;
    }
    case connectivity_spec::rule::fixed_indegree:
    case connectivity_spec::rule::fixed_outdegree: {
        const bool in = c.type == connectivity_spec::rule::fixed_indegree;
        const string key = in ? "indegree" : "outdegree";
        const YAML::Node& k_node = required(m, key);
        c.n = integer_at(k_node, sub(path, key), 0);
        const std::uint64_t available = (in ? S : T) - no_autapse;
        if (!c.allow_multapses && c.n > available) {
            fail(k_node, fmt::format("{} = {} is more than the {} distinct {} available without "
                                     "multapses (set allow_multapses: true, or lower it)",
                                     sub(path, key), c.n, available, in ? "sources" : "targets"));
        }
        n_connections = in ? T * c.n : S * c.n;
        break;
    }
    case connectivity_spec::rule::fixed_total_number:
        read_total_number(proj, m, path, source, target);
        n_connections = c.group.empty() && c.density < 0 ? c.n : npos;
        break;
    case connectivity_spec::rule::distance: {
        for (const population_ref* pop: {&source, &target}) {
            if (!pop->has_positions) {
                fail(rule_node, sub(path, "rule") + ": rule distance needs positions for the "
                                    "source and the target; population '" + pop->name +
                                    "' has none (give it positions: {grid: NAME} or a list of "
                                    "[x, y, z])");
            }
        }
        const YAML::Node& c_node = required(m, "C");
        c.C = quantity_at(c_node, sub(path, "C"), {}).value;
        if (!(c.C >= 0 && c.C <= 1)) {
            fail(c_node, sub(path, "C") + " must be in [0, 1], got " + c_node.Scalar());
        }
        const YAML::Node& lambda_node = required(m, "lambda");
        c.lambda = quantity_at(lambda_node, sub(path, "lambda"), {}).value;
        if (!(c.lambda > 0)) {
            fail(lambda_node, sub(path, "lambda") + " must be > 0 (in the length unit of the "
                                                    "positions), got " +
                                  lambda_node.Scalar());
        }
        break;
    }
    case connectivity_spec::rule::from_list: {
        const entry* list = m.find("connections");
        const entry* file = m.find("connections_file");
        if (list == nullptr && file == nullptr) {
            fail(m.node, path + ": rule from_list needs 'connections' or 'connections_file'");
        }
        if (list != nullptr && file != nullptr) {
            fail(override_label(file->value) ? file->value : file->key_node,
                 path + ": give either connections or connections_file, not both");
        }
        if (list != nullptr) {
            read_edges(proj, list->value, sub(path, "connections"), source, target, weight_dims);
        } else {
            read_edges_file(proj, file->value, sub(path, "connections_file"), source, target);
        }
        n_connections = c.edges.size();
        break;
    }
    }

    // Weight and delay: one value per connection when given as a list.
    value_rule weight_rule;
    weight_rule.dims = weight_dims;
    weight_rule.list_size = n_connections;
    weight_rule.list_what = "one per connection of the projection";
    if (c.type != connectivity_spec::rule::all_to_all &&
        c.type != connectivity_spec::rule::one_to_one &&
        c.type != connectivity_spec::rule::from_list) {
        weight_rule.list_message = "a list needs one value per connection in a known order, which "
                                   "only all_to_all, one_to_one and from_list have; use a "
                                   "constant or a distribution";
    }
    if (sic && m.find("weight") == nullptr) {
        proj.weight = value_spec::constant_of(1.0);  // NEST's sic_connection default
        proj.weight.where = proj.where;
    } else {
        proj.weight = value_at(required(m, "weight"), sub(path, "weight"), weight_rule);
    }
    value_rule delay_rule = weight_rule;
    delay_rule.dims = {dimension::time};
    delay_rule.delay = true;
    if (const entry* d = m.find("delay")) {
        proj.delay = value_at(d->value, sub(path, "delay"), delay_rule);
    } else {
        proj.delay = value_spec::constant_of(dt_, dimension::time);
        proj.delay.where = proj.where;
    }
    const synapse_model* synapse_rule = nullptr;
    if (const entry* s = m.find("synapse")) {
        const string& synapse = text_at(s->value, sub(path, "synapse"), "a synapse model");
        if (synapse == "sic") {
            proj.synapse = "sic";
        } else if (synapse != "static") {
            synapse_rule = models_.find_synapse(synapse);
            if (synapse_rule == nullptr) {
                fail(s->value, sub(path, "synapse") + ": unknown synapse model '" + synapse +
                                   "'; synapse models are: " + join(models_.synapse_names()));
            }
            proj.synapse = synapse_rule->info.name;
        }
    }
    if (const entry* pl = m.find("plasticity")) {
        if (synapse_rule == nullptr) {
            fail(pl->key_node, sub(path, "plasticity") + ": " + proj.synapse +
                                   " synapses have no plasticity; set 'synapse' to a rule "
                                   "(" + join(models_.synapse_names()) + ")");
        }
        read_plasticity(proj, as_map(pl->value, sub(path, "plasticity")), *synapse_rule,
                        weight_dims);
    }
    if (const entry* mod = m.find("modulator")) {
        if (synapse_rule == nullptr || !synapse_rule->info.needs_modulator) {
            fail(mod->key_node, sub(path, "modulator") + ": synapse model " + proj.synapse +
                                    " takes no modulator (three-factor rules do, e.g. "
                                    "stdp_dopamine)");
        }
        proj.modulator = text_at(mod->value, sub(path, "modulator"), "a modulator name");
        if (std::find(modulator_names_.begin(), modulator_names_.end(), proj.modulator) ==
            modulator_names_.end()) {
            fail(mod->value, sub(path, "modulator") + ": no modulator '" + proj.modulator +
                                 "'; modulators are: " +
                                 (modulator_names_.empty() ? "(none: define one under "
                                                             "'modulators')"
                                                           : join(modulator_names_)));
        }
    } else if (synapse_rule != nullptr && synapse_rule->info.needs_modulator) {
        bool ignored = false;  // e.g. astro_stdp in mode symmetric or frozen
        if (synapse_rule->ignores_modulator != nullptr) {
            const auto& params = synapse_rule->info.params;
            value_table t(params.size());
            for (std::size_t i = 0; i < params.size(); ++i) {
                const auto it = proj.plasticity.find(params[i].name);
                t.set(i, {it != proj.plasticity.end() && it->second.is_constant()
                              ? it->second.value
                              : params[i].default_value});
            }
            ignored = synapse_rule->ignores_modulator(t);
        }
        if (!ignored) {
            fail(m.node, "missing required key 'modulator' in '" + path + "' (rule " +
                             synapse_rule->info.name +
                             " needs one of the experiment's modulators)");
        }
    }
    if (const entry* t = m.find("tripartite")) {
        if (sic) {
            fail(t->key_node, sub(path, "tripartite") +
                                  ": a sic projection cannot be paired with astrocytes");
        }
        read_tripartite(proj, t->value, sub(path, "tripartite"), target);
    }
    return proj;
}

// fixed_total_number: N or density, and an optional group (checked with its other members in
// check_groups once every projection is read).
void loader::read_total_number(projection_spec& proj, const yaml_map& m, const string& path,
                               const population_ref& source, const population_ref& target) {
    auto& c = proj.connectivity;
    const entry* n_entry = m.find("N");
    const entry* density_entry = m.find("density");
    if (n_entry == nullptr && density_entry == nullptr) {
        fail(m.node, path + ": rule fixed_total_number needs 'N' (the number of connections) or "
                            "'density' (the fraction of all pairs)");
    }
    if (n_entry != nullptr && density_entry != nullptr) {
        fail(override_label(density_entry->value) ? density_entry->value
                                                  : density_entry->key_node,
             path + ": give either N or density, not both");
    }
    const bool no_autapse = source.name == target.name && !c.allow_autapses;
    const std::uint64_t S = source.size, T = target.size;
    const YAML::Node& count_node = n_entry != nullptr ? n_entry->value : density_entry->value;
    if (n_entry != nullptr) {
        c.n = integer_at(n_entry->value, sub(path, "N"), 0);
    } else {
        c.density = quantity_at(density_entry->value, sub(path, "density"), {}).value;
        if (!(c.density >= 0 && c.density <= 1)) {
            fail(density_entry->value, sub(path, "density") + " must be in [0, 1], got " +
                                           density_entry->value.Scalar());
        }
    }
    if (const entry* g = m.find("group")) {
        c.group = text_at(g->value, sub(path, "group"), "a group name");
        group_members_.push_back({proj.name, c.group, g->value, source.name, S, T, no_autapse,
                                  c.density >= 0, c.density, c.n, c.allow_multapses});
        return;  // counted over the group
    }
    const std::uint64_t n =
        c.density >= 0
            ? static_cast<std::uint64_t>(c.density * static_cast<double>(S) *
                                         static_cast<double>(T))
            : c.n;
    const std::uint64_t available = S * T - (no_autapse ? S : 0);
    const string key = sub(path, n_entry != nullptr ? "N" : "density");
    if (n > 0 && available == 0) {
        fail(count_node, key + ": there are no pairs to connect (one neuron, no autapses)");
    }
    if (!c.allow_multapses && n > available) {
        const string asked = n_entry != nullptr
                                 ? fmt::format("{} = {} is", key, n)
                                 : fmt::format("{} = {} gives {} connections,", key,
                                               count_node.Scalar(), n);
        fail(count_node, fmt::format("{} more than the {} distinct pairs available without "
                                     "multapses (set allow_multapses: true, or lower it)",
                                     asked, available));
    }
}

// The members of each fixed_total_number group draw one sequence of pairs: one source, the same
// N or density and allow_multapses; N then counts the pairs of the whole group.
void loader::check_groups() const {
    for (std::size_t i = 0; i < group_members_.size(); ++i) {
        const group_member& first = group_members_[i];
        bool seen = false;
        for (std::size_t j = 0; j < i; ++j) {
            seen = seen || group_members_[j].group == first.group;
        }
        if (seen) {
            continue;
        }
        std::uint64_t n_target = 0, available = 0;
        std::vector<string> names;
        for (std::size_t j = i; j < group_members_.size(); ++j) {
            const group_member& g = group_members_[j];
            if (g.group != first.group) {
                continue;
            }
            const string at = "projections." + g.projection + ".group";
            if (g.source != first.source) {
                fail(g.node, fmt::format("{}: the projections of group '{}' draw their pairs from "
                                         "one source; '{}' has source '{}', '{}' has '{}'",
                                         at, g.group, first.projection, first.source,
                                         g.projection, g.source));
            }
            if (g.by_density != first.by_density ||
                (g.by_density ? g.density != first.density : g.n != first.n)) {
                auto count = [](const group_member& x) {
                    return x.by_density ? fmt::format("density {}", x.density)
                                        : fmt::format("N {}", x.n);
                };
                fail(g.node, fmt::format("{}: the projections of group '{}' must give the same N "
                                         "or density (it counts the pairs of the whole group); "
                                         "'{}' gives {}, '{}' {}",
                                         at, g.group, first.projection, count(first),
                                         g.projection, count(g)));
            }
            if (g.allow_multapses != first.allow_multapses) {
                fail(g.node, fmt::format("{}: the projections of group '{}' must agree on "
                                         "allow_multapses; '{}' and '{}' differ",
                                         at, g.group, first.projection, g.projection));
            }
            n_target += g.target_size;
            available += g.source_size * g.target_size - (g.no_autapse ? g.source_size : 0);
            names.push_back(g.projection);
        }
        const std::uint64_t n =
            first.by_density ? static_cast<std::uint64_t>(first.density *
                                                          static_cast<double>(first.source_size) *
                                                          static_cast<double>(n_target))
                             : first.n;
        const string at = "projections." + first.projection + ".group";
        if (n > 0 && available == 0) {
            fail(first.node, fmt::format("{}: group '{}' has no pairs to connect", at,
                                         first.group));
        }
        if (!first.allow_multapses && n > available) {
            fail(first.node, fmt::format("{}: group '{}' ({}) asks for {} connections, more than "
                                         "the {} distinct pairs available without multapses",
                                         at, first.group, join(names), n, available));
        }
    }
}

// projection.tripartite: {astrocytes, p, pool_type, pool_size, third_in: {weight, delay},
// third_out: {weight, delay}}. Sizes of block pools are checked by the builder.
void loader::read_tripartite(projection_spec& proj, const YAML::Node& n, const string& path,
                             const population_ref& target) {
    const yaml_map m = as_map(n, path);
    check_keys(m, {"astrocytes", "p", "pool_type", "pool_size", "third_in", "third_out"});
    tripartite_spec& t = proj.tripartite;
    t.enabled = true;
    t.where = where(m.node);
    const YAML::Node& astro_node = required(m, "astrocytes");
    const population_ref& astro = populations_[population_at(astro_node, sub(path, "astrocytes"))];
    const model_info& ainfo = astro.model->info;
    if (!ainfo.emits_graded) {
        fail(astro_node, sub(path, "astrocytes") + ": population '" + astro.name + "' (model " +
                             ainfo.name +
                             ") has no graded output to send to the targets (use an astrocyte "
                             "model such as astrocyte_lr_1994)");
    }
    const model_info& tinfo = target.model->info;
    if (!tinfo.accepts_current || !tinfo.emits_spikes) {
        fail(m.node, path + ": the target population '" + target.name + "' (model " + tinfo.name +
                         ") takes no sic input (third_out needs a neuron model that accepts "
                         "current)");
    }
    t.astrocytes = astro.name;
    if (const entry* p = m.find("p")) {
        t.p = quantity_at(p->value, sub(path, "p"), {}).value;
        if (!(t.p >= 0 && t.p <= 1)) {
            fail(p->value, sub(path, "p") + " must be in [0, 1], got " + p->value.Scalar());
        }
    }
    if (const entry* pt = m.find("pool_type")) {
        const string& type = text_at(pt->value, sub(path, "pool_type"), "random or block");
        if (type == "random") {
            t.pool_type = tripartite_spec::pool::random;
        } else if (type == "block") {
            t.pool_type = tripartite_spec::pool::block;
        } else {
            fail(pt->value, sub(path, "pool_type") + " must be random or block, got " +
                                shown(pt->value));
        }
    }
    if (const entry* k = m.find("pool_size")) {
        t.pool_size = integer_at(k->value, sub(path, "pool_size"), 1, astro.size);
    }
    const string no_list = "a list needs one value per connection in a known order, and the "
                           "paired connections are only known when they are drawn; use a "
                           "constant or a distribution";
    // The astrocyte's port takes the third_in weights (ip3: plain numbers).
    std::vector<dimension> in_dims;
    for (const auto& port: ainfo.ports) {
        if (port.weight_dim != dimension::none &&
            std::find(in_dims.begin(), in_dims.end(), port.weight_dim) == in_dims.end()) {
            in_dims.push_back(port.weight_dim);
        }
    }
    auto read_side = [&](string_view key, const std::vector<dimension>& dims, value_spec& weight,
                         value_spec& delay) {
        const entry* e = m.find(key);
        if (e == nullptr) {
            return;
        }
        const string side = sub(path, key);
        const yaml_map sm = as_map(e->value, side);
        check_keys(sm, {"weight", "delay"});
        value_rule w_rule;
        w_rule.dims = dims;
        w_rule.list_message = no_list;
        if (const entry* w = sm.find("weight")) {
            weight = value_at(w->value, sub(side, "weight"), w_rule);
        }
        value_rule d_rule;
        d_rule.dims = {dimension::time};
        d_rule.delay = true;
        d_rule.list_message = no_list;
        if (const entry* d = sm.find("delay")) {
            delay = value_at(d->value, sub(side, "delay"), d_rule);
        }
    };
    read_side("third_in", in_dims, t.in_weight, t.in_delay);
    read_side("third_out", {}, t.out_weight, t.out_delay);
}

// A rule's parameters: one value each (no distributions); units as the rule declares them, or
// the projection's weight unit for weight_unit parameters.
void loader::read_plasticity(projection_spec& proj, const yaml_map& params,
                             const synapse_model& rule, const std::vector<dimension>& weight_dims) {
    const model_info& info = rule.info;
    const string path = "projections." + proj.name + ".plasticity";
    for (const auto& e: params.entries) {
        const std::size_t index = info.param_index(e.key);
        if (index == model_info::npos) {
            std::vector<string> names;
            for (const auto& p: info.params) {
                names.push_back(p.name);
            }
            fail(override_label(e.value) ? e.value : e.key_node,
                 "unknown parameter '" + e.key + "' in '" + path + "' (rule " + info.name +
                     "); parameters are: " + join(names));
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
            value_rule r;
            if (p.weight_unit) {
                r.dims = weight_dims;
            } else if (p.dim != dimension::none) {
                r.dims = {p.dim};
            }
            r.per_element = false;
            r.fixed_message = key_path + " must be a single value";
            r.range = p.range;
            r.range_dim = p.dim;
            v = value_at(e.value, key_path, r);
        }
        proj.plasticity[e.key] = std::move(v);
    }
    for (const auto& p: info.params) {
        if (std::isnan(p.default_value) && proj.plasticity.count(p.name) == 0) {
            fail(params.node, "missing required parameter '" + p.name + "' in '" + path +
                                  "' (rule " + info.name + " has no default for it)");
        }
    }
}

// [[source, target], [source, target, weight, delay], ...] with population-local ids.
void loader::read_edges(projection_spec& proj, const YAML::Node& n, const string& path,
                        const population_ref& source, const population_ref& target,
                        const std::vector<dimension>& weight_dims) {
    if (!n.IsSequence()) {
        fail(n, path + " must be a list, got " + shown(n));
    }
    auto& edges = proj.connectivity.edges;
    edges.reserve(n.size());
    for (std::size_t i = 0; i < n.size(); ++i) {
        const YAML::Node& e = n[i];
        const string e_path = item(path, i);
        if (!e.IsSequence() || (e.size() != 2 && e.size() != 4)) {
            fail(e, e_path + " must be [source, target] or [source, target, weight, delay], got " +
                        (e.IsSequence() ? fmt::format("a list of {}", e.size()) : shown(e)));
        }
        edge_spec edge;
        const std::uint64_t s = integer_at(e[0], item(e_path, 0), 0);
        const std::uint64_t t = integer_at(e[1], item(e_path, 1), 0);
        if (s >= source.size) {
            fail(e[0], fmt::format("{}: source {} is not in population '{}' (size {})", e_path, s,
                                   source.name, source.size));
        }
        if (t >= target.size) {
            fail(e[1], fmt::format("{}: target {} is not in population '{}' (size {})", e_path, t,
                                   target.name, target.size));
        }
        edge.source = static_cast<neuron_id>(s);
        edge.target = static_cast<neuron_id>(t);
        if (e.size() == 4) {
            edge.weight = quantity_at(e[2], item(e_path, 2), weight_dims).value;
            edge.delay = time_at(e[3], item(e_path, 3));
            if (auto problem = steps_problem(item(e_path, 3), edge.delay, e[3].Scalar(), dt_)) {
                fail(e[3], *problem);
            }
        }
        edges.push_back(edge);
    }
}

}  // namespace glia::io::config_yaml_detail
