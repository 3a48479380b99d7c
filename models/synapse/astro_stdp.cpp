#include "models/synapse/astro_stdp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

enum param : std::size_t { mode, role, eta, a, d, w_max, eta_decay, tau_u, s_init };
enum mode_kind : int { astro = 0, symmetric = 1, frozen = 2 };
enum role_kind : int { excitatory = 0, inhibitory = 1, input = 2 };

// Trace and kernel values below this are taken as 0 (a spike's trace then contributes
// < 1e-30 of itself).
constexpr double negligible = 1e-30;

// What the copies of a block share: the synapses and the index by target built from them.
struct astro_structure {
    std::vector<std::uint32_t> target;   // per synapse: block-local target index
    std::vector<std::uint32_t> in_begin;  // per target + 1: its incoming synapses ...
    std::vector<std::uint32_t> in_synapse;  // ... by synapse index (ascending source)
    std::vector<std::uint32_t> in_segment;  // ... and their segments
    std::vector<std::uint32_t> target_slot;  // per target: the input slot its synapses write
    std::vector<std::uint32_t> region;      // per target: the astrocyte region of its neuron
    double trace_decay = 1;   // d^dt: the traces' factor per step
    double kernel_decay = 0;  // e^(-dt / tau_u): the kernel's factor per step; 0 without one
    double kernel_init = 0;   // the kernel at age s_init (a trial's start)
    std::size_t neuron_offset = 0;  // partition index of the target block's first neuron
};

// One step of decay: x q, or 0 once it is negligible (so no value decays into denormals).
inline double decayed(double x, double q) {
    const double y = x * q;
    return y < negligible ? 0.0 : y;
}

// Below this a scale is folded into the values it scales (rebase()).
constexpr double smallest_scale = 1e-100;

// NALSM's astro-modulated STDP (science-spec §1.4, NALSM_STDP.py::STDP_w_astro_depression)
// and its synaptic kernel, applied eagerly, step by step, so that a nalsm_lif liquid follows
// the paper's loop exactly (docs/models/nalsm_astrocyte.md). Times are spike times in steps:
// a presynaptic spike *arrives* at time T + D (emitted in step T, delay D: delivered in step
// T + D); a postsynaptic spike emitted in step p happens at time p + 1. With D = 1 both are
// NALSM's S(t).
//
//   dw(t) = L+(t) x_j(t) S_i(t) + L-(t) x_i(t) S_j(t), then w clipped to the role's bounds
//   astro, excitatory and input pre: L+ = eta(t), L- = -A(t); inhibitory pre: swapped
//   symmetric: A replaced by eta (NALSM's LSM+STDP baseline); frozen: no change
//   x(t + 1) = d^dt (x(t) + a S(t)), x = 0 at first;   eta(t) = eta eta_decay^(t - t0)
//   A(t): the modulator's level at time t in the target's region; t0: the trial's first step.
//
// The traces are one value per delay segment (presynaptic) and per target (postsynaptic), as
// NALSM keeps them, but stored scaled: trace = stored value x f, with one factor f per block
// that decays by d^dt per step, so that no step touches every trace; likewise the kernels'
// factors e^(-age dt / tau_u) with their own scale. When a scale falls below 1e-100 it is
// folded into the values (values under 1e-30 become 0).
//
// Kernel (with tau_u > 0, NALSM's synaptic current sum_j w_ij e^(-s_ij/tau_u)/tau_u that reads
// the current weight every step, s_ij the age of j's latest spike): the target (nalsm_lif)
// holds the sum and decays it; the block sends it every change. An arrival at time n sends
// w(n) (1 - e^(-age dt/tau_u)) (the old term is replaced by a fresh one, with the weight before
// this step's update); a weight change dw at time n adds dw e^(-(age at n + 1) dt / tau_u) to
// the next step's input (the partition's next-step slots); a trial starts with age s_init and
// sends w e^(-s_init/tau_u) in its first step. Without a kernel an arrival sends w(n), the
// weight before its update.
//
// Order in step n: deliveries of arrivals at n apply LTD (and LTP when the target also spiked
// at time n: both terms, then one clip); after the neurons advanced, post_spikes(n) applies
// the LTP of the target spikes at time n (pairs whose presynaptic spike also arrived at n were
// done at the delivery; kernel factors at n + 1), takes this step's spikes into the traces,
// moves the scales to n + 1 and records the spikes at time n + 1 for the next step.
class astro_stdp_block final: public plastic_block {
public:
    astro_stdp_block(plastic_block_args args, std::shared_ptr<const astro_structure> st) :
        plastic_block(std::move(args.synapses)), st_(std::move(st)), astro_(args.modulator) {
        const auto& p = args.params;
        mode_ = static_cast<int>(p.scalar(mode));
        role_ = static_cast<int>(p.scalar(role));
        eta0_ = p.scalar(eta);
        a_ = p.scalar(a);
        eta_decay_ = p.scalar(eta_decay);
        const double w = p.scalar(w_max);
        lo_ = role_ == excitatory ? 0.0 : -w;
        hi_ = role_ == inhibitory ? 0.0 : w;
        kernel_ = st_->kernel_decay > 0;
        const std::size_t n_seg = syn_->segment_delay.size();
        const std::size_t n_tgt = st_->target_slot.size();
        pre_x_.assign(n_seg, 0.0);
        pre_g_.assign(n_seg, 0.0);
        post_x_.assign(n_tgt, 0.0);
        coincident_.assign(n_tgt, 0.0);
        begin_trial(0);
    }

