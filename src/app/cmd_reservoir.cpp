#include "app/cmd_reservoir.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>
#include <glia/version_info.hpp>

#include "app/app_util.hpp"
#include "io/hdf5_writer.hpp"
#include "io/reservoir_config.hpp"
#include "io/reservoir_output.hpp"
#include "reservoir/dataset.hpp"
#include "reservoir/encoding.hpp"
#include "reservoir/metrics.hpp"
#include "reservoir/nalsm.hpp"
#include "reservoir/nalsm_protocol.hpp"
#include "reservoir/readout.hpp"
#include "app/reservoir_view.hpp"
#include "runtime/monitor.hpp"
#include "runtime/signals.hpp"

namespace glia::app {

namespace {

using clock_type = std::chrono::steady_clock;
namespace res = glia::reservoir;
namespace nalsm = glia::reservoir::nalsm;

constexpr int exit_ok = 0;
constexpr int exit_interrupted = 3;

// One part of the split, encoded: the images (indices into the dataset), their labels and
// event probabilities.
struct part {
    std::string name;
    std::vector<std::size_t> index;
    std::vector<std::uint8_t> labels;
    std::vector<float> p;
    // Phase B results (all features of the part; `done` rows of them).
    std::vector<float> features;
    std::size_t done = 0;
};

struct loaded_data {
    res::image_set images;
    std::vector<part> parts;  // train, validation, test
    double r_train_validation = 0;
    double r_test = 0;
};

std::vector<std::size_t> limited(std::vector<std::size_t> v, const std::optional<std::size_t>& n) {
    if (n && *n < v.size()) {
        v.resize(*n);
    }
    return v;
}

loaded_data load_data(const res::nalsm_experiment& x, std::uint32_t n_input) {
    loaded_data d;
    res::split s;
    if (x.dataset.kind == res::dataset_spec::format::idx_official) {
        res::official_dataset o = res::load_official(x.dataset.path);
        if (x.dataset.split == res::dataset_spec::split_kind::nalsm) {
            if (x.dataset.validation >= o.n_official_train) {
                throw error(fmt::format("dataset.validation = {} leaves no training images of the "
                                        "{} official ones",
                                        x.dataset.validation, o.n_official_train));
            }
            s = res::nalsm_split(o, x.dataset.validation);
        } else {
            s = res::fraction_split(o.images.n, x.dataset.train_fraction,
                                    x.dataset.validation_fraction);
        }
        d.images = std::move(o.images);
    } else {
        d.images = res::load_idx(x.dataset.images, x.dataset.labels);
        s = res::fraction_split(d.images.n, x.dataset.train_fraction, x.dataset.validation_fraction);
    }
    if (d.images.pixels_per_image() != n_input) {
        throw internal_error("input neurons do not match the image size");
    }
    // R over the whole train + validation parts and over the whole test part (NALSM), before
    // any limit: a quick run sees the same encoding as the full one.
    std::vector<std::size_t> train_val = s.train;
    train_val.insert(train_val.end(), s.validation.begin(), s.validation.end());
    d.r_train_validation = res::nalsm_rescale_factor(d.images, train_val);
    d.r_test = res::nalsm_rescale_factor(d.images, s.test);
    const auto make = [&](std::string name, std::vector<std::size_t> idx, double r) {
        part p;
        p.name = std::move(name);
        p.index = std::move(idx);
        for (std::size_t i: p.index) {
            p.labels.push_back(d.images.labels[i]);
        }
        if (!p.index.empty()) {
            p.p = res::nalsm_probabilities(d.images, p.index, r);
        }
        return p;
    };
    d.parts.push_back(make("train", limited(s.train, x.dataset.limit_train), d.r_train_validation));
    d.parts.push_back(make("validation", limited(s.validation, x.dataset.limit_validation),
                           d.r_train_validation));
    d.parts.push_back(make("test", limited(s.test, x.dataset.limit_test), d.r_test));
    if (d.parts[0].index.empty() || d.parts[1].index.empty()) {
        throw error("the dataset split leaves no training or no validation images");
    }
    return d;
}

// A progress line on a terminal (rewritten in place), log lines every 10 % or 60 s otherwise.
class progress_line {
public:
    progress_line(spdlog::logger& log, bool enabled) :
        log_(log), enabled_(enabled), tty_(isatty(STDERR_FILENO) != 0) {}

