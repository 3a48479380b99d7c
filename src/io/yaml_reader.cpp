#include "io/yaml_reader.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/units.hpp"

namespace glia::io {

namespace {

std::string shown(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) {
        return "nothing";
    }
    if (n.IsScalar()) {
        return "'" + n.Scalar() + "'";
    }
    return n.IsMap() ? "a map" : "a list";
}

std::string join(std::initializer_list<std::string_view> items) {
    std::string out;
    for (auto s: items) {
        out += (out.empty() ? "" : ", ") + std::string(s);
    }
    return out;
}

}  // namespace

std::string key_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

yaml_reader::yaml_reader(const std::string& text, std::string file,
                         const std::vector<std::string>& overrides) :
    file_(std::move(file)) {
    try {
        root_ = YAML::Load(text);
    }
    catch (const YAML::ParserException& e) {
        throw config_error(file_, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    if (!root_.IsMap()) {
        throw error(file_ + ": the file must be a YAML map of sections");
    }
    for (const std::string& o: overrides) {
        const auto eq = o.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw error("--set '" + o + "': expected key.path=value, e.g. protocol.init_samples=100");
        }
        const std::string path = o.substr(0, eq);
        YAML::Node value;
        try {
            value = YAML::Load(o.substr(eq + 1));
        }
        catch (const YAML::Exception& e) {
            throw error("--set " + o + ": the value is not valid YAML: " + e.msg);
        }
        std::vector<std::string> keys;
        for (std::size_t start = 0;;) {
            const auto dot = path.find('.', start);
            keys.push_back(path.substr(start, dot == std::string::npos ? dot : dot - start));
            if (keys.back().empty()) {
                throw error("--set " + o + ": '" + path + "' is not a key path (keys separated "
                            "by '.')");
            }
            if (dot == std::string::npos) {
                break;
            }
            start = dot + 1;
        }
        YAML::Node parent = root_;
        std::string walked;
        for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
            walked = key_path(walked, keys[i]);
            const YAML::Node& const_parent = parent;
            const YAML::Node existing = const_parent[keys[i]];
            if (!existing.IsDefined()) {
                // A section the file leaves out: create it. (`existing` is then an invalid
                // node, which cannot be assigned to: issue 6, `--set dataset.limit.train=600`
                // on a file without dataset.limit was an internal error.)
                parent[keys[i]] = YAML::Node(YAML::NodeType::Map);
            } else if (!existing.IsMap()) {
                throw error("--set " + o + ": '" + walked + "' is not a map in the file (it is " +
                            shown(existing) + ")");
            }
            YAML::Node next = parent[keys[i]];
            parent.reset(next);
        }
        parent[keys.back()] = value;
        overrides_.emplace_back(path, o);
    }
}

std::string yaml_reader::emit() const {
    YAML::Emitter out;
    out << root_;
    return out.c_str();
}

const std::string* yaml_reader::override_of(const std::string& path) const {
    for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
        const std::string& p = it->first;
        if (path == p || (path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
                          (path[p.size()] == '.' || path[p.size()] == '['))) {
            return &it->second;
        }
    }
    return nullptr;
}

void yaml_reader::fail(const YAML::Node& at, const std::string& path,
                       const std::string& message) const {
    if (const std::string* o = override_of(path)) {
        throw error("--set " + *o + ": " + message);
    }
    const YAML::Mark m = at.IsDefined() ? at.Mark() : YAML::Mark::null_mark();
    if (m.is_null()) {
        throw error(file_ + ": " + message);
    }
    throw config_error(file_, m.line + 1, m.column + 1, message);
}

void yaml_reader::check_keys(const YAML::Node& n, const std::string& path,
                             std::initializer_list<std::string_view> allowed) const {
    if (!n.IsDefined()) {
        return;
    }
    if (!n.IsMap()) {
        fail(n, path, fmt::format("{} must be a map, got {}", path.empty() ? "the file" : path,
                                  shown(n)));
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
        const std::string key = it->first.as<std::string>();
        bool known = false;
        for (auto a: allowed) {
            known = known || key == a;
        }
        if (!known) {
            fail(it->first, key_path(path, key),
                 fmt::format("unknown key '{}'{}; allowed: {}", key,
                             path.empty() ? "" : " in " + path, join(allowed)));
        }
    }
}

YAML::Node yaml_reader::child(const YAML::Node& n, std::string_view key) const {
    if (!n.IsDefined() || !n.IsMap()) {
        return YAML::Node(YAML::NodeType::Undefined);
    }
    const YAML::Node& cn = n;
    return cn[std::string(key)];
}

YAML::Node yaml_reader::required(const YAML::Node& n, const std::string& path,
                                 std::string_view key) const {
    YAML::Node c = child(n, key);
    if (!c.IsDefined()) {
        fail(n, path, fmt::format("missing key '{}'", key_path(path, key)));
    }
    return c;
}

