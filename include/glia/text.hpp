#pragma once
// Human-readable figures for messages and progress lines.

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace glia {

// "12.3 s", "4m05s", "2h10m"; "?" for a negative or non-finite duration.
inline std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) {
        return "?";
    }
    if (seconds < 60) {
        return fmt::format("{:.1f} s", seconds);
    }
    const auto total = static_cast<long>(seconds);
    if (total < 3600) {
        return fmt::format("{}m{:02}s", total / 60, total % 60);
    }
    return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

}  // namespace glia
