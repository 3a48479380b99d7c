#pragma once
// Poisson counts by inversion of a precomputed distribution function: the hot path of
// NEST-style poisson_generator input, one draw per target neuron and step (Brunel's network:
// 12,500 draws per 0.1 ms step).
//
// count(u) = #{ j : u >= F(j) } for F(j) = P(X <= j) and u uniform on [0, 1). The first 16
// comparisons are branch-free (no mispredicted loop exits); the rare rest is a loop. F is
// tabulated until 1 - F(j) < 1e-16, so the tail beyond is cut at that probability.

#include <cmath>
#include <cstdint>
#include <vector>

namespace glia {

class poisson_sampler {
public:
    static constexpr double max_table_lambda = 16;  // above: the caller draws otherwise

    explicit poisson_sampler(double lambda) : lambda_(lambda) {
        if (!(lambda <= max_table_lambda)) {
            return;
        }
        double p = std::exp(-lambda);
        double F = p;
        for (int k = 0; k < 1000; ++k) {
            cdf_.push_back(F);
            if (1.0 - F < 1e-16) {
                break;
            }
            p *= lambda / (k + 1);
            F += p;
        }
        while (cdf_.size() < branch_free) {
            cdf_.push_back(2.0);  // never reached: u < 1
        }
    }

    bool tabulated() const { return !cdf_.empty(); }
    double lambda() const { return lambda_; }

    std::uint32_t operator()(double u) const {
        const double* F = cdf_.data();
        std::uint32_t k = 0;
        for (std::size_t j = 0; j < branch_free; ++j) {
            k += u >= F[j] ? 1u : 0u;
        }
        if (k < branch_free) {
            return k;
        }
        while (k < cdf_.size() && u >= F[k]) {
            ++k;
        }
        return k;
    }

private:
    static constexpr std::size_t branch_free = 16;
    double lambda_;
    std::vector<double> cdf_;  // F(0), F(1), ... padded to at least branch_free entries
};

}  // namespace glia
