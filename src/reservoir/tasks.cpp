#include "reservoir/tasks.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "reservoir/linear_model.hpp"

namespace glia::reservoir {

namespace {

using index = Eigen::Index;

struct row_ranges {
    std::size_t first_train = 0;
    std::size_t n_train = 0;
    std::size_t n_test = 0;
};

row_ranges split_rows(std::size_t n_rows, std::size_t first_usable, const linear_task_params& p,
                      const char* task) {
    if (!(p.train_fraction > 0 && p.train_fraction < 1)) {
        throw error(
            fmt::format("{}: train_fraction must be in (0, 1), got {}", task, p.train_fraction));
    }
    if (first_usable >= n_rows) {
        throw error(fmt::format("{}: {} rows leave none after the first {} (washout and delays)",
                                task, n_rows, first_usable));
    }
    const std::size_t usable = n_rows - first_usable;
    const auto n_train =
        static_cast<std::size_t>(std::floor(static_cast<double>(usable) * p.train_fraction));
    if (n_train < 2 || usable - n_train < 2) {
        throw error(fmt::format("{}: {} usable rows split {} / {} (train / test): each part needs "
                                "at least 2",
                                task, usable, n_train, usable - n_train));
    }
    return {first_usable, n_train, usable - n_train};
}

void require_finite_series(std::span<const double> v, const char* what) {
    for (std::size_t t = 0; t < v.size(); ++t) {
        if (!std::isfinite(v[t])) {
            throw error(fmt::format("{}: value {} at t = {} is not finite", what, v[t], t));
        }
    }
}

double nrmse(const Eigen::VectorXd& prediction, const Eigen::VectorXd& target) {
    const double mean = target.mean();
    const double var = (target.array() - mean).square().mean();
    const double mse = (prediction - target).squaredNorm() / static_cast<double>(target.size());
    return std::sqrt(mse / var);
}

}  // namespace

memory_capacity_result memory_capacity(feature_view states, std::span<const double> u,
                                       std::size_t k_max, const linear_task_params& p) {
    if (u.size() != states.n_rows()) {
        throw error(
            fmt::format("memory_capacity: {} state rows but {} inputs", states.n_rows(), u.size()));
    }
    if (k_max == 0) {
        throw error("memory_capacity: k_max must be >= 1");
    }
    const row_ranges r =
        split_rows(states.n_rows(), std::max(p.washout, k_max), p, "memory_capacity");
    require_finite(states, "memory_capacity");
    require_finite_series(u, "memory_capacity: input u");
    // Targets: column k - 1 holds u(t - k) for every used row t.
    const auto fill_targets = [&](std::size_t first, std::size_t count) {
        Eigen::MatrixXd y(static_cast<index>(count), static_cast<index>(k_max));
        for (std::size_t i = 0; i < count; ++i) {
            for (std::size_t k = 1; k <= k_max; ++k) {
                y(static_cast<index>(i), static_cast<index>(k - 1)) = u[first + i - k];
            }
        }
        return y;
    };
    const feature_view train = states.rows(r.first_train, r.n_train);
    const feature_view test = states.rows(r.first_train + r.n_train, r.n_test);
    const standardizer s = standardizer::fit(train, p.standardize);
    const Eigen::MatrixXd W =
        solve_ridge(accumulate_normal_equations(train, s, fill_targets(r.first_train, r.n_train)),
                    p.ridge_lambda);
    const Eigen::MatrixXd prediction = predict_linear(test, s, W);
    const Eigen::MatrixXd target = fill_targets(r.first_train + r.n_train, r.n_test);

    memory_capacity_result out;
    for (index k = 0; k < static_cast<index>(k_max); ++k) {
        const Eigen::ArrayXd a = target.col(k).array() - target.col(k).mean();
        const Eigen::ArrayXd b = prediction.col(k).array() - prediction.col(k).mean();
        const double cov = (a * b).mean();
        const double var_a = a.square().mean();
        const double var_b = b.square().mean();
        // A constant prediction (no information) has no correlation with the target.
        const double mc_k = var_a > 0 && var_b > 0 ? cov * cov / (var_a * var_b) : 0.0;
        out.mc_k.push_back(mc_k);
        out.mc += mc_k;
    }
    return out;
}

std::vector<double> uniform_series(std::size_t n, double low, double high, std::uint64_t seed) {
    if (!(low < high)) {
        throw error(fmt::format("uniform_series: needs low < high, got [{}, {})", low, high));
    }
    rng_stream rng(stream_key(seed, stream::reservoir), 1, 0);
    std::vector<double> u(n);
    for (double& v: u) {
        v = rng.uniform(low, high);
    }
    return u;
}

std::vector<double> narma_series(std::span<const double> u, const narma_params& p) {
    if (p.order == 0) {
        throw error("narma_series: order must be >= 1");
    }
    const std::size_t n = p.order;
    std::vector<double> y(u.size(), 0.0);
    for (std::size_t t = n; t + 1 < u.size(); ++t) {
        double window = 0;  // sum_{i=0}^{n-1} y(t - i)
        for (std::size_t i = 0; i < n; ++i) {
            window += y[t - i];
        }
        y[t + 1] = p.a1 * y[t] + p.a2 * y[t] * window + p.b * u[t - n] * u[t] + p.c;
        if (!std::isfinite(y[t + 1])) {
            throw error(fmt::format("narma_series: the series diverged at t = {} (order {}, a1 "
                                    "{}, a2 {}, b {}, c {})",
                                    t + 1, n, p.a1, p.a2, p.b, p.c));
        }
    }
    return y;
}

regression_result linear_regression_task(feature_view states, std::span<const double> target,
                                         const linear_task_params& p) {
    if (target.size() != states.n_rows()) {
        throw error(fmt::format("linear_regression_task: {} state rows but {} targets",
                                states.n_rows(), target.size()));
    }
    const row_ranges r = split_rows(states.n_rows(), p.washout, p, "linear_regression_task");
    require_finite(states, "linear_regression_task");
    require_finite_series(target, "linear_regression_task: target");
    const auto segment = [&](std::size_t first, std::size_t count) {
        Eigen::VectorXd v(static_cast<index>(count));
        for (std::size_t i = 0; i < count; ++i) {
            v[static_cast<index>(i)] = target[first + i];
        }
        return v;
    };
    const feature_view train = states.rows(r.first_train, r.n_train);
    const feature_view test = states.rows(r.first_train + r.n_train, r.n_test);
    const standardizer s = standardizer::fit(train, p.standardize);
    const Eigen::VectorXd y_train = segment(r.first_train, r.n_train);
    const Eigen::VectorXd y_test = segment(r.first_train + r.n_train, r.n_test);
    const Eigen::MatrixXd W =
        solve_ridge(accumulate_normal_equations(train, s, y_train), p.ridge_lambda);
    const Eigen::VectorXd pred_train = predict_linear(train, s, W).col(0);
    const Eigen::VectorXd pred_test = predict_linear(test, s, W).col(0);
    regression_result out;
    out.nrmse_train = nrmse(pred_train, y_train);
    out.nrmse_test = nrmse(pred_test, y_test);
    out.test_prediction.assign(pred_test.data(), pred_test.data() + pred_test.size());
    out.test_target.assign(y_test.data(), y_test.data() + y_test.size());
    return out;
}

regression_result narma_task(feature_view states, std::span<const double> y,
                             const linear_task_params& p) {
    if (y.size() != states.n_rows()) {
        throw error(fmt::format("narma_task: {} state rows but {} NARMA values", states.n_rows(),
                                y.size()));
    }
    if (y.size() < 2) {
        throw error("narma_task: needs at least 2 rows");
    }
    return linear_regression_task(states.rows(0, states.n_rows() - 1), y.subspan(1), p);
}

}  // namespace glia::reservoir
