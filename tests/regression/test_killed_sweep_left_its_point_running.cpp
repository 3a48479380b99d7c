// Bug (hostile-input testing): kill -9 of `glia sweep --local` left its running point alive
// (orphaned), and a rerun then ran that point a second time into the same file. Now a point
// stops (SIGTERM, resumable) when its sweep ends, however it ends, and a point's output is
// locked, so a second run of the point is refused with a message.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_harness.hpp"
#include "io/hdf5_reader.hpp"

namespace {

using testing::HasSubstr;

// Starts `glia ARGS...` with stdout and stderr to /dev/null.
pid_t start_glia(std::vector<std::string> args) {
    const pid_t pid = fork();
    if (pid == 0) {
        const int null_fd = open("/dev/null", O_WRONLY);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
        args.insert(args.begin(), GLIA_EXECUTABLE);
        std::vector<char*> argv;
        for (auto& a: args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(GLIA_EXECUTABLE, argv.data());
        _exit(127);
    }
    return pid;
}

// Waits (up to 30 s) until `output` says running.
bool wait_running(const std::string& output) {
    for (int i = 0; i < 1500; ++i) {
        std::error_code ec;
        if (std::filesystem::exists(output, ec)) {
            try {
                if (glia::io::read_run_info(output).status == "running") {
                    return true;
                }
            }
            catch (const std::exception&) {
                // not readable yet
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// The pid of the process whose command line holds `a` and `b` (0: none).
pid_t find_process(const std::string& a, const std::string& b) {
    for (const auto& e: std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream in(e.path() / "cmdline");
        std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (cmd.find(a) != std::string::npos && cmd.find(b) != std::string::npos) {
            return static_cast<pid_t>(std::stol(name));
        }
    }
    return 0;
}

// Whether `pid` has ended (gone, or a zombie nobody reaped yet).
bool ended(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) {
        return true;
    }
    const auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

class killed_sweep_left_its_point_running: public glia::test::scratch_test {
protected:
    killed_sweep_left_its_point_running(): scratch_test("regression") {}

    // A one-point sweep whose point runs for minutes unless stopped.
    std::string long_sweep() const {
        return write("long.yaml",
                     "simulation: {dt: 0.1 ms, duration: 600 s}\n"
                     "populations:\n"
                     "  p: {model: iaf_psc_delta, size: 2000}\n"
                     "inputs:\n"
                     "  drive: {type: poisson_generator, target: p, rate: 8000 Hz, weight: "
                     "0.1 mV}\n"
                     "output: {file: " +
                         path("out.h5") +
                         "}\n"
                         "sweep:\n"
                         "  name: long\n"
                         "  grid:\n"
                         "    populations.p.size: [2000]\n");
    }
    // Point 0's output, from `glia sweep --list`.
    static std::string output_of(const std::string& cfg) {
        const auto list = glia::test::run_glia("sweep --list " + cfg);
        EXPECT_EQ(list.code, 0) << list.out;
        std::string line = list.out.substr(0, list.out.find_last_not_of('\n') + 1);
        return line.substr(line.rfind(' ') + 1);
    }
};

TEST_F(killed_sweep_left_its_point_running, the_point_stops_when_its_sweep_is_killed) {
    const std::string cfg = long_sweep();
    const std::string out = output_of(cfg);
    const pid_t sweep = start_glia({"sweep", cfg, "--local", "--threads", "1"});
    ASSERT_GT(sweep, 0);
    ASSERT_TRUE(wait_running(out)) << out;
    const pid_t point = find_process(cfg, "--point");
    ASSERT_GT(point, 0);
    ASSERT_EQ(kill(sweep, SIGKILL), 0);
    waitpid(sweep, nullptr, 0);
    bool stopped = false;
    for (int i = 0; i < 500 && !stopped; ++i) {  // up to 10 s
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        stopped = ended(point);
    }
    if (!stopped) {
        kill(point, SIGKILL);
    }
    ASSERT_TRUE(stopped) << "point 0 (pid " << point << ") outlived its sweep";
    // It stopped as after Ctrl-C: the output says so and its checkpoint continues it.
    EXPECT_EQ(glia::io::read_run_info(out).status, "interrupted");
    EXPECT_TRUE(std::filesystem::exists(out + ".ckpt"));
}

TEST_F(killed_sweep_left_its_point_running, a_second_run_of_a_running_point_is_refused) {
    const std::string cfg = long_sweep();
    const std::string out = output_of(cfg);
    const pid_t first = start_glia({"run", cfg, "--point", "0", "--threads", "1", "--no-progress"});
    ASSERT_GT(first, 0);
    ASSERT_TRUE(wait_running(out)) << out;
    const auto second = glia::test::run_glia("run --no-progress " + cfg + " --point 0");
    kill(first, SIGTERM);
    int status = 0;
    waitpid(first, &status, 0);
    EXPECT_EQ(second.code, 1) << second.out;
    EXPECT_THAT(second.out, HasSubstr("'" + out + "' is being written by another run of this "
                                      "point"));
    // The first run's output is its own: stopped by its signal, not overwritten.
    EXPECT_EQ(glia::io::read_run_info(out).status, "interrupted");
}

}  // namespace
