#include "models/neuron/iaf_psc_exp.hpp"

#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "models/neuron/lowering.hpp"

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t { E_L, C_m, tau_m, t_ref, V_th, V_reset, tau_syn_ex, tau_syn_in, I_e };
// Variable indices: the order of model_info::variables below.
enum variable : std::size_t { V_m, I_syn_ex, I_syn_in };

// Exact integration (Rotter & Diesmann 1999) of
//   dV/dt     = -(V - E_L)/tau_m + (I_syn_ex + I_syn_in + I_e + I_ext)/C_m
//   dI_syn/dt = -I_syn/tau_syn                    (ex and in each with its own tau_syn)
// with I_ext held constant over a step; input spikes add their weight [pA] to I_syn at the
// end of the step they are delivered in. Same step as NEST iaf_psc_exp::update.
class iaf_psc_exp_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<iaf_psc_exp_block>(*this);
    }
    explicit iaf_psc_exp_block(const block_args& a) {
        const auto& p = a.params;
        E_L_ = p.scalar(E_L);
        V_th_ = p.scalar(V_th);
        V_reset_ = p.scalar(V_reset);
        I_e_ = p.scalar(I_e);
        const double tm = p.scalar(tau_m);
        const double cm = p.scalar(C_m);
        P22_ = std::exp(-a.dt / tm);
        P20_ = -tm / cm * std::expm1(-a.dt / tm);
        P11ex_ = std::exp(-a.dt / p.scalar(tau_syn_ex));
        P11in_ = std::exp(-a.dt / p.scalar(tau_syn_in));
        P21ex_ = psc_exp_propagator(a.dt, p.scalar(tau_syn_ex), tm, cm);
        P21in_ = psc_exp_propagator(a.dt, p.scalar(tau_syn_in), tm, cm);
        ref_steps_ = steps_of(p.scalar(t_ref), a.dt, "t_ref");

        V_m_.resize(a.count);
        I_ex_.resize(a.count);
        I_in_.resize(a.count);
        refractory_.assign(a.count, 0);
        V_new_.resize(a.count);
        for (std::size_t k = 0; k < a.count; ++k) {
            const std::size_t i = a.first + k;
            V_m_[k] = a.initial.has(V_m) ? a.initial.at(V_m, i) : E_L_;
            I_ex_[k] = a.initial.has(I_syn_ex) ? a.initial.at(I_syn_ex, i) : 0.0;
            I_in_[k] = a.initial.has(I_syn_in) ? a.initial.at(I_syn_in, i) : 0.0;
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double> current,
                 std::vector<std::uint32_t>& spiked) override {
        if (current.empty()) {
            integrate<false>(input, current);
        } else {
            integrate<true>(input, current);
        }
        // Refractory clamp and threshold in one pass over the state.
        const std::size_t n = V_m_.size();
        const double V_th = V_th_, V_reset = V_reset_;
        const std::int32_t ref_steps = ref_steps_;
        double* V_m = V_m_.data();
        const double* V_new = V_new_.data();
        std::int32_t* refractory = refractory_.data();
        for (std::size_t i = 0; i < n; ++i) {
            const bool free = refractory[i] == 0;
            double V = free ? V_new[i] : V_m[i];
            std::int32_t r = free ? 0 : refractory[i] - 1;
            if (V >= V_th) {  // rare
                V = V_reset;
                r = ref_steps;
                spiked.push_back(static_cast<std::uint32_t>(i));
            }
            V_m[i] = V;
            refractory[i] = r;
        }
    }

    // One step of the linear dynamics for every neuron, branch-free so that the compiler
    // vectorises it: V_new_ gets the potential the neuron reaches if it is not refractory; the
    // synaptic currents decay and this step's input lands at the end of the step, refractory
    // or not (NEST).
    template <bool HasCurrent>
    void integrate(std::span<const double> input, std::span<const double> current) {
        const std::size_t n = V_m_.size();
        const double* V_m = V_m_.data();
        double* I_ex = I_ex_.data();
        double* I_in = I_in_.data();
        double* V_new = V_new_.data();
        const double* in = input.data();
        // Parameters as locals: stores through the state pointers could alias the members,
        // which stops the compiler from vectorising.
        const double E_L = E_L_, P22 = P22_, P20 = P20_, P21ex = P21ex_, P21in = P21in_;
        const double P11ex = P11ex_, P11in = P11in_, I_e = I_e_;
        for (std::size_t i = 0; i < n; ++i) {
            const double I = HasCurrent ? I_e + current[i] : I_e;
            V_new[i] = E_L + (V_m[i] - E_L) * P22 + I * P20 + I_ex[i] * P21ex + I_in[i] * P21in;
            I_ex[i] = I_ex[i] * P11ex + in[2 * i];
            I_in[i] = I_in[i] * P11in + in[2 * i + 1];
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        sample_column(column(var), local, out);
    }

    double value(std::size_t var, std::uint32_t local) const override { return column(var)[local]; }

    // State: V_m, both synaptic currents and the refractory countdown (V_new_ is scratch).
    void save_state(step_t, state_columns& out) const override {
        out.put("V_m", V_m_);
        out.put("I_syn_ex", I_ex_);
        out.put("I_syn_in", I_in_);
        out.put("refractory", refractory_);
    }
    void load_state(step_t, const state_columns& in) override {
        in.get("V_m", V_m_);
        in.get("I_syn_ex", I_ex_);
        in.get("I_syn_in", I_in_);
        in.get("refractory", refractory_);
    }

private:
    const std::vector<double>& column(std::size_t var) const {
        switch (var) {
        case V_m:
            return V_m_;
        case I_syn_ex:
            return I_ex_;
        case I_syn_in:
            return I_in_;
        default:
            throw internal_error(fmt::format("iaf_psc_exp has no variable {}", var));
        }
    }

    double E_L_, V_th_, V_reset_;  // [mV]
    double I_e_;                   // [pA]
    double P22_;                   // exp(-dt / tau_m)
    double P20_;                   // (1 - exp(-dt / tau_m)) tau_m / C_m  [mV/pA]
    double P11ex_, P11in_;         // exp(-dt / tau_syn)
    double P21ex_, P21in_;         // synaptic current -> V over one step  [mV/pA]
    std::int32_t ref_steps_;
    std::vector<double> V_m_;               // membrane potential [mV]
    std::vector<double> I_ex_;              // excitatory synaptic current [pA]
    std::vector<double> I_in_;              // inhibitory synaptic current [pA] (<= 0 normally)
    std::vector<std::int32_t> refractory_;
    std::vector<double> V_new_;  // scratch: V after the step, if not refractory [mV]
};

void validate(const value_table& p, std::size_t) {
    require_reset_below_threshold(p.scalar(V_reset), p.scalar(V_th));
}

std::unique_ptr<neuron_block> make(const block_args& a) {
    return std::make_unique<iaf_psc_exp_block>(a);
}

}  // namespace

