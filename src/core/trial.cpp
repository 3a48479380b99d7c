#include <glia/trial.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>

#include "core/network.hpp"
#include "core/partition.hpp"

namespace glia {
namespace {

using clock_type = std::chrono::steady_clock;

std::size_t columns_bytes(const state_columns& c) {
    std::size_t n = 0;
    for (const auto& col: c.columns()) {
        n += col.bytes.size();
    }
    return n;
}

std::size_t synapse_structure_bytes(const plastic_synapses& s) {
    return (s.row_segment.size() + s.segment_delay.size() + s.segment_begin.size() +
            s.slot.size()) *
               sizeof(std::uint32_t) +
           s.weight.size() * sizeof(double) + s.target_gid.size() * sizeof(neuron_id);
}

}  // namespace

std::vector<std::vector<std::uint32_t>> trial_input_events(std::uint64_t seed, std::size_t input,
                                                           std::span<const float> p, step_t steps,
                                                           std::uint64_t trial_key) {
    std::vector<std::vector<std::uint32_t>> out(static_cast<std::size_t>(steps));
    const std::uint64_t key = stream_key(seed, stream::trial_input, input);
    for (std::uint32_t v = 0; v < p.size(); ++v) {
        trial_events(key, v, p[v], 0, steps, trial_key,
                     [&](step_t t) { out[static_cast<std::size_t>(t)].push_back(v); });
    }
    return out;
}

std::size_t network_state::bytes() const {
    std::size_t n = 0;
    for (const auto& c: neurons_) {
        n += columns_bytes(c);
    }
    for (const auto& p: plastic_) {
        n += columns_bytes(p.segment) + columns_bytes(p.synapse) + columns_bytes(p.block) +
             columns_bytes(p.target);
    }
    for (const auto& h: history_) {
        n += h.size() * sizeof(step_t);
    }
    for (const auto& c: modulators_) {
        n += columns_bytes(c);
    }
    return n;
}

// One copy of the network's mutable state: a clone of the built partition (which shares its
// synapses), the modulators and the graded buffer.
struct trial_runner::worker {
    std::vector<std::unique_ptr<modulator_block>> modulators;
    std::unique_ptr<graded_buffer> graded;
    std::unique_ptr<partition> part;
    std::vector<frame_buffer> frames;  // no reports in trials: stays empty
    step_t now = 0;
    step_t trial_start = 0;
    step_t trial_steps = 0;
    std::vector<spike_event> last;  // the spikes of the latest step
};

struct trial_runner::state {
    network net;  // built with one partition, never run: the template of every worker
    oneapi::tbb::task_arena arena;
    build_report report;
    int threads = 1;
    network_state initial;  // the built network's complete state
    // Per plastic projection: its block in the partition and the permutation from the
    // block's synapse order to simulation::weights() order.
    struct projection_ref {
        std::string name;
        std::size_t block = 0;
        std::vector<std::uint32_t> canonical;  // canonical position -> synapse index
    };
    std::vector<projection_ref> plastic;
    oneapi::tbb::enumerable_thread_specific<std::unique_ptr<worker>> pool;

    const partition& built() const { return *net.partitions.front(); }

    std::unique_ptr<worker> make_worker() const {
        auto w = std::make_unique<worker>();
        std::vector<const modulator_history*> hist;
        for (const auto& m: net.modulators) {
            w->modulators.push_back(m.block->clone());
            hist.push_back(&w->modulators.back()->history());
        }
        if (net.graded) {
            w->graded = std::make_unique<graded_buffer>(*net.graded);
        }
        w->part = built().clone(w->graded.get(), hist);
        w->part->reports.clear();
        return w;
    }

    std::vector<synapse_weight> canonical(const projection_ref& ref,
                                          std::span<const double> w) const;

    const projection_ref& projection(std::string_view name) const {
        std::string known;
        for (const auto& p: plastic) {
            if (p.name == name) {
                return p;
            }
            known += (known.empty() ? "" : ", ") + p.name;
        }
        throw error(fmt::format("no plastic projection '{}'; plastic projections are: {}", name,
                                known.empty() ? "(none)" : known));
    }

