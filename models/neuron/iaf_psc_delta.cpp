#include "models/neuron/iaf_psc_delta.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "models/neuron/lowering.hpp"

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t { E_L, C_m, tau_m, t_ref, V_th, V_reset, I_e, V_min };

// Exact integration of  C_m dV/dt = -C_m (V - E_L) / tau_m + I_e + I(t)  for input held
// constant over a step; each input spike adds its weight [mV] to V at the end of its step.
// Input arriving while the neuron is refractory is discarded (NEST's default).
class iaf_psc_delta_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<iaf_psc_delta_block>(*this);
    }
    explicit iaf_psc_delta_block(const block_args& a) {
        const auto& p = a.params;
        E_L_ = p.scalar(E_L);
        V_th_ = p.scalar(V_th);
        V_reset_ = p.scalar(V_reset);
        V_min_ = p.scalar(V_min);
        I_e_ = p.scalar(I_e);
        P33_ = std::exp(-a.dt / p.scalar(tau_m));
        P30_ = -p.scalar(tau_m) / p.scalar(C_m) * std::expm1(-a.dt / p.scalar(tau_m));
        ref_steps_ = steps_of(p.scalar(t_ref), a.dt, "t_ref");
        // The resting level with I_e: the fixed point of the step map, E_L + R I_e.
        V_inf_ = E_L_ + p.scalar(tau_m) / p.scalar(C_m) * I_e_;
        V_m_.resize(a.count);
        refractory_.assign(a.count, 0);
        for (std::size_t i = 0; i < a.count; ++i) {
            V_m_[i] = a.initial.has(0) ? a.initial.at(0, a.first + i) : E_L_;
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double> current,
                 std::vector<std::uint32_t>& spiked) override {
        if (current.empty()) {
            integrate<false>(input, current);
        } else {
            integrate<true>(input, current);
        }
        // Threshold: rare, so a branch is cheap here and keeps the loop above branch-free.
        const std::size_t n = V_m_.size();
        for (std::size_t i = 0; i < n; ++i) {
            if (V_m_[i] >= V_th_) {
                V_m_[i] = V_reset_;
                refractory_[i] = ref_steps_;
                spiked.push_back(static_cast<std::uint32_t>(i));
            }
        }
    }

    // Lazy updates are exact when, without input, V relaxes monotonically to V_inf without
    // crossing V_th or V_min (and no external current varies V between inputs: the engine
    // only uses lazy updates for blocks that no current device reaches).
    bool can_update_lazily() const override { return V_inf_ < V_th_ && V_inf_ >= V_min_; }

    void use_lazy_updates(step_t now) override {
        // V_m_ holds V at the end of step now - 1; a refractory neuron holds V_reset until the
        // end of its last refractory step.
        lazy_ = true;
        last_.resize(V_m_.size());
        for (std::size_t i = 0; i < V_m_.size(); ++i) {
            last_[i] = now - 1 + refractory_[i];
        }
        decay_.assign(decay_table_size, 1.0);
        for (std::size_t k = 1; k < decay_table_size; ++k) {
            decay_[k] = decay_[k - 1] * P33_;
        }
    }

    void advance_touched(step_t now, std::span<const std::uint32_t> touched,
                         std::span<const double> input,
                         std::vector<std::uint32_t>& spiked) override {
        for (std::uint32_t i: touched) {
            if (now <= last_[i]) {
                continue;  // refractory: input is discarded (NEST)
            }
            // k idle steps of decay towards V_inf, then this step's input at its end.
            double V = V_inf_ + (V_m_[i] - V_inf_) * decay(now - last_[i]) + input[i];
            V = std::max(V, V_min_);
            last_[i] = now;
            if (V >= V_th_) {
                V = V_reset_;
                last_[i] = now + ref_steps_;
                spiked.push_back(i);
            }
            V_m_[i] = V;
        }
    }

    void catch_up(step_t now) override {
        for (std::size_t i = 0; i < last_.size(); ++i) {
            if (now - 1 > last_[i]) {
                V_m_[i] = V_inf_ + (V_m_[i] - V_inf_) * decay(now - 1 - last_[i]);
                last_[i] = now - 1;
            }
        }
        // Keep the clock-driven view consistent, should the engine read refractory_.
        for (std::size_t i = 0; i < last_.size(); ++i) {
            refractory_[i] = static_cast<std::int32_t>(std::max<step_t>(0, last_[i] - (now - 1)));
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        check_variable(var);
        sample_column(V_m_, local, out);
    }

    double value(std::size_t var, std::uint32_t local) const override {
        check_variable(var);
        return V_m_[local];
    }

    // One form for both update modes: V_m is V at the end of step `last` (held at V_reset until
    // then while refractory), as lazy updates keep it. Clock-driven: last = now - 1 +
    // refractory steps left. A lazy block saves its anchors as they are (no catch-up: that
    // would round differently from the uninterrupted run).
    void save_state(step_t now, state_columns& out) const override {
        out.put("V_m", V_m_);
        if (lazy_) {
            out.put("last", last_);
            return;
        }
        std::vector<step_t> last(V_m_.size());
        for (std::size_t i = 0; i < last.size(); ++i) {
            last[i] = now - 1 + refractory_[i];
        }
        out.put("last", last);
    }

    void load_state(step_t now, const state_columns& in) override {
        std::vector<step_t> last(V_m_.size());
        in.get("V_m", V_m_);
        in.get("last", last);
        for (std::size_t i = 0; i < last.size(); ++i) {
            refractory_[i] = static_cast<std::int32_t>(std::max<step_t>(0, last[i] - (now - 1)));
            if (!lazy_ && last[i] < now - 1) {
                // Saved by a lazy block whose neuron was idle: decay as catch_up() would.
                V_m_[i] = V_inf_ + (V_m_[i] - V_inf_) * decay_factor(now - 1 - last[i]);
            }
        }
        if (lazy_) {
            last_ = std::move(last);
        }
    }

private:
    // Integrates every neuron over one step (branch-free, so the compiler vectorises it):
    // a refractory neuron keeps its potential and loses its input (NEST); the others
    // integrate exactly and add their input at the end of the step.
    template <bool HasCurrent>
    void integrate(std::span<const double> input, std::span<const double> current) {
        const std::size_t n = V_m_.size();
        double* V_m = V_m_.data();
        std::int32_t* refractory = refractory_.data();
        const double* in = input.data();
        for (std::size_t i = 0; i < n; ++i) {
            const double I = HasCurrent ? I_e_ + current[i] : I_e_;
            const double V = std::max(E_L_ + (V_m[i] - E_L_) * P33_ + P30_ * I + in[i], V_min_);
            const bool free = refractory[i] == 0;
            V_m[i] = free ? V : V_m[i];
            refractory[i] = free ? 0 : refractory[i] - 1;
        }
    }

    static void check_variable(std::size_t var) {
        if (var != 0) {
            throw internal_error(fmt::format("iaf_psc_delta has no variable {}", var));
        }
    }

    // P33^k: a table for up to decay_table_size - 1 idle steps, pow() beyond.
    double decay(step_t k) const {
        return k < static_cast<step_t>(decay_table_size) ? decay_[static_cast<std::size_t>(k)]
                                                         : std::pow(P33_, static_cast<double>(k));
    }

    // decay(k) also in clock-driven mode, which has no table: the same products.
    double decay_factor(step_t k) const {
        if (lazy_ || k >= static_cast<step_t>(decay_table_size)) {
            return decay(k);
        }
        double d = 1.0;
        for (step_t j = 0; j < k; ++j) {
            d *= P33_;
        }
        return d;
    }

    static constexpr std::size_t decay_table_size = 4096;

    double E_L_, V_th_, V_reset_, V_min_, I_e_;  // [mV], [pA]
    double V_inf_;                               // E_L + R I_e [mV]
    double P33_;                                 // exp(-dt / tau_m)
    double P30_;                                 // (1 - exp(-dt / tau_m)) tau_m / C_m [mV/pA]
    std::int32_t ref_steps_;
    std::vector<double> V_m_;               // membrane potential [mV]
    std::vector<std::int32_t> refractory_;  // refractory steps left (clock-driven mode)
    // Lazy mode: V_m_[i] is V at the end of step last_[i] (held at V_reset until then while
    // refractory); decay_[k] = P33^k.
    std::vector<step_t> last_;
    std::vector<double> decay_;
    bool lazy_ = false;  // use_lazy_updates() was called
};

void validate(const value_table& p, std::size_t) {
    require_reset_below_threshold(p.scalar(V_reset), p.scalar(V_th));
}

std::unique_ptr<neuron_block> make(const block_args& a) {
    return std::make_unique<iaf_psc_delta_block>(a);
}

}  // namespace

neuron_model iaf_psc_delta_model() {
    model_info info;
    info.name = "iaf_psc_delta";
    info.aliases = {"IF_curr_delta"};
    info.doc = "leaky integrate-and-fire, delta synapses (voltage jumps), exact integration";
    info.params = {
        {"E_L", dimension::voltage, -70.0, "resting potential"},
        {"C_m", dimension::capacitance, 250.0, "membrane capacitance", value_range::positive},
        {"tau_m", dimension::time, 10.0, "membrane time constant", value_range::positive},
        {"t_ref", dimension::time, 2.0, "refractory period", value_range::non_negative},
        {"V_th", dimension::voltage, -55.0, "spike threshold"},
        {"V_reset", dimension::voltage, -70.0, "reset potential"},
        {"I_e", dimension::current, 0.0, "constant external current"},
        {"V_min", dimension::voltage, -std::numeric_limits<double>::infinity(),
         "lower bound of the membrane potential"},
    };
    info.variables = {{"V_m", dimension::voltage, "membrane potential (default: E_L)"}};
    info.ports = {{"spike", dimension::voltage, "voltage jump per spike"}};
    info.accepts_current = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
