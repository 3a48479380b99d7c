#include "app/app_util.hpp"

#include <unistd.h>

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace glia::app {

std::string host_name() {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) {
        return "unknown";
    }
    return buf;
}

std::string now_iso8601() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
    return buf;
}

std::string format_duration(double s) {
    if (!std::isfinite(s) || s < 0) {
        return "?";
    }
    if (s < 60) {
        return fmt::format("{:.1f} s", s);
    }
    const auto total = static_cast<long>(s);
    if (total < 3600) {
        return fmt::format("{}m{:02}s", total / 60, total % 60);
    }
    return fmt::format("{}h{:02}m", total / 3600, (total % 3600) / 60);
}

}  // namespace glia::app
