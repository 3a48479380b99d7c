#include "core/partition.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

namespace glia {

void partition::finish_setup(step_t now) {
    std::size_t n_slots = 0;
    for (const auto& b: blocks) {
        n_slots = std::max(n_slots, b.input_offset + b.count * b.n_ports);
    }
    input_.assign(n_slots, 0.0);
    any_current_ = !currents.empty() || !noise.empty() || !sic.empty();
    if (any_current_) {
        base_current_.assign(n_neurons(), 0.0);
        current_.assign(n_neurons(), 0.0);
    }
    spikes_.clear();
    any_lazy_ = false;
    for (auto& b: blocks) {
        if (b.lazy) {
            b.block->use_lazy_updates(now);
            any_lazy_ = true;
        }
    }
    if (any_lazy_) {
        slot_stamp_.assign(n_slots, -1);
    }
    n_static_segments_ = static_cast<std::uint32_t>(synapses->segment_delay.size());
    plastic_offset.assign(1, n_static_segments_);
    history.resize(n_neurons());
    history_horizon_ = 0;
    next_sweep_.clear();
    eager_.clear();
    for (std::size_t k = 0; k < plastic.size(); ++k) {
        if (plastic[k]->eager()) {
            eager_.push_back(k);
        }
    }
    input_next_.assign(eager_.empty() ? 0 : n_slots, 0.0);
    for (const auto& b: plastic) {
        const auto& syn = b->synapses();
        plastic_offset.push_back(plastic_offset.back() +
                                 static_cast<std::uint32_t>(syn.segment_delay.size()));
        // Sweeps fall on multiples of the block's interval, whatever step the run starts at.
        const step_t interval = b->sweep_interval();
        next_sweep_.push_back((now / interval + 1) * interval);
        history_horizon_ = std::max(history_horizon_, b->history_horizon());
        if (b->needs_post_history()) {
            for (neuron_id gid: syn.target_gid) {
                history.enable(gid - first_gid);
            }
        }
    }
}

void partition::sweep_plastic(step_t now) {
    for (auto& b: plastic) {
        b->sweep(now);
    }
    history.prune(now - history_horizon_);
}

template <typename F>
void partition::for_each_slot(std::uint32_t k, F f) const {
    if (k < n_static_segments_) {
        const std::uint32_t* target = synapses->target.data();
        for (std::uint32_t s = synapses->segment_begin[k]; s < synapses->segment_begin[k + 1]; ++s) {
            f(target[s]);
        }
        return;
    }
    std::size_t b = 0;
    while (k >= plastic_offset[b + 1]) {
        ++b;
    }
    const auto& syn = plastic[b]->synapses();
    const std::uint32_t seg = k - plastic_offset[b];
    for (std::uint32_t s = syn.segment_begin[seg]; s < syn.segment_begin[seg + 1]; ++s) {
        f(syn.slot[s]);
    }
}

std::span<const double> homeostasis_state::apply(std::span<double> in, bool split,
                                                 std::size_t n) {
    if (split) {
        for (std::size_t i = 0; i < n; ++i) {
            merged[i] = g_E[i] * in[2 * i] + g_I[i] * in[2 * i + 1];
        }
        return merged;
    }
    for (std::size_t i = 0; i < n; ++i) {
        in[2 * i] *= g_E[i];
        in[2 * i + 1] *= g_I[i];
    }
    return in;
}

void homeostasis_state::after_step(step_t now, std::span<const std::uint32_t> spiked) {
    for (double& r: rate) {
        r *= decay;
    }
    for (std::uint32_t i: spiked) {
        rate[i] += increment;
    }
    if (now + 1 == next_update) {
        next_update += interval;
        for (std::size_t i = 0; i < rate.size(); ++i) {
            const double e = (target[i] - rate[i]) / target[i];
            g_E[i] = std::clamp(g_E[i] * std::exp(eta * e), g_min, g_max);
            g_I[i] = std::clamp(g_I[i] * std::exp(-eta * e), g_min, g_max);
        }
    }
}

void partition::catch_up(step_t now) {
    for (auto& b: blocks) {
        if (b.lazy) {
            b.block->catch_up(now);
        }
    }
}

// One step of a partition, in the order every model may rely on (the engine's duty cycle;
// docs/architecture.md):
//   0. sample: reports read the state at t_n, before the step;
//   1. heap:   device changes due at this step (dc/step currents) take effect; plastic
//              blocks sweep (apply pending updates, prune the spike history) every interval;
//   2. deliver: the calendar bucket of this step is walked: synaptic input into the slots,
//               in canonical (spike step, source id) order;
//   3. devices: Poisson events into the slots, noise into the currents, then the graded
//               (sic) input: weight * output of the source at (t - delay)*dt, from rows of
//               the graded buffer written in earlier epochs;
//   4. advance: every block integrates over [t_n, t_n+1) and reports its spikes, which
//               enter the spike history of plastic targets; blocks with graded output write
//               it (the value at t_n+1) into their columns of the graded buffer's row n+1;
//   5. clear:   the input slots are zeroed for the next step.
// Spikes are exchanged between partitions by the caller every min_delay steps (route()).
void partition::run_epoch(step_t from, step_t to, std::vector<frame_buffer>& frames) {
    for (step_t now = from; now < to; ++now) {
        if (!reports.empty()) {
            sample(now, frames);
        }
        apply_heap_events(now);
        bool swept = false;
        for (std::size_t b = 0; b < plastic.size(); ++b) {
            if (now == next_sweep_[b]) {
                plastic[b]->sweep(now);
                next_sweep_[b] += plastic[b]->sweep_interval();
                swept = true;
            }
        }
        if (swept) {
            history.prune(now - history_horizon_);
        }
        for (std::size_t k: eager_) {
            plastic[k]->begin_step(now, input_, input_next_);
        }
        const std::size_t writes = deliver(now) + apply_devices(now);
        if (any_lazy_) {
            collect_touched(now);
        }
        for (auto& b: blocks) {
            std::span<const double> in(input_.data() + b.input_offset, b.count * b.n_ports);
            if (b.homeostasis) {
                in = b.homeostasis->apply(
                    std::span<double>(input_.data() + b.input_offset, b.count * b.n_ports),
                    b.split_port, b.count);
            }
            if (b.lazy) {
                advance_lazy_block(now, b, in);
            } else {
                std::span<const double> cur;
                if (b.has_current) {
                    const auto& src = noise.empty() && sic.empty() ? base_current_ : current_;
                    cur = std::span<const double>(src.data() + b.neuron_offset, b.count);
                }
                spiked_.clear();
                b.block->advance(now, in, cur, spiked_);
                for (std::uint32_t local: spiked_) {
                    spikes_.push_back(spike_event{now, b.first_gid + local});
                }
                if (b.graded_column != static_cast<std::size_t>(-1)) {
                    b.block->graded_output(
                        std::span<double>(graded->row(now + 1) + b.graded_column, b.count));
                }
            }
            for (std::uint32_t local: spiked_) {
                history.record(static_cast<std::uint32_t>(b.neuron_offset + local), now);
            }
            if (b.homeostasis) {
                b.homeostasis->after_step(now, spiked_);
            }
            if (!eager_.empty()) {
                for (std::uint32_t local: spiked_) {
                    step_spiked_.push_back(static_cast<std::uint32_t>(b.neuron_offset + local));
                }
            }
        }
        if (!eager_.empty()) {
            for (std::size_t k: eager_) {
                plastic[k]->post_spikes(now, step_spiked_);
            }
            step_spiked_.clear();
        }
        clear_input(now, writes);
        if (!eager_.empty()) {
            input_.swap(input_next_);  // what eager blocks sent for the next step
        }
    }
}

void partition::clear_input(step_t now, std::size_t writes) {
    auto& bucket = queue.bucket(now);
    // Sparse steps (few spikes arrived) zero just the slots written; dense ones zero all
    // (and every step with eager plastic blocks, which write slots outside the bucket).
    if (writes * 4 < input_.size() && eager_.empty()) {
        double* in = input_.data();
        for (std::uint32_t k: bucket) {
            for_each_slot(k, [in](std::uint32_t slot) { in[slot] = 0.0; });
        }
        if (poisson_written_) {
            for (const auto& d: poisson) {
                for (std::uint32_t slot: d.slots) {
                    in[slot] = 0.0;
                }
            }
        }
        if (dataset_written_) {
            for (const auto& d: dataset) {
                const step_t t = now - d.first;
                if (t >= 0 && t + 1 < static_cast<step_t>(d.offset.size())) {
                    const auto k = static_cast<std::size_t>(t);
                    for (std::uint32_t e = d.offset[k]; e < d.offset[k + 1]; ++e) {
                        in[d.event_slot[e]] = 0.0;
                    }
                }
            }
        }
    } else {
        std::fill(input_.begin(), input_.end(), 0.0);
    }
    bucket.clear();
}

void partition::collect_touched(step_t now) {
    touched_slots_.clear();
    const auto& bucket = queue.bucket(now);
    step_t* stamp = slot_stamp_.data();
    for (std::uint32_t k: bucket) {
        for_each_slot(k, [&](std::uint32_t slot) {
            if (stamp[slot] != now) {
                stamp[slot] = now;
                touched_slots_.push_back(slot);
            }
        });
    }
    // Poisson events (a slot with no event this step holds 0).
    if (poisson_written_) {
        for (const auto& d: poisson) {
            for (std::uint32_t slot: d.slots) {
                if (input_[slot] != 0.0 && stamp[slot] != now) {
                    stamp[slot] = now;
                    touched_slots_.push_back(slot);
                }
            }
        }
    }
    if (dataset_written_) {
        for (const auto& d: dataset) {
            const step_t t = now - d.first;
            if (t >= 0 && t + 1 < static_cast<step_t>(d.offset.size())) {
                const auto k = static_cast<std::size_t>(t);
                for (std::uint32_t e = d.offset[k]; e < d.offset[k + 1]; ++e) {
                    const std::uint32_t slot = d.event_slot[e];
                    if (stamp[slot] != now) {
                        stamp[slot] = now;
                        touched_slots_.push_back(slot);
                    }
                }
            }
        }
    }
    std::sort(touched_slots_.begin(), touched_slots_.end());
}

void partition::advance_lazy_block(step_t now, block_slot& b, std::span<const double> in) {
    // Slots are sorted, so the block's are one run, and a neuron's ports are adjacent.
    const auto lo = std::lower_bound(touched_slots_.begin(), touched_slots_.end(),
                                     static_cast<std::uint32_t>(b.input_offset));
    const auto end = static_cast<std::uint32_t>(b.input_offset + b.count * b.n_ports);
    touched_local_.clear();
    for (auto it = lo; it != touched_slots_.end() && *it < end; ++it) {
        const auto local = static_cast<std::uint32_t>((*it - b.input_offset) / b.n_ports);
        if (touched_local_.empty() || touched_local_.back() != local) {
            touched_local_.push_back(local);
        }
    }
    spiked_.clear();
    b.block->advance_touched(now, touched_local_, in, spiked_);
    for (std::uint32_t local: spiked_) {
        spikes_.push_back(spike_event{now, b.first_gid + local});
    }
}

void partition::sample(step_t now, std::vector<frame_buffer>& frames) {
    bool caught_up = false;
    for (auto& r: reports) {
        if (now < r.start || now >= r.stop || (now - r.start) % r.interval != 0) {
            continue;
        }
        if (any_lazy_ && !caught_up) {
            catch_up(now);
            caught_up = true;
        }
        const auto frame = static_cast<std::size_t>((now - r.start) / r.interval);
        auto& buf = frames[r.report];
        float* row = buf.data.data() + (frame - buf.first) * r.width;
        for (auto& piece: r.pieces) {
            blocks[piece.block].block->sample(r.variable, piece.local, piece.scratch);
            for (std::size_t k = 0; k < piece.column.size(); ++k) {
                row[piece.column[k]] = piece.scratch[k];
            }
        }
    }
}

void partition::apply_heap_events(step_t now) {
    if (!heap.due(now)) {
        return;
    }
    while (heap.due(now)) {
        const heap_event e = heap.pop();
        currents[e.device].amplitude = e.amplitude;
    }
    // Recompute the sum from scratch, in device order: adding and subtracting amplitudes
    // would let rounding drift accumulate over a long run.
    std::fill(base_current_.begin(), base_current_.end(), 0.0);
    for (const auto& d: currents) {
        for (std::uint32_t i: d.neurons) {
            base_current_[i] += d.amplitude;
        }
    }
}

std::size_t partition::deliver(step_t now) {
    const auto& bucket = queue.bucket(now);
    const std::uint32_t* seg_begin = synapses->segment_begin.data();
    const std::uint32_t* target = synapses->target.data();
    const float* weight = synapses->weight.data();
    double* in = input_.data();
    std::uint64_t events = 0;
    const std::size_t n_entries = bucket.size();
    for (std::size_t e = 0; e < n_entries; ++e) {
        const std::uint32_t k = bucket[e];
        if (k >= n_static_segments_) {  // a plastic segment: its rule updates and delivers
            std::size_t b = 0;
            while (k >= plastic_offset[b + 1]) {
                ++b;
            }
            events += plastic[b]->deliver(k - plastic_offset[b], now, input_);
            continue;
        }
        // Segments are read once per spike from memory far larger than the caches: start
        // fetching a later one while this one is summed.
        if (e + 4 < n_entries && bucket[e + 4] < n_static_segments_) {
            const std::uint32_t ahead = seg_begin[bucket[e + 4]];
            __builtin_prefetch(target + ahead);
            __builtin_prefetch(weight + ahead);
            __builtin_prefetch(target + ahead + 16);
            __builtin_prefetch(weight + ahead + 16);
        }
        const std::uint32_t b = seg_begin[k];
        const std::uint32_t end = seg_begin[k + 1];
        for (std::uint32_t s = b; s < end; ++s) {
            in[target[s]] += static_cast<double>(weight[s]);
        }
        events += end - b;
    }
    events_ += events;
    return events;
}

void dataset_device::draw(std::span<const float> p, step_t now, step_t steps,
                          std::uint64_t trial_key) {
    first = now;
    scratch.clear();
    const step_t lo = std::max<step_t>(0, start);
    const step_t hi = std::min<step_t>(steps, stop);
    for (std::size_t j = 0; j < slots.size(); ++j) {
        trial_events(key, values[j], p[values[j]], lo, hi, trial_key, [&](step_t t) {
            scratch.emplace_back(static_cast<std::uint32_t>(t), slots[j]);
        });
    }
    offset.assign(static_cast<std::size_t>(steps) + 1, 0);
    for (const auto& e: scratch) {
        ++offset[e.first + 1];
    }
    for (std::size_t t = 0; t < static_cast<std::size_t>(steps); ++t) {
        offset[t + 1] += offset[t];
    }
    event_slot.resize(scratch.size());
    std::vector<std::uint32_t> fill(offset.begin(), offset.end() - 1);
    for (const auto& e: scratch) {
        event_slot[fill[e.first]++] = e.second;
    }
}

std::size_t partition::apply_devices(step_t now) {
    std::size_t writes = 0;
    poisson_written_ = false;
    dataset_written_ = false;
    for (auto& d: dataset) {
        const step_t t = now - d.first;
        if (t < 0 || t + 1 >= static_cast<step_t>(d.offset.size())) {
            continue;
        }
        const auto k = static_cast<std::size_t>(t);
        double* in = input_.data();
        for (std::uint32_t e = d.offset[k]; e < d.offset[k + 1]; ++e) {
            in[d.event_slot[e]] += d.weight;
        }
        writes += d.offset[k + 1] - d.offset[k];
        dataset_written_ = dataset_written_ || d.offset[k + 1] > d.offset[k];
    }
    for (auto& d: poisson) {
        if (now < d.start || now >= d.stop) {
            continue;
        }
        poisson_written_ = true;
        writes += d.slots.size();
        const std::size_t n = d.slots.size();
        double* in = input_.data();
        if (!d.counts.tabulated()) {  // a large mean per step: rare, not worth a table
            for (std::size_t k = 0; k < n; ++k) {
                rng_stream rng(d.key, d.gids[k], static_cast<std::uint64_t>(now));
                in[d.slots[k]] += static_cast<double>(rng.poisson(d.counts.lambda())) * d.weight;
            }
            continue;
        }
        const step_t pair = now >> 1;
        if ((now & 1) == 1 && d.cached_pair == pair) {
            for (std::size_t k = 0; k < n; ++k) {
                in[d.slots[k]] += static_cast<double>(d.counts(d.next_u[k])) * d.weight;
            }
            continue;
        }
        const bool odd = (now & 1) == 1;
        for (std::size_t k = 0; k < n; ++k) {
            const auto b = philox_block(d.key, d.gids[k], static_cast<std::uint64_t>(pair));
            const double u_even = uniform53(b.v[0], b.v[1]);
            const double u_odd = uniform53(b.v[2], b.v[3]);
            d.next_u[k] = u_odd;
            in[d.slots[k]] += static_cast<double>(d.counts(odd ? u_odd : u_even)) * d.weight;
        }
        d.cached_pair = pair;
    }
    if (!noise.empty() || !sic.empty()) {
        std::copy(base_current_.begin(), base_current_.end(), current_.begin());
        for (const auto& d: noise) {
            if (now < d.start || now >= d.stop) {
                continue;
            }
            for (std::size_t k = 0; k < d.neurons.size(); ++k) {
                rng_stream rng(d.key, d.gids[k], static_cast<std::uint64_t>(now));
                current_[d.neurons[k]] += d.mean + d.std * rng.normal();
            }
        }
        if (!sic.empty()) {
            apply_sic(now);
        }
    }
    return writes;
}

void partition::apply_sic(step_t now) {
    const std::uint32_t* column = sic.column.data();
    const std::uint32_t* neuron = sic.neuron.data();
    const double* weight = sic.weight.data();
    double* cur = current_.data();
    for (std::size_t k = 0; k < sic.segment_delay.size(); ++k) {
        const step_t n = now - static_cast<step_t>(sic.segment_delay[k]);
        if (n <= 0) {
            continue;  // no graded output exists before the first step
        }
        const double* row = graded->row(n);
        for (std::uint32_t c = sic.segment_begin[k]; c < sic.segment_begin[k + 1]; ++c) {
            cur[neuron[c]] += weight[c] * row[column[c]];
        }
    }
}

void partition::route(std::span<const spike_event> all) { route_spikes<false>(all, 0); }

void partition::route_pending(std::span<const spike_event> spikes, step_t now) {
    route_spikes<true>(spikes, now);
}

// Static segments first, then each plastic block's: the order of entries in a bucket, which
// fixes the order of the sums, depends on it (a resume must repeat it: route_pending).
template <bool Pending>
void partition::route_spikes(std::span<const spike_event> all, step_t now) {
    const std::uint32_t* row = synapses->row_segment.data();
    const std::uint32_t* delay = synapses->segment_delay.data();
    for (const spike_event& s: all) {
        const std::uint32_t b = row[s.gid];
        const std::uint32_t e = row[s.gid + 1];
        for (std::uint32_t k = b; k < e; ++k) {
            if (!Pending || s.step + delay[k] >= now) {
                queue.push(s.step + delay[k], k);
            }
        }
    }
    for (std::size_t pb = 0; pb < plastic.size(); ++pb) {
        const auto& syn = plastic[pb]->synapses();
        const std::uint32_t offset = plastic_offset[pb];
        for (const spike_event& s: all) {
            for (std::uint32_t k = syn.row_segment[s.gid]; k < syn.row_segment[s.gid + 1]; ++k) {
                if (!Pending || s.step + syn.segment_delay[k] >= now) {
                    queue.push(s.step + syn.segment_delay[k], offset + k);
                }
            }
        }
    }
}

void partition::queued_spikes(step_t now, std::vector<spike_event>& out) const {
    // The source of segment k: the last row whose first segment is <= k.
    auto source_of = [](const std::vector<std::uint32_t>& row_segment, std::uint32_t k) {
        const auto it = std::upper_bound(row_segment.begin(), row_segment.end(), k);
        return static_cast<neuron_id>(it - row_segment.begin() - 1);
    };
    const auto n = static_cast<step_t>(queue.n_buckets());
    for (step_t due = now; due < now + n; ++due) {
        for (const std::uint32_t k: queue.bucket(due)) {
            if (k < n_static_segments_) {
                out.push_back(spike_event{due - static_cast<step_t>(synapses->segment_delay[k]),
                                          source_of(synapses->row_segment, k)});
                continue;
            }
            std::size_t b = 0;
            while (k >= plastic_offset[b + 1]) {
                ++b;
            }
            const auto& syn = plastic[b]->synapses();
            const std::uint32_t seg = k - plastic_offset[b];
            out.push_back(spike_event{due - static_cast<step_t>(syn.segment_delay[seg]),
                                      source_of(syn.row_segment, seg)});
        }
    }
}

void partition::resume_at(step_t now) {
    if (now > 0) {
        apply_heap_events(now - 1);  // every event of steps [0, now), in their order
    }
    for (std::size_t b = 0; b < plastic.size(); ++b) {
        // The first multiple of the interval at or after `now` (never step 0): the steps
        // before `now` have had their sweeps.
        const step_t interval = plastic[b]->sweep_interval();
        next_sweep_[b] = std::max(interval, (now + interval - 1) / interval * interval);
    }
}

double partition::value(neuron_id gid, const std::string& variable) const {
    for (const auto& b: blocks) {
        if (gid >= b.first_gid && gid < b.first_gid + b.count) {
            if (b.homeostasis && variable.rfind("homeostasis.", 0) == 0) {
                const std::size_t i = gid - b.first_gid;
                const std::string what = variable.substr(12);
                if (what == "g_E") {
                    return b.homeostasis->g_E[i];
                }
                if (what == "g_I") {
                    return b.homeostasis->g_I[i];
                }
                if (what == "rate") {
                    return b.homeostasis->rate[i];
                }
                if (what == "target_rate") {
                    return b.homeostasis->target[i];
                }
                throw error(fmt::format("no homeostasis variable '{}' (g_E, g_I, rate, "
                                        "target_rate)",
                                        what));
            }
            const std::size_t v = b.info->variable_index(variable);
            if (v == model_info::npos) {
                throw error(fmt::format("model {} has no variable '{}'", b.info->name, variable));
            }
            return b.block->value(v, gid - b.first_gid);
        }
    }
    throw internal_error(fmt::format("neuron {} is not in this partition", gid));
}

std::unique_ptr<partition> partition::clone(
    graded_buffer* graded_copy, std::span<const modulator_history* const> modulators) const {
    auto c = std::make_unique<partition>();
    c->first_gid = first_gid;
    c->end_gid = end_gid;
    c->blocks.reserve(blocks.size());
    for (const auto& b: blocks) {
        block_slot s;
        s.population = b.population;
        s.first_in_population = b.first_in_population;
        s.count = b.count;
        s.first_gid = b.first_gid;
        s.n_ports = b.n_ports;
        s.input_offset = b.input_offset;
        s.neuron_offset = b.neuron_offset;
        s.has_current = b.has_current;
        s.lazy = b.lazy;
        s.split_port = b.split_port;
        s.graded_column = b.graded_column;
        if (b.homeostasis) {
            s.homeostasis = std::make_unique<homeostasis_state>(*b.homeostasis);
        }
        s.info = b.info;
        s.block = b.block->clone();
        c->blocks.push_back(std::move(s));
    }
    c->synapses = synapses;
    c->queue = queue;
    c->heap = heap;
    c->poisson = poisson;
    c->noise = noise;
    c->dataset = dataset;
    c->currents = currents;
    c->reports = reports;
    c->history = history;
    for (std::size_t k = 0; k < plastic.size(); ++k) {
        const std::ptrdiff_t m = plastic_modulator[k];
        c->plastic.push_back(plastic[k]->clone(
            &c->history, m >= 0 ? modulators[static_cast<std::size_t>(m)] : nullptr));
    }
    c->plastic_projection = plastic_projection;
    c->plastic_targets = plastic_targets;
    c->plastic_modulator = plastic_modulator;
    c->plastic_offset = plastic_offset;
    c->sic = sic;
    c->graded = graded_copy;
    c->input_ = input_;
    c->input_next_ = input_next_;
    c->base_current_ = base_current_;
    c->current_ = current_;
    c->any_current_ = any_current_;
    c->spikes_ = spikes_;
    c->poisson_written_ = poisson_written_;
    c->eager_ = eager_;
    c->any_lazy_ = any_lazy_;
    c->next_sweep_ = next_sweep_;
    c->history_horizon_ = history_horizon_;
    c->n_static_segments_ = n_static_segments_;
    c->slot_stamp_ = slot_stamp_;
    c->events_ = events_;
    return c;
}

void partition::begin_trial(step_t now, const partition& built, std::uint64_t trial_key) {
    queue.clear();
    spikes_.clear();
    step_spiked_.clear();
    std::fill(input_.begin(), input_.end(), 0.0);
    std::fill(input_next_.begin(), input_next_.end(), 0.0);
    if (any_lazy_) {
        std::fill(slot_stamp_.begin(), slot_stamp_.end(), -1);
    }
    // Devices as built, their draws keyed by the trial as well, the heap replayed to `now`.
    const std::uint64_t salt = mix64(trial_key ^ 0x7472696131ULL);
    for (std::size_t k = 0; k < poisson.size(); ++k) {
        poisson[k].key = mix64(built.poisson[k].key ^ salt);
        poisson[k].cached_pair = -1;
    }
    for (std::size_t k = 0; k < noise.size(); ++k) {
        noise[k].key = mix64(built.noise[k].key ^ salt);
    }
    for (auto& d: dataset) {
        d.clear();
    }
    heap = built.heap;
    currents = built.currents;
    base_current_ = built.base_current_;
    current_ = built.current_;
    if (now > 0) {
        apply_heap_events(now - 1);
    }
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        if (built.blocks[b].homeostasis) {
            *blocks[b].homeostasis = *built.blocks[b].homeostasis;
        }
    }
    for (std::size_t b = 0; b < plastic.size(); ++b) {
        const step_t interval = plastic[b]->sweep_interval();
        next_sweep_[b] = (now / interval + 1) * interval;
        plastic[b]->begin_trial(now);
    }
    events_ = 0;
}

void partition::carried_input(std::vector<neuron_id>& gid, std::vector<std::uint32_t>& port,
                              std::vector<double>& value) const {
    for (const auto& b: blocks) {
        for (std::size_t k = 0; k < b.count * b.n_ports; ++k) {
            const double v = input_[b.input_offset + k];
            if (v != 0.0) {
                gid.push_back(b.first_gid + static_cast<neuron_id>(k / b.n_ports));
                port.push_back(static_cast<std::uint32_t>(k % b.n_ports));
                value.push_back(v);
            }
        }
    }
}

void partition::carry_input(neuron_id gid, std::uint32_t port, double value) {
    for (const auto& b: blocks) {
        if (gid >= b.first_gid && gid < b.first_gid + b.count && port < b.n_ports) {
            input_[b.input_offset + (gid - b.first_gid) * b.n_ports + port] += value;
            return;
        }
    }
    throw error(fmt::format("checkpoint: input carried to neuron {}, port {}, which this network "
                            "does not have",
                            gid, port));
}

}  // namespace glia
