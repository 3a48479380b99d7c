#include "models/neuron/nalsm_lif.hpp"

#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "models/neuron/lowering.hpp"

namespace glia::models {
namespace {

enum param : std::size_t { tau_v, V_th, V_reset, tau_u, t_ref, I_bias };
enum variable : std::size_t { V_m, I_syn, refractory, spiking };
enum port : std::size_t { syn, direct };

struct lif_constants {
    double v_reset, gain, bias, leak, decay, v_th, t_ref;
};

// target_clones: an AVX2 and a baseline body, chosen by the dynamic loader; neither uses FMA,
// so both give the same bits.
// Not under the sanitizers: their runtimes are not up yet when the loader resolves the clones.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define GLIA_LIF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GLIA_LIF_CLONES
#endif

// One step of the neurons (see nalsm_lif_block), branch-free and in doubles only, so that the
// compiler vectorises it (the file is built with -fno-trapping-math, which changes no value).
GLIA_LIF_CLONES
void step_neurons(std::size_t n, const double* __restrict in, double* __restrict v,
                  double* __restrict cur, double* __restrict ref, double* __restrict spk,
                  const lif_constants& c) {
    const double v_reset = c.v_reset, gain = c.gain, bias = c.bias, leak = c.leak;
    const double decay = c.decay, v_th = c.v_th, t_ref = c.t_ref;
    for (std::size_t k = 0; k < n; ++k) {
        const double s0 = spk[k];
        const double v0 = v[k], r0 = ref[k];
        double vk = s0 != 0.0 ? v_reset : v0;
        const double i_k = cur[k] + in[2 * k + syn];
        vk += gain * i_k + in[2 * k + direct] + bias - vk * leak;
        cur[k] = i_k * decay;
        const double r = s0 != 0.0 ? t_ref : r0 - 1.0;
        v[k] = vk;
        ref[k] = r;
        const double fire = vk >= v_th ? 1.0 : 0.0;
        spk[k] = r <= 0.0 ? fire : 0.0;
    }
}

// One step of NALSM's loop (NALSM_LIF, science-spec §1.2) for neuron i, with S its spike
// registered at the end of the previous step (time now*dt):
//   V <- V_reset if S                                         (2. reset)
//   I <- I + syn                                              (4. the synapses' kernel changes)
//   V <- V + (dt/tau_u) I + direct + dt I_bias - (dt/tau_v) V (5. integrate; the leak acts on
//                                                                the reset V)
//   I <- I e^(-dt/tau_u)                                      (6. the kernel ages)
//   r <- r - 1, or t_ref/dt if S                              (7. refractory counter)
//   S <- V >= V_th and r <= 0: a spike of this step, at time (now + 1)*dt  (1. of the next step)
// At dt = tau_u = 1 ms this is the paper's V += sum_j w_ij e^(-s_ij/tau_u)/tau_u + I_ext + b
// - V/tau_v, with I the kernel sum that synapses keep up to date (astro_stdp sends the
// changes of the exact most-recent-spike kernel; a static synapse sends w per spike, a sum of
// exponentials). Input (`direct`) during the refractory period stays in V and fires the
// neuron when the period ends: NALSM's input neurons, driven by I_ext = 100 > V_th.
class nalsm_lif_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<nalsm_lif_block>(*this);
    }
    explicit nalsm_lif_block(const block_args& args) {
        const auto& p = args.params;
        const double dt = args.dt;
        leak_ = dt / p.scalar(tau_v);
        syn_gain_ = dt / p.scalar(tau_u);
        decay_ = std::exp(-dt / p.scalar(tau_u));
        v_th_ = p.scalar(V_th);
        v_reset_ = p.scalar(V_reset);
        bias_ = dt * p.scalar(I_bias);
        t_ref_ = static_cast<double>(steps_of(p.scalar(t_ref), dt, "t_ref"));
        const std::size_t n = args.count;
        v_.resize(n);
        i_.resize(n);
        ref_.assign(n, 0.0);
        spiking_.assign(n, 0.0);
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t g = args.first + k;
            v_[k] = args.initial.has(V_m) ? args.initial.at(V_m, g) : 0.0;
            i_[k] = args.initial.has(I_syn) ? args.initial.at(I_syn, g) : 0.0;
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double>,
                 std::vector<std::uint32_t>& spiked) override {
        const lif_constants c{v_reset_, syn_gain_, bias_, leak_, decay_, v_th_, t_ref_};
        const std::size_t n = v_.size();
        step_neurons(n, input.data(), v_.data(), i_.data(), ref_.data(), spiking_.data(), c);
        // The spikes, four flags (0 or 1, so their sum is exact) at a time.
        const double* spk = spiking_.data();
        std::size_t k = 0;
        for (; k + 4 <= n; k += 4) {
            if (spk[k] + spk[k + 1] + spk[k + 2] + spk[k + 3] != 0.0) {
                for (std::size_t j = k; j < k + 4; ++j) {
                    if (spk[j] != 0.0) {
                        spiked.push_back(static_cast<std::uint32_t>(j));
                    }
                }
            }
        }
        for (; k < n; ++k) {
            if (spk[k] != 0.0) {
                spiked.push_back(static_cast<std::uint32_t>(k));
            }
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        for (std::size_t k = 0; k < local.size(); ++k) {
            out[k] = static_cast<float>(value(var, local[k]));
        }
    }

    double value(std::size_t var, std::uint32_t local) const override {
        switch (var) {
        case V_m:
            return v_[local];
        case I_syn:
            return i_[local];
        case refractory:
            return ref_[local];
        case spiking:
            return spiking_[local];
        default:
            throw internal_error(fmt::format("nalsm_lif has no variable {}", var));
        }
    }

    void save_state(step_t, state_columns& out) const override {
        out.put("V_m", v_);
        out.put("I_syn", i_);
        std::vector<std::int32_t> r(ref_.size()), s(spiking_.size());
        for (std::size_t k = 0; k < r.size(); ++k) {
            r[k] = static_cast<std::int32_t>(ref_[k]);
            s[k] = spiking_[k] != 0.0 ? 1 : 0;
        }
        out.put("refractory", std::span<const std::int32_t>(r));
        out.put("spiking", std::span<const std::int32_t>(s));
    }
    void load_state(step_t, const state_columns& in) override {
        in.get("V_m", v_);
        in.get("I_syn", i_);
        std::vector<std::int32_t> r(ref_.size()), s(spiking_.size());
        in.get("refractory", std::span<std::int32_t>(r));
        in.get("spiking", std::span<std::int32_t>(s));
        for (std::size_t k = 0; k < s.size(); ++k) {
            ref_[k] = static_cast<double>(r[k]);
            spiking_[k] = s[k] != 0 ? 1.0 : 0.0;
        }
    }

private:
    double leak_, syn_gain_, decay_, v_th_, v_reset_, bias_;
    double t_ref_;  // [steps]
    std::vector<double> v_;             // membrane potential
    std::vector<double> i_;             // synaptic kernel sum (NALSM's sum_j w_ij e^(-s_ij/tau_u))
    // Counter and flag as doubles, so that the step's loop is in one type.
    std::vector<double> ref_;      // refractory counter [steps]: may spike when <= 0
    std::vector<double> spiking_;  // 1 if spiked at the end of the previous step, else 0
};

void validate(const value_table& p, std::size_t) {
    if (!(p.scalar(V_reset) < p.scalar(V_th))) {
        throw error(fmt::format("V_reset ({}) must be below V_th ({})", p.scalar(V_reset),
                                p.scalar(V_th)));
    }
}

std::unique_ptr<neuron_block> make(const block_args& args) {
    return std::make_unique<nalsm_lif_block>(args);
}

}  // namespace

