#pragma once
// The recent spikes of a partition's neurons that plasticity rules pair with (spike_history).
// Only neurons targeted by a plastic projection keep a history; entries older than the rules'
// horizon are dropped at sweeps, after the rules have applied what depends on them.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include <glia/plasticity.hpp>

namespace glia {

class post_history final: public spike_history {
public:
    void resize(std::size_t n_neurons) {
        spikes_.assign(n_neurons, {});
        enabled_.assign(n_neurons, 0);
    }
    void enable(std::uint32_t neuron) { enabled_[neuron] = 1; }
    bool any_enabled() const {
        return std::find(enabled_.begin(), enabled_.end(), 1) != enabled_.end();
    }

    // A spike of partition neuron `neuron` in step `step` (steps arrive in increasing order).
    void record(std::uint32_t neuron, step_t step) {
        if (enabled_[neuron] != 0) {
            spikes_[neuron].push_back(step);
        }
    }

    // Forgets spikes of steps before `keep_from`.
    void prune(step_t keep_from) {
        for (auto& s: spikes_) {
            if (!s.empty() && s.front() < keep_from) {
                s.erase(s.begin(), std::lower_bound(s.begin(), s.end(), keep_from));
            }
        }
    }

    std::span<const step_t> spikes(std::uint32_t neuron) const override { return spikes_[neuron]; }

    // Checkpoints: the kept spikes of every partition neuron, and restoring them (only
    // neurons with a history keep them).
    std::size_t size() const { return spikes_.size(); }
    bool enabled(std::uint32_t neuron) const { return enabled_[neuron] != 0; }
    void assign(std::uint32_t neuron, std::span<const step_t> steps) {
        if (enabled_[neuron] != 0) {
            spikes_[neuron].assign(steps.begin(), steps.end());
        }
    }

private:
    std::vector<std::vector<step_t>> spikes_;  // per partition neuron, ascending
    std::vector<std::uint8_t> enabled_;
};

}  // namespace glia
