#include "network/values.hpp"

#include <cmath>

#include <fmt/format.h>

#include <glia/error.hpp>

namespace glia {

std::string located(const std::string& where) { return where.empty() ? "" : where + ": "; }

namespace {

// Draws outside [min, max] are redrawn (a truncated distribution, as NEST's *_clipped_redraw).
// A window that rejects almost everything is a config error, not an endless loop.
template <typename Draw>
double redraw_within(const value_spec& v, Draw draw) {
    constexpr int max_attempts = 10000;
    for (int attempt = 0; attempt < max_attempts; ++attempt) {
        const double x = draw();
        if (x >= v.min && x <= v.max) {
            return x;
        }
    }
    throw error(fmt::format("{}{} draws fell outside [min, max] = [{}, {}]; the bounds reject "
                            "almost every value",
                            located(v.where), max_attempts, v.min, v.max));
}

}  // namespace

double draw_value(const value_spec& v, rng_stream& rng, std::size_t index) {
    switch (v.type) {
    case value_spec::kind::constant: return v.value;
    case value_spec::kind::uniform: return rng.uniform(v.low, v.high);
    case value_spec::kind::normal:
        return redraw_within(v, [&] { return v.mean + v.std * rng.normal(); });
    case value_spec::kind::lognormal:
        return redraw_within(v, [&] { return std::exp(v.mu + v.sigma * rng.normal()); });
    case value_spec::kind::list:
        if (index >= v.values.size()) {
            throw error(fmt::format("{}the list has {} values but element {} was asked for",
                                    located(v.where), v.values.size(), index));
        }
        return v.values[index];
    case value_spec::kind::choice:
        return v.values[static_cast<std::size_t>(rng.below(v.values.size()))];
    }
    throw internal_error("draw_value: unknown kind");
}

std::vector<double> per_neuron_values(const value_spec& v, std::uint64_t seed, stream purpose,
                                      std::uint64_t tag, neuron_id first_gid, std::size_t n) {
    if (v.is_constant()) {
        return {v.value};
    }
    if (v.type == value_spec::kind::list && v.values.size() != n) {
        throw error(fmt::format("{}the list has {} values; expected one per neuron ({})",
                                located(v.where), v.values.size(), n));
    }
    std::vector<double> out(n);
    const std::uint64_t key = stream_key(seed, purpose, tag);
    for (std::size_t k = 0; k < n; ++k) {
        rng_stream rng(key, first_gid + static_cast<neuron_id>(k), 0);
        out[k] = draw_value(v, rng, k);
    }
    return out;
}

}  // namespace glia
