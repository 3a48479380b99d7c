#include "app/run_metrics.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "io/hdf5_reader.hpp"
#include "io/network_metrics.hpp"

namespace glia::app {

run_metrics::run_metrics(const experiment_spec& spec, std::shared_ptr<spdlog::logger> log):
    spec_(spec), log_(std::move(log)) {
    if (spec.metrics.branching_factor.enabled) {
        branching_ = std::make_unique<reservoir::network_branching>(spec);
    }
}

run_metrics::~run_metrics() = default;

void run_metrics::start(step_t first_step, run_control& control) {
    if (!enabled()) {
        return;
    }
    first_step_ = first_step;
    if (first_step > branching_->first_kept_step()) {
        std::vector<std::string> unrecorded;
        for (const auto& p: branching_->populations()) {
            if (std::find(spec_.record.spikes.begin(), spec_.record.spikes.end(), p) ==
                spec_.record.spikes.end()) {
                unrecorded.push_back(p);
            }
        }
        if (!unrecorded.empty()) {
            missing_history_ = true;
            log_->warn("metrics.branching_factor will not be computed: the run resumes at t = {} "
                       "ms, inside its window, and the earlier spikes of {} are not in the "
                       "output (record.spikes)",
                       static_cast<double>(first_step) * spec_.simulation.dt,
                       fmt::join(unrecorded, ", "));
            return;
        }
    }
    control.on_spikes = [b = branching_.get()](std::span<const spike_event> spikes) {
        b->add_spikes(spikes);
    };
}

std::optional<reservoir::branching_measurement> run_metrics::finish(const run_summary& summary,
                                                                    simulation& sim,
                                                                    const std::string& output) {
    if (!enabled()) {
        return std::nullopt;
    }
    if (summary.status != run_status::completed) {
        log_->info("metrics.branching_factor: not computed for an interrupted run (glia run "
                   "--resume completes the run and computes it)");
        return std::nullopt;
    }
    if (missing_history_) {
        log_->warn("metrics.branching_factor: not computed (the spikes before the resumed step "
                   "are not recorded)");
        return std::nullopt;
    }
    const auto t0 = std::chrono::steady_clock::now();
    // A resumed run: the spikes before its first step come from the output file.
    if (first_step_ > branching_->first_kept_step()) {
        for (const auto& p: branching_->populations()) {
            const io::spike_data d = io::read_spikes(output, p);
            branching_->add_recorded_spikes(p, d.timestamps, d.node_ids, first_step_);
        }
    }
    // The synapses among the chosen populations: static ones, then every plastic projection
    // between two of them (its synapses exist for the whole run, whatever their weights).
    branching_->add_synapses(sim.static_synapses());
    const auto& chosen = branching_->populations();
    const auto is_chosen = [&](const std::string& name) {
        return std::find(chosen.begin(), chosen.end(), name) != chosen.end();
    };
    for (const projection_spec& p: spec_.projections) {
        if (p.synapse != "static" && p.synapse != "sic" && is_chosen(p.source) &&
            is_chosen(p.target)) {
            branching_->add_synapses(sim.weights(p.name));
        }
    }
    const reservoir::branching_measurement m = branching_->measure();
    io::write_branching_factor(output, m);
    log_->info("branching factor {:.4f} of {} ({} spikes of {} neurons evaluated; {} ms bins, "
               "delta_t {} ms, window [{}, {}) ms, {} connected pairs; {:.2f} s)",
               m.result.value, fmt::join(m.populations, ", "), m.result.spikes, m.result.neurons,
               m.bin, m.delta_t, m.start, m.stop, m.connected_pairs,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return m;
}

}  // namespace glia::app