double yaml_reader::number(const YAML::Node& n, const std::string& path, double lo, double hi,
                           bool lo_open, bool hi_open) const {
    double v = 0;
    quantity q;
    if (!n.IsScalar() || try_parse_quantity(n.Scalar(), q) != parse_status::ok ||
        q.dim != dimension::none) {
        fail(n, path, fmt::format("{} must be a number, got {}", path, shown(n)));
    }
    v = q.value;
    const bool below = lo_open ? !(v > lo) : !(v >= lo);
    const bool above = hi_open ? !(v < hi) : !(v <= hi);
    if (!std::isfinite(v) || below || above) {
        fail(n, path, fmt::format("{} must be in {}{}, {}{}, got {}", path, lo_open ? "(" : "[",
                                  lo, hi, hi_open ? ")" : "]", n.Scalar()));
    }
    return v;
}

std::uint64_t yaml_reader::integer(const YAML::Node& n, const std::string& path,
                                   std::uint64_t lo, std::uint64_t hi) const {
    std::uint64_t v = 0;
    if (!n.IsScalar() || !YAML::convert<std::uint64_t>::decode(n, v) || v < lo || v > hi) {
        fail(n, path, fmt::format("{} must be a whole number in [{}, {}], got {}", path, lo, hi,
                                  shown(n)));
    }
    return v;
}

bool yaml_reader::boolean(const YAML::Node& n, const std::string& path) const {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
        fail(n, path, fmt::format("{} must be true or false, got {}", path, shown(n)));
    }
    return v;
}

std::string yaml_reader::text(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar() || n.Scalar().empty()) {
        fail(n, path, fmt::format("{} must be a text, got {}", path, shown(n)));
    }
    return n.Scalar();
}

std::string yaml_reader::choice(const YAML::Node& n, const std::string& path,
                                std::initializer_list<std::string_view> options) const {
    if (n.IsScalar()) {
        for (auto o: options) {
            if (n.Scalar() == o) {
                return n.Scalar();
            }
        }
    }
    fail(n, path, fmt::format("{} must be one of {}, got {}", path, join(options), shown(n)));
}

double yaml_reader::time_ms(const YAML::Node& n, const std::string& path, double lo,
                            double hi) const {
    quantity q;
    if (!n.IsScalar() || try_parse_quantity(n.Scalar(), q) != parse_status::ok ||
        (q.dim != dimension::none && q.dim != dimension::time)) {
        fail(n, path, fmt::format("{} must be a time ({} or a number of ms), got {}", path,
                                  units_of(dimension::time), shown(n)));
    }
    if (!std::isfinite(q.value) || q.value < lo || q.value > hi) {
        fail(n, path, fmt::format("{} must be in [{} ms, {} ms], got {}", path, lo, hi,
                                  n.Scalar()));
    }
    return q.value;
}

std::vector<std::uint64_t> yaml_reader::integers(const YAML::Node& n, const std::string& path,
                                                 std::size_t size, std::uint64_t lo,
                                                 std::uint64_t hi) const {
    if (!n.IsSequence() || n.size() != size) {
        fail(n, path, fmt::format("{} must be a list of {} whole numbers, got {}", path, size,
                                  shown(n)));
    }
    std::vector<std::uint64_t> out;
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(integer(n[i], fmt::format("{}[{}]", path, i), lo, hi));
    }
    return out;
}

std::vector<double> yaml_reader::numbers(const YAML::Node& n, const std::string& path, double lo,
                                         double hi) const {
    if (!n.IsSequence() || n.size() == 0) {
        fail(n, path, fmt::format("{} must be a non-empty list of numbers, got {}", path,
                                  shown(n)));
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < n.size(); ++i) {
        out.push_back(number(n[i], fmt::format("{}[{}]", path, i), lo, hi));
    }
    return out;
}

double yaml_reader::number_or(const YAML::Node& n, const std::string& path, std::string_view key,
                              double fallback, double lo, double hi, bool lo_open) const {
    const YAML::Node c = child(n, key);
    return c.IsDefined() ? number(c, key_path(path, key), lo, hi, lo_open) : fallback;
}

std::uint64_t yaml_reader::integer_or(const YAML::Node& n, const std::string& path,
                                      std::string_view key, std::uint64_t fallback,
                                      std::uint64_t lo, std::uint64_t hi) const {
    const YAML::Node c = child(n, key);
    return c.IsDefined() ? integer(c, key_path(path, key), lo, hi) : fallback;
}

bool yaml_reader::boolean_or(const YAML::Node& n, const std::string& path, std::string_view key,
                             bool fallback) const {
    const YAML::Node c = child(n, key);
    return c.IsDefined() ? boolean(c, key_path(path, key)) : fallback;
}

double yaml_reader::time_ms_or(const YAML::Node& n, const std::string& path, std::string_view key,
                               double fallback, double lo, double hi) const {
    const YAML::Node c = child(n, key);
    return c.IsDefined() ? time_ms(c, key_path(path, key), lo, hi) : fallback;
}

}  // namespace glia::io
