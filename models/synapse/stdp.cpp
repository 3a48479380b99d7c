#include "models/synapse/stdp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t {
    tau_plus,
    tau_minus,
    lambda,
    alpha,
    mu_plus,
    mu_minus,
    Wmax,
    pairing,
    dendritic_delay_fraction,
};

enum pairing_kind { all_to_all = 0, nearest = 1 };

// Contributions of spikes more than this many time constants back are dropped (< 1e-13).
constexpr double trace_cutoff = 30.0;

// exp(-k dt / tau) for k = 0 .. n - 1 steps.
std::vector<double> decay_table(double tau, double dt, std::size_t n) {
    std::vector<double> t(n);
    for (std::size_t k = 0; k < n; ++k) {
        t[k] = std::exp(-static_cast<double>(k) * dt / tau);
    }
    return t;
}

// Pair-based STDP with NEST's stdp_synapse update (Guetig et al. 2003 weight dependence; see
// docs/models/stdp.md). Times below are integer "event times" in steps: a spike emitted in
// step n happens at time n + 1 (its time stamp is (n + 1) dt).
//
// Per segment (one presynaptic train, one delay): K_plus_ (the presynaptic trace just after
// the last arrival at the synapse), last_ (that arrival), fac_ (facilitation has been applied
// for every postsynaptic arrival before this time). Per synapse: the weight.
class stdp_block final: public plastic_block {
public:
    explicit stdp_block(plastic_block_args a) :
        plastic_block(std::move(a.synapses)), post_(a.post) {
        const auto& p = a.params;
        tau_plus_ = p.scalar(tau_plus);
        tau_minus_ = p.scalar(tau_minus);
        lambda_ = p.scalar(lambda);
        alpha_ = p.scalar(alpha);
        mu_plus_ = p.scalar(mu_plus);
        mu_minus_ = p.scalar(mu_minus);
        Wmax_ = p.scalar(Wmax);
        nearest_ = static_cast<int>(p.scalar(pairing)) == nearest;
        const double fraction = p.scalar(dendritic_delay_fraction);
        sweep_interval_ = pair_rule_sweep_interval(a.dt);
        // History needed: spikes back to the oldest facilitation bound (a sweep interval plus
        // twice the longest delay) and the trace cut-off for depression.
        const double longest_tau = std::max(tau_plus_, tau_minus_);
        const auto cutoff_steps = static_cast<step_t>(std::ceil(trace_cutoff * longest_tau / a.dt));
        horizon_ = sweep_interval_ + 2 * syn_->max_delay() + cutoff_steps + 2;
        plus_ = decay_table(tau_plus_, a.dt, static_cast<std::size_t>(cutoff_steps) + 1);
        minus_ = decay_table(tau_minus_, a.dt, static_cast<std::size_t>(cutoff_steps) + 1);

        const plastic_synapses& s = *syn_;
        const std::size_t n_seg = s.segment_delay.size();
        dend_.resize(n_seg);
        for (std::size_t k = 0; k < n_seg; ++k) {
            dend_[k] = static_cast<std::int32_t>(std::llround(fraction * s.segment_delay[k]));
        }
        K_plus_.assign(n_seg, 0.0);
        last_.assign(n_seg, no_spike);
        fac_.assign(n_seg, std::numeric_limits<step_t>::min());
        post_neuron_ = std::make_shared<const std::vector<std::uint32_t>>(
            s.target_neurons(a.targets));
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const auto D = static_cast<step_t>(syn_->segment_delay[k]);
        const step_t D_dend = dend_[k];
        const step_t emitted = now - D;
        const step_t T = emitted + 1 + (D - D_dend);  // arrival at the synapse
        // Facilitation for postsynaptic arrivals q in [fac, T] (NEST: (t_last - d, t_pre - d]);
        // with no dendritic delay a postsynaptic spike of this very step is not known yet, and
        // one arriving together with the presynaptic spike pairs with it at the next delivery.
        const step_t fac_end = D_dend > 0 ? T + 1 : T;
        const std::uint32_t b = syn_->segment_begin[k];
        const std::uint32_t e = syn_->segment_begin[k + 1];
        double* w = w_.data();
        const std::uint32_t* slot = syn_->slot.data();
        for (std::uint32_t i = b; i < e; ++i) {
            const auto spikes = post_->spikes((*post_neuron_)[i]);
            double wi = w[i];
            wi = facilitate_window(k, spikes, D_dend, fac_end, wi);
            wi = depress(wi, post_trace(spikes, D_dend, T));
            w[i] = wi;
            input[slot[i]] += wi;
        }
        // The presynaptic trace, now including this spike.
        K_plus_[k] = (nearest_ ? 0.0 : K_plus_[k] * plus(T - last_[k])) + 1.0;
        last_[k] = T;
        fac_[k] = fac_end;
        return e - b;
    }

