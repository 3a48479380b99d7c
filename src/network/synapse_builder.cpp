// Synapse construction: each partition regenerates the connectivity of every projection onto
// its neurons (connectivity rules, weights and delays drawn from streams keyed by global ids)
// into compressed rows by source cut into delay segments: the static store, one plastic block
// per plastic projection, and the sic store of graded coupling.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

#include "network/builder_internal.hpp"
#include "network/values.hpp"

namespace glia::build {

namespace {

// The arrays of one compressed-row synapse structure (the static store, or one plastic
// projection's synapses) that the builder fills.
template <typename Weight>
struct csr_refs {
    std::vector<std::uint32_t>& row_segment;
    std::vector<std::uint32_t>& segment_delay;
    std::vector<std::uint32_t>& segment_begin;
    std::vector<std::uint32_t>& slot;
    std::vector<Weight>& weight;
};

// One source of spike synapses for a compressed-row store: a projection's own synapses, or
// the third_in synapses (presynaptic neuron -> astrocyte) of a tripartite projection.
struct synapse_job {
    const projection_rt* pr = nullptr;
    bool third_in = false;
};

// A sic connection while a partition's sic store is assembled.
struct sic_entry {
    std::uint32_t delay = 0;   // [steps]
    std::uint32_t neuron = 0;  // partition neuron index of the target
    std::uint32_t column = 0;  // graded column of the source
    double weight = 0;
    neuron_id source = 0;      // global id
};

// The random astrocyte pool of one target (tripartite_spec): a partial Fisher-Yates shuffle
// of the astrocyte population drawn from the stream (pool key, target gid), extended only as
// far as asked. Member j does not depend on the pool size (a smaller pool is a prefix of a
// larger one), nor on the projection: projections onto the same target with the same
// astrocytes share the pool.
class pool_cache {
public:
    std::uint32_t member(std::uint64_t key, std::uint64_t n, neuron_id target, std::uint64_t j) {
        if (!rng_ || key != key_ || target != target_) {
            key_ = key;
            target_ = target;
            rng_.emplace(key, target, 0);
            swapped_.clear();
            members_.clear();
        }
        while (members_.size() <= j) {
            const std::uint64_t i = members_.size();
            const std::uint64_t r = i + rng_->below(n - i);
            const std::uint32_t at_r = at(r);
            swapped_[r] = at(i);  // position i is never read again
            members_.push_back(at_r);
        }
        return members_[j];
    }

private:
    std::uint32_t at(std::uint64_t pos) const {
        const auto it = swapped_.find(pos);
        return it == swapped_.end() ? static_cast<std::uint32_t>(pos) : it->second;
    }

    std::uint64_t key_ = 0;
    neuron_id target_ = 0;
    std::optional<rng_stream> rng_;
    std::unordered_map<std::uint64_t, std::uint32_t> swapped_;  // the shuffle's moved entries
    std::vector<std::uint32_t> members_;
};

// Builds the incoming synapses of one partition in three passes: count the synapses of every
// source row, fill the rows (regenerating the same draws), then cut every row into delay
// segments. Peak memory: 12 bytes per synapse, 8 of which remain.
class synapse_builder {
public:
    synapse_builder(partition& part, const network& net, build_progress* progress) :
        part_(part), net_(net), progress_(progress) {}

    template <typename Weight>
    void build(const std::vector<synapse_job>& jobs, csr_refs<Weight> out) {
        std::vector<std::uint32_t> row_start(net_.n_neurons + 1, 0);
        for (const synapse_job& job: jobs) {
            run(job, false, [&](neuron_id src, std::uint32_t, std::uint32_t, double, step_t) {
                ++row_start[src + 1];
            });
        }
        std::uint64_t total = 0;
        for (std::size_t s = 1; s <= net_.n_neurons; ++s) {
            total += row_start[s];
            if (total > std::numeric_limits<std::uint32_t>::max() - 1) {
                throw error(fmt::format("partition of neurons [{}, {}) would hold more than 2^32 "
                                        "synapses; use more partitions",
                                        part_.first_gid, part_.end_gid));
            }
            row_start[s] = static_cast<std::uint32_t>(total);
        }
        out.slot.resize(total);
        out.weight.resize(total);
        std::vector<std::uint32_t> delay(total);
        std::vector<std::uint32_t> fill(row_start.begin(), row_start.end() - 1);
        for (const synapse_job& job: jobs) {
            run(job, true,
                [&](neuron_id src, std::uint32_t, std::uint32_t slot, double w, step_t d) {
                    const std::uint32_t k = fill[src]++;
                    out.slot[k] = slot;
                    out.weight[k] = static_cast<Weight>(w);
                    delay[k] = static_cast<std::uint32_t>(d);
                });
        }
        cut_segments(row_start, delay, out);
    }

