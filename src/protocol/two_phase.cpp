#include "protocol/two_phase.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>
#include <glia/simulation.hpp>
#include <glia/trial.hpp>

#include "reservoir/branching.hpp"
#include "reservoir/dataset.hpp"
#include "reservoir/encoding.hpp"
#include "reservoir/feature_view.hpp"
#include "reservoir/metrics.hpp"
#include "reservoir/readout.hpp"

namespace glia::protocol {
namespace {

namespace res = glia::reservoir;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Keys of the trials' random streams: phase A presentation q, phase B image i.
constexpr std::uint64_t phase_b_key_offset = std::uint64_t{1} << 40;
// stream::reservoir entity of phase A's presentation order.
constexpr std::uint32_t entity_phase_a_order = 7;

// One part of the split: image indices, labels, event probabilities (rows x values), and the
// features computed so far.
struct part {
    std::string name;
    std::vector<std::size_t> index;
    std::vector<std::uint8_t> labels;
    std::vector<float> p;
    std::vector<float> features;
    std::size_t done = 0;
};

struct loaded_data {
    res::image_set images;
    std::vector<part> parts;  // train, validation, test
    double r_train_validation = 0;
    double r_test = 0;
};

std::vector<std::size_t> limited(std::vector<std::size_t> v, std::size_t n) {
    if (n > 0 && n < v.size()) {
        v.resize(n);
    }
    return v;
}

const input_spec& input_of(const experiment_spec& spec) {
    for (const auto& in: spec.inputs) {
        if (in.name == spec.protocol.input) {
            return in;
        }
    }
    throw internal_error("two_phase: the protocol's input is not in the experiment");
}

// The dataset, its split and every image's event probabilities per step.
loaded_data load_data(const experiment_spec& spec, std::size_t n_values) {
    const dataset_spec& ds = spec.protocol.dataset;
    const input_spec& in = input_of(spec);
    const std::string at = ds.where.empty() ? "" : ds.where + ": ";
    loaded_data d;
    res::split s;
    if (ds.kind == dataset_spec::format::idx_official) {
        res::official_dataset o = res::load_official(ds.path);
        if (ds.split == dataset_spec::split_kind::nalsm) {
            if (ds.validation >= o.n_official_train) {
                throw error(fmt::format("{}protocol.dataset.validation = {} leaves no training "
                                        "images of the {} official ones",
                                        at, ds.validation, o.n_official_train));
            }
            s = res::nalsm_split(o, ds.validation);
        } else {
            s = res::fraction_split(o.images.n, ds.train_fraction, ds.validation_fraction);
        }
        d.images = std::move(o.images);
    } else {
        d.images = res::load_idx(ds.images, ds.labels);
        s = res::fraction_split(d.images.n, ds.train_fraction, ds.validation_fraction);
    }
    if (d.images.pixels_per_image() != n_values) {
        throw error(fmt::format("{}the images have {} x {} = {} pixels, but input '{}' drives {} "
                                "neurons (one per pixel)",
                                at, d.images.rows, d.images.cols, d.images.pixels_per_image(),
                                in.name, n_values));
    }
    const bool nalsm = in.encoding == "nalsm";
    if (nalsm) {
        // R over the whole train + validation parts and over the whole test part (NALSM),
        // before any limit: a quick run sees the same encoding as the full one.
        std::vector<std::size_t> train_val = s.train;
        train_val.insert(train_val.end(), s.validation.begin(), s.validation.end());
        d.r_train_validation = res::nalsm_rescale_factor(d.images, train_val);
        d.r_test = res::nalsm_rescale_factor(d.images, s.test);
    }
    // Rate encoding: the brightest value (255) fires at max_rate, a Bernoulli draw per step.
    const double rate_scale = in.max_rate * spec.simulation.dt * 1e-3 / 255.0;
    const auto make = [&](std::string name, std::vector<std::size_t> idx, double r) {
        part p;
        p.name = std::move(name);
        p.index = std::move(idx);
        for (std::size_t i: p.index) {
            p.labels.push_back(d.images.labels[i]);
        }
        if (p.index.empty()) {
            return p;
        }
        if (nalsm) {
            p.p = res::nalsm_probabilities(d.images, p.index, r);
        } else {
            p.p.resize(p.index.size() * n_values);
            for (std::size_t row = 0; row < p.index.size(); ++row) {
                const auto img = d.images.image(p.index[row]);
                for (std::size_t k = 0; k < n_values; ++k) {
                    p.p[row * n_values + k] =
                        static_cast<float>(std::min(1.0, img[k] * rate_scale));
                }
            }
        }
        return p;
    };
    d.parts.push_back(make("train", limited(s.train, ds.limit_train), d.r_train_validation));
    d.parts.push_back(make("validation", limited(s.validation, ds.limit_validation),
                           d.r_train_validation));
    d.parts.push_back(make("test", limited(s.test, ds.limit_test), d.r_test));
    if (d.parts[0].index.empty() || d.parts[1].index.empty()) {
        throw error(at + "the dataset split leaves no training or no validation images");
    }
    return d;
}

step_t steps_of(double ms, double dt) { return static_cast<step_t>(std::llround(ms / dt)); }

std::string layout_text(std::size_t n, const protocol_spec& p) {
    std::string s = fmt::format("counts[{}]", n);
    if (p.bins > 0) {
        s += fmt::format(" binned[{} x {}]", p.bins, n);
    }
    if (!p.final_state.empty()) {
        s += fmt::format(" {}[{}]", p.final_state, n);
    }
    return s;
}

// The first modulator with a level (NALSM's astrocyte), whose final value per sample is a
// figure of the output; empty when there is none.
std::string level_modulator(const experiment_spec& spec, const model_registry& models) {
    for (const auto& m: spec.modulators) {
        const modulator_model* model = models.find_modulator(m.type);
        if (model != nullptr && model->output == modulator_output::level) {
            return m.name;
        }
    }
    return {};
}

// The mean over regions of the level after the trial's last step (`levels[0]` holds `steps`
// rows of one value per region).
float final_level(const trial_result& r, step_t steps) {
    if (r.levels.empty() || r.levels[0].empty() || steps <= 0) {
        return std::nanf("");
    }
    const auto& l = r.levels[0];
    const std::size_t regions = l.size() / static_cast<std::size_t>(steps);
    double sum = 0;
    for (std::size_t k = l.size() - regions; k < l.size(); ++k) {
        sum += l[k];
    }
    return static_cast<float>(sum / static_cast<double>(regions));
}

// The graph among the state populations for the branching factor: every spike synapse whose
// source and target are state neurons (feature indices), each connected pair once.
struct state_graph {
    std::vector<std::uint32_t> in_offset, in_pre, out_offset, out_post;
};

state_graph make_graph(trial_runner& runner, const network_state& start,
                       const std::vector<std::string>& state) {
    std::vector<std::pair<neuron_id, std::size_t>> ranges;  // first gid, size
    for (const auto& name: state) {
        ranges.push_back(runner.population(name));
    }
    const auto index_of = [&](neuron_id gid) -> std::int64_t {
        std::size_t offset = 0;
        for (const auto& [first, size]: ranges) {
            if (gid >= first && gid < first + size) {
                return static_cast<std::int64_t>(offset + (gid - first));
            }
            offset += size;
        }
        return -1;
    };
    std::size_t n = 0;
    for (const auto& r: ranges) {
        n += r.second;
    }
    std::vector<std::uint64_t> pairs;
    const auto add = [&](const std::vector<synapse_weight>& syn) {
        for (const auto& s: syn) {
            const auto a = index_of(s.source);
            const auto b = index_of(s.target);
            if (a >= 0 && b >= 0) {
                pairs.push_back((static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint64_t>(b));
            }
        }
    };
    add(runner.static_synapses());
    for (const auto& proj: runner.plastic_projections()) {
        add(runner.weights(start, proj));
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    state_graph g;
    g.in_offset.assign(n + 1, 0);
    g.out_offset.assign(n + 1, 0);
    for (std::uint64_t p: pairs) {
        ++g.out_offset[(p >> 32) + 1];
        ++g.in_offset[(p & 0xffffffffULL) + 1];
    }
    for (std::size_t i = 0; i < n; ++i) {
        g.out_offset[i + 1] += g.out_offset[i];
        g.in_offset[i + 1] += g.in_offset[i];
    }
    g.out_post.resize(pairs.size());
    g.in_pre.resize(pairs.size());
    std::vector<std::uint32_t> fo(g.out_offset.begin(), g.out_offset.end() - 1);
    std::vector<std::uint32_t> fi(g.in_offset.begin(), g.in_offset.end() - 1);
    for (std::uint64_t p: pairs) {
        const auto a = static_cast<std::uint32_t>(p >> 32);
        const auto b = static_cast<std::uint32_t>(p & 0xffffffffULL);
        g.out_post[fo[a]++] = b;
        g.in_pre[fi[b]++] = a;
    }
    return g;
}

// The readouts' view of a part's features: all columns, or the counts only (copied out).
struct readout_features {
    std::vector<float> copy;
    res::feature_view view;
};
readout_features readout_view(const part& p, std::size_t width, std::size_t n, bool counts_only) {
    readout_features r;
    if (!counts_only || width == n) {
        r.view = res::feature_view(std::span<const float>(p.features.data(), p.done * width),
                                   p.done, width);
        return r;
    }
    r.copy.resize(p.done * n);
    for (std::size_t i = 0; i < p.done; ++i) {
        std::copy_n(p.features.data() + i * width, n, r.copy.data() + i * n);
    }
    r.view = res::feature_view(r.copy, p.done, n);
    return r;
}

// The test part's confusion matrix and per-class accuracy: to /metrics and to the log.
void write_classification(protocol_output& out, spdlog::logger& log, const std::string& prefix,
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

two_phase_summary run_two_phase(const experiment_spec& spec, const model_registry& models,
                                const two_phase_options& options, protocol_output& out,
                                protocol_observer& observer, const std::atomic<bool>& stop) {
    const auto t_start = clock_type::now();
    auto& log = *(options.log ? options.log : spdlog::default_logger());
    const protocol_spec& pr = spec.protocol;
    const experiment_spec& spec_b = pr.phase_b_network ? *pr.phase_b_network : spec;
    two_phase_summary summary;
    const double dt = spec.simulation.dt;
    const step_t steps_a = steps_of(pr.phase_a_duration, dt);
    const step_t steps_b = steps_of(pr.phase_b_duration, dt);
    const std::string level = level_modulator(spec, models);

    context ctx;
    ctx.log = options.log;
    ctx.threads = options.threads;

    // Phase A's network (built first: it checks the experiment before the dataset is read).
    auto t0 = clock_type::now();
    auto runner_a = std::make_unique<trial_runner>(spec, models, ctx);
    const double build_a_s = seconds_since(t0);
    const std::size_t input = runner_a->input_index(pr.input);
    const std::size_t n_values = runner_a->input_values(input);
    std::size_t n_state = 0;
    for (const auto& name: pr.state) {
        n_state += runner_a->population(name).second;
    }
    const auto input_population = runner_a->population(input_of(spec).target);

    t0 = clock_type::now();
    loaded_data data = load_data(spec, n_values);
    std::vector<part>& parts = data.parts;
    log.info("dataset: {} images of {} x {}; train {}, validation {}, test {}{}, loaded in {:.1f} s",
             data.images.n, data.images.rows, data.images.cols, parts[0].index.size(),
             parts[1].index.size(), parts[2].index.size(),
             input_of(spec).encoding == "nalsm"
                 ? fmt::format(" (R = {:.5f} / {:.5f})", data.r_train_validation, data.r_test)
                 : std::string(),
             seconds_since(t0));

    {
        std::vector<std::string> names, kinds;
        std::vector<neuron_id> first;
        std::vector<std::uint64_t> sizes;
        for (const auto& p: spec.populations) {
            const auto [f, n] = runner_a->population(p.name);
            names.push_back(p.name);
            kinds.push_back(p.model);
            first.push_back(f);
            sizes.push_back(n);
        }
        out.network(names, kinds, first, sizes, runner_a->report().n_synapses, build_a_s);
    }

    std::size_t total = 0;  // phase B samples
    for (const part& p: parts) {
        total += p.index.size();
    }
    observer.planned(protocol_observer::plan{n_state, runner_a->report().n_synapses, dt,
                                             pr.phase_a_samples, static_cast<std::size_t>(steps_a),
                                             total, static_cast<std::size_t>(steps_b), build_a_s});

    // ---- Phase A (a resumed run whose phase A had finished takes W_INI from the output).
    t0 = clock_type::now();
    std::vector<protocol_output::projection_weights> w_ini;
    if (options.resume) {
        w_ini = out.completed_w_ini();
        if (!w_ini.empty()) {
            log.info("resume: phase A was complete; W_INI read from the output");
        }
    }
    observer.phase("A", pr.phase_a_samples);
    if (!w_ini.empty()) {
        observer.resumed(pr.phase_a_samples);
    } else {
        const part& train = parts[0];
        std::vector<std::size_t> order(train.index.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        if (pr.phase_a_shuffle) {
            rng_stream rng(stream_key(spec.simulation.seed, stream::reservoir),
                           entity_phase_a_order, 0);
            for (std::size_t i = order.size() - 1; i > 0; --i) {
                std::swap(order[i], order[rng.below(i + 1)]);
            }
        }
        trial_recording rec;
        rec.populations = pr.state;
        if (!level.empty()) {
            rec.levels = {level};
        }
        trial_session session = runner_a->session();
        trial_result r;
        std::vector<float> levels, rates;
        std::vector<std::uint32_t> spikes_block;
        std::vector<float> levels_block;
        levels.reserve(pr.phase_a_samples);
        rates.reserve(pr.phase_a_samples);
        const double per_rate = 1000.0 / (static_cast<double>(n_state) *
                                          static_cast<double>(steps_a) * dt);
        for (std::size_t q = 0; q < pr.phase_a_samples; ++q) {
            if (stop.load(std::memory_order_relaxed)) {
                summary.status = outcome::interrupted;
                summary.stopped_in = "phase A";
                summary.phase_a_seconds = seconds_since(t0);
                return summary;
            }
            const std::size_t row = order[q % order.size()];
            const trial_input ti{input, std::span<const float>(train.p).subspan(row * n_values,
                                                                                  n_values)};
            session.begin(trial{q, steps_a, std::span<const trial_input>(&ti, 1)});
            session.run(rec, r);
            std::uint64_t spikes = 0;
            for (float c: r.counts) {
                spikes += static_cast<std::uint64_t>(c);
            }
            levels.push_back(final_level(r, steps_a));
            rates.push_back(static_cast<float>(static_cast<double>(spikes) * per_rate));
            spikes_block.push_back(static_cast<std::uint32_t>(spikes));
            levels_block.push_back(levels.back());
            if ((q + 1) % 500 == 0 || q + 1 == pr.phase_a_samples) {
                observer.samples("A", spikes_block, levels_block, q + 1);
                spikes_block.clear();
                levels_block.clear();
            }
        }
        const network_state end_a = session.save();
        for (const auto& proj: runner_a->plastic_projections()) {
            protocol_output::projection_weights pw;
            pw.name = proj;
            for (const auto& s: runner_a->weights(end_a, proj)) {
                pw.source.push_back(s.source);
                pw.target.push_back(s.target);
                pw.delay.push_back(s.delay);
                pw.weight.push_back(s.weight);
            }
            w_ini.push_back(std::move(pw));
        }
        out.write_w_ini(w_ini, levels, rates, pr.phase_a_samples);
        if (pr.phase_a_samples > 0) {
            const std::size_t tail = std::min<std::size_t>(levels.size(), 1000);
            const double mean_level =
                std::accumulate(levels.end() - static_cast<std::ptrdiff_t>(tail), levels.end(),
                                0.0) /
                static_cast<double>(tail);
            log.info("phase A: {} presentations x {} ms in {:.1f} s{}", pr.phase_a_samples,
                     pr.phase_a_duration, seconds_since(t0),
                     level.empty() ? std::string()
                                   : fmt::format(" ({} at the end of a presentation, mean of "
                                                 "the last {}: {:.4f})",
                                                 level, tail, mean_level));
        }
    }
    summary.phase_a_seconds = seconds_since(t0);
    runner_a.reset();  // phase B builds its own network (phase_b.set may change parameters)

    // ---- Phase B.
    t0 = clock_type::now();
    trial_runner runner_b(spec_b, models, ctx);
    network_state start = runner_b.initial_state();
    for (const auto& pw: w_ini) {
        const auto built = runner_b.weights(start, pw.name);
        if (built.size() != pw.weight.size()) {
            throw error(fmt::format("{}: projection '{}' has {} synapses in phase B and {} in "
                                    "phase A (or in the output resumed): protocol.phase_b.set "
                                    "must not change the connectivity",
                                    pr.where, pw.name, built.size(), pw.weight.size()));
        }
        start = runner_b.with_weights(start, pw.name, pw.weight);
    }
    trial_recording rec;
    rec.populations = pr.state;
    rec.bins = pr.bins;
    if (!pr.final_state.empty()) {
        rec.final_state = {pr.final_state};
    }
    if (!level.empty()) {
        rec.levels = {level};
    }
    const std::size_t width = n_state * (1 + pr.bins + (pr.final_state.empty() ? 0 : 1));
    const std::string layout = layout_text(n_state, pr);
    observer.phase("B", total);
    std::size_t done_all = 0, resumed_all = 0;
    std::uint64_t state_spikes_all = 0;
    std::vector<trial> trials;
    std::vector<trial_input> inputs;
    std::vector<trial_result> results;
    for (part& p: parts) {
        if (p.index.empty()) {
            continue;
        }
        p.features.resize(p.index.size() * width);
        std::size_t resumed = 0;
        if (options.resume) {
            resumed = out.resume_part(p.name, p.index.size(), width, layout);
            const std::vector<float> previous = out.part_features();
            std::copy(previous.begin(), previous.end(), p.features.begin());
            if (resumed > 0) {
                log.info("resume: {} of {} {} samples already in the output", resumed,
                         p.index.size(), p.name);
                observer.resumed(resumed);
            }
        } else {
            out.begin_part(p.name, p.index.size(), width, layout);
        }
        p.done = resumed;
        done_all += resumed;
        resumed_all += resumed;
        for (std::size_t first = resumed; first < p.index.size(); first += pr.block) {
            if (stop.load()) {
                summary.status = outcome::interrupted;
                summary.stopped_in = "phase B";
                summary.phase_b_seconds = seconds_since(t0);
                return summary;
            }
            const std::size_t count = std::min(pr.block, p.index.size() - first);
            trials.resize(count);
            inputs.resize(count);
            results.resize(count);
            for (std::size_t i = 0; i < count; ++i) {
                const std::size_t row = first + i;
                inputs[i] = trial_input{
                    input, std::span<const float>(p.p).subspan(row * n_values, n_values)};
                trials[i] = trial{phase_b_key_offset + p.index[row], steps_b,
                                  std::span<const trial_input>(&inputs[i], 1)};
            }
            if (runner_b.run(start, trials, rec, results, &stop) < count) {
                summary.status = outcome::interrupted;  // a block is written whole or not at all
                summary.stopped_in = "phase B";
                summary.phase_b_seconds = seconds_since(t0);
                return summary;
            }
            std::vector<std::uint32_t> state_spikes(count), input_spikes(count);
            std::vector<float> levels(count);
            for (std::size_t i = 0; i < count; ++i) {
                const trial_result& r = results[i];
                float* dst = p.features.data() + (first + i) * width;
                std::copy(r.counts.begin(), r.counts.end(), dst);
                std::copy(r.binned.begin(), r.binned.end(), dst + n_state);
                std::copy(r.final_state.begin(), r.final_state.end(),
                          dst + n_state * (1 + pr.bins));
                std::uint64_t s = 0;
                for (float c: r.counts) {
                    s += static_cast<std::uint64_t>(c);
                }
                state_spikes[i] = static_cast<std::uint32_t>(s);
                state_spikes_all += s;
                std::uint64_t in_spikes = 0;
                for (std::size_t pop = 0; pop < spec.populations.size(); ++pop) {
                    if (runner_b.population(spec.populations[pop].name).first ==
                        input_population.first) {
                        in_spikes = r.population_spikes[pop];
                    }
                }
                input_spikes[i] = static_cast<std::uint32_t>(in_spikes);
                levels[i] = final_level(r, steps_b);
            }
            out.append(std::span<const float>(p.features).subspan(first * width, count * width),
                       std::span(p.labels).subspan(first, count),
                       std::span(p.index).subspan(first, count), state_spikes, input_spikes,
                       levels);
            p.done += count;
            done_all += count;
            observer.samples(p.name, state_spikes, levels, done_all);
        }
    }
    summary.phase_b_seconds = seconds_since(t0);
    const std::size_t computed = total - resumed_all;
    summary.samples_per_second =
        computed > 0 ? static_cast<double>(computed) / summary.phase_b_seconds : 0.0;
    summary.state_rate_hz = computed > 0 ? static_cast<double>(state_spikes_all) /
                                               (static_cast<double>(computed) *
                                                static_cast<double>(n_state) *
                                                static_cast<double>(steps_b) * dt * 1e-3)
                                         : 0.0;
    log.info("phase B: {} samples x {} ms in {:.1f} s ({:.1f} samples/s on {} threads), state "
             "rate {:.1f} Hz",
             computed, pr.phase_b_duration, summary.phase_b_seconds, summary.samples_per_second,
             runner_b.threads(), summary.state_rate_hz);

    // ---- Branching factor on the first test samples (validation without a test part).
    const part& bf_part = parts[2].index.empty() ? parts[1] : parts[2];
    const std::size_t n_bf = std::min(pr.branching_samples, bf_part.index.size());
    const auto keep = static_cast<std::uint32_t>(std::llround(25.0 / dt));
    const auto window = static_cast<std::uint32_t>(std::llround(4.0 / dt));
    if (n_bf > 0 && static_cast<step_t>(2 * keep + 2 * window) < steps_b) {
        observer.phase("branching", n_bf);
        trial_recording rr;
        rr.populations = pr.state;
        rr.raster = true;
        if (!level.empty()) {
            rr.levels = {level};
        }
        trials.resize(n_bf);
        inputs.resize(n_bf);
        results.resize(n_bf);
        for (std::size_t i = 0; i < n_bf; ++i) {
            inputs[i] = trial_input{
                input, std::span<const float>(bf_part.p).subspan(i * n_values, n_values)};
            trials[i] = trial{phase_b_key_offset + bf_part.index[i], steps_b,
                              std::span<const trial_input>(&inputs[i], 1)};
        }
        runner_b.run(start, trials, rr, results);
        const state_graph g = make_graph(runner_b, start, pr.state);
        const res::adjacency adj{g.in_offset, g.in_pre, g.out_offset, g.out_post};
        const res::branching_params bp{keep, static_cast<std::uint32_t>(steps_b) - keep, window};
        std::vector<std::uint32_t> sample, step, neuron;
        std::vector<float> trace;
        std::size_t regions = 1;
        double sum = 0;
        std::size_t n = 0;
        for (std::size_t k = 0; k < n_bf; ++k) {
            const auto& r = results[k];
            const double b = res::branching_factor(adj, static_cast<std::uint32_t>(n_state),
                                                   r.raster_step, r.raster_index, bp);
            if (std::isfinite(b)) {
                sum += b;
                ++n;
            }
            sample.insert(sample.end(), r.raster_step.size(), static_cast<std::uint32_t>(k));
            step.insert(step.end(), r.raster_step.begin(), r.raster_step.end());
            neuron.insert(neuron.end(), r.raster_index.begin(), r.raster_index.end());
            if (!r.levels.empty()) {
                regions = std::max<std::size_t>(1, r.levels[0].size() /
                                                       static_cast<std::size_t>(steps_b));
                trace.insert(trace.end(), r.levels[0].begin(), r.levels[0].end());
            }
        }
        summary.branching_factor = n > 0 ? sum / static_cast<double>(n) : std::nan("");
        out.write_rasters(sample, step, neuron, trace, n_bf, static_cast<std::size_t>(steps_b),
                          regions);
        log.info("branching factor: {:.3f} (mean over {} {} samples)", summary.branching_factor,
                 n, bf_part.name);
    } else if (n_bf > 0) {
        log.warn("branching factor: phase B samples of {} ms are too short for the window "
                 "(spikes in [25 ms, T - 25 ms), 4 ms around each)",
                 pr.phase_b_duration);
    }
    out.metric("branching_factor", summary.branching_factor);
    observer.branching_factor(summary.branching_factor);

    // ---- Readouts.
    t0 = clock_type::now();
    observer.phase("readout", total);
    const readout_spec& ro = spec.readout;
    const bool counts_only = ro.features == readout_spec::feature_set::counts;
    const readout_features f_train = readout_view(parts[0], width, n_state, counts_only);
    const readout_features f_val = readout_view(parts[1], width, n_state, counts_only);
    const readout_features f_test = readout_view(parts[2], width, n_state, counts_only);
    const res::labelled_features l_train{f_train.view, parts[0].labels};
    const res::labelled_features l_val{f_val.view, parts[1].labels};
    const res::labelled_features l_test{f_test.view, parts[2].labels};
    const std::size_t n_classes =
        res::count_classes(parts[0].labels, parts[1].labels, parts[2].labels);
    if (ro.kind == readout_spec::method::ridge || ro.kind == readout_spec::method::both) {
        const auto tr = clock_type::now();
        observer.readout("ridge", 0);
        res::ridge_params rp;
        rp.lambdas = ro.lambdas;
        rp.standardize = ro.ridge_standardize;
        const res::ridge_result r = res::train_ridge_classifier(l_train, l_val, l_test, rp,
                                                                n_classes);
        const double s = seconds_since(tr);
        out.metric("ridge_accuracy_train", r.train_accuracy);
        out.metric("ridge_accuracy_validation", r.validation_accuracy);
        out.metric("ridge_accuracy_test", r.test_accuracy);
        out.metric("ridge_lambda", r.lambda);
        out.metric("ridge_seconds", s);
        log.info("ridge readout: test accuracy {:.2f} % (validation {:.2f} %, train {:.2f} %, "
                 "lambda {}) in {:.1f} s",
                 100 * r.test_accuracy, 100 * r.validation_accuracy, 100 * r.train_accuracy,
                 r.lambda, s);
        if (!parts[2].labels.empty()) {
            write_classification(out, log, "ridge", r.test_predictions, parts[2].labels,
                                 n_classes);
        }
        observer.readout_result("ridge", r.train_accuracy, r.validation_accuracy,
                                r.test_accuracy, {{"lambda", r.lambda}});
        summary.accuracy_test = r.test_accuracy;
        summary.reported_by = "ridge";
    }
    if (ro.kind == readout_spec::method::softmax || ro.kind == readout_spec::method::both) {
        const auto tr = clock_type::now();
        res::softmax_params sp;
        sp.learning_rate = ro.learning_rate;
        sp.rho = ro.rho;
        sp.epsilon = ro.epsilon;
        sp.l2_beta = ro.l2_beta;
        sp.batch_size = ro.batch_size;
        sp.max_epochs = ro.max_epochs;
        sp.patience = ro.patience;
        sp.shuffle = ro.shuffle;
        sp.record_train_curve = ro.train_curve;
        sp.seed = spec.simulation.seed;
        observer.readout("softmax", sp.max_epochs);
        sp.on_epoch = [&](std::size_t epoch, double validation, double train) {
            return observer.epoch(epoch, validation, train) && !stop.load();
        };
        const res::softmax_result r =
            res::train_softmax_readout(l_train, l_val, l_test, sp, n_classes);
        if (stop.load()) {
            log.warn("softmax readout stopped at epoch {}: its figures are those of the best "
                     "epoch so far",
                     r.epochs_run);
        }
        const double s = seconds_since(tr);
        out.metric("softmax_accuracy_train", r.train_accuracy);
        out.metric("softmax_accuracy_validation", r.validation_accuracy);
        out.metric("softmax_accuracy_test", r.test_accuracy);
        out.metric("softmax_best_epoch", static_cast<double>(r.best_epoch));
        out.metric("softmax_epochs_run", static_cast<double>(r.epochs_run));
        out.metric("softmax_seconds", s);
        const std::vector<std::size_t> dim = {r.validation_curve.size()};
        out.metric_array("softmax_validation_curve", r.validation_curve, dim);
        out.metric_array("softmax_test_curve", r.test_curve, dim);
        out.metric_array("softmax_loss_curve", r.loss_curve, dim);
        log.info("softmax readout (NALSM): test accuracy {:.2f} % at the best validation epoch "
                 "{} of {} (validation {:.2f} %, train {:.2f} %) in {:.1f} s",
                 100 * r.test_accuracy, r.best_epoch, r.epochs_run, 100 * r.validation_accuracy,
                 100 * r.train_accuracy, s);
        if (!parts[2].labels.empty()) {
            write_classification(out, log, "softmax", r.test_predictions, parts[2].labels,
                                 n_classes);
        }
        observer.readout_result(
            "softmax", r.train_accuracy, r.validation_accuracy, r.test_accuracy,
            {{"best_epoch", static_cast<double>(r.best_epoch)},
             {"epochs_run", static_cast<double>(r.epochs_run)}});
        summary.accuracy_test = r.test_accuracy;
        summary.reported_by = "softmax";
    }
    summary.readout_seconds = seconds_since(t0);
    out.metric("accuracy_test", summary.accuracy_test);
    out.metric_text("accuracy_test_readout", summary.reported_by);
    observer.accuracy(summary.accuracy_test, summary.reported_by);
    out.metric("build_seconds", build_a_s);
    out.metric("phase_a_seconds", summary.phase_a_seconds);
    out.metric("phase_b_seconds", summary.phase_b_seconds);
    out.metric("phase_b_samples_per_second", summary.samples_per_second);
    out.metric("state_rate_hz", summary.state_rate_hz);
    out.metric("readout_seconds", summary.readout_seconds);
    out.metric("wall_seconds", seconds_since(t_start));
    out.metric("threads", runner_b.threads());
    out.metric("peak_rss_bytes", static_cast<double>(peak_rss_bytes()));
    if (stop.load()) {
        summary.status = outcome::interrupted;
        summary.stopped_in = "the readouts";
    }
    return summary;
}

}  // namespace glia::protocol
