// The entry points of the YAML experiment loader: parse the text, apply the overrides, read
// the top level (every section, in order) and the network of a two_phase protocol's phase B.

#include "io/config_yaml.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <memory>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <glia/error.hpp>

#include "io/config_yaml_detail.hpp"
#include "io/input_file.hpp"
#include "io/yaml_document.hpp"

namespace glia::io {
namespace config_yaml_detail {
namespace {

// Population, projection and input names become HDF5 group names and --set path keys.
bool valid_name(const string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
}

}  // namespace

experiment_spec loader::read(const YAML::Node& root) {
    if (root.IsNull()) {
        throw config_error(file_, 1, 1,
                           "the file is empty; an experiment needs at least 'simulation' and "
                           "'populations'");
    }
    const yaml_map top = as_map(root, "");
    // `sweep` belongs to src/sweep (glia sweep, glia run --point): accepted here, not read.
    check_keys(top,
               {"simulation", "grids", "populations", "projections", "inputs", "modulators",
                "record", "output", "metrics", "protocol", "readout", "sweep"});
    experiment_spec spec;
    spec.simulation = read_simulation(top);

    auto named_entries = [&](const yaml_map& m, string_view what) {
        for (const auto& e: m.entries) {
            if (!valid_name(e.key)) {
                fail(override_label(e.value) ? e.value : e.key_node,
                     m.path + ": '" + e.key + "' is not a valid " + string(what) +
                         " name; use letters, digits, '_' and '-'");
            }
        }
        return m.entries;
    };

    if (const entry* g = top.find("grids")) {
        for (const auto& e: named_entries(as_map(g->value, "grids"), "grid")) {
            spec.grids.push_back(read_grid(e));
        }
    }
    const yaml_map pops = as_map(required(top, "populations"), "populations");
    if (pops.entries.empty()) {
        fail(pops.node, "populations must define at least one population");
    }
    std::uint64_t total = 0;
    for (const auto& e: named_entries(pops, "population")) {
        spec.populations.push_back(read_population(e));
        total += spec.populations.back().size;
        if (total > std::numeric_limits<neuron_id>::max()) {
            fail(e.value, fmt::format("the populations up to '{}' have {} neurons; glia supports "
                                      "at most {} in total",
                                      e.key, total, std::numeric_limits<neuron_id>::max()));
        }
    }
    if (const entry* p = top.find("modulators")) {
        for (const auto& e: named_entries(as_map(p->value, "modulators"), "modulator")) {
            spec.modulators.push_back(read_modulator(e));
            modulator_names_.push_back(e.key);
        }
    }
    if (const entry* p = top.find("projections")) {
        for (const auto& e: named_entries(as_map(p->value, "projections"), "projection")) {
            spec.projections.push_back(read_projection(e));
        }
        check_groups();
    }
    if (const entry* p = top.find("inputs")) {
        for (const auto& e: named_entries(as_map(p->value, "inputs"), "input")) {
            spec.inputs.push_back(read_input(e));
        }
    }
    spec.record = read_record(top, spec.projections);
    spec.output = read_output(top);
    spec.protocol = read_protocol(top, spec);
    if (spec.protocol.type == protocol_spec::kind::two_phase) {
        // The metrics of a plain run's raster do not apply; the protocol measures its own.
        if (const entry* mt = top.find("metrics")) {
            fail(mt->key_node, "metrics: a two_phase protocol measures the branching factor "
                               "on its test samples (protocol.branching_samples); metrics is "
                               "for plain network runs");
        }
    } else {
        spec.metrics = read_metrics(top, spec.simulation);
    }
    if (const entry* ro = top.find("readout")) {
        if (spec.protocol.type != protocol_spec::kind::two_phase) {
            fail(ro->key_node, "readout: only a two_phase protocol trains classifiers (a "
                               "timeseries protocol's readout is set under protocol.task)");
        }
    }
    spec.readout = read_readout(top);
    return spec;
}

}  // namespace config_yaml_detail

namespace {

using config_yaml_detail::loader;
using std::string;

experiment_spec parse(const string& text, const string& name, const std::vector<string>& overrides,
                      const model_registry& models) {
    YAML::Node root = load_yaml_document(text, {name, false, ""});
    loader l(name, models);
    for (const auto& o: overrides) {
        l.apply_override(root, o);
    }
    experiment_spec spec = l.read(root);
    // protocol.phase_b.set: the network of phase B, read and checked like the file itself.
    if (spec.protocol.type == protocol_spec::kind::two_phase) {
        // yaml-cpp throws when a missing node is indexed: one level at a time.
        const YAML::Node& croot = root;
        YAML::Node set;
        if (const YAML::Node protocol = croot["protocol"];
            protocol.IsDefined() && protocol.IsMap()) {
            if (const YAML::Node phase_b = protocol["phase_b"];
                phase_b.IsDefined() && phase_b.IsMap()) {
                set = phase_b["set"];
            }
        }
        if (set.IsDefined() && set.IsMap() && set.size() > 0) {
            // Read from the same nodes (with_override copies only the maps on each path), so
            // errors point into the file.
            loader lb(name, models);
            auto b = std::make_shared<experiment_spec>(lb.read_phase_b(root));
            b->protocol.phase_b_network.reset();
            b->source_path = name;
            spec.protocol.phase_b_network = std::move(b);
        }
    }
    if (root.IsMap()) {
        root.remove("sweep");  // config_text is the experiment of one run, not the sweep's points
    }
    YAML::Emitter emitter;
    emitter << root;
    if (!emitter.good()) {
        throw internal_error("cannot emit the resolved config of " + name + ": " +
                             emitter.GetLastError());
    }
    spec.config_text = emitter.c_str();
    spec.source_path = name;
    return spec;
}

}  // namespace

experiment_spec load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                const model_registry& models) {
    return parse(read_input_file(path, "experiment file"), path, overrides, models);
}

experiment_spec parse_experiment(const std::string& yaml_text, const std::string& name,
                                 const std::vector<std::string>& overrides,
                                 const model_registry& models) {
    return parse(yaml_text, name, overrides, models);
}

}  // namespace glia::io
