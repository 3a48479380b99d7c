#include "models/neuron/iaf_cond_exp.hpp"

#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "models/neuron/lowering.hpp"

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t {
    V_th,
    V_reset,
    t_ref,
    g_L,
    C_m,
    E_ex,
    E_in,
    E_L,
    tau_syn_ex,
    tau_syn_in,
    I_e,
    substeps
};
// Variable indices: the order of model_info::variables below.
enum variable : std::size_t { V_m, g_ex, g_in };

// RK4 substeps per step unless told otherwise: see docs/models/iaf_cond_exp.md for the error.
constexpr double default_substeps = 2;
// The largest substep count accepted: beyond it RK4's error is below rounding anyway.
constexpr double max_substeps = 100000;

// C_m dV/dt = -g_L (V - E_L) - g_ex (V - E_ex) - g_in (V - E_in) + I_e + I_ext,
// dg/dt = -g / tau_syn (ex, in).
//
// Per step: the conductances follow their exact trajectory g(t) = g0 exp(-t / tau_syn) and V is
// integrated with classical RK4 on `substeps` equal substeps, sampling g exactly at each stage
// time. Then g = g0 exp(-dt / tau_syn) plus the input delivered in the step (it lands at the end
// of the step, after V), then the threshold. While refractory V is clamped at V_reset and the
// conductances go on decaying and receiving input.
class iaf_cond_exp_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<iaf_cond_exp_block>(*this);
    }
    explicit iaf_cond_exp_block(const block_args& a) {
        const auto& p = a.params;
        V_th_ = p.scalar(V_th);
        V_reset_ = p.scalar(V_reset);
        E_L_ = p.scalar(E_L);
        E_ex_ = p.scalar(E_ex);
        E_in_ = p.scalar(E_in);
        I_e_ = p.scalar(I_e);
        g_L_ = p.scalar(g_L);
        inv_C_m_ = 1.0 / p.scalar(C_m);
        n_sub_ = static_cast<int>(p.scalar(substeps));
        h_ = a.dt / n_sub_;
        const double tex = p.scalar(tau_syn_ex);
        const double tin = p.scalar(tau_syn_in);
        ex_half_ = std::exp(-0.5 * h_ / tex);
        ex_sub_ = std::exp(-h_ / tex);
        ex_step_ = std::exp(-a.dt / tex);
        in_half_ = std::exp(-0.5 * h_ / tin);
        in_sub_ = std::exp(-h_ / tin);
        in_step_ = std::exp(-a.dt / tin);
        ref_steps_ = steps_of(p.scalar(t_ref), a.dt, "t_ref");

        V_m_.resize(a.count);
        g_ex_.resize(a.count);
        g_in_.resize(a.count);
        refractory_.assign(a.count, 0);
        V_new_.resize(a.count);
        ge_sub_.resize(a.count);
        gi_sub_.resize(a.count);
        for (std::size_t k = 0; k < a.count; ++k) {
            const std::size_t i = a.first + k;
            V_m_[k] = a.initial.has(V_m) ? a.initial.at(V_m, i) : E_L_;
            g_ex_[k] = a.initial.has(g_ex) ? a.initial.at(g_ex, i) : 0.0;
            g_in_[k] = a.initial.has(g_in) ? a.initial.at(g_in, i) : 0.0;
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double> current,
                 std::vector<std::uint32_t>& spiked) override {
        if (current.empty()) {
            integrate_all<false>(current);
        } else {
            integrate_all<true>(current);
        }
        const std::size_t n = V_m_.size();
        double* V_m = V_m_.data();
        double* g_ex = g_ex_.data();
        double* g_in = g_in_.data();
        std::int32_t* refractory = refractory_.data();
        const double* V_new = V_new_.data();
        const double* in = input.data();
        // Refractory neurons keep V_reset; the conductances decay over the step and this
        // step's input lands at its end (NEST keeps the inhibitory conductance positive:
        // port `in` gets negative weights).
        for (std::size_t i = 0; i < n; ++i) {
            const bool integrating = refractory[i] == 0;
            V_m[i] = integrating ? V_new[i] : V_reset_;
            refractory[i] = integrating ? 0 : refractory[i] - 1;
            g_ex[i] = g_ex[i] * ex_step_ + in[2 * i];
            g_in[i] = g_in[i] * in_step_ + std::abs(in[2 * i + 1]);
        }
        // Threshold. A neuron refractory at the start of the step sits at V_reset < V_th.
        for (std::size_t i = 0; i < n; ++i) {
            if (V_m[i] >= V_th_) {
                V_m[i] = V_reset_;
                refractory[i] = ref_steps_;
                spiked.push_back(static_cast<std::uint32_t>(i));
            }
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        sample_column(column(var), local, out);
    }

    double value(std::size_t var, std::uint32_t local) const override { return column(var)[local]; }

    // State: V_m, both conductances and the refractory countdown (the rest is scratch).
    void save_state(step_t, state_columns& out) const override {
        out.put("V_m", V_m_);
        out.put("g_ex", g_ex_);
        out.put("g_in", g_in_);
        out.put("refractory", refractory_);
    }
    void load_state(step_t, const state_columns& in) override {
        in.get("V_m", V_m_);
        in.get("g_ex", g_ex_);
        in.get("g_in", g_in_);
        in.get("refractory", refractory_);
    }

private:
    // dV/dt [mV/ms] at potential V [mV] with conductances ge, gi [nS] and current I [pA].
    double dV(double V, double ge, double gi, double I) const {
        return (-g_L_ * (V - E_L_) - ge * (V - E_ex_) - gi * (V - E_in_) + I) * inv_C_m_;
    }

    // V_new_ = V after one step for every neuron (refractory or not; the caller clamps):
    // classical RK4 on V over n_sub_ sub-steps, with the conductances following their exact
    // exponential decay inside the step. Each loop over neurons is straight-line code, which
    // the compiler vectorises.
    template <bool HasCurrent>
    void integrate_all(std::span<const double> current) {
        const std::size_t n = V_m_.size();
        const double h = h_;
        double* V = V_new_.data();
        double* ge = ge_sub_.data();
        double* gi = gi_sub_.data();
        std::copy(V_m_.begin(), V_m_.end(), V_new_.begin());
        std::copy(g_ex_.begin(), g_ex_.end(), ge_sub_.begin());
        std::copy(g_in_.begin(), g_in_.end(), gi_sub_.begin());
        for (int s = 0; s < n_sub_; ++s) {
            for (std::size_t i = 0; i < n; ++i) {
                const double I = HasCurrent ? I_e_ + current[i] : I_e_;
                const double ge0 = ge[i], gi0 = gi[i];
                const double ge_mid = ge0 * ex_half_, gi_mid = gi0 * in_half_;
                const double ge_end = ge0 * ex_sub_, gi_end = gi0 * in_sub_;
                const double v = V[i];
                const double k1 = dV(v, ge0, gi0, I);
                const double k2 = dV(v + 0.5 * h * k1, ge_mid, gi_mid, I);
                const double k3 = dV(v + 0.5 * h * k2, ge_mid, gi_mid, I);
                const double k4 = dV(v + h * k3, ge_end, gi_end, I);
                V[i] = v + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
                ge[i] = ge_end;
                gi[i] = gi_end;
            }
        }
    }

    const std::vector<double>& column(std::size_t var) const {
        switch (var) {
        case V_m:
            return V_m_;
        case g_ex:
            return g_ex_;
        case g_in:
            return g_in_;
        default:
            throw internal_error(fmt::format("iaf_cond_exp has no variable {}", var));
        }
    }

    double V_th_, V_reset_, E_L_, E_ex_, E_in_;  // [mV]
    double I_e_;                                 // [pA]
    double g_L_;                                 // [nS]
    double inv_C_m_;                             // [1/pF]
    int n_sub_;                                  // RK4 substeps per step
    double h_;                                   // substep [ms]
    double ex_half_, ex_sub_, ex_step_;          // exp(-t / tau_syn_ex) for t = h/2, h, dt
    double in_half_, in_sub_, in_step_;          // exp(-t / tau_syn_in) for t = h/2, h, dt
    std::int32_t ref_steps_;
    std::vector<double> V_m_;               // membrane potential [mV]
    std::vector<double> g_ex_;              // excitatory conductance [nS]
    std::vector<double> g_in_;              // inhibitory conductance [nS], >= 0
    std::vector<std::int32_t> refractory_;  // refractory steps left
    std::vector<double> V_new_;             // scratch: V after the step [mV]
    std::vector<double> ge_sub_, gi_sub_;   // scratch: conductances at a sub-step [nS]
};

void validate(const value_table& p, std::size_t) {
    require_reset_below_threshold(p.scalar(V_reset), p.scalar(V_th));
    const double m = p.scalar(substeps);
    if (!(m >= 1 && m <= max_substeps && m == std::floor(m))) {
        throw error(
            fmt::format("substeps must be a whole number from 1 to {}, got {}", max_substeps, m));
    }
}

std::unique_ptr<neuron_block> make(const block_args& a) {
    return std::make_unique<iaf_cond_exp_block>(a);
}

}  // namespace

