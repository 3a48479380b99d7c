// simulation::save_state / load_state: the engine's dynamic state between two steps, in a form
// that does not depend on the thread or partition count (docs/architecture.md, "Checkpoint
// and resume"; the byte layout: docs/output_format.md, "Checkpoints").
//
// What is saved, and how it is keyed so that another partitioning can read it:
//   - neuron state: each model's columns (neuron_block::save_state), per population in
//     global id order; homeostasis gains and rates likewise;
//   - spikes in flight: the (step, source) of every spike with deliveries still queued,
//     recovered from the calendar queues, with the first steps of the epochs they were routed
//     in: a resume routes them again, epoch by epoch, keeping only deliveries due at or after
//     the checkpoint, which restores every queue with its entries in the same order;
//   - plasticity: per delay segment keyed by (source, delay) (every partition holding the
//     segment has the same values: they depend on the presynaptic train only), per synapse in
//     the canonical (source, target, delay) order of simulation::weights(), per block once;
//   - the post-synaptic spike histories by global id, modulator histories, the graded buffer
//     (one column per graded neuron: already global), spike counts, synaptic events, the
//     next weight snapshot of each recorder and the epoch ring.
// Not saved, because the same experiment rebuilds it bit for bit or it is a function of the
// step: synapses and devices, Poisson and noise draws (keyed by step), the event heap of
// current devices (replayed: partition::resume_at), sweep schedules, the homeostasis update
// schedule, caches.

#include <glia/simulation.hpp>

#include <algorithm>
#include <cstring>
#include <istream>
#include <ostream>
#include <string>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "core/checkpoint_codec.hpp"
#include "core/simulation_state.hpp"

