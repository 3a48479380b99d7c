#pragma once
// Helpers shared by the models when they lower parameters to per-step constants. Lowering runs
// once per block, when dt is known; the errors it throws are user errors (a value that does not
// fit the chosen dt), so they are glia::error and say which parameter, what value and why.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/types.hpp>

namespace glia::models {

// A time [ms] as a whole number of steps of dt [ms]; an error if it is off the grid.
inline step_t whole_steps(double t, double dt, std::string_view name) {
    const double n = std::round(t / dt);
    if (!(std::abs(n * dt - t) <= 1e-9 * std::max(1.0, std::abs(t)))) {
        throw error(fmt::format("{} = {} ms is not a multiple of dt = {} ms", name, t, dt));
    }
    // 2^62 steps: far beyond any run, and safely inside step_t.
    if (!(std::abs(n) < 0x1.0p62)) {
        throw error(fmt::format("{} = {} ms is too large for dt = {} ms", name, t, dt));
    }
    return static_cast<step_t>(n);
}

// A duration [ms] (a refractory period, ...) as a whole number of steps of dt [ms], for
// counters kept per neuron in 32 bits.
inline std::int32_t steps_of(double t, double dt, std::string_view name) {
    const step_t n = whole_steps(t, dt, name);
    if (n > std::numeric_limits<std::int32_t>::max() ||
        n < std::numeric_limits<std::int32_t>::min()) {
        throw error(
            fmt::format("{} = {} ms is too long: more than 2^31 steps of dt = {} ms", name, t, dt));
    }
    return static_cast<std::int32_t>(n);
}

// (1 - exp(-x)) / x, accurate to a few ulp for every x, including x -> 0 (limit 1).
// It is the factor that keeps the propagator of two exponentials finite when their time
// constants meet: no case split, no cancellation (expm1 is exact to rounding near 0).
inline double one_minus_exp_over(double x) {
    return x == 0.0 ? 1.0 : -std::expm1(-x) / x;
}

// Every integrate-and-fire model: the reset must lie below the threshold, or a neuron would
// fire again at once.
inline void require_reset_below_threshold(double V_reset, double V_th) {
    if (!(V_reset < V_th)) {
        throw error(fmt::format("V_reset ({} mV) must be below V_th ({} mV)", V_reset, V_th));
    }
}

}  // namespace glia::models
