#include "reservoir/readout.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "reservoir/metrics.hpp"

namespace glia::reservoir {

namespace {

using index = Eigen::Index;

constexpr std::size_t gradient_chunk = 64;  // rows per partial gradient (fixed: part of the result)

void check(const labelled_features& set, const char* which) {
    if (set.x.n_rows() != set.labels.size()) {
        throw error(fmt::format("readout: the {} set has {} feature rows but {} labels", which,
                                set.x.n_rows(), set.labels.size()));
    }
    require_finite(set.x, fmt::format("readout: the {} set", which));
}

void check_widths(const labelled_features& train, const labelled_features& validation,
                  const labelled_features& test) {
    for (const auto* s: {&validation, &test}) {
        if (s->x.n_rows() > 0 && s->x.n_cols() != train.x.n_cols()) {
            throw error(fmt::format("readout: the {} set has {} features per sample, the "
                                    "training set {}",
                                    s == &validation ? "validation" : "test", s->x.n_cols(),
                                    train.x.n_cols()));
        }
    }
}

std::size_t resolve_classes(const labelled_features& train, const labelled_features& validation,
                            const labelled_features& test, std::size_t n_classes) {
    const std::size_t seen = count_classes(train.labels, validation.labels, test.labels);
    if (n_classes == 0) {
        n_classes = seen;
    }
    if (seen > n_classes) {
        throw error(
            fmt::format("readout: a label {} is present but n_classes = {}", seen - 1, n_classes));
    }
    if (n_classes > 256) {
        throw error(
            fmt::format("readout: at most 256 classes (labels are bytes), got {}", n_classes));
    }
    if (n_classes < 2) {
        throw error(fmt::format("readout: needs at least 2 classes, got {}", n_classes));
    }
    return n_classes;
}

std::uint8_t arg_max(const Eigen::Ref<const Eigen::RowVectorXd>& row) {
    index best = 0;
    for (index c = 1; c < row.size(); ++c) {
        if (row[c] > row[best]) {  // the first maximum, as tf.argmax / np.argmax
            best = c;
        }
    }
    return static_cast<std::uint8_t>(best);
}

// Rows `rows` of x, L1-normalised, into out (count x d); returns the largest element.
double gather_l1(feature_view x, std::span<const std::size_t> rows,
                 Eigen::Ref<Eigen::MatrixXd> out) {
    const std::size_t d = x.n_cols();
    double largest = 0;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const float* src = x.data() + rows[r] * d;
        double l1 = 0;
        for (std::size_t j = 0; j < d; ++j) {
            l1 += std::abs(static_cast<double>(src[j]));
        }
        const auto rr = static_cast<index>(r);
        if (l1 == 0) {  // a sample without spikes: stays zero (NALSM: NaN)
            out.row(rr).setZero();
            continue;
        }
        for (std::size_t j = 0; j < d; ++j) {
            const double v = static_cast<double>(src[j]) / l1;
            out(rr, static_cast<index>(j)) = v;
            largest = std::max(largest, v);
        }
    }
    return largest;
}

// The same on an already gathered matrix.
double normalize_rows_l1(Eigen::Ref<Eigen::MatrixXd> m) {
    double largest = 0;
    for (index r = 0; r < m.rows(); ++r) {
        const double l1 = m.row(r).cwiseAbs().sum();
        if (l1 == 0) {
            continue;
        }
        m.row(r) /= l1;
        largest = std::max(largest, m.row(r).maxCoeff());
    }
    return largest;
}

struct chunk_partial {
    Eigen::MatrixXd dW;
    Eigen::VectorXd db;
    double cross_entropy = 0;  // summed over the chunk's rows
};

// Cross-entropy sum and (P - Q) / n_batch for rows of one chunk, accumulated into `part`.
void chunk_gradient(const Eigen::Ref<const Eigen::MatrixXd>& xc,
                    std::span<const std::uint8_t> labels, const Eigen::MatrixXd& W,
                    const Eigen::VectorXd& b, const soft_targets& q, double n_batch,
                    chunk_partial& part) {
    Eigen::MatrixXd z = xc * W;
    z.rowwise() += b.transpose();
    part.cross_entropy = 0;
    for (index r = 0; r < z.rows(); ++r) {
        const double zmax = z.row(r).maxCoeff();
        double sum = 0;
        for (index c = 0; c < z.cols(); ++c) {
            sum += std::exp(z(r, c) - zmax);
        }
        const double log_sum = zmax + std::log(sum);
        const std::size_t truth = labels[static_cast<std::size_t>(r)];
        for (index c = 0; c < z.cols(); ++c) {
            const double log_p = z(r, c) - log_sum;
            const double target = static_cast<std::size_t>(c) == truth ? q.q_true : q.q_other;
            part.cross_entropy -= target * log_p;
            z(r, c) = (std::exp(log_p) - target) / n_batch;  // dL/dz
        }
    }
    part.dW.noalias() = xc.transpose() * z;
    part.db = z.colwise().sum().transpose();
}

// Loss and gradient of a normalised batch, in fixed chunks of rows summed in chunk order.
loss_gradient batch_loss_gradient(const Eigen::MatrixXd& x_hat,
                                  std::span<const std::uint8_t> labels, const Eigen::MatrixXd& W,
                                  const Eigen::VectorXd& b, double l2_beta, const soft_targets& q,
                                  std::vector<chunk_partial>& parts) {
    const auto n = static_cast<std::size_t>(x_hat.rows());
    const std::size_t n_chunks = (n + gradient_chunk - 1) / gradient_chunk;
    parts.resize(std::max(parts.size(), n_chunks));
    oneapi::tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
        const std::size_t first = c * gradient_chunk;
        const std::size_t count = std::min(gradient_chunk, n - first);
        chunk_gradient(x_hat.middleRows(static_cast<index>(first), static_cast<index>(count)),
                       labels.subspan(first, count), W, b, q, static_cast<double>(n), parts[c]);
    });
    loss_gradient out;
    out.dW = l2_beta * W;
    out.db = Eigen::VectorXd::Zero(b.size());
    double cross_entropy = 0;
    for (std::size_t c = 0; c < n_chunks; ++c) {
        out.dW += parts[c].dW;
        out.db += parts[c].db;
        cross_entropy += parts[c].cross_entropy;
    }
    out.loss = cross_entropy / static_cast<double>(n) + 0.5 * l2_beta * W.squaredNorm();
    return out;
}

}  // namespace