    // Restores `s` into worker w: plastic blocks and histories always, neurons and modulators
    // when the state has them.
    void load(worker& w, const network_state& s) const {
        auto& p = *w.part;
        if (s.plastic_.size() != p.plastic.size()) {
            throw internal_error("trial: a state of another network");
        }
        for (std::size_t k = 0; k < p.plastic.size(); ++k) {
            const auto& c = s.plastic_[k];
            p.plastic[k]->load_state(c.segment, c.synapse, c.block, c.target);
        }
        for (std::uint32_t n = 0; n < p.history.size(); ++n) {
            p.history.assign(n, n < s.history_.size() ? std::span<const step_t>(s.history_[n])
                                                      : std::span<const step_t>());
        }
        if (!s.neurons_.empty()) {
            for (std::size_t b = 0; b < p.blocks.size(); ++b) {
                p.blocks[b].block->load_state(s.step_, s.neurons_[b]);
            }
        }
        if (!s.modulators_.empty()) {
            for (std::size_t m = 0; m < w.modulators.size(); ++m) {
                w.modulators[m]->load_state(s.modulators_[m]);
            }
        }
        w.now = s.step_;
    }

    network_state save(const worker& w) const {
        network_state s;
        const auto& p = *w.part;
        s.step_ = w.now;
        for (const auto& b: p.blocks) {
            state_columns c;
            b.block->save_state(w.now, c);
            s.neurons_.push_back(std::move(c));
        }
        for (const auto& b: p.plastic) {
            network_state::plastic_columns c;
            b->save_state(c.segment, c.synapse, c.block, c.target);
            s.plastic_.push_back(std::move(c));
        }
        s.history_.resize(p.history.size());
        for (std::uint32_t n = 0; n < p.history.size(); ++n) {
            const auto h = p.history.spikes(n);
            s.history_[n].assign(h.begin(), h.end());
        }
        for (const auto& m: w.modulators) {
            state_columns c;
            m->save_state(c);
            s.modulators_.push_back(std::move(c));
        }
        return s;
    }

    void begin(worker& w, const trial& t) const {
        auto& p = *w.part;
        const step_t now = w.now;
        for (std::size_t b = 0; b < p.blocks.size(); ++b) {
            p.blocks[b].block->load_state(now, initial.neurons_[b]);
        }
        for (auto& m: w.modulators) {
            m->begin_trial(now);
        }
        if (w.graded) {
            std::fill(w.graded->values.begin(), w.graded->values.end(), 0.0);
        }
        p.begin_trial(now, built(), t.key);
        for (const trial_input& in: t.inputs) {
            bool found = false;
            for (auto& d: p.dataset) {
                if (d.input == in.input) {
                    if (in.values.size() != d.n_values) {
                        throw error(fmt::format("trial input {}: {} values, the input has {} "
                                                "neurons",
                                                in.input, in.values.size(), d.n_values));
                    }
                    d.draw(in.values, now, t.steps, t.key);
                    found = true;
                }
            }
            if (!found) {
                throw internal_error(fmt::format("trial input {} is no dataset_source", in.input));
            }
        }
        w.trial_start = now;
        w.trial_steps = t.steps;
    }

    std::span<const spike_event> step(worker& w) const {
        auto& p = *w.part;
        p.run_epoch(w.now, w.now + 1, w.frames);
        const auto spikes = p.spikes();
        for (auto& m: w.modulators) {
            m->advance(w.now, w.now + 1, spikes);
        }
        p.route(spikes);
        w.last.assign(spikes.begin(), spikes.end());
        p.clear_spikes();
        ++w.now;
        return w.last;
    }

    // What a recording reads, resolved once per run: recorded index of every gid (-1: none),
    // variables, modulators.
    struct plan {
        std::vector<std::int32_t> index;         // per gid
        std::vector<std::uint32_t> population;  // per gid: its population's position
        std::size_t width = 0;
        std::vector<neuron_id> gids;      // recorded neurons in feature order
        std::vector<std::string> variables;
        std::vector<std::size_t> modulators;
    };

