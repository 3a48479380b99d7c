#pragma once
// Reservoir time-series benchmarks on a state matrix produced elsewhere (science-spec §3;
// docs/reservoir.md). Row t of `states` (T x n_features) is the reservoir state after it received
// input u(t). Readouts are ridge regressions with an unpenalised bias (linear_model.hpp), trained
// on the first part of the rows after a washout and scored on the rest (held out).
//
// Memory capacity (Jaeger 2002): u i.i.d. uniform; for each delay k = 1..k_max a readout y_k is
// trained to output u(t - k); on the held-out rows
//   MC_k = cov^2(u(t - k), y_k(t)) / (var(u(t - k)) var(y_k(t))),   MC = sum_k MC_k.
//
// NARMA-n (science-spec §3, reservoirpy's coefficients), u ~ U[0, 0.5]:
//   y(t+1) = a1 y(t) + a2 y(t) sum_{i=0}^{n-1} y(t-i) + b u(t-n) u(t) + c,
//   a1 = 0.2, a2 = 0.04, b = 1.5, c = 0.001, y(t) = 0 for t <= n.
// The state after u(t) is trained to output y(t+1), the first value that depends on u(t);
// NRMSE = sqrt(mean((y_hat - y)^2) / var(y)) on the held-out rows.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "reservoir/feature_view.hpp"

namespace glia::reservoir {

struct linear_task_params {
    std::size_t washout = 100;    // first rows dropped (reservoir transient)
    double train_fraction = 0.7;  // of the rows after the washout; the rest is held out
    double ridge_lambda = 1e-6;   // on standardised features (the diagonal of Z^T Z ~ n_train)
    bool standardize = true;
};

struct memory_capacity_result {
    double mc = 0;             // sum of mc_k
    std::vector<double> mc_k;  // mc_k[k - 1] for k = 1..k_max
};

// u.size() must equal states.n_rows(); all delays use the same rows (t >= max(washout, k_max)).
memory_capacity_result memory_capacity(feature_view states, std::span<const double> u,
                                       std::size_t k_max, const linear_task_params& params = {});

// n values i.i.d. uniform on [low, high): glia::rng_stream(stream::reservoir, entity 1).
std::vector<double> uniform_series(std::size_t n, double low, double high, std::uint64_t seed);

struct narma_params {
    std::size_t order = 10;  // n
    double a1 = 0.2;
    double a2 = 0.04;
    double b = 1.5;
    double c = 0.001;
};

// y for the input series u (same length). Throws glia::error if y stops being finite.
std::vector<double> narma_series(std::span<const double> u, const narma_params& params = {});

struct regression_result {
    double nrmse_train = 0;
    double nrmse_test = 0;
    std::vector<double> test_prediction;  // held-out predictions, in time order
    std::vector<double> test_target;
};

// A linear readout of `states` trained to output target(t) from row t (rows and targets aligned),
// scored as NRMSE.
regression_result linear_regression_task(feature_view states, std::span<const double> target,
                                         const linear_task_params& params = {});

// NARMA: row t predicts y(t + 1), so the last row is not used. y.size() == states.n_rows().
regression_result narma_task(feature_view states, std::span<const double> y,
                             const linear_task_params& params = {});

}  // namespace glia::reservoir