    void sweep(step_t now) override {
        // Undelivered presynaptic spikes reach their synapses at now + 1 - D_dend or later, and
        // postsynaptic spikes up to step now - 1 are known: facilitation is safe for arrivals
        // q <= now - D_dend (q <= now without dendritic delay; such a q equal to a later
        // presynaptic arrival is still counted after it, as in deliver()).
        for (std::uint32_t k = 0; k + 1 < syn_->segment_begin.size(); ++k) {
            const step_t D_dend = dend_[k];
            const step_t fac_end = D_dend > 0 ? now - D_dend + 1 : now + 1;
            if (fac_end <= fac_[k]) {
                continue;
            }
            double* w = w_.data();
            for (std::uint32_t i = syn_->segment_begin[k]; i < syn_->segment_begin[k + 1]; ++i) {
                w[i] = facilitate_window(k, post_->spikes((*post_neuron_)[i]), D_dend, fac_end, w[i]);
            }
            fac_[k] = fac_end;
        }
    }

    step_t sweep_interval() const override { return sweep_interval_; }
    step_t history_horizon() const override { return horizon_; }

    std::unique_ptr<plastic_block> clone(const spike_history* post,
                                         const modulator_history* modulator) const override {
        auto c = std::make_unique<stdp_block>(*this);
        c->post_ = post;
        (void)modulator;
        return c;
    }

    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns&, state_columns&) const override {
        per_segment.put("K_plus", K_plus_);
        per_segment.put("last", last_);
        per_segment.put("fac", fac_);
        per_synapse.put("weight", std::span<const double>(w_));
    }
    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns&, const state_columns&) override {
        per_segment.get("K_plus", K_plus_);
        per_segment.get("last", last_);
        per_segment.get("fac", fac_);
        per_synapse.get("weight", std::span<double>(w_));
    }

