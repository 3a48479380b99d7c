#pragma once
// Quantities as users write them in configs ("20 ms", "-65 mV", "2.5e3 Hz", "1.5") and their
// conversion to glia's canonical units (include/glia/units.hpp). Units are resolved here, once,
// when a config is read; nothing after this point sees a unit string.
//
// Units, by dimension (the first is canonical; a leading "µ" may be written for "u"):
//   time ms, s, us, min          voltage mV, V, uV          current pA, nA, uA
//   conductance nS, uS, mS, pS   capacitance pF, nF, uF     rate Hz, kHz, MHz
//   concentration uM, nM, mM     length um, mm
// A bare number is dimension::none: the caller decides whether that means "canonical unit".

#include <string>
#include <string_view>

#include <glia/units.hpp>

namespace glia::io {

struct quantity {
    double value = 0;                 // in the canonical unit of `dim`
    dimension dim = dimension::none;  // none: a bare number
};

// Parses one quantity: a number, optional blanks, an optional unit. The number follows YAML's
// float syntax as well (".inf", "-.inf", ".nan"); callers that need finite values check.
// Throws glia::error when the text is not a number, or names an unknown unit (the message
// lists every unit).
quantity parse_quantity(std::string_view text);

// The same without throwing: what went wrong, for callers that word their own messages.
enum class parse_status { ok, not_a_number, unknown_unit };
parse_status try_parse_quantity(std::string_view text, quantity& out);

// The units of a dimension, for messages: "ms, s, us, min". Empty for none and flag.
std::string units_of(dimension d);

// "a time (ms, s, us, min)"; "a plain number" for none; "true or false" for flag.
std::string describe(dimension d);

// Every known unit, grouped by dimension: "ms, s, us, min (time); mV, V, uV (voltage); ...".
std::string all_units();

}  // namespace glia::io
