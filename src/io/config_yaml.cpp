#include "io/config_yaml.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <glia/error.hpp>
#include <glia/model.hpp>

#include "io/units.hpp"

namespace glia::io {
namespace {

using std::string;
using std::string_view;

constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t no_max = std::numeric_limits<std::uint64_t>::max();

// PyNN's names for glia's (NEST's) parameters; applied only where the model has the target.
// cm and i_offset differ in unit as well (nF, nA in PyNN), so a bare number is refused.
constexpr std::pair<string_view, string_view> param_aliases[] = {
    {"v_rest", "E_L"},       {"v_thresh", "V_th"},        {"v_reset", "V_reset"},
    {"tau_refrac", "t_ref"}, {"tau_syn_E", "tau_syn_ex"}, {"tau_syn_I", "tau_syn_in"},
    {"e_rev_E", "E_ex"},     {"e_rev_I", "E_in"},         {"cm", "C_m"},
    {"i_offset", "I_e"},
};
constexpr std::pair<string_view, string_view> variable_aliases[] = {{"v", "V_m"}};

string join(const std::vector<string>& items, string_view sep = ", ") {
    string out;
    for (const auto& s: items) {
        if (!out.empty()) {
            out += sep;
        }
        out += s;
    }
    return out;
}

// Key paths as users write them in --set: "populations.exc.params.tau_m", "connections[3]".
string sub(const string& path, string_view key) {
    return path.empty() ? string(key) : path + "." + string(key);
}
string item(const string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

// What a node holds, for "got ..." in messages.
string shown(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Scalar:
        return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a map";
    default:
        return "nothing";
    }
}

string_view trim(string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

bool parse_u64(string_view s, std::uint64_t& out) {
    s = trim(s);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool parse_double(string_view s, double& out) {
    quantity q;
    if (try_parse_quantity(s, q) != parse_status::ok || q.dim != dimension::none) {
        return false;
    }
    out = q.value;
    return true;
}

string describe_any(const std::vector<dimension>& dims) {
    if (dims.empty()) {
        return describe(dimension::none);
    }
    std::vector<string> parts;
    for (dimension d: dims) {
        parts.push_back(describe(d));
    }
    return join(parts, " or ");
}

// The bound a value_range puts on values, for messages ("must be > 0 ms"); nullopt when
// `v` satisfies it.
std::optional<string> range_problem(value_range r, double v, dimension d) {
    const string_view u = canonical_unit(d);
    const string unit = u.empty() ? "" : " " + string(u);
    switch (r) {
    case value_range::any:
        return std::nullopt;
    case value_range::positive:
        return v > 0 ? std::nullopt : std::optional<string>("must be > 0" + unit);
    case value_range::non_negative:
        return v >= 0 ? std::nullopt : std::optional<string>("must be >= 0" + unit);
    case value_range::unit_interval:
        return v >= 0 && v <= 1 ? std::nullopt : std::optional<string>("must be in [0, 1]");
    }
    return std::nullopt;
}

bool on_grid(double t, double dt) {
    const double n = std::round(t / dt);
    return std::abs(n * dt - t) <= 1e-9 * std::max(1.0, std::abs(t));
}

// A duration that becomes a whole number >= 1 of steps: a delay, a recording interval.
std::optional<string> steps_problem(const string& what, double v, const string& text, double dt) {
    if (!(v > 0)) {
        return what + " must be > 0 ms, got " + text;
    }
    if (v < dt - 1e-9 * std::max(1.0, v)) {
        return fmt::format("{} = {} ms is below dt = {} ms", what, v, dt);
    }
    if (!on_grid(v, dt)) {
        return fmt::format("{} = {} ms is not a multiple of dt = {} ms", what, v, dt);
    }
    return std::nullopt;
}

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
    // Errors and locations.
    [[noreturn]] void fail(const YAML::Node& at, const string& message) const;
    string where(const YAML::Node& at) const;
    YAML::Mark mark_of(const YAML::Node& at) const;
    const string* override_label(const YAML::Node& at) const;
    void remember_override(const YAML::Node& n, const string& label);
    YAML::Node with_override(const YAML::Node& map, const std::vector<string>& keys, std::size_t i,
                             const YAML::Node& value);

    // Reading nodes.
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

    // Sections.
    simulation_spec read_simulation(const yaml_map& root);
    grid_spec read_grid(const entry& e);
    void read_positions(population_spec& pop, const YAML::Node& n, const string& path);
    population_spec read_population(const entry& e);
    void read_params(population_spec& pop, const yaml_map& params, const neuron_model& model);
    void read_initial(population_spec& pop, const yaml_map& initial, const neuron_model& model);
    void read_spike_times(population_spec& pop, const yaml_map& m, const neuron_model& model);
    void read_spike_times_file(population_spec& pop, const YAML::Node& n, const string& path);
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
    void read_edges_file(projection_spec& proj, const YAML::Node& n, const string& path,
                         const population_ref& source, const population_ref& target);
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
    // errors located at the entry.
    void apply_phase_b_set(YAML::Node& root, const yaml_map& set);

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

// ---------------------------------------------------------------------------------------------
// Errors and locations

const string* loader::override_label(const YAML::Node& at) const {
    for (const auto& [node, label]: override_nodes_) {
        if (at.is(node)) {
            return &label;
        }
    }
    return nullptr;
}

// Maps that --set rebuilt have no mark of their own: they stand where the original was.
YAML::Mark loader::mark_of(const YAML::Node& at) const {
    for (const auto& [copy, original]: rebuilt_) {
        if (at.is(copy)) {
            return mark_of(original);
        }
    }
    return at.Mark();
}

void loader::fail(const YAML::Node& at, const string& message) const {
    if (const string* label = override_label(at)) {
        throw error("--set " + *label + ": " + message);
    }
    const YAML::Mark m = mark_of(at);
    if (m.is_null()) {
        throw error(file_ + ": " + message);
    }
    throw config_error(file_, m.line + 1, m.column + 1, message);
}

string loader::where(const YAML::Node& at) const {
    if (const string* label = override_label(at)) {
        return "--set " + *label;
    }
    const YAML::Mark m = mark_of(at);
    if (m.is_null()) {
        return file_;
    }
    return fmt::format("{}:{}:{}", file_, m.line + 1, m.column + 1);
}

void loader::remember_override(const YAML::Node& n, const string& label) {
    override_nodes_.emplace_back(n, label);
    if (n.IsMap()) {
        for (auto it = n.begin(); it != n.end(); ++it) {
            remember_override(it->first, label);
            remember_override(it->second, label);
        }
    } else if (n.IsSequence()) {
        for (auto it = n.begin(); it != n.end(); ++it) {
            remember_override(*it, label);
        }
    }
}

// "a.b.c=value": walk existing maps to a.b, then set (or add) c to the value parsed as YAML.
void loader::apply_override(YAML::Node& root, const string& text) {
    const auto eq = text.find('=');
    if (eq == string::npos) {
        throw error("--set '" + text + "': expected key.path=value, e.g. simulation.duration=2 s");
    }
    const string path(trim(string_view(text).substr(0, eq)));
    const string value_text = text.substr(eq + 1);
    const string label = path + "=" + value_text;
    std::vector<string> keys;
    for (std::size_t start = 0;;) {
        const auto dot = path.find('.', start);
        keys.emplace_back(path.substr(start, dot == string::npos ? string::npos : dot - start));
        if (dot == string::npos) {
            break;
        }
        start = dot + 1;
    }
    for (const auto& k: keys) {
        if (k.empty()) {
            throw error("--set '" + text + "': '" + path +
                        "' is not a key path (keys separated by '.', e.g. simulation.dt)");
        }
    }
    YAML::Node value;
    try {
        value = YAML::Load(value_text);
    }
    catch (const YAML::Exception& e) {
        throw error("--set " + label + ": the value is not valid YAML: " + e.msg);
    }
    if (!root.IsMap()) {
        throw error("--set " + label + ": '" + keys.front() + "' is not in the file");
    }
    YAML::Node parent;
    parent.reset(root);  // reset rebinds; operator= would overwrite the node's content
    string walked;
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
        walked = sub(walked, keys[i]);
        const YAML::Node& const_parent = parent;
        const YAML::Node child = const_parent[keys[i]];  // const: does not insert
        if (!child.IsDefined()) {
            throw error("--set " + label + ": '" + walked + "' is not in the file");
        }
        if (!child.IsMap()) {
            throw error("--set " + label + ": '" + walked + "' is not a map in the file (it is " +
                        shown(child) + ")");
        }
        parent.reset(child);
    }
    root.reset(with_override(root, keys, 0, value));
    remember_override(value, label);
}

// A copy of `map` with keys[i..] set to `value`. The maps on the path are new nodes, so that
// the change does not reach a map the file shares through a YAML alias (params: *lif); every
// other entry is the file's own node, with its mark. Key order is kept (population order is
// the global id order).
YAML::Node loader::with_override(const YAML::Node& map, const std::vector<string>& keys,
                                 std::size_t i, const YAML::Node& value) {
    YAML::Node out(YAML::NodeType::Map);
    const bool leaf = i + 1 == keys.size();
    bool placed = false;
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (!placed && it->first.IsScalar() && it->first.Scalar() == keys[i]) {
            out.force_insert(it->first,
                             leaf ? value : with_override(it->second, keys, i + 1, value));
            placed = true;
        } else {
            out.force_insert(it->first, it->second);
        }
    }
    if (!placed) {
        out.force_insert(keys[i], value);  // a new leaf (apply_override checked the parents)
    }
    rebuilt_.emplace_back(out, map);
    return out;
}

// ---------------------------------------------------------------------------------------------
// Reading nodes

yaml_map loader::as_map(const YAML::Node& n, const string& path) const {
    yaml_map m{n, path, {}};
    if (n.IsNull()) {
        return m;  // "projections:" with nothing under it: an empty map
    }
    if (!n.IsMap()) {
        fail(n, (path.empty() ? "the top level" : path) + " must be a map, got " + shown(n));
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar()) {
            fail(it->first, "keys " + m.in() + " must be names, got " + shown(it->first));
        }
        const string& key = it->first.Scalar();
        if (m.find(key) != nullptr) {
            fail(it->first, "duplicate key '" + key + "' " + m.in());
        }
        m.entries.push_back({key, it->first, it->second});
    }
    return m;
}

void loader::check_keys(const yaml_map& m, const std::vector<string_view>& allowed) const {
    for (const auto& e: m.entries) {
        if (std::find(allowed.begin(), allowed.end(), e.key) == allowed.end()) {
            std::vector<string> names(allowed.begin(), allowed.end());
            const string message =
                "unknown key '" + e.key + "' " + m.in() + "; expected one of: " + join(names);
            if (override_label(e.value) != nullptr) {
                fail(e.value, message);
            }
            fail(e.key_node, message);
        }
    }
}

const YAML::Node& loader::required(const yaml_map& m, string_view key) const {
    const entry* e = m.find(key);
    if (e == nullptr) {
        fail(m.node, "missing required key '" + string(key) + "' " + m.in());
    }
    return e->value;
}

const string& loader::text_at(const YAML::Node& n, const string& path, string_view what) const {
    if (!n.IsScalar()) {
        fail(n, path + " must be " + string(what) + ", got " + shown(n));
    }
    return n.Scalar();
}

quantity loader::quantity_at(const YAML::Node& n, const string& path,
                             const std::vector<dimension>& dims, bool allow_infinite) const {
    if (!n.IsScalar()) {
        fail(n, path + " must be a number, got " + shown(n));
    }
    quantity q;
    switch (try_parse_quantity(n.Scalar(), q)) {
    case parse_status::not_a_number:
        fail(n, path + " must be a number, got " + shown(n));
    case parse_status::unknown_unit:
        if (dims.empty()) {
            fail(n, path + " must be a plain number, got " + shown(n));
        }
        fail(n, path + " has an unknown unit in " + shown(n) + "; expected " + describe_any(dims));
    case parse_status::ok:
        break;
    }
    if (std::isnan(q.value) || (!allow_infinite && std::isinf(q.value))) {
        fail(n, path + " must be a finite number, got " + shown(n));
    }
    if (q.dim != dimension::none && std::find(dims.begin(), dims.end(), q.dim) == dims.end()) {
        fail(n, path + " must be " + describe_any(dims) + ", got " + shown(n));
    }
    return q;
}

double loader::time_at(const YAML::Node& n, const string& path, bool allow_infinite) const {
    return quantity_at(n, path, {dimension::time}, allow_infinite).value;
}

std::uint64_t loader::integer_at(const YAML::Node& n, const string& path, std::uint64_t min,
                                 std::uint64_t max) const {
    const string bound = max == no_max ? fmt::format("an integer >= {}", min)
                                       : fmt::format("an integer in [{}, {}]", min, max);
    std::uint64_t v = 0;
    bool ok = n.IsScalar() && parse_u64(n.Scalar(), v);
    if (n.IsScalar() && !ok) {
        // "1e3", "+5", "3200.0": a number with an integral value.
        double d = 0;
        if (parse_double(n.Scalar(), d) && d >= 0 && d <= 9007199254740992.0 &&
            d == std::floor(d)) {
            v = static_cast<std::uint64_t>(d);
            ok = true;
        }
    }
    if (!ok || v < min || v > max) {
        fail(n, path + " must be " + bound + ", got " + shown(n));
    }
    return v;
}

bool loader::bool_at(const YAML::Node& n, const string& path) const {
    if (n.IsScalar()) {
        const string& s = n.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") {
            return true;
        }
        if (s == "false" || s == "False" || s == "FALSE") {
            return false;
        }
    }
    fail(n, path + " must be true or false, got " + shown(n));
}