    // Appends the sic connections onto this partition's neurons of projection `pr` (a sic
    // projection, or the third_out connections of a tripartite one), in canonical order.
    template <typename Out>
    void collect_sic(const projection_rt& pr, Out& out) {
        const population_rt& tgt = *pr.target;
        auto neuron_of = [&](std::uint32_t t) {
            return static_cast<std::uint32_t>(tgt.first_gid + t - part_.first_gid);
        };
        if (pr.sic) {
            const population_rt& src = *pr.source;
            const std::size_t col0 = net_.graded_offset[static_cast<std::size_t>(
                &src - net_.populations.data())];
            generate(pr, true,
                     [&](neuron_id s, std::uint32_t t, std::uint32_t, double w, step_t d) {
                         out.add(sic_entry{static_cast<std::uint32_t>(d), neuron_of(t),
                                           static_cast<std::uint32_t>(col0 + (s - src.first_gid)),
                                           w, s});
                     });
        }
        if (!pr.has_third) {
            return;
        }
        const neuron_id lo = std::max(tgt.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(tgt.first_gid + tgt.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const third_rt& th = pr.third;
        const std::size_t col0 = net_.graded_offset[th.astro_index];
        const tripartite_spec& tp = pr.spec->tripartite;
        enumerate(pr, lo - tgt.first_gid, hi - tgt.first_gid,
                  [&](std::uint32_t, std::uint32_t t, std::uint32_t row, std::uint64_t index) {
                      const std::int64_t a = paired_astro(th, tgt.first_gid, t, row, index);
                      if (a < 0) {
                          return;
                      }
                      rng_stream wr(th.out_weight_key, row, index);
                      const double w = draw_value(tp.out_weight, wr, 0);
                      step_t d = th.out_constant_delay;
                      if (d == 0) {
                          rng_stream dr(th.out_delay_key, row, index);
                          d = delay_steps(draw_value(th.out_delay, dr, 0), net_.dt, false,
                                          th.out_delay.where);
                      }
                      out.add(sic_entry{static_cast<std::uint32_t>(d), neuron_of(t),
                                        static_cast<std::uint32_t>(
                                            col0 + static_cast<std::size_t>(a)),
                                        w, static_cast<neuron_id>(th.astro->first_gid + a)});
                  });
    }

private:
    template <typename Emit>
    void run(const synapse_job& job, bool values, Emit emit) {
        if (job.third_in) {
            generate_third_in(*job.pr, values, emit);
        } else {
            generate(*job.pr, values, emit);
        }
    }

    // The partners of target t (population-local) of a target-major projection into partners_.
    void target_row(const projection_rt& pr, std::uint32_t t, bool same, rng_stream& conn) {
        const connectivity_spec& c = pr.spec->connectivity;
        if (pr.spatial) {
            const std::size_t skip = same && !c.allow_autapses ? t : pr.source->size;
            pr.spatial->partners(pr.target->positions[t], skip, conn, scratch_, partners_);
        } else {
            row_partners(c, pr.source->size, t, same, conn, scratch_, partners_);
        }
    }

    // The astrocyte (population-local) paired with connection (row, index) of a tripartite
    // projection onto population-local target t, or -1 if the connection is not paired:
    // pairing with probability p, then a pool member drawn uniformly (NEST's
    // ThirdBernoulliWithPoolBuilder::third_connect), all from the stream (row, index).
    std::int64_t paired_astro(const third_rt& th, neuron_id target_first_gid, std::uint32_t t,
                              std::uint32_t row, std::uint64_t index) {
        rng_stream rng(th.pair_key, row, index);
        if (!(rng.uniform() < th.p)) {
            return -1;
        }
        const std::uint64_t j = th.pool_size == 1 ? 0 : rng.below(th.pool_size);
        if (!th.random) {
            return th.pool_size == 1 ? static_cast<std::int64_t>(t / th.targets_per_astro)
                                     : static_cast<std::int64_t>(t * th.pool_size + j);
        }
        return pool_.member(th.pool_key, th.astro->size, target_first_gid + t, j);
    }

    // Calls visit(source, target, row, index) (population-local ids) for every connection of
    // pr's connectivity whose target lies in [t_lo, t_hi), in canonical order; (row, index)
    // are the coordinates of the connection's tripartite draws: its connectivity row (target,
    // or source for fixed_outdegree, 0 for whole-projection rules) and its place in the row.
    template <typename Visit>
    void enumerate(const projection_rt& pr, std::uint32_t t_lo, std::uint32_t t_hi,
                   Visit visit) {
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const connectivity_spec& c = pr.spec->connectivity;
        const bool same = &src == &tgt;
        switch (pr.kind) {
        case row_kind::target_major:
            for (std::uint32_t t = t_lo; t < t_hi; ++t) {
                rng_stream conn(pr.conn_key, t, 0);
                target_row(pr, t, same, conn);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    visit(partners_[k], t, t, k);
                }
            }
            return;
        case row_kind::source_major:
            for (std::uint32_t s = 0; s < src.size; ++s) {
                rng_stream conn(pr.conn_key, s, 0);
                row_partners(c, tgt.size, s, same, conn, scratch_, partners_);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    if (partners_[k] >= t_lo && partners_[k] < t_hi) {
                        visit(s, partners_[k], s, k);
                    }
                }
            }
            return;
        case row_kind::whole:
            if (c.type == connectivity_spec::rule::fixed_total_number) {
                rng_stream conn(pr.total->key, 0, 0);
                std::uint64_t i = 0;  // index among this projection's pairs
                total_number_pairs(*pr.total, conn,
                                   [&](std::uint32_t s, std::size_t m, std::uint32_t t) {
                                       if (m != pr.total_member) {
                                           return;
                                       }
                                       if (t >= t_lo && t < t_hi) {
                                           visit(s, t, 0, i);
                                       }
                                       ++i;
                                   });
            } else {
                for (std::size_t i = 0; i < c.edges.size(); ++i) {
                    const edge_spec& e = c.edges[i];
                    if (e.target >= t_lo && e.target < t_hi) {
                        visit(e.source, e.target, 0, i);
                    }
                }
            }
            return;
        }
    }