neuron_model nalsm_lif_model() {
    model_info info;
    info.name = "nalsm_lif";
    info.doc = "NALSM's discrete LIF (Ivanov & Michmizos 2021): paper step order, exponential "
               "synaptic kernel, refractory counter; potentials in the paper's units";
    info.params = {
        {"tau_v", dimension::time, 64.0, "membrane time constant (leak V dt/tau_v per step)",
         value_range::positive},
        {"V_th", dimension::none, 20.0, "threshold (the paper's units)"},
        {"V_reset", dimension::none, 0.0, "reset potential"},
        {"tau_u", dimension::time, 1.0, "synaptic kernel time constant", value_range::positive},
        {"t_ref", dimension::time, 2.0,
         "refractory period: no spike in the t_ref/dt steps after one (V keeps integrating)",
         value_range::non_negative},
        {"I_bias", dimension::none, 0.0, "bias b added per ms"},
    };
    info.variables = {
        {"V_m", dimension::none, "membrane potential (default 0)"},
        {"I_syn", dimension::none, "synaptic kernel sum (default 0)"},
        {"refractory", dimension::none, "refractory counter [steps] (default 0)"},
        {"spiking", dimension::none, "1 if the neuron spiked at the end of the previous step"},
    };
    info.ports = {
        {"syn", dimension::none,
         "synaptic input: changes of the kernel sum I (weighted by dt/tau_u in V)"},
        {"direct", dimension::none, "added to V in this step (NALSM's I_ext)"},
    };
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