    plan make_plan(const trial_recording& rec) const {
        plan pl;
        pl.index.assign(net.n_neurons, -1);
        pl.population.assign(net.n_neurons, 0);
        for (std::size_t p = 0; p < net.populations.size(); ++p) {
            const auto& pop = net.populations[p];
            std::fill_n(pl.population.begin() + static_cast<std::ptrdiff_t>(pop.first_gid),
                        pop.size, static_cast<std::uint32_t>(p));
        }
        for (const auto& name: rec.populations) {
            const population_rt* pop = nullptr;
            for (const auto& p: net.populations) {
                if (p.name == name) {
                    pop = &p;
                }
            }
            if (pop == nullptr) {
                throw error(fmt::format("trial recording: no population '{}'", name));
            }
            for (std::size_t k = 0; k < pop->size; ++k) {
                const neuron_id gid = pop->first_gid + static_cast<neuron_id>(k);
                if (pl.index[gid] < 0) {
                    pl.index[gid] = static_cast<std::int32_t>(pl.gids.size());
                    pl.gids.push_back(gid);
                }
            }
        }
        pl.width = pl.gids.size();
        for (const auto& v: rec.final_state) {
            for (neuron_id gid: pl.gids) {
                const population_rt* pop = nullptr;
                for (const auto& p: net.populations) {
                    if (gid >= p.first_gid && gid < p.first_gid + p.size) {
                        pop = &p;
                    }
                }
                if (pop->model->info.variable_index(v) == model_info::npos) {
                    throw error(fmt::format("trial recording: model {} of population '{}' has no "
                                            "variable '{}'",
                                            pop->model->info.name, pop->name, v));
                }
            }
            pl.variables.push_back(v);
        }
        for (const auto& name: rec.levels) {
            std::size_t found = net.modulators.size();
            for (std::size_t m = 0; m < net.modulators.size(); ++m) {
                if (net.modulators[m].name == name && net.modulators[m].block->records_level()) {
                    found = m;
                }
            }
            if (found == net.modulators.size()) {
                throw error(fmt::format("trial recording: no modulator '{}' with a level", name));
            }
            pl.modulators.push_back(found);
        }
        return pl;
    }

