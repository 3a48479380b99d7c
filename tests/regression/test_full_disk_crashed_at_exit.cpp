// Bug (hostile-input testing): a run whose output filled the disk stopped with HDF5's raw text
// ("bytes actually written = 18446744073709551615"), left a corrupt file, and crashed with
// SIGSEGV in HDF5's shutdown at exit. Now: "disk full while writing '<out>'" (the errno text
// for other write errors), exit 1, no crash; the files are not closed after the failed write
// (closing writes metadata) and stay as their last flush left them, readable; a failure before
// the first flush removes the files it created.

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"

namespace {

using testing::HasSubstr;
using testing::Not;

class full_disk_crashed_at_exit: public glia::test::scratch_test {
protected:
    full_disk_crashed_at_exit(): scratch_test("regression") {}

    // A run of cuba long enough to write a few MB; its exit status as the shell reports it
    // ("exit code 139" for SIGSEGV).
    glia::test::cli_result run_into(const std::string& out, const std::string& limits = "") {
        return glia::test::run_shell("(" + limits + std::string(GLIA_EXECUTABLE) + " run " +
                                     GLIA_SOURCE_DIR + "/configs/cuba.yaml --no-progress -o " +
                                     out + " --set simulation.duration=2000ms) 2>&1; echo \"exit "
                                           "code $?\"");
    }
};

TEST_F(full_disk_crashed_at_exit, a_full_file_system_is_reported_as_a_full_disk) {
    const std::string small = path("small");
    std::filesystem::create_directories(small);
    if (geteuid() != 0 || ::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=512k") != 0) {
        GTEST_SKIP() << "cannot mount a small tmpfs (needs root and mount rights in the "
                        "container); the file size limit test below covers the write failure";
    }
    const std::string out = small + "/out.h5";
    const auto r = run_into(out);
    EXPECT_THAT(r.out, HasSubstr("exit code 1\n")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("disk full while writing '" + out + "' (No space left on device"));
    EXPECT_THAT(r.out, Not(HasSubstr("bytes actually written")));
    EXPECT_THAT(r.out, HasSubstr("its /run@status still says 'running'"));
    // The file is as its last flush left it: readable.
    const auto inspect = glia::test::run_glia("inspect " + out);
    EXPECT_EQ(inspect.code, 0) << inspect.out;
    EXPECT_THAT(inspect.out, HasSubstr("INCOMPLETE"));
    ::umount2(small.c_str(), MNT_DETACH);
}

TEST_F(full_disk_crashed_at_exit, a_file_size_limit_gives_the_errno_text_and_no_crash) {
    // RLIMIT_FSIZE (ulimit -f, in KiB) with SIGXFSZ ignored: write() fails with EFBIG.
    const std::string out = path("out.h5");
    const auto r = run_into(out, "trap '' XFSZ; ulimit -f 1000; ");
    EXPECT_THAT(r.out, HasSubstr("exit code 1\n")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("cannot write output file '" + out + "': File too large ("));
    EXPECT_THAT(r.out, Not(HasSubstr("HDF5:")));
    const auto inspect = glia::test::run_glia("inspect " + out);
    EXPECT_EQ(inspect.code, 0) << inspect.out;
    EXPECT_THAT(inspect.out, HasSubstr("INCOMPLETE"));
}

TEST_F(full_disk_crashed_at_exit, a_failure_before_the_first_flush_leaves_no_file) {
    const std::string out = path("out.h5");
    const auto r = run_into(out, "trap '' XFSZ; ulimit -f 100; ");
    EXPECT_THAT(r.out, HasSubstr("exit code 1\n")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("File too large"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
