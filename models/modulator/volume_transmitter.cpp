#include "models/modulator/volume_transmitter.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t { delay };

// Events in event time: a spike emitted in step n adds 1 at n + 1 + delay (the spikes of one
// step add up into one event); a scripted event at time T [ms] happens at step T/dt + delay.
class volume_transmitter_block final: public modulator_block {
public:
    explicit volume_transmitter_block(const modulator_args& a) {
        delay_ = static_cast<step_t>(std::llround(a.params.scalar(delay) / a.dt));
        if (!a.roles.empty() && !a.roles[0].empty()) {
            first_ = a.roles[0][0].first_gid;
            end_ = first_ + static_cast<neuron_id>(a.roles[0][0].size);
            driven_ = true;
        } else {
            for (std::size_t k = 0; k < a.times.size(); ++k) {
                scripted_times_.push_back(
                    static_cast<step_t>(std::llround(a.times[k] / a.dt)) + delay_);
                scripted_amounts_.push_back(a.amounts[k]);
            }
        }
        begin_trial(0);
    }

    void advance(step_t, step_t to, std::span<const spike_event> spikes) override {
        if (!driven_) {
            return;
        }
        auto& h = history_;
        for (const spike_event& s: spikes) {
            if (s.gid < first_ || s.gid >= end_) {
                continue;
            }
            const step_t t = s.step + 1 + delay_;
            if (!h.times.empty() && h.times.back() == t) {
                h.amounts.back() += 1.0;
            } else {
                h.times.push_back(t);
                h.amounts.push_back(1.0);
            }
        }
        h.complete_until = to + 1 + delay_;
    }

    // Rules read events only up to complete_until and wait for the rest: no bound on epochs.
    step_t latency() const override { return std::numeric_limits<step_t>::max(); }

    void begin_trial(step_t now) override {
        history_.times.clear();
        history_.amounts.clear();
        if (driven_) {
            history_.complete_until = now + 1 + delay_;  // no spike before the start
            return;
        }
        for (std::size_t k = 0; k < scripted_times_.size(); ++k) {
            if (scripted_times_[k] >= now) {
                history_.times.push_back(scripted_times_[k]);
                history_.amounts.push_back(scripted_amounts_[k]);
            }
        }
        history_.complete_until = std::numeric_limits<step_t>::max();
    }

    void save_state(state_columns& out) const override {
        out.put("times", std::span<const std::int64_t>(history_.times));
        out.put("amounts", std::span<const double>(history_.amounts));
        const std::int64_t until[1] = {history_.complete_until};
        out.put("complete_until", std::span<const std::int64_t>(until));
    }
    void load_state(const state_columns& in) override {
        const auto* t = in.find("times");
        if (t == nullptr) {
            throw error("volume_transmitter: the state has no column 'times'");
        }
        history_.times.resize(t->size());
        history_.amounts.resize(t->size());
        in.get("times", std::span<std::int64_t>(history_.times));
        in.get("amounts", std::span<double>(history_.amounts));
        std::int64_t until[1] = {0};
        in.get("complete_until", std::span<std::int64_t>(until));
        history_.complete_until = until[0];
    }

    std::unique_ptr<modulator_block> clone() const override {
        return std::make_unique<volume_transmitter_block>(*this);
    }

private:
    step_t delay_ = 0;
    bool driven_ = false;
    neuron_id first_ = 0, end_ = 0;
    std::vector<step_t> scripted_times_;
    std::vector<double> scripted_amounts_;
};

void validate(const value_table&, std::span<const std::vector<std::string>> roles) {
    if (!roles.empty() && roles[0].size() > 1) {
        throw error("a volume_transmitter reads one population");
    }
}

std::unique_ptr<modulator_block> make(const modulator_args& a) {
    const bool driven = !a.roles.empty() && !a.roles[0].empty();
    if (driven == !a.times.empty()) {
        throw error("give either population (its spikes drive the modulator) or times and "
                    "amounts (a scripted signal)");
    }
    return std::make_unique<volume_transmitter_block>(a);
}

}  // namespace

modulator_model volume_transmitter_model() {
    modulator_model m;
    m.info.name = "volume_transmitter";
    m.info.doc = "NEST's volume_transmitter: population spikes or a scripted signal as the "
                 "neuromodulator events of three-factor rules";
    m.info.params = {
        {"delay", dimension::time, 1.0, "delay from a spike (or a scripted time) to its event",
         value_range::non_negative},
    };
    m.roles = {{"population", "the population whose spikes drive the modulator (each spike "
                              "adds 1)"}};
    m.takes_events = true;
    m.output = modulator_output::events;
    m.validate = validate;
    m.make_block = make;
    return m;
}

}  // namespace glia::models
