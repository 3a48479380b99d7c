#pragma once
// NALSM reference mode (science-spec §1; docs/reservoir.md): the neuron-astrocyte liquid state
// machine of Ivanov & Michmizos 2021, exactly as its code runs it, so that its accuracies can be
// reproduced and then varied.
//
//   liquid      a 3-D lattice of N = d1 d2 d3 LIF neurons (80 % excitatory, first), lattice points
//               randomly permuted over the neurons; j -> i with probability
//               C_type exp(-(D_ij / lambda)^2); every input neuron k -> liquid i among exactly
//               int(density N n_input) pairs drawn without replacement; |w| = w_abs, input signs
//               random.
//   neuron      discrete LIF at 1 ms: V <- V (1 - S) + sum_j w_ij exp(-s_ij / tau_u) / tau_u
//               + I_ext - V / tau_v, spike when V >= V_th and the refractory counter is <= 0;
//               s_ij = ms since the last spike of j (t_lim = 20 at sample start).
//   STDP        dw_ij = L+(j) x_j S_i + L-(j) x_i S_j; E and input pre: L+ = eta, L- = -A;
//               I pre: L+ = -A, L- = eta; bounds E [0, w_max], I [-w_max, 0], input
//               [-w_max, w_max]; traces x <- d (x + a S), read before this step's update.
//   astrocyte   A <- A + (w_A (liquid spikes - input spikes) + b_A - A) / tau_A, one global
//               astrocyte (NALSM), or one per block of the lattice (a glia extension, below).
//
// The per-step order is the paper's (science-spec §1.2): register spikes, reset, count,
// propagate, integrate, evolve s, refractory, STDP, traces, astrocyte, decays. The simulation
// is event-driven where that is exact and cheaper:
//   - the synaptic current of neuron i is kept as one sum I_i = sum_j w_ij e^{-s_ij/tau_u}/tau_u:
//     it decays by e^{-1/tau_u} per step, a spike of j adds w_ij (1 - e^{-s_j/tau_u}) / tau_u
//     (s_ij <- 0) and a weight change adds dw e^{-s_j/tau_u} / tau_u. Deviation, stated: NALSM
//     clips s at 100, which freezes a term at w e^{-100}; here it keeps decaying (< 1e-40).
//   - input neurons get I_ext = 100 > V_th with probability p_k per ms; they receive no
//     synapses, so an input neuron spikes at the first step after an event at which it is not
//     refractory (V decays from >= 100 for 2 ms at most: it never falls below V_th first).
//     Events are drawn as geometric gaps per pixel, not as a Bernoulli per pixel and ms.
//
// Determinism: a sample's input events are a pure function of (seed, phase, image index); a
// sample's simulation is sequential. Features do not depend on the thread count.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "reservoir/branching.hpp"

namespace glia::reservoir::nalsm {

// Which group a presynaptic neuron belongs to; it sets the STDP roles and the weight bounds.
enum class group : std::uint8_t { excitatory, inhibitory, input };

struct liquid_params {
    std::array<std::uint32_t, 3> grid = {10, 10, 10};  // lattice d1 x d2 x d3 = N
    double excitatory_fraction = 0.8;                  // N_E = round(f N), excitatory neurons first
    double lambda = 3.0;                               // connection length, lattice units
    double c_ee = 0.2;                                 // E -> E
    double c_ei = 0.1;                                 // E -> I
    double c_ie = 0.3;                                 // I -> E
    double c_ii = 0.05;                                // I -> I
    std::uint32_t n_input = 784;                       // input neurons (pixels)
    double input_density = 0.15;  // input -> liquid synapses = int(density N n_input)
    double w_abs = 3.0;           // |w| of every synapse before plasticity
};

// The built network. Neurons: liquid 0..n_liquid() - 1 (excitatory first), then the inputs.
// Synapses are stored by presynaptic neuron (CSR); in_* index the same synapses by their
// postsynaptic (liquid) neuron, for the post-spike half of STDP.
struct liquid {
    std::uint32_t n_exc = 0;
    std::uint32_t n_inh = 0;
    std::uint32_t n_input = 0;
    std::array<std::uint32_t, 3> grid = {0, 0, 0};
    std::vector<std::array<std::uint16_t, 3>> position;  // lattice point of each liquid neuron

