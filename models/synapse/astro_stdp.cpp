#include "models/synapse/astro_stdp.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t { role, eta, a, d, w_max, eta_decay };
enum role_kind : int { excitatory = 0, inhibitory = 1, input = 2 };

// NALSM's astro-modulated STDP (science-spec §1.4; NALSM_STDP.py::STDP_w_astro_depression),
// on emission steps t (a spike of step t is S(t) = 1):
//   dw(t) = L+ x_j(t) S_i(t) + L- x_i(t) S_j(t),  then w clipped to the role's bounds
//   excitatory and input pre: L+ = eta(t), L- = -A(t);  inhibitory pre: L+ = -A(t), L- = eta(t)
//   bounds: excitatory [0, w_max], inhibitory [-w_max, 0], input [-w_max, w_max]
//   traces x(t) = sum over spikes s < t of a d^((t - s) dt)  (x <- d (x + a S) per 1 ms step)
//   eta(t) = eta eta_decay^t;  A(t) = the astrocyte's level during step t
// Updates are applied lazily, in step order: at a presynaptic delivery (the spike of step
// T = now - D) the post spikes of (last, T) give their LTP, then step T gives its terms
// together (both, if post also spiked at T); sweeps bring the post spikes up to now - D - 1.
// The delivered PSC carries the weight after the update of step T.
//
// State: per segment (one presynaptic train, one delay) y = x_j(last) + a S_j(last) and
// `last`; per synapse w. The post trace is summed from the spike history (terms older than
// 30 trace time constants, < 1e-13 of a spike's, are dropped).
class astro_stdp_block final: public plastic_block {
public:
    explicit astro_stdp_block(plastic_block_args args) :
        plastic_block(std::move(args.synapses)), post_(args.post), astro_(args.modulator) {
        const auto& p = args.params;
        role_ = static_cast<int>(p.scalar(role));
        eta_ = p.scalar(eta);
        a_ = p.scalar(a);
        log_d_ = std::log(p.scalar(d)) * args.dt;  // per step
        log_eta_decay_ = std::log(p.scalar(eta_decay));
        const double w = p.scalar(w_max);
        lo_ = role_ == excitatory ? 0.0 : -w;
        hi_ = role_ == inhibitory ? 0.0 : w;
        sweep_interval_ = pair_rule_sweep_interval(args.dt);
        cutoff_ = static_cast<step_t>(std::ceil(30.0 / -log_d_)) + 1;
        horizon_ = sweep_interval_ + 2 * syn_.max_delay() + cutoff_ + 2;
        const std::size_t n_seg = syn_.segment_delay.size();
        y_.assign(n_seg, 0.0);
        last_.assign(n_seg, -1);
        post_neuron_ = syn_.target_neurons(args.targets);
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const auto D = static_cast<step_t>(syn_.segment_delay[k]);
        const step_t T = now - D;  // the presynaptic spike's emission step
        require_astrocyte_until(T);
        const double eta_T = eta_at(T);
        const double A_T = astro_->level[static_cast<std::size_t>(T)];
        const double l_plus = role_ == inhibitory ? -A_T : eta_T;
        const double l_minus = role_ == inhibitory ? eta_T : -A_T;
        const double x_pre = pre_trace(k, T);
        const std::uint32_t b = syn_.segment_begin[k];
        const std::uint32_t e = syn_.segment_begin[k + 1];
        double* w = syn_.weight.data();
        const std::uint32_t* slot = syn_.slot.data();
        for (std::uint32_t i = b; i < e; ++i) {
            const auto spikes = post_->spikes(post_neuron_[i]);
            auto it = std::upper_bound(spikes.begin(), spikes.end(), last_[k]);
            for (; it != spikes.end() && *it < T; ++it) {
                potentiate(i, k, *it);
            }
            double dw = l_minus * post_trace(spikes, T);
            if (it != spikes.end() && *it == T) {
                dw += l_plus * x_pre;
            }
            w[i] = std::clamp(w[i] + dw, lo_, hi_);
            input[slot[i]] += w[i];
        }
        y_[k] = x_pre + a_;
        last_[k] = T;
        return e - b;
    }

    void sweep(step_t now) override {
        for (std::uint32_t k = 0; k + 1 < syn_.segment_begin.size(); ++k) {
            const auto D = static_cast<step_t>(syn_.segment_delay[k]);
            // Presynaptic spikes of steps >= now - D are not delivered yet.
            const step_t L = std::min(now - D - 1, astro_->complete_until - 1);
            if (L <= last_[k]) {
                continue;
            }
            for (std::uint32_t i = syn_.segment_begin[k]; i < syn_.segment_begin[k + 1]; ++i) {
                const auto spikes = post_->spikes(post_neuron_[i]);
                auto it = std::upper_bound(spikes.begin(), spikes.end(), last_[k]);
                for (; it != spikes.end() && *it <= L; ++it) {
                    potentiate(i, k, *it);
                }
            }
            y_[k] = pre_trace(k, L);
            last_[k] = L;
        }
    }

