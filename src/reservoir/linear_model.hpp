#pragma once
// Ridge regression with an unpenalised bias, the shared core of the ridge classifier
// (readout.hpp) and the time-series tasks (tasks.hpp).
//
// With Z = [standardise(X), 1] (n x (d + 1)) and targets Y (n x m):
//
//   W = (Z^T Z + lambda * diag(1, ..., 1, 0))^-1 Z^T Y,     W: (d + 1) x m, last row the bias.
//
// The bias is not penalised, so the solution does not depend on the features' means.
// standardise() subtracts the training mean and divides by the training standard deviation
// (population formula) per feature; a constant feature gets scale 0 and drops out. With
// standardisation off, Z = [X, 1].
//
// Determinism: Z^T Z and Z^T Y are computed in parallel (oneTBB) over blocks of output columns,
// each a sum over fixed chunks of rows in row order, so the result does not depend on the
// number of threads.

#include <cstddef>
#include <span>

#include <Eigen/Dense>

#include "reservoir/feature_view.hpp"

namespace glia::reservoir {

struct standardizer {
    Eigen::VectorXd mean;       // per feature, over the training rows
    Eigen::VectorXd inv_scale;  // 1 / standard deviation; 0 for a constant feature

    // Identity (mean 0, scale 1) when !enabled.
    static standardizer fit(feature_view x, bool enabled);
    std::size_t n_features() const { return static_cast<std::size_t>(mean.size()); }
};

// Z^T Z and Z^T Y for Z = [standardise(x), 1]; y: n x m, column-major (Eigen's default).
struct normal_equations {
    Eigen::MatrixXd gram;   // (d + 1) x (d + 1)
    Eigen::MatrixXd cross;  // (d + 1) x m
    std::size_t n_samples = 0;
};
normal_equations accumulate_normal_equations(feature_view x, const standardizer& s,
                                             const Eigen::MatrixXd& y);

// W for one lambda (> 0: a glia::error otherwise), by Cholesky.
Eigen::MatrixXd solve_ridge(const normal_equations& eq, double lambda);

// x (n x d) -> [standardise(x), 1] W (n x m), in parallel over rows.
Eigen::MatrixXd predict_linear(feature_view x, const standardizer& s, const Eigen::MatrixXd& W);

}  // namespace glia::reservoir
