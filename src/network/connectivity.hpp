#pragma once
// Connectivity rules (NEST's connection concepts, Senk et al. 2022). Each rule generates the
// synapses of a projection row by row from a stream keyed by (seed, projection, row), so any
// partition can regenerate exactly the rows it needs, in any order, on any thread.
//
//   target-major rules (one row per target): all_to_all, one_to_one, pairwise_bernoulli,
//                                            fixed_indegree
//   source-major rules (one row per source): fixed_outdegree
//   whole-projection rules (one sequence):   fixed_total_number, from_list
//
// Partners inside a row come in generation order (ascending ids for all_to_all,
// pairwise_bernoulli and one_to_one; draw order for the fixed-degree rules). With the row
// order this is the projection's canonical synapse order, the order lists of weights follow.
// Sorting the drawn rows would buy nothing: a source's row in a partition is filled target by
// target, so the delivery order is ascending in targets whatever the order inside a row.

#include <cstdint>
#include <vector>

#include <glia/rng.hpp>
#include <glia/spec.hpp>

namespace glia {

enum class row_kind { target_major, source_major, whole };

row_kind row_kind_of(connectivity_spec::rule r);

// Reusable memory for partner sampling; one per thread of work.
struct row_scratch {
    std::vector<std::uint8_t> mark;    // sampling without replacement
    std::vector<std::uint32_t> chosen;
};

// Partners (population-local ids on the other side) of row `row` of a target-major or
// source-major rule. n_other: size of the population sampled from; `same` is true when source
// and target are the same population (autapses then matter). Appends to `out` (cleared first).
void row_partners(const connectivity_spec& c, std::size_t n_other, std::uint32_t row, bool same,
                  rng_stream& rng, row_scratch& scratch, std::vector<std::uint32_t>& out);

// The pairs of a fixed_total_number projection, in generation order.
// Calls emit(source, target) for each of the spec's n pairs.
template <typename Emit>
void total_number_pairs(const connectivity_spec& c, std::size_t n_source, std::size_t n_target,
                        bool same, rng_stream& rng, Emit emit);

}  // namespace glia

#include "network/connectivity_impl.hpp"
