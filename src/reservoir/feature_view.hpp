#pragma once
// A read-only view of a samples x features matrix of floats, row-major (one sample per row): the
// form in which the reservoir protocol hands its per-sample features (spike counts, binned
// counts, membrane states) and time-series states to the readouts. float keeps 70,000 x 8,000
// features at 2.2 GB; the readouts compute in double.

#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia::reservoir {

class feature_view {
public:
    feature_view() = default;
    feature_view(std::span<const float> values, std::size_t n_rows, std::size_t n_cols):
        values_(values), n_rows_(n_rows), n_cols_(n_cols) {
        if (values.size() != n_rows * n_cols) {
            throw error(fmt::format("feature matrix of {} x {} needs {} values, got {}", n_rows,
                                    n_cols, n_rows * n_cols, values.size()));
        }
    }

    std::size_t n_rows() const { return n_rows_; }
    std::size_t n_cols() const { return n_cols_; }
    const float* data() const { return values_.data(); }
    std::span<const float> row(std::size_t i) const {
        return values_.subspan(i * n_cols_, n_cols_);
    }
    // Rows [first, first + count).
    feature_view rows(std::size_t first, std::size_t count) const {
        return {values_.subspan(first * n_cols_, count * n_cols_), count, n_cols_};
    }

private:
    std::span<const float> values_;
    std::size_t n_rows_ = 0;
    std::size_t n_cols_ = 0;
};

// Throws glia::error naming the first NaN or infinite value ("<what>: feature matrix ...").
inline void require_finite(feature_view x, std::string_view what) {
    for (std::size_t i = 0; i < x.n_rows(); ++i) {
        const auto row = x.row(i);
        for (std::size_t j = 0; j < row.size(); ++j) {
            if (!std::isfinite(row[j])) {
                throw error(fmt::format("{}: feature matrix value at row {}, column {} is {}; "
                                        "features must be finite",
                                        what, i, j, row[j]));
            }
        }
    }
}

}  // namespace glia::reservoir
