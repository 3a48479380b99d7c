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
    case rule::fixed_indegree:
    case rule::distance: return row_kind::target_major;
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
    case rule::distance: throw internal_error("row_partners: distance rows need positions");
    }
}

distance_sampler::distance_sampler(const std::vector<position>& sources, double C,
                                   double lambda) :
    C_(C), inv_lambda2_(1.0 / (lambda * lambda)), inv_tier_(2.0 / lambda) {
    const std::size_t n = sources.size();
    if (n == 0 || !(C > 0)) {
        return;  // no partners for anyone
    }
    // Tiers of width lambda / 2 up to D = 28 lambda, where exp(-(D / lambda)^2) < 1e-340 is 0 in
    // double: the last tier's envelope then is 0, and its cells cost nothing.
    for (int k = 0; k <= 56; ++k) {
        const double d = k * 0.5;  // [lambda]
        envelope_.push_back(C * std::exp(-d * d));
    }
    position lo = sources[0];
    position hi = sources[0];
    for (const position& p: sources) {
        lo = {std::min(lo.x, p.x), std::min(lo.y, p.y), std::min(lo.z, p.z)};
        hi = {std::max(hi.x, p.x), std::max(hi.y, p.y), std::max(hi.z, p.z)};
    }
    // Cells of side lambda: the envelope of a neighbouring cell is then close to the
    // probability of its members, and a cell's nearest point is at most one side off. Larger
    // cells where that would make more than |S| / 4 cells: a target visits every non-empty
    // cell, so that bounds the cost of a row by O(|S| / 4) whatever the scale of the positions.
    const double extent[3] = {hi.x - lo.x, hi.y - lo.y, hi.z - lo.z};
    const double max_cells = std::max(1.0, static_cast<double>(n) / 4);
    double side = lambda;
    std::uint64_t dims[3] = {1, 1, 1};  // one cell if no side fits (extents beyond doubles)
    for (int attempt = 0; attempt < 4000 && std::isfinite(side); ++attempt, side *= 1.25) {
        double total = 1;
        for (double e: extent) {
            total *= std::floor(e / side) + 1;
        }
        if (total <= max_cells) {
            for (int a = 0; a < 3; ++a) {
                dims[a] = static_cast<std::uint64_t>(std::floor(extent[a] / side)) + 1;
            }
            break;
        }
    }
    auto coordinate = [&](double x, double origin, int a) {
        const double c = std::floor((x - origin) / side);
        const auto last = static_cast<double>(dims[a] - 1);
        return static_cast<std::uint64_t>(c >= 0 ? std::min(c, last) : 0.0);
    };
    std::vector<std::pair<std::uint64_t, std::uint32_t>> keyed(n);  // (cell, source)
    for (std::size_t s = 0; s < n; ++s) {
        const position& p = sources[s];
        const std::uint64_t cell_index =
            (coordinate(p.x, lo.x, 0) * dims[1] + coordinate(p.y, lo.y, 1)) * dims[2] +
            coordinate(p.z, lo.z, 2);
        keyed[s] = {cell_index, static_cast<std::uint32_t>(s)};
    }
    std::sort(keyed.begin(), keyed.end());
    members_.reserve(n);
    at_.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
        const position& p = sources[keyed[k].second];
        if (k == 0 || keyed[k].first != keyed[k - 1].first) {
            cells_.push_back(cell{p, p, static_cast<std::uint32_t>(k), 0});
        }
        cell& c = cells_.back();
        c.lo = {std::min(c.lo.x, p.x), std::min(c.lo.y, p.y), std::min(c.lo.z, p.z)};
        c.hi = {std::max(c.hi.x, p.x), std::max(c.hi.y, p.y), std::max(c.hi.z, p.z)};
        c.end = static_cast<std::uint32_t>(k + 1);
        members_.push_back(keyed[k].second);
        at_.push_back(p);
    }
}

