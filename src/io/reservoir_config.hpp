#pragma once
// The reservoir experiment file (`experiment: nalsm`): read, apply --set overrides, check every
// value, return a reservoir::nalsm_experiment. Keys, units, defaults and ranges:
// docs/config_reference.md ("Reservoir experiments"). Errors name file:line:col and the key.

#include <string>
#include <vector>

#include "reservoir/nalsm_experiment.hpp"
#include "reservoir/timeseries_experiment.hpp"

namespace glia::io {

// The value of the file's top-level `experiment` key: "network" when absent, or when the file
// cannot be read or parsed (the network loader then reports that), else what it says.
std::string experiment_kind(const std::string& path);

// Throws glia::error "cannot open experiment file" when the file cannot be read.
reservoir::nalsm_experiment load_reservoir_experiment(const std::string& path,
                                                      const std::vector<std::string>& overrides);
// The same from text; `name` is the file name for messages and relative paths.
reservoir::nalsm_experiment parse_reservoir_experiment(const std::string& text,
                                                       const std::string& name,
                                                       const std::vector<std::string>& overrides);

// `experiment: timeseries` (docs/reservoir_tasks.md). The network file is resolved relative to
// the experiment file; its own keys are checked when it is loaded (io::load_experiment).
reservoir::timeseries_experiment load_timeseries_experiment(
    const std::string& path, const std::vector<std::string>& overrides);
reservoir::timeseries_experiment parse_timeseries_experiment(
    const std::string& text, const std::string& name, const std::vector<std::string>& overrides);

}  // namespace glia::io
