// Readouts (src/reservoir/readout.hpp) and metrics (metrics.hpp): the ridge classifier against a
// direct solve of its closed form and its choice of lambda; NALSM's softmax readout (batch
// normalisation, soft targets, loss gradient against finite differences, TF1 Adadelta steps,
// accuracy on separable and label-noise sets); determinism across thread counts; metrics.

#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Dense>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <oneapi/tbb/task_arena.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "reservoir/metrics.hpp"
#include "reservoir/readout.hpp"
#include "reservoir/softmax_kernels.hpp"

namespace {

using glia::reservoir::feature_view;
using glia::reservoir::labelled_features;
using testing::HasSubstr;

// Random numbers for test data, keyed independently of glia::stream numbering (which may change).
glia::rng_stream test_stream(std::uint64_t seed, std::uint64_t tag) {
    return {glia::mix64(glia::mix64(seed) ^ tag), 0, 0};
}

// A synthetic classification set: non-negative "spike count" features. Class c raises the
// features of its own block by `signal`; `label_noise` of the labels are replaced by another class.
struct synthetic_set {
    std::vector<float> x;
    std::vector<std::uint8_t> y;
    std::vector<std::uint8_t> true_class;  // before the label noise
    std::size_t n = 0, d = 0;
    labelled_features view() const { return {feature_view(x, n, d), y}; }
};

synthetic_set make_set(std::size_t n, std::size_t d, std::size_t n_classes, double signal,
                       double label_noise, std::uint64_t seed) {
    glia::rng_stream rng = test_stream(seed, 99);
    synthetic_set s;
    s.n = n;
    s.d = d;
    const std::size_t block = d / n_classes;
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<std::size_t>(rng.below(n_classes));
        for (std::size_t j = 0; j < d; ++j) {
            const double boost = (j / block == c) ? signal : 0.0;
            s.x.push_back(static_cast<float>(std::floor(rng.uniform(0.0, 4.0) + boost)));
        }
        std::size_t label = c;
        if (rng.uniform() < label_noise) {
            label = (c + 1 + rng.below(n_classes - 1)) % n_classes;  // any other class
        }
        s.y.push_back(static_cast<std::uint8_t>(label));
        s.true_class.push_back(static_cast<std::uint8_t>(c));
    }
    return s;
}

// A linearly separable set in the space the softmax readout sees: counts x (0..9), labelled by
// the arg-max of V^T (x / |x|_1) for a random V with zero-mean columns (no bias, so NALSM's
// positive batch scaling keeps the labels), keeping only samples whose best score beats the second
// by `margin`. `label_noise` as in make_set.
synthetic_set make_linear_set(std::size_t n, std::size_t d, std::size_t n_classes, double margin,
                              double label_noise, std::uint64_t seed) {
    glia::rng_stream rule = test_stream(1000, 96);
    Eigen::MatrixXd V(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(n_classes));
    for (Eigen::Index j = 0; j < V.rows(); ++j) {
        for (Eigen::Index c = 0; c < V.cols(); ++c) {
            V(j, c) = rule.uniform(-1, 1);
        }
    }
    V.rowwise() -= V.colwise().mean();  // a uniform x scores the same in every class: balanced
    glia::rng_stream rng = test_stream(seed, 95);
    synthetic_set s;
    s.d = d;
    while (s.n < n) {
        Eigen::VectorXd x(static_cast<Eigen::Index>(d));
        for (Eigen::Index j = 0; j < x.size(); ++j) {
            const double v = rng.uniform();
            x[j] = std::floor(v * v * v * 10);  // sparse counts 0..9, mostly 0
        }
        if (x.sum() == 0) {
            continue;
        }
        const Eigen::VectorXd score = V.transpose() * (x / x.sum());
        Eigen::Index c = 0;
        score.maxCoeff(&c);
        double second = -1e300;
        for (Eigen::Index k = 0; k < score.size(); ++k) {
            second = k == c ? second : std::max(second, score[k]);
        }
        if (score[c] - second < margin) {
            continue;
        }
        for (Eigen::Index j = 0; j < x.size(); ++j) {
            s.x.push_back(static_cast<float>(x[j]));
        }
        std::size_t label = static_cast<std::size_t>(c);
        if (rng.uniform() < label_noise) {
            label = (label + 1 + rng.below(n_classes - 1)) % n_classes;
        }
        s.y.push_back(static_cast<std::uint8_t>(label));
        s.true_class.push_back(static_cast<std::uint8_t>(c));
        ++s.n;
    }
    return s;
}