    bool eager() const override { return true; }
    bool needs_post_history() const override { return false; }
    step_t history_horizon() const override { return 0; }
    // Every update is applied in the step it belongs to: nothing waits for a sweep.
    step_t sweep_interval() const override { return std::numeric_limits<std::int32_t>::max(); }
    void sweep(step_t) override {}

    void begin_step(step_t now, std::span<double> input, std::span<double> next) override {
        next_ = next.data();
        age_to(now);
        if (initial_due_ && now == trial_start_) {
            // The kernels of age s_init that a trial starts with (begin_trial).
            const std::uint32_t* slot = st_->target_slot.data();
            for (std::size_t t = 0; t < initial_.size(); ++t) {
                input[slot[t]] += initial_[t];
            }
        }
        initial_due_ = false;
    }

    // Called after every step `now`: see the class comment for the order.
    void post_spikes(step_t now, std::span<const std::uint32_t> neurons) override {
        age_to(now);
        if (mode_ != frozen) {
            // The LTP reads the traces before this step's arrivals: an arrival's own pairing
            // with a spike at this time was done at its delivery.
            for (std::uint32_t k: arrived_) {
                pre_x_[k] = 0.0;
            }
            if (!ltp_.empty()) {
                if (kernel_) {
                    potentiate<true>(now);
                } else {
                    potentiate<false>(now);
                }
            }
            // Arrivals and spikes at `now` count in the traces from now + 1 on.
            const double inv_f = 1.0 / trace_scale_;
            for (std::size_t k = 0; k < arrived_.size(); ++k) {
                pre_x_[arrived_[k]] = (arrived_x_[k] + a_) * inv_f;
            }
            const double a_scaled = a_ * inv_f;
            for (std::uint32_t t: ltp_) {
                post_x_[t] += a_scaled;
                coincident_[t] = 0.0;
            }
        }
        arrived_.clear();
        arrived_x_.clear();
        ltp_.clear();
        tick();
        const auto first = static_cast<std::uint32_t>(st_->neuron_offset);
        const auto n_tgt = static_cast<std::uint32_t>(post_x_.size());
        if (mode_ != frozen) {
            for (auto it = std::lower_bound(neurons.begin(), neurons.end(), first);
                 it != neurons.end() && *it - first < n_tgt; ++it) {
                const std::uint32_t t = *it - first;
                ltp_.push_back(t);
                coincident_[t] = 1.0;
            }
        }
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const std::uint32_t b = syn_->segment_begin[k];
        const std::uint32_t e = syn_->segment_begin[k + 1];
        const double keep = kernel_ ? pre_g_[k] * kernel_scale_ : 0.0;
        const double jump = 1.0 - keep;  // the share of the weight the arrival adds
        if (kernel_) {
            pre_g_[k] = 1.0 / kernel_scale_;  // age 0
        }
        if (mode_ == frozen) {
            const std::uint32_t* slot = syn_->slot.data();
            const double* w = w_.data();
            for (std::uint32_t i = b; i < e; ++i) {
                input[slot[i]] += w[i] * jump;
            }
            return e - b;
        }
        const double x_pre = pre_x_[k] * trace_scale_;
        arrived_.push_back(k);
        arrived_x_.push_back(x_pre);
        if (kernel_) {
            deliver_plastic<true>(b, e, now, x_pre, jump, input.data());
        } else {
            deliver_plastic<false>(b, e, now, x_pre, jump, input.data());
        }
        return e - b;
    }