namespace glia {
namespace {

constexpr std::string_view body_magic = "glia checkpoint body";
constexpr std::uint64_t body_version = 2;

using column = state_columns::column;

std::uint64_t kind_code(state_columns::type t) { return static_cast<std::uint64_t>(t); }

state_columns::type kind_of(std::uint64_t code, const std::string& where) {
    if (code < 1 || code > 3) {
        throw error(fmt::format("checkpoint: column {} has unknown type {}", where, code));
    }
    return static_cast<state_columns::type>(code);
}

void write_columns(ckpt::writer& w, const std::vector<column>& cols) {
    w.u64(cols.size());
    for (const auto& c: cols) {
        w.str(c.name);
        w.u64(kind_code(c.kind));
        w.array(std::span<const std::byte>(c.bytes));
    }
}

std::vector<column> read_columns(ckpt::reader& r, const std::string& where) {
    std::vector<column> cols(r.u64());
    for (auto& c: cols) {
        c.name = r.str();
        c.kind = kind_of(r.u64(), where + "." + c.name);
        c.bytes = r.array<std::byte>();
        if (c.bytes.size() % state_columns::width(c.kind) != 0) {
            throw error(fmt::format("checkpoint: column {}.{} has {} bytes, not whole values",
                                    where, c.name, c.bytes.size()));
        }
    }
    return cols;
}

// Appends the columns of one block to those of its population (the first block sets them).
void append_columns(std::vector<column>& all, const state_columns& part, const std::string& where) {
    if (all.empty()) {
        all = part.columns();
        return;
    }
    if (part.columns().size() != all.size()) {
        throw internal_error(fmt::format("{}: blocks save different columns", where));
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
        const column& c = part.columns()[i];
        if (c.name != all[i].name || c.kind != all[i].kind) {
            throw internal_error(fmt::format("{}: blocks save different columns ('{}' and '{}')",
                                             where, all[i].name, c.name));
        }
        all[i].bytes.insert(all[i].bytes.end(), c.bytes.begin(), c.bytes.end());
    }
}

// Values [first, first + count) of every column.
state_columns slice(const std::vector<column>& cols, std::size_t first, std::size_t count) {
    state_columns out;
    for (const auto& c: cols) {
        const std::size_t w = state_columns::width(c.kind);
        column part{c.name, c.kind, {}};
        part.bytes.assign(c.bytes.begin() + static_cast<std::ptrdiff_t>(first * w),
                          c.bytes.begin() + static_cast<std::ptrdiff_t>((first + count) * w));
        out.columns().push_back(std::move(part));
    }
    return out;
}

void check_sizes(const std::vector<column>& cols, std::size_t n, const std::string& where) {
    for (const auto& c: cols) {
        if (c.size() != n) {
            throw error(fmt::format("checkpoint: {}: column '{}' has {} values, expected {}",
                                    where, c.name, c.size(), n));
        }
    }
}

// ---- Plastic projections: canonical synapse order and segment keys. ----

struct synapse_ref {
    neuron_id source = 0;
    neuron_id target = 0;
    std::uint32_t delay = 0;
    std::uint32_t block = 0;  // index into the projection's block list
    std::uint32_t index = 0;  // synapse index inside the block
};

struct block_ref {
    partition* part = nullptr;
    plastic_block* block = nullptr;
    std::size_t targets = 0;  // neurons of its target block (per-target state)
};

std::vector<block_ref> blocks_of(const network& net, std::size_t projection) {
    std::vector<block_ref> out;
    for (const auto& p: net.partitions) {
        for (std::size_t b = 0; b < p->plastic.size(); ++b) {
            if (p->plastic_projection[b] == projection) {
                out.push_back(block_ref{p.get(), p->plastic[b].get(), p->plastic_targets[b].count});
            }
        }
    }
    return out;
}

// The synapses of a projection in the order of simulation::weights(): by (source, target,
// delay), multapses in their canonical order (a stable sort of partitions in gid order).
std::vector<synapse_ref> canonical_synapses(const std::vector<block_ref>& blocks) {
    std::vector<synapse_ref> out;
    for (std::size_t b = 0; b < blocks.size(); ++b) {
        const auto& syn = blocks[b].block->synapses();
        for (std::size_t src = 0; src + 1 < syn.row_segment.size(); ++src) {
            for (auto k = syn.row_segment[src]; k < syn.row_segment[src + 1]; ++k) {
                for (auto s = syn.segment_begin[k]; s < syn.segment_begin[k + 1]; ++s) {
                    out.push_back(synapse_ref{static_cast<neuron_id>(src), syn.target_gid[s],
                                              syn.segment_delay[k], static_cast<std::uint32_t>(b),
                                              s});
                }
            }
        }
    }
    std::stable_sort(out.begin(), out.end(), [](const synapse_ref& a, const synapse_ref& b) {
        return a.source != b.source ? a.source < b.source
               : a.target != b.target ? a.target < b.target
                                      : a.delay < b.delay;
    });
    return out;
}

std::uint64_t hash_synapses(const std::vector<synapse_ref>& syn) {
    std::uint64_t h = mix64(syn.size());
    for (const auto& s: syn) {
        h = mix64(h ^ s.source);
        h = mix64(h ^ s.target);
        h = mix64(h ^ s.delay);
    }
    return h;
}

struct segment_key {
    neuron_id source = 0;
    std::uint32_t delay = 0;
    friend auto operator<=>(const segment_key&, const segment_key&) = default;
};

// The (source, delay) of every segment of a block, in segment order.
std::vector<segment_key> segment_keys(const plastic_synapses& syn) {
    std::vector<segment_key> keys(syn.segment_delay.size());
    for (std::size_t src = 0; src + 1 < syn.row_segment.size(); ++src) {
        for (auto k = syn.row_segment[src]; k < syn.row_segment[src + 1]; ++k) {
            keys[k] = segment_key{static_cast<neuron_id>(src), syn.segment_delay[k]};
        }
    }
    return keys;
}

std::string describe(const population_rt& p) {
    return fmt::format("'{}' ({}, {} neurons)", p.name, p.model->info.name, p.size);
}

}  // namespace

void simulation::save_state(std::ostream& out) const {
    const auto& st = *impl_;
    const auto& net = st.net;
    if (st.in_run) {
        throw internal_error("simulation::save_state during run()");
    }
    if (st.read_since_stop) {
        throw internal_error("simulation::save_state after value() or weights() brought the "
                             "interrupted run's state up to date: save first");
    }
    if (!st.merged_routed) {
        throw internal_error("simulation::save_state with spikes not yet routed");
    }
    const step_t now = st.now;
    ckpt::writer w(out);

    // What it belongs to: checked on load, with the config hash the file header holds.
    w.tag(body_magic);
    w.u64(body_version);
    w.f64(net.dt);
    w.i64(net.n_steps);
    w.u64(net.seed);
    w.u64(net.n_neurons);
    w.u64(net.n_synapses);
    w.i64(st.epoch);
    w.u64(net.populations.size());
    for (const auto& p: net.populations) {
        w.str(p.name);
        w.str(p.model->info.name);
        w.u64(p.size);
    }
    w.u64(net.projections.size());
    for (const auto& pr: net.projections) {
        w.str(pr.name);
        w.str(pr.rule);
    }

    w.tag("clock");
    w.i64(now);
    const std::vector<step_t> epochs = st.recent_epochs();
    w.array(std::span<const step_t>(epochs));
    w.array(std::span<const std::uint64_t>(st.spike_counts));
    std::uint64_t events = 0;
    for (const auto& p: net.partitions) {
        events += p->synaptic_events();
    }
    w.u64(events);
    const std::vector<std::uint64_t> snapshots(st.weight_snapshot.begin(),
                                               st.weight_snapshot.end());
    w.array(std::span<const std::uint64_t>(snapshots));

    // Spikes with deliveries still queued, each with the epoch it was routed in.
    w.tag("in_flight");
    std::vector<spike_event> flying;
    for (const auto& p: net.partitions) {
        p->queued_spikes(now, flying);
    }
    std::sort(flying.begin(), flying.end(), [](const spike_event& a, const spike_event& b) {
        return a.step != b.step ? a.step < b.step : a.gid < b.gid;
    });
    flying.erase(std::unique(flying.begin(), flying.end()), flying.end());
    if (!flying.empty() && (epochs.empty() || flying.front().step < epochs.front())) {
        throw internal_error(fmt::format("save_state: a spike of step {} is in flight, but the "
                                         "epoch ring starts at step {}",
                                         flying.front().step,
                                         epochs.empty() ? step_t{-1} : epochs.front()));
    }
    std::vector<step_t> steps;
    std::vector<neuron_id> gids;
    for (const auto& s: flying) {
        steps.push_back(s.step);
        gids.push_back(s.gid);
    }
    w.array(std::span<const step_t>(steps));
    w.array(std::span<const neuron_id>(gids));

    // Neuron and homeostasis state, per population in global id order (partitions hold
    // contiguous ids, at most one block of a population each).
    w.tag("neurons");
    for (std::size_t pi = 0; pi < net.populations.size(); ++pi) {
        const auto& pop = net.populations[pi];
        const std::string where = "population " + describe(pop);
        std::vector<column> cols;
        std::vector<column> homeo;
        bool has_homeostasis = false;
        for (const auto& p: net.partitions) {
            for (const auto& b: p->blocks) {
                if (b.population != pi) {
                    continue;
                }
                state_columns part;
                b.block->save_state(now, part);
                append_columns(cols, part, where);
                if (b.homeostasis) {
                    has_homeostasis = true;
                    state_columns h;
                    h.put("rate", b.homeostasis->rate);
                    h.put("g_E", b.homeostasis->g_E);
                    h.put("g_I", b.homeostasis->g_I);
                    append_columns(homeo, h, where + " homeostasis");
                }
            }
        }
        check_sizes(cols, pop.size, where);
        w.str(pop.name);
        write_columns(w, cols);
        w.u64(has_homeostasis ? 1 : 0);
        if (has_homeostasis) {
            write_columns(w, homeo);
        }
    }

    w.tag("graded");
    w.u64(net.graded ? 1 : 0);
    if (net.graded) {
        w.i64(net.graded->rows);
        w.u64(net.graded->width);
        w.array(std::span<const double>(net.graded->values));
    }

    w.tag("modulators");
    w.u64(net.modulators.size());
    for (const auto& m: net.modulators) {
        w.str(m.name);
        state_columns cols;
        m.block->save_state(cols);
        write_columns(w, cols.columns());
    }

    // Input eager plastic blocks sent for the next step (NALSM's kernel corrections).
    w.tag("carried_input");
    {
        std::vector<neuron_id> gid;
        std::vector<std::uint32_t> port;
        std::vector<double> value;
        for (const auto& p: net.partitions) {
            p->carried_input(gid, port, value);
        }
        w.array(std::span<const neuron_id>(gid));
        w.array(std::span<const std::uint32_t>(port));
        w.array(std::span<const double>(value));
    }

    w.tag("post_history");
    {
        std::vector<neuron_id> who;
        std::vector<std::uint64_t> count;
        std::vector<step_t> when;
        for (const auto& p: net.partitions) {
            for (std::uint32_t n = 0; n < p->history.size(); ++n) {
                const auto s = p->history.spikes(n);
                if (!s.empty()) {
                    who.push_back(p->first_gid + n);
                    count.push_back(s.size());
                    when.insert(when.end(), s.begin(), s.end());
                }
            }
        }
        w.array(std::span<const neuron_id>(who));
        w.array(std::span<const std::uint64_t>(count));
        w.array(std::span<const step_t>(when));
    }

    w.tag("plastic");
    for (std::size_t pj = 0; pj < net.projections.size(); ++pj) {
        const auto& info = net.projections[pj];
        if (info.rule == "static" || info.rule == "sic") {
            continue;
        }
        const std::string where = "projection '" + info.name + "' (" + info.rule + ")";
        const auto blocks = blocks_of(net, pj);
        std::vector<state_columns> seg(blocks.size()), syn(blocks.size()), blk(blocks.size()),
            tgt(blocks.size());
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            blocks[b].block->save_state(seg[b], syn[b], blk[b], tgt[b]);
        }
        w.str(info.name);
        const auto order = canonical_synapses(blocks);
        w.u64(order.size());
        w.u64(hash_synapses(order));

        // Segments: one entry per (source, delay); partitions holding the same one agree.
        struct seg_ref {
            segment_key key;
            std::uint32_t block;
            std::uint32_t index;
        };
        std::vector<seg_ref> refs;
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            const auto keys = segment_keys(blocks[b].block->synapses());
            check_sizes(seg[b].columns(), keys.size(), where + " segments");
            for (std::size_t k = 0; k < keys.size(); ++k) {
                refs.push_back(
                    seg_ref{keys[k], static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(k)});
            }
        }
        std::stable_sort(refs.begin(), refs.end(),
                         [](const seg_ref& a, const seg_ref& b) { return a.key < b.key; });
        std::vector<column> seg_cols = blocks.empty() ? std::vector<column>{}
                                                      : seg[0].columns();
        for (auto& c: seg_cols) {
            c.bytes.clear();
        }
        std::vector<neuron_id> key_source;
        std::vector<std::uint32_t> key_delay;
        for (std::size_t i = 0; i < refs.size(); ++i) {
            const seg_ref& r = refs[i];
            const bool repeat = i > 0 && refs[i - 1].key == r.key;
            for (std::size_t c = 0; c < seg_cols.size(); ++c) {
                const column& src = seg[r.block].columns().at(c);
                const std::size_t width = state_columns::width(src.kind);
                const std::byte* value = src.bytes.data() + r.index * width;
                if (repeat) {
                    const seg_ref& first = refs[i - 1];
                    const std::byte* other =
                        seg[first.block].columns().at(c).bytes.data() + first.index * width;
                    if (std::memcmp(value, other, width) != 0) {
                        throw internal_error(fmt::format(
                            "save_state: {}: segment (source {}, delay {}) has different '{}' in "
                            "two partitions",
                            where, r.key.source, r.key.delay, src.name));
                    }
                    continue;
                }
                seg_cols[c].bytes.insert(seg_cols[c].bytes.end(), value, value + width);
            }
            if (!repeat) {
                key_source.push_back(r.key.source);
                key_delay.push_back(r.key.delay);
            }
        }
        w.array(std::span<const neuron_id>(key_source));
        w.array(std::span<const std::uint32_t>(key_delay));
        write_columns(w, seg_cols);