void loader::check_range(const YAML::Node& n, const string& path, double v,
                         const value_rule& rule) const {
    if (auto problem = range_problem(rule.range, v, rule.range_dim)) {
        fail(n, path + " " + *problem + ", got " + n.Scalar());
    }
}

// Times the engine switches at (duration, step_current times) are whole steps.
void loader::check_grid_time(const YAML::Node& n, const string& path, double t) const {
    if (std::isfinite(t) && !on_grid(t, dt_)) {
        fail(n, fmt::format("{} = {} ms is not a multiple of dt = {} ms", path, t, dt_));
    }
}

// A value: a quantity, a list of quantities, or {uniform|normal|lognormal: {...}}.
value_spec loader::value_at(const YAML::Node& n, const string& path, const value_rule& rule) const {
    value_spec out;
    out.where = where(n);
    dimension seen = dimension::none;
    // One number of the value; all of them share one dimension (or are bare). Infinity only
    // where the rule allows it, and never as a distribution parameter.
    auto read = [&](const YAML::Node& q_node, const string& q_path, bool infinite_ok = false) {
        const quantity q = quantity_at(q_node, q_path, rule.dims, infinite_ok);
        if (q.dim == dimension::none && rule.unit_hint) {
            fail(q_node, q_path + " needs a unit: " + rule.unit_hint(q.value));
        }
        if (q.dim != dimension::none) {
            if (seen == dimension::none) {
                seen = q.dim;
            } else if (q.dim != seen) {
                fail(q_node, q_path + " must be " + describe(seen) + " like the rest of " + path +
                                 ", got " + shown(q_node));
            }
        }
        return q.value;
    };
    // One number of a constant or a list, with the checks every element passes.
    auto read_checked = [&](const YAML::Node& q_node, const string& q_path) {
        const double v = read(q_node, q_path, rule.allow_infinite);
        check_range(q_node, q_path, v, rule);
        if (rule.delay) {
            if (auto problem = steps_problem(q_path, v, q_node.Scalar(), dt_)) {
                fail(q_node, *problem);
            }
        }
        return v;
    };
    const string rounding = fmt::format(
        "delays drawn from a distribution are rounded to the nearest step of dt = {} ms, and every "
        "delay must be at least one step",
        dt_);
    // The lower bound of a delay distribution (uniform low, normal / lognormal min).
    auto check_delay_bound = [&](const YAML::Node& dist, const string& dist_path,
                                 const entry* bound, double value) {
        if (bound == nullptr) {
            fail(dist,
                 fmt::format("{} needs 'min' >= dt/2 = {} ms: {}", dist_path, dt_ / 2, rounding));
        }
        if (!(value >= dt_ / 2)) {
            fail(bound->value, fmt::format("{} = {} ms is below dt/2 = {} ms: {}",
                                           sub(dist_path, bound->key), value, dt_ / 2, rounding));
        }
    };
    // Range checks on the bounds of a distribution, where a bound makes the range hold.
    auto check_bounds = [&](const YAML::Node& dist, const string& dist_path, const entry* min,
                            double min_v, const entry* max, double max_v, bool lower_needed) {
        const bool lower = rule.range != value_range::any;
        const bool upper = rule.range == value_range::unit_interval;
        auto why = [&] {
            return *range_problem(rule.range, -1, rule.range_dim);
        };
        if (lower && lower_needed) {
            if (min == nullptr) {
                fail(dist, dist_path + " needs 'min': values " + why() +
                               ", and draws outside [min, max] are redrawn");
            }
            check_range(min->value, sub(dist_path, "min"), min_v, rule);
        }
        if (upper) {
            if (max == nullptr) {
                fail(dist, dist_path + " needs 'max': values " + why() +
                               ", and draws outside [min, max] are redrawn");
            }
            check_range(max->value, sub(dist_path, "max"), max_v, rule);
        }
    };

    if (n.IsScalar()) {
        out.value = read_checked(n, path);
    } else if (n.IsSequence()) {
        if (!rule.per_element) {
            fail(n, path + ": " + rule.fixed_message);
        }
        if (!rule.list_message.empty()) {
            fail(n, path + ": " + rule.list_message);
        }
        if (n.size() == 0) {
            fail(n, path + " must not be an empty list");
        }
        if (rule.list_size != npos && n.size() != rule.list_size) {
            fail(n, fmt::format("{} has {} entries; it needs {} ({})", path, n.size(),
                                rule.list_what, rule.list_size));
        }
        out.type = value_spec::kind::list;
        out.values.reserve(n.size());
        for (std::size_t i = 0; i < n.size(); ++i) {
            out.values.push_back(read_checked(n[i], item(path, i)));
        }
    } else if (n.IsMap()) {
        if (n.size() != 1) {
            fail(n, fmt::format("{} must be a number, a list or a map with one key (uniform, "
                                "normal, lognormal or choice), got a map with {} keys",
                                path, n.size()));
        }
        if (!rule.per_element) {
            fail(n, path + ": " + rule.fixed_message);
        }
        const auto it = n.begin();
        const string& kind = text_at(it->first, path, "a distribution name");
        const string dist_path = sub(path, kind);
        const YAML::Node body = it->second;
        if (kind == "uniform") {
            const yaml_map m = as_map(body, dist_path);
            check_keys(m, {"low", "high"});
            const YAML::Node& low_n = required(m, "low");
            const YAML::Node& high_n = required(m, "high");
            out.type = value_spec::kind::uniform;
            out.low = read(low_n, sub(dist_path, "low"));
            out.high = read(high_n, sub(dist_path, "high"));
            if (!(out.low < out.high)) {
                fail(body, dist_path + ": low (" + low_n.Scalar() + ") must be below high (" +
                               high_n.Scalar() + ")");
            }
            check_range(low_n, sub(dist_path, "low"), out.low, rule);
            check_range(high_n, sub(dist_path, "high"), out.high, rule);
            if (rule.delay) {
                check_delay_bound(body, dist_path, m.find("low"), out.low);
            }
        } else if (kind == "normal" || kind == "lognormal") {
            const bool normal = kind == "normal";
            const yaml_map m = as_map(body, dist_path);
            if (normal) {
                check_keys(m, {"mean", "std", "min", "max"});
                out.type = value_spec::kind::normal;
                out.mean = read(required(m, "mean"), sub(dist_path, "mean"));
                const YAML::Node& std_n = required(m, "std");
                out.std = read(std_n, sub(dist_path, "std"));
                if (!(out.std >= 0)) {
                    fail(std_n, sub(dist_path, "std") + " must be >= 0, got " + std_n.Scalar());
                }
            } else {
                check_keys(m, {"mu", "sigma", "min", "max"});
                out.type = value_spec::kind::lognormal;
                out.mu = quantity_at(required(m, "mu"), sub(dist_path, "mu"), {}).value;
                const YAML::Node& sigma_n = required(m, "sigma");
                out.sigma = quantity_at(sigma_n, sub(dist_path, "sigma"), {}).value;
                if (!(out.sigma >= 0)) {
                    fail(sigma_n,
                         sub(dist_path, "sigma") + " must be >= 0, got " + sigma_n.Scalar());
                }
            }
            const entry* min = m.find("min");
            const entry* max = m.find("max");
            if (min != nullptr) {
                out.min = read(min->value, sub(dist_path, "min"));
            }
            if (max != nullptr) {
                out.max = read(max->value, sub(dist_path, "max"));
            }
            if (min != nullptr && max != nullptr && !(out.min < out.max)) {
                fail(body, dist_path + ": min (" + min->value.Scalar() + ") must be below max (" +
                               max->value.Scalar() + ")");
            }
            // A lognormal draw is > 0 already: only an upper range bound needs max.
            check_bounds(body, dist_path, min, out.min, max, out.max, normal);
            if (rule.delay) {
                check_delay_bound(body, dist_path, min, out.min);
            }
        } else if (kind == "choice") {
            // choice: [a, b, ...]: each element one of the values, equally likely.
            if (!body.IsSequence() || body.size() == 0) {
                fail(body, dist_path + " must be a non-empty list of values, got " + shown(body));
            }
            out.type = value_spec::kind::choice;
            for (std::size_t i = 0; i < body.size(); ++i) {
                out.values.push_back(read_checked(body[i], item(dist_path, i)));
            }
        } else {
            fail(it->first, "unknown distribution '" + kind + "' in " + path +
                                "; expected one of: uniform, normal, lognormal, choice");
        }
    } else {
        fail(n, path + " must be a number, got nothing");
    }
    out.dim = seen;
    return out;
}

