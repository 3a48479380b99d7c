// Bug (hostile-input testing): a YAML alias inside the node it refers to (`&r [0.02, *r]`) made
// the loader recurse without end: `glia validate --set 'projections.exc_exc.p=&r [0.02, *r]'`
// died of SIGSEGV, and a sweep grid value written that way passed `glia validate` and crashed
// `glia sweep --list`, `--collect` and `glia run --point`. Nested aliases that expand
// exponentially ("billion laughs") had no bound either. Every document is now checked once
// when it is read: a cycle, or an expansion past the node budget, is a located error, exit 1,
// in bounded time, and nothing is written.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;

class yaml_alias_cycle_crashed_the_loader: public glia::test::scratch_test {
protected:
    yaml_alias_cycle_crashed_the_loader(): scratch_test("regression") {}

    // A small network writing into the scratch directory; `extra` is appended.
    std::string config(const std::string& extra) const {
        return "simulation: {dt: 0.1 ms, duration: 5 ms, seed: 1}\n"
               "populations:\n"
               "  exc: {model: iaf_psc_exp, size: 20}\n"
               "projections:\n"
               "  exc_exc: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.1, "
               "weight: 10 pA, delay: 1 ms}\n"
               "record: {spikes: all}\n"
               "output: {file: " +
               path("out.h5") + "}\n" + extra;
    }
};

TEST_F(yaml_alias_cycle_crashed_the_loader, a_set_value_with_a_cycle_is_refused) {
    const std::string cfg = write("net.yaml", config(""));
    const struct {
        std::string set;
        std::string message;
    } cases[] = {
        {"projections.exc_exc.p=&r [0.02, *r]",
         "--set projections.exc_exc.p=&r [0.02, *r]: 'projections.exc_exc.p[1]' is an alias of a "
         "list that contains it (an alias cycle)"},
        {"record.spikes=&r [exc, *r]",
         "--set record.spikes=&r [exc, *r]: 'record.spikes[1]' is an alias of a list that "
         "contains it (an alias cycle)"},
        {"x=&r {a: *r}",
         "--set x=&r {a: *r}: 'x.a' is an alias of a map that contains it (an alias cycle)"},
    };
    for (const auto& c: cases) {
        for (const std::string command: {"validate", "run"}) {
            const auto r = glia::test::run_glia(command + " " + cfg + " --set '" + c.set + "'");
            EXPECT_EQ(r.code, 1) << c.set << "\n" << r.out;
            EXPECT_THAT(r.out, HasSubstr(c.message));
        }
    }
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
}

TEST_F(yaml_alias_cycle_crashed_the_loader, a_sweep_grid_value_with_a_cycle_is_refused) {
    const std::string cfg = write("sweep.yaml", config("sweep:\n"
                                                       "  name: cyc\n"
                                                       "  grid:\n"
                                                       "    projections.exc_exc.p: &r [0.02, "
                                                       "*r]\n"));
    const std::string where = cfg + ":11:28: 'sweep.grid.projections.exc_exc.p[1]' is an alias "
                                    "of a list that contains it (an alias cycle)";
    for (const std::string& args: {"validate " + cfg, "sweep " + cfg + " --list",
                                   "sweep " + cfg + " --collect", "run " + cfg + " --point 2"}) {
        const auto r = glia::test::run_glia(args);
        EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
        EXPECT_THAT(r.out, HasSubstr(where)) << args;
    }
    EXPECT_FALSE(std::filesystem::exists(path("cyc")));
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));
}

TEST_F(yaml_alias_cycle_crashed_the_loader, nested_aliases_that_multiply_are_refused) {
    // Ten levels of ten aliases each: 10^10 names once expanded, from 400 bytes of text.
    std::string value = "&l0 [exc, exc, exc, exc, exc, exc, exc, exc, exc, exc]";
    for (int i = 1; i < 10; ++i) {
        std::string list = value;
        for (int k = 1; k < 10; ++k) {
            list += ", *l" + std::to_string(i - 1);
        }
        value = "&l" + std::to_string(i) + " [" + list + "]";
    }
    // Bounded: before the budget, these ran until the machine ran out of time or memory.
    const auto glia = [](const std::string& args) {
        return glia::test::run_shell("timeout 60 " + std::string(GLIA_EXECUTABLE) + " " + args);
    };
    std::string text = config("");
    text.replace(text.find("record: {spikes: all}"), 21, "record: {spikes: " + value + "}");
    const std::string cfg = write("laughs.yaml", text);
    const auto r = glia("run " + cfg);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(cfg + ":6:"));
    EXPECT_THAT(r.out, HasSubstr(": the document expands to more than 10"));
    EXPECT_THAT(r.out, HasSubstr("nodes through YAML aliases"));

    const std::string plain = write("net.yaml", config(""));
    const auto s = glia("validate " + plain + " --set 'record.spikes=" + value + "'");
    EXPECT_EQ(s.code, 1) << s.out;
    EXPECT_THAT(s.out, HasSubstr("'record.spikes' expands to more than"));
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));

    // Aliases within the budget are copies, as before.
    const auto ok = glia("validate " + plain + " --set 'record.spikes=[&e exc, *e]'");
    EXPECT_EQ(ok.code, 1) << ok.out;  // exc twice: the loader's own check, not the budget's
    EXPECT_THAT(ok.out, HasSubstr("record.spikes[1]: population 'exc' is listed twice"));
}

}  // namespace
