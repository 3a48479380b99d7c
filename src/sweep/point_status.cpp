#include "sweep/point_status.hpp"

#include <system_error>

#include <glia/error.hpp>

#include "io/checkpoint_file.hpp"

namespace glia::sweep {

std::string_view to_string(point_status s) {
    switch (s) {
    case point_status::complete:
        return "complete";
    case point_status::stale:
        return "stale";
    case point_status::interrupted:
        return "interrupted";
    case point_status::failed:
        return "failed";
    case point_status::running_or_killed:
        return "running-or-killed";
    case point_status::missing:
        return "missing";
    }
    return "?";
}

point_state read_point_state(const std::filesystem::path& output,
                             const std::string& expected_config) {
    point_state state;
    std::error_code ec;
    state.checkpoint = std::filesystem::is_regular_file(io::checkpoint_path(output.string()), ec);
    if (!std::filesystem::is_regular_file(output, ec)) {
        return state;  // nothing, or something that is not an output file (a directory)
    }
    try {
        state.info = io::read_run_info(output.string());
    }
    catch (const error&) {
        // Killed before its first flush left anything readable.
        state.status = point_status::running_or_killed;
        return state;
    }
    const std::string& s = state.info->status;
    if (s == "complete") {
        state.status = expected_config.empty() || state.info->config == expected_config
                           ? point_status::complete
                           : point_status::stale;
    } else if (s == "interrupted") {
        state.status = point_status::interrupted;
    } else if (s == "failed") {
        state.status = point_status::failed;
    } else {
        state.status = point_status::running_or_killed;
    }
    return state;
}

}  // namespace glia::sweep