    void begin_trial(step_t now) override {
        age_to(now);
        trial_start_ = now;
        eta_cache_time_ = never;
        std::fill(pre_g_.begin(), pre_g_.end(), kernel_ ? st_->kernel_init / kernel_scale_ : 0.0);
        for (std::uint32_t t: ltp_) {
            coincident_[t] = 0.0;
        }
        ltp_.clear();
        initial_due_ = false;
        if (kernel_) {
            // The current of every target at the trial start: the kernels of age s_init, sent
            // in the trial's first step.
            const double g = st_->kernel_init;
            if (g != 0.0) {
                initial_.assign(post_x_.size(), 0.0);
                const std::uint32_t* tgt = st_->target.data();
                for (std::size_t i = 0; i < w_.size(); ++i) {
                    initial_[tgt[i]] += w_[i] * g;
                }
                initial_due_ = true;
            }
        }
    }

    std::unique_ptr<plastic_block> clone(const spike_history*,
                                         const modulator_history* modulator) const override {
        auto c = std::make_unique<astro_stdp_block>(*this);
        c->astro_ = modulator;
        return c;
    }

    // Saved between steps (no arrivals pending): the scaled values and, per block, the clock
    // and the scales.
    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns& per_block, state_columns& per_target) const override {
        per_segment.put("x", std::span<const double>(pre_x_));
        per_segment.put("kernel", std::span<const double>(pre_g_));
        per_synapse.put("weight", std::span<const double>(w_));
        const std::int64_t block[3] = {trial_start_, initial_due_ ? 1 : 0, clock_};
        per_block.put("trial_start", std::span<const std::int64_t>(block));
        const double scales[2] = {trace_scale_, kernel_scale_};
        per_block.put("scales", std::span<const double>(scales));
        const std::size_t n = post_x_.size();
        std::vector<double> initial(n, 0.0);
        if (initial_due_) {
            std::copy(initial_.begin(), initial_.end(), initial.begin());
        }
        // The post spikes at the clock's time, whose LTP is still to come.
        std::vector<std::int64_t> due(n, 0);
        for (std::uint32_t t: ltp_) {
            due[t] = 1;
        }
        per_target.put("post_x", std::span<const double>(post_x_));
        per_target.put("initial", std::span<const double>(initial));
        per_target.put("ltp", std::span<const std::int64_t>(due));
    }

    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns& per_block, const state_columns& per_target) override {
        per_segment.get("x", std::span<double>(pre_x_));
        per_segment.get("kernel", std::span<double>(pre_g_));
        per_synapse.get("weight", std::span<double>(w_));
        std::int64_t block[3] = {0, 0, 0};
        per_block.get("trial_start", std::span<std::int64_t>(block));
        trial_start_ = block[0];
        initial_due_ = block[1] != 0;
        clock_ = block[2];
        double scales[2] = {1.0, 1.0};
        per_block.get("scales", std::span<double>(scales));
        trace_scale_ = scales[0];
        kernel_scale_ = scales[1];
        eta_cache_time_ = never;
        const std::size_t n = post_x_.size();
        std::vector<double> initial(n);
        std::vector<std::int64_t> due(n);
        per_target.get("post_x", std::span<double>(post_x_));
        per_target.get("initial", std::span<double>(initial));
        per_target.get("ltp", std::span<std::int64_t>(due));
        initial_ = std::move(initial);
        ltp_.clear();
        arrived_.clear();
        arrived_x_.clear();
        for (std::uint32_t t = 0; t < n; ++t) {
            coincident_[t] = due[t] != 0 ? 1.0 : 0.0;
            if (due[t] != 0) {
                ltp_.push_back(t);
            }
        }
    }

    std::size_t state_bytes() const override {
        return (w_.size() + pre_x_.size() + pre_g_.size() + 3 * post_x_.size()) * sizeof(double);
    }

