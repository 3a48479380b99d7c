#include "reservoir/linear_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>

#include <glia/error.hpp>

namespace glia::reservoir {

namespace {

constexpr std::size_t row_chunk = 512;    // rows per chunk of a sum (fixed: part of the result)
constexpr std::size_t column_block = 64;  // output columns per task

using index = Eigen::Index;

// Rows [first, first + count) of [standardise(x), 1] as a dense double matrix.
void load_chunk(feature_view x, const standardizer& s, std::size_t first, std::size_t count,
                Eigen::MatrixXd& out) {
    const std::size_t d = x.n_cols();
    out.resize(static_cast<index>(count), static_cast<index>(d + 1));
    for (std::size_t r = 0; r < count; ++r) {
        const float* row = x.data() + (first + r) * d;
        for (std::size_t j = 0; j < d; ++j) {
            const auto jj = static_cast<index>(j);
            out(static_cast<index>(r), jj) =
                (static_cast<double>(row[j]) - s.mean[jj]) * s.inv_scale[jj];
        }
        out(static_cast<index>(r), static_cast<index>(d)) = 1.0;
    }
}

}  // namespace

standardizer standardizer::fit(feature_view x, bool enabled) {
    const std::size_t d = x.n_cols();
    const std::size_t n = x.n_rows();
    standardizer s;
    s.mean = Eigen::VectorXd::Zero(static_cast<index>(d));
    s.inv_scale = Eigen::VectorXd::Ones(static_cast<index>(d));
    if (!enabled || n == 0) {
        return s;
    }
    const std::size_t n_blocks = (d + column_block - 1) / column_block;
    oneapi::tbb::parallel_for(std::size_t{0}, n_blocks, [&](std::size_t b) {
        const std::size_t j0 = b * column_block;
        const std::size_t j1 = std::min(d, j0 + column_block);
        for (std::size_t j = j0; j < j1; ++j) {
            double sum = 0;
            for (std::size_t i = 0; i < n; ++i) {
                sum += static_cast<double>(x.data()[i * d + j]);
            }
            const double mean = sum / static_cast<double>(n);
            double ss = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const double dev = static_cast<double>(x.data()[i * d + j]) - mean;
                ss += dev * dev;
            }
            const double sd = std::sqrt(ss / static_cast<double>(n));
            s.mean[static_cast<index>(j)] = mean;
            // A (numerically) constant feature carries no information: scale 0 removes it.
            s.inv_scale[static_cast<index>(j)] =
                sd > 1e-12 * std::max(1.0, std::abs(mean)) ? 1.0 / sd : 0.0;
        }
    });
    return s;
}

normal_equations accumulate_normal_equations(feature_view x, const standardizer& s,
                                             const Eigen::MatrixXd& y) {
    const std::size_t n = x.n_rows();
    const std::size_t d = x.n_cols();
    if (static_cast<std::size_t>(y.rows()) != n) {
        throw internal_error(
            fmt::format("accumulate_normal_equations: {} samples but {} targets", n, y.rows()));
    }
    if (s.n_features() != d) {
        throw internal_error("accumulate_normal_equations: standardizer of another width");
    }
    const auto p = static_cast<index>(d + 1);
    const auto m = static_cast<index>(y.cols());
    normal_equations eq;
    eq.n_samples = n;
    eq.gram = Eigen::MatrixXd::Zero(p, p);
    eq.cross = Eigen::MatrixXd::Zero(p, m);
    // Output columns 0..p-1 are the Gram matrix (lower triangle computed, then mirrored), columns
    // p..p+m-1 the cross products. Each task owns a block of output columns.
    const std::size_t n_out = static_cast<std::size_t>(p + m);
    const std::size_t n_blocks = (n_out + column_block - 1) / column_block;
    oneapi::tbb::parallel_for(std::size_t{0}, n_blocks, [&](std::size_t b) {
        const auto c0 = static_cast<index>(b * column_block);
        const auto c1 = static_cast<index>(std::min(n_out, (b + 1) * column_block));
        Eigen::MatrixXd z;
        for (std::size_t first = 0; first < n; first += row_chunk) {
            const std::size_t count = std::min(row_chunk, n - first);
            load_chunk(x, s, first, count, z);
            // Gram part of this block: columns [c0, min(c1, p)), rows >= c0 (lower triangle).
            if (c0 < p) {
                const index g1 = std::min(c1, p);
                eq.gram.block(c0, c0, p - c0, g1 - c0).noalias() +=
                    z.rightCols(p - c0).transpose() * z.middleCols(c0, g1 - c0);
            }
            // Cross part: columns [max(c0, p), c1) of the output are columns of y.
            if (c1 > p) {
                const index k0 = std::max(c0, p) - p;
                const index k1 = c1 - p;
                eq.cross.middleCols(k0, k1 - k0).noalias() +=
                    z.transpose() *
                    y.block(static_cast<index>(first), k0, static_cast<index>(count), k1 - k0);
            }
        }
    });
    Eigen::MatrixXd full = eq.gram.selfadjointView<Eigen::Lower>();  // mirror the lower triangle
    eq.gram = std::move(full);
    return eq;
}

Eigen::MatrixXd solve_ridge(const normal_equations& eq, double lambda) {
    if (!(lambda > 0) || !std::isfinite(lambda)) {
        throw error(fmt::format("ridge: lambda must be finite and > 0, got {}", lambda));
    }
    Eigen::MatrixXd a = eq.gram;
    const index d = a.rows() - 1;
    a.diagonal().head(d).array() += lambda;  // the bias (last) is not penalised
    const Eigen::LLT<Eigen::MatrixXd> llt(a);
    if (llt.info() != Eigen::Success) {
        throw error(fmt::format("ridge: the regularised normal equations are not positive "
                                "definite (lambda = {}, {} samples): no samples, non-finite "
                                "features, or a lambda too small for features of this scale "
                                "(give a larger one)",
                                lambda, eq.n_samples));
    }
    return llt.solve(eq.cross);
}

Eigen::MatrixXd predict_linear(feature_view x, const standardizer& s, const Eigen::MatrixXd& W) {
    const std::size_t n = x.n_rows();
    Eigen::MatrixXd out(static_cast<index>(n), W.cols());
    const std::size_t n_chunks = (n + row_chunk - 1) / row_chunk;
    oneapi::tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
        const std::size_t first = c * row_chunk;
        const std::size_t count = std::min(row_chunk, n - first);
        Eigen::MatrixXd z;
        load_chunk(x, s, first, count, z);
        out.middleRows(static_cast<index>(first), static_cast<index>(count)).noalias() = z * W;
    });
    return out;
}

}  // namespace glia::reservoir