// all | [ids] | {first: n} | {range: [begin, end)}; empty result: every neuron.
std::vector<neuron_id> loader::neurons_at(const YAML::Node& n, const string& path,
                                          const population_ref& pop) const {
    const string usage = "all, a list of neuron ids, {first: n} or {range: [begin, end]}";
    std::vector<neuron_id> ids;
    if (n.IsScalar()) {
        if (n.Scalar() != "all") {
            fail(n, path + " must be " + usage + ", got " + shown(n));
        }
        return ids;
    }
    if (n.IsSequence()) {
        if (n.size() == 0) {
            fail(n, path + " must not be empty; write 'all' (or leave it out) for every neuron");
        }
        std::set<std::uint64_t> seen;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const std::uint64_t id = integer_at(n[i], item(path, i), 0);
            if (id >= pop.size) {
                fail(n[i], fmt::format("{} = {} is not a neuron of population '{}' (ids 0 to {})",
                                       item(path, i), id, pop.name, pop.size - 1));
            }
            if (!seen.insert(id).second) {
                fail(n[i], fmt::format("{}: neuron {} is listed twice", item(path, i), id));
            }
            ids.push_back(static_cast<neuron_id>(id));
        }
        return ids;
    }
    if (n.IsMap() && n.size() == 1) {
        const yaml_map m = as_map(n, path);
        check_keys(m, {"first", "range"});
        if (const entry* first = m.find("first")) {
            const std::uint64_t k = integer_at(first->value, sub(path, "first"), 1, pop.size);
            for (std::uint64_t i = 0; i < k; ++i) {
                ids.push_back(static_cast<neuron_id>(i));
            }
            return ids;
        }
        const entry* range = m.find("range");
        const string range_path = sub(path, "range");
        if (!range->value.IsSequence() || range->value.size() != 2) {
            fail(range->value, range_path + " must be a list [begin, end] (end excluded), got " +
                                   shown(range->value));
        }
        const std::uint64_t begin = integer_at(range->value[0], item(range_path, 0), 0);
        const std::uint64_t end = integer_at(range->value[1], item(range_path, 1), 0);
        if (!(begin < end && end <= pop.size)) {
            fail(range->value,
                 fmt::format("{} must be [begin, end) with begin < end <= {} (the size of '{}'), "
                             "got [{}, {}]",
                             range_path, pop.size, pop.name, begin, end));
        }
        for (std::uint64_t i = begin; i < end; ++i) {
            ids.push_back(static_cast<neuron_id>(i));
        }
        return ids;
    }
    fail(n, path + " must be " + usage + ", got " + shown(n));
}

std::size_t loader::population_at(const YAML::Node& n, const string& path) const {
    const string& name = text_at(n, path, "a population name");
    for (std::size_t i = 0; i < populations_.size(); ++i) {
        if (populations_[i].name == name) {
            return i;
        }
    }
    std::vector<string> names;
    for (const auto& p: populations_) {
        names.push_back(p.name);
    }
    fail(n, path + ": no population '" + name + "'; populations are: " + join(names));
}

