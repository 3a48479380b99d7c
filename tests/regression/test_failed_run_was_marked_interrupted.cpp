// Bug (hostile-input testing): a run that an error ended after its output file was created left
// the file marked as if a signal had stopped it ("interrupted"), or "running", with no word of
// the error; and a ridge penalty the solver cannot resolve (1e-300) passed `glia validate` and
// failed only after the whole run. Now: an error marks the file "failed", with the message in
// /run@error ("interrupted" is for signals alone), and the loader refuses a ridge penalty below
// 1e-6 with its key path.

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/hdf5_writer.hpp"
#include "io/reservoir_output.hpp"
#include "regression_harness.hpp"

namespace {

using testing::HasSubstr;

class failed_run_was_marked_interrupted: public glia::test::scratch_test {
protected:
    failed_run_was_marked_interrupted(): scratch_test("regression") {}
};

TEST_F(failed_run_was_marked_interrupted, a_network_run_that_fails_is_marked_failed) {
    // Stopped by SIGTERM, the run writes its checkpoint; where a directory stands in the
    // checkpoint's way, that fails, and the run ends with an error, exit 1.
    const std::string out = path("out.h5");
    std::filesystem::create_directories(path("out.h5.ckpt/in_the_way"));
    const std::string run = std::string(GLIA_EXECUTABLE) + " run " + GLIA_SOURCE_DIR +
                            "/configs/cuba.yaml --no-progress -o " + out +
                            " --set simulation.duration=100s 2>&1";
    const auto r = glia::test::run_shell(
        run + " & p=$!; i=0; while [ ! -s " + out +
        " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; sleep 0.5; kill -TERM $p; "
        "wait $p; echo \"exit code $?\"");
    EXPECT_THAT(r.out, HasSubstr("exit code 1")) << r.out;
    EXPECT_THAT(r.out, HasSubstr("cannot write checkpoint '" + out + ".ckpt'"));
    EXPECT_EQ(glia::test::read_string_attribute(out, "run", "status"), "failed");
    EXPECT_THAT(glia::test::read_string_attribute(out, "run", "error"),
                HasSubstr("cannot write checkpoint '" + out + ".ckpt'"));
}

TEST_F(failed_run_was_marked_interrupted, a_protocol_file_left_by_an_error_says_why) {
    const std::string out = path("protocol.h5");
    {
        glia::io::reservoir_provenance prov;
        prov.kind = "timeseries";
        glia::io::reservoir_file file(out, prov);
        // An error leaves the run: the file is closed without close().
    }
    EXPECT_EQ(glia::test::read_string_attribute(out, "run", "status"), "failed");
    glia::io::mark_run_failed(out, "ridge: \x1b[31mno");
    EXPECT_EQ(glia::test::read_string_attribute(out, "run", "status"), "failed");
    EXPECT_EQ(glia::test::read_string_attribute(out, "run", "error"), "ridge: \\x1b[31mno");
    // A file that is not a run's output is left alone.
    glia::io::mark_run_failed(path("none.h5"), "x");
    EXPECT_FALSE(std::filesystem::exists(path("none.h5")));
}

TEST_F(failed_run_was_marked_interrupted, a_ridge_penalty_below_the_solver_is_refused) {
    const std::string narma = std::string(GLIA_SOURCE_DIR) + "/configs/narma10_izhikevich.yaml";
    for (const std::string& command:
         {"validate " + narma, "run " + narma + " --no-progress -o " + path("n.h5")}) {
        const auto r = glia::test::run_glia(command + " --set protocol.task.ridge_lambda=1e-300");
        EXPECT_EQ(r.code, 1) << r.out;
        EXPECT_THAT(r.out, HasSubstr("--set protocol.task.ridge_lambda=1e-300: "
                                     "protocol.task.ridge_lambda must be in [1e-6, 1e12] (a "
                                     "smaller penalty is below what the ridge solver resolves), "
                                     "got 1e-300"));
    }
    EXPECT_FALSE(std::filesystem::exists(path("n.h5")));
    const std::string tiny = std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_tiny.yaml";
    const auto t =
        glia::test::run_glia("validate " + tiny + " --set 'readout.ridge.lambdas=[1, 1e-9]'");
    EXPECT_EQ(t.code, 1) << t.out;
    EXPECT_THAT(t.out, HasSubstr("readout.ridge.lambdas[1] must be in [1e-6, 1e12]"));
}

}  // namespace
