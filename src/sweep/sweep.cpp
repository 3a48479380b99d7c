#include "sweep/sweep.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>
#include <glia/units.hpp>

#include "io/config_yaml.hpp"
#include "io/input_file.hpp"
#include "io/units.hpp"
#include "io/yaml_document.hpp"

namespace glia::sweep {
namespace {

using std::string;
using std::string_view;

// More points than this is almost certainly a mistake (a grid of many long lists).
constexpr std::size_t max_points = 10'000'000;
// Draws of a clipped normal that may fall outside [min, max] before we give up.
constexpr int max_redraws = 10'000;

constexpr std::uint64_t fnv1a(string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c: s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

// Repeat seeds use the key path they set as their stream tag, like any random key.
constexpr string_view seed_key = "simulation.seed";

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

// A value as YAML text that the loader's --set parses back into the same node: scalars as
// written ("10 ms"), lists and maps in flow style ("[1, 2]", "{uniform: {low: 1, high: 2}}").
string yaml_text(const YAML::Node& n) {
    YAML::Emitter out;
    out.SetMapFormat(YAML::Flow);
    out.SetSeqFormat(YAML::Flow);
    out << n;
    if (!out.good()) {
        throw internal_error("cannot emit a sweep value: " + out.GetLastError());
    }
    return out.c_str();
}

bool parse_u64(const YAML::Node& n, std::uint64_t& out) {
    if (!n.IsScalar()) {
        return false;
    }
    const string& s = n.Scalar();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool parse_i64(const YAML::Node& n, std::int64_t& out) {
    if (!n.IsScalar()) {
        return false;
    }
    const string& s = n.Scalar();
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

bool valid_name(const string& name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-';
    });
}

std::vector<string> split_path(const string& key) {
    std::vector<string> parts;
    for (std::size_t start = 0;;) {
        const auto dot = key.find('.', start);
        parts.push_back(key.substr(start, dot == string::npos ? string::npos : dot - start));
        if (dot == string::npos) {
            return parts;
        }
        start = dot + 1;
    }
}

// A number in the canonical unit of `dim`, as a quantity the loader reads back exactly:
// the shortest text that round-trips the double.
string quantity_text(double v, dimension dim) {
    const string_view unit = canonical_unit(dim);
    return unit.empty() ? fmt::format("{}", v) : fmt::format("{} {}", v, unit);
}

// A distribution of a random key.
struct distribution {
    enum class kind { uniform, log_uniform, normal, uniform_int, choice };
    kind type = kind::uniform;
    double low = 0, high = 0;                // uniform, log_uniform [canonical unit]
    double mean = 0, std = 0;                // normal [canonical unit]
    double min = -infinity, max = infinity;  // normal: draws outside are redrawn
    std::int64_t int_low = 0, int_high = 0;  // uniform_int, both included
    dimension dim = dimension::none;
    std::vector<YAML::Node> choices;  // choice
};

// A varied key as written in the block.
struct varied {
    string key;
    YAML::Node key_node;
    string block;                    // "grid", "zip", "random", "repeats"
    std::vector<assignment> values;  // grid, zip: the list; random, repeats: the draws
};

class block_reader {
public:
    block_reader(string file, const YAML::Node& root): file_(std::move(file)), root_(root) {}

    sweep_plan read(const YAML::Node& sweep_key, const YAML::Node& block, const string& stem);

private:
    [[noreturn]] void fail(const YAML::Node& at, const string& message) const {
        const YAML::Mark m = at.Mark();
        if (m.is_null()) {
            throw error(file_ + ": " + message);
        }
        throw config_error(file_, m.line + 1, m.column + 1, message);
    }
    assignment value_at(const string& key, const YAML::Node& n) const {
        const YAML::Mark m = n.Mark();
        return {key, yaml_text(n), m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1};
    }

    std::vector<std::pair<string, YAML::Node>> entries(const YAML::Node& map,
                                                       const string& path) const;
    void check_key(const string& key, const YAML::Node& key_node, const string& block);
    std::vector<varied> read_lists(const YAML::Node& n, const string& block);
    std::vector<varied> read_random(const YAML::Node& n, std::uint64_t seed);
    distribution read_distribution(const string& key, const YAML::Node& n) const;
    std::pair<double, dimension> bound_at(const string& key, string_view dist,
                                          const YAML::Node& n) const;
    string draw(const string& key, const YAML::Node& at, const distribution& d,
                rng_stream& rng) const;
    std::uint64_t integer_at(const YAML::Node& n, const string& path, std::uint64_t min) const;

    string file_;
    YAML::Node root_;
    std::vector<std::pair<string, string>> seen_;  // key path, block that varies it
};

std::vector<std::pair<string, YAML::Node>> block_reader::entries(const YAML::Node& map,
                                                                 const string& path) const {
    if (!map.IsMap()) {
        fail(map, path + " must be a map, got " + shown(map));
    }
    std::vector<std::pair<string, YAML::Node>> out;
    std::map<string, YAML::Mark> keys;
    for (auto it = map.begin(); it != map.end(); ++it) {
        if (!it->first.IsScalar()) {
            fail(it->first, "keys in '" + path + "' must be names, got " + shown(it->first));
        }
        const string& key = it->first.Scalar();
        if (const auto [at, inserted] = keys.emplace(key, it->first.Mark()); !inserted) {
            fail(it->first, fmt::format("duplicate key '{}' in '{}' (first at line {}, column {})",
                                        key, path, at->second.line + 1, at->second.column + 1));
        }
        out.emplace_back(key, it->first);
    }
    return out;
}

std::uint64_t block_reader::integer_at(const YAML::Node& n, const string& path,
                                       std::uint64_t min) const {
    std::uint64_t v = 0;
    if (!parse_u64(n, v)) {
        fail(n, fmt::format("{} must be a whole number >= {}, got {}", path, min, shown(n)));
    }
    if (v < min) {
        fail(n, fmt::format("{} must be >= {}, got {}", path, min, v));
    }
    return v;
}

// A key path must name a place in the experiment: every key before the last an existing map
// (as `--set` requires); the last key is checked by the loader when the points are loaded.
void block_reader::check_key(const string& key, const YAML::Node& key_node, const string& block) {
    const string where = "sweep." + block;
    const auto parts = split_path(key);
    if (std::any_of(parts.begin(), parts.end(), [](const string& p) { return p.empty(); })) {
        fail(key_node, fmt::format("{}: '{}' is not a key path (keys separated by '.', e.g. "
                                   "populations.exc.params.tau_m)",
                                   where, key));
    }
    if (parts.front() == "sweep") {
        fail(key_node, fmt::format("{}: '{}' is inside the sweep block; a sweep varies the "
                                   "experiment, not itself",
                                   where, key));
    }
    for (const auto& [other, other_block]: seen_) {
        if (other == key) {
            fail(key_node, fmt::format("{}: '{}' is already varied by sweep.{}; vary a key in "
                                       "one place only",
                                       where, key, other_block));
        }
        const auto& [outer, inner] =
            other.size() < key.size() ? std::pair(other, key) : std::pair(key, other);
        if (inner.compare(0, outer.size() + 1, outer + ".") == 0) {
            fail(key_node,
                 fmt::format("{}: '{}' lies inside '{}', which sweep.{} varies too", where, inner,
                             outer, other.size() < key.size() ? other_block : block));
        }
    }
    YAML::Node node;
    node.reset(root_);
    string walked;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        walked = walked.empty() ? parts[i] : walked + "." + parts[i];
        const YAML::Node& parent = node;
        const YAML::Node child = parent[parts[i]];  // const: does not insert
        if (!child.IsDefined()) {
            fail(key_node,
                 fmt::format("{}: '{}' is not in the file (key path '{}')", where, walked, key));
        }
        if (!child.IsMap()) {
            fail(key_node, fmt::format("{}: '{}' is not a map in the file (key path '{}'; it "
                                       "is {})",
                                       where, walked, key, shown(child)));
        }
        node.reset(child);
    }
    seen_.emplace_back(key, block);
}

// grid and zip: a map from key path to a non-empty list of values.
std::vector<varied> block_reader::read_lists(const YAML::Node& n, const string& block) {
    const string path = "sweep." + block;
    std::vector<varied> out;
    for (const auto& [key, key_node]: entries(n, path)) {
        const YAML::Node& values = n[key];
        check_key(key, key_node, block);
        if (!values.IsSequence()) {
            fail(
                values.IsNull() ? key_node : values,
                fmt::format("{}: '{}' must be a list of values, got {}", path, key, shown(values)));
        }
        if (values.size() == 0) {
            fail(values, fmt::format("{}: '{}' has no values; give a non-empty list", path, key));
        }
        varied v{key, key_node, block, {}};
        for (const auto& value: values) {
            v.values.push_back(value_at(key, value));
        }
        out.push_back(std::move(v));
    }
    if (out.empty()) {
        fail(n, path + " is empty; give key paths with lists of values");
    }
    if (block == "zip") {
        for (const auto& v: out) {
            if (v.values.size() != out.front().values.size()) {
                fail(v.key_node,
                     fmt::format("sweep.zip: '{}' has {} value{} but '{}' has {}; "
                                 "zip lists must have equal lengths",
                                 v.key, v.values.size(), v.values.size() == 1 ? "" : "s",
                                 out.front().key, out.front().values.size()));
            }
        }
    }
    return out;
}

std::pair<double, dimension> block_reader::bound_at(const string& key, string_view dist,
                                                    const YAML::Node& n) const {
    io::quantity q;
    if (!n.IsScalar() || io::try_parse_quantity(n.Scalar(), q) != io::parse_status::ok ||
        !std::isfinite(q.value)) {
        fail(n, fmt::format("sweep.random: '{}': {} needs finite numbers (with a unit or bare), "
                            "got {}",
                            key, dist, shown(n)));
    }
    return {q.value, q.dim};
}

distribution block_reader::read_distribution(const string& key, const YAML::Node& n) const {
    static constexpr string_view kinds =
        "uniform: [low, high], log_uniform: [low, high], normal: {mean, std, min, max} or "
        "[mean, std], uniform_int: [low, high], choice: [values...]";
    if (!n.IsMap() || n.size() != 1) {
        fail(n, fmt::format("sweep.random: '{}' must be a distribution, a map with one key ({}), "
                            "got {}",
                            key, kinds, shown(n)));
    }
    const string name = n.begin()->first.Scalar();
    const YAML::Node args = n.begin()->second;
    distribution d;
    auto pair_of = [&](string_view dist) {
        if (!args.IsSequence() || args.size() != 2) {
            fail(args.IsDefined() && !args.IsNull() ? args : n.begin()->first,
                 fmt::format("sweep.random: '{}': {} needs a list [low, high], got {}", key, dist,
                             shown(args)));
        }
        const auto [lo, lo_dim] = bound_at(key, dist, args[0]);
        const auto [hi, hi_dim] = bound_at(key, dist, args[1]);
        if (lo_dim != hi_dim) {
            fail(args, fmt::format("sweep.random: '{}': {} bounds must have the same dimension, "
                                   "got '{}' and '{}'",
                                   key, dist, args[0].Scalar(), args[1].Scalar()));
        }
        if (!(lo < hi)) {
            fail(args, fmt::format("sweep.random: '{}': {} needs low < high, got [{}, {}]", key,
                                   dist, args[0].Scalar(), args[1].Scalar()));
        }
        d.low = lo;
        d.high = hi;
        d.dim = lo_dim;
    };
    if (name == "uniform") {
        d.type = distribution::kind::uniform;
        pair_of(name);
    } else if (name == "log_uniform") {
        d.type = distribution::kind::log_uniform;
        pair_of(name);
        if (!(d.low > 0)) {
            fail(args, fmt::format("sweep.random: '{}': log_uniform needs 0 < low, got {}", key,
                                   args[0].Scalar()));
        }
    } else if (name == "uniform_int") {
        d.type = distribution::kind::uniform_int;
        if (!args.IsSequence() || args.size() != 2 || !parse_i64(args[0], d.int_low) ||
            !parse_i64(args[1], d.int_high)) {
            fail(args.IsNull() ? n.begin()->first : args,
                 fmt::format("sweep.random: '{}': uniform_int needs a list of two whole numbers "
                             "[low, high], got {}",
                             key, shown(args)));
        }
        if (!(d.int_low <= d.int_high)) {
            fail(args, fmt::format("sweep.random: '{}': uniform_int needs low <= high, got [{}, "
                                   "{}]",
                                   key, d.int_low, d.int_high));
        }
    } else if (name == "choice") {
        d.type = distribution::kind::choice;
        if (!args.IsSequence() || args.size() == 0) {
            fail(args.IsNull() ? n.begin()->first : args,
                 fmt::format("sweep.random: '{}': choice needs a non-empty list of values, got "
                             "{}",
                             key, shown(args)));
        }
        for (const auto& c: args) {
            d.choices.push_back(c);
        }
    } else if (name == "normal") {
        d.type = distribution::kind::normal;
        std::vector<std::pair<string, YAML::Node>> parts;
        if (args.IsSequence() && args.size() == 2) {
            parts = {{"mean", args[0]}, {"std", args[1]}};
        } else if (args.IsMap()) {
            for (const auto& [k, k_node]: entries(args, "sweep.random." + key + ".normal")) {
                if (k != "mean" && k != "std" && k != "min" && k != "max") {
                    fail(k_node, fmt::format("sweep.random: '{}': unknown key '{}' in normal; "
                                             "expected one of: mean, std, min, max",
                                             key, k));
                }
                parts.emplace_back(k, args[k]);
            }
        } else {
            fail(args.IsNull() ? n.begin()->first : args,
                 fmt::format("sweep.random: '{}': normal needs {{mean: m, std: s}} (min, max "
                             "optional) or [mean, std], got {}",
                             key, shown(args)));
        }
        bool has_mean = false;
        bool has_std = false;
        bool first = true;
        for (const auto& [k, v]: parts) {
            const auto [x, dim] = bound_at(key, "normal", v);
            if (first) {
                d.dim = dim;
                first = false;
            } else if (dim != d.dim) {
                fail(v, fmt::format("sweep.random: '{}': normal's numbers must have the same "
                                    "dimension, got {}",
                                    key, shown(v)));
            }
            if (k == "mean") {
                d.mean = x;
                has_mean = true;
            } else if (k == "std") {
                if (!(x >= 0)) {
                    fail(v, fmt::format("sweep.random: '{}': normal needs std >= 0, got {}", key,
                                        v.Scalar()));
                }
                d.std = x;
                has_std = true;
            } else if (k == "min") {
                d.min = x;
            } else {
                d.max = x;
            }
        }
        if (!has_mean || !has_std) {
            fail(args, fmt::format("sweep.random: '{}': normal needs both mean and std", key));
        }
        if (!(d.min < d.max)) {
            fail(args, fmt::format("sweep.random: '{}': normal needs min < max", key));
        }
    } else {
        fail(n.begin()->first, fmt::format("sweep.random: '{}': unknown distribution '{}'; "
                                           "expected one of: {}",
                                           key, name, kinds));
    }
    return d;
}

string block_reader::draw(const string& key, const YAML::Node& at, const distribution& d,
                          rng_stream& rng) const {
    switch (d.type) {
    case distribution::kind::uniform:
        return quantity_text(rng.uniform(d.low, d.high), d.dim);
    case distribution::kind::log_uniform:
        return quantity_text(std::exp(rng.uniform(std::log(d.low), std::log(d.high))), d.dim);
    case distribution::kind::uniform_int: {
        // in unsigned arithmetic: high - low may not fit an int64
        const std::uint64_t span =
            static_cast<std::uint64_t>(d.int_high) - static_cast<std::uint64_t>(d.int_low) + 1;
        // span == 0: the whole 64-bit range, where any draw is in range
        const std::uint64_t u = span == 0 ? rng.next_u64() : rng.below(span);
        return std::to_string(static_cast<std::int64_t>(static_cast<std::uint64_t>(d.int_low) + u));
    }
    case distribution::kind::choice:
        return yaml_text(d.choices[rng.below(d.choices.size())]);
    case distribution::kind::normal:
        for (int i = 0; i < max_redraws; ++i) {
            const double x = d.mean + d.std * rng.normal();
            if (x >= d.min && x <= d.max) {
                return quantity_text(x, d.dim);
            }
        }
        fail(at, fmt::format("sweep.random: '{}': no draw of the normal fell inside [min, max] in "
                             "{} tries; widen the bounds",
                             key, max_redraws));
    }
    throw internal_error("sweep: unknown distribution kind");
}

std::vector<varied> block_reader::read_random(const YAML::Node& n, std::uint64_t seed) {
    const auto keys = entries(n, "sweep.random");
    std::uint64_t draws = 0;
    bool has_n = false;
    std::vector<varied> out;
    for (const auto& [key, key_node]: keys) {
        if (key.find('.') == string::npos) {
            if (key != "n") {
                fail(key_node, "unknown key '" + key +
                                   "' in 'sweep.random'; expected 'n' (the number of draws) "
                                   "or key paths such as populations.exc.params.tau_m");
            }
            draws = integer_at(n[key], "sweep.random.n", 1);
            has_n = true;
        }
    }
    if (!has_n) {
        fail(n, "missing required key 'n' in 'sweep.random' (the number of draws)");
    }
    if (draws > max_points) {
        fail(n["n"], fmt::format("sweep.random.n = {} is more than {} points", draws, max_points));
    }
    for (const auto& [key, key_node]: keys) {
        if (key.find('.') == string::npos) {
            continue;
        }
        check_key(key, key_node, "random");
        const YAML::Node& spec = n[key];
        const distribution d = read_distribution(key, spec);
        varied v{key, key_node, "random", {}};
        const YAML::Mark m = spec.Mark();
        for (std::uint64_t i = 0; i < draws; ++i) {
            rng_stream rng(stream_key(seed, stream::sweep, fnv1a(key)),
                           static_cast<std::uint32_t>(i), 0);
            v.values.push_back({key, draw(key, spec, d, rng), m.line + 1, m.column + 1});
        }
        out.push_back(std::move(v));
    }
    if (out.empty()) {
        fail(n, "sweep.random has no key paths to draw; add e.g. "
                "'populations.exc.params.tau_m: {uniform: [10 ms, 30 ms]}'");
    }
    return out;
}

sweep_plan block_reader::read(const YAML::Node& sweep_key, const YAML::Node& block,
                              const string& stem) {
    sweep_plan plan;
    plan.name = stem;
    if (block.IsNull()) {
        fail(sweep_key, "sweep: nothing to vary; give at least one of grid, zip, random, repeats");
    }
    const auto keys = entries(block, "sweep");
    static const std::vector<string> allowed{"name", "seed", "grid", "zip", "random", "repeats"};
    for (const auto& [key, key_node]: keys) {
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(key_node,
                 "unknown key '" + key + "' in 'sweep'; expected one of: " + join(allowed));
        }
    }
    if (const YAML::Node n = block["name"]; n.IsDefined()) {
        if (!n.IsScalar() || !valid_name(n.Scalar())) {
            fail(n, "sweep.name must be a name of letters, digits, '_' and '-', got " + shown(n));
        }
        plan.name = n.Scalar();
    }
    if (const YAML::Node n = block["seed"]; n.IsDefined()) {
        plan.seed = integer_at(n, "sweep.seed", 0);
    }