private:
    static constexpr step_t never = std::numeric_limits<step_t>::min() / 4;

    // The clock moves to the next step: the scales decay (no spikes in between).
    void tick() {
        ++clock_;
        trace_scale_ *= st_->trace_decay;
        if (kernel_) {
            kernel_scale_ *= st_->kernel_decay;
        }
        if (trace_scale_ < smallest_scale || kernel_scale_ < smallest_scale) {
            rebase();
        }
    }
    // Folds the scales into the values: every trace and kernel factor as it is, scales 1.
    void rebase() {
        const auto fold = [](std::vector<double>& v, double f) {
            for (double& x: v) {
                x = decayed(x, f);
            }
        };
        fold(pre_x_, trace_scale_);
        fold(post_x_, trace_scale_);
        fold(pre_g_, kernel_scale_);
        trace_scale_ = 1.0;
        kernel_scale_ = 1.0;
    }
    // From the clock's time to `t` (a state loaded at an earlier step, a trial that starts
    // later): no spikes in between; the spikes at the clock's time lose their LTP.
    void age_to(step_t t) {
        if (clock_ < t) {
            for (std::uint32_t k: ltp_) {
                coincident_[k] = 0.0;
            }
            ltp_.clear();
        }
        while (clock_ < t) {
            tick();
        }
    }

    double eta_at(step_t t) {
        if (t != eta_cache_time_) {
            eta_cache_time_ = t;
            eta_cache_ = eta_decay_ == 1.0
                             ? eta0_
                             : eta0_ * std::pow(eta_decay_, static_cast<double>(t - trial_start_));
        }
        return eta_cache_;
    }
    double level(step_t t, std::uint32_t tgt) const {
        return astro_->level_at(t, st_->region[tgt]);
    }
    // The rate of the term that the postsynaptic spike's pairing gives (pre before post).
    double potentiate_rate(step_t t, std::uint32_t tgt, double eta_t) const {
        if (role_ != inhibitory) {
            return eta_t;
        }
        return mode_ == astro ? -level(t, tgt) : -eta_t;
    }

    // The plastic part of deliver(): LTD for every synapse of the segment, LTP as well where
    // the target spiked at this time, kernel corrections for the next step. The rates are
    // hoisted (per target only with astrocyte regions); the post trace is one load and the
    // coincidence a factor 0 or 1.
    template <bool Kernel, bool Regional>
    void deliver_loop(std::uint32_t b, std::uint32_t e, step_t now, double x_pre, double jump,
                      double* __restrict input) {
        const double eta_n = eta_at(now);
        const double k1 = Kernel ? st_->kernel_decay : 0.0;
        const std::uint32_t* __restrict slot = syn_->slot.data();
        const std::uint32_t* __restrict tgt = st_->target.data();
        const std::uint32_t* region = st_->region.data();
        const bool inh = role_ == inhibitory;
        const bool by_level = mode_ == astro;
        const double a_now = by_level && !Regional ? astro_->level_at(now) : eta_n;
        const double depress0 = inh ? eta_n : -a_now;     // post before pre
        const double potentiate0 = inh ? -a_now : eta_n;  // pre before post
        const double lo = lo_, hi = hi_;
        double* __restrict w = w_.data();
        double* __restrict next = next_;
        const double* __restrict post_x = post_x_.data();
        const double* __restrict coincident = coincident_.data();
        const double pair0 = potentiate0 * x_pre;
        const double f = trace_scale_;  // post_x holds the traces / f
        for (std::uint32_t i = b; i < e; ++i) {
            const std::uint32_t t = tgt[i];
            const std::uint32_t s = slot[i];
            const double old_w = w[i];
            input[s] += old_w * jump;
            double depress = depress0 * f;
            double pair = pair0;
            if constexpr (Regional) {
                const double a_t = by_level ? astro_->level_at(now, region[t]) : eta_n;
                depress = (inh ? eta_n : -a_t) * f;
                pair = (inh ? -a_t : eta_n) * x_pre;
            }
            const double dw = depress * post_x[t] + coincident[t] * pair;
            const double new_w = std::clamp(old_w + dw, lo, hi);
            w[i] = new_w;
            if constexpr (Kernel) {
                next[s] += (new_w - old_w) * k1;
            }
        }
    }

    template <bool Kernel>
    void deliver_plastic(std::uint32_t b, std::uint32_t e, step_t now, double x_pre, double jump,
                         double* input) {
        if (astro_ != nullptr && astro_->n_regions > 1 && mode_ == astro) {
            deliver_loop<Kernel, true>(b, e, now, x_pre, jump, input);
        } else {
            deliver_loop<Kernel, false>(b, e, now, x_pre, jump, input);
        }
    }

    // The LTP of the post spikes at time `tau` (ltp_) over every incoming synapse, with the
    // presynaptic traces at tau and (kernel) the kernel factors at tau + 1 (the clock is at
    // tau: scales trace_scale_ and kernel_scale_ d_u).
    template <bool Kernel>
    void potentiate(step_t tau) {
        const double eta_t = eta_at(tau);
        const auto& st = *st_;
        const std::uint32_t* __restrict in_begin = st.in_begin.data();
        const std::uint32_t* __restrict in_segment = st.in_segment.data();
        const std::uint32_t* __restrict in_synapse = st.in_synapse.data();
        const double* __restrict X = pre_x_.data();
        const double* __restrict G = pre_g_.data();
        const double lo = lo_, hi = hi_;
        double* __restrict w = w_.data();
        const double g_scale = kernel_scale_ * st.kernel_decay;
        for (std::uint32_t t: ltp_) {
            const double l_plus = potentiate_rate(tau, t, eta_t) * trace_scale_;
            double c0 = 0, c1 = 0;  // the kernel correction, in two chains
            const std::uint32_t e0 = in_begin[t];
            const std::uint32_t e1 = in_begin[t + 1];
            std::uint32_t e = e0;
            for (; e + 1 < e1; e += 2) {
                const std::uint32_t k0 = in_segment[e], k1 = in_segment[e + 1];
                const std::uint32_t i0 = in_synapse[e], i1 = in_synapse[e + 1];
                const double w0 = w[i0];
                const double n0 = std::clamp(w0 + l_plus * X[k0], lo, hi);
                w[i0] = n0;
                const double w1 = w[i1];
                const double n1 = std::clamp(w1 + l_plus * X[k1], lo, hi);
                w[i1] = n1;
                if constexpr (Kernel) {
                    c0 += (n0 - w0) * G[k0];
                    c1 += (n1 - w1) * G[k1];
                }
            }
            if (e < e1) {
                const std::uint32_t k = in_segment[e];
                const std::uint32_t i = in_synapse[e];
                const double old_w = w[i];
                const double new_w = std::clamp(old_w + l_plus * X[k], lo, hi);
                w[i] = new_w;
                if constexpr (Kernel) {
                    c0 += (new_w - old_w) * G[k];
                }
            }
            if constexpr (Kernel) {
                next_[st.target_slot[t]] += (c0 + c1) * g_scale;
            }
        }
    }

    std::shared_ptr<const astro_structure> st_;
    const modulator_history* astro_;
    int mode_ = astro, role_ = excitatory;
    double eta0_ = 0, a_ = 0, eta_decay_ = 1;
    double lo_ = 0, hi_ = 0;  // weight bounds of the role [weight unit]
    bool kernel_ = false;
    step_t trial_start_ = 0;
    step_t eta_cache_time_ = never;
    double eta_cache_ = 0;
    // The time the scales below are at: the current step during a step, the next one
    // between steps.
    step_t clock_ = 0;
    double trace_scale_ = 1.0;   // (d^dt)^(clock - last rebase)
    double kernel_scale_ = 1.0;  // (e^(-dt/tau_u))^(clock - last rebase)
    // Per segment: presynaptic trace (arrivals before the clock) / trace_scale_.
    std::vector<double> pre_x_;
    // Per segment: kernel factor e^(-age dt / tau_u) / kernel_scale_ (0: no kernel).
    std::vector<double> pre_g_;
    // Per target: postsynaptic trace (spikes before the clock) / trace_scale_.
    std::vector<double> post_x_;
    // Per target: 1 if it spiked at the clock's time (its LTP is due, in ltp_), else 0.
    std::vector<double> coincident_;
    // This step's arrivals (segments) and their traces before the arrival.
    std::vector<std::uint32_t> arrived_;
    std::vector<double> arrived_x_;
    // The partition's input slots of the next step (set by begin_step for the step).
    double* next_ = nullptr;
    // The kernels a trial starts with, per target, and whether they are still to be sent.
    std::vector<double> initial_;
    bool initial_due_ = false;
    // Targets that spiked at the clock's time: their LTP is applied after the step's
    // deliveries (post_spikes).
    std::vector<std::uint32_t> ltp_;
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
    if (!(p.scalar(tau_u) >= 0)) {
        throw error(fmt::format("tau_u must be >= 0 ms (0: no kernel), got {}", p.scalar(tau_u)));
    }
    if (!(p.scalar(s_init) >= 0)) {
        throw error(fmt::format("s_init must be >= 0 ms, got {}", p.scalar(s_init)));
    }
}