    // Calls emit(source gid, astrocyte, input slot, weight, delay steps) for every third_in
    // synapse of tripartite projection `pr` onto an astrocyte of this partition. Every
    // partition holding astrocytes regenerates the whole primary connectivity: the pairing of
    // a connection is drawn where its target is, but the synapse lives where its astrocyte is.
    template <typename Emit>
    void generate_third_in(const projection_rt& pr, bool values, Emit emit) {
        const third_rt& th = pr.third;
        const population_rt& astro = *th.astro;
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const neuron_id lo = std::max(astro.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(astro.first_gid + astro.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const block_slot* blk = block_of(part_, net_, &astro);
        if (blk == nullptr || blk->first_gid != lo) {
            throw internal_error("synapse_builder: no block for the astrocyte range");
        }
        const std::int64_t a_lo = lo - astro.first_gid;
        const std::int64_t a_hi = hi - astro.first_gid;
        const tripartite_spec& tp = pr.spec->tripartite;
        enumerate(pr, 0, static_cast<std::uint32_t>(tgt.size),
                  [&](std::uint32_t s, std::uint32_t t, std::uint32_t row, std::uint64_t index) {
                      const std::int64_t a = paired_astro(th, tgt.first_gid, t, row, index);
                      if (a < a_lo || a >= a_hi) {
                          return;
                      }
                      double w = 0;
                      step_t d = 0;
                      if (values) {
                          rng_stream wr(th.in_weight_key, row, index);
                          w = draw_value(tp.in_weight, wr, 0);
                          d = th.in_constant_delay;
                          if (d == 0) {
                              rng_stream dr(th.in_delay_key, row, index);
                              d = delay_steps(draw_value(th.in_delay, dr, 0), net_.dt, false,
                                              th.in_delay.where);
                          }
                      }
                      const std::size_t port = th.port >= 0 ? static_cast<std::size_t>(th.port)
                                                            : (w < 0 ? 1 : 0);
                      const auto gid = static_cast<neuron_id>(astro.first_gid + a);
                      emit(src.first_gid + s, static_cast<std::uint32_t>(a),
                           static_cast<std::uint32_t>(blk->input_offset +
                                                      (gid - blk->first_gid) * blk->n_ports +
                                                      port),
                           w, d);
                  });
    }

    // Calls emit(source gid, target, input slot, weight, delay steps) for every synapse of
    // projection `pr` whose target is in this partition, in the projection's canonical order
    // (target: population-local). Without values (the counting pass) weight and delay are 0
    // and not drawn.
    template <typename Emit>
    void generate(const projection_rt& pr, bool values, Emit emit) {
        const population_rt& src = *pr.source;
        const population_rt& tgt = *pr.target;
        const projection_spec& ps = *pr.spec;
        const neuron_id lo = std::max(tgt.first_gid, part_.first_gid);
        const neuron_id hi = std::min(static_cast<neuron_id>(tgt.first_gid + tgt.size),
                                      part_.end_gid);
        if (lo >= hi) {
            return;
        }
        const block_slot* blk = block_of(part_, net_, &tgt);
        if (blk == nullptr || blk->first_gid != lo) {
            throw internal_error("synapse_builder: no block for the target range");
        }
        const bool same = &src == &tgt;
        // Slot of (population-local target t, weight w).
        auto slot_of = [&](std::uint32_t t, double w) {
            const std::size_t port = blk->split_port ? (w < 0 ? 1 : 0)
                                     : pr.port >= 0  ? static_cast<std::size_t>(pr.port)
                                                     : (w < 0 ? 1 : 0);
            return static_cast<std::uint32_t>(blk->input_offset +
                                              (tgt.first_gid + t - blk->first_gid) * blk->n_ports +
                                              port);
        };
        auto draw = [&](rng_stream& wr, rng_stream& dr, std::size_t index, double& w, step_t& d) {
            w = draw_value(ps.weight, wr, index);
            d = pr.constant_delay > 0
                    ? pr.constant_delay
                    : delay_steps(draw_value(ps.delay, dr, index), net_.dt, pr.delay_exact,
                                  ps.delay.where);
        };
        const std::uint32_t t_lo = lo - tgt.first_gid;
        const std::uint32_t t_hi = hi - tgt.first_gid;
        switch (pr.kind) {
        case row_kind::target_major:
            for (std::uint32_t t = t_lo; t < t_hi; ++t) {
                if (progress_ != nullptr) {
                    progress_->add(1);
                }
                rng_stream conn(pr.conn_key, t, 0);
                target_row(pr, t, same, conn);
                rng_stream wr(pr.weight_key, t, 0);
                rng_stream dr(pr.delay_key, t, 0);
                const std::size_t base = ps.connectivity.type == connectivity_spec::rule::one_to_one
                                             ? t
                                             : static_cast<std::size_t>(t) * partners_.size();
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        draw(wr, dr, base + k, w, d);
                    }
                    emit(src.first_gid + partners_[k], t, slot_of(t, w), w, d);
                }
            }
            return;
        case row_kind::source_major:
            for (std::uint32_t s = 0; s < src.size; ++s) {
                rng_stream conn(pr.conn_key, s, 0);
                row_partners(ps.connectivity, tgt.size, s, same, conn, scratch_, partners_);
                rng_stream wr(pr.weight_key, s, 0);
                rng_stream dr(pr.delay_key, s, 0);
                for (std::size_t k = 0; k < partners_.size(); ++k) {
                    const std::uint32_t t = partners_[k];
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        draw(wr, dr, k, w, d);  // drawn for every synapse: streams stay aligned
                    }
                    if (t >= t_lo && t < t_hi) {
                        emit(src.first_gid + s, t, slot_of(t, w), w, d);
                    }
                }
            }
            return;
        case row_kind::whole:
            if (ps.connectivity.type == connectivity_spec::rule::fixed_total_number) {
                // A group's members regenerate the group's one sequence and keep their own
                // pairs; the index of a pair among them keys its weight and delay.
                rng_stream conn(pr.total->key, 0, 0);
                std::uint64_t i = 0;
                total_number_pairs(*pr.total, conn,
                                   [&](std::uint32_t s, std::size_t m, std::uint32_t t) {
                                       if (m != pr.total_member) {
                                           return;
                                       }
                                       if (t >= t_lo && t < t_hi) {
                                           double w = 0;
                                           step_t d = 0;
                                           if (values) {
                                               rng_stream wr(pr.weight_key, 0, i);
                                               rng_stream dr(pr.delay_key, 0, i);
                                               draw(wr, dr, i, w, d);
                                           }
                                           emit(src.first_gid + s, t, slot_of(t, w), w, d);
                                       }
                                       ++i;
                                   });
            } else {
                const auto& edges = ps.connectivity.edges;
                for (std::size_t i = 0; i < edges.size(); ++i) {
                    const edge_spec& e = edges[i];
                    if (e.target < t_lo || e.target >= t_hi) {
                        continue;
                    }
                    double w = 0;
                    step_t d = 0;
                    if (values) {
                        rng_stream wr(pr.weight_key, 0, i);
                        rng_stream dr(pr.delay_key, 0, i);
                        draw(wr, dr, i, w, d);
                        if (!std::isnan(e.weight)) {
                            w = e.weight;
                        }
                        if (!std::isnan(e.delay)) {
                            d = delay_steps(e.delay, net_.dt, true, ps.where);
                        }
                    }
                    emit(src.first_gid + e.source, e.target, slot_of(e.target, w), w, d);
                }
            }
            return;
        }
    }