    void run_trial(worker& w, const trial_recording& rec, const plan& pl,
                   trial_result& out) const {
        const step_t s = w.trial_start;
        const step_t T = w.trial_steps;
        out.counts.assign(pl.width, 0.0F);
        out.binned.assign(rec.bins * pl.width, 0.0F);
        out.raster_step.clear();
        out.raster_index.clear();
        out.population_spikes.assign(net.populations.size(), 0);
        // The per-step rows are reserved here, outside the step loop (and the vectors keep
        // their capacity from one trial to the next).
        out.levels.resize(pl.modulators.size());
        for (std::size_t m = 0; m < pl.modulators.size(); ++m) {
            out.levels[m].clear();
            out.levels[m].reserve(static_cast<std::size_t>(T) *
                                  w.modulators[pl.modulators[m]]->history().n_regions);
        }
        for (step_t k = 0; k < T; ++k) {
            const auto spikes = step(w);
            for (const spike_event& e: spikes) {
                const step_t time = e.step + 1 - s;  // in [1, T]
                if (time >= T) {
                    continue;  // at the end of the trial: the next interval's
                }
                ++out.population_spikes[pl.population[e.gid]];
                const std::int32_t i = pl.index[e.gid];
                if (i < 0) {
                    continue;
                }
                out.counts[static_cast<std::size_t>(i)] += 1.0F;
                if (rec.bins > 0) {
                    const auto bin = static_cast<std::size_t>(time) * rec.bins /
                                     static_cast<std::size_t>(T);
                    out.binned[bin * pl.width + static_cast<std::size_t>(i)] += 1.0F;
                }
                if (rec.raster) {
                    out.raster_step.push_back(static_cast<std::uint32_t>(time));
                    out.raster_index.push_back(static_cast<std::uint32_t>(i));
                }
            }
            for (std::size_t m = 0; m < pl.modulators.size(); ++m) {
                const auto& h = w.modulators[pl.modulators[m]]->history();
                for (std::uint32_t r = 0; r < h.n_regions; ++r) {
                    out.levels[m].push_back(h.level_at(w.now, r));
                }
            }
        }
        w.part->sweep_plastic(w.now);  // the updates that belong to the trial's last step
        out.final_state.resize(pl.variables.size() * pl.width);
        if (!pl.variables.empty()) {
            w.part->catch_up(w.now);
            for (std::size_t v = 0; v < pl.variables.size(); ++v) {
                for (std::size_t i = 0; i < pl.width; ++i) {
                    out.final_state[v * pl.width + i] =
                        static_cast<float>(w.part->value(pl.gids[i], pl.variables[v]));
                }
            }
        }
        out.synaptic_events = w.part->synaptic_events();
    }
};

trial_runner::trial_runner(const experiment_spec& spec, const model_registry& models,
                           const context& ctx) :
    impl_(std::make_unique<state>()) {
    auto& st = *impl_;
    auto log = ctx.log ? ctx.log : spdlog::default_logger();
    st.threads = ctx.threads > 0               ? ctx.threads
                 : spec.simulation.threads > 0 ? spec.simulation.threads
                                               : oneapi::tbb::info::default_concurrency();
    st.arena.initialize(st.threads);
    const auto t0 = clock_type::now();
    st.net = build_network(spec, models, 1, st.arena, log.get());
    auto& net = st.net;
    // Trials advance one step at a time (an epoch of one step): any delay and modulator
    // latency is respected.
    const step_t horizon = net.max_delay + 2;
    if (net.graded) {
        net.graded->rows = net.max_sic_delay + 2;
        net.graded->values.assign(static_cast<std::size_t>(net.graded->rows) * net.graded->width,
                                  0.0);
    }
    auto& part = *net.partitions.front();
    part.queue = calendar_queue(horizon);
    part.finish_setup(0);
    // Keep the built partition as the template and point its plastic blocks at nothing else:
    // a worker is a clone with its own modulators.
    st.initial = [&] {
        network_state s;
        for (const auto& b: part.blocks) {
            state_columns c;
            b.block->save_state(0, c);
            s.neurons_.push_back(std::move(c));
        }
        for (const auto& b: part.plastic) {
            network_state::plastic_columns c;
            b->save_state(c.segment, c.synapse, c.block, c.target);
            s.plastic_.push_back(std::move(c));
        }
        for (const auto& m: net.modulators) {
            state_columns c;
            m.block->save_state(c);
            s.modulators_.push_back(std::move(c));
        }
        return s;
    }();
    for (std::size_t k = 0; k < part.plastic.size(); ++k) {
        state::projection_ref ref;
        ref.name = net.projections[part.plastic_projection[k]].name;
        ref.block = k;
        const auto& syn = part.plastic[k]->synapses();
        struct key {
            neuron_id source, target;
            std::uint32_t delay;
            std::uint32_t index;
        };
        std::vector<key> keys;
        for (std::size_t src = 0; src + 1 < syn.row_segment.size(); ++src) {
            for (auto sg = syn.row_segment[src]; sg < syn.row_segment[src + 1]; ++sg) {
                for (auto i = syn.segment_begin[sg]; i < syn.segment_begin[sg + 1]; ++i) {
                    keys.push_back(key{static_cast<neuron_id>(src), syn.target_gid[i],
                                       syn.segment_delay[sg], i});
                }
            }
        }
        std::stable_sort(keys.begin(), keys.end(), [](const key& a, const key& b) {
            return a.source != b.source ? a.source < b.source
                   : a.target != b.target ? a.target < b.target
                                          : a.delay < b.delay;
        });
        for (const auto& k2: keys) {
            ref.canonical.push_back(k2.index);
        }
        st.plastic.push_back(std::move(ref));
    }
    st.report.n_neurons = net.n_neurons;
    st.report.n_synapses = net.n_synapses;
    st.report.synapse_bytes = net.synapse_bytes;
    st.report.build_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
    st.report.peak_rss_bytes = peak_rss_bytes();
    st.report.threads = st.threads;
    st.report.partitions = 1;
    st.report.min_delay = net.min_delay;
    st.report.max_delay = net.max_delay;
    log->info("built network for trials: {} neurons, {} synapses, delays {}..{} steps, in {:.2f} "
              "s, {} threads",
              net.n_neurons, net.n_synapses, net.min_delay, net.max_delay,
              st.report.build_seconds, st.threads);
}

trial_runner::trial_runner(trial_runner&&) noexcept = default;
trial_runner& trial_runner::operator=(trial_runner&&) noexcept = default;
trial_runner::~trial_runner() = default;

const build_report& trial_runner::report() const { return impl_->report; }
double trial_runner::dt() const { return impl_->net.dt; }
int trial_runner::threads() const { return impl_->threads; }

network_state trial_runner::initial_state() const {
    network_state s = impl_->initial;
    s.neurons_.clear();  // trials start their neurons and modulators as built anyway
    s.modulators_.clear();
    return s;
}

std::size_t trial_runner::input_index(std::string_view name) const {
    std::string known;
    const auto& part = impl_->built();
    for (const auto& d: part.dataset) {
        if (impl_->net.input_names.at(d.input) == name) {
            return d.input;
        }
        known += (known.empty() ? "" : ", ") + impl_->net.input_names.at(d.input);
    }
    throw error(fmt::format("no dataset_source input '{}'; dataset_source inputs are: {}", name,
                            known.empty() ? "(none)" : known));
}

std::size_t trial_runner::input_values(std::size_t input) const {
    for (const auto& d: impl_->built().dataset) {
        if (d.input == input) {
            return d.n_values;
        }
    }
    throw internal_error(fmt::format("input {} is no dataset_source", input));
}

std::pair<neuron_id, std::size_t> trial_runner::population(std::string_view name) const {
    for (const auto& p: impl_->net.populations) {
        if (p.name == name) {
            return {p.first_gid, p.size};
        }
    }
    throw error(fmt::format("no population '{}'", name));
}

std::vector<synapse_weight> trial_runner::weights(const network_state& s,
                                                  std::string_view projection) const {
    const auto& ref = impl_->projection(projection);
    const auto& syn = impl_->built().plastic[ref.block]->synapses();
    std::vector<double> w(syn.slot.size());
    s.plastic_.at(ref.block).synapse.get("weight", std::span<double>(w));
    return impl_->canonical(ref, w);
}

std::vector<synapse_weight> trial_runner::state::canonical(const projection_ref& ref,
                                                           std::span<const double> w) const {
    const auto& syn = built().plastic[ref.block]->synapses();
    // Source and delay of each synapse, from its segment.
    std::vector<neuron_id> source(syn.slot.size());
    std::vector<std::uint32_t> delay(syn.slot.size());
    for (std::size_t src = 0; src + 1 < syn.row_segment.size(); ++src) {
        for (auto sg = syn.row_segment[src]; sg < syn.row_segment[src + 1]; ++sg) {
            for (auto i = syn.segment_begin[sg]; i < syn.segment_begin[sg + 1]; ++i) {
                source[i] = static_cast<neuron_id>(src);
                delay[i] = syn.segment_delay[sg];
            }
        }
    }
    std::vector<synapse_weight> out;
    out.reserve(ref.canonical.size());
    for (std::uint32_t i: ref.canonical) {
        out.push_back(synapse_weight{source[i], syn.target_gid[i], delay[i], w[i]});
    }
    return out;
}

network_state trial_runner::with_weights(const network_state& s, std::string_view projection,
                                         std::span<const double> weights) const {
    const auto& ref = impl_->projection(projection);
    if (weights.size() != ref.canonical.size()) {
        throw error(fmt::format("projection '{}' has {} synapses, {} weights given", projection,
                                ref.canonical.size(), weights.size()));
    }
    network_state out = s;
    std::vector<double> w(weights.size());
    for (std::size_t c = 0; c < ref.canonical.size(); ++c) {
        w[ref.canonical[c]] = weights[c];
    }
    auto& cols = out.plastic_.at(ref.block).synapse.columns();
    for (auto& col: cols) {
        if (col.name == "weight") {
            std::memcpy(col.bytes.data(), w.data(), w.size() * sizeof(double));
        }
    }
    return out;
}

std::vector<synapse_weight> trial_runner::static_synapses() const {
    const auto& part = impl_->built();
    const auto& st = *part.synapses;
    std::vector<synapse_weight> out;
    for (std::size_t src = 0; src + 1 < st.row_segment.size(); ++src) {
        for (std::uint32_t k = st.row_segment[src]; k < st.row_segment[src + 1]; ++k) {
            for (std::uint32_t s = st.segment_begin[k]; s < st.segment_begin[k + 1]; ++s) {
                const std::uint32_t slot = st.target[s];
                neuron_id gid = 0;
                for (const auto& b: part.blocks) {
                    if (slot >= b.input_offset && slot < b.input_offset + b.count * b.n_ports) {
                        gid = b.first_gid +
                              static_cast<neuron_id>((slot - b.input_offset) / b.n_ports);
                    }
                }
                out.push_back(synapse_weight{static_cast<neuron_id>(src), gid,
                                             static_cast<step_t>(st.segment_delay[k]),
                                             static_cast<double>(st.weight[s])});
            }
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const synapse_weight& a, const synapse_weight& b) {
        return a.source != b.source ? a.source < b.source
               : a.target != b.target ? a.target < b.target
                                      : a.delay < b.delay;
    });
    return out;
}

std::vector<std::string> trial_runner::plastic_projections() const {
    std::vector<std::string> out;
    for (const auto& p: impl_->plastic) {
        out.push_back(p.name);
    }
    return out;
}

std::size_t trial_runner::run(const network_state& start, std::span<const trial> trials,
                              const trial_recording& recording, std::span<trial_result> out,
                              const std::atomic<bool>* stop) {
    if (out.size() < trials.size()) {
        throw internal_error("trial_runner::run: fewer results than trials");
    }
    auto& st = *impl_;
    const state::plan pl = st.make_plan(recording);
    std::atomic<std::size_t> done{0};
    st.arena.execute([&] {
        oneapi::tbb::parallel_for(
            oneapi::tbb::blocked_range<std::size_t>(0, trials.size(), 1),
            [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
                auto& slot = st.pool.local();
                if (!slot) {
                    slot = st.make_worker();
                }
                for (std::size_t i = r.begin(); i != r.end(); ++i) {
                    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
                        return;
                    }
                    st.load(*slot, start);
                    st.begin(*slot, trials[i]);
                    st.run_trial(*slot, recording, pl, out[i]);
                    done.fetch_add(1, std::memory_order_relaxed);
                }
            });
    });
    return done.load();
}

