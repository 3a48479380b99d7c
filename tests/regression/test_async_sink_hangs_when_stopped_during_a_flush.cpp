// Bug: a timer expiry queued just before the stop's cancel re-armed async_sink's flush timer, so
// the writer thread never ended and the destructor hung (found under ThreadSanitizer). The sink
// is started and stopped many times with flush periods close to the stop; in a child process,
// so that a hang fails the test instead of stalling the suite.

#include <atomic>
#include <chrono>
#include <csignal>
#include <span>
#include <thread>

#include <gtest/gtest.h>

#include <glia/recording.hpp>

#include "runtime/async_sink.hpp"

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

struct counting_sink: glia::recording_sink {
    std::atomic<int> flushes{0};
    void begin(const glia::run_layout&) override {}
    void spikes(std::span<const glia::spike_event>) override {}
    void frames(std::size_t, std::size_t, std::size_t, std::span<const float>) override {}
    void end(const glia::run_summary&) override {}
    void flush() override { ++flushes; }
};

TEST(async_sink_hangs_when_stopped_during_a_flush, stops_every_time) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        counting_sink target;
        for (int i = 0; i < 200; ++i) {
            glia::runtime::async_sink sink(target, 100us);
            sink.begin({});
            std::this_thread::sleep_for(std::chrono::microseconds(50 + 5 * (i % 20)));
            if (i % 2 == 0) {
                sink.end({});  // the odd ones are stopped by the destructor alone
            }
        }
        ::_exit(target.flushes.load() > 0 ? 0 : 1);
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            FAIL() << "async_sink hung when stopped";
        }
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