double psc_exp_propagator(double h, double tau_syn, double tau_m, double C_m) {
    const double d = (tau_m - tau_syn) / (tau_syn * tau_m);  // [1/ms]; exact 0 when equal
    return h / C_m * std::exp(-h / tau_m) * one_minus_exp_over(h * d);
}

neuron_model iaf_psc_exp_model() {
    model_info info;
    info.name = "iaf_psc_exp";
    info.aliases = {"IF_curr_exp"};
    info.doc = "leaky integrate-and-fire, exponential synaptic currents, exact integration";
    info.params = {
        {"E_L", dimension::voltage, -70.0, "resting potential"},
        {"C_m", dimension::capacitance, 250.0, "membrane capacitance", value_range::positive},
        {"tau_m", dimension::time, 10.0, "membrane time constant", value_range::positive},
        {"t_ref", dimension::time, 2.0, "refractory period", value_range::non_negative},
        {"V_th", dimension::voltage, -55.0, "spike threshold"},
        {"V_reset", dimension::voltage, -70.0, "reset potential"},
        {"tau_syn_ex", dimension::time, 2.0, "decay time of excitatory synaptic current",
         value_range::positive},
        {"tau_syn_in", dimension::time, 2.0, "decay time of inhibitory synaptic current",
         value_range::positive},
        {"I_e", dimension::current, 0.0, "constant external current"},
    };
    info.variables = {
        {"V_m", dimension::voltage, "membrane potential (default: E_L)"},
        {"I_syn_ex", dimension::current, "excitatory synaptic current (default: 0)"},
        {"I_syn_in", dimension::current, "inhibitory synaptic current (default: 0)"},
    };
    info.ports = {
        {"ex", dimension::current, "excitatory current jump per spike (weights >= 0)"},
        {"in", dimension::current,
         "inhibitory current jump per spike (weights < 0, kept negative)"},
    };
    info.ports_by_sign = true;
    info.accepts_current = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
