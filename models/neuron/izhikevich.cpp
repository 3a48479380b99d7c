#include "models/neuron/izhikevich.hpp"

#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t { a, b, c, d, V_th, I_e, integration, heterogeneity };
// Variable indices: the order of model_info::variables below.
enum variable : std::size_t { V_m, U_m };
// Choices of `integration` and `heterogeneity`, in the order of their word lists.
enum scheme : int { published = 0, euler = 1 };
enum hetero : int { none = 0, excitatory_2003 = 1, inhibitory_2003 = 2 };

// The heterogeneity draw r ~ U(0, 1) of neuron `gid` is
//   rng_stream(stream_key(seed, stream::parameters, heterogeneity), gid, 0).uniform():
// the stream the network builder would use for per-neuron draws of the parameter
// `heterogeneity` itself (tag = parameter index), which it never draws (the parameter is one word
// for the whole population). So r is independent of every drawn parameter, e.g. of b ~ U(...)
// (tag = b's index); any other tag < 8 would reuse one of those streams. Part of the
// reproducibility contract: never change it.
constexpr std::uint64_t heterogeneity_tag = heterogeneity;

// v' = 0.04 v^2 + 5 v + 140 - u + I,  u' = a (b v - u);  v >= V_th: v = c, u += d.
// I = I_e + I_ext + w / dt: the spike input w [mV] delivered in a step is a current pulse over
// that step, so its integrated effect on v is about w (exactly w with `euler`).
class izhikevich_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<izhikevich_block>(*this);
    }
    explicit izhikevich_block(const block_args& args) {
        const auto& p = args.params;
        V_th_ = p.scalar(V_th);
        I_e_ = p.scalar(I_e);
        dt_ = args.dt;
        inv_dt_ = 1.0 / args.dt;
        scheme_ = static_cast<int>(p.scalar(integration));
        const auto het = static_cast<int>(p.scalar(heterogeneity));
        const std::uint64_t key = stream_key(args.seed, stream::parameters, heterogeneity_tag);

        const std::size_t n = args.count;
        a_.resize(n);
        b_.resize(n);
        c_.resize(n);
        d_.resize(n);
        v_.resize(n);
        u_.resize(n);
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = args.first + k;
            a_[k] = p.at(a, i);
            b_[k] = p.at(b, i);
            c_[k] = p.at(c, i);
            d_[k] = p.at(d, i);
            if (het != none) {
                const auto gid = static_cast<std::uint32_t>(args.first_gid + k);
                const double r = rng_stream(key, gid, 0).uniform();
                if (het == excitatory_2003) {
                    c_[k] += 15.0 * r * r;
                    d_[k] -= 6.0 * r * r;
                } else {
                    a_[k] += 0.08 * r;
                    b_[k] -= 0.05 * r;
                }
            }
            v_[k] = args.initial.has(V_m) ? args.initial.at(V_m, i) : -70.0;
            u_[k] = args.initial.has(U_m) ? args.initial.at(U_m, i) : b_[k] * v_[k];
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double> current,
                 std::vector<std::uint32_t>& spiked) override {
        if (scheme_ == published) {
            run<published>(input, current, spiked);
        } else {
            run<euler>(input, current, spiked);
        }
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        sample_column(column(var), local, out);
    }

    double value(std::size_t var, std::uint32_t local) const override { return column(var)[local]; }

    // State: v and u (a, b, c, d come from the parameters and the seed, keyed by global id).
    void save_state(step_t, state_columns& out) const override {
        out.put("V_m", v_);
        out.put("U_m", u_);
    }
    void load_state(step_t, const state_columns& in) override {
        in.get("V_m", v_);
        in.get("U_m", u_);
    }

