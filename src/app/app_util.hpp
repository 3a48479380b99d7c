#pragma once
// Small helpers the glia commands share: provenance, human-readable durations, --monitor.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <glia/spec.hpp>

#include "io/reservoir_output.hpp"
#include "runtime/monitor.hpp"

namespace glia::app {

std::string host_name();
std::string now_iso8601();              // local time with its UTC offset
std::string format_duration(double s);  // glia::format_duration (include/glia/text.hpp)

// Wall time since t0 [s].
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// /run provenance of a reservoir experiment's output file, stamped now.
io::reservoir_provenance provenance_of(const std::string& kind, const std::string& config_text,
                                       const std::string& source_path,
                                       const std::string& command_line, std::uint64_t seed);

// --monitor (docs/monitor.md): the monitor serving on `options` (glia::error if the address
// cannot be bound), its URL and stop token logged ("monitor: URL (stop token: TOKEN)"), a
// warning when it is not on a loopback address. An authorised POST /stop sets `stop`.
std::unique_ptr<runtime::monitor> start_monitor(const runtime::monitor_options& options,
                                                std::atomic<bool>& stop, spdlog::logger& log);

// io::check_writable for the run's output file, its message prefixed with where the name was
// given and its key: "cuba.yaml:49:9: output.file: cannot write output file ...".
void check_output_file(const std::string& path, const std::string& where,
                       const std::string& key);

// The files of a protocol's dataset (protocol.dataset.path, or images and labels), checked
// before anything is created: a missing one is a glia::error located at its value.
void check_dataset_files(const dataset_spec& d);

// A point started by a local sweep (GLIA_SWEEP_PID, sweep::sweep_pid_variable, set) gets one
// SIGTERM when the sweep process ends, however it ends (kill -9 included; a watcher thread
// polls the parent every 200 ms), and so stops as after Ctrl-C, resumable; if the sweep has
// already ended, this throws. Does nothing without the variable.
void follow_sweep();

// An exclusive lock on a sweep point's output, held until the process exits: `<output>.lock`
// next to the output, locked with flock. A second run of the point (another sweep, a manual
// `glia run --point K`) gets a glia::error naming the output, never writes the same file. On a
// file system without flock the run goes on unlocked.
class point_lock {
public:
    explicit point_lock(const std::string& output);
    point_lock(const point_lock&) = delete;
    point_lock& operator=(const point_lock&) = delete;
    ~point_lock();

private:
    int fd_ = -1;
};

}  // namespace glia::app
