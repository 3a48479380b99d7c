#include "models/synapse/izhikevich2006.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t {
    A_plus,
    A_minus,
    tau_plus,
    tau_minus,
    drift,
    sd_decay,
    update_interval,
    Wmax,
};

// Izhikevich (2006), "Polychronization" (spnet.cpp): nearest-neighbour STDP accumulated in a
// derivative sd and applied to the weight once per update interval:
//   post spike (step p): sd += A_plus  exp(-(p - a) dt / tau_plus)  for the last arrival a <= p
//   arrival (step a):    sd -= A_minus exp(-(a - 1 - p) dt / tau_minus) for the last post p < a
//   every interval:      w = clip(w + drift + sd, 0, Wmax); sd *= sd_decay.
// "Arrival" is the step a presynaptic spike is delivered at the soma (the whole delay is
// axonal). With spnet's values (A 0.1 / 0.12, decay 0.95 per ms, drift 0.01, sd decay 0.9,
// Wmax 10, 1 s) and dt = 1 ms this is spnet's update; docs/models/izhikevich2006.md maps the
// timing. The periodic update at step n uses the post spikes of steps <= n - 2 (spnet counts a
// spike detected at the start of the next second in the next second).
class izhikevich2006_block final: public plastic_block {
public:
    explicit izhikevich2006_block(plastic_block_args a) :
        plastic_block(std::move(a.synapses)), post_(a.post) {
        const auto& p = a.params;
        A_plus_ = p.scalar(A_plus);
        A_minus_ = p.scalar(A_minus);
        drift_ = p.scalar(drift);
        sd_decay_ = p.scalar(sd_decay);
        Wmax_ = p.scalar(Wmax);
        interval_ = static_cast<step_t>(std::llround(p.scalar(update_interval) / a.dt));
        const auto cutoff = static_cast<std::size_t>(
            std::ceil(30.0 * std::max(p.scalar(tau_plus), p.scalar(tau_minus)) / a.dt));
        plus_.resize(cutoff + 1);
        minus_.resize(cutoff + 1);
        for (std::size_t k = 0; k <= cutoff; ++k) {
            plus_[k] = std::exp(-static_cast<double>(k) * a.dt / p.scalar(tau_plus));
            minus_[k] = std::exp(-static_cast<double>(k) * a.dt / p.scalar(tau_minus));
        }
        horizon_ = interval_ + syn_->max_delay() + static_cast<step_t>(cutoff) + 4;
        const std::size_t n_seg = syn_->segment_delay.size();
        last_arrival_.assign(n_seg, no_arrival);
        done_.assign(n_seg, std::numeric_limits<step_t>::min());
        sd_.assign(syn_->slot.size(), 0.0);
        post_neuron_ = std::make_shared<const std::vector<std::uint32_t>>(
            syn_->target_neurons(a.targets));
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const std::uint32_t b = syn_->segment_begin[k];
        const std::uint32_t e = syn_->segment_begin[k + 1];
        const double* w = w_.data();
        const std::uint32_t* slot = syn_->slot.data();
        for (std::uint32_t i = b; i < e; ++i) {
            const auto spikes = post_->spikes((*post_neuron_)[i]);
            potentiate(k, i, spikes, now);  // post spikes before this arrival
            // Depression: the nearest post spike before this step.
            auto it = std::lower_bound(spikes.begin(), spikes.end(), now);
            if (it != spikes.begin()) {
                sd_[i] -= A_minus_ * minus(now - 1 - *(it - 1));
            }
            input[slot[i]] += w[i];
        }
        last_arrival_[k] = now;
        done_[k] = now;
        return e - b;
    }

    void sweep(step_t now) override {
        // Post spikes up to step now - 2 pair now (spnet's second boundary, see above); later
        // ones at the next arrival or sweep.
        for (std::uint32_t k = 0; k + 1 < syn_->segment_begin.size(); ++k) {
            for (std::uint32_t i = syn_->segment_begin[k]; i < syn_->segment_begin[k + 1]; ++i) {
                potentiate(k, i, post_->spikes((*post_neuron_)[i]), now - 1);
            }
            done_[k] = std::max(done_[k], now - 1);
        }
        // Updates at the end of every interval (spnet: after each second), never at step 0.
        if (now > 0 && now % interval_ == 0 && now != last_update_) {
            last_update_ = now;
            double* w = w_.data();
            for (std::size_t i = 0; i < w_.size(); ++i) {
                w[i] = std::clamp(w[i] + drift_ + sd_[i], 0.0, Wmax_);
                sd_[i] *= sd_decay_;
            }
        }
    }

    step_t sweep_interval() const override { return interval_; }
    step_t history_horizon() const override { return horizon_; }

