// Bug (hostile-input testing): a file with CR-only line endings (old Mac "\r") was reported as
// "the file is empty" (yaml-cpp reads a lone CR as no line break, so the first comment swallowed
// the file), and a second YAML document after `---` was silently ignored. Both are now located
// errors, exit 1, and nothing is written.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class cr_only_file_read_as_empty: public glia::test::scratch_test {
protected:
    cr_only_file_read_as_empty(): scratch_test("regression") {}

    std::string network() const {
        return "# a small network\n"
               "simulation: {dt: 0.1 ms, duration: 5 ms, seed: 1}\n"
               "populations:\n"
               "  exc: {model: iaf_psc_exp, size: 20}\n"
               "record: {spikes: all}\n"
               "output: {file: " +
               path("out.h5") + "}\n";
    }
};

TEST_F(cr_only_file_read_as_empty, cr_line_endings_are_named) {
    std::string text = network();
    for (char& c: text) {
        if (c == '\n') {
            c = '\r';
        }
    }
    const std::string cfg = write("mac.yaml", text);
    for (const std::string command: {"validate", "run"}) {
        const auto r = glia::test::run_glia(command + " " + cfg);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_THAT(r.out, HasSubstr(cfg + ":1:18: the file uses CR-only line endings (old Mac "
                                           "style); convert it to LF line endings"));
        EXPECT_THAT(r.out, Not(HasSubstr("empty")));
    }
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));

    // CRLF (Windows) files read as before.
    std::string crlf;
    for (const char c: network()) {
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    }
    const auto ok = glia::test::run_glia("validate " + write("windows.yaml", crlf));
    EXPECT_EQ(ok.code, 0) << ok.out;
}

TEST_F(cr_only_file_read_as_empty, a_second_document_is_refused_with_its_line) {
    const std::string cfg =
        write("two.yaml", network() + "---\nsimulation: {dt: 0.1 ms, duration: 50 ms}\n");
    for (const std::string command: {"validate", "run"}) {
        const auto r = glia::test::run_glia(command + " " + cfg);
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_THAT(r.out, HasSubstr(cfg + ":7:1: a second YAML document starts here; a glia "
                                           "file holds one document"));
    }
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));

    // In a sweep file too, and in a --set value.
    const std::string sweep =
        write("sweep.yaml", network() + "sweep: {name: s, grid: {simulation.seed: [1, 2]}}\n---\n");
    const auto s = glia::test::run_glia("sweep " + sweep + " --list");
    EXPECT_EQ(s.code, 1) << s.out;
    EXPECT_THAT(s.out, HasSubstr(sweep + ":8:1: a second YAML document starts here"));
    const auto v = glia::test::run_glia("validate " + write("one.yaml", network()) +
                                        " --set \"$(printf 'simulation.seed=1\\n---\\n2')\"");
    EXPECT_EQ(v.code, 1) << v.out;
    EXPECT_THAT(v.out, HasSubstr("the value holds a second YAML document ('---'); give one value"));

    // An explicit start and end of the one document are fine.
    const auto ok =
        glia::test::run_glia("validate " + write("marked.yaml", "---\n" + network() + "...\n"));
    EXPECT_EQ(ok.code, 0) << ok.out;
}

}  // namespace
