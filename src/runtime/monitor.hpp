#pragma once
// A live view of a running simulation: a small HTTP/1.1 server (Boost.Beast over Boost.Asio)
// on an io_context and a thread of its own, fed by the run without ever making it wait.
//
//   GET /         a self-contained page (inline JS/CSS): live raster, rates, astrocyte trace
//   GET /status   JSON: progress, time, ETA, events/s, per-population rates, sections
//   GET /events   Server-Sent Events: every `tick` a JSON message with the status and the
//                 decimated spikes since the previous message
//   POST /stop    with the token (header X-Glia-Token or ?token=): the graceful stop of SIGTERM
// (docs/monitor.md describes every field.)
//
// Feeding it. The monitor is a recording_sink (tee it with the file sink: tee_sink.hpp) and
// takes the run's progress reports (progress()); later subsystems add their figures with
// publish_section(). All of these are called from the one producer thread (the engine's) and
// never block on the server: the producer keeps what it publishes in a buffer of its own and
// hands it over under a mutex taken with try_lock; if the server holds the mutex at that
// moment, the hand-over waits for the producer's next call (begin() and end() alone take it
// unconditionally, before and after the run's loop). The server holds the mutex only to swap
// buffers, never while it formats, reads or writes. What the producer keeps is bounded: the
// raster shows every spike of a fixed subset of neurons (at most `raster_rows`, spread over
// the populations); when a run is so fast that even these are too many, the newest are kept
// and messages say from when on the raster is complete. Rates are counted in bins of
// simulated time from every spike.
//
// Hostile clients: requests must arrive within io_timeout (headers <= max_header_bytes, a body
// only on POST /stop, <= max_body_bytes), writes must complete within io_timeout, idle
// keep-alive connections close after io_timeout, at most max_connections connections at once
// (beyond that, new ones are closed at once), and an event-stream client more than
// max_queued_messages behind is dropped. Nothing is ever buffered without a bound.
//
// Destroying the monitor sends a last message with the final status to the event-stream
// clients (waiting at most 1 s for slow ones), closes every connection and joins the thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <glia/recording.hpp>
#include <glia/simulation.hpp>

namespace glia::runtime {

struct monitor_options {
    std::string host = "127.0.0.1";  // a numeric IPv4/IPv6 address, or "localhost"
    std::uint16_t port = 0;          // 0: any free port (see monitor::port())
    std::string token;               // for POST /stop; empty: 128 random bits, in hex

    std::chrono::milliseconds tick{250};           // between event-stream messages [ms wall]
    std::chrono::milliseconds io_timeout{10'000};  // to read a request, to write, idle [ms wall]
    std::size_t max_connections = 128;
    std::size_t max_header_bytes = 8192;
    std::size_t max_body_bytes = 1024;     // POST /stop only; other requests take no body
    std::size_t max_queued_messages = 16;  // per event-stream client, then it is dropped

    std::size_t raster_rows = 1000;               // neurons shown, over all populations
    double raster_window_ms = 1000;               // [ms] of simulated time kept for the raster
    std::size_t raster_max_spikes = 30'000;       // spikes kept for the raster, at most: the newest
    std::size_t max_spikes_per_message = 10'000;  // the newest; older ones are dropped
    double rate_bin_ms = 5;       // [ms] simulated; rates are counted in bins of this width
    double rate_window_ms = 200;  // [ms] simulated; rates are averaged over the last window
};

// "HOST:PORT", "[IPv6]:PORT", ":PORT" or "PORT" (loopback) into options; throws glia::error
// naming what was given and what is allowed.
monitor_options parse_monitor_address(const std::string& host_port);

// Counters of the server, for tests and for the status's "monitor" field.
struct monitor_stats {
    std::size_t connections = 0;  // open now
    std::size_t sse_clients = 0;  // event-stream clients now
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;         // closed at once: max_connections reached
    std::uint64_t requests = 0;         // complete requests answered
    std::uint64_t bad_requests = 0;     // answered 400, 403, 404, 405, 413 or 431
    std::uint64_t dropped_clients = 0;  // event-stream clients too far behind
    std::uint64_t messages = 0;         // event-stream messages built
    std::uint64_t dropped_spikes =
        0;  // of shown neurons, beyond the raster caps (never from counts or rates)
};

class monitor final: public recording_sink {
public:
    // Binds and starts serving; `stop` (may be null) is set by an authorised POST /stop.
    // Throws glia::error if the address cannot be bound.
    monitor(monitor_options options, std::atomic<bool>* stop);
    monitor(const monitor&) = delete;
    monitor& operator=(const monitor&) = delete;
    ~monitor() override;

    std::uint16_t port() const;  // the bound port
    std::string url() const;     // http://HOST:PORT/
    const std::string& token() const;
    bool loopback() const;  // bound to a loopback address only

    // recording_sink, on the producer thread. frames() are not shown (yet).
    void begin(const run_layout& layout) override;
    void spikes(std::span<const spike_event> batch) override;
    void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                std::span<const float> data) override;
    void end(const run_summary& summary) override;

    // The run's progress (glia::run_control::on_progress), on the producer thread.
    void progress(const progress_info& p);

    // Sets a top-level field of the status to a JSON value (the caller's responsibility: valid
    // JSON), on the producer thread. "astrocytes" ({} by default: numbers in it are drawn as
    // traces by the page) and "reservoir" (null by default) are the places meant for later
    // subsystems; a key of a built-in field is an internal_error.
    void publish_section(const std::string& key, std::string json);

    monitor_stats stats() const;  // any thread

    // For tests: runs `while_held` on the server thread while it holds the hand-over mutex.
    void hold_server_for_test(std::function<void()> while_held);

private:
    struct state;
    std::unique_ptr<state> impl_;
};

}  // namespace glia::runtime