bool ignores_modulator(const value_table& p) {
    return static_cast<int>(p.scalar(mode)) != astro;
}

std::unique_ptr<plastic_block> make(plastic_block_args args) {
    const auto& p = args.params;
    const int m = static_cast<int>(p.scalar(mode));
    if (m == astro && (args.modulator == nullptr || args.modulator->level.empty())) {
        throw error("astro_stdp (mode astro) needs a modulator of type nalsm_astrocyte "
                    "(projection key 'modulator')");
    }
    const auto r = static_cast<int>(p.scalar(role));
    const double wm = p.scalar(w_max);
    const double lo = r == excitatory ? 0.0 : -wm;
    const double hi = r == inhibitory ? 0.0 : wm;
    static constexpr const char* names[] = {"excitatory", "inhibitory", "input"};
    for (double w0: args.synapses->weight) {
        if (!(w0 >= lo && w0 <= hi)) {
            throw error(fmt::format("initial weight {} is outside the bounds of role {}: "
                                    "[{}, {}] (w_max = {})",
                                    w0, names[r], lo, hi, wm));
        }
    }
    // The structure the copies share: targets, the index by target, power tables.
    auto st = std::make_shared<astro_structure>();
    const auto& syn = *args.synapses;
    const slot_map& tm = args.targets;
    std::uint32_t n_tgt = 0;
    st->target.resize(syn.slot.size());
    for (std::size_t i = 0; i < syn.slot.size(); ++i) {
        st->target[i] = static_cast<std::uint32_t>((syn.slot[i] - tm.input_offset) / tm.n_ports);
        n_tgt = std::max(n_tgt, st->target[i] + 1);
    }
    st->neuron_offset = tm.neuron_offset;
    st->target_slot.assign(n_tgt, 0);
    st->region.assign(n_tgt, 0);
    st->in_begin.assign(std::size_t{n_tgt} + 1, 0);
    for (std::uint32_t t: st->target) {
        ++st->in_begin[t + 1];
    }
    for (std::uint32_t t = 0; t < n_tgt; ++t) {
        st->in_begin[t + 1] += st->in_begin[t];
    }
    st->in_synapse.resize(syn.slot.size());
    st->in_segment.resize(syn.slot.size());
    std::vector<std::uint32_t> fill(st->in_begin.begin(), st->in_begin.end() - 1);
    for (std::uint32_t k = 0; k + 1 < syn.segment_begin.size(); ++k) {
        for (std::uint32_t i = syn.segment_begin[k]; i < syn.segment_begin[k + 1]; ++i) {
            const std::uint32_t t = st->target[i];
            if (fill[t] > st->in_begin[t] && st->target_slot[t] != syn.slot[i] && m != frozen &&
                p.scalar(tau_u) > 0) {
                throw error("with a synaptic kernel (tau_u > 0) every synapse of a projection "
                            "must reach its target through one port (set receptor:)");
            }
            st->target_slot[t] = syn.slot[i];
            st->in_synapse[fill[t]] = i;
            st->in_segment[fill[t]] = k;
            ++fill[t];
            if (args.modulator != nullptr) {
                st->region[t] = args.modulator->region(syn.target_gid[i]);
            }
        }
    }
    st->trace_decay = std::pow(p.scalar(d), args.dt);
    if (p.scalar(tau_u) > 0) {
        // The kernel at age s_init as the per-step decays reach it: s_init repeated factors.
        st->kernel_decay = std::exp(-args.dt / p.scalar(tau_u));
        const auto s_init_steps = std::llround(p.scalar(s_init) / args.dt);
        double g = 1.0;
        for (long long k = 0; k < s_init_steps && g != 0.0; ++k) {
            g = decayed(g, st->kernel_decay);
        }
        st->kernel_init = g;
    }
    return std::make_unique<astro_stdp_block>(std::move(args), std::move(st));
}

}  // namespace

