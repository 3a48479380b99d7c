#include "models/synapse/stdp_dopamine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t { A_plus, A_minus, tau_plus, tau_minus, tau_c, tau_n, b, Wmin, Wmax };

// Three-factor STDP with NEST's stdp_dopamine_synapse semantics (Izhikevich 2007, Potjans et
// al. 2010; science-spec §6.6): an eligibility trace c collects pair-based STDP, a modulator
// trace n (volume transmitter) gates it, and the weight integrates c (n - b):
//   dc/dt = -c / tau_c + A+ K+ at post arrivals - A- K- at pre arrivals
//   dn/dt = -n / tau_n + amount / tau_n at each modulator event
//   dw/dt = c (n - b), w clipped to [Wmin, Wmax] at every event
// Between events c and n decay exponentially and w has a closed form, so the integration is
// exact. The delay is purely dendritic (NEST). Event times are in steps: a spike of step s
// happens at s + 1; the modulator's events come with their own times (after its delay).
//
// State: per segment (one presynaptic train, one delay) K+ and the time of the last update;
// per synapse c and w at that time. n is a function of time shared by all synapses: n_after_
// caches its value just after each modulator event.
class stdp_dopamine_block final: public plastic_block {
public:
    explicit stdp_dopamine_block(plastic_block_args a) :
        plastic_block(std::move(a.synapses)), post_(a.post), mod_(a.modulator), dt_(a.dt) {
        const auto& p = a.params;
        A_plus_ = p.scalar(A_plus);
        A_minus_ = p.scalar(A_minus);
        tau_plus_ = p.scalar(tau_plus);
        tau_minus_ = p.scalar(tau_minus);
        tau_c_ = p.scalar(tau_c);
        tau_n_ = p.scalar(tau_n);
        b_ = p.scalar(b);
        Wmin_ = p.scalar(Wmin);
        Wmax_ = p.scalar(Wmax);
        tau_s_ = (tau_c_ + tau_n_) / (tau_c_ * tau_n_);
        sweep_interval_ = pair_rule_sweep_interval(a.dt);
        horizon_ = sweep_interval_ + 2 * syn_->max_delay() +
                   static_cast<step_t>(std::ceil(30.0 * tau_minus_ / a.dt)) + 2;
        const std::size_t n_seg = syn_->segment_delay.size();
        K_plus_.assign(n_seg, 0.0);
        last_.assign(n_seg, 0);
        c_.assign(syn_->slot.size(), 0.0);
        post_neuron_ = std::make_shared<const std::vector<std::uint32_t>>(
            syn_->target_neurons(a.targets));
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const auto D = static_cast<step_t>(syn_->segment_delay[k]);
        const step_t T = now - D + 1;  // the presynaptic spike's time (at the synapse)
        require_modulator_until(T);
        const std::uint32_t b = syn_->segment_begin[k];
        const std::uint32_t e = syn_->segment_begin[k + 1];
        double* w = w_.data();
        const std::uint32_t* slot = syn_->slot.data();
        for (std::uint32_t i = b; i < e; ++i) {
            const auto spikes = post_->spikes((*post_neuron_)[i]);
            // Post arrivals q = p + 1 + D in (last, T], in time order (NEST's history window
            // (t_last - d, t_spike - d]); each facilitates c with K+ at q.
            step_t t0 = last_[k];
            auto it = std::upper_bound(spikes.begin(), spikes.end(), last_[k] - 1 - D);
            for (; it != spikes.end() && *it + 1 + D <= T; ++it) {
                const step_t q = *it + 1 + D;
                advance(i, t0, q);
                t0 = q;
                c_[i] += A_plus_ * K_plus_[k] * std::exp(-static_cast<double>(q - last_[k]) * dt_ /
                                                         tau_plus_);
            }
            advance(i, t0, T);
            c_[i] -= A_minus_ * post_trace(spikes, D, T);
            input[slot[i]] += w[i];
        }
        K_plus_[k] = K_plus_[k] * std::exp(-static_cast<double>(T - last_[k]) * dt_ / tau_plus_) +
                     1.0;
        last_[k] = T;
        return e - b;
    }

