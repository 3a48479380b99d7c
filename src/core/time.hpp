#pragma once
// Conversions between milliseconds and the integer step clock, checked at the boundary.

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include <glia/error.hpp>
#include <glia/types.hpp>

namespace glia {

// Relative tolerance for "t is on the dt grid".
inline constexpr double grid_tolerance = 1e-9;

inline bool on_grid(double t_ms, double dt) {
    const double n = std::round(t_ms / dt);
    return std::abs(n * dt - t_ms) <= grid_tolerance * std::max(1.0, std::abs(t_ms));
}

// t [ms] as a whole number of steps; an error naming `what` if it is off the grid.
inline step_t to_steps(double t_ms, double dt, std::string_view what) {
    if (!on_grid(t_ms, dt)) {
        throw error(fmt::format("{} = {} ms is not a multiple of dt = {} ms", what, t_ms, dt));
    }
    return static_cast<step_t>(std::llround(t_ms / dt));
}

// The first step whose start time t_n = n*dt is >= t_ms (t_ms may be off the grid or infinite).
inline step_t first_step_at_or_after(double t_ms, double dt, step_t limit) {
    if (!(t_ms < static_cast<double>(limit) * dt)) {
        return limit;
    }
    if (t_ms <= 0) {
        return 0;
    }
    const double n = t_ms / dt;
    const double r = std::round(n);
    if (std::abs(r - n) <= grid_tolerance * std::max(1.0, n)) {
        return static_cast<step_t>(r);
    }
    return static_cast<step_t>(std::ceil(n));
}

}  // namespace glia
