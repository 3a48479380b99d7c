#include <glia/simulation.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "core/network.hpp"
#include "core/partition.hpp"
#include "core/simulation_state.hpp"
#include "core/time.hpp"

namespace glia {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Longest epoch when delays are long (or absent): bounds the latency of recording, progress
// and stop requests, and the memory of per-epoch buffers. Does not change results.
constexpr step_t max_epoch_steps = 100;

// Recorded data is handed to the sink in batches of at least this many bytes (or after
// `max_batch_seconds` of wall time): epochs can be a single step, and a call per epoch would
// cost more than the step itself.
constexpr std::size_t batch_bytes = std::size_t{4} << 20;
constexpr double max_batch_seconds = 0.2;

}  // namespace

std::size_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) {
            return static_cast<std::size_t>(std::stoull(line.substr(6))) * 1024;
        }
    }
    return 0;
}

simulation::simulation(const experiment_spec& spec, const model_registry& models,
                       const context& ctx) :
    impl_(std::make_unique<state>()) {
    auto& st = *impl_;
    st.log = ctx.log ? ctx.log : spdlog::default_logger();
    const int threads = ctx.threads > 0               ? ctx.threads
                        : spec.simulation.threads > 0 ? spec.simulation.threads
                                                      : oneapi::tbb::info::default_concurrency();
    const int partitions = ctx.partitions > 0               ? ctx.partitions
                           : spec.simulation.partitions > 0 ? spec.simulation.partitions
                                                            : threads;
    st.arena.initialize(threads);
    const auto t0 = clock_type::now();
    st.net = build_network(spec, models, partitions, st.arena, st.log.get());
    auto& net = st.net;

    // The exchange period is the shortest delay: a spike of this epoch is never due in it.
    st.epoch = net.min_delay > 0 ? std::min(net.min_delay, max_epoch_steps) : max_epoch_steps;
    // ... and no longer than a modulator lets rules wait for what it makes of the spikes.
    for (const auto& m: net.modulators) {
        st.epoch = std::min(st.epoch, std::max<step_t>(1, m.block->latency()));
    }
    const step_t horizon = net.max_delay + st.epoch + 1;
    if (net.graded) {
        // Rows written in this epoch never alias rows read in it (partition.hpp).
        net.graded->rows = net.max_sic_delay + st.epoch + 1;
        net.graded->values.assign(static_cast<std::size_t>(net.graded->rows) * net.graded->width,
                                  0.0);
    }
    for (auto& p: net.partitions) {
        p->queue = calendar_queue(horizon);
        p->finish_setup(0);
    }

    st.report.n_neurons = net.n_neurons;
    st.report.n_synapses = net.n_synapses;
    st.report.synapse_bytes = net.synapse_bytes;
    st.report.build_seconds = seconds_since(t0);
    st.report.peak_rss_bytes = peak_rss_bytes();
    st.report.threads = threads;
    st.report.partitions = static_cast<int>(net.partitions.size());
    st.report.min_delay = net.min_delay;
    st.report.max_delay = net.max_delay;

    st.layout.dt = net.dt;
    st.layout.n_steps = net.n_steps;
    st.layout.seed = net.seed;
    st.pop_of.resize(net.n_neurons);
    for (std::size_t i = 0; i < net.populations.size(); ++i) {
        const auto& p = net.populations[i];
        st.layout.populations.push_back(population_layout{p.name, p.model->info.name, p.first_gid,
                                                          p.size, p.spikes_recorded,
                                                          p.model->info.emits_spikes});
        std::fill(st.pop_of.begin() + p.first_gid, st.pop_of.begin() + p.first_gid + p.size,
                  static_cast<std::uint32_t>(i));
        st.all_recorded = st.all_recorded && p.spikes_recorded;
    }
    st.layout.reports = net.reports;
    for (const auto& ws: spec.record.weights) {
        const std::string at = ws.where.empty() ? "" : ws.where + ": ";
        std::vector<synapse_weight> syn;
        try {
            syn = weights(ws.projection);
        }
        catch (const error& e) {
            throw error(fmt::format("{}record.weights.{}: {}", at, ws.projection, e.what()));
        }
        weight_layout wl;
        wl.projection = ws.projection;
        for (const auto& pi: net.projections) {
            if (pi.name == ws.projection) {
                wl.rule = pi.rule;
                wl.source_population = pi.source;
                wl.target_population = pi.target;
                wl.unit = pi.weight_unit;
            }
        }
        const neuron_id src0 = net.populations[wl.source_population].first_gid;
        const neuron_id tgt0 = net.populations[wl.target_population].first_gid;
        for (const auto& w: syn) {
            wl.sources.push_back(w.source - src0);
            wl.targets.push_back(w.target - tgt0);
            wl.delays.push_back(w.delay);
        }
        if (!(ws.interval > 0) || !(ws.start >= 0) || !(ws.stop > ws.start)) {
            throw error(fmt::format("{}record.weights.{}: needs interval > 0 and 0 <= start < stop",
                                    at, ws.projection));
        }
        const step_t interval = to_steps(ws.interval, net.dt, "record.weights interval");
        if (interval < 1) {
            throw error(fmt::format("{}record.weights.{}: the interval must be at least dt", at,
                                    ws.projection));
        }
        const step_t stop = std::min(net.n_steps, first_step_at_or_after(ws.stop, net.dt,
                                                                         net.n_steps + 1));
        for (step_t t = first_step_at_or_after(ws.start, net.dt, net.n_steps + 1); t <= stop;
             t += interval) {
            wl.steps.push_back(t);
        }
        st.layout.weights.push_back(std::move(wl));
    }
    st.weight_snapshot.assign(st.layout.weights.size(), 0);
    st.epoch_ring.assign(static_cast<std::size_t>(net.max_delay) + 2, 0);
    st.frames.resize(net.reports.size());
    st.pending.resize(net.reports.size());
    st.spike_counts.assign(net.populations.size(), 0);

    st.log->info("built network: {} neurons, {} synapses ({:.1f} bytes/synapse), {} partitions, "
                 "{} threads, delays {}..{} steps, in {:.2f} s, peak memory {:.0f} MB",
                 net.n_neurons, net.n_synapses,
                 net.n_synapses > 0 ? static_cast<double>(net.synapse_bytes) /
                                          static_cast<double>(net.n_synapses)
                                    : 0.0,
                 net.partitions.size(), threads, net.min_delay, net.max_delay,
                 st.report.build_seconds, static_cast<double>(st.report.peak_rss_bytes) / 1e6);
    if (net.n_graded > 0) {
        st.log->info("graded coupling: {} sources (astrocytes), {} sic connections, delays up to "
                     "{} steps",
                     net.n_graded, net.n_sic, net.max_sic_delay);
    }
}