    void sweep(step_t now) override {
        for (std::uint32_t k = 0; k + 1 < syn_->segment_begin.size(); ++k) {
            const auto D = static_cast<step_t>(syn_->segment_delay[k]);
            // Undelivered presynaptic spikes happen at now - D + 1 or later, and postsynaptic
            // arrivals up to now - D are known: bring everything to L = now - D.
            const step_t L = std::min(now - D, mod_->complete_until - 1);
            if (L <= last_[k]) {
                continue;
            }
            for (std::uint32_t i = syn_->segment_begin[k]; i < syn_->segment_begin[k + 1]; ++i) {
                const auto spikes = post_->spikes((*post_neuron_)[i]);
                step_t t0 = last_[k];
                auto it = std::upper_bound(spikes.begin(), spikes.end(), last_[k] - 1 - D);
                for (; it != spikes.end() && *it + 1 + D <= L; ++it) {
                    const step_t q = *it + 1 + D;
                    advance(i, t0, q);
                    t0 = q;
                    c_[i] += A_plus_ * K_plus_[k] *
                             std::exp(-static_cast<double>(q - last_[k]) * dt_ / tau_plus_);
                }
                advance(i, t0, L);
            }
            K_plus_[k] *= std::exp(-static_cast<double>(L - last_[k]) * dt_ / tau_plus_);
            last_[k] = L;
        }
    }

    step_t sweep_interval() const override { return sweep_interval_; }
    step_t history_horizon() const override { return horizon_; }

    // n_after_ is a cache of a function of the modulator's history: rebuilt, to the same
    // values, as it is needed.
    std::unique_ptr<plastic_block> clone(const spike_history* post,
                                         const modulator_history* modulator) const override {
        auto c = std::make_unique<stdp_dopamine_block>(*this);
        c->post_ = post;
        c->mod_ = modulator;
        return c;
    }

    // The modulator's history restarts with a trial: n_after_ follows it.
    void begin_trial(step_t) override { n_after_.clear(); }

    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns&, state_columns&) const override {
        per_segment.put("K_plus", K_plus_);
        per_segment.put("last", last_);
        per_synapse.put("c", c_);
        per_synapse.put("weight", std::span<const double>(w_));
    }
    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns&, const state_columns&) override {
        per_segment.get("K_plus", K_plus_);
        per_segment.get("last", last_);
        per_synapse.get("c", c_);
        per_synapse.get("weight", std::span<double>(w_));
        n_after_.clear();
    }