neuron_model iaf_cond_exp_model() {
    model_info info;
    info.name = "iaf_cond_exp";
    info.aliases = {"IF_cond_exp"};
    info.doc = "leaky integrate-and-fire, exponential synaptic conductances, RK4";
    info.params = {
        {"V_th", dimension::voltage, -55.0, "spike threshold"},
        {"V_reset", dimension::voltage, -60.0, "reset potential"},
        {"t_ref", dimension::time, 2.0, "refractory period", value_range::non_negative},
        {"g_L", dimension::conductance, 16.6667, "leak conductance", value_range::positive},
        {"C_m", dimension::capacitance, 250.0, "membrane capacitance", value_range::positive},
        {"E_ex", dimension::voltage, 0.0, "excitatory reversal potential"},
        {"E_in", dimension::voltage, -85.0, "inhibitory reversal potential"},
        {"E_L", dimension::voltage, -70.0, "leak reversal (resting) potential"},
        {"tau_syn_ex", dimension::time, 0.2, "decay time of excitatory conductance",
         value_range::positive},
        {"tau_syn_in", dimension::time, 2.0, "decay time of inhibitory conductance",
         value_range::positive},
        {"I_e", dimension::current, 0.0, "constant external current"},
        {"substeps", dimension::none, default_substeps,
         "RK4 substeps per time step (whole number >= 1)", value_range::positive},
    };
    info.variables = {
        {"V_m", dimension::voltage, "membrane potential (default: E_L)"},
        {"g_ex", dimension::conductance, "excitatory conductance (default: 0)"},
        {"g_in", dimension::conductance, "inhibitory conductance, >= 0 (default: 0)"},
    };
    info.ports = {
        {"ex", dimension::conductance, "excitatory conductance jump per spike (weights >= 0)"},
        {"in", dimension::conductance,
         "inhibitory conductance jump per spike: its magnitude is added (weights < 0)"},
    };
    info.ports_by_sign = true;
    info.accepts_current = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