simulation::simulation(simulation&&) noexcept = default;
simulation& simulation::operator=(simulation&&) noexcept = default;
simulation::~simulation() = default;

const build_report& simulation::report() const { return impl_->report; }

step_t simulation::now() const { return impl_->now; }

modulator_levels simulation::modulator_level(std::string_view modulator) const {
    std::string known;
    for (const auto& m: impl_->net.modulators) {
        if (!m.block->records_level()) {
            continue;
        }
        if (m.name == modulator) {
            const auto& h = m.block->history();
            // Steps 0 .. now(): the level is known further (latency), but not for the output.
            const auto n = static_cast<std::size_t>(
                std::min<step_t>(h.level_end(), impl_->now + 1) - h.level_first);
            modulator_levels out;
            out.first_step = h.level_first;
            out.n_regions = h.n_regions;
            out.values.assign(h.level.begin(),
                              h.level.begin() + static_cast<std::ptrdiff_t>(n * h.n_regions));
            return out;
        }
        known += (known.empty() ? "" : ", ") + m.name;
    }
    throw error(fmt::format("no modulator '{}' with a level; there are: {}", modulator,
                            known.empty() ? "(none)" : known));
}

run_summary simulation::run(recording_sink& sink, const run_control& control) {
    auto& st = *impl_;
    auto& net = st.net;
    // A run may start after step 0 (resumed from a checkpoint): the sink learns what its
    // output already holds.
    st.layout.first_step = st.now;
    st.layout.recorded = st.recorded_before();
    sink.begin(st.layout);
    st.in_run = true;
    st.lazy_behind = false;
    st.stopped = false;
    st.read_since_stop = false;
    const auto t0 = clock_type::now();
    auto last_progress = t0;
    const step_t first_step = st.now;
    std::uint64_t events_at_start = 0;  // > 0 when resumed: the checkpoint's count
    for (const auto& p: net.partitions) {
        events_at_start += p->synaptic_events();
    }
    run_summary summary;
    summary.status = run_status::completed;
    summary.first_step = first_step;
    summary.synaptic_events_at_start = events_at_start;

    auto last_batch = t0;
    // Weight snapshots due at the current step are taken between epochs (epochs end there).
    auto take_snapshots = [&] {
        for (std::size_t r = 0; r < st.layout.weights.size(); ++r) {
            const auto& wl = st.layout.weights[r];
            std::size_t& next = st.weight_snapshot[r];
            if (next < wl.steps.size() && wl.steps[next] == st.now) {
                if (!st.merged_routed) {  // the queues must hold every spike before sweeping
                    st.for_each_partition([&](partition& p) { p.route(st.merged); });
                    st.merged_routed = true;
                }
                std::vector<double> values;
                for (const auto& w: weights(wl.projection)) {
                    values.push_back(w.weight);
                }
                sink.weights(r, next, values);
                ++next;
            }
        }
    };
    auto next_snapshot_step = [&] {
        step_t next = net.n_steps;
        for (std::size_t r = 0; r < st.layout.weights.size(); ++r) {
            const auto& wl = st.layout.weights[r];
            if (st.weight_snapshot[r] < wl.steps.size()) {
                next = std::min(next, wl.steps[st.weight_snapshot[r]]);
            }
        }
        return next;
    };
    while (st.now < net.n_steps) {
        take_snapshots();
        const step_t from = st.now;
        const step_t to = std::min({from + st.epoch, net.n_steps,
                                    std::max(from + 1, next_snapshot_step())});
        st.size_frames(from, to);
        st.note_epoch(from);
        // One parallel region per epoch: route the previous epoch's spikes (all due at or
        // after `from`, since an epoch is at most min_delay long), then advance.
        const bool route = !st.merged_routed;
        st.for_each_partition([&](partition& p) {
            if (route) {
                p.route(st.merged);
            }
            p.run_epoch(from, to, st.frames);
        });
        st.merge_spikes(from, to);
        st.merged_routed = false;
        for (const spike_event& s: st.merged) {
            ++st.spike_counts[st.pop_of[s.gid]];
        }
        if (control.on_spikes && !st.merged.empty()) {
            control.on_spikes(st.merged);
        }
        st.record_modulators(from, to);
        st.collect_recordings();
        st.now = to;
        if (st.pending_bytes() >= batch_bytes ||
            std::chrono::duration<double>(clock_type::now() - last_batch).count() >=
                max_batch_seconds) {
            st.flush_recordings(sink);
            last_batch = clock_type::now();
        }

        const bool stop = control.stop != nullptr && control.stop->load(std::memory_order_relaxed);
        if (control.on_progress &&
            (std::chrono::duration<double>(clock_type::now() - last_progress).count() >=
                 control.progress_interval ||
             st.now == net.n_steps || stop)) {
            last_progress = clock_type::now();
            progress_info pi;
            pi.step = st.now;
            pi.n_steps = net.n_steps;
            pi.wall_seconds = seconds_since(t0);
            const double done = static_cast<double>(st.now - first_step);
            pi.eta_seconds = done > 0 ? pi.wall_seconds / done *
                                            static_cast<double>(net.n_steps - st.now)
                                      : 0.0;
            for (auto c: st.spike_counts) {
                pi.spikes += c;
            }
            for (const auto& p: net.partitions) {
                pi.synaptic_events += p->synaptic_events();
            }
            pi.synaptic_events_at_start = events_at_start;
            pi.first_step = first_step;
            control.on_progress(pi);
        }
        if (stop && st.now < net.n_steps) {
            summary.status = run_status::interrupted;
            break;
        }
    }

    // Leave no spike unrouted: the queues then hold the complete future of the network.
    if (!st.merged_routed) {
        st.for_each_partition([&](partition& p) { p.route(st.merged); });
        st.merged_routed = true;
    }
    if (summary.status == run_status::completed) {
        take_snapshots();  // the state after the last step
    }
    st.flush_recordings(sink);
    // Lazily updated neurons are brought to `now`, so that their state can be read; after an
    // interruption only when it is read (value()), since a checkpoint must hold the state as
    // the run would continue from it (a catch-up rounds differently).
    if (summary.status == run_status::completed) {
        for (auto& p: net.partitions) {
            p->catch_up(st.now);
        }
    } else {
        st.lazy_behind = true;
        st.stopped = true;
    }
    st.in_run = false;
    summary.steps_done = st.now;
    summary.wall_seconds = seconds_since(t0);
    summary.build_seconds = st.report.build_seconds;
    for (const auto& p: net.partitions) {
        summary.synaptic_events += p->synaptic_events();
    }
    summary.spike_counts = st.spike_counts;
    summary.n_neurons = net.n_neurons;
    summary.n_synapses = net.n_synapses;
    sink.end(summary);
    return summary;
}

