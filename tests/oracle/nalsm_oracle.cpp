#include "oracle/nalsm_oracle.hpp"

#include <algorithm>
#include <cmath>

namespace glia::oracle {

nalsm_oracle::nalsm_oracle(std::uint32_t n, std::vector<synapse> synapses,
                           std::vector<int> astro_sign, const params& p) :
    n_(n), syn_(std::move(synapses)), sign_(std::move(astro_sign)), p_(p), v_(n), ref_(n),
    x_(n, 0.0), s_(syn_.size()), spk_(n) {
    begin_sample(true);
}

void nalsm_oracle::begin_sample(bool reset_traces) {
    std::fill(v_.begin(), v_.end(), 0.0);
    std::fill(ref_.begin(), ref_.end(), 0.0);
    std::fill(spk_.begin(), spk_.end(), 0);
    std::fill(s_.begin(), s_.end(), static_cast<double>(p_.s_init));
    if (reset_traces) {
        std::fill(x_.begin(), x_.end(), 0.0);
    }
    eta_ = p_.eta;
    a_ = p_.a0;
    w_a_ = p_.w_a;
    b_a_ = p_.b_a;
}

void nalsm_oracle::set_weights(std::span<const double> w) {
    for (std::size_t k = 0; k < syn_.size(); ++k) {
        syn_[k].w = w[k];
    }
}

void nalsm_oracle::step(std::span<const std::uint32_t> ext) {
    // 1. register, 2. reset
    spiked_.clear();
    for (std::uint32_t i = 0; i < n_; ++i) {
        spk_[i] = v_[i] >= p_.v_th && ref_[i] <= 0 ? 1 : 0;
        if (spk_[i]) {
            spiked_.push_back(i);
        }
    }
    for (std::uint32_t i = 0; i < n_; ++i) {
        v_[i] *= 1 - spk_[i];
    }
    // 4. propagate
    for (std::size_t k = 0; k < syn_.size(); ++k) {
        if (spk_[syn_[k].pre]) {
            s_[k] = 0;
        }
    }
    // 5. integrate
    std::vector<double> input(n_, 0.0);
    for (std::size_t k = 0; k < syn_.size(); ++k) {
        input[syn_[k].post] += syn_[k].w * std::exp(-s_[k] / p_.tau_u) / p_.tau_u;
    }
    for (std::uint32_t i: ext) {
        input[i] += p_.i_ext;
    }
    for (std::uint32_t i = 0; i < n_; ++i) {
        v_[i] = v_[i] + input[i] + p_.bias - v_[i] / p_.tau_v;
    }
    // 6. evolve, 7. refractory
    for (double& s: s_) {
        s = std::min(s + 1, 100.0);
    }
    for (std::uint32_t i = 0; i < n_; ++i) {
        ref_[i] = (ref_[i] - 1) * (1 - spk_[i]) + spk_[i] * p_.t_ref;
    }
    // 8. STDP with this step's S and the traces of earlier steps
    if (p_.plasticity != rule::frozen) {
        const double big_a = p_.plasticity == rule::astro ? a_ : eta_;
        for (auto& syn: syn_) {
            const int si = spk_[syn.post];
            const int sj = spk_[syn.pre];
            if (!si && !sj) {
                continue;
            }
            const bool inh = syn.pre_group == group::inhibitory;
            const double l_plus = inh ? -big_a : eta_;
            const double l_minus = inh ? eta_ : -big_a;
            const double dw = l_plus * x_[syn.pre] * si + l_minus * x_[syn.post] * sj;
            const double lo = syn.pre_group == group::excitatory ? 0.0 : -p_.w_max;
            const double hi = syn.pre_group == group::inhibitory ? 0.0 : p_.w_max;
            syn.w = std::clamp(syn.w + dw, lo, hi);
        }
    }
    // 9. traces
    for (std::uint32_t i = 0; i < n_; ++i) {
        x_[i] = p_.d * (x_[i] + p_.a * spk_[i]);
    }
    // 10. astrocyte
    double drive = 0;
    for (std::uint32_t i = 0; i < n_; ++i) {
        drive += spk_[i] * sign_[i];
    }
    a_ += (w_a_ * drive + b_a_ - a_) / p_.tau_a;
    // 11. decays
    eta_ *= p_.decay;
    w_a_ *= p_.decay;
    b_a_ *= p_.decay;
    a_ *= p_.decay;
}

}  // namespace glia::oracle