// ----- ridge -----

std::vector<std::uint8_t> ridge_model::predict(feature_view x) const {
    const Eigen::MatrixXd s = scores(x);
    std::vector<std::uint8_t> out(static_cast<std::size_t>(s.rows()));
    for (index r = 0; r < s.rows(); ++r) {
        out[static_cast<std::size_t>(r)] = arg_max(s.row(r));
    }
    return out;
}

ridge_result train_ridge_classifier(const labelled_features& train,
                                    const labelled_features& validation,
                                    const labelled_features& test, const ridge_params& params,
                                    std::size_t n_classes) {
    check(train, "training");
    check(validation, "validation");
    check(test, "test");
    check_widths(train, validation, test);
    if (train.x.n_rows() == 0) {
        throw error("ridge classifier: the training set is empty");
    }
    if (params.lambdas.empty()) {
        throw error("ridge classifier: the list of lambdas is empty");
    }
    if (params.lambdas.size() > 1 && validation.x.n_rows() == 0) {
        throw error(fmt::format("ridge classifier: choosing among {} lambdas needs a validation "
                                "set, and it is empty",
                                params.lambdas.size()));
    }
    n_classes = resolve_classes(train, validation, test, n_classes);

    ridge_result out;
    out.model.scaling = standardizer::fit(train.x, params.standardize);
    Eigen::MatrixXd y =
        Eigen::MatrixXd::Zero(static_cast<index>(train.x.n_rows()), static_cast<index>(n_classes));
    for (std::size_t i = 0; i < train.labels.size(); ++i) {
        y(static_cast<index>(i), train.labels[i]) = 1.0;
    }
    const normal_equations eq = accumulate_normal_equations(train.x, out.model.scaling, y);

    double best = -1;
    for (double lambda: params.lambdas) {
        ridge_model candidate{out.model.scaling, solve_ridge(eq, lambda)};
        const double acc = validation.x.n_rows() > 0
                               ? accuracy(candidate.predict(validation.x), validation.labels)
                               : std::numeric_limits<double>::quiet_NaN();
        out.validation_accuracy_per_lambda.push_back(acc);
        if (params.lambdas.size() == 1 || acc > best) {
            best = acc;
            out.lambda = lambda;
            out.model.W = std::move(candidate.W);
        }
    }
    out.validation_accuracy = best;
    out.train_accuracy = accuracy(out.model.predict(train.x), train.labels);
    out.test_predictions = out.model.predict(test.x);
    out.test_accuracy = accuracy(out.test_predictions, test.labels);
    return out;
}