double simulation::value(neuron_id gid, std::string_view variable) const {
    auto& st = *impl_;
    if (st.lazy_behind) {  // after an interrupted run (see run())
        for (auto& p: st.net.partitions) {
            p->catch_up(st.now);
        }
        st.lazy_behind = false;
        st.read_since_stop = true;
    }
    for (const auto& p: impl_->net.partitions) {
        if (gid >= p->first_gid && gid < p->end_gid) {
            return p->value(gid, std::string(variable));
        }
    }
    throw error(fmt::format("no neuron with global id {}", gid));
}

std::vector<synapse_weight> simulation::weights(std::string_view projection) {
    auto& net = impl_->net;
    std::size_t index = net.projections.size();
    for (std::size_t i = 0; i < net.projections.size(); ++i) {
        if (net.projections[i].name == projection) {
            index = i;
        }
    }
    if (index == net.projections.size()) {
        throw error(fmt::format("no projection '{}'", projection));
    }
    if (net.projections[index].rule == "static" || net.projections[index].rule == "sic") {
        throw error(fmt::format("projection '{}' is {}: its weights are those it was built "
                                "with",
                                projection, net.projections[index].rule));
    }
    if (!impl_->in_run && impl_->stopped) {
        impl_->read_since_stop = true;  // the sweep below changes how a checkpoint continues
    }
    std::vector<synapse_weight> out;
    for (auto& p: net.partitions) {
        p->sweep_plastic(impl_->now);
        for (std::size_t b = 0; b < p->plastic.size(); ++b) {
            if (p->plastic_projection[b] != index) {
                continue;
            }
            const auto& syn = p->plastic[b]->synapses();
            const auto w = p->plastic[b]->weights();
            for (std::size_t src = 0; src + 1 < syn.row_segment.size(); ++src) {
                for (auto k = syn.row_segment[src]; k < syn.row_segment[src + 1]; ++k) {
                    for (auto s = syn.segment_begin[k]; s < syn.segment_begin[k + 1]; ++s) {
                        out.push_back(synapse_weight{static_cast<neuron_id>(src),
                                                     syn.target_gid[s],
                                                     static_cast<step_t>(syn.segment_delay[k]),
                                                     w[s]});
                    }
                }
            }
        }
    }
    // Partitions hold disjoint targets; within one (source, target, delay) the rows keep the
    // canonical multapse order, which a stable sort preserves.
    std::stable_sort(out.begin(), out.end(), [](const synapse_weight& a, const synapse_weight& b) {
        return a.source != b.source ? a.source < b.source
               : a.target != b.target ? a.target < b.target
                                      : a.delay < b.delay;
    });
    return out;
}

