#pragma once
// Connectivity rules (NEST's connection concepts, Senk et al. 2022). Each rule generates the
// synapses of a projection row by row from a stream keyed by (seed, projection, row), so any
// partition can regenerate exactly the rows it needs, in any order, on any thread.
//
//   target-major rules (one row per target): all_to_all, one_to_one, pairwise_bernoulli,
//                                            fixed_indegree, distance
//   source-major rules (one row per source): fixed_outdegree
//   whole-projection rules (one sequence):   fixed_total_number, from_list
//
// Partners inside a row come in generation order (ascending ids for all_to_all,
// pairwise_bernoulli, distance and one_to_one; draw order for the fixed-degree rules). With the row
// order this is the projection's canonical synapse order, the order lists of weights follow.
// Sorting the drawn rows would buy nothing: a source's row in a partition is filled target by
// target, so the delivery order is ascending in targets whatever the order inside a row.

#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

#include <glia/rng.hpp>
#include <glia/spec.hpp>

namespace glia {

enum class row_kind { target_major, source_major, whole };

row_kind row_kind_of(connectivity_spec::rule r);

// Reusable memory for partner sampling; one per thread of work.
struct row_scratch {
    std::vector<std::uint8_t> mark;  // sampling without replacement
    std::vector<std::uint32_t> chosen;
    // distance: the tier of every cell, the cells by tier, and where each tier starts.
    std::vector<std::uint32_t> tier;
    std::vector<std::uint32_t> by_tier;
    std::vector<std::uint32_t> tier_begin;
};

// Partners (population-local ids on the other side) of row `row` of a target-major or
// source-major rule other than distance (distance_sampler). n_other: size of the population
// sampled from; `same` is true when source and target are the same population (autapses then
// matter). Appends to `out` (cleared first).
void row_partners(const connectivity_spec& c, std::size_t n_other, std::uint32_t row, bool same,
                  rng_stream& rng, row_scratch& scratch, std::vector<std::uint32_t>& out);

// The rule `distance` of one projection: P(s -> t) = C exp(-(D / lambda)^2), D the Euclidean
// distance of their positions, one independent Bernoulli trial per pair. Built once from the
// source positions, then read-only: every partition draws its targets' rows from it.
//
// One uniform per pair would cost |S| draws and exponentials per target, nearly all for pairs
// far apart with a negligible probability. Instead the trials are sampled by thinning: the
// sources are sorted into cubic cells (side lambda, or larger so that there are at most |S|/4),
// and for a target each cell falls into the distance tier k of its nearest point (the members'
// bounding box), D >= k w (w = lambda / 2). Tier k's envelope p_k = C exp(-(k w / lambda)^2)
// bounds the probability of every member of its cells; candidates are found among them by
// geometric skipping with p_k, and a candidate at distance D is kept with probability
// p(D) / p_k. That is a Bernoulli(p(D)) trial per pair, exactly; its cost per target is a few
// operations per non-empty cell (no draw), one draw per tier, and a few per candidate.
class distance_sampler {
public:
    distance_sampler(const std::vector<position>& sources, double C, double lambda);

    // The partners of a target at `at`: each source s other than `skip` (|S| or more: none)
    // with probability C exp(-(D / lambda)^2), in ascending order. Appends to `out` (cleared
    // first); `scratch` is the caller's, one per thread.
    void partners(const position& at, std::size_t skip, rng_stream& rng, row_scratch& scratch,
                  std::vector<std::uint32_t>& out) const;

    std::size_t cells() const { return cells_.size(); }

private:
    struct cell {
        position lo, hi;          // bounding box of the members
        std::uint32_t begin = 0;  // members_[begin, end)
        std::uint32_t end = 0;
    };
    double C_ = 0;
    double inv_lambda2_ = 0;              // 1 / lambda^2
    double inv_tier_ = 0;                 // 1 / tier width
    std::vector<double> envelope_;        // p_k per tier; the last takes every farther cell
    std::vector<cell> cells_;             // non-empty cells
    std::vector<std::uint32_t> members_;  // source ids, cell by cell, ascending in a cell
    std::vector<position> at_;            // their positions
};

// The pairs drawn so far by a fixed_total_number projection without multapses: a bitset over
// all pairs where that is not much larger than a hash set of the drawn ones would be.
class pair_set {
public:
    pair_set(std::uint64_t n_source, std::uint64_t n_target, std::uint64_t n_pairs);
    // False if the pair was drawn before.
    bool insert(std::uint32_t s, std::uint64_t t);

private:
    std::uint64_t n_target_ = 0;
    bool dense_ = false;
    std::vector<std::uint64_t> bits_;           // dense: bit s * n_target + t
    std::unordered_set<std::uint64_t> hashed_;  // otherwise: (s << 32) | t
};

// The draw of a group of fixed_total_number projections (connectivity_spec::group; an
// ungrouped projection is a group of one): n pairs (source, u) over the source and the
// concatenation of the members' targets, u a union index. Member m owns union indices
// [member_begin[m], member_begin[m + 1]); its local target is u - member_begin[m].
struct total_number_draw {
    std::uint64_t key = 0;  // connectivity stream: the first member's
    std::uint64_t n = 0;
    std::size_t n_source = 0;
    std::vector<std::uint64_t> member_begin{0};  // one more entry than members
    std::vector<std::uint8_t> no_autapse;        // member m's target is the source, autapses off
    bool allow_multapses = true;
};

// The pairs of a total_number_draw, in generation order: for each of the n pairs
// emit(source, member, local target). A pair is drawn as (uniform source, uniform union
// index) and drawn again while it is an autapse its member forbids, or, without multapses,
// was drawn before.
template <typename Emit>
void total_number_pairs(const total_number_draw& d, rng_stream& rng, Emit emit);

}  // namespace glia

#include "network/connectivity_impl.hpp"