    // Sorts every row by delay (stably: the canonical order survives within a delay) and
    // records the segments of equal delay.
    template <typename Weight>
    void cut_segments(const std::vector<std::uint32_t>& row_start,
                      const std::vector<std::uint32_t>& delay, csr_refs<Weight> st) {
        const std::size_t n = net_.n_neurons;
        st.row_segment.assign(n + 1, 0);
        st.segment_delay.clear();
        st.segment_begin.clear();
        std::vector<std::pair<std::uint32_t, std::uint32_t>> order;  // (delay, index)
        std::vector<std::uint32_t> tmp_slot;
        std::vector<Weight> tmp_weight;
        for (std::size_t s = 0; s < n; ++s) {
            st.row_segment[s] = static_cast<std::uint32_t>(st.segment_delay.size());
            const std::uint32_t b = row_start[s];
            const std::uint32_t e = row_start[s + 1];
            if (b == e) {
                continue;
            }
            bool uniform = true;
            for (std::uint32_t k = b + 1; k < e; ++k) {
                uniform = uniform && delay[k] == delay[b];
            }
            if (!uniform) {
                order.clear();
                for (std::uint32_t k = b; k < e; ++k) {
                    order.emplace_back(delay[k], k);
                }
                std::stable_sort(order.begin(), order.end(),
                                 [](const auto& x, const auto& y) { return x.first < y.first; });
                tmp_slot.assign(st.slot.begin() + b, st.slot.begin() + e);
                tmp_weight.assign(st.weight.begin() + b, st.weight.begin() + e);
                for (std::uint32_t k = 0; k < e - b; ++k) {
                    st.slot[b + k] = tmp_slot[order[k].second - b];
                    st.weight[b + k] = tmp_weight[order[k].second - b];
                }
            }
            std::uint32_t prev = 0;
            for (std::uint32_t k = b; k < e; ++k) {
                const std::uint32_t d = uniform ? delay[b] : order[k - b].first;
                if (k == b || d != prev) {
                    st.segment_delay.push_back(d);
                    st.segment_begin.push_back(k);
                    prev = d;
                }
            }
        }
        st.row_segment[n] = static_cast<std::uint32_t>(st.segment_delay.size());
        st.segment_begin.push_back(static_cast<std::uint32_t>(st.slot.size()));
        st.segment_delay.shrink_to_fit();
        st.segment_begin.shrink_to_fit();
    }