std::filesystem::path loader::data_path(const string& relative) const {
    const std::filesystem::path p(relative);
    return p.is_absolute() ? p : base_dir_ / p;
}

// ---------------------------------------------------------------------------------------------
// Sections

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

// One line per neuron; times [ms] separated by blanks or commas.
void loader::read_spike_times_file(population_spec& pop, const YAML::Node& n, const string& path) {
    const string& name = text_at(n, path, "a file name");
    const auto file = data_path(name);
    std::ifstream in(file);
    if (!in || std::filesystem::is_directory(file)) {
        fail(n, path + ": cannot open spike times file '" + file.string() + "'");
    }
    const string file_name = file.string();
    string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line_no > pop.size) {
            fail(n, fmt::format("{}: '{}' has more than {} lines; it needs one line per neuron "
                                "of '{}'",
                                path, file_name, pop.size, pop.name));
        }
        auto& train = pop.spike_times[line_no - 1];
        std::size_t pos = 0;
        while (pos < line.size()) {
            const auto begin = line.find_first_not_of(" \t,\r", pos);
            if (begin == string::npos) {
                break;
            }
            auto end = line.find_first_of(" \t,\r", begin);
            end = end == string::npos ? line.size() : end;
            const string_view token = string_view(line).substr(begin, end - begin);
            const int line_i = static_cast<int>(line_no);
            const int col = static_cast<int>(begin + 1);
            double t = 0;
            if (!parse_double(token, t) || !std::isfinite(t)) {
                throw config_error(file_name, line_i, col,
                                   "'" + string(token) + "' is not a number (spike times in ms)");
            }
            if (!(t > 0)) {
                throw config_error(file_name, line_i, col,
                                   "spike time must be > 0 ms, got " + string(token));
            }
            if (!pop.allow_offgrid_times && !on_grid(t, dt_)) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is not a multiple of dt = {} "
                                               "ms (set allow_offgrid_times: true in {} to round "
                                               "times to the nearest step)",
                                               t, dt_, "populations." + pop.name));
            }
            if (pop.allow_offgrid_times && t < dt_ / 2) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is below dt/2 = {} ms: it "
                                               "would round to time 0",
                                               t, dt_ / 2));
            }
            if (!train.empty() && !(t > train.back())) {
                throw config_error(file_name, line_i, col,
                                   fmt::format("spike time = {} ms is not after the previous time "
                                               "({} ms); spike times must increase strictly",
                                               t, train.back()));
            }
            train.push_back(t);
            pos = end;
        }
    }
    if (line_no != pop.size) {
        fail(n, fmt::format("{}: '{}' has {} lines; it needs one line per neuron of '{}' ({})",
                            path, file_name, line_no, pop.name, pop.size));
    }
}

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