// ----- softmax -----

void nalsm_normalize_batch(Eigen::MatrixXd& batch) {
    const double largest = normalize_rows_l1(batch);
    if (largest > 0) {
        batch /= largest;
    }
}

soft_targets nalsm_soft_targets(std::size_t n_classes) {
    // softmax of (+1, -1, ..., -1): e / (e + (C - 1) / e) and (1 / e) / (e + (C - 1) / e).
    const double e = std::exp(1.0);
    const double z = e + static_cast<double>(n_classes - 1) / e;
    return {e / z, (1.0 / e) / z};
}

loss_gradient soft_target_loss_gradient(const Eigen::MatrixXd& x_hat,
                                        std::span<const std::uint8_t> labels,
                                        const Eigen::MatrixXd& W, const Eigen::VectorXd& b,
                                        double l2_beta) {
    if (static_cast<std::size_t>(x_hat.rows()) != labels.size() || x_hat.cols() != W.rows() ||
        W.cols() != b.size()) {
        throw internal_error("soft_target_loss_gradient: inconsistent shapes");
    }
    std::vector<chunk_partial> parts;
    return batch_loss_gradient(x_hat, labels, W, b, l2_beta,
                               nalsm_soft_targets(static_cast<std::size_t>(W.cols())), parts);
}

void adadelta_step(Eigen::Ref<Eigen::MatrixXd> var, const Eigen::Ref<const Eigen::MatrixXd>& g,
                   Eigen::Ref<Eigen::MatrixXd> accum, Eigen::Ref<Eigen::MatrixXd> accum_update,
                   double lr, double rho, double eps) {
    accum = rho * accum + (1 - rho) * g.cwiseAbs2();
    const Eigen::ArrayXXd update =
        (accum_update.array() + eps).sqrt() / (accum.array() + eps).sqrt() * g.array();
    var -= lr * update.matrix();
    accum_update = rho * accum_update + (1 - rho) * update.square().matrix();
}

std::vector<std::uint8_t> softmax_predict(feature_view x, const Eigen::MatrixXd& W,
                                          const Eigen::VectorXd& b, std::size_t batch_size) {
    if (batch_size == 0) {
        throw error("softmax readout: batch_size must be > 0");
    }
    const std::size_t n = x.n_rows();
    std::vector<std::uint8_t> out(n);
    const std::size_t n_batches = (n + batch_size - 1) / batch_size;
    oneapi::tbb::parallel_for(std::size_t{0}, n_batches, [&](std::size_t k) {
        const std::size_t first = k * batch_size;
        const std::size_t count = std::min(batch_size, n - first);
        std::vector<std::size_t> rows(count);
        std::iota(rows.begin(), rows.end(), first);
        Eigen::MatrixXd xb(static_cast<index>(count), static_cast<index>(x.n_cols()));
        const double largest = gather_l1(x, rows, xb);
        if (largest > 0) {
            xb /= largest;
        }
        Eigen::MatrixXd z = xb * W;
        z.rowwise() += b.transpose();
        for (std::size_t r = 0; r < count; ++r) {
            out[first + r] = arg_max(z.row(static_cast<index>(r)));
        }
    });
    return out;
}

