// What the monitor collects from the run: the producer's side (the recording_sink and progress
// calls, staged in a buffer of its own and handed over without waiting) and the server's side
// (the hand-over applied to its picture of the run: the raster window, counts and rates).

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <mutex>
#include <string_view>

#include <fmt/format.h>

#include <glia/error.hpp>

#include "runtime/monitor_detail.hpp"

namespace glia::runtime {
namespace monitor_detail {
namespace {

// Fields of the status that publish_section may not replace.
constexpr std::array<std::string_view, 22> builtin_fields{"status",
                                                          "stop_requested",
                                                          "step",
                                                          "n_steps",
                                                          "dt_ms",
                                                          "t_ms",
                                                          "duration_ms",
                                                          "progress",
                                                          "wall_s",
                                                          "eta_s",
                                                          "steps_per_s",
                                                          "events_per_s",
                                                          "synaptic_events",
                                                          "spikes",
                                                          "rate_window_ms",
                                                          "populations",
                                                          "raster_window_ms",
                                                          "monitor",
                                                          "snapshot",
                                                          "dropped_spikes",
                                                          "error",
                                                          "stopping"};

// Spikes handed over in one call of the producer that do not fit are dropped from the raster
// (never from the counts); rate bins likewise beyond this many values.
constexpr std::size_t max_staged_bin_values = std::size_t{1} << 20;

// A progress report older than this with no spikes handed over since means that every spike
// up to its step has been handed over: the engine hands recorded spikes to its sink at least
// every 0.2 s of wall time (src/core/simulation.cpp, max_batch_seconds).
constexpr auto progress_settled = std::chrono::milliseconds(500);

std::vector<pop_geometry> geometry_of(const run_layout& layout, std::size_t raster_rows) {
    std::size_t n_recorded = 0;
    for (const auto& p: layout.populations) {
        n_recorded += p.spikes_recorded ? 1 : 0;
    }
    const std::size_t per_pop =
        std::max<std::size_t>(1, raster_rows / std::max<std::size_t>(1, n_recorded));
    std::vector<pop_geometry> out;
    for (const auto& p: layout.populations) {
        pop_geometry g;
        g.name = p.name;
        g.model = p.model;
        g.first_gid = p.first_gid;
        g.size = p.size;
        g.recorded = p.spikes_recorded;
        if (p.spikes_recorded && p.size > 0) {
            g.stride = static_cast<std::uint32_t>((p.size + per_pop - 1) / per_pop);
            g.rows = (p.size + g.stride - 1) / g.stride;
        }
        out.push_back(std::move(g));
    }
    return out;
}

step_t bin_steps_of(double bin_ms, double dt) {
    return std::max<step_t>(1, std::llround(bin_ms / dt));
}

}  // namespace

// Drops the oldest shown spikes beyond `max_spikes` (the newest matter for a live view).
void delivery::trim(std::size_t max_spikes) {
    if (spikes.size() <= max_spikes) {
        return;
    }
    const std::size_t n = spikes.size() - max_spikes;
    raster_from = std::max(raster_from, spikes[n - 1].step + 1);
    spikes.erase(spikes.begin(), spikes.begin() + static_cast<std::ptrdiff_t>(n));
    dropped_spikes += n;
}

// Appends `d` to this one (keeping the newest `max_spikes` shown spikes) and empties `d`.
void delivery::take(delivery& d, std::size_t max_spikes) {
    if (d.layout) {
        layout = std::move(d.layout);
    }
    spikes.insert(spikes.end(), d.spikes.begin(), d.spikes.end());
    dropped_spikes += d.dropped_spikes;
    raster_from = std::max(raster_from, d.raster_from);
    trim(max_spikes);
    if (bins.size() + d.bins.size() <= max_staged_bin_values) {
        bins.insert(bins.end(), d.bins.begin(), d.bins.end());
    }
    if (!d.counts.empty()) {
        counts = d.counts;
    }
    last_spike_step = std::max(last_spike_step, d.last_spike_step);
    confirmed_step = std::max(confirmed_step, d.confirmed_step);
    if (d.progress) {
        progress = d.progress;
        progress_at = d.progress_at;
    }
    for (auto& s: d.sections) {
        sections.push_back(std::move(s));
    }
    if (d.summary) {
        summary = std::move(d.summary);
    }
    d.clear();
}

void delivery::clear() {
    layout.reset();
    spikes.clear();
    dropped_spikes = 0;
    raster_from = 0;
    bins.clear();
    counts.clear();
    last_spike_step = -1;
    confirmed_step = 0;
    progress.reset();
    sections.clear();
    summary.reset();
}

void producer_state::flush_bin() {
    if (!bin_dirty) {
        return;
    }
    if (staged.bins.size() + 1 + bin_counts.size() <= max_staged_bin_values) {
        staged.bins.push_back(static_cast<std::uint64_t>(bin));
        staged.bins.insert(staged.bins.end(), bin_counts.begin(), bin_counts.end());
    }
    std::fill(bin_counts.begin(), bin_counts.end(), 0);
    bin_dirty = false;
}

// Hands what is staged to the server: never waits unless `wait` (end of run).
void server::publish(bool wait) {
    producer.flush_bin();
    if (!producer.counts.empty()) {
        producer.staged.counts = producer.counts;
    }
    std::unique_lock lock(mutex, std::defer_lock);
    if (wait) {
        lock.lock();
    } else if (!lock.try_lock()) {
        return;  // the server is swapping: the next call hands this over
    }
    shared.take(producer.staged, opt.raster_max_spikes);
}

void server::absorb() {
    {
        const std::lock_guard lock(mutex);
        std::swap(inbox, shared);
    }
    apply(inbox);
    inbox.clear();
    update_rates();
}

void server::apply(delivery& d) {
    run_view& v = view;
    if (d.layout) {
        v.begun = true;
        v.dt = d.layout->dt;
        v.n_steps = d.layout->n_steps;
        v.bin_steps = bin_steps_of(opt.rate_bin_ms, v.dt);
        v.pops = geometry_of(*d.layout, opt.raster_rows);
        v.counts.assign(v.pops.size(), 0);
        v.rates.assign(v.pops.size(), std::numeric_limits<double>::quiet_NaN());
    }
    v.window_from = std::max(v.window_from, d.raster_from);
    v.fresh_from = std::max(v.fresh_from, d.raster_from);
    for (const raster_spike& s: d.spikes) {
        v.window.push_back(s);
        v.fresh.push_back(s);
        if (v.fresh.size() > opt.max_spikes_per_message) {
            v.fresh_from = std::max(v.fresh_from, v.fresh.front().step + 1);
            v.fresh.pop_front();
            ++v.dropped_spikes;
        }
    }
    v.dropped_spikes += d.dropped_spikes;
    dropped_spikes = v.dropped_spikes;
    v.last_spike = std::max(v.last_spike, d.last_spike_step);
    v.confirmed = std::max(v.confirmed, d.confirmed_step);
    const step_t window_steps = std::max<step_t>(1, std::llround(opt.raster_window_ms / v.dt));
    while (!v.window.empty() && (v.window.size() > opt.raster_max_spikes ||
                                 v.window.front().step < v.last_spike - window_steps)) {
        if (v.window.size() > opt.raster_max_spikes) {
            v.window_from = std::max(v.window_from, v.window.front().step + 1);
        }
        v.window.pop_front();
    }
    const std::size_t width = 1 + v.pops.size();
    for (std::size_t k = 0; k + width <= d.bins.size() && width > 1; k += width) {
        auto& b = v.bins[static_cast<std::int64_t>(d.bins[k])];
        b.resize(v.pops.size(), 0);
        for (std::size_t p = 0; p < v.pops.size(); ++p) {
            b[p] += d.bins[k + 1 + p];
        }
    }
    if (d.counts.size() == v.counts.size()) {
        v.counts = d.counts;
    }
    if (d.progress) {
        v.progress = d.progress;
        v.progress_at = d.progress_at;
    }
    for (auto& [key, json]: d.sections) {
        auto at = std::find_if(v.sections.begin(), v.sections.end(),
                               [&](const auto& s) { return s.first == key; });
        if (at == v.sections.end()) {
            v.sections.emplace_back(key, std::move(json));
        } else {
            at->second = std::move(json);
        }
    }
    if (d.summary) {
        v.summary = d.summary;
        v.confirmed = std::max(v.confirmed, d.summary->steps_done);
        if (d.summary->spike_counts.size() == v.counts.size()) {
            v.counts = d.summary->spike_counts;
        }
    }
}

// The step before which every spike has arrived.
step_t server::horizon() const {
    const run_view& v = view;
    step_t h = std::max(v.confirmed, v.last_spike + 1);
    if (v.progress && clock_type::now() - v.progress_at >= progress_settled) {
        h = std::max(h, v.progress->step);
    }
    return std::min(h, v.n_steps);
}

// Rates over the last complete bins within rate_window_ms before the horizon.
void server::update_rates() {
    run_view& v = view;
    if (!v.begun) {
        return;
    }
    const std::int64_t end_bin = horizon() / v.bin_steps;  // bins before it are complete
    const std::int64_t n_bins = std::max<std::int64_t>(
        1, std::llround(opt.rate_window_ms / (static_cast<double>(v.bin_steps) * v.dt)));
    const std::int64_t first_bin = std::max<std::int64_t>(0, end_bin - n_bins);
    v.bins.erase(v.bins.begin(), v.bins.lower_bound(first_bin));
    v.rate_from = first_bin * v.bin_steps;
    v.rate_to = end_bin * v.bin_steps;
    const double seconds = static_cast<double>(v.rate_to - v.rate_from) * v.dt * 1e-3;
    for (std::size_t p = 0; p < v.pops.size(); ++p) {
        if (!v.pops[p].recorded || !(seconds > 0) || v.pops[p].size == 0) {
            v.rates[p] = std::numeric_limits<double>::quiet_NaN();
            continue;
        }
        std::uint64_t n = 0;
        for (auto it = v.bins.begin(); it != v.bins.end() && it->first < end_bin; ++it) {
            n += it->second[p];
        }
        v.rates[p] = static_cast<double>(n) / static_cast<double>(v.pops[p].size) / seconds;
    }
}

}  // namespace monitor_detail

using monitor_detail::bin_steps_of;
using monitor_detail::builtin_fields;
using monitor_detail::geometry_of;
using monitor_detail::pop_geometry;

void monitor::begin(const run_layout& layout) {
    auto& pr = impl_->producer;
    pr.pops = geometry_of(layout, impl_->opt.raster_rows);
    pr.first_gids.clear();
    for (const auto& g: pr.pops) {
        pr.first_gids.push_back(g.first_gid);
    }
    if (!std::is_sorted(pr.first_gids.begin(), pr.first_gids.end())) {
        throw glia::internal_error("monitor: populations are not in ascending id order");
    }
    pr.bin_steps = bin_steps_of(impl_->opt.rate_bin_ms, layout.dt);
    pr.max_spikes = impl_->opt.raster_max_spikes;
    pr.counts.assign(pr.pops.size(), 0);
    pr.bin = -1;
    pr.bin_counts.assign(pr.pops.size(), 0);
    pr.bin_dirty = false;
    pr.last_progress_step = 0;
    pr.staged.clear();
    pr.staged.layout = layout;
    impl_->publish(true);
}

void monitor::spikes(std::span<const spike_event> batch) {
    auto& pr = impl_->producer;
    if (pr.pops.empty() || batch.empty()) {
        return;
    }
    // This batch completes everything up to the engine's present, which is past the last
    // progress report.
    pr.staged.confirmed_step = std::max(pr.staged.confirmed_step, pr.last_progress_step);
    std::size_t p = 0;
    for (const spike_event& s: batch) {
        if (s.gid < pr.pops[p].first_gid || s.gid - pr.pops[p].first_gid >= pr.pops[p].size) {
            const auto at = std::upper_bound(pr.first_gids.begin(), pr.first_gids.end(), s.gid);
            if (at == pr.first_gids.begin()) {
                continue;
            }
            p = static_cast<std::size_t>(at - pr.first_gids.begin()) - 1;
            if (s.gid - pr.pops[p].first_gid >= pr.pops[p].size) {
                continue;
            }
        }
        const pop_geometry& g = pr.pops[p];
        ++pr.counts[p];
        const std::int64_t b = s.step / pr.bin_steps;
        if (b != pr.bin) {
            pr.flush_bin();
            pr.bin = b;
        }
        ++pr.bin_counts[p];
        pr.bin_dirty = true;
        const auto node = static_cast<std::uint32_t>(s.gid - g.first_gid);
        if (g.stride > 0 && node % g.stride == 0) {
            pr.staged.spikes.push_back({static_cast<std::uint32_t>(p), node, s.step});
            if (pr.staged.spikes.size() >= 2 * pr.max_spikes) {
                pr.staged.trim(pr.max_spikes);  // amortised: halves at most once per max_spikes
            }
        }
    }
    pr.staged.last_spike_step = std::max(pr.staged.last_spike_step, batch.back().step);
    pr.staged.trim(pr.max_spikes);
    impl_->publish(false);
}

void monitor::frames(std::size_t, std::size_t, std::size_t, std::span<const float>) {}

void monitor::end(const run_summary& summary) {
    impl_->producer.staged.summary = summary;
    impl_->publish(true);
}

void monitor::progress(const progress_info& p) {
    auto& pr = impl_->producer;
    pr.last_progress_step = p.step;
    pr.staged.progress = p;
    pr.staged.progress_at = clock_type::now();
    impl_->publish(false);
}

void monitor::publish_section(const std::string& key, std::string json) {
    if (key.empty() ||
        std::find(builtin_fields.begin(), builtin_fields.end(), key) != builtin_fields.end()) {
        throw glia::internal_error(
            fmt::format("monitor::publish_section: '{}' is not a free status field", key));
    }
    impl_->producer.staged.sections.emplace_back(key, std::move(json));
    impl_->publish(false);
}

}  // namespace glia::runtime