// CSV: "source,target[,weight,delay]" per line, canonical units, '#' starts a comment.
void loader::read_edges_file(projection_spec& proj, const YAML::Node& n, const string& path,
                             const population_ref& source, const population_ref& target) {
    const string& name = text_at(n, path, "a file name");
    const auto file = data_path(name);
    std::ifstream in(file);
    if (!in || std::filesystem::is_directory(file)) {
        fail(n, path + ": cannot open connections file '" + file.string() + "'");
    }
    const string file_name = file.string();
    auto& edges = proj.connectivity.edges;
    string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        const string_view content = string_view(line).substr(0, line.find('#'));
        if (trim(content).empty()) {
            continue;
        }
        std::vector<std::pair<string_view, int>> fields;  // text, 1-based column
        for (std::size_t pos = 0;;) {
            const auto comma = content.find(',', pos);
            const auto raw =
                content.substr(pos, comma == string_view::npos ? string_view::npos : comma - pos);
            const auto lead = raw.find_first_not_of(" \t");
            fields.emplace_back(trim(raw),
                                static_cast<int>(pos + (lead == string_view::npos ? 0 : lead)) + 1);
            if (comma == string_view::npos) {
                break;
            }
            pos = comma + 1;
        }
        if (fields.size() != 2 && fields.size() != 4) {
            throw config_error(file_name, line_no, 1,
                               fmt::format("expected source,target or source,target,weight,delay; "
                                           "got {} fields",
                                           fields.size()));
        }
        auto id = [&](std::size_t k, const population_ref& pop, string_view role) {
            std::uint64_t v = 0;
            if (!parse_u64(fields[k].first, v)) {
                throw config_error(
                    file_name, line_no, fields[k].second,
                    fmt::format("{} must be an integer >= 0, got '{}'", role, fields[k].first));
            }
            if (v >= pop.size) {
                throw config_error(file_name, line_no, fields[k].second,
                                   fmt::format("{} {} is not in population '{}' (size {})", role, v,
                                               pop.name, pop.size));
            }
            return static_cast<neuron_id>(v);
        };
        auto number = [&](std::size_t k, string_view role) {
            double v = 0;
            if (!parse_double(fields[k].first, v) || !std::isfinite(v)) {
                throw config_error(file_name, line_no, fields[k].second,
                                   fmt::format("{} must be a finite number in canonical units, "
                                               "got '{}'",
                                               role, fields[k].first));
            }
            return v;
        };
        edge_spec edge;
        edge.source = id(0, source, "source");
        edge.target = id(1, target, "target");
        if (fields.size() == 4) {
            edge.weight = number(2, "weight");
            edge.delay = number(3, "delay [ms]");
            if (auto problem = steps_problem("delay", edge.delay, string(fields[3].first), dt_)) {
                throw config_error(file_name, line_no, fields[3].second, *problem);
            }
        }
        edges.push_back(edge);
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

record_spec loader::read_record(const yaml_map& root,
                                const std::vector<projection_spec>& projections) {
    record_spec rec;
    const entry* record = root.find("record");
    const entry* spikes = nullptr;
    std::optional<yaml_map> m;
    if (record != nullptr) {
        m = as_map(record->value, "record");
        check_keys(*m, {"spikes", "reports", "weights"});
        spikes = m->find("spikes");
    }
    if (spikes == nullptr || (spikes->value.IsScalar() && spikes->value.Scalar() == "all")) {
        for (const auto& p: populations_) {
            if (p.model->info.emits_spikes) {  // astrocytes have no spikes to record
                rec.spikes.push_back(p.name);
            }
        }
    } else if (spikes->value.IsScalar() && spikes->value.Scalar() == "none") {
        // nothing recorded
    } else if (spikes->value.IsSequence()) {
        for (std::size_t i = 0; i < spikes->value.size(); ++i) {
            const YAML::Node& n = spikes->value[i];
            const population_ref& pop = populations_[population_at(n, item("record.spikes", i))];
            const string& name = pop.name;
            if (std::find(rec.spikes.begin(), rec.spikes.end(), name) != rec.spikes.end()) {
                fail(n, item("record.spikes", i) + ": population '" + name + "' is listed twice");
            }
            if (!pop.model->info.emits_spikes) {
                fail(n, item("record.spikes", i) + ": population '" + name + "' (model " +
                            pop.model->info.name +
                            ") emits no spikes; record its state with a report");
            }
            rec.spikes.push_back(name);
        }
    } else {
        fail(spikes->value, "record.spikes must be all, none or a list of population names "
                            "(e.g. [exc]), got " +
                                shown(spikes->value));
    }
    if (m) {
        if (const entry* reports = m->find("reports")) {
            const yaml_map r = as_map(reports->value, "record.reports");
            std::map<string, string> names;  // report name -> key path that defined it
            for (const auto& e: r.entries) {
                read_report(e, rec.reports, names);
            }
        }
        if (const entry* weights = m->find("weights")) {
            // record.weights: {<projection>: {interval, start, stop}}
            const yaml_map w = as_map(weights->value, "record.weights");
            for (const auto& e: w.entries) {
                const string path = "record.weights." + e.key;
                const projection_spec* proj = nullptr;
                std::vector<string> plastic;
                for (const auto& p: projections) {
                    if (p.name == e.key) {
                        proj = &p;
                    }
                    if (p.synapse != "static" && p.synapse != "sic") {
                        plastic.push_back(p.name);
                    }
                }
                const string choices = plastic.empty() ? "there is none"
                                                       : "plastic projections are: " + join(plastic);
                if (proj == nullptr) {
                    fail(e.key_node, path + ": no projection '" + e.key + "'; " + choices);
                }
                if (proj->synapse == "static" || proj->synapse == "sic") {
                    fail(e.key_node, path + ": projection '" + e.key + "' is " + proj->synapse +
                                         " (its weights never change); " + choices);
                }
                const yaml_map wm = as_map(e.value, path);
                check_keys(wm, {"interval", "start", "stop"});
                weight_record_spec ws;
                ws.projection = e.key;
                ws.where = where(wm.node);
                if (const entry* i = wm.find("interval")) {
                    ws.interval = time_at(i->value, sub(path, "interval"));
                    if (!(ws.interval >= dt_) || !on_grid(ws.interval, dt_)) {
                        fail(i->value, fmt::format("{} must be a multiple of dt = {} ms, got {} ms",
                                                   sub(path, "interval"), dt_, ws.interval));
                    }
                }
                if (const entry* t = wm.find("start")) {
                    ws.start = time_at(t->value, sub(path, "start"));
                    if (!(ws.start >= 0)) {
                        fail(t->value, sub(path, "start") + " must be >= 0 ms");
                    }
                }
                if (const entry* t = wm.find("stop")) {
                    ws.stop = time_at(t->value, sub(path, "stop"), true);
                    if (!(ws.stop > ws.start)) {
                        fail(t->value, sub(path, "stop") + " must be after start");
                    }
                }
                rec.weights.push_back(ws);
            }
        }
    }
    return rec;
}

void loader::read_report(const entry& e, std::vector<report_spec>& out,
                         std::map<string, string>& names) {
    const string path = "record.reports." + e.key;
    const yaml_map m = as_map(e.value, path);
    check_keys(m, {"population", "variable", "variables", "neurons", "start", "stop", "interval"});
    report_spec r;
    r.where = where(m.node);
    const population_ref& pop =
        populations_[population_at(required(m, "population"), sub(path, "population"))];
    r.population = pop.name;
    const model_info& info = pop.model->info;

    const entry* variable = m.find("variable");
    const entry* variables = m.find("variables");
    if (variable == nullptr && variables == nullptr) {
        fail(m.node, "missing required key 'variable' in '" + path +
                         "' (or 'variables' with a list of names)");
    }
    if (variable != nullptr && variables != nullptr) {
        fail(override_label(variables->value) ? variables->value : variables->key_node,
             path + ": give either variable or variables, not both");
    }
    std::vector<string> known;
    for (const auto& v: info.variables) {
        known.push_back(v.name);
    }
    auto check_variable = [&](const YAML::Node& n, const string& v_path) {
        const string& name = text_at(n, v_path, "a variable name");
        if (info.variable_index(name) == model_info::npos) {
            fail(n, v_path + ": model " + info.name + " has no variable '" + name + "'; " +
                        (known.empty() ? "it has no recordable variables"
                                       : "variables are: " + join(known)));
        }
        return name;
    };
    std::vector<std::pair<string, YAML::Node>> chosen;  // variable, its node
    if (variable != nullptr) {
        chosen.emplace_back(check_variable(variable->value, sub(path, "variable")),
                            variable->value);
    } else {
        const string v_path = sub(path, "variables");
        const YAML::Node& list = variables->value;
        if (!list.IsSequence() || list.size() == 0) {
            fail(list, v_path + " must be a non-empty list of variable names, got " + shown(list));
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            const string name = check_variable(list[i], item(v_path, i));
            for (const auto& [prev, node]: chosen) {
                if (prev == name) {
                    fail(list[i], item(v_path, i) + ": variable '" + name + "' is listed twice");
                }
            }
            chosen.emplace_back(name, list[i]);
        }
    }

    if (const entry* n = m.find("neurons")) {
        r.neurons = neurons_at(n->value, sub(path, "neurons"), pop);
    }
    if (const entry* s = m.find("start")) {
        r.start = time_at(s->value, sub(path, "start"));
        if (!(r.start >= 0)) {
            fail(s->value, sub(path, "start") + " must be >= 0 ms, got " + s->value.Scalar());
        }
    }
    if (const entry* s = m.find("stop")) {
        r.stop = time_at(s->value, sub(path, "stop"), true);
        if (!(r.stop > r.start)) {
            fail(s->value, fmt::format("{} must be after start ({} ms), got {}", sub(path, "stop"),
                                       r.start, s->value.Scalar()));
        }
    }
    if (const entry* i = m.find("interval")) {
        r.interval = time_at(i->value, sub(path, "interval"));
        if (auto problem =
                steps_problem(sub(path, "interval"), r.interval, i->value.Scalar(), dt_)) {
            fail(i->value, *problem);
        }
    }

    for (const auto& [name, node]: chosen) {
        report_spec one = r;
        one.variable = name;
        one.name = variables != nullptr ? e.key + "." + name : e.key;
        if (auto [it, fresh] = names.emplace(one.name, path); !fresh) {
            fail(variables != nullptr ? node : m.node,
                 path + ": report name '" + one.name + "' is already used by " + it->second);
        }
        out.push_back(std::move(one));
    }
}

output_spec loader::read_output(const yaml_map& root) {
    output_spec out;
    out.path = "results/" + std::filesystem::path(file_).stem().string() + ".h5";
    out.where = where(root.node);
    const entry* output = root.find("output");
    if (output == nullptr) {
        return out;
    }
    const yaml_map m = as_map(output->value, "output");
    check_keys(m, {"file", "flush_interval"});
    out.where = where(m.node);
    if (const entry* f = m.find("file")) {
        out.path = text_at(f->value, "output.file", "a file name");
        if (out.path.empty()) {
            fail(f->value, "output.file must not be empty");
        }
    }
    if (const entry* f = m.find("flush_interval")) {
        const quantity q = quantity_at(f->value, "output.flush_interval", {dimension::time});
        if (q.dim == dimension::none) {
            fail(f->value,
                 "output.flush_interval needs a unit (e.g. '5 s'), got " + shown(f->value));
        }
        if (!(q.value > 0)) {
            fail(f->value, "output.flush_interval must be > 0 s, got " + f->value.Scalar());
        }
        out.flush_interval = q.value / 1000.0;  // [ms] -> [s]
    }
    return out;
}

// metrics.branching_factor: {populations, bin, delta_t, start, stop}. Every time is checked
// against dt, the bin and the duration here, so that the run cannot fail on it afterwards.
metrics_spec loader::read_metrics(const yaml_map& root, const simulation_spec& sim) {
    metrics_spec out;
    const entry* metrics = root.find("metrics");
    if (metrics == nullptr) {
        return out;
    }
    const yaml_map m = as_map(metrics->value, "metrics");
    check_keys(m, {"branching_factor"});
    const entry* bf_entry = m.find("branching_factor");
    if (bf_entry == nullptr) {
        return out;
    }
    const string path = "metrics.branching_factor";
    const yaml_map bm = as_map(bf_entry->value, path);
    check_keys(bm, {"populations", "bin", "delta_t", "start", "stop"});
    branching_factor_spec& bf = out.branching_factor;
    bf.enabled = true;
    bf.where = where(bm.node);

    const string pops_path = sub(path, "populations");
    const YAML::Node& pops = required(bm, "populations");
    if (!pops.IsSequence() || pops.size() == 0) {
        fail(pops, pops_path + " must be a non-empty list of population names (e.g. [exc, inh]), "
                               "got " +
                       (pops.IsSequence() ? string("an empty list") : shown(pops)));
    }
    for (std::size_t i = 0; i < pops.size(); ++i) {
        const population_ref& pop = populations_[population_at(pops[i], item(pops_path, i))];
        if (std::find(bf.populations.begin(), bf.populations.end(), pop.name) !=
            bf.populations.end()) {
            fail(pops[i], item(pops_path, i) + ": population '" + pop.name + "' is listed twice");
        }
        if (!pop.model->info.emits_spikes) {
            fail(pops[i], item(pops_path, i) + ": population '" + pop.name + "' (model " +
                              pop.model->info.name + ") emits no spikes");
        }
        bf.populations.push_back(pop.name);
    }

    if (const entry* e = bm.find("bin")) {
        bf.bin = time_at(e->value, sub(path, "bin"));
        if (auto problem = steps_problem(sub(path, "bin"), bf.bin, e->value.Scalar(), dt_)) {
            fail(e->value, *problem);
        }
    } else if (!on_grid(bf.bin, dt_)) {
        fail(bm.node, fmt::format("{}.bin: the default bin of {} ms is not a multiple of dt = {} "
                                  "ms; give a bin",
                                  path, bf.bin, dt_));
    }
    // A time that must be a whole number of bins (default values are: 4 ms and 0 ms are).
    const auto check_bins = [&](const YAML::Node& n, const string& key, double t) {
        if (!on_grid(t, bf.bin)) {
            fail(n, fmt::format("{}.{} = {} ms is not a multiple of bin = {} ms", path, key, t,
                                bf.bin));
        }
    };
    const entry* delta_t = bm.find("delta_t");
    if (delta_t != nullptr) {
        bf.delta_t = time_at(delta_t->value, sub(path, "delta_t"));
        if (!(bf.delta_t > 0)) {
            fail(delta_t->value, sub(path, "delta_t") + " must be > 0 ms, got " +
                                     delta_t->value.Scalar());
        }
        check_bins(delta_t->value, "delta_t", bf.delta_t);
    } else if (!on_grid(bf.delta_t, bf.bin)) {
        fail(bm.node, fmt::format("{}.delta_t: the default of {} ms is not a multiple of bin = {} "
                                  "ms; give delta_t",
                                  path, bf.delta_t, bf.bin));
    }
    const entry* start = bm.find("start");
    if (start != nullptr) {
        bf.start = time_at(start->value, sub(path, "start"));
        if (!(bf.start >= 0)) {
            fail(start->value, sub(path, "start") + " must be >= 0 ms, got " +
                                   start->value.Scalar());
        }
        check_bins(start->value, "start", bf.start);
    }
    // The end of the run on the bin grid: the last whole bin.
    const double end = std::floor(sim.duration / bf.bin + 1e-9) * bf.bin;  // [ms]
    const entry* stop = bm.find("stop");
    double stop_ms = end;
    if (stop != nullptr) {
        bf.stop = time_at(stop->value, sub(path, "stop"), true);
        if (!(bf.stop > bf.start)) {
            fail(stop->value, fmt::format("{} must be after start ({} ms), got {}",
                                          sub(path, "stop"), bf.start, stop->value.Scalar()));
        }
        if (std::isfinite(bf.stop)) {
            check_bins(stop->value, "stop", bf.stop);
            if (bf.stop > sim.duration * (1 + 1e-12)) {
                fail(stop->value, fmt::format("{} = {} ms is after the end of the run "
                                              "(simulation.duration = {} ms)",
                                              sub(path, "stop"), bf.stop, sim.duration));
            }
            stop_ms = bf.stop;
        }
    }
    // Spikes are evaluated in [start + delta_t, stop - delta_t): that range must hold a bin.
    if (!(stop_ms - bf.start > 2 * bf.delta_t * (1 + 1e-12))) {
        const YAML::Node& at = stop != nullptr    ? stop->value
                               : start != nullptr ? start->value
                               : delta_t != nullptr ? delta_t->value
                                                    : bm.node;
        fail(at, fmt::format("{}: the window [{}, {}) ms is too short for delta_t = {} ms: spikes "
                             "are evaluated in [start + delta_t, stop - delta_t), so stop - start "
                             "must exceed 2 delta_t",
                             path, bf.start, stop_ms, bf.delta_t));
    }
    if (stop_ms / bf.bin >= static_cast<double>(std::numeric_limits<std::uint32_t>::max())) {
        fail(stop != nullptr ? stop->value : bm.node,
             fmt::format("{}: the window ends at bin {:.0f}; at most {} bins are supported (use a "
                         "larger bin or an earlier stop)",
                         path, stop_ms / bf.bin, std::numeric_limits<std::uint32_t>::max() - 1));
    }
    return out;
}

// Population, projection and input names become HDF5 group names and --set path keys.
bool valid_name(const string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
}

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

// protocol: {type: two_phase | timeseries, ...} (docs/config_reference.md, "protocol").
protocol_spec loader::read_protocol(const yaml_map& root, const experiment_spec& spec) {
    protocol_spec p;
    const entry* e = root.find("protocol");
    if (e == nullptr) {
        return p;
    }
    const yaml_map m = as_map(e->value, "protocol");
    p.where = where(m.node);
    const YAML::Node& type = required(m, "type");
    const string& word = text_at(type, "protocol.type", "two_phase or timeseries");
    if (word == "two_phase") {
        p.type = protocol_spec::kind::two_phase;
        read_two_phase(m, p, spec);
    } else if (word == "timeseries") {
        p.type = protocol_spec::kind::timeseries;
        read_timeseries(m, p, spec);
    } else {
        fail(type, "protocol.type must be one of: two_phase, timeseries; got " + shown(type));
    }
    return p;
}

dataset_spec loader::read_dataset(const YAML::Node& n, const string& path) {
    const yaml_map m = as_map(n, path);
    check_keys(m, {"format", "path", "images", "labels", "split", "validation", "train_fraction",
                   "validation_fraction", "limit"});
    dataset_spec d;
    d.where = where(m.node);
    const YAML::Node& format = required(m, "format");
    const string& f = text_at(format, sub(path, "format"), "idx_official or idx");
    const auto file_at = [&](string_view key) {
        const YAML::Node& v = required(m, key);
        return data_path(text_at(v, sub(path, string(key)), "a path")).lexically_normal().string();
    };
    if (f == "idx_official") {
        d.kind = dataset_spec::format::idx_official;
        d.path = file_at("path");
        for (const char* k: {"images", "labels"}) {
            if (const entry* x = m.find(k)) {
                fail(x->key_node, sub(path, k) + " is for format idx; idx_official reads the "
                                                 "four official files from " +
                                      sub(path, "path"));
            }
        }
    } else if (f == "idx") {
        d.kind = dataset_spec::format::idx;
        d.images = file_at("images");
        d.labels = file_at("labels");
        if (const entry* x = m.find("path")) {
            fail(x->key_node, sub(path, "path") + " is for format idx_official; format idx reads " +
                                  sub(path, "images") + " and " + sub(path, "labels"));
        }
    } else {
        fail(format, sub(path, "format") + " must be one of: idx_official, idx; got " +
                         shown(format));
    }
    string split = d.kind == dataset_spec::format::idx ? "fractions" : "nalsm";
    const entry* sp = m.find("split");
    if (sp != nullptr) {
        split = text_at(sp->value, sub(path, "split"), "nalsm or fractions");
        if (split != "nalsm" && split != "fractions") {
            fail(sp->value, sub(path, "split") + " must be one of: nalsm, fractions; got " +
                                shown(sp->value));
        }
    }
    if (split == "nalsm") {
        if (d.kind != dataset_spec::format::idx_official) {
            fail(sp->value, sub(path, "split") + " nalsm needs the official train and test files "
                                                 "(format idx_official); use split: fractions "
                                                 "for a single file");
        }
        d.split = dataset_spec::split_kind::nalsm;
        if (const entry* v = m.find("validation")) {
            d.validation = integer_at(v->value, sub(path, "validation"), 1, 0xffffffffULL);
        }
    } else {
        d.split = dataset_spec::split_kind::fractions;
        auto fraction = [&](string_view key, double& out) {
            if (const entry* x = m.find(key)) {
                out = quantity_at(x->value, sub(path, string(key)), {}).value;
                if (!(out > 0 && out < 1)) {
                    fail(x->value, sub(path, string(key)) + " must be in (0, 1), got " +
                                       x->value.Scalar());
                }
            }
        };
        fraction("train_fraction", d.train_fraction);
        fraction("validation_fraction", d.validation_fraction);
        if (!(d.train_fraction + d.validation_fraction < 1)) {
            fail(m.node, fmt::format("{}: train_fraction + validation_fraction must be < 1 (the "
                                     "rest is the test set), got {} + {}",
                                     path, d.train_fraction, d.validation_fraction));
        }
    }
    if (const entry* l = m.find("limit")) {
        const string lp = sub(path, "limit");
        const yaml_map lm = as_map(l->value, lp);
        check_keys(lm, {"train", "validation", "test"});
        auto limit = [&](string_view key, std::size_t& out) {
            if (const entry* x = lm.find(key)) {
                out = integer_at(x->value, sub(lp, string(key)), 1, 0xffffffffULL);
            }
        };
        limit("train", d.limit_train);
        limit("validation", d.limit_validation);
        limit("test", d.limit_test);
    }
    return d;
}

void loader::read_two_phase(const yaml_map& m, protocol_spec& p, const experiment_spec& spec) {
    check_keys(m, {"type", "input", "state", "dataset", "phase_a", "phase_b", "bins",
                   "final_state", "block", "branching_samples"});
    // input: a dataset_source of the network.
    const YAML::Node& input = required(m, "input");
    p.input = text_at(input, "protocol.input", "the name of a dataset_source input");
    {
        std::vector<string> sources;
        bool found = false;
        for (const auto& in: spec.inputs) {
            if (in.type == input_spec::kind::dataset_source) {
                sources.push_back(in.name);
                found = found || in.name == p.input;
            }
        }
        if (!found) {
            fail(input, "protocol.input: no dataset_source input '" + p.input +
                            "'; dataset_source inputs are: " +
                            (sources.empty() ? string("(none: add one under inputs)")
                                             : join(sources)));
        }
    }
    const YAML::Node& state = required(m, "state");
    const auto add_state = [&](const YAML::Node& n, const string& path) {
        const string name = populations_[population_at(n, path)].name;
        if (std::find(p.state.begin(), p.state.end(), name) != p.state.end()) {
            fail(n, path + ": population '" + name + "' is listed twice");
        }
        p.state.push_back(name);
    };
    if (state.IsSequence() && state.size() > 0) {
        for (std::size_t i = 0; i < state.size(); ++i) {
            add_state(state[i], item("protocol.state", i));
        }
    } else if (state.IsScalar()) {
        add_state(state, "protocol.state");
    } else {
        fail(state, "protocol.state must be a population name or a non-empty list of them, got " +
                        shown(state));
    }
    p.dataset = read_dataset(required(m, "dataset"), "protocol.dataset");
    // A whole number of steps, at least one.
    const auto duration = [&](const YAML::Node& n, const string& path) {
        const double t = time_at(n, path);
        if (!(t >= dt_)) {
            fail(n, fmt::format("{} must be at least one step (dt = {} ms), got {}", path, dt_,
                                n.Scalar()));
        }
        check_grid_time(n, path, t);
        return t;
    };
    if (const entry* a = m.find("phase_a")) {
        const yaml_map am = as_map(a->value, "protocol.phase_a");
        check_keys(am, {"samples", "duration", "shuffle"});
        if (const entry* x = am.find("samples")) {
            p.phase_a_samples = integer_at(x->value, "protocol.phase_a.samples", 0, 0xffffffffULL);
        }
        if (const entry* x = am.find("duration")) {
            p.phase_a_duration = duration(x->value, "protocol.phase_a.duration");
        }
        if (const entry* x = am.find("shuffle")) {
            p.phase_a_shuffle = bool_at(x->value, "protocol.phase_a.shuffle");
        }
    }
    if (const entry* b = m.find("phase_b")) {
        const yaml_map bm = as_map(b->value, "protocol.phase_b");
        check_keys(bm, {"duration", "set"});
        if (const entry* x = bm.find("duration")) {
            p.phase_b_duration = duration(x->value, "protocol.phase_b.duration");
        }
        if (const entry* x = bm.find("set")) {
            as_map(x->value, "protocol.phase_b.set");  // checked and applied by parse()
        }
    }
    if (const entry* x = m.find("bins")) {
        const auto steps = static_cast<std::uint64_t>(std::llround(p.phase_b_duration / dt_));
        p.bins = integer_at(x->value, "protocol.bins", 0, steps);
    }
    if (const entry* x = m.find("final_state")) {
        p.final_state = text_at(x->value, "protocol.final_state", "a state variable name");
        for (const auto& name: p.state) {
            for (const auto& pop: spec.populations) {
                const neuron_model* model = models_.find(pop.model);
                if (pop.name == name && model != nullptr &&
                    model->info.variable_index(p.final_state) == model_info::npos) {
                    fail(x->value, "protocol.final_state: model " + model->info.name +
                                       " of state population '" + name +
                                       "' has no variable '" + p.final_state + "'");
                }
            }
        }
    }
    if (const entry* x = m.find("block")) {
        p.block = integer_at(x->value, "protocol.block", 1, 0xffffffffULL);
    }
    if (const entry* x = m.find("branching_samples")) {
        p.branching_samples = integer_at(x->value, "protocol.branching_samples", 0, 100000);
    }
}

void loader::read_timeseries(const yaml_map& m, protocol_spec& p, const experiment_spec& spec) {
    check_keys(m, {"type", "task", "input", "state"});
    {
        const string sec = "protocol.task";
        const yaml_map t = as_map(required(m, "task"), sec);
        check_keys(t, {"kind", "steps", "step_duration", "k_max", "order", "washout",
                       "train_fraction", "ridge_lambda", "standardize"});
        const YAML::Node& kind = required(t, "kind");
        const string& k = text_at(kind, sub(sec, "kind"), "memory_capacity or narma");
        if (k == "memory_capacity") {
            p.task = protocol_spec::task_kind::memory_capacity;
        } else if (k == "narma") {
            p.task = protocol_spec::task_kind::narma;
        } else {
            fail(kind, sub(sec, "kind") + " must be one of: memory_capacity, narma; got " +
                           shown(kind));
        }
        if (const entry* x = t.find("steps")) {
            p.series_steps = integer_at(x->value, sub(sec, "steps"), 10, 10'000'000);
        }
        if (const entry* x = t.find("step_duration")) {
            p.step_duration = time_at(x->value, sub(sec, "step_duration"));
            if (!(p.step_duration >= dt_)) {
                fail(x->value, fmt::format("{} must be at least dt = {} ms, got {}",
                                           sub(sec, "step_duration"), dt_, x->value.Scalar()));
            }
            check_grid_time(x->value, sub(sec, "step_duration"), p.step_duration);
        }
        if (const entry* x = t.find("k_max")) {
            p.k_max = integer_at(x->value, sub(sec, "k_max"), 1, 10000);
        }
        if (const entry* x = t.find("order")) {
            p.narma_order = integer_at(x->value, sub(sec, "order"), 1, 1000);
        }
        if (const entry* x = t.find("washout")) {
            p.washout = integer_at(x->value, sub(sec, "washout"), 0, p.series_steps - 1);
        }
        if (const entry* x = t.find("train_fraction")) {
            p.train_fraction = quantity_at(x->value, sub(sec, "train_fraction"), {}).value;
            if (!(p.train_fraction > 0 && p.train_fraction < 1)) {
                fail(x->value, sub(sec, "train_fraction") + " must be in (0, 1), got " +
                                   x->value.Scalar());
            }
        }
        if (const entry* x = t.find("ridge_lambda")) {
            p.ridge_lambda = quantity_at(x->value, sub(sec, "ridge_lambda"), {}).value;
            if (!(p.ridge_lambda > 0 && p.ridge_lambda <= 1e12)) {
                fail(x->value, sub(sec, "ridge_lambda") + " must be in (0, 1e12], got " +
                                   x->value.Scalar());
            }
        }
        if (const entry* x = t.find("standardize")) {
            p.standardize = bool_at(x->value, sub(sec, "standardize"));
        }
        if (p.task == protocol_spec::task_kind::memory_capacity &&
            p.k_max + p.washout + 20 > p.series_steps) {
            fail(t.node, fmt::format("{}: steps ({}) leaves too few rows after the washout ({}) "
                                     "and k_max ({})",
                                     sec, p.series_steps, p.washout, p.k_max));
        }
    }
    {
        const string sec = "protocol.input";
        const yaml_map in = as_map(required(m, "input"), sec);
        check_keys(in, {"population", "fraction", "gain", "bias"});
        const YAML::Node& pop = required(in, "population");
        const std::size_t i = population_at(pop, sub(sec, "population"));
        p.input_population = populations_[i].name;
        if (!populations_[i].model->info.accepts_current) {
            fail(pop, sub(sec, "population") + ": population '" + p.input_population +
                          "' (model " + populations_[i].model->info.name +
                          ") takes no current, which the series is given as");
        }
        if (const entry* x = in.find("fraction")) {
            p.input_fraction = quantity_at(x->value, sub(sec, "fraction"), {}).value;
            if (!(p.input_fraction > 0 && p.input_fraction <= 1)) {
                fail(x->value, sub(sec, "fraction") + " must be in (0, 1], got " +
                                   x->value.Scalar());
            }
        }
        if (const entry* x = in.find("gain")) {
            p.gain = quantity_at(x->value, sub(sec, "gain"), {dimension::current}).value;
        }
        if (const entry* x = in.find("bias")) {
            p.bias = quantity_at(x->value, sub(sec, "bias"), {dimension::current}).value;
        }
    }
    if (const entry* st = m.find("state")) {
        const string sec = "protocol.state";
        const yaml_map sm = as_map(st->value, sec);
        check_keys(sm, {"populations", "tau", "save"});
        if (const entry* x = sm.find("populations")) {
            if (!x->value.IsSequence() || x->value.size() == 0) {
                fail(x->value, sub(sec, "populations") + " must be a non-empty list of population "
                                                         "names, got " + shown(x->value));
            }
            for (std::size_t i = 0; i < x->value.size(); ++i) {
                p.state.push_back(
                    populations_[population_at(x->value[i], item(sub(sec, "populations"), i))]
                        .name);
            }
        }
        if (const entry* x = sm.find("tau")) {
            p.tau = time_at(x->value, sub(sec, "tau"));
            if (!(p.tau > 0)) {
                fail(x->value, sub(sec, "tau") + " must be > 0 ms, got " + x->value.Scalar());
            }
        }
        if (const entry* x = sm.find("save")) {
            p.save_states = bool_at(x->value, sub(sec, "save"));
        }
    }
    (void)spec;
}

readout_spec loader::read_readout(const yaml_map& root) {
    readout_spec r;
    const entry* e = root.find("readout");
    if (e == nullptr) {
        return r;
    }
    const string sec = "readout";
    const yaml_map m = as_map(e->value, sec);
    r.where = where(m.node);
    check_keys(m, {"method", "features", "softmax", "ridge"});
    if (const entry* x = m.find("method")) {
        const string& v = text_at(x->value, "readout.method", "softmax, ridge or both");
        if (v == "softmax") {
            r.kind = readout_spec::method::softmax;
        } else if (v == "ridge") {
            r.kind = readout_spec::method::ridge;
        } else if (v == "both") {
            r.kind = readout_spec::method::both;
        } else {
            fail(x->value, "readout.method must be one of: softmax, ridge, both; got " +
                               shown(x->value));
        }
    }
    if (const entry* x = m.find("features")) {
        const string& v = text_at(x->value, "readout.features", "counts or all");
        if (v == "counts") {
            r.features = readout_spec::feature_set::counts;
        } else if (v == "all") {
            r.features = readout_spec::feature_set::all;
        } else {
            fail(x->value, "readout.features must be one of: counts, all; got " + shown(x->value));
        }
    }
    const auto positive = [&](const yaml_map& mm, string_view key, const string& path,
                              double& out, double max) {
        if (const entry* x = mm.find(key)) {
            out = quantity_at(x->value, sub(path, string(key)), {}).value;
            if (!(out > 0 && out <= max)) {
                fail(x->value, fmt::format("{} must be in (0, {}], got {}", sub(path, string(key)),
                                           max, x->value.Scalar()));
            }
        }
    };
    if (const entry* x = m.find("softmax")) {
        const string sp = "readout.softmax";
        const yaml_map sm = as_map(x->value, sp);
        check_keys(sm, {"learning_rate", "rho", "epsilon", "l2_beta", "batch_size",
                        "max_epochs", "patience", "shuffle", "train_curve"});
        positive(sm, "learning_rate", sp, r.learning_rate, 1e6);
        positive(sm, "rho", sp, r.rho, 1);
        positive(sm, "epsilon", sp, r.epsilon, 1);
        if (const entry* y = sm.find("l2_beta")) {
            r.l2_beta = quantity_at(y->value, sub(sp, "l2_beta"), {}).value;
            if (!(r.l2_beta >= 0 && r.l2_beta <= 1e6)) {
                fail(y->value, sub(sp, "l2_beta") + " must be in [0, 1e6], got " +
                                   y->value.Scalar());
            }
        }
        if (const entry* y = sm.find("batch_size")) {
            r.batch_size = integer_at(y->value, sub(sp, "batch_size"), 1, 0xffffffffULL);
        }
        if (const entry* y = sm.find("max_epochs")) {
            r.max_epochs = integer_at(y->value, sub(sp, "max_epochs"), 1, 1'000'000);
        }
        if (const entry* y = sm.find("patience")) {
            r.patience = integer_at(y->value, sub(sp, "patience"), 0, 1'000'000);
        }
        if (const entry* y = sm.find("shuffle")) {
            r.shuffle = bool_at(y->value, sub(sp, "shuffle"));
        }
        if (const entry* y = sm.find("train_curve")) {
            r.train_curve = bool_at(y->value, sub(sp, "train_curve"));
        }
    }
    if (const entry* x = m.find("ridge")) {
        const string rp = "readout.ridge";
        const yaml_map rm = as_map(x->value, rp);
        check_keys(rm, {"lambdas", "standardize"});
        if (const entry* y = rm.find("lambdas")) {
            if (!y->value.IsSequence() || y->value.size() == 0) {
                fail(y->value, sub(rp, "lambdas") + " must be a non-empty list of numbers, got " +
                                   shown(y->value));
            }
            r.lambdas.clear();
            for (std::size_t i = 0; i < y->value.size(); ++i) {
                const double l = quantity_at(y->value[i], item(sub(rp, "lambdas"), i), {}).value;
                // Far from the limits of double: the normal equations stay solvable.
                if (!(l >= 1e-12 && l <= 1e12)) {
                    fail(y->value[i], item(sub(rp, "lambdas"), i) +
                                          " must be in [1e-12, 1e12], got " +
                                          y->value[i].Scalar());
                }
                r.lambdas.push_back(l);
            }
        }
        if (const entry* y = rm.find("standardize")) {
            r.ridge_standardize = bool_at(y->value, sub(rp, "standardize"));
        }
    }
    return r;
}

void loader::apply_phase_b_set(YAML::Node& root, const yaml_map& set) {
    for (const auto& e: set.entries) {
        std::vector<string> keys;
        for (std::size_t start = 0;;) {
            const auto dot = e.key.find('.', start);
            keys.emplace_back(e.key.substr(start, dot == string::npos ? string::npos : dot - start));
            if (dot == string::npos) {
                break;
            }
            start = dot + 1;
        }
        const string what = "protocol.phase_b.set: '" + e.key + "'";
        if (std::any_of(keys.begin(), keys.end(), [](const string& k) { return k.empty(); })) {
            fail(e.key_node, what + " is not a key path (keys separated by '.')");
        }
        if (keys.front() == "protocol" || keys.front() == "output" || keys.front() == "sweep") {
            fail(e.key_node, what + ": phase B changes the network, not the " + keys.front() +
                                 " block");
        }
        YAML::Node parent;
        parent.reset(root);
        string walked;
        for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
            walked = sub(walked, keys[i]);
            const YAML::Node& const_parent = parent;
            const YAML::Node child = const_parent[keys[i]];
            if (!child.IsDefined() || !child.IsMap()) {
                fail(e.key_node, what + ": '" + walked + "' is not a map in the file");
            }
            parent.reset(child);
        }
        const YAML::Node& const_parent = parent;
        if (!const_parent[keys.back()].IsDefined()) {
            // Only keys the file can hold: a parameter left at its default is a new leaf.
            const bool params = keys.size() >= 2 && (keys[keys.size() - 2] == "params" ||
                                                     keys[keys.size() - 2] == "plasticity");
            if (!params && keys.front() != "modulators") {
                fail(e.key_node, what + ": '" + e.key + "' is not in the file");
            }
        }
        root.reset(with_override(root, keys, 0, e.value));
    }
}

experiment_spec parse(const string& text, const string& name, const std::vector<string>& overrides,
                      const model_registry& models) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    }
    catch (const YAML::Exception& e) {
        if (e.mark.is_null()) {
            throw error(name + ": " + e.msg);
        }
        throw config_error(name, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
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
    std::ifstream in(path);
    if (!in || std::filesystem::is_directory(path)) {
        throw error("cannot open experiment file '" + path + "'");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path, overrides, models);
}

experiment_spec parse_experiment(const std::string& yaml_text, const std::string& name,
                                 const std::vector<std::string>& overrides,
                                 const model_registry& models) {
    return parse(yaml_text, name, overrides, models);
}

}  // namespace glia::io