Eigen::MatrixXd to_matrix(const synthetic_set& s) {
    Eigen::MatrixXd m(static_cast<Eigen::Index>(s.n), static_cast<Eigen::Index>(s.d));
    for (std::size_t i = 0; i < s.n; ++i) {
        for (std::size_t j = 0; j < s.d; ++j) {
            m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = s.x[i * s.d + j];
        }
    }
    return m;
}

// The closed form solved directly: W = (Z^T Z + lambda diag(1..1, 0))^-1 Z^T Y, Z = [X, 1].
Eigen::MatrixXd direct_ridge(const Eigen::MatrixXd& x, const std::vector<std::uint8_t>& y,
                             std::size_t n_classes, double lambda) {
    const Eigen::Index n = x.rows(), d = x.cols();
    Eigen::MatrixXd z(n, d + 1);
    z << x, Eigen::VectorXd::Ones(n);
    Eigen::MatrixXd onehot = Eigen::MatrixXd::Zero(n, static_cast<Eigen::Index>(n_classes));
    for (Eigen::Index i = 0; i < n; ++i) {
        onehot(i, y[static_cast<std::size_t>(i)]) = 1;
    }
    Eigen::MatrixXd a = z.transpose() * z;
    a.diagonal().head(d).array() += lambda;
    return a.fullPivLu().solve(z.transpose() * onehot);
}

TEST(ridge, matches_a_direct_solve_of_the_closed_form) {
    const synthetic_set tr = make_set(300, 130, 3, 1.0, 0.1, 1);  // > 64 columns: several blocks
    glia::reservoir::ridge_params p;
    p.lambdas = {0.7};
    p.standardize = false;
    const auto r = glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p);
    const Eigen::MatrixXd expected = direct_ridge(to_matrix(tr), tr.y, 3, 0.7);
    ASSERT_EQ(r.model.W.rows(), expected.rows());
    EXPECT_LE((r.model.W - expected).cwiseAbs().maxCoeff(), 1e-9 * expected.cwiseAbs().maxCoeff());
    EXPECT_EQ(r.lambda, 0.7);
    EXPECT_TRUE(std::isnan(r.test_accuracy));
}

