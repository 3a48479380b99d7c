// Quantities as written in configs -> canonical units (src/io/units.hpp).

#include <cmath>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>

#include "io/units.hpp"

namespace {

using glia::dimension;
using glia::io::parse_quantity;

struct unit_case {
    const char* text;
    double value;  // canonical
    dimension dim;
};

TEST(units, converts_every_unit_to_its_canonical_unit) {
    const unit_case cases[] = {
        {"2 ms", 2, dimension::time},
        {"2 s", 2000, dimension::time},
        {"2 us", 0.002, dimension::time},
        {"2 min", 120000, dimension::time},
        {"2 mV", 2, dimension::voltage},
        {"2 V", 2000, dimension::voltage},
        {"2 uV", 0.002, dimension::voltage},
        {"2 pA", 2, dimension::current},
        {"2 nA", 2000, dimension::current},
        {"2 uA", 2e6, dimension::current},
        {"2 nS", 2, dimension::conductance},
        {"2 uS", 2000, dimension::conductance},
        {"2 mS", 2e6, dimension::conductance},
        {"2 pS", 0.002, dimension::conductance},
        {"2 pF", 2, dimension::capacitance},
        {"2 nF", 2000, dimension::capacitance},
        {"2 uF", 2e6, dimension::capacitance},
        {"2 Hz", 2, dimension::rate},
        {"2 kHz", 2000, dimension::rate},
        {"2 MHz", 2e6, dimension::rate},
        {"2 uM", 2, dimension::concentration},
        {"2 nM", 0.002, dimension::concentration},
        {"2 mM", 2000, dimension::concentration},
        {"2 um", 2, dimension::length},
        {"2 mm", 2000, dimension::length},
        {"2", 2, dimension::none},
    };
    for (const auto& c: cases) {
        const auto q = parse_quantity(c.text);
        EXPECT_EQ(q.value, c.value) << c.text;
        EXPECT_EQ(q.dim, c.dim) << c.text;
    }
}

TEST(units, parses_the_examples_of_the_config_reference) {
    EXPECT_EQ(parse_quantity("20 ms").value, 20.0);
    EXPECT_EQ(parse_quantity("20ms").value, 20.0);
    EXPECT_EQ(parse_quantity("-65 mV").value, -65.0);
    EXPECT_EQ(parse_quantity("2.5e3 Hz").value, 2500.0);
    EXPECT_EQ(parse_quantity("20 kHz").value, 20000.0);
    EXPECT_EQ(parse_quantity("250 pF").value, 250.0);
    EXPECT_EQ(parse_quantity("0.25 nF").value, 250.0);
    EXPECT_EQ(parse_quantity("6 nS").value, 6.0);
    EXPECT_EQ(parse_quantity("1 s").value, 1000.0);
    EXPECT_EQ(parse_quantity("16.2 pA").value, 16.2);
    EXPECT_EQ(parse_quantity("2 uM").value, 2.0);
    EXPECT_EQ(parse_quantity("1.5").value, 1.5);
    EXPECT_EQ(parse_quantity("1.5").dim, dimension::none);
}

TEST(units, accepts_blanks_signs_and_exponents) {
    EXPECT_EQ(parse_quantity("  20   ms  ").value, 20.0);
    EXPECT_EQ(parse_quantity("20\tms").value, 20.0);
    EXPECT_EQ(parse_quantity("+5 mV").value, 5.0);
    EXPECT_EQ(parse_quantity("-0.5 nA").value, -500.0);
    EXPECT_EQ(parse_quantity("1E-3 s").value, 1.0);
    EXPECT_EQ(parse_quantity("2.5e+3Hz").value, 2500.0);
    EXPECT_EQ(parse_quantity(".5 ms").value, 0.5);
    EXPECT_EQ(parse_quantity("-.25").value, -0.25);
}

TEST(units, divides_for_units_below_the_canonical_one) {
    // 100 us is the double nearest 0.1 ms, as if the user had written 0.1 ms.
    EXPECT_EQ(parse_quantity("100 us").value, 0.1);
    EXPECT_EQ(parse_quantity("300 us").value, 0.3);
    EXPECT_EQ(parse_quantity("100 pS").value, 0.1);
}

TEST(units, accepts_the_micro_sign_for_u) {
    EXPECT_EQ(parse_quantity("5 \xC2\xB5s").value, 0.005);  // U+00B5 MICRO SIGN
    EXPECT_EQ(parse_quantity("5 \xCE\xBCs").value, 0.005);  // U+03BC GREEK SMALL LETTER MU
    EXPECT_EQ(parse_quantity("5 \xC2\xB5V").dim, dimension::voltage);
}

TEST(units, reads_yaml_infinity_and_nan) {
    EXPECT_EQ(parse_quantity(".inf").value, std::numeric_limits<double>::infinity());
    EXPECT_EQ(parse_quantity("-.inf").value, -std::numeric_limits<double>::infinity());
    EXPECT_TRUE(std::isnan(parse_quantity(".nan").value));
    EXPECT_EQ(parse_quantity(".Inf").dim, dimension::none);
}

TEST(units, unit_names_are_case_sensitive) {
    // mS is millisiemens; MS and hz are no units.
    EXPECT_THROW(parse_quantity("2 MS"), glia::error);
    EXPECT_THROW(parse_quantity("2 hz"), glia::error);
    EXPECT_THROW(parse_quantity("2 Ms"), glia::error);
}

TEST(units, names_every_unit_when_the_unit_is_unknown) {
    EXPECT_THAT([] { parse_quantity("20 xs"); },
                testing::ThrowsMessage<glia::error>(testing::StrEq(
                    "unknown unit 'xs' in '20 xs'; units are: ms, s, us, min (time); mV, V, uV "
                    "(voltage); pA, nA, uA (current); nS, uS, mS, pS (conductance); pF, nF, uF "
                    "(capacitance); Hz, kHz, MHz (rate); uM, nM, mM (concentration); um, mm "
                    "(length)")));
}

TEST(units, refuses_text_that_is_not_a_number) {
    for (const char* text:
         {"fast", "", "ms", "1e", "1e+ ms", "1.2.3", "- 5", "5%", "inf", "nan", "0x10"}) {
        glia::io::quantity q;
        const auto status = glia::io::try_parse_quantity(text, q);
        if (std::string(text) == "0x10") {
            EXPECT_EQ(status, glia::io::parse_status::unknown_unit) << text;  // 0 of unit x10
        } else {
            EXPECT_EQ(status, glia::io::parse_status::not_a_number) << text;
        }
    }
    EXPECT_THAT([] { parse_quantity("fast"); },
                testing::ThrowsMessage<glia::error>(testing::StrEq(
                    "'fast' is not a number (with an optional unit, e.g. '20 ms')")));
}

TEST(units, describes_dimensions_for_messages) {
    EXPECT_EQ(glia::io::units_of(dimension::time), "ms, s, us, min");
    EXPECT_EQ(glia::io::units_of(dimension::none), "");
    EXPECT_EQ(glia::io::describe(dimension::conductance), "a conductance (nS, uS, mS, pS)");
    EXPECT_EQ(glia::io::describe(dimension::none), "a plain number");
    EXPECT_EQ(glia::io::describe(dimension::flag), "true or false");
}

}  // namespace