namespace {

void sort_synapses(std::vector<synapse_weight>& out) {
    std::stable_sort(out.begin(), out.end(), [](const synapse_weight& a, const synapse_weight& b) {
        return a.source != b.source ? a.source < b.source
               : a.target != b.target ? a.target < b.target
                                      : a.delay < b.delay;
    });
}

}  // namespace

std::vector<synapse_weight> simulation::static_synapses() const {
    std::vector<synapse_weight> out;
    for (const auto& p: impl_->net.partitions) {
        const auto& st = *p->synapses;
        for (std::size_t src = 0; src + 1 < st.row_segment.size(); ++src) {
            for (std::uint32_t k = st.row_segment[src]; k < st.row_segment[src + 1]; ++k) {
                for (std::uint32_t s = st.segment_begin[k]; s < st.segment_begin[k + 1]; ++s) {
                    const std::uint32_t slot = st.target[s];
                    neuron_id gid = 0;
                    for (const auto& b: p->blocks) {
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
    }
    sort_synapses(out);
    return out;
}

std::vector<synapse_weight> simulation::sic_connections() const {
    std::vector<synapse_weight> out;
    for (const auto& p: impl_->net.partitions) {
        const auto& sic = p->sic;
        for (std::size_t k = 0; k < sic.segment_delay.size(); ++k) {
            for (std::uint32_t c = sic.segment_begin[k]; c < sic.segment_begin[k + 1]; ++c) {
                out.push_back(synapse_weight{sic.source_gid[c], p->first_gid + sic.neuron[c],
                                             static_cast<step_t>(sic.segment_delay[k]),
                                             sic.weight[c]});
            }
        }
    }
    sort_synapses(out);
    return out;
}

std::uint64_t simulation::connectivity_hash() const {
    // A multiset hash of (source, target, port, weight bits, delay) over every synapse: the
    // same for any partitioning, whatever order the partitions store their synapses in.
    std::uint64_t sum = 0;
    std::uint64_t x = 0;
    std::uint64_t n = 0;
    for (const auto& p: impl_->net.partitions) {
        const auto& st = *p->synapses;
        // Slot -> (gid, port) through the blocks.
        auto decode = [&](std::uint32_t slot, neuron_id& gid, std::uint32_t& port) {
            for (const auto& b: p->blocks) {
                const std::size_t end = b.input_offset + b.count * b.n_ports;
                if (slot >= b.input_offset && slot < end) {
                    gid = b.first_gid + static_cast<neuron_id>((slot - b.input_offset) / b.n_ports);
                    port = static_cast<std::uint32_t>((slot - b.input_offset) % b.n_ports);
                    return;
                }
            }
            throw internal_error("connectivity_hash: slot outside every block");
        };
        for (std::size_t src = 0; src + 1 < st.row_segment.size(); ++src) {
            for (std::uint32_t k = st.row_segment[src]; k < st.row_segment[src + 1]; ++k) {
                for (std::uint32_t s = st.segment_begin[k]; s < st.segment_begin[k + 1]; ++s) {
                    neuron_id gid = 0;
                    std::uint32_t port = 0;
                    decode(st.target[s], gid, port);
                    std::uint32_t wbits = 0;
                    std::memcpy(&wbits, &st.weight[s], sizeof wbits);
                    std::uint64_t h = mix64(src);
                    h = mix64(h ^ gid);
                    h = mix64(h ^ port);
                    h = mix64(h ^ wbits);
                    h = mix64(h ^ st.segment_delay[k]);
                    sum += h;
                    x ^= mix64(h);
                    ++n;
                }
            }
        }
        // sic connections: (source, target, weight bits, delay), marked apart from synapses->
        const auto& sic = p->sic;
        for (std::size_t k = 0; k < sic.segment_delay.size(); ++k) {
            for (std::uint32_t c = sic.segment_begin[k]; c < sic.segment_begin[k + 1]; ++c) {
                std::uint64_t wbits = 0;
                std::memcpy(&wbits, &sic.weight[c], sizeof wbits);
                std::uint64_t h = mix64(0x51c0000000000000ULL ^ sic.source_gid[c]);
                h = mix64(h ^ (p->first_gid + sic.neuron[c]));
                h = mix64(h ^ wbits);
                h = mix64(h ^ sic.segment_delay[k]);
                sum += h;
                x ^= mix64(h);
                ++n;
            }
        }
    }
    return mix64(sum ^ mix64(x) ^ mix64(n));
}

}  // namespace glia
