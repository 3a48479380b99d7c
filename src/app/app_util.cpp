#include "app/app_util.hpp"

#include <unistd.h>

#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <glia/text.hpp>
#include <glia/version_info.hpp>

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
    return glia::format_duration(s);
}

io::reservoir_provenance provenance_of(const std::string& kind, const std::string& config_text,
                                       const std::string& source_path,
                                       const std::string& command_line, std::uint64_t seed) {
    io::reservoir_provenance p;
    p.kind = kind;
    p.config_text = config_text;
    p.source_path = source_path;
    p.version = version_string;
    p.git_hash = git_hash;
    p.host = host_name();
    p.command_line = command_line;
    p.started = now_iso8601();
    p.seed = seed;
    return p;
}

std::unique_ptr<runtime::monitor> start_monitor(const runtime::monitor_options& options,
                                                std::atomic<bool>& stop, spdlog::logger& log) {
    auto m = std::make_unique<runtime::monitor>(options, &stop);
    log.info("monitor: {} (stop token: {})", m->url(), m->token());
    if (!m->loopback()) {
        log.warn("monitor: {} is not a loopback address: whoever reaches it sees the run",
                 options.host);
    }
    return m;
}

}  // namespace glia::app