    std::unique_ptr<plastic_block> clone(const spike_history* post,
                                         const modulator_history* modulator) const override {
        auto c = std::make_unique<izhikevich2006_block>(*this);
        c->post_ = post;
        (void)modulator;
        return c;
    }

    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns& per_block, state_columns&) const override {
        per_segment.put("last_arrival", last_arrival_);
        per_segment.put("done", done_);
        per_synapse.put("sd", sd_);
        per_synapse.put("weight", std::span<const double>(w_));
        const step_t last_update[] = {last_update_};
        per_block.put("last_update", last_update);
    }
    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns& per_block, const state_columns&) override {
        per_segment.get("last_arrival", last_arrival_);
        per_segment.get("done", done_);
        per_synapse.get("sd", sd_);
        per_synapse.get("weight", std::span<double>(w_));
        step_t last_update[1] = {};
        per_block.get("last_update", last_update);
        last_update_ = last_update[0];
    }

private:
    static constexpr step_t no_arrival = std::numeric_limits<step_t>::min() / 2;

    double plus(step_t k) const {
        return k < static_cast<step_t>(plus_.size()) ? plus_[static_cast<std::size_t>(k)] : 0.0;
    }
    double minus(step_t k) const {
        return k < static_cast<step_t>(minus_.size()) ? minus_[static_cast<std::size_t>(k)] : 0.0;
    }

    // Potentiation for the post spikes p with done_[k] <= p < end that follow the segment's
    // last arrival (each pairs with that nearest arrival).
    void potentiate(std::uint32_t k, std::uint32_t i, std::span<const step_t> spikes,
                    step_t end) {
        const step_t a = last_arrival_[k];
        if (a == no_arrival) {
            return;
        }
        auto it = std::lower_bound(spikes.begin(), spikes.end(), std::max(done_[k], a));
        for (; it != spikes.end() && *it < end; ++it) {
            sd_[i] += A_plus_ * plus(*it - a);
        }
    }

    const spike_history* post_;
    double A_plus_, A_minus_, drift_, sd_decay_, Wmax_;
    step_t interval_;
    step_t horizon_;
    step_t last_update_ = -1;
    std::vector<double> plus_, minus_;    // exp(-k dt / tau)
    std::vector<step_t> last_arrival_;    // per segment: step of the last delivery
    std::vector<step_t> done_;            // per segment: post spikes before this are paired
    std::vector<double> sd_;              // per synapse: the accumulated derivative
    std::shared_ptr<const std::vector<std::uint32_t>> post_neuron_;
};

void validate(const value_table& p) {
    if (!(p.scalar(Wmax) > 0)) {
        throw error(fmt::format("Wmax must be > 0, got {}", p.scalar(Wmax)));
    }
}

std::unique_ptr<plastic_block> make(plastic_block_args a) {
    const double interval = a.params.scalar(update_interval) / a.dt;
    if (std::abs(interval - std::round(interval)) > 1e-9 * interval || interval < 1) {
        throw error(fmt::format("update_interval = {} ms is not a whole number of steps of "
                                "dt = {} ms",
                                a.params.scalar(update_interval), a.dt));
    }
    for (double w: a.synapses->weight) {
        if (!(w >= 0 && w <= a.params.scalar(Wmax))) {
            throw error(fmt::format("initial weight {} is outside [0, Wmax = {}]", w,
                                    a.params.scalar(Wmax)));
        }
    }
    return std::make_unique<izhikevich2006_block>(std::move(a));
}

}  // namespace

synapse_model izhikevich2006_model() {
    // exp(-1 ms / tau) = 0.95: spnet's per-millisecond decay of both traces.
    const double tau_095 = -1.0 / std::log(0.95);
    model_info info;
    info.name = "izhikevich2006";
    info.aliases = {"polychronization"};
    info.doc = "Izhikevich (2006) STDP: nearest-neighbour pairing into a derivative applied "
               "periodically";
    info.params = {
        {"A_plus", dimension::none, 0.1, "potentiation amplitude (weight units)",
         value_range::non_negative, false, {}, true},
        {"A_minus", dimension::none, 0.12, "depression amplitude (weight units)",
         value_range::non_negative, false, {}, true},
        {"tau_plus", dimension::time, tau_095, "potentiation time constant",
         value_range::positive},
        {"tau_minus", dimension::time, tau_095, "depression time constant",
         value_range::positive},
        {"drift", dimension::none, 0.01, "added to every weight at each update (weight units)",
         value_range::any, false, {}, true},
        {"sd_decay", dimension::none, 0.9, "factor on the derivative after each update",
         value_range::unit_interval},
        {"update_interval", dimension::time, 1000.0, "period of the weight update",
         value_range::positive},
        {"Wmax", dimension::none, 10.0, "upper weight bound (lower bound 0)", value_range::positive,
         false, {}, true},
    };
    return synapse_model{std::move(info), validate, make};
}

}  // namespace glia::models
