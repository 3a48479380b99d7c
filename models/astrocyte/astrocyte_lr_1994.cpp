#include "models/astrocyte/astrocyte_lr_1994.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::models {
namespace {

// Parameter indices: the order of model_info::params below.
enum param : std::size_t {
    Ca_tot,
    IP3_0,
    Kd_IP3_1,
    Kd_IP3_2,
    Kd_act,
    Kd_inh,
    Km_SERCA,
    SIC_scale,
    SIC_th,
    delta_IP3,
    k_IP3R,
    rate_IP3R,
    rate_L,
    rate_SERCA,
    ratio_ER_cyt,
    tau_IP3,
    substeps
};
// Variable indices: the order of model_info::variables below.
enum variable : std::size_t { IP3, Ca_astro, h_IP3R, SIC };

// RK4 substeps per step unless told otherwise: see docs/models/astrocyte_lr_1994.md for the
// measured error (the astrocyte's time scales are >= ~100 ms, so one substep of 0.1 ms is far
// below any tolerance that matters).
constexpr double default_substeps = 1;
constexpr double max_substeps = 100000;

// NEST's initial state (Li & Rinzel 1994, Nadkarni & Jung 2003); IP3 starts at IP3_0.
constexpr double default_Ca = 0.073;  // [uM]
constexpr double default_h = 0.793;

// The equations of NEST astrocyte_lr_1994 (science-spec §6.1), per astrocyte:
//   dIP3/dt = (IP3_0 - IP3) / tau_IP3
//   dCa/dt  = J_channel - J_pump + J_leak + J_noise
//   dh/dt   = alpha_h (1 - h) - beta_h h
// with Ca clamped to [0, Ca_tot] inside the right-hand side, and
//   m_inf = IP3 / (IP3 + Kd_IP3_1),  n_inf = Ca / (Ca + Kd_act),
//   Ca_ER = (Ca_tot - Ca) / ratio_ER_cyt,
//   J_channel = ratio_ER_cyt rate_IP3R m_inf^3 n_inf^3 h^3 (Ca_ER - Ca),
//   J_leak = ratio_ER_cyt rate_L (Ca_ER - Ca),
//   J_pump = rate_SERCA Ca^2 / (Km_SERCA^2 + Ca^2),
//   alpha_h = k_IP3R Kd_inh (IP3 + Kd_IP3_1) / (IP3 + Kd_IP3_2),  beta_h = k_IP3R Ca.
//
// One step n (t_n to t_n + dt): classical RK4 on all three variables over `substeps` equal
// substeps, J_noise = the step's external current (held over the step); then Ca is clamped to
// [0, Ca_tot]; then IP3 += delta_IP3 * (sum of the spike weights delivered in the step); then
// the SIC of the new state: y = (Ca - SIC_th) * 1000, SIC = SIC_scale ln(y) if y > 1 else 0.
// NEST's order (astrocyte_lr_1994::update), except that NEST applies a current one step
// after the step it arrives in (for all its models) and integrates with GSL's adaptive RKF45.
class astrocyte_block final: public neuron_block {
public:
    std::unique_ptr<neuron_block> clone() const override {
        return std::make_unique<astrocyte_block>(*this);
    }
    explicit astrocyte_block(const block_args& a) {
        const auto& p = a.params;
        Ca_tot_ = p.scalar(Ca_tot);
        IP3_0_ = p.scalar(IP3_0);
        Kd1_ = p.scalar(Kd_IP3_1);
        Kd2_ = p.scalar(Kd_IP3_2);
        Kd_act_ = p.scalar(Kd_act);
        Km2_ = p.scalar(Km_SERCA) * p.scalar(Km_SERCA);
        SIC_scale_ = p.scalar(SIC_scale);
        SIC_th_ = p.scalar(SIC_th);
        delta_IP3_ = p.scalar(delta_IP3);
        k_inh_ = p.scalar(k_IP3R) * p.scalar(Kd_inh);
        k_IP3R_ = p.scalar(k_IP3R);
        chan_ = p.scalar(ratio_ER_cyt) * p.scalar(rate_IP3R);
        leak_ = p.scalar(ratio_ER_cyt) * p.scalar(rate_L);
        rate_SERCA_ = p.scalar(rate_SERCA);
        inv_ratio_ = 1.0 / p.scalar(ratio_ER_cyt);
        inv_tau_ = 1.0 / p.scalar(tau_IP3);
        n_sub_ = static_cast<int>(p.scalar(substeps));
        h_ = a.dt / n_sub_;

        ip3_.resize(a.count);
        ca_.resize(a.count);
        hr_.resize(a.count);
        sic_.assign(a.count, 0.0);
        if (a.initial.has(SIC)) {
            throw error("SIC is the astrocyte's output, not a state: it cannot be initialised");
        }
        for (std::size_t k = 0; k < a.count; ++k) {
            const std::size_t i = a.first + k;
            ip3_[k] = a.initial.has(IP3) ? a.initial.at(IP3, i) : IP3_0_;
            ca_[k] = a.initial.has(Ca_astro) ? a.initial.at(Ca_astro, i) : default_Ca;
            hr_[k] = a.initial.has(h_IP3R) ? a.initial.at(h_IP3R, i) : default_h;
            if (!(ip3_[k] >= 0)) {
                throw error(
                    fmt::format("initial IP3 must be >= 0 uM, got {} (neuron {})", ip3_[k], i));
            }
            if (!(ca_[k] >= 0)) {
                throw error(
                    fmt::format("initial Ca_astro must be >= 0 uM, got {} (neuron {})", ca_[k], i));
            }
            if (!(hr_[k] >= 0 && hr_[k] <= 1)) {
                throw error(
                    fmt::format("initial h_IP3R must be in [0, 1], got {} (neuron {})", hr_[k], i));
            }
        }
    }

