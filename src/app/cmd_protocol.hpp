#pragma once
// `glia run FILE` for an experiment with a protocol: block (two_phase, timeseries): the
// protocol runs over the engine (src/protocol) and its results go into one HDF5 file
// (io/reservoir_output.hpp), with progress, --monitor, signals and --resume as for network runs.

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

namespace glia::app {

struct protocol_run_options {
    std::string output;  // resolved output path
    int threads = 0;     // 0: simulation.threads, else all cores
    bool progress = true;
    bool resume = false;  // continue the interrupted run whose output is `output`
    std::string monitor;  // --monitor HOST:PORT (docs/monitor.md); empty: no monitor
    std::string command_line;
};

// Exit codes as `glia run`: 0 completed, 3 interrupted (the file holds the finished blocks).
int cmd_run_protocol(const experiment_spec& spec, const model_registry& models,
                     const protocol_run_options& opt, const std::shared_ptr<spdlog::logger>& log);

// Whether `output` is an unfinished output of this experiment (a sweep point then resumes it):
// a protocol file of the same kind and config whose status is not "complete".
bool protocol_resumable(const experiment_spec& spec, const std::string& output);

// The one-line summary `glia validate` prints for a protocol experiment.
std::string describe_protocol(const experiment_spec& spec);

}  // namespace glia::app