private:
    void require_modulator_until(step_t t) const {
        if (t >= mod_->complete_until) {
            throw internal_error(fmt::format("stdp_dopamine: modulator events needed up to {} "
                                             "but known only before {}",
                                             t, mod_->complete_until));
        }
    }

    // n just after every modulator event up to index j (extended as the history grows).
    void extend_n(std::size_t j) {
        for (std::size_t k = n_after_.size(); k <= j; ++k) {
            const double before =
                k == 0 ? 0.0
                       : n_after_[k - 1] *
                             std::exp(-static_cast<double>(mod_->times[k] - mod_->times[k - 1]) *
                                      dt_ / tau_n_);
            n_after_.push_back(before + mod_->amounts[k] / tau_n_);
        }
    }

    // n at time t, counting the modulator events at times <= t.
    double n_at(step_t t) {
        const auto& times = mod_->times;
        const auto it = std::upper_bound(times.begin(), times.end(), t);
        if (it == times.begin()) {
            return 0.0;
        }
        const auto j = static_cast<std::size_t>(it - times.begin()) - 1;
        extend_n(j);
        return n_after_[j] * std::exp(-static_cast<double>(t - times[j]) * dt_ / tau_n_);
    }

    // w and c of synapse i from time t0 to t1, through the modulator events in (t0, t1].
    void advance(std::uint32_t i, step_t t0, step_t t1) {
        if (t1 <= t0) {
            return;
        }
        const auto& times = mod_->times;
        auto it = std::upper_bound(times.begin(), times.end(), t0);
        step_t cur = t0;
        double c = c_[i];
        double w = w_[i];
        double n = n_at(t0);
        for (; it != times.end() && *it <= t1; ++it) {
            const double span = static_cast<double>(*it - cur) * dt_;
            w = integrate(w, c, n, span);
            c *= std::exp(-span / tau_c_);
            cur = *it;
            n = n_at(cur);  // includes the event's jump
        }
        const double span = static_cast<double>(t1 - cur) * dt_;
        w = integrate(w, c, n, span);
        c *= std::exp(-span / tau_c_);
        c_[i] = c;
        w_[i] = w;
    }

    // w after `span` ms with c and n starting at c0, n0 and decaying (NEST's update_weight_).
    double integrate(double w, double c0, double n0, double span) const {
        if (span <= 0) {
            return w;
        }
        w -= c0 * (n0 / tau_s_ * std::expm1(-tau_s_ * span) -
                   b_ * tau_c_ * std::expm1(-span / tau_c_));
        return std::clamp(w, Wmin_, Wmax_);
    }

    // The postsynaptic trace at the synapse at time T, from arrivals strictly before T.
    double post_trace(std::span<const step_t> spikes, step_t D, step_t T) const {
        auto it = std::lower_bound(spikes.begin(), spikes.end(), T - 1 - D);
        double K = 0;
        while (it != spikes.begin()) {
            --it;
            const double age = static_cast<double>(T - (*it + 1 + D)) * dt_;
            if (age > 30.0 * tau_minus_) {
                break;
            }
            K += std::exp(-age / tau_minus_);
        }
        return K;
    }

    const spike_history* post_;
    const modulator_history* mod_;
    double dt_;
    double A_plus_, A_minus_, tau_plus_, tau_minus_, tau_c_, tau_n_, b_, Wmin_, Wmax_;
    double tau_s_;  // (tau_c + tau_n) / (tau_c tau_n) [1/ms]
    step_t sweep_interval_;
    step_t horizon_;
    std::vector<double> K_plus_;  // per segment: presynaptic trace at last_
    std::vector<step_t> last_;    // per segment: time of the last update (event time)
    std::vector<double> c_;       // per synapse: eligibility at last_ of its segment
    std::vector<double> n_after_;  // modulator trace just after each of its events
    std::shared_ptr<const std::vector<std::uint32_t>> post_neuron_;
};

void validate(const value_table& p) {
    if (!(p.scalar(Wmin) <= p.scalar(Wmax))) {
        throw error(fmt::format("Wmin ({}) must not exceed Wmax ({})", p.scalar(Wmin),
                                p.scalar(Wmax)));
    }
}

std::unique_ptr<plastic_block> make(plastic_block_args a) {
    if (a.modulator == nullptr) {
        throw error("stdp_dopamine needs a modulator (projection key 'modulator')");
    }
    for (double w: a.synapses->weight) {
        if (!(w >= a.params.scalar(Wmin) && w <= a.params.scalar(Wmax))) {
            throw error(fmt::format("initial weight {} is outside [Wmin, Wmax] = [{}, {}]", w,
                                    a.params.scalar(Wmin), a.params.scalar(Wmax)));
        }
    }
    return std::make_unique<stdp_dopamine_block>(std::move(a));
}

}  // namespace

synapse_model stdp_dopamine_model() {
    model_info info;
    info.name = "stdp_dopamine";
    info.aliases = {"stdp_dopamine_synapse"};
    info.doc = "three-factor STDP: eligibility trace x neuromodulator (NEST stdp_dopamine_synapse)";
    info.needs_modulator = true;
    info.params = {
        {"A_plus", dimension::none, 1.0, "eligibility increase per pre-post pair",
         value_range::non_negative},
        {"A_minus", dimension::none, 1.5, "eligibility decrease per post-pre pair",
         value_range::non_negative},
        {"tau_plus", dimension::time, 20.0, "presynaptic trace time constant",
         value_range::positive},
        {"tau_minus", dimension::time, 20.0, "postsynaptic trace time constant",
         value_range::positive},
        {"tau_c", dimension::time, 1000.0, "eligibility time constant", value_range::positive},
        {"tau_n", dimension::time, 200.0, "modulator time constant", value_range::positive},
        {"b", dimension::none, 0.0, "modulator baseline", value_range::any},
        {"Wmin", dimension::none, 0.0, "lower weight bound", value_range::any, false, {}, true},
        {"Wmax", dimension::none, 200.0, "upper weight bound", value_range::any, false, {},
         true},
    };
    return synapse_model{std::move(info), validate, make};
}

}  // namespace glia::models
