#pragma once
// A literal implementation of NALSM's per-step loop (science-spec §1.2, §1.4-§1.6;
// NALSM_LIF.py, NALSM_STDP.py, NALSM_ASTRO.py), kept as a test oracle: every neuron and every
// synapse is visited every step, in the paper's order, with no event-driven shortcut. The
// engine's nalsm_lif + astro_stdp + nalsm_astrocyte must reproduce it step by step
// (tests/validation/test_nalsm_engine.cpp).
//
// One step t:
//   1. S_i = V_i >= V_th and ref_i <= 0          2. V_i <- V_i (1 - S_i)   (reset to 0)
//   4. s_ij <- 0 where S_j                        5. V_i <- V_i + sum_j w_ij e^(-s_ij/tau_u)/tau_u
//                                                       + I_ext,i + b - V_i / tau_v
//   6. s_ij <- min(s_ij + 1, 100)                 7. ref_i <- (ref_i - 1)(1 - S_i) + t_ref S_i
//   8. w_ij += L+(j) x_j S_i + L-(j) x_i S_j, clipped to the bounds of j's group
//   9. x_i <- d (x_i + a S_i)                    10. A <- A + (w_A (sum_liquid S - sum_input S)
//                                                       + b_A - A) / tau_A
//  11. eta, A, w_A, b_A <- decay x (phase B)
// A sample starts with V, S, ref = 0, s = s_init, A = A0, w_A, b_A, eta at their initial values;
// traces are kept (phase A) or reset (phase B, as glia resets them).

#include <cstdint>
#include <span>
#include <vector>

namespace glia::oracle {

enum class group : std::uint8_t { excitatory, inhibitory, input };
enum class rule : std::uint8_t { astro, symmetric, frozen };

struct synapse {
    std::uint32_t pre = 0, post = 0;
    double w = 0;
    group pre_group = group::excitatory;
};

struct params {
    double tau_v = 64, v_th = 20, tau_u = 1, i_ext = 100, bias = 0;
    int t_ref = 2;     // steps
    int s_init = 20;   // steps
    rule plasticity = rule::astro;
    double eta = 0.15, a = 0.1, d = 0.904774, w_max = 3;
    double tau_a = 100, w_a = 0.015, b_a = 0.15, a0 = 0.15;
    double decay = 1.0;  // per step on eta, A, w_A, b_A
};

class nalsm_oracle {
public:
    // n neurons (ids 0 .. n - 1); astro_sign[i]: +1 the astrocyte counts i's spikes, -1 it
    // subtracts them, 0 it ignores them.
    nalsm_oracle(std::uint32_t n, std::vector<synapse> synapses, std::vector<int> astro_sign,
                 const params& p);

    void begin_sample(bool reset_traces);
    // One step; `ext` lists the neurons that receive I_ext in it.
    void step(std::span<const std::uint32_t> ext);

    // After step t: the spikes registered in it (S(t)), V(t + 1), the weights after its STDP,
    // A(t + 1).
    const std::vector<std::uint32_t>& spikes() const { return spiked_; }
    double v(std::uint32_t i) const { return v_[i]; }
    double weight(std::size_t k) const { return syn_[k].w; }
    const std::vector<synapse>& synapses() const { return syn_; }
    double astrocyte() const { return a_; }
    void set_weights(std::span<const double> w);

private:
    std::uint32_t n_;
    std::vector<synapse> syn_;
    std::vector<int> sign_;
    params p_;
    std::vector<double> v_, ref_, x_, s_;
    std::vector<int> spk_;
    std::vector<std::uint32_t> spiked_;
    double eta_ = 0, a_ = 0, w_a_ = 0, b_a_ = 0;
};

}  // namespace glia::oracle