    // The blocks, in numbering order (outermost first).
    std::vector<std::vector<varied>> blocks;
    if (const YAML::Node n = block["grid"]; n.IsDefined()) {
        for (auto& v: read_lists(n, "grid")) {
            blocks.push_back({std::move(v)});  // each grid key is a loop of its own
        }
    }
    if (const YAML::Node n = block["zip"]; n.IsDefined()) {
        blocks.push_back(read_lists(n, "zip"));
    }
    if (const YAML::Node n = block["random"]; n.IsDefined()) {
        blocks.push_back(read_random(n, plan.seed));
    }
    if (const YAML::Node n = block["repeats"]; n.IsDefined()) {
        plan.repeats = integer_at(n, "sweep.repeats", 1);
        for (const auto& [key, other_block]: seen_) {
            if (key == seed_key) {
                fail(n, fmt::format("sweep.repeats sets simulation.seed, which sweep.{} varies "
                                    "too; vary it in one place only",
                                    other_block));
            }
        }
        if (plan.repeats > max_points) {
            fail(n, fmt::format("sweep.repeats = {} is more than {} points", plan.repeats,
                                max_points));
        }
        // Distinct seeds, each a pure function of (sweep seed, repeat index); 31 bits, so that
        // every tool reads them as ordinary integers.
        varied v{string(seed_key), n, "repeats", {}};
        std::set<std::uint64_t> used;
        const YAML::Mark m = n.Mark();
        for (std::size_t s = 0; s < plan.repeats; ++s) {
            rng_stream rng(stream_key(plan.seed, stream::sweep, fnv1a(seed_key)),
                           static_cast<std::uint32_t>(s), 0);
            std::uint64_t seed = rng.next_u32() >> 1;
            while (!used.insert(seed).second) {
                seed = rng.next_u32() >> 1;
            }
            v.values.push_back({v.key, std::to_string(seed), m.line + 1, m.column + 1});
        }
        blocks.push_back({std::move(v)});
    }
    if (blocks.empty()) {
        fail(block, "sweep: nothing to vary; give at least one of grid, zip, random, repeats");
    }