    step_t sweep_interval() const override { return sweep_interval_; }
    step_t history_horizon() const override { return horizon_; }
    std::span<const double> weights() const override { return syn_.weight; }

    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns&) const override {
        per_segment.put("y", y_);
        per_segment.put("last", last_);
        per_synapse.put("weight", syn_.weight);
    }
    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns&) override {
        per_segment.get("y", y_);
        per_segment.get("last", last_);
        per_synapse.get("weight", syn_.weight);
    }

private:
    void require_astrocyte_until(step_t t) const {
        if (t >= astro_->complete_until) {
            throw internal_error(fmt::format("astro_stdp: astrocyte level needed at step {} but "
                                             "known only before {}",
                                             t, astro_->complete_until));
        }
    }

    double eta_at(step_t t) const {
        return log_eta_decay_ == 0.0 ? eta_
                                     : eta_ * std::exp(log_eta_decay_ * static_cast<double>(t));
    }

    // x_j at step t > last (y is 0 while last is -1).
    double pre_trace(std::uint32_t k, step_t t) const {
        return y_[k] * std::exp(log_d_ * static_cast<double>(t - last_[k]));
    }

    // The post spike of step p (last < p, no presynaptic spike at p): LTP term only.
    void potentiate(std::uint32_t i, std::uint32_t k, step_t p) {
        const double l_plus = role_ == inhibitory
                                  ? -astro_->level[static_cast<std::size_t>(p)]
                                  : eta_at(p);
        syn_.weight[i] = std::clamp(syn_.weight[i] + l_plus * pre_trace(k, p), lo_, hi_);
    }

    // x_i at step t: the post spikes of steps < t.
    double post_trace(std::span<const step_t> spikes, step_t t) const {
        auto it = std::lower_bound(spikes.begin(), spikes.end(), t);
        double x = 0;
        while (it != spikes.begin()) {
            --it;
            const step_t age = t - *it;
            if (age > cutoff_) {
                break;
            }
            x += a_ * std::exp(log_d_ * static_cast<double>(age));
        }
        return x;
    }

    const spike_history* post_;
    const modulator_history* astro_;
    int role_ = excitatory;
    double eta_, a_;
    double log_d_;          // ln d * dt: trace decay per step (log)
    double log_eta_decay_;  // per step (log)
    double lo_, hi_;        // weight bounds of the role [weight unit]
    step_t sweep_interval_, cutoff_, horizon_;
    std::vector<double> y_;     // per segment: x_j(last) + a S_j(last)
    std::vector<step_t> last_;  // per segment: the step the rule is up to (-1: none)
    std::vector<std::uint32_t> post_neuron_;
};

void validate(const value_table& p) {
    const double dd = p.scalar(d);
    if (!(dd > 0 && dd < 1)) {
        throw error(fmt::format("d (trace decay per ms) must be in (0, 1), got {}", dd));
    }
    if (!(p.scalar(eta_decay) > 0)) {
        throw error(fmt::format("eta_decay must be in (0, 1], got {}", p.scalar(eta_decay)));
    }
    if (!(p.scalar(w_max) > 0)) {
        throw error(fmt::format("w_max must be > 0, got {}", p.scalar(w_max)));
    }
}

std::unique_ptr<plastic_block> make(plastic_block_args args) {
    if (args.modulator == nullptr || args.modulator->level.empty()) {
        throw error("astro_stdp needs a modulator of type nalsm_astrocyte (projection key "
                    "'modulator')");
    }
    const auto r = static_cast<int>(args.params.scalar(role));
    const double w = args.params.scalar(w_max);
    const double lo = r == excitatory ? 0.0 : -w;
    const double hi = r == inhibitory ? 0.0 : w;
    static constexpr const char* names[] = {"excitatory", "inhibitory", "input"};
    for (double w0: args.synapses.weight) {
        if (!(w0 >= lo && w0 <= hi)) {
            throw error(fmt::format("initial weight {} is outside the bounds of role {}: "
                                    "[{}, {}] (w_max = {})",
                                    w0, names[r], lo, hi, w));
        }
    }
    return std::make_unique<astro_stdp_block>(std::move(args));
}

}  // namespace

synapse_model astro_stdp_model() {
    model_info info;
    info.name = "astro_stdp";
    info.aliases = {"nalsm_stdp"};
    info.doc = "NALSM astrocyte-modulated STDP: LTP eta, LTD A(t) from a nalsm_astrocyte";
    info.needs_modulator = true;
    info.params = {
        {"role", dimension::none, 0.0,
         "presynaptic group: excitatory and input (LTP eta, LTD A) or inhibitory (swapped)",
         value_range::any, false, {"excitatory", "inhibitory", "input"}},
        {"eta", dimension::none, 0.15, "LTP rate at step 0 (per unit trace)", value_range::any,
         false, {}, true},
        {"a", dimension::none, 0.1, "trace increment per spike", value_range::non_negative},
        {"d", dimension::none, 0.904774, "trace decay factor per ms, in (0, 1)",
         value_range::unit_interval},
        {"w_max", dimension::none, 3.0,
         "weight bound: excitatory [0, w_max], inhibitory [-w_max, 0], input [-w_max, w_max]",
         value_range::positive, false, {}, true},
        {"eta_decay", dimension::none, 1.0, "factor on eta per step, in (0, 1]",
         value_range::unit_interval},
    };
    return synapse_model{std::move(info), validate, make};
}

}  // namespace glia::models
