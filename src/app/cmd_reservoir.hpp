#pragma once
// `glia run FILE` and `glia validate FILE` for reservoir experiments (`experiment: nalsm` in the
// file; docs/reservoir.md): dataset, liquid, phase A, phase B, branching factor, readouts,
// metrics, all into one HDF5 file (io/reservoir_output.hpp).

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace glia::app {

struct reservoir_run_options {
    std::string file;
    std::vector<std::string> sets;
    std::string output;  // -o; empty: output.file of the experiment
    int threads = 0;     // 0: the file's `threads`, else all cores
    bool progress = true;
    bool resume = false;  // continue the interrupted run whose output is `output`
    std::string monitor;  // --monitor HOST:PORT (docs/monitor.md); empty: no monitor
    std::string command_line;
};

// Exit codes as `glia run`: 0 completed, 3 interrupted (the file holds the finished blocks).
int cmd_run_reservoir(const reservoir_run_options& opt,
                      const std::shared_ptr<spdlog::logger>& log);
int cmd_validate_reservoir(const std::string& file, const std::vector<std::string>& sets);

}  // namespace glia::app
