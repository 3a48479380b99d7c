#pragma once
// Physical dimensions and glia's canonical units. Every number inside glia is in the canonical
// unit of its dimension; units are resolved once, when a config is read.

#include <string_view>

namespace glia {

enum class dimension {
    none,           // dimensionless (counts, probabilities, model constants)
    time,           // [ms]
    voltage,        // [mV]
    current,        // [pA]
    conductance,    // [nS]
    capacitance,    // [pF]
    rate,           // [Hz]
    concentration,  // [uM]
    length,         // [um]
    flag,           // true / false (stored as 1 / 0)
};

// The canonical unit of a dimension, as written in configs and output files ("ms", "mV", ...).
constexpr std::string_view canonical_unit(dimension d) {
    switch (d) {
    case dimension::none: return "";
    case dimension::time: return "ms";
    case dimension::voltage: return "mV";
    case dimension::current: return "pA";
    case dimension::conductance: return "nS";
    case dimension::capacitance: return "pF";
    case dimension::rate: return "Hz";
    case dimension::concentration: return "uM";
    case dimension::length: return "um";
    case dimension::flag: return "";
    }
    return "";
}

// A human name for messages: "a time", "a voltage", ...
constexpr std::string_view dimension_name(dimension d) {
    switch (d) {
    case dimension::none: return "a plain number";
    case dimension::time: return "a time";
    case dimension::voltage: return "a voltage";
    case dimension::current: return "a current";
    case dimension::conductance: return "a conductance";
    case dimension::capacitance: return "a capacitance";
    case dimension::rate: return "a rate";
    case dimension::concentration: return "a concentration";
    case dimension::length: return "a length";
    case dimension::flag: return "true or false";
    }
    return "";
}

}  // namespace glia