private:
    static constexpr step_t no_spike = std::numeric_limits<step_t>::min() / 2;

    double plus(step_t k) const {
        return k < static_cast<step_t>(plus_.size()) ? plus_[static_cast<std::size_t>(k)] : 0.0;
    }
    double minus(step_t k) const {
        return k < static_cast<step_t>(minus_.size()) ? minus_[static_cast<std::size_t>(k)] : 0.0;
    }

    // Applies facilitation for the postsynaptic arrivals q = p + 1 + D_dend in
    // [fac_[k], end), in time order, with the presynaptic trace at q.
    double facilitate_window(std::uint32_t k, std::span<const step_t> spikes, step_t D_dend,
                             step_t end, double w) const {
        if (last_[k] == no_spike || spikes.empty()) {
            return w;  // no presynaptic spike yet: the trace is zero
        }
        const step_t from = std::max(fac_[k], last_[k]);
        // First spike with p + 1 + D_dend >= from.
        auto it = std::lower_bound(spikes.begin(), spikes.end(), from - 1 - D_dend);
        for (; it != spikes.end(); ++it) {
            const step_t q = *it + 1 + D_dend;
            if (q >= end) {
                break;
            }
            const double K = K_plus_[k] * plus(q - last_[k]);
            w = facilitate(w, K);
        }
        return w;
    }

    // The postsynaptic trace at the synapse at time T, from arrivals strictly before T.
    double post_trace(std::span<const step_t> spikes, step_t D_dend, step_t T) const {
        // Arrivals q < T: spikes p < T - 1 - D_dend, newest first.
        auto it = std::lower_bound(spikes.begin(), spikes.end(), T - 1 - D_dend);
        double K = 0;
        while (it != spikes.begin()) {
            --it;
            const step_t age = T - (*it + 1 + D_dend);
            const double c = minus(age);
            if (c == 0.0) {
                break;  // older arrivals contribute less than exp(-30)
            }
            K += c;
            if (nearest_) {
                break;
            }
        }
        return K;
    }

    // NEST's stdp_synapse: w / Wmax moves by lambda (1 - w/Wmax)^mu+ K up, and by
    // alpha lambda (w/Wmax)^mu- K down, within [0, 1].
    double facilitate(double w, double K) const {
        const double x = w / Wmax_;
        const double y = x + lambda_ * power(1.0 - x, mu_plus_) * K;
        return y < 1.0 ? y * Wmax_ : Wmax_;
    }
    double depress(double w, double K) const {
        if (K == 0.0) {
            return w;
        }
        const double x = w / Wmax_;
        const double y = x - alpha_ * lambda_ * power(x, mu_minus_) * K;
        return y > 0.0 ? y * Wmax_ : 0.0;
    }
    static double power(double x, double mu) {
        if (mu == 0.0) {
            return 1.0;
        }
        if (mu == 1.0) {
            return x;
        }
        return std::pow(x, mu);
    }

    const spike_history* post_;
    double tau_plus_, tau_minus_, lambda_, alpha_, mu_plus_, mu_minus_, Wmax_;  // [ms], [weight]
    bool nearest_;
    step_t sweep_interval_;
    step_t horizon_;
    std::vector<double> plus_, minus_;  // exp(-k dt / tau_plus), exp(-k dt / tau_minus)
    std::vector<std::int32_t> dend_;    // per segment: dendritic part of the delay [steps]
    std::vector<double> K_plus_;        // per segment: presynaptic trace after the last arrival
    std::vector<step_t> last_;          // per segment: last presynaptic arrival (event time)
    std::vector<step_t> fac_;           // per segment: facilitation done for arrivals < fac_
    // Per synapse: the partition index of its target (shared by the copies of the block).
    std::shared_ptr<const std::vector<std::uint32_t>> post_neuron_;
};

void validate(const value_table& p) {
    if (!(p.scalar(Wmax) != 0.0)) {
        throw error("Wmax must not be 0 (its sign is the sign of the weights)");
    }
}

std::unique_ptr<plastic_block> make(plastic_block_args a) {
    for (double w: a.synapses->weight) {
        const double x = w / a.params.scalar(Wmax);
        if (!(x >= 0.0 && x <= 1.0)) {
            throw error(fmt::format("initial weight {} is outside [0, Wmax] (Wmax = {}; weights "
                                    "and Wmax must have the same sign)",
                                    w, a.params.scalar(Wmax)));
        }
    }
    return std::make_unique<stdp_block>(std::move(a));
}

}  // namespace

synapse_model stdp_model() {
    model_info info;
    info.name = "stdp";
    info.aliases = {"stdp_synapse"};
    info.doc = "pair-based STDP (NEST stdp_synapse: Guetig weight dependence, hard bounds)";
    info.params = {
        {"tau_plus", dimension::time, 20.0, "presynaptic trace time constant",
         value_range::positive},
        {"tau_minus", dimension::time, 20.0, "postsynaptic trace time constant",
         value_range::positive},
        {"lambda", dimension::none, 0.01, "learning rate (step size of w / Wmax)",
         value_range::non_negative},
        {"alpha", dimension::none, 1.0, "depression / facilitation ratio",
         value_range::non_negative},
        {"mu_plus", dimension::none, 1.0, "facilitation weight dependence (0 additive, 1 multiplicative)",
         value_range::non_negative},
        {"mu_minus", dimension::none, 1.0, "depression weight dependence (0 additive, 1 multiplicative)",
         value_range::non_negative},
        {"Wmax", dimension::none, 100.0, "weight bound (weights lie in [0, Wmax])",
         value_range::any, false, {}, true},
        {"pairing", dimension::none, 0.0, "all_to_all: every pre-post pair; nearest: nearest "
                                          "neighbours (NEST stdp_nn_symm_synapse)",
         value_range::any, false, {"all_to_all", "nearest"}},
        {"dendritic_delay_fraction", dimension::none, 1.0,
         "part of the delay between synapse and soma (1: NEST's dendritic delay; 0: axonal, as "
         "Brian)",
         value_range::unit_interval},
    };
    return synapse_model{std::move(info), validate, make};
}

}  // namespace glia::models