    std::vector<std::uint32_t> out_offset;  // n_total() + 1
    std::vector<std::uint32_t> post;        // per synapse, ascending within a presynaptic row
    std::vector<float> weight;              // per synapse: the weights before any plasticity
    std::vector<std::uint32_t> in_offset;   // n_liquid() + 1
    std::vector<std::uint32_t> in_synapse;  // synapse ids, ascending presynaptic neuron
    std::vector<std::uint32_t> in_pre;      // the presynaptic neuron of in_synapse[...]

    std::uint32_t n_liquid() const { return n_exc + n_inh; }
    std::uint32_t n_total() const { return n_liquid() + n_input; }
    std::size_t n_synapses() const { return post.size(); }
    std::size_t n_liquid_synapses() const { return out_offset[n_liquid()]; }
    group group_of(std::uint32_t neuron) const {
        return neuron < n_exc ? group::excitatory
                              : (neuron < n_liquid() ? group::inhibitory : group::input);
    }
};

// Throws glia::error for an empty grid, a probability outside [0, 1], lambda <= 0, w_abs < 0.
liquid build_liquid(const liquid_params& params, std::uint64_t seed);

struct neuron_params {
    double tau_v = 64;  // ms (leak: V / tau_v per 1 ms step)
    double v_th = 20;
    double tau_u = 1;    // ms, synaptic kernel
    int t_ref = 2;       // steps blocked after a spike
    double i_ext = 100;  // input drive of one event (must exceed v_th)
    int s_init = 20;     // s_ij at sample start (t_lim)
};

enum class plasticity { none, stdp, astro_stdp };  // static LSM, LSM+STDP (A = eta), NALSM

struct stdp_params {
    double eta = 0.15;    // LTP rate (and A(0), b_A unless given)
    double a = 0.1;       // trace increment
    double d = 0.904774;  // trace decay per step
    double w_max = 3.0;   // bounds: E [0, w_max], I [-w_max, 0], input [-w_max, w_max]
};

struct astrocyte_params {
    double tau_a = 100;  // ms
    double w_a = 0.015;  // weight of (liquid - input) spikes
    double b_a = 0.15;   // bias
    double a0 = 0.15;    // A at sample start
    double rho = 1.0;    // fraction of each group (liquid, input) the astrocytes read
    // Astrocytes per lattice axis. {1, 1, 1}: NALSM's single global astrocyte. Otherwise each
    // owns a block of the lattice, reads the masked liquid neurons in it and 1 / n_regions of
    // every masked input spike, and sets A for the synapses onto its neurons.
    std::array<std::uint32_t, 3> regions = {1, 1, 1};
};

struct model_params {
    neuron_params neuron;
    plasticity rule = plasticity::astro_stdp;
    stdp_params stdp;
    astrocyte_params astrocyte;
};

// Astrocyte wiring derived from a liquid: region of each liquid neuron and the masks.
struct astrocyte_layout {
    std::uint32_t n_regions = 1;
    std::vector<std::uint32_t> region;  // per liquid neuron
    std::vector<std::uint8_t> reads;    // per neuron (liquid and input): 1 if read
};
astrocyte_layout make_astrocyte_layout(const liquid& net, const astrocyte_params& params,
                                       std::uint64_t seed);

// What to record from one sample besides the spike counts.
struct sample_record {
    std::size_t bins = 0;          // > 0: counts per liquid neuron in `bins` equal windows
    bool final_v = false;          // membrane potential of each liquid neuron at the end
    bool raster = false;           // every liquid spike (step, neuron), in that order
    bool astrocyte_trace = false;  // A of every region after every step
};

struct sample_output {
    std::vector<float> counts;   // n_liquid
    std::vector<float> binned;   // bins x n_liquid (bin-major)
    std::vector<float> final_v;  // n_liquid
    std::vector<std::uint32_t> raster_step, raster_neuron;
    std::vector<float> astrocyte;  // steps x n_regions
    std::uint64_t liquid_spikes = 0;
    std::uint64_t input_spikes = 0;
    double final_a = 0;  // mean A over regions at the end
};

// The input events of one sample: pixel[offset[t]..offset[t + 1]) received I_ext at step t
// (ascending pixels within a step).
struct input_events {
    std::vector<std::uint32_t> offset;  // steps + 1
    std::vector<std::uint32_t> pixel;
};

// Events with probability p[k] per step for pixel k, independent across pixels and steps, drawn
// as geometric gaps from the stream (seed, stream::reservoir, entity 16 + phase_tag,
// sub sample_key). `scratch` is reused between calls.
void draw_input_events(std::span<const float> p, std::size_t steps, std::uint64_t seed,
                       std::uint32_t phase_tag, std::uint64_t sample_key, input_events& out,
                       std::vector<std::pair<std::uint32_t, std::uint32_t>>& scratch);

// One simulated copy of the network. Holds all per-sample state so a thread reuses one.
class worker {
public:
    worker(const liquid& net, const model_params& params, const astrocyte_layout& layout);