TEST(ridge, standardises_with_training_statistics) {
    const synthetic_set tr = make_set(200, 12, 3, 2.0, 0.0, 2);
    glia::reservoir::ridge_params p;
    p.lambdas = {3.0};
    const auto r = glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p);
    Eigen::MatrixXd x = to_matrix(tr);
    const Eigen::RowVectorXd mean = x.colwise().mean();
    x.rowwise() -= mean;
    const Eigen::RowVectorXd sd =
        (x.colwise().squaredNorm() / static_cast<double>(tr.n)).cwiseSqrt();
    x = x.array().rowwise() / sd.array();
    const Eigen::MatrixXd expected = direct_ridge(x, tr.y, 3, 3.0);
    EXPECT_LE((r.model.W - expected).cwiseAbs().maxCoeff(), 1e-9 * expected.cwiseAbs().maxCoeff());
    EXPECT_LE((r.model.scaling.mean.transpose() - mean).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(ridge, picks_the_lambda_with_the_best_validation_accuracy) {
    const synthetic_set tr = make_set(60, 90, 3, 1.0, 0.0, 3);  // fewer samples than features
    const synthetic_set va = make_set(400, 90, 3, 1.0, 0.0, 4);
    const synthetic_set te = make_set(400, 90, 3, 1.0, 0.0, 5);
    glia::reservoir::ridge_params p;
    p.lambdas = {1e9, 1e-3, 1e1, 1e3};  // the first is far too strong: not the choice
    const auto r = glia::reservoir::train_ridge_classifier(tr.view(), va.view(), te.view(), p);
    ASSERT_EQ(r.validation_accuracy_per_lambda.size(), 4u);
    // Each candidate trained alone gives the accuracy recorded for it; the choice is the first
    // maximum.
    std::size_t best = 0;
    for (std::size_t i = 0; i < p.lambdas.size(); ++i) {
        glia::reservoir::ridge_params one = p;
        one.lambdas = {p.lambdas[i]};
        const auto alone =
            glia::reservoir::train_ridge_classifier(tr.view(), va.view(), te.view(), one);
        EXPECT_EQ(alone.validation_accuracy, r.validation_accuracy_per_lambda[i]);
        if (r.validation_accuracy_per_lambda[i] > r.validation_accuracy_per_lambda[best]) {
            best = i;
        }
    }
    EXPECT_EQ(r.lambda, p.lambdas[best]);
    // 1e9 shrinks every weight to ~0 (the arg-max then rests on tiny differences); a moderate
    // penalty beats it by far on this separable set.
    EXPECT_LT(r.validation_accuracy_per_lambda[0], r.validation_accuracy - 0.2);
    EXPECT_GT(r.validation_accuracy, 0.9);
    EXPECT_NE(r.lambda, 1e9);
    EXPECT_GT(r.test_accuracy, 0.9);
    EXPECT_EQ(r.test_predictions.size(), 400u);
}

TEST(ridge, reports_bad_input) {
    const synthetic_set tr = make_set(20, 6, 2, 1.0, 0.0, 6);
    glia::reservoir::ridge_params p;
    EXPECT_THAT([&] { glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("choosing among 8 lambdas needs a validation set, and it is empty")));
    p.lambdas = {};
    EXPECT_THAT([&] { glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p); },
                testing::ThrowsMessage<glia::error>(HasSubstr("the list of lambdas is empty")));
    p.lambdas = {0.0};
    EXPECT_THAT([&] { glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("ridge: lambda must be finite and > 0, got 0")));
    labelled_features short_labels{tr.view().x, std::span(tr.y).first(19)};
    EXPECT_THAT([&] { glia::reservoir::train_ridge_classifier(short_labels, {}, {}, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("the training set has 20 feature rows but 19 labels")));
    const synthetic_set wide = make_set(5, 8, 2, 1.0, 0.0, 7);
    p.lambdas = {1.0};
    EXPECT_THAT([&] { glia::reservoir::train_ridge_classifier(tr.view(), wide.view(), {}, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("the validation set has 8 features per sample, the training set 6")));
    EXPECT_THAT(
        [&] { glia::reservoir::train_ridge_classifier(tr.view(), {}, {}, p, 1); },
        testing::ThrowsMessage<glia::error>(HasSubstr("a label 1 is present but n_classes = 1")));
}

TEST(softmax, normalises_each_batch_like_nalsm) {
    Eigen::MatrixXd batch(3, 2);
    batch << 1, 3, 2, 2, 0, 0;
    glia::reservoir::nalsm_normalize_batch(batch);
    // Rows / L1: {.25, .75}, {.5, .5}, {0, 0} (no spikes: kept at 0); then / the batch max .75.
    Eigen::MatrixXd expected(3, 2);
    expected << 1.0 / 3, 1, 2.0 / 3, 2.0 / 3, 0, 0;
    EXPECT_LE((batch - expected).cwiseAbs().maxCoeff(), 1e-15);
    Eigen::MatrixXd silent = Eigen::MatrixXd::Zero(2, 2);
    glia::reservoir::nalsm_normalize_batch(silent);
    EXPECT_EQ(silent, Eigen::MatrixXd::Zero(2, 2));
}

TEST(softmax, soft_targets_are_softmax_of_plus_and_minus_one) {
    const auto q = glia::reservoir::nalsm_soft_targets(10);
    const double e = std::exp(1.0);
    EXPECT_DOUBLE_EQ(q.q_true, e / (e + 9 / e));
    EXPECT_DOUBLE_EQ(q.q_other, (1 / e) / (e + 9 / e));
    EXPECT_NEAR(q.q_true + 9 * q.q_other, 1.0, 1e-15);
    EXPECT_NEAR(q.q_true, 0.451, 5e-4);  // science-spec §1.6
    EXPECT_NEAR(q.q_other, 0.061, 5e-4);
}

TEST(softmax, loss_gradient_matches_finite_differences) {
    glia::rng_stream rng = test_stream(5, 98);
    const Eigen::Index n = 70, d = 6, C = 4;  // 70 rows: two gradient chunks
    Eigen::MatrixXd x(n, d), W(d, C);
    Eigen::VectorXd b(C);
    std::vector<std::uint8_t> y(static_cast<std::size_t>(n));
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index j = 0; j < d; ++j) {
            x(i, j) = rng.uniform();
        }
        y[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(rng.below(C));
    }
    for (Eigen::Index j = 0; j < d; ++j) {
        for (Eigen::Index c = 0; c < C; ++c) {
            W(j, c) = rng.uniform(-1, 1);
        }
    }
    for (Eigen::Index c = 0; c < C; ++c) {
        b[c] = rng.uniform(-1, 1);
    }
    const double beta = 0.3;  // large, so the L2 term is tested too
    const auto g = glia::reservoir::soft_target_loss_gradient(x, y, W, b, beta);
    const double h = 1e-6;
    for (Eigen::Index j = 0; j < d; ++j) {
        for (Eigen::Index c = 0; c < C; ++c) {
            Eigen::MatrixXd up = W, down = W;
            up(j, c) += h;
            down(j, c) -= h;
            const double fd =
                (glia::reservoir::soft_target_loss_gradient(x, y, up, b, beta).loss -
                 glia::reservoir::soft_target_loss_gradient(x, y, down, b, beta).loss) /
                (2 * h);
            EXPECT_NEAR(g.dW(j, c), fd, 1e-8) << "dW(" << j << ", " << c << ")";
        }
    }
    for (Eigen::Index c = 0; c < C; ++c) {
        Eigen::VectorXd up = b, down = b;
        up[c] += h;
        down[c] -= h;
        const double fd = (glia::reservoir::soft_target_loss_gradient(x, y, W, up, beta).loss -
                           glia::reservoir::soft_target_loss_gradient(x, y, W, down, beta).loss) /
                          (2 * h);
        EXPECT_NEAR(g.db[c], fd, 1e-8) << "db(" << c << ")";
    }
    // At W = 0, b = 0 the prediction is uniform: the loss is log C whatever the targets.
    const auto zero = glia::reservoir::soft_target_loss_gradient(x, y, Eigen::MatrixXd::Zero(d, C),
                                                                 Eigen::VectorXd::Zero(C), beta);
    EXPECT_NEAR(zero.loss, std::log(4.0), 1e-14);
}

TEST(softmax, adadelta_steps_follow_tf1) {
    Eigen::MatrixXd var(1, 2), accum = Eigen::MatrixXd::Zero(1, 2), update = accum;
    var << 1.0, -2.0;
    Eigen::MatrixXd g(1, 2);
    g << 0.5, -4.0;
    const double lr = 0.1, rho = 0.95, eps = 1e-8;
    glia::reservoir::adadelta_step(var, g, accum, update, lr, rho, eps);
    for (Eigen::Index i = 0; i < 2; ++i) {
        // Step 1 by hand: accum = (1 - rho) g^2, u = sqrt(eps) / sqrt(accum + eps) g.
        const double a1 = (1 - rho) * g(0, i) * g(0, i);
        const double u1 = std::sqrt(eps) / std::sqrt(a1 + eps) * g(0, i);
        EXPECT_DOUBLE_EQ(accum(0, i), a1);
        EXPECT_DOUBLE_EQ(var(0, i), (i == 0 ? 1.0 : -2.0) - lr * u1);
        EXPECT_DOUBLE_EQ(update(0, i), (1 - rho) * u1 * u1);
    }
    const Eigen::MatrixXd before = var, accum1 = accum, update1 = update;
    glia::reservoir::adadelta_step(var, g, accum, update, lr, rho, eps);
    for (Eigen::Index i = 0; i < 2; ++i) {
        const double a2 = rho * accum1(0, i) + (1 - rho) * g(0, i) * g(0, i);
        const double u2 = std::sqrt(update1(0, i) + eps) / std::sqrt(a2 + eps) * g(0, i);
        EXPECT_DOUBLE_EQ(var(0, i), before(0, i) - lr * u2);
        EXPECT_DOUBLE_EQ(update(0, i), rho * update1(0, i) + (1 - rho) * u2 * u2);
    }
}

TEST(softmax, first_epoch_is_one_adadelta_step_from_zero) {
    // One batch holding every sample, no shuffle, one epoch: W = -lr * adadelta(g(W = 0)).
    const synthetic_set tr = make_set(40, 9, 3, 2.0, 0.0, 8);
    const synthetic_set va = make_set(10, 9, 3, 2.0, 0.0, 9);
    glia::reservoir::softmax_params p;
    p.batch_size = 64;
    p.max_epochs = 1;
    p.shuffle = false;
    const auto r = glia::reservoir::train_softmax_readout(tr.view(), va.view(), {}, p, 3);
    Eigen::MatrixXd x = to_matrix(tr);
    glia::reservoir::nalsm_normalize_batch(x);
    const auto g = glia::reservoir::soft_target_loss_gradient(x, tr.y, Eigen::MatrixXd::Zero(9, 3),
                                                              Eigen::VectorXd::Zero(3), p.l2_beta);
    const Eigen::MatrixXd expected_W =
        -p.learning_rate * (std::sqrt(p.epsilon) /
                            ((1 - p.rho) * g.dW.array().square() + p.epsilon).sqrt() * g.dW.array())
                               .matrix();
    // The training products run in single precision (NALSM's float32), the reference in double.
    EXPECT_LE((r.W - expected_W).cwiseAbs().maxCoeff(), 1e-6 * expected_W.cwiseAbs().maxCoeff());
    EXPECT_GT(expected_W.cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ(r.best_epoch, 1u);
    EXPECT_EQ(r.loss_curve.size(), 1u);
    EXPECT_NEAR(r.loss_curve[0], std::log(3.0), 1e-12);  // the loss at W = 0, b = 0
}

TEST(softmax, learns_a_linearly_separable_set) {
    const synthetic_set tr = make_linear_set(2000, 30, 3, 0.1, 0.0, 10);
    const synthetic_set va = make_linear_set(500, 30, 3, 0.1, 0.0, 11);
    const synthetic_set te = make_linear_set(1000, 30, 3, 0.1, 0.0, 12);
    glia::reservoir::softmax_params p;  // NALSM's optimiser; smaller batches for more steps
    p.batch_size = 25;
    p.max_epochs = 1500;
    p.patience = 100;
    const auto r = glia::reservoir::train_softmax_readout(tr.view(), va.view(), te.view(), p);
    EXPECT_GE(r.test_accuracy, 0.99);
    EXPECT_GE(r.validation_accuracy, 0.99);
    EXPECT_LT(r.validation_curve.front(), 0.9);  // not solved by the first step
    EXPECT_EQ(r.test_accuracy, r.test_curve[r.best_epoch - 1]);
    EXPECT_EQ(r.validation_accuracy, r.validation_curve[r.best_epoch - 1]);
    // The reported epoch is the first maximum of the validation curve.
    for (std::size_t e = 0; e < r.best_epoch - 1; ++e) {
        EXPECT_LT(r.validation_curve[e], r.validation_accuracy);
    }
    for (double v: r.validation_curve) {
        EXPECT_LE(v, r.validation_accuracy);
    }
    EXPECT_EQ(r.test_predictions.size(), 1000u);
}

TEST(softmax, reaches_the_bayes_accuracy_under_label_noise) {
    // The separable set again, but 25% of all labels (train, validation, test) replaced by
    // another class: the best possible test accuracy is about 0.75, which the readout must reach.
    const synthetic_set tr = make_linear_set(2000, 30, 3, 0.1, 0.25, 13);
    const synthetic_set va = make_linear_set(500, 30, 3, 0.1, 0.25, 14);
    const synthetic_set te = make_linear_set(2000, 30, 3, 0.1, 0.25, 15);
    glia::reservoir::softmax_params p;
    p.batch_size = 25;
    p.max_epochs = 1500;
    p.patience = 100;
    const auto r = glia::reservoir::train_softmax_readout(tr.view(), va.view(), te.view(), p);
    // The Bayes classifier predicts the true class; its accuracy is the fraction of test labels
    // the noise left alone.
    const double bayes = glia::reservoir::accuracy(te.true_class, te.y);
    EXPECT_NEAR(bayes, 0.75, 0.03);
    EXPECT_NEAR(r.test_accuracy, bayes, 0.015);
    EXPECT_LT(r.test_curve.front(), bayes - 0.05);
}

TEST(softmax, reports_bad_input) {
    const synthetic_set tr = make_set(20, 6, 2, 1.0, 0.0, 16);
    glia::reservoir::softmax_params p;
    EXPECT_THAT(
        [&] { glia::reservoir::train_softmax_readout(tr.view(), {}, {}, p); },
        testing::ThrowsMessage<glia::error>(HasSubstr(
            "softmax readout: the validation set is empty; it chooses the reported epoch")));
    p.batch_size = 0;
    EXPECT_THAT([&] { glia::reservoir::train_softmax_readout(tr.view(), tr.view(), {}, p); },
                testing::ThrowsMessage<glia::error>(HasSubstr("batch_size must be > 0")));
    p.batch_size = 10;
    p.rho = 1.0;
    EXPECT_THAT([&] { glia::reservoir::train_softmax_readout(tr.view(), tr.view(), {}, p); },
                testing::ThrowsMessage<glia::error>(HasSubstr("0 <= rho < 1")));
    p.rho = 0.95;
    synthetic_set broken = tr;
    broken.x[2 * 6 + 4] = std::nanf("");
    EXPECT_THAT([&] { glia::reservoir::train_softmax_readout(tr.view(), broken.view(), {}, p); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("readout: the validation set: feature matrix value at row 2, column "
                              "4 is nan; features must be finite")));
}

// The single-precision kernels against plain loops that add in the same order: equal bit for
// bit (row blocks, remainders and class strides change nothing), and within float rounding of
// a double reference.
TEST(softmax_kernels, equal_plain_loops_for_every_block_shape) {
    namespace k = glia::reservoir::kernels;
    auto rng = test_stream(21, 1);
    for (const std::size_t classes: {3u, 10u, 17u}) {
        const std::size_t stride = k::class_stride(classes);
        ASSERT_EQ(stride % 8, 0u);
        ASSERT_GE(stride, classes);
        for (const std::size_t rows: {1u, 5u, 13u, 64u}) {
            const std::size_t d = 37;
            std::vector<float> x(rows * d), w(d * stride, 0.0F), dz(rows * stride, 0.0F);
            std::vector<const float*> ptr(rows);
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t j = 0; j < d; ++j) {
                    x[r * d + j] = static_cast<float>(rng.below(9));
                }
                for (std::size_t c = 0; c < classes; ++c) {
                    dz[r * stride + c] = static_cast<float>(rng.uniform(-1, 1));
                }
                ptr[r] = x.data() + r * d;
            }
            for (std::size_t j = 0; j < d; ++j) {
                for (std::size_t c = 0; c < classes; ++c) {
                    w[j * stride + c] = static_cast<float>(rng.uniform(-1, 1));
                }
            }
            std::vector<float> z(rows * stride), g(d * stride, 7.0F);
            k::logits(ptr.data(), rows, d, w.data(), stride, z.data());
            k::weight_gradient(ptr.data(), rows, d, dz.data(), stride, g.data());
            for (std::size_t r = 0; r < rows; ++r) {
                for (std::size_t c = 0; c < stride; ++c) {
                    float plain = 0;
                    double exact = 0;
                    for (std::size_t j = 0; j < d; ++j) {
                        plain += x[r * d + j] * w[j * stride + c];
                        exact += static_cast<double>(x[r * d + j]) * w[j * stride + c];
                    }
                    ASSERT_EQ(z[r * stride + c], plain) << rows << " rows, class " << c;
                    ASSERT_NEAR(z[r * stride + c], exact, 1e-5 * (1 + std::abs(exact)));
                }
            }
            for (std::size_t j = 0; j < d; ++j) {
                for (std::size_t c = 0; c < stride; ++c) {
                    float plain = 0;
                    for (std::size_t r = 0; r < rows; ++r) {
                        plain += x[r * d + j] * dz[r * stride + c];
                    }
                    ASSERT_EQ(g[j * stride + c], plain) << rows << " rows, feature " << j;
                    if (c >= classes) {
                        ASSERT_EQ(g[j * stride + c], 0.0F);  // padding stays zero
                    }
                }
            }
        }
    }
}

