#pragma once
// Poisson counts by inversion of a precomputed distribution function: the hot path of
// NEST-style poisson_generator input, one draw per target neuron and step (Brunel's network:
// 12,500 draws per 0.1 ms step).
//
// count(u) = #{ j : u >= F(j) } for F(j) = P(X <= j) and u uniform on [0, 1): the smallest k
// with u < F(k). A guide table gives the count at the start of each of 256 equal slices of
// [0, 1), so a draw costs one lookup and, only in slices that hold a step of F, a comparison
// or two (Chen & Asau's guide-table method). F is tabulated until 1 - F(j) < 1e-16, so the
// tail beyond is cut at that probability.

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
        cdf_.push_back(2.0);  // sentinel: u < 1 stops every search here
        for (std::size_t g = 0; g < guide_size; ++g) {
            const double u = static_cast<double>(g) / guide_size;
            std::uint32_t k = 0;
            while (u >= cdf_[k]) {
                ++k;
            }
            guide_[g] = k;
        }
    }

    bool tabulated() const { return !cdf_.empty(); }
    double lambda() const { return lambda_; }

    // u in [0, 1).
    std::uint32_t operator()(double u) const {
        std::uint32_t k = guide_[static_cast<std::size_t>(u * guide_size)];
        while (u >= cdf_[k]) {
            ++k;
        }
        return k;
    }

private:
    static constexpr std::size_t guide_size = 256;
    double lambda_;
    std::vector<double> cdf_;  // F(0), F(1), ..., then a sentinel 2.0
    std::uint32_t guide_[guide_size] = {};  // count(g / guide_size)
};

}  // namespace glia