        // Synapses, in canonical order.
        std::vector<column> syn_cols = blocks.empty() ? std::vector<column>{} : syn[0].columns();
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            check_sizes(syn[b].columns(), blocks[b].block->synapses().slot.size(),
                        where + " synapses");
        }
        for (std::size_t c = 0; c < syn_cols.size(); ++c) {
            const std::size_t width = state_columns::width(syn_cols[c].kind);
            syn_cols[c].bytes.resize(order.size() * width);
            std::byte* dst = syn_cols[c].bytes.data();
            for (std::size_t i = 0; i < order.size(); ++i) {
                const column& src = syn[order[i].block].columns().at(c);
                std::memcpy(dst + i * width, src.bytes.data() + order[i].index * width, width);
            }
        }
        write_columns(w, syn_cols);

        // Per block: the same in every partition.
        for (std::size_t b = 1; b < blocks.size(); ++b) {
            const auto& x = blk[0].columns();
            const auto& y = blk[b].columns();
            bool same = x.size() == y.size();
            for (std::size_t c = 0; same && c < x.size(); ++c) {
                same = x[c].name == y[c].name && x[c].bytes == y[c].bytes;
            }
            if (!same) {
                throw internal_error(
                    fmt::format("save_state: {}: blocks of two partitions differ", where));
            }
        }
        write_columns(w, blocks.empty() ? std::vector<column>{} : blk[0].columns());

        // Per target: the blocks' columns concatenated in partition order, i.e. by global id
        // of the target population's neurons (every partition holding targets has a block).
        std::vector<column> tgt_cols = blocks.empty() ? std::vector<column>{} : tgt[0].columns();
        for (auto& c: tgt_cols) {
            c.bytes.clear();
        }
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            check_sizes(tgt[b].columns(), blocks[b].targets, where + " targets");
            for (std::size_t c = 0; c < tgt_cols.size(); ++c) {
                const auto& src = tgt[b].columns().at(c).bytes;
                tgt_cols[c].bytes.insert(tgt_cols[c].bytes.end(), src.begin(), src.end());
            }
        }
        write_columns(w, tgt_cols);
    }
    w.tag("end");
    out.flush();
}

