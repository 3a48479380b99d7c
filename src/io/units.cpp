#include "io/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <system_error>

#include <glia/error.hpp>

namespace glia::io {
namespace {

// value [unit] = value * multiply / divide [canonical unit]. Units below the canonical one
// divide by an exact power of ten: 100 us / 1000 is the double nearest 0.1, 100 * 1e-3 may not be.
struct unit_entry {
    std::string_view name;
    dimension dim;
    double multiply;
    double divide;
};

constexpr std::array<unit_entry, 26> units{{
    {"ms", dimension::time, 1, 1},
    {"s", dimension::time, 1e3, 1},
    {"us", dimension::time, 1, 1e3},
    {"min", dimension::time, 6e4, 1},
    {"mV", dimension::voltage, 1, 1},
    {"V", dimension::voltage, 1e3, 1},
    {"uV", dimension::voltage, 1, 1e3},
    {"pA", dimension::current, 1, 1},
    {"nA", dimension::current, 1e3, 1},
    {"uA", dimension::current, 1e6, 1},
    {"nS", dimension::conductance, 1, 1},
    {"uS", dimension::conductance, 1e3, 1},
    {"mS", dimension::conductance, 1e6, 1},
    {"pS", dimension::conductance, 1, 1e3},
    {"pF", dimension::capacitance, 1, 1},
    {"nF", dimension::capacitance, 1e3, 1},
    {"uF", dimension::capacitance, 1e6, 1},
    {"Hz", dimension::rate, 1, 1},
    {"kHz", dimension::rate, 1e3, 1},
    {"MHz", dimension::rate, 1e6, 1},
    {"uM", dimension::concentration, 1, 1},
    {"nM", dimension::concentration, 1, 1e3},
    {"mM", dimension::concentration, 1e3, 1},
    {"um", dimension::length, 1, 1},
    {"mm", dimension::length, 1e3, 1},
    {"", dimension::none, 1, 1},
}};

constexpr std::array<dimension, 8> unit_dimensions{
    dimension::time,        dimension::voltage, dimension::current,       dimension::conductance,
    dimension::capacitance, dimension::rate,    dimension::concentration, dimension::length};

constexpr std::string_view dimension_word(dimension d) {
    switch (d) {
    case dimension::time:
        return "time";
    case dimension::voltage:
        return "voltage";
    case dimension::current:
        return "current";
    case dimension::conductance:
        return "conductance";
    case dimension::capacitance:
        return "capacitance";
    case dimension::rate:
        return "rate";
    case dimension::concentration:
        return "concentration";
    case dimension::length:
        return "length";
    default:
        return "";
    }
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_blank(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// YAML's spellings of infinity and NaN (YAML 1.2 core schema), with an optional sign.
bool parse_yaml_special(std::string_view s, double& out) {
    double sign = 1;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        sign = s.front() == '-' ? -1 : 1;
        s.remove_prefix(1);
    }
    if (s == ".inf" || s == ".Inf" || s == ".INF") {
        out = sign * std::numeric_limits<double>::infinity();
        return true;
    }
    if (s == ".nan" || s == ".NaN" || s == ".NAN") {
        out = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    return false;
}

// The longest prefix of `s` that is a decimal number; its length in `used` (0: none).
bool parse_number_prefix(std::string_view s, double& out, std::size_t& used) {
    std::size_t start = 0;
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        start = 1;
    }
    // from_chars would also take "inf" and "nan" words; a number must start with a digit or '.'.
    if (start >= s.size() ||
        !(std::isdigit(static_cast<unsigned char>(s[start])) || s[start] == '.')) {
        return false;
    }
    double v = 0;
    const auto* first = s.data() + start;
    const auto [end, ec] = std::from_chars(first, s.data() + s.size(), v);
    if (ec == std::errc::invalid_argument) {
        return false;
    }
    if (ec == std::errc::result_out_of_range) {
        // Out of range: from_chars leaves v alone; let strtod give +-inf or 0, as YAML would.
        v = std::strtod(std::string(first, end).c_str(), nullptr);
    }
    out = negative ? -v : v;
    used = static_cast<std::size_t>(end - s.data());
    return true;
}

// Accepts "µ" (U+00B5 micro sign or U+03BC Greek mu) for the prefix "u".
std::string normalise_micro(std::string_view unit) {
    for (std::string_view mu: {std::string_view("\xC2\xB5"), std::string_view("\xCE\xBC")}) {
        if (unit.substr(0, mu.size()) == mu) {
            std::string out(1, 'u');
            out.append(unit.substr(mu.size()));
            return out;
        }
    }
    return std::string(unit);
}

}  // namespace

parse_status try_parse_quantity(std::string_view text, quantity& out) {
    const std::string_view s = trim(text);
    double v = 0;
    if (parse_yaml_special(s, v)) {
        out = {v, dimension::none};
        return parse_status::ok;
    }
    std::size_t used = 0;
    if (!parse_number_prefix(s, v, used)) {
        return parse_status::not_a_number;
    }
    const std::string unit = normalise_micro(trim(s.substr(used)));
    if (!unit.empty() && !std::isalpha(static_cast<unsigned char>(unit.front()))) {
        // "1.2.3", "5%", "1,5": not a number followed by a unit.
        return parse_status::not_a_number;
    }
    if (!unit.empty() && !is_blank(s[used]) && (unit.front() == 'e' || unit.front() == 'E')) {
        // "1e" or "2.5e+": a broken exponent, not a unit.
        return parse_status::not_a_number;
    }
    for (const auto& u: units) {
        if (u.name == unit) {
            out = {v * u.multiply / u.divide, u.dim};
            return parse_status::ok;
        }
    }
    return parse_status::unknown_unit;
}

quantity parse_quantity(std::string_view text) {
    quantity q;
    switch (try_parse_quantity(text, q)) {
    case parse_status::ok:
        return q;
    case parse_status::not_a_number:
        throw error("'" + std::string(text) +
                    "' is not a number (with an optional unit, e.g. '20 ms')");
    case parse_status::unknown_unit: {
        std::size_t used = 0;
        double v = 0;
        const std::string_view s = trim(text);
        parse_number_prefix(s, v, used);
        throw error("unknown unit '" + std::string(trim(s.substr(used))) + "' in '" +
                    std::string(text) + "'; units are: " + all_units());
    }
    }
    throw internal_error("parse_quantity: unhandled status");
}

std::string units_of(dimension d) {
    std::string out;
    for (const auto& u: units) {
        if (u.dim == d && !u.name.empty()) {
            if (!out.empty()) {
                out += ", ";
            }
            out += u.name;
        }
    }
    return out;
}

std::string describe(dimension d) {
    const std::string units_list = units_of(d);
    if (units_list.empty()) {
        return std::string(dimension_name(d));
    }
    return std::string(dimension_name(d)) + " (" + units_list + ")";
}

std::string all_units() {
    std::string out;
    for (dimension d: unit_dimensions) {
        if (!out.empty()) {
            out += "; ";
        }
        out += units_of(d) + " (" + std::string(dimension_word(d)) + ")";
    }
    return out;
}

}  // namespace glia::io