    // Runs `steps` steps of one sample. `weights` (net.n_synapses()) are read and, with
    // plasticity, changed in place. `p` holds n_input event probabilities per ms, each in
    // [0, 1]. `decay` multiplies eta, A, w_A and b_A after every step (1: none). Traces
    // persist across calls unless reset_traces(); everything else starts from the sample
    // reset (V = 0, not refractory, s = s_init, A = a0, parameters at their initial values).
    // The input events are drawn from (seed, phase_tag, sample_key).
    void run(std::span<float> weights, std::span<const float> p, std::size_t steps, double decay,
             std::uint64_t seed, std::uint32_t phase_tag, std::uint64_t sample_key,
             const sample_record& record, sample_output& out);

    // The same with given input events (events.offset.size() == steps + 1).
    void run_events(std::span<float> weights, const input_events& events, std::size_t steps,
                    double decay, const sample_record& record, sample_output& out);

    // Samples that all start from the same weights (phase B) share the synaptic current at the
    // sample reset, sum_j w_ij e^{-s_init / tau_u} / tau_u: given here (initial_current() of
    // those weights), run() does not recompute it from every synapse. Empty: recompute.
    void share_initial_current(std::span<const double> current) { shared_current_ = current; }

    void reset_traces();
    std::span<const float> traces() const { return x_; }

private:
    const liquid& net_;
    model_params params_;
    const astrocyte_layout& layout_;

    // Per neuron (liquid, then input where it applies).
    std::vector<double> v_;                 // liquid
    std::vector<int> ref_;                  // liquid
    std::vector<double> current_;           // liquid: I_i
    std::vector<float> x_;                  // all: STDP traces
    std::vector<std::int32_t> since_;       // all: s_j, steps since the last spike (capped)
    std::vector<std::uint8_t> spiked_;      // all: S this step
    std::vector<std::uint8_t> pending_;     // input: an event not yet turned into a spike
    std::vector<std::int64_t> input_last_;  // input: step of the last spike
    std::vector<std::uint32_t> spikes_;     // this step's spikes, ascending neuron id
    std::vector<double> exp_s_;             // e^{-s / tau_u} / tau_u for s = 0..s_cap
    input_events events_;                   // of the current sample
    std::vector<std::pair<std::uint32_t, std::uint32_t>> scratch_;
    std::vector<double> region_a_;
    std::vector<double> region_count_;
    std::span<const double> shared_current_;
    std::vector<double> adjust_;                 // liquid: weight changes of step 4's STDP
    std::vector<std::uint32_t> in_first_inh_;    // liquid: first I entry of the in-row
    std::vector<std::uint32_t> in_first_input_;  // liquid: first input entry of the in-row
};

// The synaptic current of every liquid neuron at the sample reset (s = s_init everywhere).
std::vector<double> initial_current(const liquid& net, std::span<const float> weights,
                                    const neuron_params& neuron);

// Branching factor (science-spec §1.8) of one sample's liquid raster; see branching.hpp. Only
// liquid -> liquid synapses count.
double branching_factor(const liquid& net, std::span<const std::uint32_t> raster_step,
                        std::span<const std::uint32_t> raster_neuron,
                        const branching_params& params = {});

}  // namespace glia::reservoir::nalsm
