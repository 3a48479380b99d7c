// The softmax readout (NALSM's output layer) on a NALSM-sized problem: spike-count features of
// n training, n / 5 validation and n / 5 test samples, d features, 10 classes, minibatches of
// 250, four epochs per iteration (each with its validation and test evaluation). Reported: the
// time of one epoch (real time / 4) and training samples per second.
//
//   build/tools/bench/glia_bench_kernels --benchmark_filter=softmax
//
// Features are Poisson counts whose rates depend on the class: a learnable problem.

#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/task_arena.h>

#include <glia/rng.hpp>

#include "reservoir/readout.hpp"

namespace {

struct feature_set {
    std::vector<float> x;
    std::vector<std::uint8_t> y;
    std::size_t n = 0, d = 0;
    glia::reservoir::labelled_features view() const {
        return {glia::reservoir::feature_view(x, n, d), y};
    }
};

feature_set make_counts(std::size_t n, std::size_t d, std::uint32_t entity) {
    feature_set s;
    s.n = n;
    s.d = d;
    s.x.resize(n * d);
    s.y.resize(n);
    glia::rng_stream rng(glia::stream_key(7, glia::stream::reservoir), entity, 0);
    for (std::size_t i = 0; i < n; ++i) {
        s.y[i] = static_cast<std::uint8_t>(rng.below(10));
        for (std::size_t j = 0; j < d; ++j) {
            // 2 to 12 spikes on average, in a pattern that each class shifts
            const double rate = 2.0 + 10.0 * static_cast<double>((j + 3 * s.y[i]) % 7) / 6.0;
            s.x[i * d + j] = static_cast<float>(rng.poisson(rate));
        }
    }
    return s;
}

void softmax_epoch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    const auto threads = static_cast<int>(state.range(2));
    const feature_set train = make_counts(n, d, 1);
    const feature_set validation = make_counts(n / 5, d, 2);
    const feature_set test = make_counts(n / 5, d, 3);
    glia::reservoir::softmax_params p;
    p.max_epochs = 4;
    p.patience = 0;
    p.record_train_curve = false;
    oneapi::tbb::task_arena arena(threads);
    double accuracy = 0;
    for (auto _: state) {
        arena.execute([&] {
            accuracy = glia::reservoir::train_softmax_readout(train.view(), validation.view(),
                                                              test.view(), p, 10)
                           .test_accuracy;
        });
    }
    state.counters["epoch_s"] = benchmark::Counter(
        static_cast<double>(p.max_epochs), benchmark::Counter::kIsIterationInvariantRate |
                                               benchmark::Counter::kInvert);
    state.counters["test_accuracy"] = accuracy;
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n * p.max_epochs));
}

}  // namespace

BENCHMARK(softmax_epoch)
    ->ArgNames({"n", "d", "threads"})
    ->Args({50000, 1000, 1})
    ->Args({50000, 1000, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
