#pragma once
// /metrics of a network run's output file (docs/output_format.md, "/metrics (network runs)"):
// figures computed after the run, added to the file once the writer has closed it.
//
//   /metrics/branching_factor/   value (float64), spikes, neurons (uint64): scalar datasets,
//                                so that `glia sweep --collect` makes columns of them;
//                                attributes: the parameters and the other counts

#include <string>
#include <vector>

#include "reservoir/network_branching.hpp"

namespace glia::io {

// Adds /metrics/branching_factor to the closed output file at `path` (replacing one that is
// there). Throws glia::error naming the file when it cannot.
void write_branching_factor(const std::string& path, const reservoir::branching_measurement& m);

// Adds /astrocytes/<name>/A to the closed output file at `path`: a nalsm_astrocyte modulator's
// level A at times 0 .. n - 1 steps (float64, n x regions, or n values with one region; A at
// time t dt, from the spikes at earlier times; docs/models/nalsm_astrocyte.md), with
// attributes dt [ms] and model. Throws glia::error naming the file when it cannot, or when
// /astrocytes/<name> exists (a population of that name).
void write_astrocyte_level(const std::string& path, const std::string& name,
                           const std::vector<double>& level, std::size_t n_regions, double dt);

// Everything under /metrics of an output file, as text: first the datasets, by their path below
// /metrics with '.' for '/' ("branching_factor.value"), then the attributes, as "<group>@<name>"
// ("branching_factor@bin"), each in name order. Arrays show their size only. Empty when the
// file has no /metrics. Throws glia::error when the file cannot be opened.
struct metric_entry {
    std::string name;
    std::string text;
};
std::vector<metric_entry> read_metrics(const std::string& path);

}  // namespace glia::io