// Results must be bit-identical for 1 and 2 threads (parallel chunks are fixed, summed in order).
template <typename F>
auto in_arena(int threads, F&& f) {
    oneapi::tbb::task_arena arena(threads);
    return arena.execute(f);
}

TEST(readout, results_do_not_depend_on_the_thread_count) {
    const synthetic_set tr = make_set(1200, 120, 4, 1.5, 0.1, 17);
    const synthetic_set va = make_set(300, 120, 4, 1.5, 0.1, 18);
    const synthetic_set te = make_set(300, 120, 4, 1.5, 0.1, 19);
    glia::reservoir::softmax_params p;
    p.max_epochs = 4;
    p.seed = 42;
    const auto run_softmax = [&] {
        return glia::reservoir::train_softmax_readout(tr.view(), va.view(), te.view(), p);
    };
    const auto s1 = in_arena(1, run_softmax);
    const auto s2 = in_arena(2, run_softmax);
    EXPECT_EQ(s1.W, s2.W);
    EXPECT_EQ(s1.b, s2.b);
    EXPECT_EQ(s1.loss_curve, s2.loss_curve);
    EXPECT_EQ(s1.validation_curve, s2.validation_curve);
    EXPECT_EQ(s1.test_predictions, s2.test_predictions);
    // Without the per-epoch training-set evaluation: the same model and the same train accuracy.
    p.record_train_curve = false;
    const auto s3 = in_arena(2, run_softmax);
    EXPECT_TRUE(s3.train_curve.empty());
    EXPECT_EQ(s3.W, s1.W);
    EXPECT_EQ(s3.train_accuracy, s1.train_accuracy);
    EXPECT_EQ(s1.train_accuracy, s1.train_curve[s1.best_epoch - 1]);
    // A different seed shuffles differently.
    p.seed = 43;
    EXPECT_NE(in_arena(2, run_softmax).loss_curve, s1.loss_curve);

    const auto run_ridge = [&] {
        return glia::reservoir::train_ridge_classifier(tr.view(), va.view(), te.view());
    };
    const auto r1 = in_arena(1, run_ridge);
    const auto r2 = in_arena(2, run_ridge);
    EXPECT_EQ(r1.model.W, r2.model.W);
    EXPECT_EQ(r1.validation_accuracy_per_lambda, r2.validation_accuracy_per_lambda);
}

