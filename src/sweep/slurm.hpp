#pragma once
// A sweep as a SLURM job array: one array task per point, each running
// `glia run FILE --point $SLURM_ARRAY_TASK_ID`. The script asks SLURM for a warning signal
// before the time limit (`#SBATCH --signal=B:USR1@<seconds>`) and `exec`s glia, so that glia
// is the batch shell that receives it (and the SIGTERM of a preemption): the run stops at the
// end of its epoch, flushes its output, writes its checkpoint and exits with code 3 (status
// "interrupted"). The tasks are requeueable (`--requeue`, logs opened with
// `--open-mode=append`): a requeued task runs the same point again, which continues from its
// checkpoint (glia run --point resumes by itself, src/app/run_checkpoint.hpp).

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "sweep/sweep.hpp"

namespace glia::sweep {

struct slurm_options {
    std::string executable;          // the glia executable (absolute path)
    std::string work_dir;            // the tasks' working directory (absolute): relative paths
                                     // in the experiment resolve from here, as they did here
    std::string partition;           // --partition; empty: the cluster's default
    std::string time;                // --time (e.g. "02:00:00"); empty: the partition's default
    std::string account;             // --account
    std::string mem;                 // --mem (e.g. "4G")
    std::vector<std::string> extra;  // more sbatch options, one #SBATCH line each
    int array_limit = 0;             // at most this many tasks at once (%K); 0: no limit
    int cpus_per_task = 1;           // --cpus-per-task; glia runs with as many threads
    int signal_seconds = 120;        // USR1 this long before the time limit
};

// SLURM's --array index list for `points` (sorted, distinct): "0-3,5,7-9".
std::string array_ranges(const std::vector<std::size_t>& points);

// The sbatch script that runs `points` of the sweep.
std::string sbatch_script(const sweep_plan& plan, const std::vector<std::size_t>& points,
                          const slurm_options& options);

// Writes sbatch_script to <sweep directory>/<name>.sbatch (creating the directory and its
// slurm/ subdirectory for the task logs, slurm/<job id>_<task>.out); returns its path.
std::filesystem::path write_sbatch_script(const sweep_plan& plan,
                                          const std::vector<std::size_t>& points,
                                          const slurm_options& options);

// Runs `sbatch --parsable SCRIPT` and returns the job id. Throws glia::error with sbatch's
// message when it fails (or is not installed).
std::string submit_sbatch(const std::filesystem::path& script);

}  // namespace glia::sweep
