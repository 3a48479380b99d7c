#pragma once
// The internals of the YAML experiment loader (config_yaml.hpp), shared by its source files:
// the helpers for key paths and messages, the located view of a YAML map, and the loader class.
// The loader's members are defined by seam: the document, --set and the typed readers
// (config_yaml_document.cpp), data files (config_yaml_tables.cpp), the sections
// (config_yaml_network.cpp, config_yaml_projections.cpp, config_yaml_measurement.cpp) and the
// entry points (config_yaml.cpp).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <glia/model.hpp>
#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

#include "io/units.hpp"

namespace glia::io::config_yaml_detail {

using std::string;
using std::string_view;

inline constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
inline constexpr std::uint64_t no_max = std::numeric_limits<std::uint64_t>::max();

// Key paths, messages and numbers (config_yaml_document.cpp).
string join(const std::vector<string>& items, string_view sep = ", ");
string sub(const string& path, string_view key);
string item(const string& path, std::size_t i);
string shown(const YAML::Node& n);
string_view trim(string_view s);
bool parse_u64(string_view s, std::uint64_t& out);
bool parse_double(string_view s, double& out);
bool on_grid(double t, double dt);
// Durations in steps (delays, recording intervals, bins) are at most this many steps: a
// synapse holds its delay in 32 bits, and the network's lowering checks the same bound.
inline constexpr std::int64_t max_duration_steps = 2147483647;
std::optional<string> steps_problem(const string& what, double v, const string& text, double dt);
// "what = v ms is too large for the step clock: ..." when v / dt is above max_duration_steps.
std::optional<string> steps_above_limit(const string& what, double v, double dt);

// One key of a YAML map, in file order.
struct entry {
    string key;
    YAML::Node key_node;
    YAML::Node value;
};

struct yaml_map {
    YAML::Node node;
    string path;  // "" for the top level
    std::vector<entry> entries;

    const entry* find(string_view key) const {
        for (const auto& e: entries) {
            if (e.key == key) {
                return &e;
            }
        }
        return nullptr;
    }
    string in() const { return path.empty() ? "at the top level" : "in '" + path + "'"; }
};

// What a value (value_spec) may be, and the checks on each of its numbers.
struct value_rule {
    std::vector<dimension> dims;   // dimensions the user may write besides a bare number
    bool per_element = true;       // distributions and lists allowed
    string fixed_message;          // why not, when !per_element
    string list_message;           // non-empty: lists are refused, with this reason
    std::size_t list_size = npos;  // lists must have exactly this many entries
    string list_what;              // "one per neuron of 'exc'"
    value_range range = value_range::any;
    dimension range_dim = dimension::none;  // for the unit in range messages
    bool delay = false;           // a delay: > 0, >= dt, on the grid; distributions >= dt/2
    bool allow_infinite = false;  // +-infinity allowed (a parameter whose default is infinite)
    std::function<string(double)> unit_hint;  // non-null: a bare number is refused with this
};

struct population_ref {
    string name;
    std::size_t size = 0;
    const neuron_model* model = nullptr;
    bool has_positions = false;
};

// A grid while populations take its points: how many are taken, and by whom.
struct grid_ref {
    string name;
    std::uint64_t points = 0;
    std::uint64_t used = 0;
    std::vector<string> users;  // population names, in file order
};

// A fixed_total_number projection with a group, checked against its group's first member once
// every projection is read.
struct group_member {
    string projection;
    string group;
    YAML::Node node;  // the group value, for messages
    string source;
    std::uint64_t source_size = 0;
    std::uint64_t target_size = 0;
    bool no_autapse = false;  // the target is the source and autapses are off
    bool by_density = false;
    double density = 0;
    std::uint64_t n = 0;
    bool allow_multapses = true;
};

class loader {
public:
    loader(string file, const model_registry& models):
        file_(std::move(file)),
        base_dir_(std::filesystem::path(file_).parent_path()),
        models_(models) {}

    void apply_override(YAML::Node& root, const string& text);
    experiment_spec read(const YAML::Node& root);
    // The network of a two_phase protocol's phase B: `root` with protocol.phase_b.set applied.
    experiment_spec read_phase_b(YAML::Node root) {
        const YAML::Node& c = root;
        apply_phase_b_set(root, as_map(c["protocol"]["phase_b"]["set"], "protocol.phase_b.set"));
        return read(root);
    }

private:
    // Errors and locations, --set (config_yaml_document.cpp).
    [[noreturn]] void fail(const YAML::Node& at, const string& message) const;
    string where(const YAML::Node& at) const;
    YAML::Mark mark_of(const YAML::Node& at) const;
    const string* override_label(const YAML::Node& at) const;
    void remember_override(const YAML::Node& n, const string& label);
    YAML::Node with_override(const YAML::Node& map, const std::vector<string>& keys, std::size_t i,
                             const YAML::Node& value);