    void start(std::string what, std::size_t total) {
        what_ = std::move(what);
        total_ = total;
        t0_ = clock_type::now();
        last_decile_ = -1;
        last_log_ = 0;
        base_ = 0;
    }
    // `n` of the samples counted by update() were done before this run (resume): not in the rate.
    void add_base(std::size_t n) { base_ += n; }
    void update(std::size_t done) {
        if (!enabled_ || total_ == 0) {
            return;
        }
        const double elapsed = seconds_since(t0_);
        const double frac = static_cast<double>(done) / static_cast<double>(total_);
        const double rate =
            elapsed > 0 && done >= base_ ? static_cast<double>(done - base_) / elapsed : 0;
        const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
        const std::string line =
            fmt::format("{}: [{:5.1f}%] {} / {} samples, {:.0f} samples/s, elapsed {}, ETA {}",
                        what_, 100 * frac, done, total_, rate, format_duration(elapsed),
                        format_duration(eta));
        if (tty_) {
            std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), done == total_ ? "\n" : "");
            std::fflush(stderr);
            return;
        }
        const int decile = static_cast<int>(frac * 10);
        if (decile > last_decile_ || elapsed - last_log_ >= 60 || done == total_) {
            last_decile_ = decile;
            last_log_ = elapsed;
            log_.info("{}", line);
        }
    }
    void interrupted() {
        if (enabled_ && tty_) {
            std::fprintf(stderr, "\n");
        }
    }

private:
    spdlog::logger& log_;
    bool enabled_;
    bool tty_;
    std::string what_;
    std::size_t total_ = 0;
    std::size_t base_ = 0;
    clock_type::time_point t0_;
    int last_decile_ = -1;
    double last_log_ = 0;
};

std::string layout_text(std::size_t n_liquid, const nalsm::feature_params& f) {
    std::string s = fmt::format("counts[{}]", n_liquid);
    if (f.bins > 0) {
        s += fmt::format(" binned[{} x {}]", f.bins, n_liquid);
    }
    if (f.final_v) {
        s += fmt::format(" final_v[{}]", n_liquid);
    }
    return s;
}

// The readout's view of a part's features: all columns, or the counts only (copied out).
struct readout_features {
    std::vector<float> copy;
    res::feature_view view;
};
readout_features readout_view(const part& p, std::size_t width, std::size_t n_liquid,
                              bool counts_only) {
    readout_features r;
    if (!counts_only || width == n_liquid) {
        r.view = res::feature_view(std::span<const float>(p.features.data(), p.done * width),
                                   p.done, width);
        return r;
    }
    r.copy.resize(p.done * n_liquid);
    for (std::size_t i = 0; i < p.done; ++i) {
        std::copy_n(p.features.data() + i * width, n_liquid, r.copy.data() + i * n_liquid);
    }
    r.view = res::feature_view(r.copy, p.done, n_liquid);
    return r;
}

// The test set's confusion matrix and per-class accuracy: into /metrics, and to the log.
void write_classification(io::reservoir_file& out, spdlog::logger& log, const std::string& prefix,
                          std::span<const std::uint8_t> predicted,
                          std::span<const std::uint8_t> truth, std::size_t n_classes) {
    const res::confusion_matrix m = res::confusion(predicted, truth, n_classes);
    const std::vector<std::size_t> dims = {n_classes, n_classes};
    out.metric_counts(prefix + "_confusion_test", m.counts, dims);
    const std::vector<double> per_class = res::per_class_accuracy(m);
    const std::vector<std::size_t> dim1 = {n_classes};
    out.metric_array(prefix + "_per_class_accuracy_test", per_class, dim1);
    std::string classes;
    for (std::size_t c = 0; c < n_classes; ++c) {
        classes += fmt::format(" {}: {:.1f}", c, 100 * per_class[c]);
    }
    log.info("{} per-class test accuracy [%]:{}", prefix, classes);
    std::string matrix = fmt::format("{} confusion matrix (test; rows: true class, columns: "
                                     "predicted)\n      ",
                                     prefix);
    for (std::size_t p = 0; p < n_classes; ++p) {
        matrix += fmt::format("{:>6}", p);
    }
    for (std::size_t t = 0; t < n_classes; ++t) {
        matrix += fmt::format("\n{:>6}", t);
        for (std::size_t p = 0; p < n_classes; ++p) {
            matrix += fmt::format("{:>6}", m.at(t, p));
        }
    }
    log.info("{}", matrix);
}

}  // namespace