    partition& part_;
    const network& net_;
    build_progress* progress_;
    row_scratch scratch_;
    std::vector<std::uint32_t> partners_;
    pool_cache pool_;
};

// Accumulates a partition's sic connections as they are generated (canonical order: by
// projection, then the projection's connection order), merging those with the same (delay,
// target, source): a tripartite projection pairs each target with few astrocytes through many
// connections. Each merged weight is the sum of its connections' weights in canonical order.
class sic_collector {
public:
    void add(const sic_entry& e) {
        const auto [it, fresh] = index_.try_emplace(key{e.delay, e.neuron, e.column},
                                                    static_cast<std::uint32_t>(merged_.size()));
        if (fresh) {
            merged_.push_back(e);
        } else {
            merged_[it->second].weight += e.weight;
        }
    }

    // The store: sorted by (delay, target, source column), cut into delay segments.
    void make_store(sic_store& st) {
        std::sort(merged_.begin(), merged_.end(), [](const sic_entry& a, const sic_entry& b) {
            return a.delay != b.delay     ? a.delay < b.delay
                   : a.neuron != b.neuron ? a.neuron < b.neuron
                                          : a.column < b.column;
        });
        st = sic_store{};
        for (const sic_entry& e: merged_) {
            if (st.segment_delay.empty() || st.segment_delay.back() != e.delay) {
                st.segment_delay.push_back(e.delay);
                st.segment_begin.push_back(static_cast<std::uint32_t>(st.weight.size()));
            }
            st.column.push_back(e.column);
            st.neuron.push_back(e.neuron);
            st.weight.push_back(e.weight);
            st.source_gid.push_back(e.source);
        }
        st.segment_begin.push_back(static_cast<std::uint32_t>(st.weight.size()));
    }

private:
    struct key {
        std::uint32_t delay, neuron, column;
        bool operator==(const key&) const = default;
    };
    struct key_hash {
        std::size_t operator()(const key& k) const {
            return mix64((static_cast<std::uint64_t>(k.neuron) << 32 | k.column) ^
                         mix64(k.delay));
        }
    };
    std::unordered_map<key, std::uint32_t, key_hash> index_;
    std::vector<sic_entry> merged_;
};

}  // namespace

