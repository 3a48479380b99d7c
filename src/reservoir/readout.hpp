#pragma once
// Readouts that turn per-sample reservoir features into class predictions (docs/reservoir.md):
//
//   ridge classifier   closed-form least squares on one-hot targets with a bias column and an
//                      L2 penalty lambda, lambda chosen from a list by validation accuracy;
//   softmax readout    NALSM's (science-spec §1.6, NALSM_OUTPUT_LAYER.py): per-sample L1
//                      normalisation, then division by the largest element of the minibatch;
//                      a linear layer with bias, both initialised to zero; softmax cross-entropy
//                      against the soft targets softmax(t) (t = +1 for the true class, -1 for the
//                      others) plus beta * ||W||^2 / 2; TF1 Adadelta; the reported number is the
//                      test accuracy at the epoch of best validation accuracy. Its two matrix
//                      products (logits, weight gradient) run in single precision, as NALSM's
//                      float32, on the raw feature rows with the normalisation applied to their
//                      results (softmax_kernels.hpp); the rest is double.
//
// Both are deterministic for given inputs and seed, for any number of oneTBB threads: parallel
// work is split into fixed chunks whose partial sums are added in chunk order. They run in the
// caller's task_arena.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include <Eigen/Dense>

#include "reservoir/feature_view.hpp"
#include "reservoir/linear_model.hpp"

namespace glia::reservoir {

// Features (one sample per row) and one label per row (glia::error if the counts differ).
struct labelled_features {
    feature_view x;
    std::span<const std::uint8_t> labels;
};

// ----- ridge classifier -----

struct ridge_params {
    // Candidate penalties, tried in this order; ties in validation accuracy go to the earlier one.
    // With standardised features the diagonal of Z^T Z is about n_samples, so these span from
    // almost no penalty to strong shrinkage for 10^3..10^5 samples.
    std::vector<double> lambdas = {1e-2, 1e-1, 1, 10, 1e2, 1e3, 1e4, 1e5};
    bool standardize = true;  // z-score each feature with the training mean and deviation
};

struct ridge_model {
    standardizer scaling;
    Eigen::MatrixXd W;  // (n_features + 1) x n_classes; the last row is the bias