    // Reading nodes (config_yaml_document.cpp).
    yaml_map as_map(const YAML::Node& n, const string& path) const;
    void check_keys(const yaml_map& m, const std::vector<string_view>& allowed) const;
    const YAML::Node& required(const yaml_map& m, string_view key) const;
    const string& text_at(const YAML::Node& n, const string& path, string_view what) const;
    quantity quantity_at(const YAML::Node& n, const string& path,
                         const std::vector<dimension>& dims, bool allow_infinite = false) const;
    double time_at(const YAML::Node& n, const string& path, bool allow_infinite = false) const;
    std::uint64_t integer_at(const YAML::Node& n, const string& path, std::uint64_t min,
                             std::uint64_t max = no_max) const;
    bool bool_at(const YAML::Node& n, const string& path) const;
    value_spec value_at(const YAML::Node& n, const string& path, const value_rule& rule) const;
    void check_range(const YAML::Node& n, const string& path, double v,
                     const value_rule& rule) const;
    void check_grid_time(const YAML::Node& n, const string& path, double t) const;
    std::vector<neuron_id> neurons_at(const YAML::Node& n, const string& path,
                                      const population_ref& pop) const;
    std::size_t population_at(const YAML::Node& n, const string& path) const;
    std::filesystem::path data_path(const string& relative) const;

    // Sections: simulation, grids, populations, modulators, inputs (config_yaml_network.cpp);
    // projections (config_yaml_projections.cpp); record, output, metrics, protocol, readout
    // (config_yaml_measurement.cpp); the top level, read() (config_yaml.cpp).
    simulation_spec read_simulation(const yaml_map& root);
    grid_spec read_grid(const entry& e);
    void read_positions(population_spec& pop, const YAML::Node& n, const string& path);
    population_spec read_population(const entry& e);
    void read_params(population_spec& pop, const yaml_map& params, const neuron_model& model);
    void read_initial(population_spec& pop, const yaml_map& initial, const neuron_model& model);
    void read_spike_times(population_spec& pop, const yaml_map& m, const neuron_model& model);
    projection_spec read_projection(const entry& e);
    void read_total_number(projection_spec& proj, const yaml_map& m, const string& path,
                           const population_ref& source, const population_ref& target);
    void check_groups() const;
    void read_plasticity(projection_spec& proj, const yaml_map& params, const synapse_model& rule,
                         const std::vector<dimension>& weight_dims);
    void read_tripartite(projection_spec& proj, const YAML::Node& n, const string& path,
                         const population_ref& target);
    void read_edges(projection_spec& proj, const YAML::Node& n, const string& path,
                    const population_ref& source, const population_ref& target,
                    const std::vector<dimension>& weight_dims);
    input_spec read_input(const entry& e);
    modulator_spec read_modulator(const entry& e);
    record_spec read_record(const yaml_map& root, const std::vector<projection_spec>& projections);
    void read_report(const entry& e, std::vector<report_spec>& out,
                     std::map<string, string>& names);
    output_spec read_output(const yaml_map& root);
    metrics_spec read_metrics(const yaml_map& root, const simulation_spec& sim);
    protocol_spec read_protocol(const yaml_map& root, const experiment_spec& spec);
    void read_two_phase(const yaml_map& m, protocol_spec& p, const experiment_spec& spec);
    void read_timeseries(const yaml_map& m, protocol_spec& p, const experiment_spec& spec);
    dataset_spec read_dataset(const YAML::Node& n, const string& path);
    readout_spec read_readout(const yaml_map& root);
    // protocol.phase_b.set: each key.path: value entry applied to `root` as --set would,
    // errors located at the entry (config_yaml_document.cpp).
    void apply_phase_b_set(YAML::Node& root, const yaml_map& set);

    // Table files (config_yaml_tables.cpp).
    void read_spike_times_file(population_spec& pop, const YAML::Node& n, const string& path);
    void read_edges_file(projection_spec& proj, const YAML::Node& n, const string& path,
                         const population_ref& source, const population_ref& target);

    string file_;                     // the name used in messages
    std::vector<string> modulator_names_;
    std::filesystem::path base_dir_;  // relative data files are found from here
    const model_registry& models_;
    std::vector<std::pair<YAML::Node, string>> override_nodes_;  // node, "path=value"
    std::vector<std::pair<YAML::Node, YAML::Node>> rebuilt_;     // map copied by --set, original
    double dt_ = 0.1;  // [ms], known once simulation is read
    std::vector<grid_ref> grids_;
    std::vector<population_ref> populations_;
    std::vector<group_member> group_members_;  // in file order
};

}  // namespace glia::io::config_yaml_detail
