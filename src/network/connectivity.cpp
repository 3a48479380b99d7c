#include "network/connectivity.hpp"

#include <algorithm>
#include <cmath>

#include <glia/error.hpp>

namespace glia {

row_kind row_kind_of(connectivity_spec::rule r) {
    using rule = connectivity_spec::rule;
    switch (r) {
    case rule::all_to_all:
    case rule::one_to_one:
    case rule::pairwise_bernoulli:
    case rule::fixed_indegree: return row_kind::target_major;
    case rule::fixed_outdegree: return row_kind::source_major;
    case rule::fixed_total_number:
    case rule::from_list: return row_kind::whole;
    }
    throw internal_error("row_kind_of: unknown rule");
}

namespace {

// k distinct values from [0, n) \ {skip} (skip = n: none), by Floyd's algorithm, in
// generation order.
void distinct_sample(std::size_t n, std::size_t skip, std::uint64_t k, rng_stream& rng,
                     row_scratch& s, std::vector<std::uint32_t>& out) {
    const std::size_t n_eff = skip < n ? n - 1 : n;
    if (k > n_eff) {
        throw internal_error("distinct_sample: more partners than candidates");
    }
    if (s.mark.size() < n) {
        s.mark.assign(n, 0);
    }
    s.chosen.clear();
    for (std::size_t j = n_eff - k; j < n_eff; ++j) {
        auto t = static_cast<std::uint32_t>(rng.below(j + 1));
        if (s.mark[t] != 0) {
            t = static_cast<std::uint32_t>(j);
        }
        s.mark[t] = 1;
        s.chosen.push_back(t);
    }
    for (std::uint32_t t: s.chosen) {
        s.mark[t] = 0;  // leave the scratch clean for the next row
        // Candidates live in [0, n_eff); shift past the excluded id.
        out.push_back(skip < n && t >= skip ? t + 1 : t);
    }
}

void with_replacement(std::size_t n, std::size_t skip, std::uint64_t k, rng_stream& rng,
                      std::vector<std::uint32_t>& out) {
    const std::size_t n_eff = skip < n ? n - 1 : n;
    for (std::uint64_t i = 0; i < k; ++i) {
        auto t = static_cast<std::uint32_t>(rng.below(n_eff));
        out.push_back(skip < n && t >= skip ? t + 1 : t);
    }
}

}  // namespace

void row_partners(const connectivity_spec& c, std::size_t n_other, std::uint32_t row, bool same,
                  rng_stream& rng, row_scratch& scratch, std::vector<std::uint32_t>& out) {
    using rule = connectivity_spec::rule;
    out.clear();
    // The excluded partner (the neuron itself) when autapses are off; n_other means none.
    const std::size_t skip = same && !c.allow_autapses ? row : n_other;
    switch (c.type) {
    case rule::all_to_all:
        for (std::size_t j = 0; j < n_other; ++j) {
            if (j != skip) {
                out.push_back(static_cast<std::uint32_t>(j));
            }
        }
        return;
    case rule::one_to_one:
        if (row < n_other && !(same && !c.allow_autapses)) {
            out.push_back(row);
        }
        return;
    case rule::pairwise_bernoulli: {
        if (!(c.p > 0)) {
            return;
        }
        if (c.p >= 1) {
            for (std::size_t j = 0; j < n_other; ++j) {
                if (j != skip) {
                    out.push_back(static_cast<std::uint32_t>(j));
                }
            }
            return;
        }
        // Geometric skipping: the gap to the next success is Geometric(p), so a row costs
        // O(expected partners), not O(n_other).
        const double log_q = std::log1p(-c.p);
        double j = -1;
        for (;;) {
            j += 1 + std::floor(std::log(rng.uniform_pos()) / log_q);
            if (j >= static_cast<double>(n_other)) {
                return;
            }
            const auto jj = static_cast<std::size_t>(j);
            if (jj != skip) {
                out.push_back(static_cast<std::uint32_t>(jj));
            }
        }
    }
    case rule::fixed_indegree:
    case rule::fixed_outdegree:
        if (c.allow_multapses) {
            with_replacement(n_other, skip, c.n, rng, out);
        } else {
            distinct_sample(n_other, skip, c.n, rng, scratch, out);
        }
        return;
    case rule::fixed_total_number:
    case rule::from_list: throw internal_error("row_partners: not a row rule");
    }
}

}  // namespace glia
