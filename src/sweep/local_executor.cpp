#include "sweep/local_executor.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/text.hpp>

#include "io/reservoir_output.hpp"
#include "sweep/point_status.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace glia::sweep {
namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto poll_interval = std::chrono::milliseconds(20);
constexpr int exit_interrupted = 3;  // glia run stopped by a signal (src/app/main.cpp)

// Starts `args` (args[0] is the program) in a process group of its own, so that a Ctrl-C at
// the terminal reaches only the sweep, which then stops its children once, with SIGTERM.
// stdout and stderr are appended to `log_path`; stdin is /dev/null.
pid_t spawn(const std::vector<std::string>& args, const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a: args) {
        argv.push_back(const_cast<char*>(a.c_str()));  // posix_spawn does not write to them
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        throw error(fmt::format("cannot start '{}': {}", args[0], std::strerror(rc)));
    }
    return pid;
}

struct child {
    pid_t pid = 0;
    std::size_t point = 0;
    clock_type::time_point started;
};

}  // namespace

local_result run_local(const sweep_plan& plan, const local_options& options, spdlog::logger& log) {
    if (options.jobs < 1 || options.threads_per_point < 1) {
        throw internal_error("run_local: jobs and threads_per_point must be >= 1");
    }
    const std::string no_config;  // no check of the outputs' configs
    const auto config_of = [&](std::size_t k) -> const std::string& {
        return options.configs.empty() ? no_config : options.configs.at(k);
    };

    local_result result;
    std::vector<std::size_t> todo;
    for (const auto& p: plan.points) {
        const point_state state = read_point_state(p.output, config_of(p.index));
        if (state.status == point_status::complete) {
            ++result.skipped;
            continue;
        }
        // The child decides (and says so in its glia.log: "resuming point K from ..." or why
        // not); this is only what the sweep expects of it.
        const bool stopped = state.status == point_status::interrupted ||
                             state.status == point_status::running_or_killed;
        const bool same_config =
            state.info && (config_of(p.index).empty() || state.info->config == config_of(p.index));
        const bool resumable = state.checkpoint && stopped && same_config;
        // A two_phase point keeps its finished samples in its output instead of a checkpoint.
        const bool continues_output =
            stopped && same_config && io::is_reservoir_file(p.output.string());
        if (resumable) {
            log.info("point {}: output {} is {}; continuing it from its checkpoint", p.index,
                     p.output.string(), to_string(state.status));
        } else if (continues_output) {
            log.info("point {}: output {} is {}; running it again (a two_phase run continues "
                     "from the samples in its output)",
                     p.index, p.output.string(), to_string(state.status));
        } else if (state.status != point_status::missing) {
            log.info("point {}: output {} is {}; redoing it", p.index, p.output.string(),
                     to_string(state.status));
        }
        todo.push_back(p.index);
    }
    const std::size_t total = plan.points.size();
    // The points end with the sweep, however it ends: each watches for its parent's death
    // (glia run --point, src/app/app_util.hpp follow_sweep).
    setenv(sweep_pid_variable, std::to_string(getpid()).c_str(), 1);
    log.info("sweep '{}': {} points, {} already complete, {} to run, {} at a time with {} "
             "thread{} each",
             plan.name, total, result.skipped, todo.size(), options.jobs, options.threads_per_point,
             options.threads_per_point == 1 ? "" : "s");

    const auto start = clock_type::now();
    std::vector<child> running;
    std::size_t next = 0;
    std::size_t finished = 0;
    bool stopping = false;
    while (true) {
        if (!stopping && options.stop != nullptr && options.stop->load()) {
            stopping = true;
            result.interrupted = next < todo.size() || !running.empty();
            log.warn("stopping: {} running point{} asked to stop, {} not started", running.size(),
                     running.size() == 1 ? "" : "s", todo.size() - next);
            for (const auto& c: running) {
                kill(c.pid, SIGTERM);
            }
        }
        while (!stopping && running.size() < static_cast<std::size_t>(options.jobs) &&
               next < todo.size()) {
            const point& p = plan.points[todo[next++]];
            const std::vector<std::string> args{options.executable,
                                                "run",
                                                plan.file,
                                                "--point",
                                                std::to_string(p.index),
                                                "--threads",
                                                std::to_string(options.threads_per_point),
                                                "--no-progress"};
            try {
                std::filesystem::create_directories(p.directory);
                running.push_back(
                    {spawn(args, (p.directory / "glia.log").string()), p.index, clock_type::now()});
                log.debug("point {} started (pid {})", p.index, running.back().pid);
            }
            catch (const std::exception& e) {  // its directory cannot be made, no process
                ++finished;
                result.failed.push_back(p.index);
                log.error("point {} could not start: {}", p.index, printable(e.what()));
            }
        }
        if (running.empty()) {
            break;
        }
        bool reaped = false;
        for (auto it = running.begin(); it != running.end();) {
            int status = 0;
            const pid_t r = waitpid(it->pid, &status, WNOHANG);
            if (r == 0) {
                ++it;
                continue;
            }
            reaped = true;
            ++finished;
            const point& p = plan.points[it->point];
            const double seconds =
                std::chrono::duration<double>(clock_type::now() - it->started).count();
            const int code = r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            const std::string how = r < 0 ? "lost"
                                    : WIFSIGNALED(status)
                                        ? fmt::format("killed by signal {}", WTERMSIG(status))
                                        : fmt::format("exit code {}", code);
            const point_state state = read_point_state(p.output, config_of(p.index));
            const bool ok = code == 0 && state.status == point_status::complete;
            const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
            const std::size_t remaining = todo.size() - finished;
            const double eta =
                elapsed / static_cast<double>(finished) * static_cast<double>(remaining);
            if (ok) {
                ++result.completed;
            } else if (stopping && code == exit_interrupted) {
                // Asked to stop by us: interrupted, not failed; the next invocation redoes it.
            } else {
                result.failed.push_back(p.index);
            }
            const std::string line =
                fmt::format("point {} {} in {} ({}); {}/{} done, {} failed{}", p.index,
                            ok ? "complete" : std::string(to_string(state.status)),
                            format_duration(seconds), how, result.skipped + result.completed, total,
                            result.failed.size(), stopping ? "" : ", ETA " + format_duration(eta));
            if (ok) {
                log.info("{}", line);
            } else {
                log.error("{}; see {}", line, (p.directory / "glia.log").string());
            }
            it = running.erase(it);
        }
        if (!reaped) {
            std::this_thread::sleep_for(poll_interval);
        }
    }
    return result;
}

}  // namespace glia::sweep