softmax_result train_softmax_readout(const labelled_features& train,
                                     const labelled_features& validation,
                                     const labelled_features& test, const softmax_params& p,
                                     std::size_t n_classes) {
    check(train, "training");
    check(validation, "validation");
    check(test, "test");
    check_widths(train, validation, test);
    if (train.x.n_rows() == 0) {
        throw error("softmax readout: the training set is empty");
    }
    if (validation.x.n_rows() == 0) {
        throw error("softmax readout: the validation set is empty; it chooses the reported epoch");
    }
    if (p.batch_size == 0) {
        throw error("softmax readout: batch_size must be > 0");
    }
    if (p.max_epochs == 0) {
        throw error("softmax readout: max_epochs must be > 0");
    }
    if (!(p.learning_rate > 0) || !(p.rho >= 0 && p.rho < 1) || !(p.epsilon > 0) ||
        !(p.l2_beta >= 0)) {
        throw error(fmt::format("softmax readout: needs learning_rate > 0, 0 <= rho < 1, "
                                "epsilon > 0, l2_beta >= 0; got {}, {}, {}, {}",
                                p.learning_rate, p.rho, p.epsilon, p.l2_beta));
    }
    n_classes = resolve_classes(train, validation, test, n_classes);
    const auto d = static_cast<index>(train.x.n_cols());
    const auto C = static_cast<index>(n_classes);
    const std::size_t n = train.x.n_rows();
    const soft_targets q = nalsm_soft_targets(n_classes);

    Eigen::MatrixXd W = Eigen::MatrixXd::Zero(d, C);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(C);
    Eigen::MatrixXd acc_W = Eigen::MatrixXd::Zero(d, C), acc_update_W = acc_W;
    Eigen::VectorXd acc_b = Eigen::VectorXd::Zero(C), acc_update_b = acc_b;

    softmax_result out;
    out.validation_accuracy = -1;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<std::uint8_t> batch_labels;
    std::vector<chunk_partial> parts;
    Eigen::MatrixXd xb;
    const std::uint64_t key = stream_key(p.seed, stream::reservoir);

    for (std::size_t epoch = 1; epoch <= p.max_epochs; ++epoch) {
        if (p.shuffle) {
            // Fisher-Yates from the identity, so an epoch's order depends on (seed, epoch) only.
            std::iota(order.begin(), order.end(), std::size_t{0});
            rng_stream rng(key, 0, epoch);
            for (std::size_t i = n - 1; i > 0; --i) {
                std::swap(order[i], order[rng.below(i + 1)]);
            }
        }
        double loss_sum = 0;
        std::size_t n_batches = 0;
        for (std::size_t first = 0; first < n; first += p.batch_size) {
            const std::size_t count = std::min(p.batch_size, n - first);
            const std::span<const std::size_t> rows(order.data() + first, count);
            xb.resize(static_cast<index>(count), d);
            batch_labels.resize(count);
            // Gather + L1 per fixed chunk of rows; the batch maximum is exact in any order.
            const std::size_t n_chunks = (count + gradient_chunk - 1) / gradient_chunk;
            std::vector<double> chunk_max(n_chunks, 0.0);
            oneapi::tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
                const std::size_t r0 = c * gradient_chunk;
                const std::size_t rn = std::min(gradient_chunk, count - r0);
                chunk_max[c] =
                    gather_l1(train.x, rows.subspan(r0, rn),
                              xb.middleRows(static_cast<index>(r0), static_cast<index>(rn)));
            });
            const double largest = *std::max_element(chunk_max.begin(), chunk_max.end());
            if (largest > 0) {
                xb /= largest;
            }
            for (std::size_t r = 0; r < count; ++r) {
                batch_labels[r] = train.labels[rows[r]];
            }
            const loss_gradient g =
                batch_loss_gradient(xb, batch_labels, W, b, p.l2_beta, q, parts);
            loss_sum += g.loss;
            ++n_batches;
            adadelta_step(W, g.dW, acc_W, acc_update_W, p.learning_rate, p.rho, p.epsilon);
            adadelta_step(b, g.db, acc_b, acc_update_b, p.learning_rate, p.rho, p.epsilon);
        }

        const double train_acc =
            p.record_train_curve
                ? accuracy(softmax_predict(train.x, W, b, p.batch_size), train.labels)
                : std::numeric_limits<double>::quiet_NaN();
        const double val_acc =
            accuracy(softmax_predict(validation.x, W, b, p.batch_size), validation.labels);
        std::vector<std::uint8_t> test_pred = softmax_predict(test.x, W, b, p.batch_size);
        const double test_acc = accuracy(test_pred, test.labels);
        if (p.record_train_curve) {
            out.train_curve.push_back(train_acc);
        }
        out.validation_curve.push_back(val_acc);
        out.test_curve.push_back(test_acc);
        out.loss_curve.push_back(loss_sum / static_cast<double>(n_batches));
        out.epochs_run = epoch;
        if (val_acc > out.validation_accuracy) {
            out.validation_accuracy = val_acc;
            out.best_epoch = epoch;
            out.train_accuracy = train_acc;
            out.test_accuracy = test_acc;
            out.test_predictions = std::move(test_pred);
            out.W = W;
            out.b = b;
        }
        if (p.patience > 0 && epoch - out.best_epoch >= p.patience) {
            out.stopped_early = epoch < p.max_epochs;
            break;
        }
        if (p.on_epoch && !p.on_epoch(epoch, val_acc, train_acc)) {
            out.stopped_early = epoch < p.max_epochs;
            break;
        }
    }
    if (!p.record_train_curve) {
        out.train_accuracy =
            accuracy(softmax_predict(train.x, out.W, out.b, p.batch_size), train.labels);
    }
    return out;
}

}  // namespace glia::reservoir