    std::size_t n_points = 1;
    for (const auto& b: blocks) {
        const std::size_t size = b.front().values.size();
        if (n_points > max_points / size) {
            fail(block, fmt::format("sweep: more than {} points; split the sweep", max_points));
        }
        n_points *= size;
        for (const auto& v: b) {
            plan.keys.push_back(v.key);
        }
    }
    plan.points.resize(n_points);
    for (std::size_t k = 0; k < n_points; ++k) {
        point& p = plan.points[k];
        p.index = k;
        // Mixed radix, the last block fastest.
        std::vector<std::size_t> digit(blocks.size());
        std::size_t rest = k;
        for (std::size_t b = blocks.size(); b-- > 0;) {
            const std::size_t size = blocks[b].front().values.size();
            digit[b] = rest % size;
            rest /= size;
        }
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            for (const auto& v: blocks[b]) {
                p.values.push_back(v.values[digit[b]]);
            }
        }
    }
    return plan;
}

sweep_plan parse(const string& text, const string& name, const model_registry& models) {
    const YAML::Node root = io::load_yaml_document(text, {name, false, ""});
    // The experiment itself first: a sweep over a broken file would fail at every point.
    const experiment_spec base = io::parse_experiment(text, name, {}, models);
    YAML::Node key;  // the loader has checked: the top level is a map with names for keys
    YAML::Node block;
    bool found = false;
    for (auto it = root.begin(); it != root.end(); ++it) {
        if (it->first.Scalar() == "sweep") {
            key.reset(it->first);
            block.reset(it->second);
            found = true;
        }
    }
    if (!found) {
        throw error(name + " has no 'sweep:' block (see docs/sweeps.md)");
    }
    block_reader reader(name, root);
    sweep_plan plan = reader.read(key, block, std::filesystem::path(name).stem().string());
    plan.file = name;
    plan.text = text;
    const std::filesystem::path output(base.output.path);
    plan.directory = output.parent_path() / plan.name;
    for (auto& p: plan.points) {
        p.directory = plan.directory / ("point_" + std::to_string(p.index));
        p.output = p.directory / output.filename();
    }
    return plan;
}

}  // namespace