TEST(metrics, accuracy_confusion_and_per_class_accuracy) {
    const std::vector<std::uint8_t> truth{0, 0, 1, 1, 1, 2};
    const std::vector<std::uint8_t> pred{0, 1, 1, 1, 0, 1};
    EXPECT_DOUBLE_EQ(glia::reservoir::accuracy(pred, truth), 3.0 / 6.0);
    const auto m = glia::reservoir::confusion(pred, truth, 4);
    EXPECT_EQ(m.counts, (std::vector<std::size_t>{1, 1, 0, 0,     // true 0
                                                  1, 2, 0, 0,     // true 1
                                                  0, 1, 0, 0,     // true 2
                                                  0, 0, 0, 0}));  // true 3: no samples
    const auto pc = glia::reservoir::per_class_accuracy(m);
    EXPECT_DOUBLE_EQ(pc[0], 0.5);
    EXPECT_DOUBLE_EQ(pc[1], 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(pc[2], 0.0);
    EXPECT_TRUE(std::isnan(pc[3]));
    EXPECT_TRUE(std::isnan(glia::reservoir::accuracy({}, {})));
    EXPECT_EQ(glia::reservoir::count_classes(truth, pred), 3u);
    EXPECT_THAT([&] { glia::reservoir::accuracy(std::span(pred).first(5), truth); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("accuracy: 5 predictions but 6 true labels")));
    EXPECT_THAT([&] { glia::reservoir::confusion(pred, truth, 2); },
                testing::ThrowsMessage<glia::error>(
                    HasSubstr("sample 5 has true class 2 and predicted class 1; classes must be "
                              "below n_classes = 2")));
}

}  // namespace