trial_session trial_runner::session() { return trial_session(impl_.get(), impl_->make_worker()); }

trial_memory trial_runner::memory() const {
    const auto& st = *impl_;
    trial_memory m;
    const auto& part = st.built();
    m.shared = part.synapses->bytes();
    for (const auto& b: part.plastic) {
        m.shared += synapse_structure_bytes(b->synapses());
    }
    // One worker: the plastic rules' state, neuron state, queues and input slots.
    for (const auto& b: part.plastic) {
        m.per_worker += b->state_bytes();
    }
    for (const auto& c: st.initial.neurons_) {
        m.per_worker += columns_bytes(c);
    }
    for (const auto& c: st.initial.modulators_) {
        m.per_worker += columns_bytes(c);
    }
    m.workers = 0;
    std::vector<const void*> structures;
    const auto note = [&](const partition& p) {
        const void* s = p.synapses.get();
        if (std::find(structures.begin(), structures.end(), s) == structures.end()) {
            structures.push_back(s);
        }
        for (const auto& b: p.plastic) {
            const void* q = &b->synapses();
            if (std::find(structures.begin(), structures.end(), q) == structures.end()) {
                structures.push_back(q);
            }
        }
    };
    note(part);
    const std::size_t per_network = structures.size();
    for (const auto& w: st.pool) {
        if (w) {
            ++m.workers;
            note(*w->part);
        }
    }
    // Each network has 1 + (plastic blocks) structures; copies beyond those are duplicates.
    m.structure_copies = structures.size() / std::max<std::size_t>(1, per_network);
    return m;
}

