// Bug (hostile-input testing): `glia inspect FIFO` blocked forever in the open of a named pipe,
// and so did `glia validate` and `glia run` given a FIFO as the experiment file. Every file the
// user names is checked with stat first: anything but a regular file is refused with its path,
// exit 1, at once.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"

#include <sys/stat.h>

namespace {

using testing::HasSubstr;

class inspect_of_a_fifo_blocked_forever: public glia::test::scratch_test {
protected:
    inspect_of_a_fifo_blocked_forever(): scratch_test("regression") {}
};

TEST_F(inspect_of_a_fifo_blocked_forever, a_fifo_is_refused_at_once) {
    const std::string fifo = path("pipe");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    // `timeout` ends a command that blocks (exit 124), so that the test fails instead of hanging.
    const auto glia = [](const std::string& args) {
        return glia::test::run_shell("timeout 20 " + std::string(GLIA_EXECUTABLE) + " " + args);
    };
    const auto i = glia("inspect " + fifo);
    EXPECT_EQ(i.code, 1) << i.out;
    EXPECT_THAT(i.out, HasSubstr("cannot open output file '" + fifo +
                                 "': it is a FIFO (named pipe), not a regular file"));
    for (const std::string& args: {"validate " + fifo, "run " + fifo + " -o " + path("out.h5"),
                                   "sweep " + fifo + " --list", "run " + fifo + " --point 0"}) {
        const auto r = glia(args);
        EXPECT_EQ(r.code, 1) << args << "\n" << r.out;
        EXPECT_THAT(r.out, HasSubstr("cannot open experiment file '" + fifo +
                                     "': it is a FIFO (named pipe), not a regular file"));
    }
    EXPECT_FALSE(std::filesystem::exists(path("out.h5")));

    // A data file named by the experiment: the error points at its key.
    const std::string cfg =
        write("net.yaml", "simulation: {dt: 0.1 ms, duration: 5 ms}\n"
                          "populations:\n"
                          "  src: {model: spike_source_array, size: 2, spike_times_file: pipe}\n");
    const auto d = glia("validate " + cfg);
    EXPECT_EQ(d.code, 1) << d.out;
    EXPECT_THAT(d.out, HasSubstr(cfg +
                                 ":3:63: populations.src.spike_times_file: cannot open spike "
                                 "times file '" +
                                 fifo + "': it is a FIFO (named pipe), not a regular file"));

    // A directory names what it is, too.
    const auto dir = glia("inspect " + dir_.string());
    EXPECT_EQ(dir.code, 1) << dir.out;
    EXPECT_THAT(dir.out, HasSubstr("': it is a directory, not a regular file"));
}

}  // namespace