void simulation::load_state(std::istream& in) {
    auto& st = *impl_;
    auto& net = st.net;
    if (st.now != 0 || st.epochs_seen != 0 || st.in_run) {
        throw internal_error("simulation::load_state on a simulation that has run");
    }
    ckpt::reader r(in);
    auto mismatch = [](const std::string& what, const std::string& there,
                       const std::string& here) {
        return error(fmt::format("the checkpoint is of another network: {} is {} there, {} here",
                                 what, there, here));
    };

    r.expect(body_magic);
    const std::uint64_t version = r.u64();
    if (version != body_version) {
        throw error(fmt::format("checkpoint body version {} (this glia reads version {})",
                                version, body_version));
    }
    const double dt = r.f64();
    const step_t n_steps = r.i64();
    const std::uint64_t seed = r.u64();
    const std::uint64_t n_neurons = r.u64();
    const std::uint64_t n_synapses = r.u64();
    const step_t epoch = r.i64();
    if (dt != net.dt) {
        throw mismatch("dt", fmt::format("{} ms", dt), fmt::format("{} ms", net.dt));
    }
    if (n_steps != net.n_steps) {
        throw mismatch("the number of steps", std::to_string(n_steps),
                       std::to_string(net.n_steps));
    }
    if (seed != net.seed) {
        throw mismatch("the seed", std::to_string(seed), std::to_string(net.seed));
    }
    if (n_neurons != net.n_neurons || n_synapses != net.n_synapses) {
        throw mismatch("the size", fmt::format("{} neurons, {} synapses", n_neurons, n_synapses),
                       fmt::format("{} neurons, {} synapses", net.n_neurons, net.n_synapses));
    }
    if (epoch != st.epoch) {
        throw mismatch("the epoch", fmt::format("{} steps", epoch),
                       fmt::format("{} steps", st.epoch));
    }
    const std::uint64_t n_pops = r.u64();
    if (n_pops != net.populations.size()) {
        throw mismatch("the number of populations", std::to_string(n_pops),
                       std::to_string(net.populations.size()));
    }
    for (const auto& p: net.populations) {
        const std::string name = r.str();
        const std::string model = r.str();
        const std::uint64_t size = r.u64();
        if (name != p.name || model != p.model->info.name || size != p.size) {
            throw mismatch(fmt::format("population {}", &p - net.populations.data()),
                           fmt::format("'{}' ({}, {} neurons)", name, model, size), describe(p));
        }
    }
    const std::uint64_t n_proj = r.u64();
    if (n_proj != net.projections.size()) {
        throw mismatch("the number of projections", std::to_string(n_proj),
                       std::to_string(net.projections.size()));
    }
    for (const auto& pr: net.projections) {
        const std::string name = r.str();
        const std::string rule = r.str();
        if (name != pr.name || rule != pr.rule) {
            throw mismatch(fmt::format("projection {}", &pr - net.projections.data()),
                           fmt::format("'{}' ({})", name, rule),
                           fmt::format("'{}' ({})", pr.name, pr.rule));
        }
    }

    r.expect("clock");
    const step_t now = r.i64();
    if (now < 0 || now > net.n_steps) {
        throw error(fmt::format("checkpoint: step {} is outside the run's {} steps", now,
                                net.n_steps));
    }
    const auto epochs = r.array<step_t>();
    const auto spike_counts = r.array<std::uint64_t>();
    const std::uint64_t events = r.u64();
    const auto snapshots = r.array<std::uint64_t>();
    if (spike_counts.size() != net.populations.size() ||
        snapshots.size() != st.weight_snapshot.size()) {
        throw mismatch("the number of recorders",
                       fmt::format("{} spike counts, {} weight recorders", spike_counts.size(),
                                   snapshots.size()),
                       fmt::format("{} spike counts, {} weight recorders",
                                   net.populations.size(), st.weight_snapshot.size()));
    }
    for (std::size_t k = 0; k < snapshots.size(); ++k) {
        if (snapshots[k] > st.layout.weights[k].steps.size()) {
            throw error(fmt::format("checkpoint: weight recorder '{}' at snapshot {} of {}",
                                    st.layout.weights[k].projection, snapshots[k],
                                    st.layout.weights[k].steps.size()));
        }
    }

    r.expect("in_flight");
    const auto flying_steps = r.array<step_t>();
    const auto flying_gids = r.array<neuron_id>();
    if (flying_steps.size() != flying_gids.size()) {
        throw error("checkpoint: in-flight spikes: steps and ids differ in number");
    }
    for (std::size_t i = 0; i < flying_gids.size(); ++i) {
        if (flying_gids[i] >= net.n_neurons || flying_steps[i] >= now ||
            (i > 0 && flying_steps[i] < flying_steps[i - 1]) ||
            (epochs.empty() || flying_steps[i] < epochs.front())) {
            throw error(fmt::format("checkpoint: in-flight spike {} (step {}, neuron {}) does not "
                                    "fit this network at step {}",
                                    i, flying_steps[i], flying_gids[i], now));
        }
    }

    r.expect("neurons");
    for (std::size_t pi = 0; pi < net.populations.size(); ++pi) {
        const auto& pop = net.populations[pi];
        const std::string where = "population " + describe(pop);
        if (r.str() != pop.name) {
            throw error(fmt::format("checkpoint: the state of {} is missing", where));
        }
        const auto cols = read_columns(r, pop.name);
        check_sizes(cols, pop.size, where);
        const bool has_homeostasis = r.u64() != 0;
        std::vector<column> homeo;
        if (has_homeostasis) {
            homeo = read_columns(r, pop.name + ".homeostasis");
            check_sizes(homeo, pop.size, where + " homeostasis");
        }
        for (auto& p: net.partitions) {
            for (auto& b: p->blocks) {
                if (b.population != pi) {
                    continue;
                }
                try {
                    b.block->load_state(now, slice(cols, b.first_in_population, b.count));
                    if (static_cast<bool>(b.homeostasis) != has_homeostasis) {
                        throw error(fmt::format("homeostasis is {} there, {} here",
                                                has_homeostasis ? "on" : "off",
                                                b.homeostasis ? "on" : "off"));
                    }
                    if (b.homeostasis) {
                        auto& h = *b.homeostasis;
                        const auto part = slice(homeo, b.first_in_population, b.count);
                        part.get("rate", h.rate);
                        part.get("g_E", h.g_E);
                        part.get("g_I", h.g_I);
                        // Gains move after steps n with n + 1 a multiple of the interval.
                        h.next_update = (now / h.interval + 1) * h.interval;
                    }
                }
                catch (const error& e) {
                    throw error(fmt::format("checkpoint: {}: {}", where, e.what()));
                }
            }
        }
    }

    r.expect("graded");
    if ((r.u64() != 0) != static_cast<bool>(net.graded)) {
        throw mismatch("graded coupling", net.graded ? "absent" : "present",
                       net.graded ? "present" : "absent");
    }
    if (net.graded) {
        const step_t rows = r.i64();
        const std::uint64_t width = r.u64();
        auto values = r.array<double>();
        if (rows != net.graded->rows || width != net.graded->width ||
            values.size() != net.graded->values.size()) {
            throw mismatch("the graded buffer", fmt::format("{} x {}", rows, width),
                           fmt::format("{} x {}", net.graded->rows, net.graded->width));
        }
        net.graded->values = std::move(values);
    }

    r.expect("modulators");
    if (r.u64() != net.modulators.size()) {
        throw mismatch("the number of modulators", "different",
                       std::to_string(net.modulators.size()));
    }
    for (auto& m: net.modulators) {
        const std::string name = r.str();
        if (name != m.name) {
            throw mismatch("a modulator", "'" + name + "'", "'" + m.name + "'");
        }
        state_columns cols;
        cols.columns() = read_columns(r, name);
        try {
            m.block->load_state(cols);
        }
        catch (const error& e) {
            throw error(fmt::format("checkpoint: modulator '{}': {}", m.name, e.what()));
        }
    }

    r.expect("carried_input");
    {
        const auto gid = r.array<neuron_id>();
        const auto port = r.array<std::uint32_t>();
        const auto value = r.array<double>();
        if (gid.size() != port.size() || gid.size() != value.size()) {
            throw error("checkpoint: carried input: ids, ports and values differ in number");
        }
        for (std::size_t i = 0; i < gid.size(); ++i) {
            bool placed = false;
            for (auto& p: net.partitions) {
                if (gid[i] >= p->first_gid && gid[i] < p->end_gid) {
                    p->carry_input(gid[i], port[i], value[i]);
                    placed = true;
                }
            }
            if (!placed) {
                throw error(fmt::format("checkpoint: input carried to neuron {}, which this "
                                        "network does not have",
                                        gid[i]));
            }
        }
    }

    r.expect("post_history");
    {
        const auto who = r.array<neuron_id>();
        const auto count = r.array<std::uint64_t>();
        const auto when = r.array<step_t>();
        if (who.size() != count.size()) {
            throw error("checkpoint: spike histories: ids and counts differ in number");
        }
        std::size_t at = 0;
        std::size_t part = 0;
        for (std::size_t i = 0; i < who.size(); ++i) {
            if (who[i] >= net.n_neurons || count[i] > when.size() - at) {
                throw error(fmt::format("checkpoint: spike history of neuron {} does not fit "
                                        "this network",
                                        who[i]));
            }
            while (!(who[i] >= net.partitions[part]->first_gid &&
                     who[i] < net.partitions[part]->end_gid)) {
                part = (part + 1) % net.partitions.size();
            }
            auto& p = *net.partitions[part];
            p.history.assign(who[i] - p.first_gid,
                             std::span<const step_t>(when.data() + at,
                                                     static_cast<std::size_t>(count[i])));
            at += static_cast<std::size_t>(count[i]);
        }
    }

    r.expect("plastic");
    for (std::size_t pj = 0; pj < net.projections.size(); ++pj) {
        const auto& info = net.projections[pj];
        if (info.rule == "static" || info.rule == "sic") {
            continue;
        }
        const std::string where = "projection '" + info.name + "' (" + info.rule + ")";
        if (r.str() != info.name) {
            throw error(fmt::format("checkpoint: the state of {} is missing", where));
        }
        const auto blocks = blocks_of(net, pj);
        const auto order = canonical_synapses(blocks);
        const std::uint64_t n_syn = r.u64();
        const std::uint64_t hash = r.u64();
        if (n_syn != order.size() || hash != hash_synapses(order)) {
            throw mismatch(where, fmt::format("{} synapses", n_syn),
                           fmt::format("{} synapses{}", order.size(),
                                       n_syn == order.size() ? " (other sources, targets or "
                                                               "delays)"
                                                             : ""));
        }
        const auto key_source = r.array<neuron_id>();
        const auto key_delay = r.array<std::uint32_t>();
        if (key_source.size() != key_delay.size()) {
            throw error(fmt::format("checkpoint: {}: segment keys differ in number", where));
        }
        std::vector<segment_key> keys(key_source.size());
        for (std::size_t i = 0; i < keys.size(); ++i) {
            keys[i] = segment_key{key_source[i], key_delay[i]};
            if (i > 0 && !(keys[i - 1] < keys[i])) {
                throw error(fmt::format("checkpoint: {}: segment keys out of order", where));
            }
        }
        const auto seg_cols = read_columns(r, info.name + ".segments");
        check_sizes(seg_cols, keys.size(), where + " segments");
        const auto syn_cols = read_columns(r, info.name + ".synapses");
        check_sizes(syn_cols, order.size(), where + " synapses");
        const auto blk_cols = read_columns(r, info.name + ".block");
        const auto tgt_cols = read_columns(r, info.name + ".targets");
        std::size_t n_targets = 0;
        for (const auto& b: blocks) {
            n_targets += b.targets;
        }
        check_sizes(tgt_cols, n_targets, where + " targets");

        // Each block's share: its segments by key, its synapses through the canonical order.
        std::vector<state_columns> seg(blocks.size()), syn(blocks.size());
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            const auto mine = segment_keys(blocks[b].block->synapses());
            for (const auto& c: seg_cols) {
                const std::size_t width = state_columns::width(c.kind);
                column part{c.name, c.kind, std::vector<std::byte>(mine.size() * width)};
                for (std::size_t k = 0; k < mine.size(); ++k) {
                    const auto it = std::lower_bound(keys.begin(), keys.end(), mine[k]);
                    if (it == keys.end() || *it != mine[k]) {
                        throw error(fmt::format("checkpoint: {}: no state for the segment of "
                                                "source {} with delay {} steps",
                                                where, mine[k].source, mine[k].delay));
                    }
                    const auto i = static_cast<std::size_t>(it - keys.begin());
                    std::memcpy(part.bytes.data() + k * width, c.bytes.data() + i * width, width);
                }
                seg[b].columns().push_back(std::move(part));
            }
            for (const auto& c: syn_cols) {
                const std::size_t width = state_columns::width(c.kind);
                syn[b].columns().push_back(column{
                    c.name, c.kind,
                    std::vector<std::byte>(blocks[b].block->synapses().slot.size() * width)});
            }
        }
        for (std::size_t i = 0; i < order.size(); ++i) {
            auto& dst = syn[order[i].block].columns();
            for (std::size_t c = 0; c < syn_cols.size(); ++c) {
                const std::size_t width = state_columns::width(syn_cols[c].kind);
                std::memcpy(dst[c].bytes.data() + order[i].index * width,
                            syn_cols[c].bytes.data() + i * width, width);
            }
        }
        state_columns per_block;
        per_block.columns() = blk_cols;
        std::size_t first_target = 0;
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            state_columns per_target;
            for (const auto& c: tgt_cols) {
                const std::size_t width = state_columns::width(c.kind);
                const auto from = c.bytes.begin() + static_cast<std::ptrdiff_t>(first_target * width);
                per_target.columns().push_back(column{
                    c.name, c.kind,
                    std::vector<std::byte>(from, from + static_cast<std::ptrdiff_t>(
                                                            blocks[b].targets * width))});
            }
            first_target += blocks[b].targets;
            try {
                blocks[b].block->load_state(seg[b], syn[b], per_block, per_target);
            }
            catch (const error& e) {
                throw error(fmt::format("checkpoint: {}: {}", where, e.what()));
            }
        }
    }
    r.expect("end");

    // The clocks and counters, then the queues: every spike in flight routed again in the
    // epochs it was routed in (the ring restored with them), keeping the deliveries still due.
    for (auto& p: net.partitions) {
        p->resume_at(now);
        p->set_synaptic_events(0);
    }
    net.partitions.front()->set_synaptic_events(events);
    std::vector<spike_event> batch;
    std::size_t i = 0;
    for (std::size_t e = 0; e < epochs.size(); ++e) {
        const step_t end = e + 1 < epochs.size() ? epochs[e + 1] : now;
        batch.clear();
        for (; i < flying_steps.size() && flying_steps[i] < end; ++i) {
            batch.push_back(spike_event{flying_steps[i], flying_gids[i]});
        }
        if (!batch.empty()) {
            for (auto& p: net.partitions) {
                p->route_pending(batch, now);
            }
        }
    }
    const std::size_t keep = std::min(epochs.size(), st.epoch_ring.size());
    st.epochs_seen = 0;
    for (std::size_t e = epochs.size() - keep; e < epochs.size(); ++e) {
        st.note_epoch(epochs[e]);
    }
    st.now = now;
    st.spike_counts = spike_counts;
    st.weight_snapshot.assign(snapshots.begin(), snapshots.end());
    st.merged.clear();
    st.merged_routed = true;
}

}  // namespace glia
