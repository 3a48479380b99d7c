#pragma once
// What a sweep point's output file says about its run: the one test that `glia sweep --local`
// (skip or redo), `--slurm` (which points to submit) and `--collect` (the status column) share.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "io/hdf5_reader.hpp"

namespace glia::sweep {

enum class point_status {
    complete,           // /run@status "complete", made from the point's current config
    stale,              // complete, but from another config: the file changed since
    interrupted,        // stopped by a signal (SLURM's time limit, Ctrl-C): to be redone
    failed,             // /run@status "failed": an error ended it (/run@error): to be redone
    running_or_killed,  // /run@status "running": still running, or killed (kill -9, node lost);
                        // also a file that does not open
    missing,            // no output file
};

std::string_view to_string(point_status s);

struct point_state {
    point_status status = point_status::missing;
    std::optional<io::run_info> info;  // when the file opens
    bool checkpoint = false;  // <output>.ckpt exists: `glia run --point K` resumes from it when
                              // it fits the point's config (src/app/run_checkpoint.hpp)
};

// Reads the output file of a point. `expected_config` is the point's resolved config
// (experiment_spec::config_text); a complete file whose /run@config differs is `stale`.
// `checkpoint` says only that the file is there (it is checked by the run that uses it).
// An empty `expected_config` skips that check.
point_state read_point_state(const std::filesystem::path& output,
                             const std::string& expected_config);

}  // namespace glia::sweep