void distance_sampler::partners(const position& at, std::size_t skip, rng_stream& rng,
                                row_scratch& scratch, std::vector<std::uint32_t>& out) const {
    out.clear();
    if (cells_.empty()) {
        return;
    }
    // Cells by tier (a counting sort; cell order within a tier).
    const std::size_t n_tiers = envelope_.size();
    auto& tier = scratch.tier;
    auto& by_tier = scratch.by_tier;
    auto& begin = scratch.tier_begin;
    tier.resize(cells_.size());
    by_tier.resize(cells_.size());
    begin.assign(n_tiers + 1, 0);
    auto gap = [](double x, double lo, double hi) {
        return x < lo ? lo - x : x > hi ? x - hi : 0.0;
    };
    const auto last = static_cast<double>(n_tiers - 1);
    for (std::size_t c = 0; c < cells_.size(); ++c) {
        const cell& cl = cells_[c];
        const double gx = gap(at.x, cl.lo.x, cl.hi.x);
        const double gy = gap(at.y, cl.lo.y, cl.hi.y);
        const double gz = gap(at.z, cl.lo.z, cl.hi.z);
        // Rounded down a little more: an envelope must never fall below its members' p.
        const double k =
            std::floor(std::sqrt(gx * gx + gy * gy + gz * gz) * inv_tier_ * (1 - 1e-12));
        tier[c] = static_cast<std::uint32_t>(k < last ? k : last);  // also for an infinite gap
        ++begin[tier[c] + 1];
    }
    for (std::size_t k = 0; k < n_tiers; ++k) {
        begin[k + 1] += begin[k];
    }
    for (std::size_t c = 0; c < cells_.size(); ++c) {
        by_tier[begin[tier[c]]++] = static_cast<std::uint32_t>(c);
    }
    // begin[k] is now the end of tier k.
    std::uint32_t first = 0;
    for (std::size_t k = 0; k < n_tiers; ++k) {
        const std::uint32_t end = begin[k];
        const double envelope = envelope_[k];
        if (first == end || !(envelope > 0)) {
            first = end;
            continue;
        }
        // Failures before the next candidate, over the members of the tier's cells in turn.
        const double log_q = envelope < 1 ? std::log1p(-envelope) : 0.0;
        auto skip_length = [&] {
            return envelope < 1 ? std::floor(std::log(rng.uniform_pos()) / log_q) : 0.0;
        };
        double g = skip_length();
        for (std::uint32_t i = first; i < end; ++i) {
            const cell& cl = cells_[by_tier[i]];
            const double m = cl.end - cl.begin;
            for (; g < m; g += 1 + skip_length()) {
                const std::uint32_t j = cl.begin + static_cast<std::uint32_t>(g);
                if (members_[j] == skip) {
                    continue;
                }
                const double dx = at.x - at_[j].x;
                const double dy = at.y - at_[j].y;
                const double dz = at.z - at_[j].z;
                const double p = C_ * std::exp(-(dx * dx + dy * dy + dz * dz) * inv_lambda2_);
                if (rng.uniform() * envelope < p) {
                    out.push_back(members_[j]);
                }
            }
            g -= m;
        }
        first = end;
    }
    std::sort(out.begin(), out.end());
}

pair_set::pair_set(std::uint64_t n_source, std::uint64_t n_target, std::uint64_t n_pairs) :
    n_target_(n_target) {
    // A bit per possible pair, or about 32 bytes per drawn pair in a hash set.
    const double all = static_cast<double>(n_source) * static_cast<double>(n_target);
    dense_ = all <= 256.0 * static_cast<double>(n_pairs) + 8.0 * (1 << 20);
    if (dense_) {
        bits_.assign(static_cast<std::size_t>(all / 64) + 1, 0);
    } else {
        hashed_.reserve(n_pairs);
    }
}

bool pair_set::insert(std::uint32_t s, std::uint64_t t) {
    if (dense_) {
        const std::uint64_t i = s * n_target_ + t;
        std::uint64_t& word = bits_[i / 64];
        const std::uint64_t bit = std::uint64_t{1} << (i % 64);
        if ((word & bit) != 0) {
            return false;
        }
        word |= bit;
        return true;
    }
    return hashed_.insert((std::uint64_t{s} << 32) | t).second;
}

}  // namespace glia
