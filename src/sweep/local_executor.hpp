#pragma once
// Runs the points of a sweep on the local machine, `jobs` at a time, each as a child process
// `glia run FILE --point K --threads T --no-progress` of the given executable, its output and
// errors in <point directory>/glia.log. Points whose output is complete (and made from their
// current config) are skipped, so a second invocation after a crash, a kill or a Ctrl-C redoes
// exactly the points that did not finish; a point stopped by a signal left a checkpoint, from
// which its `glia run --point K` continues (when it still fits the point's config). Progress
// (done/total, failures, ETA) is logged as each point ends.
//
// When `stop` becomes true (the sweep itself got SIGINT/SIGTERM), no new point starts, the
// running children are sent SIGTERM (they stop cleanly, status "interrupted") and the call
// returns once they have exited.

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "sweep/sweep.hpp"

namespace glia::sweep {

// The environment variable through which `glia sweep --local` gives its points its pid (a
// point stops when that process ends: src/app/app_util.hpp follow_sweep).
inline constexpr const char* sweep_pid_variable = "GLIA_SWEEP_PID";

struct local_options {
    std::string executable;            // the glia executable the children run
    int jobs = 1;                      // points at a time (>= 1)
    int threads_per_point = 1;         // --threads of each child (>= 1)
    std::vector<std::string> configs;  // resolved config per point (check_points), for
                                       // recognising outputs of an older file; may be empty
    const std::atomic<bool>* stop = nullptr;
};

struct local_result {
    std::size_t skipped = 0;          // complete before we started
    std::size_t completed = 0;        // run now, complete
    std::vector<std::size_t> failed;  // run now, not complete (exit code != 0 or no output)
    bool interrupted = false;         // `stop` was raised: some points were not run
};

local_result run_local(const sweep_plan& plan, const local_options& options, spdlog::logger& log);

}  // namespace glia::sweep