    void advance(step_t, std::span<const double> input, std::span<const double> current,
                 std::vector<std::uint32_t>&) override {
        if (current.empty()) {
            integrate<false>(current);
        } else {
            integrate<true>(current);
        }
        const std::size_t n = ca_.size();
        const double* in = input.data();
        for (std::size_t i = 0; i < n; ++i) {
            const double ca = std::clamp(ca_[i], 0.0, Ca_tot_);
            ca_[i] = ca;
            ip3_[i] += delta_IP3_ * in[i];
            // 1000: uM -> nM, as in Nadkarni & Jung (2003) and NEST.
            const double y = (ca - SIC_th_) * 1000.0;
            double sic = 0.0;
            if (y > 1.0) {  // a branch: log() is costly, and most astrocytes sit below
                sic = SIC_scale_ * std::log(y);
            }
            sic_[i] = sic;
        }
    }

    void graded_output(std::span<double> out) const override {
        std::copy(sic_.begin(), sic_.end(), out.begin());
    }

    void sample(std::size_t var, std::span<const std::uint32_t> local,
                std::span<float> out) const override {
        sample_column(column(var), local, out);
    }

    double value(std::size_t var, std::uint32_t local) const override { return column(var)[local]; }

    // State: IP3, Ca, h and the SIC of the current state (read by reports before the next
    // step recomputes it).
    void save_state(step_t, state_columns& out) const override {
        out.put("IP3", ip3_);
        out.put("Ca_astro", ca_);
        out.put("h_IP3R", hr_);
        out.put("SIC", sic_);
    }
    void load_state(step_t, const state_columns& in) override {
        in.get("IP3", ip3_);
        in.get("Ca_astro", ca_);
        in.get("h_IP3R", hr_);
        in.get("SIC", sic_);
    }

private:
    // The right-hand side at (ip3, ca, h) with external flux J [uM/ms]; Ca is clamped first.
    void rhs(double ip3, double ca_raw, double h, double J, double& d_ip3, double& d_ca,
             double& d_h) const {
        const double ca = std::min(std::max(ca_raw, 0.0), Ca_tot_);
        const double m = ip3 / (ip3 + Kd1_);
        const double nn = ca / (ca + Kd_act_);
        const double ca_er = (Ca_tot_ - ca) * inv_ratio_;
        const double gate = m * nn * h;
        const double ca2 = ca * ca;
        const double J_channel = chan_ * gate * gate * gate * (ca_er - ca);
        const double J_leak = leak_ * (ca_er - ca);
        const double J_pump = rate_SERCA_ * ca2 / (Km2_ + ca2);
        const double alpha = k_inh_ * (ip3 + Kd1_) / (ip3 + Kd2_);
        d_ip3 = (IP3_0_ - ip3) * inv_tau_;
        d_ca = J_channel - J_pump + J_leak + J;
        d_h = alpha * (1.0 - h) - k_IP3R_ * ca * h;
    }