std::vector<std::string> point::overrides() const {
    std::vector<std::string> out;
    out.reserve(values.size());
    for (const auto& a: values) {
        out.push_back(a.key + "=" + a.value);
    }
    return out;
}

sweep_plan expand_sweep(const std::string& path, const model_registry& models) {
    return parse(io::read_input_file(path, "experiment file"), path, models);
}

sweep_plan parse_sweep(const std::string& yaml_text, const std::string& name,
                       const model_registry& models) {
    return parse(yaml_text, name, models);
}

experiment_spec load_point(const sweep_plan& plan, std::size_t k,
                           const std::vector<std::string>& user_overrides,
                           const model_registry& models, const spec_check& check) {
    if (k >= plan.points.size()) {
        throw error(fmt::format("{}: no point {}; the sweep has points 0 to {}", plan.file, k,
                                plan.points.size() - 1));
    }
    const point& p = plan.points[k];
    std::vector<std::string> overrides = p.overrides();
    overrides.insert(overrides.end(), user_overrides.begin(), user_overrides.end());
    try {
        experiment_spec spec = io::parse_experiment(plan.text, plan.file, overrides, models);
        if (check) {
            check(spec);
        }
        return spec;
    }
    catch (const config_error& e) {
        // Located in the file, but possibly a consequence of the point's values.
        throw config_error(
            e.file(), e.line(), e.column(),
            fmt::format("{} (sweep point {}: {})", e.message(), k, join(p.overrides())));
    }
    catch (const error& e) {
        const string what = e.what();
        for (const auto& a: p.values) {
            const string prefix = "--set " + a.key + "=" + a.value + ": ";
            if (what.compare(0, prefix.size(), prefix) == 0) {
                throw config_error(plan.file, a.line, a.column,
                                   fmt::format("sweep point {}: {}={}: {}", k, a.key, a.value,
                                               what.substr(prefix.size())));
            }
        }
        throw error(fmt::format("{} (sweep point {}: {})", what, k, join(p.overrides())));
    }
}

std::vector<std::string> check_points(const sweep_plan& plan, const model_registry& models,
                                      const spec_check& check) {
    std::vector<std::string> configs;
    configs.reserve(plan.points.size());
    for (std::size_t k = 0; k < plan.points.size(); ++k) {
        configs.push_back(load_point(plan, k, {}, models, check).config_text);
    }
    return configs;
}

}  // namespace glia::sweep
