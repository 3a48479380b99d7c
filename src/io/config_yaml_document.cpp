// The YAML document of an experiment as the loader reads it: where each node came from (a line
// and column of the file, or the --set that gave it), the --set overrides and
// protocol.phase_b.set applied to it, and the typed readers (maps, quantities, integers, values,
// neuron selections) whose errors point at the node.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/config_yaml_detail.hpp"
#include "io/yaml_document.hpp"

namespace glia::io::config_yaml_detail {
namespace {

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
    const string unit = u.empty() ? "" : string(" ").append(u);
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

}  // namespace

string join(const std::vector<string>& items, string_view sep) {
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

std::optional<string> steps_above_limit(const string& what, double v, double dt) {
    const auto limit = static_cast<double>(max_duration_steps);
    if (!(v / dt <= limit)) {
        return fmt::format("{} = {} ms is too large for the step clock: at most {} steps of dt = "
                           "{} ms ({:.10g} ms)",
                           what, v, max_duration_steps, dt, limit * dt);
    }
    return std::nullopt;
}

bool on_grid(double t, double dt) {
    const double n = std::round(t / dt);
    return std::abs(n * dt - t) <= 1e-9 * std::max(1.0, std::abs(t));
}

// A duration that becomes a whole number of steps in [1, max_duration_steps]: a delay, a
// recording interval.
std::optional<string> steps_problem(const string& what, double v, const string& text, double dt) {
    if (!(v > 0)) {
        return what + " must be > 0 ms, got " + text;
    }
    if (auto too_large = steps_above_limit(what, v, dt)) {
        return too_large;
    }
    if (v < dt - 1e-9 * std::max(1.0, v)) {
        return fmt::format("{} = {} ms is below dt = {} ms", what, v, dt);
    }
    if (!on_grid(v, dt)) {
        return fmt::format("{} = {} ms is not a multiple of dt = {} ms", what, v, dt);
    }
    return std::nullopt;
}

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
    YAML::Node value = load_yaml_document(value_text, {label, true, path});
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
        // Phase B runs on phase A's connectivity: what builds it cannot change.
        {
            static const std::vector<string> population_keys = {"size", "model", "positions"};
            static const std::vector<string> projection_keys = {
                "source", "target", "rule", "p", "C", "lambda", "density", "group", "indegree",
                "outdegree", "n", "allow_autapses", "allow_multapses", "synapse", "file",
                "delay", "modulator"};
            const auto listed = [&](const std::vector<string>& names) {
                return keys.size() >= 3 &&
                       std::find(names.begin(), names.end(), keys[2]) != names.end();
            };
            if (keys.front() == "simulation" || keys.front() == "grids" ||
                (keys.front() == "populations" && (keys.size() < 3 || listed(population_keys))) ||
                (keys.front() == "projections" && (keys.size() < 3 || listed(projection_keys)))) {
                fail(e.key_node, what + " changes the network's structure, which phase B shares "
                                        "with phase A; it may set parameters of neurons, inputs, "
                                        "projections' plasticity and modulators");
            }
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
                fail(e.key_node, what + " is not in the file");
            }
        }
        root.reset(with_override(root, keys, 0, e.value));
    }
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
        if (const entry* e = m.find(key)) {
            const YAML::Mark first = mark_of(e->key_node);
            fail(it->first, "duplicate key '" + key + "' " + m.in() +
                                (first.is_null() ? string()
                                                 : fmt::format(" (first at line {}, column {})",
                                                               first.line + 1, first.column + 1)));
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
    // The upper end of a delay distribution (uniform high, normal mean, max): draws are whole
    // steps of the step clock.
    auto check_delay_top = [&](const YAML::Node& at, const string& at_path, double value) {
        if (auto problem = steps_above_limit(at_path, value, dt_)) {
            fail(at, *problem);
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
                check_delay_top(high_n, sub(dist_path, "high"), out.high);
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
                if (max != nullptr) {
                    check_delay_top(max->value, sub(dist_path, "max"), out.max);
                }
                if (normal) {
                    check_delay_top(required(m, "mean"), sub(dist_path, "mean"), out.mean);
                }
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

}  // namespace glia::io::config_yaml_detail