    // Classical RK4 on every astrocyte over n_sub_ substeps; each loop over astrocytes is
    // straight-line code, which the compiler vectorises.
    template <bool HasCurrent>
    void integrate(std::span<const double> current) {
        const std::size_t n = ca_.size();
        const double h = h_;
        double* ip3 = ip3_.data();
        double* ca = ca_.data();
        double* hr = hr_.data();
        for (int s = 0; s < n_sub_; ++s) {
            for (std::size_t i = 0; i < n; ++i) {
                const double J = HasCurrent ? current[i] : 0.0;
                const double y1 = ip3[i], y2 = ca[i], y3 = hr[i];
                double a1, a2, a3, b1, b2, b3, c1, c2, c3, d1, d2, d3;
                rhs(y1, y2, y3, J, a1, a2, a3);
                rhs(y1 + 0.5 * h * a1, y2 + 0.5 * h * a2, y3 + 0.5 * h * a3, J, b1, b2, b3);
                rhs(y1 + 0.5 * h * b1, y2 + 0.5 * h * b2, y3 + 0.5 * h * b3, J, c1, c2, c3);
                rhs(y1 + h * c1, y2 + h * c2, y3 + h * c3, J, d1, d2, d3);
                ip3[i] = y1 + h / 6.0 * (a1 + 2.0 * b1 + 2.0 * c1 + d1);
                ca[i] = y2 + h / 6.0 * (a2 + 2.0 * b2 + 2.0 * c2 + d2);
                hr[i] = y3 + h / 6.0 * (a3 + 2.0 * b3 + 2.0 * c3 + d3);
            }
        }
    }

    const std::vector<double>& column(std::size_t var) const {
        switch (var) {
        case IP3:
            return ip3_;
        case Ca_astro:
            return ca_;
        case h_IP3R:
            return hr_;
        case SIC:
            return sic_;
        default:
            throw internal_error(fmt::format("astrocyte_lr_1994 has no variable {}", var));
        }
    }

    double Ca_tot_, IP3_0_;      // [uM]
    double Kd1_, Kd2_, Kd_act_;  // [uM]
    double Km2_;                 // Km_SERCA^2 [uM^2]
    double SIC_scale_;           // [pA]
    double SIC_th_, delta_IP3_;  // [uM]
    double k_inh_;               // k_IP3R Kd_inh [1/ms]
    double k_IP3R_;              // [1/(uM ms)]
    double chan_, leak_;         // ratio_ER_cyt rate_IP3R, ratio_ER_cyt rate_L [1/ms]
    double rate_SERCA_;          // [uM/ms]
    double inv_ratio_;           // 1 / ratio_ER_cyt
    double inv_tau_;             // 1 / tau_IP3 [1/ms]
    int n_sub_;                  // RK4 substeps per step
    double h_;                   // substep [ms]
    std::vector<double> ip3_;    // IP3 [uM]
    std::vector<double> ca_;     // cytosolic calcium [uM], in [0, Ca_tot] after each step
    std::vector<double> hr_;     // fraction of active IP3 receptors, h_IP3R
    std::vector<double> sic_;    // SIC of the current state [pA] (0 before the first step)
};

void validate(const value_table& p, std::size_t) {
    const double m = p.scalar(substeps);
    if (!(m >= 1 && m <= max_substeps && m == std::floor(m))) {
        throw error(
            fmt::format("substeps must be a whole number from 1 to {}, got {}", max_substeps, m));
    }
}

std::unique_ptr<neuron_block> make(const block_args& a) {
    return std::make_unique<astrocyte_block>(a);
}

}  // namespace

