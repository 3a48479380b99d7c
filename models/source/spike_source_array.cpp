#include "models/source/spike_source_array.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

// Emits, in step n, the block neurons whose list holds n. The lists of the block are merged
// once into one vector of (step, local index) sorted by step then index; a cursor walks it, so
// a step costs O(its spikes + 1), never O(neurons). Steps are normally asked for in order; any
// other order (a restart) costs one binary search.
class spike_source_array_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<spike_source_array_block>(*this);
    }
    explicit spike_source_array_block(const block_args& args) {
        if (args.spike_steps.size() < args.first + args.count) {
            throw internal_error(
                fmt::format("spike_source_array: {} spike lists for a block of neurons [{}, {})",
                            args.spike_steps.size(), args.first, args.first + args.count));
        }
        std::size_t total = 0;
        for (std::size_t k = 0; k < args.count; ++k) {
            total += args.spike_steps[args.first + k].size();
        }
        events_.reserve(total);
        for (std::size_t k = 0; k < args.count; ++k) {
            const auto& steps = args.spike_steps[args.first + k];
            for (std::size_t j = 0; j < steps.size(); ++j) {
                if (steps[j] < 0 || (j > 0 && !(steps[j - 1] < steps[j]))) {
                    throw internal_error(fmt::format(
                        "spike_source_array: the emission steps of neuron {} are not sorted, "
                        "unique and >= 0 (step {} at position {})",
                        args.first + k, steps[j], j));
                }
                events_.push_back({steps[j], static_cast<std::uint32_t>(k)});
            }
        }
        std::sort(events_.begin(), events_.end());
    }

    void advance(step_t now, std::span<const double>, std::span<const double>,
                 std::vector<std::uint32_t>& spiked) override {
        if (now != last_ + 1) {  // not the step after the previous one: find our place again
            next_ = static_cast<std::size_t>(
                std::lower_bound(events_.begin(), events_.end(), event{now, 0}) - events_.begin());
        }
        last_ = now;
        while (next_ < events_.size() && events_[next_].step == now) {
            spiked.push_back(events_[next_].local);
            ++next_;
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t>, std::span<float>) const override {
        throw internal_error(fmt::format("spike_source_array has no variable {}", var));
    }

    double value(std::size_t var, std::uint32_t) const override {
        throw internal_error(fmt::format("spike_source_array has no variable {}", var));
    }

    // Stateless: the spike lists come from the experiment, and the cursor finds its place
    // again when the first step asked for is not the step after the previous one.
    void save_state(step_t, state_columns&) const override {}
    void load_state(step_t, const state_columns&) override {}

private:
    struct event {
        step_t step;
        std::uint32_t local;
        friend auto operator<=>(const event&, const event&) = default;
    };
    std::vector<event> events_;  // every emission of the block, by (step, local)
    std::size_t next_ = 0;       // first event of a step after `last_`
    step_t last_ = -1;           // the step of the previous call
};

void validate(const value_table&, std::size_t) {}  // no parameters

std::unique_ptr<neuron_block> make(const block_args& args) {
    return std::make_unique<spike_source_array_block>(args);
}

}  // namespace

neuron_model spike_source_array_model() {
    model_info info;
    info.name = "spike_source_array";
    info.aliases = {"SpikeSourceArray"};
    info.doc = "emits the spike times given per neuron (spike_times)";
    info.uses_spike_times = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
