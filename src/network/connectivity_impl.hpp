#pragma once
// Template definitions for connectivity.hpp.

#include <algorithm>

namespace glia {

template <typename Emit>
void total_number_pairs(const total_number_draw& d, rng_stream& rng, Emit emit) {
    const std::uint64_t n_target = d.member_begin.back();
    const bool one = d.no_autapse.size() == 1;
    std::optional<pair_set> taken;
    if (!d.allow_multapses) {
        taken.emplace(d.n_source, n_target, d.n);
    }
    for (std::uint64_t i = 0; i < d.n; ++i) {
        for (;;) {
            const auto s = static_cast<std::uint32_t>(rng.below(d.n_source));
            const std::uint64_t u = rng.below(n_target);
            // The member owning union index u: the last whose range begins at or before it.
            const std::size_t m =
                one ? 0
                    : static_cast<std::size_t>(
                          std::upper_bound(d.member_begin.begin() + 1, d.member_begin.end(), u) -
                          (d.member_begin.begin() + 1));
            const auto t = static_cast<std::uint32_t>(u - d.member_begin[m]);
            if (d.no_autapse[m] != 0 && s == t) {
                continue;
            }
            if (taken && !taken->insert(s, u)) {
                continue;
            }
            emit(s, m, t);
            break;
        }
    }
}

}  // namespace glia
