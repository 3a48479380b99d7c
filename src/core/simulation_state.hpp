#pragma once
// The state of a glia::simulation (the pimpl of include/glia/simulation.hpp), shared by the
// step loop (simulation.cpp) and checkpoints (checkpoint.cpp). Private to glia_core.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <spdlog/spdlog.h>

#include <glia/recording.hpp>
#include <glia/simulation.hpp>

#include "core/network.hpp"
#include "core/partition.hpp"

namespace glia {

struct simulation::state {
    network net;
    oneapi::tbb::task_arena arena;
    std::shared_ptr<spdlog::logger> log;
    build_report report;
    run_layout layout;
    step_t now = 0;
    step_t epoch = 1;                   // steps between spike exchanges (<= min_delay)
    std::vector<std::uint32_t> pop_of;  // global id -> population index
    bool all_recorded = true;
    std::vector<spike_event> merged;    // one epoch's spikes of all partitions, (step, gid) order
    bool merged_routed = true;          // `merged` is already in the calendar queues
    std::vector<spike_event> recorded;  // spikes of recorded populations not yet given to the sink
    std::vector<frame_buffer> frames;   // per report, this epoch's frames
    std::vector<frame_buffer> pending;  // per report, frames not yet given to the sink
    std::vector<std::uint64_t> spike_counts;
    std::vector<std::size_t> weight_snapshot;  // per weight recorder: next snapshot index

    // Checkpoints (checkpoint.cpp). The first steps of the latest epochs, in a ring: each
    // epoch's spikes are routed in one batch, and a resumed run must route the spikes still in
    // flight in the same batches (the order of entries in a bucket fixes the order of sums).
    // max_delay + 2 entries cover every epoch whose spikes can still be in flight.
    std::vector<step_t> epoch_ring;
    std::uint64_t epochs_seen = 0;
    bool stopped = false;          // the last run was interrupted
    bool lazy_behind = false;      // ... and left lazily updated blocks behind `now`
    bool read_since_stop = false;  // ... and value() or weights() has since moved the state on
    bool in_run = false;

    void note_epoch(step_t from) {
        epoch_ring[static_cast<std::size_t>(epochs_seen++ % epoch_ring.size())] = from;
    }
    // The first steps of the recorded epochs, ascending.
    std::vector<step_t> recent_epochs() const {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(epochs_seen, epoch_ring.size()));
        std::vector<step_t> out;
        for (std::uint64_t e = epochs_seen - n; e < epochs_seen; ++e) {
            out.push_back(epoch_ring[static_cast<std::size_t>(e % epoch_ring.size())]);
        }
        return out;
    }
    // What the output holds before step `now`: recorded spikes, frames, weight snapshots.
    recorded_counts recorded_before() const {
        recorded_counts c;
        for (std::size_t p = 0; p < net.populations.size(); ++p) {
            c.spikes.push_back(net.populations[p].spikes_recorded ? spike_counts[p] : 0);
        }
        for (const report_layout& rl: net.reports) {
            std::uint64_t n = 0;
            if (now > rl.start_step) {
                n = static_cast<std::uint64_t>((now - rl.start_step + rl.interval_steps - 1) /
                                               rl.interval_steps);
            }
            c.report_frames.push_back(std::min<std::uint64_t>(n, rl.n_frames));
        }
        for (std::size_t s: weight_snapshot) {
            c.weight_snapshots.push_back(s);
        }
        return c;
    }

    template <typename F>
    void for_each_partition(F f) {
        const auto P = static_cast<int>(net.partitions.size());
        if (P == 1) {
            f(*net.partitions[0]);
            return;
        }
        // One task per partition (simple_partitioner, grain 1): partitions are heavy and few.
        arena.execute([&] {
            oneapi::tbb::parallel_for(
                oneapi::tbb::blocked_range<int>(0, P, 1),
                [&](const oneapi::tbb::blocked_range<int>& r) {
                    for (int k = r.begin(); k < r.end(); ++k) {
                        f(*net.partitions[static_cast<std::size_t>(k)]);
                    }
                },
                oneapi::tbb::simple_partitioner{});
        });
    }

    void size_frames(step_t from, step_t to) {
        for (std::size_t r = 0; r < net.reports.size(); ++r) {
            const report_layout& rl = net.reports[r];
            const step_t stop = rl.start_step + static_cast<step_t>(rl.n_frames) * rl.interval_steps;
            auto frame_at_or_after = [&](step_t s) {
                if (s <= rl.start_step) {
                    return step_t{0};
                }
                return (s - rl.start_step + rl.interval_steps - 1) / rl.interval_steps;
            };
            const step_t lo = frame_at_or_after(from);
            const step_t hi = frame_at_or_after(std::min(to, stop));
            auto& buf = frames[r];
            buf.first = static_cast<std::size_t>(lo);
            buf.count = hi > lo ? static_cast<std::size_t>(hi - lo) : 0;
            buf.data.resize(buf.count * rl.node_ids.size());
        }
    }

    // Every modulator reads the spikes of this epoch [from, to) (merged is in (step, gid)
    // order), serially: the same for every thread and partition count.
    void record_modulators(step_t from, step_t to) {
        for (auto& m: net.modulators) {
            m.block->advance(from, to, merged);
        }
    }

    // Appends this epoch's recorded spikes and frames to the batches.
    void collect_recordings() {
        if (all_recorded) {
            recorded.insert(recorded.end(), merged.begin(), merged.end());
        } else {
            for (const spike_event& s: merged) {
                if (net.populations[pop_of[s.gid]].spikes_recorded) {
                    recorded.push_back(s);
                }
            }
        }
        for (std::size_t r = 0; r < frames.size(); ++r) {
            const frame_buffer& f = frames[r];
            if (f.count == 0) {
                continue;
            }
            frame_buffer& p = pending[r];
            if (p.count == 0) {
                p.first = f.first;
            }
            p.count += f.count;
            p.data.insert(p.data.end(), f.data.begin(), f.data.end());
        }
    }

    std::size_t pending_bytes() const {
        std::size_t n = recorded.size() * sizeof(spike_event);
        for (const auto& p: pending) {
            n += p.data.size() * sizeof(float);
        }
        return n;
    }

    void flush_recordings(recording_sink& sink) {
        if (!recorded.empty()) {
            sink.spikes(recorded);
            recorded.clear();
        }
        for (std::size_t r = 0; r < pending.size(); ++r) {
            frame_buffer& p = pending[r];
            if (p.count > 0) {
                sink.frames(r, p.first, p.count, p.data);
                p.count = 0;
                p.data.clear();
            }
        }
    }

    void merge_spikes(step_t from, step_t to) {
        merged.clear();
        std::vector<std::size_t> cursor(net.partitions.size(), 0);
        for (step_t s = from; s < to; ++s) {
            for (std::size_t p = 0; p < net.partitions.size(); ++p) {
                const auto sp = net.partitions[p]->spikes();
                std::size_t& c = cursor[p];
                while (c < sp.size() && sp[c].step == s) {
                    merged.push_back(sp[c++]);
                }
            }
        }
        for (auto& p: net.partitions) {
            p->clear_spikes();
        }
    }
};

}  // namespace glia