// The static store from every static projection, and one plastic block per plastic projection
// with targets in the partition.
void build_synapses(partition& part, const network& net, const std::vector<projection_rt>& projs,
                    build_progress* progress) {
    synapse_builder builder(part, net, progress);
    // Static spike synapses: static projections and the third_in synapses of tripartite ones,
    // in projection order.
    std::vector<synapse_job> statics;
    for (const auto& pr: projs) {
        if (pr.rule == nullptr && !pr.sic) {
            statics.push_back(synapse_job{&pr, false});
        }
        if (pr.has_third) {
            statics.push_back(synapse_job{&pr, true});
        }
    }
    auto store = std::make_shared<synapse_store>();
    auto& st = *store;
    builder.build(statics, csr_refs<float>{st.row_segment, st.segment_delay, st.segment_begin,
                                           st.target, st.weight});
    part.synapses = std::move(store);
    // Graded coupling: sic projections and the third_out connections of tripartite ones.
    sic_collector sic;
    for (const auto& pr: projs) {
        builder.collect_sic(pr, sic);
    }
    sic.make_store(part.sic);
    for (const auto& pr: projs) {
        if (pr.rule == nullptr) {
            continue;
        }
        const block_slot* blk = block_of(part, net, pr.target);
        if (blk == nullptr) {
            continue;  // no target in this partition
        }
        plastic_synapses syn;
        builder.build({synapse_job{&pr, false}},
                      csr_refs<double>{syn.row_segment, syn.segment_delay, syn.segment_begin,
                                       syn.slot, syn.weight});
        const slot_map targets{blk->input_offset, blk->n_ports, blk->neuron_offset, blk->count};
        syn.target_gid.resize(syn.slot.size());
        for (std::size_t i = 0; i < syn.slot.size(); ++i) {
            syn.target_gid[i] = part.first_gid + targets.neuron(syn.slot[i]);
        }
        plastic_block_args args{pr.rule->info, pr.rule_params,
                                std::make_shared<const plastic_synapses>(std::move(syn)), targets,
                                &part.history, net.dt,
                                pr.modulator >= 0
                                    ? &net.modulators[static_cast<std::size_t>(pr.modulator)]
                                           .block->history()
                                    : nullptr};
        try {
            part.plastic.push_back(pr.rule->make_block(std::move(args)));
            part.plastic_projection.push_back(pr.index);
            part.plastic_targets.push_back(targets);
            part.plastic_modulator.push_back(pr.modulator);
        }
        catch (const error& e) {
            fail(pr.spec->where, fmt::format("projections.{} ({}): {}", pr.spec->name,
                                             pr.rule->info.name, e.what()));
        }
    }
}

}  // namespace glia::build
