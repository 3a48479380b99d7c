#pragma once
// The `metrics:` block of a network experiment (docs/config_reference.md, "metrics"): figures
// computed from the run and added to /metrics of its output (docs/output_format.md). cmd_run
// (main.cpp) calls it at three places:
//
//   glia::app::run_metrics metrics(spec, log);
//   metrics.start(sim.now(), control);            // after a --resume restore: the first step
//   const auto s = sim.run(out, control);         // spikes reach it through control.on_spikes
//   const auto bf = metrics.finish(s, sim, spec.output.path);  // the output is closed by now
//
// Today: metrics.branching_factor (src/reservoir/network_branching.hpp). During the run it holds
// only the chosen populations' spikes inside the window. A run resumed from a checkpoint reads
// the spikes before its first step back from the output file (they are there when the chosen
// populations are recorded; otherwise there is no branching factor, and a warning says why).
// An interrupted run writes no metric: its --resume continuation does.

#include <memory>
#include <optional>

#include <spdlog/logger.h>

#include <glia/simulation.hpp>
#include <glia/spec.hpp>

#include "reservoir/network_branching.hpp"

namespace glia::app {

class run_metrics {
public:
    run_metrics(const experiment_spec& spec, std::shared_ptr<spdlog::logger> log);
    ~run_metrics();

    bool enabled() const { return branching_ != nullptr; }

    // Before the run, which starts at `first_step` (> 0 when resumed): hooks spike collection
    // into `control`.
    void start(step_t first_step, run_control& control);

    // After a run whose output file at `output` is closed: measures, writes /metrics and logs
    // the result. Nothing (nullopt) when not enabled, when the run was interrupted, or when a
    // resumed run cannot have its earlier spikes. Throws glia::error when the file cannot be
    // written.
    std::optional<reservoir::branching_measurement> finish(const run_summary& summary,
                                                           simulation& sim,
                                                           const std::string& output);

private:
    const experiment_spec& spec_;
    std::shared_ptr<spdlog::logger> log_;
    std::unique_ptr<reservoir::network_branching> branching_;
    step_t first_step_ = 0;
    bool missing_history_ = false;  // resumed after the window began, populations not recorded
};

}  // namespace glia::app
