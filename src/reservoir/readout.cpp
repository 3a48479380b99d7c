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
#include "reservoir/softmax_kernels.hpp"

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

// Each row divided by its L1 norm (rows without spikes stay zero); returns the largest element.
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

namespace {

// What the softmax readout needs of each row for NALSM's normalisation: its L1 norm and its
// largest element after division by it (0 for a row without spikes, which stays zero).
struct row_norms {
    std::vector<double> l1, peak;
};

row_norms norms_of(feature_view x) {
    const std::size_t n = x.n_rows(), d = x.n_cols();
    row_norms out;
    out.l1.assign(n, 0.0);
    out.peak.assign(n, 0.0);
    oneapi::tbb::parallel_for(std::size_t{0}, n, [&](std::size_t r) {
        const float* src = x.data() + r * d;
        double l1 = 0;
        float top = d > 0 ? src[0] : 0.0F;
        for (std::size_t j = 0; j < d; ++j) {
            l1 += std::abs(static_cast<double>(src[j]));
            top = std::max(top, src[j]);
        }
        out.l1[r] = l1;
        out.peak[r] = l1 == 0 ? 0.0 : static_cast<double>(top) / l1;  // max_j (x_j / l1)
    });
    return out;
}

// The largest normalised element of a batch (NALSM divides the batch by it; <= 0: kept).
double batch_peak(const row_norms& norms, std::span<const std::size_t> rows) {
    double largest = 0;
    for (std::size_t r: rows) {
        largest = std::max(largest, norms.peak[r]);
    }
    return largest;
}

// Rows `rows` of x in place, and the factor that normalises each (1 / (l1 largest); 0 for a
// row without spikes, which stays zero). The kernels multiply raw rows; the factor is applied
// to their results (logits) and inputs (dL/dz), which is the same product.
void row_pointers(feature_view x, const row_norms& norms, std::span<const std::size_t> rows,
                  double largest, const float** ptr, double* scale) {
    const std::size_t d = x.n_cols();
    for (std::size_t q = 0; q < rows.size(); ++q) {
        const std::size_t r = rows[q];
        const double l1 = norms.l1[r];
        ptr[q] = x.data() + r * d;
        scale[q] = l1 == 0 ? 0.0 : largest > 0 ? 1.0 / (l1 * largest) : 1.0 / l1;
    }
}

// The weights in the kernels' layout: float, classes padded to the stride.
void to_kernel_weights(const Eigen::MatrixXd& W, std::size_t stride, std::vector<float>& out) {
    const auto d = static_cast<std::size_t>(W.rows());
    out.assign(d * stride, 0.0F);
    for (std::size_t j = 0; j < d; ++j) {
        for (index c = 0; c < W.cols(); ++c) {
            out[j * stride + static_cast<std::size_t>(c)] =
                static_cast<float>(W(static_cast<index>(j), c));
        }
    }
}

// Predictions in consecutive batches of batch_size rows, each normalised on its own.
std::vector<std::uint8_t> predict_batches(feature_view x, const row_norms& norms,
                                          const std::vector<float>& wf, std::size_t stride,
                                          const Eigen::VectorXd& b, std::size_t batch_size) {
    const std::size_t n = x.n_rows(), d = x.n_cols();
    const auto C = static_cast<std::size_t>(b.size());
    std::vector<std::uint8_t> out(n);
    const std::size_t n_batches = (n + batch_size - 1) / batch_size;
    oneapi::tbb::parallel_for(std::size_t{0}, n_batches, [&](std::size_t k) {
        const std::size_t first = k * batch_size;
        const std::size_t count = std::min(batch_size, n - first);
        std::vector<std::size_t> rows(count);
        std::iota(rows.begin(), rows.end(), first);
        const double largest = batch_peak(norms, rows);
        std::vector<const float*> ptr(count);
        std::vector<double> scale(count);
        std::vector<float> z(count * stride);
        row_pointers(x, norms, rows, largest, ptr.data(), scale.data());
        kernels::logits(ptr.data(), count, d, wf.data(), stride, z.data());
        for (std::size_t r = 0; r < count; ++r) {
            std::size_t best = 0;
            double best_z = 0;
            for (std::size_t c = 0; c < C; ++c) {
                const double zc = static_cast<double>(z[r * stride + c]) * scale[r] +
                                  b[static_cast<index>(c)];
                if (c == 0 || zc > best_z) {  // the first maximum, as tf.argmax / np.argmax
                    best = c;
                    best_z = zc;
                }
            }
            out[first + r] = static_cast<std::uint8_t>(best);
        }
    });
    return out;
}

// One chunk of a training batch: its normalised rows, logits, dL/dz and weight gradient.
struct chunk_work {
    std::vector<const float*> x;
    std::vector<double> scale;
    std::vector<float> z, dz, g;
    std::vector<double> db;
    double cross_entropy = 0;
};

void chunk_step(feature_view x, const row_norms& norms, std::span<const std::size_t> rows,
                std::span<const std::uint8_t> labels, double largest, const std::vector<float>& wf,
                std::size_t stride, const Eigen::VectorXd& b, const soft_targets& q,
                double n_batch, chunk_work& w) {
    const std::size_t rn = rows.size(), d = x.n_cols();
    const auto C = static_cast<std::size_t>(b.size());
    w.x.resize(rn);
    w.scale.resize(rn);
    w.z.resize(rn * stride);
    w.dz.assign(rn * stride, 0.0F);
    w.g.resize(d * stride);
    w.db.assign(C, 0.0);
    w.cross_entropy = 0;
    row_pointers(x, norms, rows, largest, w.x.data(), w.scale.data());
    kernels::logits(w.x.data(), rn, d, wf.data(), stride, w.z.data());
    std::vector<double> zr(C);
    for (std::size_t r = 0; r < rn; ++r) {
        double zmax = -std::numeric_limits<double>::infinity();
        for (std::size_t c = 0; c < C; ++c) {
            zr[c] = static_cast<double>(w.z[r * stride + c]) * w.scale[r] +
                    b[static_cast<index>(c)];
            zmax = std::max(zmax, zr[c]);
        }
        double sum = 0;
        for (std::size_t c = 0; c < C; ++c) {
            sum += std::exp(zr[c] - zmax);
        }
        const double log_sum = zmax + std::log(sum);
        const std::size_t truth = labels[rows[r]];
        for (std::size_t c = 0; c < C; ++c) {
            const double log_p = zr[c] - log_sum;
            const double target = c == truth ? q.q_true : q.q_other;
            w.cross_entropy -= target * log_p;
            const double grad = (std::exp(log_p) - target) / n_batch;  // dL/dz
            w.dz[r * stride + c] = static_cast<float>(grad * w.scale[r]);  // onto the raw row
            w.db[c] += grad;
        }
    }
    kernels::weight_gradient(w.x.data(), rn, d, w.dz.data(), stride, w.g.data());
}

}  // namespace

