#pragma once
// `glia run FILE` and `glia validate FILE` for time-series reservoir experiments
// (`experiment: timeseries`; docs/reservoir_tasks.md): a network file driven by an input series,
// filtered spike trains as states, memory capacity or NARMA with a ridge readout.

#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

namespace glia::app {

struct timeseries_run_options {
    std::string file;
    std::vector<std::string> sets;
    std::string output;
    int threads = 0;
    std::string command_line;
};

int cmd_run_timeseries(const timeseries_run_options& opt,
                       const std::shared_ptr<spdlog::logger>& log);
int cmd_validate_timeseries(const std::string& file, const std::vector<std::string>& sets);

}  // namespace glia::app
