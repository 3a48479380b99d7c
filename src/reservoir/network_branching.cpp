#include "reservoir/network_branching.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::reservoir {

network_branching::network_branching(const experiment_spec& spec) {
    const branching_factor_spec& bf = spec.metrics.branching_factor;
    if (!bf.enabled || bf.populations.empty()) {
        throw internal_error("network_branching: metrics.branching_factor is not enabled");
    }
    dt_ = spec.simulation.dt;
    bin_ms_ = bf.bin;
    delta_t_ms_ = bf.delta_t;
    names_ = bf.populations;
    for (const std::string& name: names_) {
        std::uint64_t gid = 0;
        bool found = false;
        for (const population_spec& p: spec.populations) {
            if (p.name == name) {
                if (static_cast<std::uint64_t>(n_) + p.size >= npos) {
                    throw internal_error("network_branching: too many neurons");
                }
                ranges_.push_back(range{static_cast<neuron_id>(gid),
                                        static_cast<neuron_id>(gid + p.size), n_});
                n_ += static_cast<std::uint32_t>(p.size);
                found = true;
                break;
            }
            gid += p.size;
        }
        if (!found) {
            throw internal_error("network_branching: no population '" + name + "'");
        }
    }
    // The loader checked that these are whole numbers of steps and bins.
    const step_t n_steps = std::llround(spec.simulation.duration / dt_);
    bin_steps_ = std::max<step_t>(1, std::llround(bf.bin / dt_));
    const step_t run_bins = n_steps / bin_steps_;
    const auto whole_bins = [&](double t) { return static_cast<step_t>(std::llround(t / bf.bin)); };
    const step_t start = whole_bins(bf.start);
    const step_t stop = std::isfinite(bf.stop) ? std::min(whole_bins(bf.stop), run_bins) : run_bins;
    const step_t delta = whole_bins(bf.delta_t);
    if (start < 0 || stop <= start || delta < 1 ||
        stop >= static_cast<step_t>(std::numeric_limits<std::uint32_t>::max())) {
        throw internal_error(fmt::format("network_branching: bins [{}, {}), delta {} unchecked",
                                         start, stop, delta));
    }
    start_bin_ = static_cast<std::uint32_t>(start);
    stop_bin_ = static_cast<std::uint32_t>(stop);
    delta_bins_ = static_cast<std::uint32_t>(delta);
    first_time_step_ = start * bin_steps_;
    end_time_step_ = stop * bin_steps_;
}

void network_branching::add_spikes(std::span<const spike_event> spikes) {
    for (const spike_event& s: spikes) {
        const step_t t = s.step + 1;  // the spike's time in steps
        if (t < first_time_step_ || t >= end_time_step_) {
            continue;
        }
        const std::uint32_t k = index_of(s.gid);
        if (k == npos) {
            continue;
        }
        bin_.push_back(static_cast<std::uint32_t>(t / bin_steps_));
        neuron_.push_back(k);
    }
}

void network_branching::add_recorded_spikes(const std::string& population,
                                            std::span<const double> times,
                                            std::span<const std::uint64_t> node_ids,
                                            step_t before) {
    const auto it = std::find(names_.begin(), names_.end(), population);
    if (it == names_.end()) {
        throw internal_error("network_branching: '" + population + "' is not chosen");
    }
    const range& r = ranges_[static_cast<std::size_t>(it - names_.begin())];
    const std::size_t n = std::min(times.size(), node_ids.size());
    const std::uint64_t size = r.end_gid - r.first_gid;
    std::vector<spike_event> batch;
    for (std::size_t i = 0; i < n; ++i) {
        const step_t step = std::llround(times[i] / dt_) - 1;
        if (step >= before) {
            continue;
        }
        if (node_ids[i] >= size) {
            throw error(fmt::format("branching factor: the output file has a spike of neuron {} "
                                    "in population '{}' of {} neurons",
                                    node_ids[i], population, size));
        }
        batch.push_back(
            spike_event{step, r.first_gid + static_cast<neuron_id>(node_ids[i])});
    }
    add_spikes(batch);
}

void network_branching::add_synapses(std::span<const synapse_weight> synapses) {
    for (const synapse_weight& s: synapses) {
        const std::uint32_t pre = index_of(s.source);
        if (pre == npos) {
            continue;
        }
        const std::uint32_t post = index_of(s.target);
        if (post == npos) {
            continue;
        }
        const std::uint64_t pair = (static_cast<std::uint64_t>(pre) << 32) | post;
        if (pairs_.empty() || pairs_.back() != pair) {  // sorted lists: multapses are adjacent
            pairs_.push_back(pair);
        }
    }
}

branching_measurement network_branching::measure() {
    if (bin_.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw error(fmt::format("branching factor: {} spikes in the window; at most {} are "
                                "supported (choose fewer populations or a shorter window)",
                                bin_.size(), std::numeric_limits<std::uint32_t>::max() - 1));
    }
    std::sort(pairs_.begin(), pairs_.end());  // in place: no second copy of the pairs
    pairs_.erase(std::unique(pairs_.begin(), pairs_.end()), pairs_.end());
    const std::vector<std::uint64_t>& pairs = pairs_;
    if (pairs.size() >= std::numeric_limits<std::uint32_t>::max()) {
        throw error(fmt::format("branching factor: {} connected pairs; at most {} are supported",
                                pairs.size(), std::numeric_limits<std::uint32_t>::max() - 1));
    }
    // Both CSR directions of the pair graph; sorted by (pre, post), so rows come out sorted.
    const std::size_t n = n_;
    std::vector<std::uint32_t> out_offset(n + 1, 0), in_offset(n + 1, 0);
    for (const std::uint64_t p: pairs) {
        ++out_offset[(p >> 32) + 1];
        ++in_offset[(p & 0xffffffffu) + 1];
    }
    for (std::size_t i = 0; i < n; ++i) {
        out_offset[i + 1] += out_offset[i];
        in_offset[i + 1] += in_offset[i];
    }
    std::vector<std::uint32_t> out_post(pairs.size()), in_pre(pairs.size());
    {
        std::vector<std::uint32_t> out_fill(out_offset.begin(), out_offset.end() - 1);
        std::vector<std::uint32_t> in_fill(in_offset.begin(), in_offset.end() - 1);
        for (const std::uint64_t p: pairs) {
            const auto pre = static_cast<std::uint32_t>(p >> 32);
            const auto post = static_cast<std::uint32_t>(p & 0xffffffffu);
            out_post[out_fill[pre]++] = post;
            in_pre[in_fill[post]++] = pre;
        }
    }
    const adjacency graph{in_offset, in_pre, out_offset, out_post};

    branching_measurement m;
    m.result = branching_statistics(graph, n_, bin_, neuron_,
                                    branching_params{start_bin_, stop_bin_, delta_bins_});
    m.populations = names_;
    m.n_neurons = n_;
    m.kept_spikes = bin_.size();
    m.connected_pairs = pairs.size();
    m.bin = bin_ms_;
    m.delta_t = delta_t_ms_;
    m.start = static_cast<double>(start_bin_) * bin_ms_;
    m.stop = static_cast<double>(stop_bin_) * bin_ms_;
    m.evaluated_bins =
        stop_bin_ - start_bin_ > 2 * delta_bins_ ? stop_bin_ - start_bin_ - 2 * delta_bins_ : 0;
    return m;
}

}  // namespace glia::reservoir