neuron_model astrocyte_lr_1994_model() {
    model_info info;
    info.name = "astrocyte_lr_1994";
    info.doc = "Li-Rinzel astrocyte (IP3, Ca, h) with slow inward current output, RK4";
    using d = dimension;
    using r = value_range;
    info.params = {
        {"Ca_tot", d::concentration, 2.0,
         "total free calcium in terms of cytosolic volume; Ca is kept in [0, Ca_tot]", r::positive},
        {"IP3_0", d::concentration, 0.16, "baseline IP3 (and its default initial value)",
         r::non_negative},
        {"Kd_IP3_1", d::concentration, 0.13, "first IP3R dissociation constant of IP3",
         r::positive},
        {"Kd_IP3_2", d::concentration, 0.9434, "second IP3R dissociation constant of IP3",
         r::positive},
        {"Kd_act", d::concentration, 0.08234, "IP3R dissociation constant of Ca (activation)",
         r::positive},
        {"Kd_inh", d::concentration, 1.049, "IP3R dissociation constant of Ca (inhibition)",
         r::non_negative},
        {"Km_SERCA", d::concentration, 0.1, "activation constant of the SERCA pump", r::positive},
        {"SIC_scale", d::current, 1.0, "scale of the SIC output (SIC = SIC_scale ln(y))",
         r::positive},
        {"SIC_th", d::concentration, 0.19669, "Ca threshold of the SIC", r::non_negative},
        {"delta_IP3", d::concentration, 0.0002, "IP3 increase per unit of spike weight",
         r::non_negative},
        {"k_IP3R", d::none, 0.0002, "IP3R binding rate for Ca inhibition [1/(uM ms)]",
         r::non_negative},
        {"rate_IP3R", d::none, 0.006, "maximum rate of Ca release via IP3R [1/ms]",
         r::non_negative},
        {"rate_L", d::none, 0.00011, "rate of Ca leak from the ER to the cytosol [1/ms]",
         r::non_negative},
        {"rate_SERCA", d::none, 0.0009, "maximum rate of Ca uptake by SERCA [uM/ms]",
         r::non_negative},
        {"ratio_ER_cyt", d::none, 0.185, "ratio of ER to cytosol volume", r::positive},
        {"tau_IP3", d::time, 7142.0, "time constant of the IP3 decay", r::positive},
        {"substeps", d::none, default_substeps, "RK4 substeps per time step (whole number >= 1)",
         r::positive},
    };
    info.variables = {
        {"IP3", d::concentration, "IP3 concentration (default: IP3_0)"},
        {"Ca_astro", d::concentration, "cytosolic calcium (default: 0.073 uM)"},
        {"h_IP3R", d::none, "fraction of active IP3 receptors (default: 0.793)"},
        {"SIC", d::current,
         "slow inward current sent through sic connections: the output of the last step "
         "(0 before the first step; not initialisable)"},
    };
    info.ports = {
        {"ip3", d::none,
         "spike input: IP3 += delta_IP3 * (sum of the step's weights) after the step",
         r::non_negative},
    };
    info.accepts_current = true;
    info.emits_spikes = false;
    info.emits_graded = true;
    return neuron_model{std::move(info), validate, make};
}

}  // namespace glia::models
