#pragma once
// Template definitions for connectivity.hpp.

#include <unordered_set>

namespace glia {

template <typename Emit>
void total_number_pairs(const connectivity_spec& c, std::size_t n_source, std::size_t n_target,
                        bool same, rng_stream& rng, Emit emit) {
    std::unordered_set<std::uint64_t> taken;  // only without multapses
    for (std::uint64_t i = 0; i < c.n; ++i) {
        for (;;) {
            const auto s = static_cast<std::uint32_t>(rng.below(n_source));
            const auto t = static_cast<std::uint32_t>(rng.below(n_target));
            if (same && !c.allow_autapses && s == t) {
                continue;
            }
            if (!c.allow_multapses && !taken.insert((std::uint64_t{s} << 32) | t).second) {
                continue;
            }
            emit(s, t);
            break;
        }
    }
}

}  // namespace glia
