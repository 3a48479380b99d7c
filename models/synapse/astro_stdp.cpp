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

// Values below this are taken as 0: trace and kernel powers (d^k, e^(-k dt / tau_u)) are
// tabulated until they fall under it. A spike's trace then contributes < 1e-30 of itself.
constexpr double negligible = 1e-30;

std::vector<double> power_table(double per_step) {
    std::vector<double> t{1.0};
    while (t.back() >= negligible && t.size() < (std::size_t{1} << 20)) {
        t.push_back(t.back() * per_step);
    }
    t.back() = 0.0;  // the first negligible power and beyond: 0
    return t;
}

// What the copies of a block share: the synapses and the index by target built from them.
struct astro_structure {
    std::vector<std::uint32_t> target;   // per synapse: block-local target index
    std::vector<std::uint32_t> in_begin;  // per target + 1: its incoming synapses ...
    std::vector<std::uint32_t> in_synapse;  // ... by synapse index (ascending source)
    std::vector<std::uint32_t> in_segment;  // ... and their segments
    std::vector<std::uint32_t> target_slot;  // per target: the input slot its synapses write
    std::vector<std::uint32_t> region;      // per target: the astrocyte region of its neuron
    std::vector<double> trace_pow;   // d^(k dt), k steps
    std::vector<double> kernel_pow;  // e^(-k dt / tau_u); empty without a kernel
    std::size_t neuron_offset = 0;   // partition index of the target block's first neuron
};

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
//   x(t) = sum over spikes at times s < t of a d^((t - s) dt);  eta(t) = eta eta_decay^(t - t0)
//   A(t): the modulator's level at time t in the target's region; t0: the trial's first step.
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
// at time n: both terms, then one clip); after
// the neurons advanced, post_spikes(n) applies the LTP of the target spikes at time n (pairs
// whose presynaptic spike also arrived at n were done at the delivery) and records the spikes
// at time n + 1 for the next step.
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
        kernel_ = !st_->kernel_pow.empty();
        s_init_ = static_cast<step_t>(std::llround(p.scalar(s_init) / args.dt));
        seg_.assign(syn_->segment_delay.size(), segment_state{});
        tgt_.assign(st_->target_slot.size(), target_state{});
        begin_trial(0);
    }

    bool eager() const override { return true; }
    bool needs_post_history() const override { return false; }
    step_t history_horizon() const override { return 0; }
    // Nothing is deferred beyond the next step: sweeps only serve readers of the weights.
    step_t sweep_interval() const override { return std::numeric_limits<std::int32_t>::max(); }

    void sweep(step_t now) override {
        if (!ltp_.empty() && ltp_time_ < now) {
            potentiate_pending(now);
        }
    }

    void begin_step(step_t now, std::span<double> input, std::span<double> next) override {
        next_ = next.data();
        sweep(now);
        if (initial_due_ && now == trial_start_) {
            // The kernels of age s_init that a trial starts with (begin_trial).
            const std::uint32_t* slot = st_->target_slot.data();
            for (std::size_t t = 0; t < initial_.size(); ++t) {
                input[slot[t]] += initial_[t];
            }
        }
        initial_due_ = false;
    }

    // Called after every step: the LTP of the spikes at time `now` (emitted in step now - 1),
    // whose deliveries are done, then the spikes at time now + 1 wait for theirs.
    void post_spikes(step_t now, std::span<const std::uint32_t> neurons) override {
        sweep(now + 1);
        const auto first = static_cast<std::uint32_t>(st_->neuron_offset);
        const auto n_tgt = static_cast<std::uint32_t>(tgt_.size());
        for (auto it = std::lower_bound(neurons.begin(), neurons.end(), first);
             it != neurons.end() && *it - first < n_tgt; ++it) {
            const std::uint32_t t = *it - first;
            tgt_[t].post_time = now + 1;
            if (mode_ != frozen) {
                ltp_.push_back(t);
            }
        }
        ltp_time_ = now + 1;
    }

    std::size_t deliver(std::uint32_t k, step_t now, std::span<double> input) override {
        const std::uint32_t b = syn_->segment_begin[k];
        const std::uint32_t e = syn_->segment_begin[k + 1];
        segment_state& sg = seg_[k];
        const double x_pre = pre_trace(sg, now);
        const double keep = kernel_ ? kernel_at(now - sg.arrival) : 0.0;
        const double jump = 1.0 - keep;  // the share of the weight the arrival adds
        if (mode_ == frozen) {
            const std::uint32_t* slot = syn_->slot.data();
            const double* w = w_.data();
            for (std::uint32_t i = b; i < e; ++i) {
                input[slot[i]] += w[i] * jump;
            }
        } else if (kernel_) {
            deliver_plastic<true>(b, e, now, x_pre, jump, input.data());
        } else {
            deliver_plastic<false>(b, e, now, x_pre, jump, input.data());
        }
        sg.y = x_pre + a_;
        sg.last = now;
        sg.arrival = now;
        return e - b;
    }

    void begin_trial(step_t now) override {
        trial_start_ = now;
        eta_cache_time_ = never;
        for (auto& sg: seg_) {
            sg.arrival = now - s_init_;
        }
        for (auto& ts: tgt_) {
            ts.post_time = never;
        }
        ltp_.clear();
        initial_due_ = false;
        if (kernel_) {
            // The current of every target at the trial start: the kernels of age s_init, sent
            // in the trial's first step.
            const double g = kernel_at(s_init_);
            if (g != 0.0) {
                initial_.assign(tgt_.size(), 0.0);
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

    void save_state(state_columns& per_segment, state_columns& per_synapse,
                    state_columns& per_block, state_columns& per_target) const override {
        std::vector<double> y(seg_.size());
        std::vector<std::int64_t> last(seg_.size()), arrival(seg_.size());
        for (std::size_t k = 0; k < seg_.size(); ++k) {
            y[k] = seg_[k].y;
            last[k] = seg_[k].last;
            arrival[k] = seg_[k].arrival;
        }
        per_segment.put("y", std::span<const double>(y));
        per_segment.put("last", std::span<const std::int64_t>(last));
        per_segment.put("arrival", std::span<const std::int64_t>(arrival));
        per_synapse.put("weight", std::span<const double>(w_));
        const std::int64_t block[2] = {trial_start_, initial_due_ ? 1 : 0};
        per_block.put("trial_start", std::span<const std::int64_t>(block));
        const std::size_t n = tgt_.size();
        std::vector<double> post_y(n), initial(n, 0.0);
        std::vector<std::int64_t> post_last(n), post_time(n), due(n, never);
        for (std::size_t t = 0; t < n; ++t) {
            post_y[t] = tgt_[t].post_y;
            post_last[t] = tgt_[t].post_last;
            post_time[t] = tgt_[t].post_time;
            if (initial_due_) {
                initial[t] = initial_[t];
            }
        }
        // The post spikes whose LTP is still to come (those at the latest time).
        for (std::uint32_t t: ltp_) {
            due[t] = ltp_time_;
        }
        per_target.put("post_y", std::span<const double>(post_y));
        per_target.put("post_last", std::span<const std::int64_t>(post_last));
        per_target.put("post_time", std::span<const std::int64_t>(post_time));
        per_target.put("initial", std::span<const double>(initial));
        per_target.put("ltp", std::span<const std::int64_t>(due));
    }

    void load_state(const state_columns& per_segment, const state_columns& per_synapse,
                    const state_columns& per_block, const state_columns& per_target) override {
        std::vector<double> y(seg_.size());
        std::vector<std::int64_t> last(seg_.size()), arrival(seg_.size());
        per_segment.get("y", std::span<double>(y));
        per_segment.get("last", std::span<std::int64_t>(last));
        per_segment.get("arrival", std::span<std::int64_t>(arrival));
        for (std::size_t k = 0; k < seg_.size(); ++k) {
            seg_[k] = segment_state{y[k], last[k], arrival[k]};
        }
        per_synapse.get("weight", std::span<double>(w_));
        std::int64_t block[2] = {0, 0};
        per_block.get("trial_start", std::span<std::int64_t>(block));
        trial_start_ = block[0];
        initial_due_ = block[1] != 0;
        eta_cache_time_ = never;
        const std::size_t n = tgt_.size();
        std::vector<double> post_y(n), initial(n);
        std::vector<std::int64_t> post_last(n), post_time(n), due(n);
        per_target.get("post_y", std::span<double>(post_y));
        per_target.get("post_last", std::span<std::int64_t>(post_last));
        per_target.get("post_time", std::span<std::int64_t>(post_time));
        per_target.get("initial", std::span<double>(initial));
        per_target.get("ltp", std::span<std::int64_t>(due));
        ltp_.clear();
        initial_ = std::move(initial);
        for (std::uint32_t t = 0; t < n; ++t) {
            auto& ts = tgt_[t];
            ts.post_y = post_y[t];
            ts.post_last = post_last[t];
            ts.post_time = post_time[t];
            if (due[t] != never) {
                ltp_.push_back(t);
                ltp_time_ = due[t];
            }
        }
    }

    std::size_t state_bytes() const override {
        return w_.size() * sizeof(double) + seg_.size() * sizeof(segment_state) +
               tgt_.size() * (sizeof(target_state) + sizeof(double));
    }

private:
    static constexpr step_t never = std::numeric_limits<step_t>::min() / 4;

    // Powers by age in steps (>= 0); the tables end with 0, which every older age reads.
    double trace_at(step_t age) const {
        const auto& tp = st_->trace_pow;
        return tp[static_cast<std::size_t>(std::min<step_t>(age, static_cast<step_t>(tp.size()) - 1))];
    }
    double kernel_at(step_t age) const {
        const auto& kp = st_->kernel_pow;
        return kp[static_cast<std::size_t>(std::min<step_t>(age, static_cast<step_t>(kp.size()) - 1))];
    }
    // Per segment (one presynaptic train, one delay): the presynaptic trace just after the
    // last arrival (y) and its time; the kernel's last arrival (reset by a trial start, unlike
    // the trace).
    struct segment_state {
        double y = 0;
        step_t last = never;
        step_t arrival = never;
    };
    // Per target: its trace as for segments and the time of its latest spike.
    struct target_state {
        double post_y = 0;
        step_t post_last = never;
        step_t post_time = never;
    };

    // x_j at time t (arrivals before t); 0 before the first (the age is then beyond the table).
    double pre_trace(const segment_state& s, step_t t) const { return s.y * trace_at(t - s.last); }
    double post_trace(const target_state& s, step_t t) const {
        return s.post_y * trace_at(t - s.post_last);
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
    // ... and the presynaptic spike's (post before pre).
    double ltd_rate(step_t t, std::uint32_t tgt, double eta_t) const {
        if (role_ == inhibitory) {
            return eta_t;
        }
        return mode_ == astro ? -level(t, tgt) : -eta_t;
    }

    // The plastic part of deliver(): LTD for every synapse of the segment, LTP as well where
    // the target spiked at this time, kernel corrections for the next step. Written for speed:
    // the rates are hoisted (per target only with astrocyte regions), the trace table is read
    // with a clamped age (its last entry is 0), the coincidence test is a select.
    template <bool Kernel, bool Regional>
    void deliver_loop(std::uint32_t b, std::uint32_t e, step_t now, double x_pre, double jump,
                      double* input) {
        const double eta_n = eta_at(now);
        const double k1 = Kernel ? st_->kernel_pow[1] : 0.0;
        const std::uint32_t* slot = syn_->slot.data();
        const std::uint32_t* tgt = st_->target.data();
        const std::uint32_t* region = st_->region.data();
        const double* tp = st_->trace_pow.data();
        const step_t cap = static_cast<step_t>(st_->trace_pow.size()) - 1;
        const bool inh = role_ == inhibitory;
        const bool by_level = mode_ == astro;
        const double a_now = by_level && !Regional ? astro_->level_at(now) : eta_n;
        const double depress0 = inh ? eta_n : -a_now;     // post before pre
        const double potentiate0 = inh ? -a_now : eta_n;  // pre before post
        const double lo = lo_, hi = hi_;
        double* w = w_.data();
        double* next = next_;
        target_state* T = tgt_.data();
        for (std::uint32_t i = b; i < e; ++i) {
            const std::uint32_t t = tgt[i];
            target_state& ts = T[t];
            const double old_w = w[i];
            input[slot[i]] += old_w * jump;
            double depress = depress0;
            double potentiate = potentiate0;
            if constexpr (Regional) {
                const double a_t = by_level ? astro_->level_at(now, region[t]) : eta_n;
                depress = inh ? eta_n : -a_t;
                potentiate = inh ? -a_t : eta_n;
            }
            const step_t age = std::min(now - ts.post_last, cap);
            double dw = depress * (ts.post_y * tp[age]);
            dw += ts.post_time == now ? potentiate * x_pre : 0.0;
            const double new_w = std::clamp(old_w + dw, lo, hi);
            w[i] = new_w;
            if constexpr (Kernel) {
                next[slot[i]] += (new_w - old_w) * k1;
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

    // The LTP of the post spikes at time ltp_time_ (< now), then the post traces take them in.
    void potentiate_pending(step_t now) {
        if (kernel_) {
            potentiate_loop<true>(now);
        } else {
            potentiate_loop<false>(now);
        }
        ltp_.clear();
    }

    template <bool Kernel>
    void potentiate_loop(step_t now) {
        const step_t tau = ltp_time_;
        const double eta_t = eta_at(tau);
        const auto& st = *st_;
        const std::uint32_t* in_begin = st.in_begin.data();
        const std::uint32_t* in_segment = st.in_segment.data();
        const std::uint32_t* in_synapse = st.in_synapse.data();
        const double* tp = st.trace_pow.data();
        const step_t cap = static_cast<step_t>(st.trace_pow.size()) - 1;
        const double* kp = Kernel ? st.kernel_pow.data() : nullptr;
        const step_t kcap = Kernel ? static_cast<step_t>(st.kernel_pow.size()) - 1 : 0;
        const segment_state* S = seg_.data();
        const double lo = lo_, hi = hi_;
        double* w = w_.data();
        // When the batch touches more synapses than the block has segments, the presynaptic
        // trace at tau (0 for a spike that arrived at tau too: both terms were applied at its
        // delivery) and the kernel now are tabulated per segment first.
        std::size_t edges = 0;
        for (std::uint32_t t: ltp_) {
            edges += in_begin[t + 1] - in_begin[t];
        }
        const bool tabulate = edges > seg_.size();
        if (tabulate) {
            seg_x_.resize(seg_.size());
            seg_g_.resize(seg_.size());
            for (std::size_t k = 0; k < seg_.size(); ++k) {
                const segment_state& sg = S[k];
                seg_x_[k] = sg.last == tau ? 0.0 : sg.y * tp[std::min(tau - sg.last, cap)];
                if constexpr (Kernel) {
                    seg_g_[k] = kp[std::min(now - sg.arrival, kcap)];
                }
            }
        }
        const double* X = seg_x_.data();
        const double* G = seg_g_.data();
        for (std::uint32_t t: ltp_) {
            const double l_plus = potentiate_rate(tau, t, eta_t);
            double c0 = 0, c1 = 0;  // the kernel correction, in two chains
            const std::uint32_t e0 = in_begin[t];
            const std::uint32_t e1 = in_begin[t + 1];
            if (tabulate) {
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
            } else {
                for (std::uint32_t e = e0; e < e1; ++e) {
                    const segment_state& sg = S[in_segment[e]];
                    const double x =
                        sg.last == tau ? 0.0 : sg.y * tp[std::min(tau - sg.last, cap)];
                    const std::uint32_t i = in_synapse[e];
                    const double old_w = w[i];
                    const double new_w = std::clamp(old_w + l_plus * x, lo, hi);
                    w[i] = new_w;
                    if constexpr (Kernel) {
                        c0 += (new_w - old_w) * kp[std::min(now - sg.arrival, kcap)];
                    }
                }
            }
            if constexpr (Kernel) {
                next_[st.target_slot[t]] += c0 + c1;
            }
            target_state& ts = tgt_[t];
            ts.post_y = post_trace(ts, tau) + a_;
            ts.post_last = tau;
        }
    }

    std::shared_ptr<const astro_structure> st_;
    const modulator_history* astro_;
    int mode_ = astro, role_ = excitatory;
    double eta0_ = 0, a_ = 0, eta_decay_ = 1;
    double lo_ = 0, hi_ = 0;  // weight bounds of the role [weight unit]
    bool kernel_ = false;
    step_t s_init_ = 0;       // kernel age at a trial start [steps]
    step_t trial_start_ = 0;
    step_t eta_cache_time_ = never;
    double eta_cache_ = 0;
    std::vector<segment_state> seg_;
    std::vector<target_state> tgt_;
    std::vector<double> seg_x_, seg_g_;  // scratch of potentiate_loop: per segment
    // The partition's input slots of the next step (set by begin_step for the step).
    double* next_ = nullptr;
    // The kernels a trial starts with, per target, and whether they are still to be sent.
    std::vector<double> initial_;
    bool initial_due_ = false;
    // Targets whose spike at time ltp_time_ still owes its LTP.
    std::vector<std::uint32_t> ltp_;
    step_t ltp_time_ = never;
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
    st->trace_pow = power_table(std::pow(p.scalar(d), args.dt));
    if (p.scalar(tau_u) > 0) {
        st->kernel_pow = power_table(std::exp(-args.dt / p.scalar(tau_u)));
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