trial_session::trial_session(trial_runner::state* runner, std::unique_ptr<trial_runner::worker> w) :
    runner_(runner), w_(std::move(w)) {
    runner_->load(*w_, runner_->initial);
}
trial_session::trial_session(trial_session&&) noexcept = default;
trial_session& trial_session::operator=(trial_session&&) noexcept = default;
trial_session::~trial_session() = default;

void trial_session::load(const network_state& s) { runner_->load(*w_, s); }
network_state trial_session::save() { return runner_->save(*w_); }
void trial_session::begin(const trial& t) { runner_->begin(*w_, t); }
void trial_session::run(const trial_recording& rec, trial_result& out) {
    runner_->run_trial(*w_, rec, runner_->make_plan(rec), out);
}
std::span<const spike_event> trial_session::step() { return runner_->step(*w_); }
step_t trial_session::now() const { return w_->now; }

double trial_session::value(neuron_id gid, std::string_view variable) const {
    w_->part->catch_up(w_->now);
    return w_->part->value(gid, std::string(variable));
}

std::vector<synapse_weight> trial_session::weights(std::string_view projection) {
    w_->part->sweep_plastic(w_->now);
    const auto& ref = runner_->projection(projection);
    return runner_->canonical(ref, w_->part->plastic[ref.block]->weights());
}

double trial_session::level(std::string_view modulator, step_t t, std::uint32_t region) const {
    const auto& net = runner_->net;
    for (std::size_t m = 0; m < net.modulators.size(); ++m) {
        if (net.modulators[m].name == modulator) {
            const auto& h = w_->modulators[m]->history();
            if (t < h.level_first || t >= h.level_end() || region >= h.n_regions) {
                throw error(fmt::format("modulator '{}': no level at step {} (known for {} .. {})",
                                        modulator, t, h.level_first, h.level_end() - 1));
            }
            return h.level_at(t, region);
        }
    }
    throw error(fmt::format("no modulator '{}'", modulator));
}

}  // namespace glia