synapse_model astro_stdp_model() {
    model_info info;
    info.name = "astro_stdp";
    info.aliases = {"nalsm_stdp"};
    info.doc = "NALSM astrocyte-modulated STDP and synaptic kernel: LTP eta, LTD A(t) from a "
               "nalsm_astrocyte";
    info.needs_modulator = true;
    info.params = {
        {"mode", dimension::none, 0.0,
         "astro: LTD rate A(t) (NALSM); symmetric: A replaced by eta (LSM+STDP); frozen: no "
         "weight change (static LSM with NALSM's kernel)",
         value_range::any, false, {"astro", "symmetric", "frozen"}},
        {"role", dimension::none, 0.0,
         "presynaptic group: excitatory and input (LTP eta, LTD A) or inhibitory (swapped)",
         value_range::any, false, {"excitatory", "inhibitory", "input"}},
        {"eta", dimension::none, 0.15, "LTP rate at a trial's first step (per unit trace)",
         value_range::any, false, {}, true},
        {"a", dimension::none, 0.1, "trace increment per spike", value_range::non_negative},
        {"d", dimension::none, 0.904774, "trace decay factor per ms, in (0, 1)",
         value_range::unit_interval},
        {"w_max", dimension::none, 3.0,
         "weight bound: excitatory [0, w_max], inhibitory [-w_max, 0], input [-w_max, w_max]",
         value_range::positive, false, {}, true},
        {"eta_decay", dimension::none, 1.0, "factor on eta per step, in (0, 1]",
         value_range::unit_interval},
        {"tau_u", dimension::time, 0.0,
         "synaptic kernel time constant (NALSM's tau_u); 0: no kernel. Follows a nalsm_lif "
         "target's tau_u when not given",
         value_range::non_negative, false, {}, false, true},
        {"s_init", dimension::time, 20.0,
         "age of every kernel at a trial start (NALSM's t_lim)", value_range::non_negative},
    };
    synapse_model m{std::move(info), validate, make};
    m.reads = modulator_output::level;
    m.ignores_modulator = ignores_modulator;
    return m;
}

}  // namespace glia::models
