#pragma once
// The sweep commands of the glia executable (docs/sweeps.md):
//
//   glia sweep FILE --list                       the points: index, varied values, output, status
//   glia sweep FILE --local [-j N] [--threads T] run every point not yet complete, N at a time
//   glia sweep FILE --slurm [--partition P] [--time T] [--array-limit K] [--cpus-per-task C]
//                           [--mem M] [--account A] [--extra "..."]... [--all] [--submit]
//                                                write (and submit) a SLURM job array
//   glia sweep FILE --collect                    <sweep dir>/collected.csv and collected.h5
//
// and the sweep half of `glia run FILE --point K`: the point's overrides, applied before the
// user's --set, and its paths (<sweep dir>/point_K/: the output file, config.yaml, stats.json).
//
// Exit codes as glia's: 0 ok, 1 a user error or (--local) a point that failed, 3 interrupted.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/logger.h>

#include <glia/model_registry.hpp>
#include <glia/spec.hpp>

#include "sweep/sweep.hpp"

namespace glia::app {

struct sweep_options {
    std::string file;
    bool list = false;
    bool local = false;
    bool slurm = false;
    bool collect = false;
    int jobs = 1;     // --local: points at a time
    int threads = 0;  // --local: threads per point; 0: the machine's cores / jobs
    // --slurm
    std::string partition, time, account, mem;
    std::vector<std::string> extra;
    int array_limit = 0;
    int cpus_per_task = 1;
    bool all = false;  // submit complete points too
    bool submit = false;
};

// Adds the `sweep` subcommand, filling `options` when it is parsed.
CLI::App* add_sweep_command(CLI::App& app, sweep_options& options);

int cmd_sweep(const sweep_options& options, const std::shared_ptr<spdlog::logger>& log);

// `glia run FILE --point K`.
struct point_run {
    sweep::sweep_plan plan;
    std::size_t index = 0;
    std::string output;  // <sweep dir>/point_K/<file name of output.file>
    std::string stats;   // <sweep dir>/point_K/stats.json
    std::string config;  // <sweep dir>/point_K/config.yaml
};

// Expands the file's sweep and picks point `k` (glia::error if there is no such point).
point_run plan_point_run(const std::string& file, long k, const model_registry& models);

// The point's experiment: its overrides, then `user_sets`; errors located in the sweep block.
experiment_spec load_point_run(const point_run& run, const std::vector<std::string>& user_sets,
                               const model_registry& models);

// Writes the resolved config beside the output (config.yaml), headed by a comment naming the
// sweep and the point's values. `glia run config.yaml` runs the same experiment.
void write_point_config(const point_run& run, const experiment_spec& spec);

}  // namespace glia::app