int cmd_validate_reservoir(const std::string& file, const std::vector<std::string>& sets) {
    const res::nalsm_experiment x = io::load_reservoir_experiment(file, sets);
    const auto& g = x.liquid.grid;
    fmt::print("{}: ok (NALSM reservoir: liquid {} x {} x {} = {} neurons, plasticity {}, "
               "phase A {} x {} ms, phase B {} ms per sample, output {})\n",
               file, g[0], g[1], g[2], g[0] * g[1] * g[2],
               x.model.rule == nalsm::plasticity::astro_stdp ? "astro_stdp"
               : x.model.rule == nalsm::plasticity::stdp     ? "stdp"
                                                             : "none",
               x.init.samples, x.init.steps, x.features.steps, x.output);
    return exit_ok;
}

int cmd_run_reservoir(const reservoir_run_options& opt,
                      const std::shared_ptr<spdlog::logger>& log) {
    const auto t_start = clock_type::now();
    res::nalsm_experiment x = io::load_reservoir_experiment(opt.file, opt.sets);
    if (!opt.output.empty()) {
        x.output = opt.output;
    }
    io::check_writable(x.output);
    std::optional<runtime::monitor_options> monitor_options;  // checked before any work
    if (!opt.monitor.empty()) {
        monitor_options = runtime::parse_monitor_address(opt.monitor);
    }
    // Set by a signal (the watcher below) or by the monitor's POST /stop.
    std::atomic<bool> stop{false};
    // --monitor only: without it, no thread and no socket (docs/monitor.md). Status "starting"
    // while the dataset loads and the liquid is built, before the output file is opened.
    std::unique_ptr<runtime::monitor> monitor;
    if (monitor_options) {
        monitor = start_monitor(*monitor_options, stop, *log);
    }
    reservoir_view view(monitor.get());
    const int threads = opt.threads > 0 ? opt.threads
                        : x.threads > 0 ? x.threads
                                        : tbb::info::default_concurrency();
    tbb::global_control threads_limit(tbb::global_control::max_allowed_parallelism,
                                      static_cast<std::size_t>(threads));
    tbb::task_arena arena(threads);
    log->info("glia {} ({}): {} -> {} (NALSM reservoir, {} threads)", version_string, git_hash,
              opt.file, x.output, threads);

    // Dataset and encoding.
    auto t0 = clock_type::now();
    loaded_data data = load_data(x, x.liquid.n_input);
    std::vector<part>& parts = data.parts;
    log->info("dataset: {} images of {} x {}; train {}, validation {}, test {} (R = {:.5f} / "
              "{:.5f}), loaded in {}",
              data.images.n, data.images.rows, data.images.cols, parts[0].index.size(),
              parts[1].index.size(), parts[2].index.size(), data.r_train_validation, data.r_test,
              format_duration(seconds_since(t0)));

    // Liquid.
    t0 = clock_type::now();
    nalsm::liquid net;
    nalsm::astrocyte_layout layout;
    arena.execute([&] {
        net = nalsm::build_liquid(x.liquid, x.seed);
        layout = nalsm::make_astrocyte_layout(net, x.model.astrocyte, x.seed);
    });
    const double build_s = seconds_since(t0);
    log->info("liquid: {} neurons ({} E, {} I), {} inputs, {} liquid and {} input synapses, "
              "{} astrocyte region(s), built in {}",
              net.n_liquid(), net.n_exc, net.n_inh, net.n_input, net.n_liquid_synapses(),
              net.n_synapses() - net.n_liquid_synapses(), layout.n_regions,
              format_duration(build_s));

    const io::reservoir_provenance prov =
        provenance_of("nalsm", x.config_text, x.source_path, opt.command_line, x.seed);
    std::unique_ptr<io::reservoir_file> out_ptr =
        opt.resume ? std::make_unique<io::reservoir_file>(io::reservoir_file::resume_tag{},
                                                           x.output, "nalsm", x.config_text)
                   : std::make_unique<io::reservoir_file>(x.output, prov);
    io::reservoir_file& out = *out_ptr;
    out.write_liquid(net, layout);

    progress_line progress(*log, opt.progress);
    std::optional<runtime::signal_watcher> signals;
    // "interrupted" (a signal) or "stopped from the monitor" (POST /stop).
    const auto stopped_by = [&] {
        return monitor && signals && signals->signal_number() == 0 ? "stopped from the monitor"
                                                                   : "interrupted";
    };
    const auto finish_interrupted = [&](const std::string& where) {
        progress.interrupted();
        out.metric("wall_seconds", seconds_since(t_start));
        out.close("interrupted");
        view.end(false);
        log->warn("{} during {}; {} holds everything finished so far", stopped_by(), where,
                  x.output);
        return exit_interrupted;
    };
    signals.emplace(stop);
    std::size_t total = 0;  // phase B samples
    for (const part& p: parts) {
        total += p.index.size();
    }
    view.begin(net, x.init.samples, x.init.steps, total, x.features.steps, build_s);

    // Phase A (a resumed run whose phase A had finished takes W_INI from the file).
    t0 = clock_type::now();
    const part& train = parts[0];
    const nalsm::encoded_samples train_samples{train.p, train.index};
    nalsm::init_result init;
    if (opt.resume) {
        init.weights = out.completed_w_ini();
        if (init.weights.size() == net.n_synapses()) {
            init.samples_done = x.init.samples;
            log->info("resume: phase A was complete; W_INI read from {}", x.output);
        } else {
            init = {};
        }
    }
    const bool run_phase_a = init.weights.empty();
    view.phase("A", x.init.samples);
    if (!run_phase_a) {
        view.resumed(x.init.samples);
    }
    if (run_phase_a) {
        progress.start("phase A (liquid initialisation)", x.init.samples);
        arena.execute([&] {
            init = nalsm::initialize(net, x.model, layout, train_samples, x.init, x.seed, &stop,
                                     [&](const nalsm::init_result& so_far, std::size_t) {
                                         progress.update(so_far.samples_done);
                                         view.presentations(so_far);
                                     });
        });
        out.write_init(init.weights, init.final_a, init.liquid_rate, x.init.samples);
    }
    const double phase_a_s = seconds_since(t0);
    if (init.samples_done < x.init.samples) {
        return finish_interrupted("phase A");
    }
    if (run_phase_a && x.init.samples > 0) {
        const double mean_a =
            std::accumulate(init.final_a.end() - std::min<std::size_t>(init.final_a.size(), 1000),
                            init.final_a.end(), 0.0) /
            static_cast<double>(std::min<std::size_t>(init.final_a.size(), 1000));
        log->info("phase A: {} presentations x {} ms in {} (A at the end of a presentation, "
                  "mean of the last 1000: {:.4f})",
                  x.init.samples, x.init.steps, format_duration(phase_a_s), mean_a);
    }
    const std::vector<float>& w_ini = init.weights;

    // Phase B.
    t0 = clock_type::now();
    const std::size_t width = nalsm::feature_width(net, x.features);
    progress.start("phase B (features)", total);
    view.phase("B", total);
    std::size_t done_all = 0;
    std::size_t resumed_all = 0;  // samples a resumed run found in the file
    std::uint64_t liquid_spikes = 0;
    for (part& p: parts) {
        if (p.index.empty()) {
            continue;
        }
        p.features.resize(p.index.size() * width);
        std::size_t resumed = 0;
        if (opt.resume) {
            resumed = out.resume_part(p.name, p.index.size(), width,
                                      layout_text(net.n_liquid(), x.features));
            const std::vector<float> previous = out.part_features();
            std::copy(previous.begin(), previous.end(), p.features.begin());
            p.done = resumed;
            done_all += resumed;
            resumed_all += resumed;
            progress.add_base(resumed);
            view.resumed(resumed);
            if (resumed > 0) {
                log->info("resume: {} of {} {} samples already in the file", resumed,
                          p.index.size(), p.name);
            }
        } else {
            out.begin_part(p.name, p.index.size(), width, layout_text(net.n_liquid(), x.features));
        }
        const nalsm::encoded_samples samples{p.p, p.index};
        for (std::size_t first = resumed; first < p.index.size(); first += x.block) {
            if (stop.load()) {
                return finish_interrupted("phase B");
            }
            const std::size_t count = std::min(x.block, p.index.size() - first);
            nalsm::feature_block b;
            arena.execute([&] {
                b = nalsm::compute_features(net, x.model, layout, w_ini, samples, first, count,
                                            x.features, x.seed);
            });
            std::copy(b.values.begin(), b.values.end(), p.features.begin() + first * width);
            out.append(b.values, std::span(p.labels).subspan(first, count),
                       std::span(p.index).subspan(first, count), b.liquid_spikes, b.input_spikes,
                       b.final_a);
            for (auto s: b.liquid_spikes) {
                liquid_spikes += s;
            }
            p.done += count;
            done_all += count;
            progress.update(done_all);
            view.block(p.name, b, done_all);
        }
    }
    const double phase_b_s = seconds_since(t0);
    const std::size_t computed = total - resumed_all;
    const double samples_per_s = computed > 0 ? static_cast<double>(computed) / phase_b_s : 0.0;
    const double rate_hz = static_cast<double>(liquid_spikes) /
                           (static_cast<double>(computed) * static_cast<double>(net.n_liquid()) *
                            static_cast<double>(x.features.steps) * 1e-3);
    log->info("phase B: {} samples x {} ms in {} ({:.1f} samples/s), liquid rate {:.1f} Hz",
              computed, x.features.steps, format_duration(phase_b_s), samples_per_s, rate_hz);

    // Branching factor on the first test samples (validation if there is no test part).
    const part& bf_part = parts[2].index.empty() ? parts[1] : parts[2];
    double bf = NAN;
    if (x.branching_samples > 0) {
        view.phase("branching", std::min(x.branching_samples, bf_part.index.size()));
        const nalsm::encoded_samples samples{bf_part.p, bf_part.index};
        std::vector<nalsm::sample_raster> rasters;
        arena.execute([&] {
            rasters = nalsm::record_rasters(net, x.model, layout, w_ini, samples,
                                            x.branching_samples, x.features, x.seed);
        });
        std::vector<std::uint32_t> sample, step, neuron;
        std::vector<float> trace;
        double sum = 0;
        std::size_t n = 0;
        for (std::size_t k = 0; k < rasters.size(); ++k) {
            const double b = nalsm::branching_factor(net, rasters[k].step, rasters[k].neuron);
            if (std::isfinite(b)) {
                sum += b;
                ++n;
            }
            sample.insert(sample.end(), rasters[k].step.size(), static_cast<std::uint32_t>(k));
            step.insert(step.end(), rasters[k].step.begin(), rasters[k].step.end());
            neuron.insert(neuron.end(), rasters[k].neuron.begin(), rasters[k].neuron.end());
            trace.insert(trace.end(), rasters[k].astrocyte.begin(), rasters[k].astrocyte.end());
        }
        bf = n > 0 ? sum / static_cast<double>(n) : NAN;
        out.write_rasters(sample, step, neuron, trace, rasters.size(), x.features.steps,
                          layout.n_regions);
        log->info("branching factor: {:.3f} (mean over {} {} samples)", bf, n, bf_part.name);
    }
    out.metric("branching_factor", bf);
    view.phase("readout", total);
    view.branching_factor(bf);

    // Readouts.
    const bool counts_only = x.readout.features == res::readout_spec::feature_set::counts;
    const readout_features f_train = readout_view(parts[0], width, net.n_liquid(), counts_only);
    const readout_features f_val = readout_view(parts[1], width, net.n_liquid(), counts_only);
    const readout_features f_test = readout_view(parts[2], width, net.n_liquid(), counts_only);
    const res::labelled_features l_train{f_train.view, parts[0].labels};
    const res::labelled_features l_val{f_val.view, parts[1].labels};
    const res::labelled_features l_test{f_test.view, parts[2].labels};
    const std::size_t n_classes =
        res::count_classes(parts[0].labels, parts[1].labels, parts[2].labels);
    double reported = NAN;
    std::string reported_by;
    double softmax_s = 0;
    double ridge_s = 0;
    const auto kind = x.readout.kind;
    if (kind == res::readout_spec::method::ridge || kind == res::readout_spec::method::both) {
        t0 = clock_type::now();
        view.readout("ridge");
        res::ridge_result r;
        arena.execute([&] {
            r = res::train_ridge_classifier(l_train, l_val, l_test, x.readout.ridge, n_classes);
        });
        ridge_s = seconds_since(t0);
        out.metric("ridge_accuracy_train", r.train_accuracy);
        out.metric("ridge_accuracy_validation", r.validation_accuracy);
        out.metric("ridge_accuracy_test", r.test_accuracy);
        out.metric("ridge_lambda", r.lambda);
        out.metric("ridge_seconds", ridge_s);
        log->info("ridge readout: test accuracy {:.2f} % (validation {:.2f} %, train {:.2f} %, "
                  "lambda {}) in {}",
                  100 * r.test_accuracy, 100 * r.validation_accuracy, 100 * r.train_accuracy,
                  r.lambda, format_duration(ridge_s));
        if (!parts[2].labels.empty()) {
            write_classification(out, *log, "ridge", r.test_predictions, parts[2].labels,
                                 n_classes);
        }
        view.result("ridge", fmt::format("{{\"accuracy_train\":{},\"accuracy_validation\":{},"
                                         "\"accuracy_test\":{},\"lambda\":{}}}",
                                         reservoir_view::number(r.train_accuracy),
                                         reservoir_view::number(r.validation_accuracy),
                                         reservoir_view::number(r.test_accuracy),
                                         reservoir_view::number(r.lambda)));
        reported = r.test_accuracy;
        reported_by = "ridge";
    }
    if (kind == res::readout_spec::method::softmax || kind == res::readout_spec::method::both) {
        t0 = clock_type::now();
        res::softmax_result r;
        res::softmax_params sp = x.readout.softmax;
        progress.start("softmax readout (epochs)", sp.max_epochs);
        view.readout("softmax", sp.max_epochs);
        sp.on_epoch = [&](std::size_t epoch, double validation, double train_accuracy) {
            progress.update(epoch);
            view.epoch(epoch, validation, train_accuracy);
            return !stop.load();
        };
        arena.execute([&] { r = res::train_softmax_readout(l_train, l_val, l_test, sp, n_classes); });
        if (stop.load()) {
            log->warn("softmax readout {} at epoch {}: its figures are those of the best epoch so "
                      "far",
                      monitor && signals->signal_number() == 0 ? "stopped from the monitor"
                                                               : "stopped by a signal",
                      r.epochs_run);
        }
        softmax_s = seconds_since(t0);
        out.metric("softmax_accuracy_train", r.train_accuracy);
        out.metric("softmax_accuracy_validation", r.validation_accuracy);
        out.metric("softmax_accuracy_test", r.test_accuracy);
        out.metric("softmax_best_epoch", static_cast<double>(r.best_epoch));
        out.metric("softmax_epochs_run", static_cast<double>(r.epochs_run));
        out.metric("softmax_seconds", softmax_s);
        const std::vector<std::size_t> dim = {r.validation_curve.size()};
        out.metric_array("softmax_validation_curve", r.validation_curve, dim);
        out.metric_array("softmax_test_curve", r.test_curve, dim);
        out.metric_array("softmax_loss_curve", r.loss_curve, dim);
        log->info("softmax readout (NALSM): test accuracy {:.2f} % at the best validation epoch "
                  "{} of {} (validation {:.2f} %, train {:.2f} %) in {}",
                  100 * r.test_accuracy, r.best_epoch, r.epochs_run, 100 * r.validation_accuracy,
                  100 * r.train_accuracy, format_duration(softmax_s));
        if (!parts[2].labels.empty()) {
            write_classification(out, *log, "softmax", r.test_predictions, parts[2].labels,
                                 n_classes);
        }
        view.result("softmax",
                    fmt::format("{{\"accuracy_train\":{},\"accuracy_validation\":{},"
                                "\"accuracy_test\":{},\"best_epoch\":{},\"epochs_run\":{}}}",
                                reservoir_view::number(r.train_accuracy),
                                reservoir_view::number(r.validation_accuracy),
                                reservoir_view::number(r.test_accuracy), r.best_epoch, r.epochs_run));
        reported = r.test_accuracy;
        reported_by = "softmax";
    }
    const double wall = seconds_since(t_start);
    out.metric("accuracy_test", reported);
    out.metric_text("accuracy_test_readout", reported_by);
    view.accuracy_test(reported, reported_by);
    out.metric("build_seconds", build_s);
    out.metric("phase_a_seconds", phase_a_s);
    out.metric("phase_b_seconds", phase_b_s);
    out.metric("phase_b_samples_per_second", samples_per_s);
    out.metric("liquid_rate_hz", rate_hz);
    out.metric("wall_seconds", wall);
    out.metric("threads", threads);
    out.metric("peak_rss_bytes", static_cast<double>(peak_rss_bytes()));
    if (stop.load()) {
        out.close("interrupted");
        view.end(false);
        log->warn("{} during the readouts; {} holds every feature", stopped_by(), x.output);
        return exit_interrupted;
    }
    out.close("completed");
    view.end(true);
    signals.reset();
    fmt::print("{}: test accuracy {:.2f} % ({} readout), branching factor {:.3f}; phase A {}, "
               "phase B {} ({:.1f} samples/s), readouts {}, total {}, peak memory {:.0f} MB\n",
               x.output, 100 * reported, reported_by, bf, format_duration(phase_a_s),
               format_duration(phase_b_s), samples_per_s, format_duration(softmax_s + ridge_s),
               format_duration(wall), static_cast<double>(peak_rss_bytes()) / 1e6);
    return exit_ok;
}

}  // namespace glia::app
