// Bug (hostile-input testing): error messages quoted keys, values and paths from the input
// byte for byte, so an escape sequence in a YAML key (or a file name) reached the terminal and
// was executed by it. The message is escaped where glia prints it: control bytes as \x1b, line
// breaks as \n, bytes that are not UTF-8 as \xNN; UTF-8 text stays as it is.

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/text.hpp>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class error_messages_echoed_control_bytes: public glia::test::scratch_test {
protected:
    error_messages_echoed_control_bytes(): scratch_test("regression") {}
};

TEST_F(error_messages_echoed_control_bytes, a_key_with_an_escape_sequence_is_printed_escaped) {
    const std::string cfg = write("net.yaml", "simulation: {dt: 0.1 ms, duration: 5 ms}\n"
                                              "\x1b[2J\x1b]0;owned\x07: 1\n");
    const auto r = glia::test::run_glia("validate " + cfg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(cfg + ":2:1: unknown key '\\x1b[2J\\x1b]0;owned\\x07' at the top "
                                       "level"));
    EXPECT_THAT(r.out, Not(HasSubstr("\x1b[2J")));
    EXPECT_THAT(r.out, Not(HasSubstr("\x07")));

    // A --set value with a line break cannot forge a line of its own.
    const std::string clean = write("clean.yaml", "simulation: {dt: 0.1 ms, duration: 5 ms}\n");
    const auto s = glia::test::run_glia("validate " + clean +
                                        " --set \"$(printf 'x=1\\n[00:00:00] [info] all good')\"");
    EXPECT_EQ(s.code, 1) << s.out;
    EXPECT_THAT(s.out, Not(HasSubstr("\n[00:00:00] [info] all good")));
    EXPECT_THAT(s.out, HasSubstr("x=1\\n[00:00:00] [info] all good"));

    // A file name.
    const auto f = glia::test::run_glia("inspect \"$(printf 'no\\033[31mfile')\"");
    EXPECT_EQ(f.code, 1) << f.out;
    EXPECT_THAT(f.out, HasSubstr("cannot open output file 'no\\x1b[31mfile'"));
}

TEST(error_messages_echoed_control_bytes_text, printable_escapes_only_what_a_terminal_acts_on) {
    EXPECT_EQ(glia::printable("plain text, 20 \xc2\xb5s"), "plain text, 20 \xc2\xb5s");  // µ
    EXPECT_EQ(glia::printable("a\x1b[31mb\x7f\tc\r\n"), "a\\x1b[31mb\\x7f\\tc\\r\\n");
    EXPECT_EQ(glia::printable("\u009b2J"), "\\u{009b}2J");          // C1 CSI
    EXPECT_EQ(glia::printable("\u202etxt"), "\\u{202e}txt");        // right-to-left override
    EXPECT_EQ(glia::printable("\xff\xc3("), "\\xff\\xc3(");         // not UTF-8
    EXPECT_EQ(glia::printable("\xe0\x80\x80"), "\\xe0\\x80\\x80");  // overlong
}

}  // namespace