    // Class scores (n x n_classes) and the arg-max class per sample (the first on ties).
    Eigen::MatrixXd scores(feature_view x) const { return predict_linear(x, scaling, W); }
    std::vector<std::uint8_t> predict(feature_view x) const;
};

struct ridge_result {
    ridge_model model;                                   // trained with the chosen lambda
    double lambda = 0;                                   // the chosen lambda
    std::vector<double> validation_accuracy_per_lambda;  // in ridge_params::lambdas order
    double train_accuracy = 0;
    double validation_accuracy = 0;
    double test_accuracy = 0;  // NaN without test samples
    std::vector<std::uint8_t> test_predictions;
};

// n_classes 0: max label + 1 over the three sets. With one lambda, validation may be empty.
ridge_result train_ridge_classifier(const labelled_features& train,
                                    const labelled_features& validation,
                                    const labelled_features& test, const ridge_params& params = {},
                                    std::size_t n_classes = 0);

// ----- NALSM softmax readout -----

struct softmax_params {
    double learning_rate = 0.1;    // Adadelta lr (NALSM: READOUT_LR_IN = 0.1)
    double rho = 0.95;             // Adadelta decay (TF1 default)
    double epsilon = 1e-8;         // Adadelta epsilon (TF1 default)
    double l2_beta = 5e-10;        // loss += l2_beta * sum(W^2) / 2 (tf.nn.l2_loss); bias free
    std::size_t batch_size = 250;  // samples per minibatch, also the normalisation group
    // NALSM runs 5000 epochs; with early stopping the best validation epoch is reached long
    // before (docs/reservoir.md: measured on Fashion-MNIST pixels).
    std::size_t max_epochs = 1000;
    std::size_t patience = 100;  // stop after this many epochs without a better validation
                                 // accuracy; 0: run all max_epochs
    bool shuffle = true;         // new minibatch order every epoch (NALSM: fixed order, false)
    std::uint64_t seed = 0;      // of the shuffles: stream::reservoir, entity 0, sub = epoch
    // Evaluate the whole training set after every epoch (NALSM does) for train_curve; off saves
    // about a quarter of the time, and train_accuracy is then evaluated at the best epoch only.
    bool record_train_curve = true;
    // Called after every epoch with (epoch, its validation accuracy, its training accuracy: NaN
    // without record_train_curve); returning false stops the training there (the result is
    // then the best epoch so far). For progress, the monitor and Ctrl-C.
    std::function<bool(std::size_t, double, double)> on_epoch;
};

struct softmax_result {
    Eigen::MatrixXd W;           // n_features x n_classes, at the best epoch
    Eigen::VectorXd b;           // n_classes, at the best epoch
    std::size_t best_epoch = 0;  // 1-based epoch of the first maximum of validation accuracy
    std::size_t epochs_run = 0;
    bool stopped_early = false;
    double train_accuracy = 0;  // at best_epoch
    double validation_accuracy = 0;
    double test_accuracy = 0;                    // the reported number; NaN without test samples
    std::vector<std::uint8_t> test_predictions;  // at best_epoch
    // After each epoch e (index e - 1): accuracies, and the mean minibatch loss during it
    // (train_curve stays empty without softmax_params::record_train_curve).
    std::vector<double> train_curve, validation_curve, test_curve, loss_curve;
};

// Validation must not be empty (it chooses the reported epoch).
softmax_result train_softmax_readout(const labelled_features& train,
                                     const labelled_features& validation,
                                     const labelled_features& test,
                                     const softmax_params& params = {}, std::size_t n_classes = 0);

// NALSM's input normalisation of one batch, in place: each row divided by its L1 norm, then
// everything divided by the largest element of the batch (features are meant to be
// non-negative, like spike counts; a batch whose largest element is <= 0 is not rescaled).
// Deviation, stated: an all-zero row (a sample without spikes: 0/0 = NaN in NALSM) stays zero, and
// so does an all-zero batch.
void nalsm_normalize_batch(Eigen::MatrixXd& batch);

// The soft targets softmax(t) for t = +1 (true class), -1 (others): {q_true, q_other}.
struct soft_targets {
    double q_true = 0;
    double q_other = 0;
};
soft_targets nalsm_soft_targets(std::size_t n_classes);

// The training loss on one normalised batch and its gradient:
//   L = mean_i [ -sum_c q_ic log softmax(x_i W + b)_c ] + l2_beta * sum(W^2) / 2.
struct loss_gradient {
    double loss = 0;
    Eigen::MatrixXd dW;
    Eigen::VectorXd db;
};
loss_gradient soft_target_loss_gradient(const Eigen::MatrixXd& x_hat,
                                        std::span<const std::uint8_t> labels,
                                        const Eigen::MatrixXd& W, const Eigen::VectorXd& b,
                                        double l2_beta);

// One step of TF1's ApplyAdadelta kernel (tensorflow/core/kernels/training_ops.cc), in place,
// element by element (the accumulators start at zero):
//   accum        = rho * accum + (1 - rho) * g^2
//   update       = sqrt(accum_update + eps) / sqrt(accum + eps) * g
//   var         -= lr * update
//   accum_update = rho * accum_update + (1 - rho) * update^2
void adadelta_step(Eigen::Ref<Eigen::MatrixXd> var, const Eigen::Ref<const Eigen::MatrixXd>& g,
                   Eigen::Ref<Eigen::MatrixXd> accum, Eigen::Ref<Eigen::MatrixXd> accum_update,
                   double lr, double rho, double eps);

// Predictions of a softmax readout on `x`, evaluated in consecutive batches of batch_size rows
// (each normalised on its own, as NALSM evaluates its stored batches).
std::vector<std::uint8_t> softmax_predict(feature_view x, const Eigen::MatrixXd& W,
                                          const Eigen::VectorXd& b, std::size_t batch_size);

}  // namespace glia::reservoir