std::vector<std::uint8_t> softmax_predict(feature_view x, const Eigen::MatrixXd& W,
                                          const Eigen::VectorXd& b, std::size_t batch_size) {
    if (batch_size == 0) {
        throw error("softmax readout: batch_size must be > 0");
    }
    if (x.n_cols() != static_cast<std::size_t>(W.rows()) || W.cols() != b.size()) {
        throw internal_error("softmax_predict: inconsistent shapes");
    }
    const std::size_t stride = kernels::class_stride(static_cast<std::size_t>(W.cols()));
    std::vector<float> wf;
    to_kernel_weights(W, stride, wf);
    return predict_batches(x, norms_of(x), wf, stride, b, batch_size);
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
    const std::size_t stride = kernels::class_stride(n_classes);
    const row_norms train_norms = norms_of(train.x);
    const row_norms validation_norms = norms_of(validation.x);
    const row_norms test_norms = norms_of(test.x);

    Eigen::MatrixXd W = Eigen::MatrixXd::Zero(d, C);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(C);
    Eigen::MatrixXd acc_W = Eigen::MatrixXd::Zero(d, C), acc_update_W = acc_W;
    Eigen::VectorXd acc_b = Eigen::VectorXd::Zero(C), acc_update_b = acc_b;
    Eigen::MatrixXd dW(d, C);
    Eigen::VectorXd db(C);
    std::vector<float> wf;
    to_kernel_weights(W, stride, wf);

    softmax_result out;
    out.validation_accuracy = -1;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::vector<chunk_work> work;
    const std::uint64_t key = stream_key(p.seed, stream::reservoir);
    const auto predict = [&](const labelled_features& set, const row_norms& norms) {
        return predict_batches(set.x, norms, wf, stride, b, p.batch_size);
    };

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
            const double largest = batch_peak(train_norms, rows);
            // Fixed chunks of rows, their partial sums added in chunk order.
            const std::size_t n_chunks = (count + gradient_chunk - 1) / gradient_chunk;
            work.resize(std::max(work.size(), n_chunks));
            oneapi::tbb::parallel_for(std::size_t{0}, n_chunks, [&](std::size_t c) {
                const std::size_t r0 = c * gradient_chunk;
                const std::size_t rn = std::min(gradient_chunk, count - r0);
                chunk_step(train.x, train_norms, rows.subspan(r0, rn), train.labels, largest, wf,
                           stride, b, q, static_cast<double>(count), work[c]);
            });
            dW = p.l2_beta * W;
            db.setZero();
            double cross_entropy = 0;
            for (std::size_t c = 0; c < n_chunks; ++c) {
                const chunk_work& w = work[c];
                for (index j = 0; j < d; ++j) {
                    const float* gj = w.g.data() + static_cast<std::size_t>(j) * stride;
                    for (index k = 0; k < C; ++k) {
                        dW(j, k) += static_cast<double>(gj[k]);
                    }
                }
                for (index k = 0; k < C; ++k) {
                    db[k] += w.db[static_cast<std::size_t>(k)];
                }
                cross_entropy += w.cross_entropy;
            }
            loss_sum +=
                cross_entropy / static_cast<double>(count) + 0.5 * p.l2_beta * W.squaredNorm();
            ++n_batches;
            adadelta_step(W, dW, acc_W, acc_update_W, p.learning_rate, p.rho, p.epsilon);
            adadelta_step(b, db, acc_b, acc_update_b, p.learning_rate, p.rho, p.epsilon);
            to_kernel_weights(W, stride, wf);
        }

        const double train_acc = p.record_train_curve
                                     ? accuracy(predict(train, train_norms), train.labels)
                                     : std::numeric_limits<double>::quiet_NaN();
        const double val_acc = accuracy(predict(validation, validation_norms), validation.labels);
        std::vector<std::uint8_t> test_pred = predict(test, test_norms);
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
        to_kernel_weights(out.W, stride, wf);
        out.train_accuracy =
            accuracy(predict_batches(train.x, train_norms, wf, stride, out.b, p.batch_size),
                     train.labels);
    }
    return out;
}

}  // namespace glia::reservoir
