#pragma once
// The internals of the live monitor (monitor.hpp), shared by its source files: what the
// producer stages and hands over, the server's picture of the run, and the server itself.
// The server's members are defined by seam: the hand-over and the run's picture
// (monitor_aggregation.cpp), the status and event-stream JSON (monitor_json.cpp), and the
// connections (monitor.cpp, with the HTTP sessions and the monitor's own members).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/monitor.hpp"

namespace glia::runtime {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace monitor_detail {

struct raster_spike {
    std::uint32_t pop = 0;
    std::uint32_t node = 0;  // population-local id
    step_t step = 0;
};

// How a population is shown: every `stride`-th neuron of a recorded population is a raster
// row; `raster_rows` neurons over all recorded populations, shared equally.
struct pop_geometry {
    std::string name;
    std::string model;
    neuron_id first_gid = 0;
    std::size_t size = 0;
    bool recorded = false;
    std::uint32_t stride = 0;  // 0: not shown
    std::size_t rows = 0;
};

// What the producer hands over to the server: filled on the producer's thread, moved across
// under the mutex, applied on the server's thread.
struct delivery {
    std::optional<run_layout> layout;
    std::vector<raster_spike> spikes;
    std::uint64_t dropped_spikes = 0;
    step_t raster_from = 0;             // the shown spikes are complete from this step on
    std::vector<std::uint64_t> bins;    // records of 1 + n_pops values: bin index, counts
    std::vector<std::uint64_t> counts;  // spikes per population so far (replaces)
    step_t last_spike_step = -1;
    step_t confirmed_step = 0;  // every spike before this step has been handed over
    std::optional<progress_info> progress;
    clock_type::time_point progress_at;
    std::vector<std::pair<std::string, std::string>> sections;
    std::optional<run_summary> summary;

    void trim(std::size_t max_spikes);
    void take(delivery& d, std::size_t max_spikes);
    void clear();
};

// The producer's own bookkeeping (its thread only).
struct producer_state {
    std::vector<pop_geometry> pops;
    std::vector<neuron_id> first_gids;  // ascending
    step_t bin_steps = 1;
    std::size_t max_spikes = 0;  // raster spikes staged at most
    std::vector<std::uint64_t> counts;
    std::int64_t bin = -1;
    std::vector<std::uint64_t> bin_counts;
    bool bin_dirty = false;
    step_t last_progress_step = 0;
    delivery staged;

    void flush_bin();
};

// The server's picture of the run (its thread only).
struct run_view {
    bool begun = false;
    double dt = 0.1;  // [ms]
    step_t n_steps = 0;
    step_t bin_steps = 1;
    std::vector<pop_geometry> pops;
    std::vector<std::uint64_t> counts;  // spikes per population seen so far
    std::optional<progress_info> progress;
    clock_type::time_point progress_at;
    std::optional<run_summary> summary;
    std::vector<std::pair<std::string, std::string>> sections{{"astrocytes", "{}"},
                                                              {"reservoir", "null"}};
    std::deque<raster_spike> window;  // the last raster_window_ms of shown spikes
    std::deque<raster_spike> fresh;   // shown spikes since the last event-stream message
    step_t window_from = 0;           // `window` is complete from this step on
    step_t fresh_from = 0;            // the messages so far are complete from this step on
    std::map<std::int64_t, std::vector<std::uint64_t>> bins;  // bin -> spikes per population
    step_t confirmed = 0;
    step_t last_spike = -1;
    std::uint64_t dropped_spikes = 0;
    bool stop_requested = false;
    // Rates over [rate_from, rate_to) steps, per population (NaN: not known).
    std::vector<double> rates;
    step_t rate_from = 0;
    step_t rate_to = 0;
};

class session;

// Everything of the monitor: the producer's half, the hand-over, and the server's half.
struct server {
    monitor_options opt;
    std::atomic<bool>* stop;
    std::string token;

    // Producer thread only.
    producer_state producer;

    // The hand-over.
    std::mutex mutex;
    delivery shared;

    // Counters, read by any thread.
    std::atomic<std::size_t> n_connections{0};
    std::atomic<std::size_t> n_sse{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> bad_requests{0};
    std::atomic<std::uint64_t> dropped_clients{0};
    std::atomic<std::uint64_t> messages{0};
    std::atomic<std::uint64_t> dropped_spikes{0};

    // Server thread only. Declared before the io_context: handlers still queued when the
    // io_context is destroyed hold sessions, whose destructors use `sessions`.
    run_view view;
    delivery inbox;
    std::unordered_map<session*, std::weak_ptr<session>> sessions;
    std::vector<std::shared_ptr<session>> sse;  // event-stream clients (owned: no read pending)
    bool stopping = false;
    bool serving = true;  // false once the thread is joined

    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    asio::steady_timer tick_timer{io};
    asio::steady_timer retry_timer{io};
    asio::steady_timer guard_timer{io};
    tcp::endpoint bound;
    std::thread thread;

    server(monitor_options o, std::atomic<bool>* s): opt(std::move(o)), stop(s) {}

    // --- producer side --- (monitor_aggregation.cpp)

    void publish(bool wait);

    // --- server side ---

    // The run's picture (monitor_aggregation.cpp).
    void absorb();
    void apply(delivery& d);
    step_t horizon() const;
    void update_rates();

    // The status and the event-stream messages (monitor_json.cpp).
    std::string status_json() const;
    std::shared_ptr<const std::string> message(const std::deque<raster_spike>& spikes,
                                               bool snapshot, step_t from);

    // Connections (monitor.cpp).
    void broadcast();
    void accept();
    void arm_tick();
    void shut_down();
};

}  // namespace monitor_detail

struct monitor::state: monitor_detail::server {
    using server::server;
};

}  // namespace glia::runtime