private:
    template <int Scheme>
    void run(std::span<const double> input, std::span<const double> current,
             std::vector<std::uint32_t>& spiked) {
        const std::size_t n = v_.size();
        const bool has_current = !current.empty();
        const double h = dt_;
        const double half = 0.5 * dt_;
        const double inv_dt = inv_dt_;
        for (std::size_t i = 0; i < n; ++i) {
            double v = v_[i];
            double u = u_[i];
            const double I_ext = has_current ? current[i] : 0.0;
            if constexpr (Scheme == published) {
                // net.m: two half steps of v with u fixed, then u from the new v; the input is
                // the current pulse w / dt (net.m's `I += S(:, fired)` at dt = 1 ms).
                const double I = I_e_ + I_ext + input[i] * inv_dt;
                v += half * (0.04 * v * v + 5.0 * v + 140.0 - u + I);
                v += half * (0.04 * v * v + 5.0 * v + 140.0 - u + I);
                u += h * a_[i] * (b_[i] * v - u);
            } else {
                // NEST consistent_integration, term for term: forward Euler from the old (v, u);
                // h (w / h) is written as w.
                const double v_old = v;
                v += h * (0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u + I_ext + I_e_) + input[i];
                u += h * a_[i] * (b_[i] * v_old - u);
            }
            if (v >= V_th_) {
                v = c_[i];
                u += d_[i];
                spiked.push_back(static_cast<std::uint32_t>(i));
            }
            v_[i] = v;
            u_[i] = u;
        }
    }

    const std::vector<double>& column(std::size_t var) const {
        switch (var) {
        case V_m:
            return v_;
        case U_m:
            return u_;
        default:
            throw internal_error(fmt::format("izhikevich has no variable {}", var));
        }
    }

    double V_th_;         // [mV]
    double I_e_;          // [pA], read as mV/ms
    double dt_, inv_dt_;  // [ms], [1/ms]
    int scheme_;
    std::vector<double> a_, b_;  // recovery rate [1/ms] and sensitivity [1] per neuron
    std::vector<double> c_, d_;  // reset potential [mV] and jump of u [mV] per neuron
    std::vector<double> v_;      // membrane potential [mV]
    std::vector<double> u_;      // recovery variable [mV] (NEST's unit; it enters v' per ms)
};

void validate(const value_table& p, std::size_t size) {
    const bool ex = static_cast<int>(p.scalar(heterogeneity)) == excitatory_2003;
    const double c_max_shift = ex ? 15.0 : 0.0;  // excitatory_2003 raises c by up to 15 mV
    for (std::size_t i = 0; i < (p.is_uniform(c) ? 1 : size); ++i) {
        if (!(p.at(c, i) + c_max_shift < p.scalar(V_th))) {
            throw error(
                fmt::format("c ({} mV{}) must be below V_th ({} mV){}", p.at(c, i),
                            ex ? ", raised by up to 15 mV by heterogeneity excitatory_2003" : "",
                            p.scalar(V_th), p.is_uniform(c) ? "" : fmt::format(" (neuron {})", i)));
        }
    }
}

std::unique_ptr<neuron_block> make(const block_args& args) {
    return std::make_unique<izhikevich_block>(args);
}

}  // namespace

neuron_model izhikevich_model() {
    model_info info;
    info.name = "izhikevich";
    info.aliases = {"Izhikevich"};
    info.doc = "Izhikevich (2003) simple model; published (net.m) or forward-Euler integration";
    info.params = {
        {"a", dimension::none, 0.02, "time scale of the recovery variable u [1/ms]",
         value_range::any, true},
        {"b", dimension::none, 0.2, "sensitivity of u to the subthreshold v", value_range::any,
         true},
        {"c", dimension::voltage, -65.0, "reset potential", value_range::any, true},
        {"d", dimension::voltage, 8.0, "jump of u at a spike", value_range::any, true},
        {"V_th", dimension::voltage, 30.0, "spike cut-off"},
        {"I_e", dimension::current, 0.0, "constant external current (enters v' as mV/ms)"},
        {"integration",
         dimension::none,
         0.0,
         "published: net.m's two half steps of v then u from the new v; euler: NEST "
         "consistent_integration",
         value_range::any,
         false,
         {"published", "euler"}},
        {"heterogeneity",
         dimension::none,
         0.0,
         "draw per neuron r ~ U(0,1); excitatory_2003: c += 15 r^2, d -= 6 r^2; "
         "inhibitory_2003: a += 0.08 r, b -= 0.05 r",
         value_range::any,
         false,
         {"none", "excitatory_2003", "inhibitory_2003"}},
    };
    info.variables = {
        {"V_m", dimension::voltage, "membrane potential v (default: -70 mV)"},
        {"U_m", dimension::voltage, "recovery variable u (default: b * V_m)"},
    };
    info.ports = {{"spike", dimension::voltage,
                   "spike input: a current pulse of w/dt over the step, about a w jump of v"}};
    info.accepts_current = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
