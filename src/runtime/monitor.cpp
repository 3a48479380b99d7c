#include "runtime/monitor.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <glia/error.hpp>

#include "runtime/monitor_page.hpp"

#include <pthread.h>

namespace glia::runtime {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

// Fields of the status that publish_section may not replace.
constexpr std::array<std::string_view, 22> builtin_fields{"status",
                                                          "stop_requested",
                                                          "step",
                                                          "n_steps",
                                                          "dt_ms",
                                                          "t_ms",
                                                          "duration_ms",
                                                          "progress",
                                                          "wall_s",
                                                          "eta_s",
                                                          "steps_per_s",
                                                          "events_per_s",
                                                          "synaptic_events",
                                                          "spikes",
                                                          "rate_window_ms",
                                                          "populations",
                                                          "raster_window_ms",
                                                          "monitor",
                                                          "snapshot",
                                                          "dropped_spikes",
                                                          "error",
                                                          "stopping"};

// Spikes handed over in one call of the producer that do not fit are dropped from the raster
// (never from the counts); rate bins likewise beyond this many values.
constexpr std::size_t max_staged_bin_values = std::size_t{1} << 20;

// A progress report older than this with no spikes handed over since means that every spike
// up to its step has been handed over: the engine hands recorded spikes to its sink at least
// every 0.2 s of wall time (src/core/simulation.cpp, max_batch_seconds).
constexpr auto progress_settled = std::chrono::milliseconds(500);

// After a refused accept (too many open files), wait before accepting again.
constexpr auto accept_retry = std::chrono::milliseconds(100);

// What a lingering close reads and drops, at most, before closing.
constexpr std::size_t max_drain_bytes = 64 * 1024;
constexpr auto max_drain_time = std::chrono::seconds(2);

// Waits for slow event-stream clients to take the last message before the server stops.
constexpr auto shutdown_grace = std::chrono::seconds(1);

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

std::vector<pop_geometry> geometry_of(const run_layout& layout, std::size_t raster_rows) {
    std::size_t n_recorded = 0;
    for (const auto& p: layout.populations) {
        n_recorded += p.spikes_recorded ? 1 : 0;
    }
    const std::size_t per_pop =
        std::max<std::size_t>(1, raster_rows / std::max<std::size_t>(1, n_recorded));
    std::vector<pop_geometry> out;
    for (const auto& p: layout.populations) {
        pop_geometry g;
        g.name = p.name;
        g.model = p.model;
        g.first_gid = p.first_gid;
        g.size = p.size;
        g.recorded = p.spikes_recorded;
        if (p.spikes_recorded && p.size > 0) {
            g.stride = static_cast<std::uint32_t>((p.size + per_pop - 1) / per_pop);
            g.rows = (p.size + g.stride - 1) / g.stride;
        }
        out.push_back(std::move(g));
    }
    return out;
}

step_t bin_steps_of(double bin_ms, double dt) {
    return std::max<step_t>(1, std::llround(bin_ms / dt));
}

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

    // Drops the oldest shown spikes beyond `max_spikes` (the newest matter for a live view).
    void trim(std::size_t max_spikes) {
        if (spikes.size() <= max_spikes) {
            return;
        }
        const std::size_t n = spikes.size() - max_spikes;
        raster_from = std::max(raster_from, spikes[n - 1].step + 1);
        spikes.erase(spikes.begin(), spikes.begin() + static_cast<std::ptrdiff_t>(n));
        dropped_spikes += n;
    }

    // Appends `d` to this one (keeping the newest `max_spikes` shown spikes) and empties `d`.
    void take(delivery& d, std::size_t max_spikes) {
        if (d.layout) {
            layout = std::move(d.layout);
        }
        spikes.insert(spikes.end(), d.spikes.begin(), d.spikes.end());
        dropped_spikes += d.dropped_spikes;
        raster_from = std::max(raster_from, d.raster_from);
        trim(max_spikes);
        if (bins.size() + d.bins.size() <= max_staged_bin_values) {
            bins.insert(bins.end(), d.bins.begin(), d.bins.end());
        }
        if (!d.counts.empty()) {
            counts = d.counts;
        }
        last_spike_step = std::max(last_spike_step, d.last_spike_step);
        confirmed_step = std::max(confirmed_step, d.confirmed_step);
        if (d.progress) {
            progress = d.progress;
            progress_at = d.progress_at;
        }
        for (auto& s: d.sections) {
            sections.push_back(std::move(s));
        }
        if (d.summary) {
            summary = std::move(d.summary);
        }
        d.clear();
    }

    void clear() {
        layout.reset();
        spikes.clear();
        dropped_spikes = 0;
        raster_from = 0;
        bins.clear();
        counts.clear();
        last_spike_step = -1;
        confirmed_step = 0;
        progress.reset();
        sections.clear();
        summary.reset();
    }
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

    void flush_bin() {
        if (!bin_dirty) {
            return;
        }
        if (staged.bins.size() + 1 + bin_counts.size() <= max_staged_bin_values) {
            staged.bins.push_back(static_cast<std::uint64_t>(bin));
            staged.bins.insert(staged.bins.end(), bin_counts.begin(), bin_counts.end());
        }
        std::fill(bin_counts.begin(), bin_counts.end(), 0);
        bin_dirty = false;
    }
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

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c: s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

void put_number(std::string& out, double x, int precision = 6) {
    if (!std::isfinite(x)) {
        out += "null";
        return;
    }
    fmt::format_to(std::back_inserter(out), "{:.{}g}", x, precision);
}

bool same_token(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    unsigned diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned>(static_cast<unsigned char>(a[i]) ^
                                      static_cast<unsigned char>(b[i]));
    }
    return diff == 0;
}

std::string random_token() {
    std::random_device device;
    std::string out;
    for (int i = 0; i < 4; ++i) {
        out += fmt::format("{:08x}", static_cast<std::uint32_t>(device()));
    }
    return out;
}

// The value of `key` in a query string "a=1&token=x", or empty.
std::string_view query_value(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        const auto eq = item.find('=');
        if (eq != std::string_view::npos && item.substr(0, eq) == key) {
            return item.substr(eq + 1);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return {};
}

// Whether a Host header names this machine's loopback (any port: an ssh tunnel may forward
// another one). A page of another site that a browser reaches through a rebound DNS name
// carries that name instead.
bool loopback_host(std::string_view host) {
    if (host.starts_with('[')) {
        return host.starts_with("[::1]");
    }
    const std::string_view name = host.substr(0, host.find(':'));
    if (name == "localhost") {
        return true;
    }
    beast::error_code ec;
    const auto a = asio::ip::make_address(std::string(name), ec);
    return !ec && a.is_loopback();
}

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

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

    // --- producer side ---

    // Hands what is staged to the server: never waits unless `wait` (end of run).
    void publish(bool wait) {
        producer.flush_bin();
        if (!producer.counts.empty()) {
            producer.staged.counts = producer.counts;
        }
        std::unique_lock lock(mutex, std::defer_lock);
        if (wait) {
            lock.lock();
        } else if (!lock.try_lock()) {
            return;  // the server is swapping: the next call hands this over
        }
        shared.take(producer.staged, opt.raster_max_spikes);
    }

    // --- server side ---

    void absorb() {
        {
            const std::lock_guard lock(mutex);
            std::swap(inbox, shared);
        }
        apply(inbox);
        inbox.clear();
        update_rates();
    }

    void apply(delivery& d) {
        run_view& v = view;
        if (d.layout) {
            v.begun = true;
            v.dt = d.layout->dt;
            v.n_steps = d.layout->n_steps;
            v.bin_steps = bin_steps_of(opt.rate_bin_ms, v.dt);
            v.pops = geometry_of(*d.layout, opt.raster_rows);
            v.counts.assign(v.pops.size(), 0);
            v.rates.assign(v.pops.size(), std::numeric_limits<double>::quiet_NaN());
        }
        v.window_from = std::max(v.window_from, d.raster_from);
        v.fresh_from = std::max(v.fresh_from, d.raster_from);
        for (const raster_spike& s: d.spikes) {
            v.window.push_back(s);
            v.fresh.push_back(s);
            if (v.fresh.size() > opt.max_spikes_per_message) {
                v.fresh_from = std::max(v.fresh_from, v.fresh.front().step + 1);
                v.fresh.pop_front();
                ++v.dropped_spikes;
            }
        }
        v.dropped_spikes += d.dropped_spikes;
        dropped_spikes = v.dropped_spikes;
        v.last_spike = std::max(v.last_spike, d.last_spike_step);
        v.confirmed = std::max(v.confirmed, d.confirmed_step);
        const step_t window_steps = std::max<step_t>(1, std::llround(opt.raster_window_ms / v.dt));
        while (!v.window.empty() && (v.window.size() > opt.raster_max_spikes ||
                                     v.window.front().step < v.last_spike - window_steps)) {
            if (v.window.size() > opt.raster_max_spikes) {
                v.window_from = std::max(v.window_from, v.window.front().step + 1);
            }
            v.window.pop_front();
        }
        const std::size_t width = 1 + v.pops.size();
        for (std::size_t k = 0; k + width <= d.bins.size() && width > 1; k += width) {
            auto& b = v.bins[static_cast<std::int64_t>(d.bins[k])];
            b.resize(v.pops.size(), 0);
            for (std::size_t p = 0; p < v.pops.size(); ++p) {
                b[p] += d.bins[k + 1 + p];
            }
        }
        if (d.counts.size() == v.counts.size()) {
            v.counts = d.counts;
        }
        if (d.progress) {
            v.progress = d.progress;
            v.progress_at = d.progress_at;
        }
        for (auto& [key, json]: d.sections) {
            auto at = std::find_if(v.sections.begin(), v.sections.end(),
                                   [&](const auto& s) { return s.first == key; });
            if (at == v.sections.end()) {
                v.sections.emplace_back(key, std::move(json));
            } else {
                at->second = std::move(json);
            }
        }
        if (d.summary) {
            v.summary = d.summary;
            v.confirmed = std::max(v.confirmed, d.summary->steps_done);
            if (d.summary->spike_counts.size() == v.counts.size()) {
                v.counts = d.summary->spike_counts;
            }
        }
    }

    // The step before which every spike has arrived.
    step_t horizon() const {
        const run_view& v = view;
        step_t h = std::max(v.confirmed, v.last_spike + 1);
        if (v.progress && clock_type::now() - v.progress_at >= progress_settled) {
            h = std::max(h, v.progress->step);
        }
        return std::min(h, v.n_steps);
    }

    // Rates over the last complete bins within rate_window_ms before the horizon.
    void update_rates() {
        run_view& v = view;
        if (!v.begun) {
            return;
        }
        const std::int64_t end_bin = horizon() / v.bin_steps;  // bins before it are complete
        const std::int64_t n_bins = std::max<std::int64_t>(
            1, std::llround(opt.rate_window_ms / (static_cast<double>(v.bin_steps) * v.dt)));
        const std::int64_t first_bin = std::max<std::int64_t>(0, end_bin - n_bins);
        v.bins.erase(v.bins.begin(), v.bins.lower_bound(first_bin));
        v.rate_from = first_bin * v.bin_steps;
        v.rate_to = end_bin * v.bin_steps;
        const double seconds = static_cast<double>(v.rate_to - v.rate_from) * v.dt * 1e-3;
        for (std::size_t p = 0; p < v.pops.size(); ++p) {
            if (!v.pops[p].recorded || !(seconds > 0) || v.pops[p].size == 0) {
                v.rates[p] = std::numeric_limits<double>::quiet_NaN();
                continue;
            }
            std::uint64_t n = 0;
            for (auto it = v.bins.begin(); it != v.bins.end() && it->first < end_bin; ++it) {
                n += it->second[p];
            }
            v.rates[p] = static_cast<double>(n) / static_cast<double>(v.pops[p].size) / seconds;
        }
    }

    std::string status_json() const {
        const run_view& v = view;
        std::string out;
        auto put = [&](std::string_view text) {
            out += text;
        };
        const char* status = !v.begun                                     ? "starting"
                             : !v.summary                                 ? "running"
                             : v.summary->status == run_status::completed ? "complete"
                                                                          : "interrupted";
        step_t step = 0;
        double wall = 0;
        double eta = std::numeric_limits<double>::quiet_NaN();
        std::uint64_t spikes = 0;
        std::uint64_t events = 0;
        // This process's share of the work (a resumed run counts from its checkpoint).
        step_t part_steps = 0;
        std::uint64_t part_events = 0;
        if (v.summary) {
            step = v.summary->steps_done;
            wall = v.summary->wall_seconds;
            eta = 0;
            events = v.summary->synaptic_events;
            part_steps = step - v.summary->first_step;
            part_events = events - v.summary->synaptic_events_at_start;
            for (auto c: v.summary->spike_counts) {
                spikes += c;
            }
        } else if (v.progress) {
            step = v.progress->step;
            wall = v.progress->wall_seconds;
            eta = v.progress->eta_seconds;
            spikes = v.progress->spikes;
            events = v.progress->synaptic_events;
            part_steps = step - v.progress->first_step;
            part_events = events - v.progress->synaptic_events_at_start;
        }
        fmt::format_to(std::back_inserter(out),
                       "{{\"status\":\"{}\",\"stop_requested\":{},\"step\":{},\"n_steps\":{},"
                       "\"dt_ms\":",
                       status, v.stop_requested ? "true" : "false", step, v.n_steps);
        put_number(out, v.dt);
        put(",\"t_ms\":");
        put_number(out, static_cast<double>(step) * v.dt, 12);
        put(",\"duration_ms\":");
        put_number(out, static_cast<double>(v.n_steps) * v.dt, 12);
        put(",\"progress\":");
        put_number(out, v.n_steps > 0 ? static_cast<double>(step) / static_cast<double>(v.n_steps)
                                      : 0.0);
        put(",\"wall_s\":");
        put_number(out, wall);
        put(",\"eta_s\":");
        put_number(out, eta);
        put(",\"steps_per_s\":");
        put_number(out, wall > 0 ? static_cast<double>(part_steps) / wall : 0.0);
        put(",\"events_per_s\":");
        put_number(out, wall > 0 ? static_cast<double>(part_events) / wall : 0.0);
        fmt::format_to(std::back_inserter(out), ",\"synaptic_events\":{},\"spikes\":{}", events,
                       spikes);
        put(",\"rate_window_ms\":[");
        put_number(out, static_cast<double>(v.rate_from) * v.dt, 12);
        put(",");
        put_number(out, static_cast<double>(v.rate_to) * v.dt, 12);
        put("],\"raster_window_ms\":");
        put_number(out, opt.raster_window_ms);
        put(",\"populations\":[");
        for (std::size_t p = 0; p < v.pops.size(); ++p) {
            const pop_geometry& g = v.pops[p];
            fmt::format_to(std::back_inserter(out),
                           "{}{{\"name\":{},\"model\":{},\"size\":{},\"recorded\":{},\"spikes\":",
                           p > 0 ? "," : "", json_string(g.name), json_string(g.model), g.size,
                           g.recorded ? "true" : "false");
            if (g.recorded || v.summary) {
                fmt::format_to(std::back_inserter(out), "{}", v.counts[p]);
            } else {
                put("null");
            }
            put(",\"rate_hz\":");
            put_number(out, v.rates[p]);
            fmt::format_to(std::back_inserter(out), ",\"raster_stride\":{},\"raster_rows\":{}}}",
                           g.stride, g.rows);
        }
        put("]");
        for (const auto& [key, json]: v.sections) {
            fmt::format_to(std::back_inserter(out), ",{}:{}", json_string(key), json);
        }
        fmt::format_to(std::back_inserter(out),
                       ",\"monitor\":{{\"connections\":{},\"sse_clients\":{},"
                       "\"dropped_clients\":{},\"dropped_spikes\":{}}}}}",
                       n_connections.load(), n_sse.load(), dropped_clients.load(),
                       v.dropped_spikes);
        return out;
    }

    // One event-stream message: the status and spikes ([population, node, t_ms]).
    // Spikes before `from` (a step) are incomplete: a page drops what it has from before it.
    std::shared_ptr<const std::string> message(const std::deque<raster_spike>& spikes,
                                               bool snapshot, step_t from) {
        std::string out = "data: {\"status\":";
        out += status_json();
        fmt::format_to(std::back_inserter(out),
                       ",\"snapshot\":{},\"raster_from_ms\":", snapshot ? "true" : "false");
        put_number(out, static_cast<double>(from) * view.dt, 12);
        out += ",\"raster_to_ms\":";
        put_number(out, static_cast<double>(view.begun ? horizon() : 0) * view.dt, 12);
        out += ",\"spikes\":[";
        bool first = true;
        for (const raster_spike& s: spikes) {
            fmt::format_to(std::back_inserter(out), "{}[{},{},", first ? "" : ",", s.pop, s.node);
            put_number(out, static_cast<double>(s.step + 1) * view.dt, 12);
            out += ']';
            first = false;
        }
        out += "]}\n\n";
        ++messages;
        return std::make_shared<const std::string>(std::move(out));
    }

    void broadcast();
    void accept();
    void arm_tick();
    void shut_down();
};

class session: public std::enable_shared_from_this<session> {
public:
    session(server& srv, tcp::socket socket):
        srv_(srv),
        stream_(std::move(socket)),
        buffer_(srv.opt.max_header_bytes + srv.opt.max_body_bytes + 4096) {}

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    ~session() {
        srv_.sessions.erase(this);
        srv_.n_connections = srv_.sessions.size();
        if (srv_.stopping && srv_.serving && srv_.sessions.empty()) {
            srv_.guard_timer.cancel();
        }
    }

    void start() {
        srv_.sessions.emplace(this, weak_from_this());
        srv_.n_connections = srv_.sessions.size();
        read_request();
    }

    // The server is stopping: event-stream clients get what is queued, then the connection
    // closes; other connections close now, or after the response being written.
    void finish() {
        if (events_) {
            closing_ = true;
            if (!writing_) {
                close();
            }
        } else if (writing_) {
            keep_alive_ = false;
        } else {
            close();
        }
    }

    // Queues an event-stream message; a client too far behind is dropped.
    void push(const std::shared_ptr<const std::string>& msg) {
        if (closed_ || closing_) {
            return;
        }
        if (queue_.size() >= srv_.opt.max_queued_messages) {
            ++srv_.dropped_clients;
            close();
            return;
        }
        queue_.push_back(msg);
        if (!writing_) {
            write_next();
        }
    }

private:
    void read_request() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(srv_.opt.max_header_bytes));
        parser_->body_limit(static_cast<std::uint64_t>(srv_.opt.max_body_bytes));
        stream_.expires_after(srv_.opt.io_timeout);
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(const beast::error_code& ec) {
        if (closed_) {
            return;
        }
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            reject(http::status::request_header_fields_too_large,
                   fmt::format("request headers larger than {} bytes", srv_.opt.max_header_bytes));
            return;
        }
        if (ec == http::error::body_limit) {
            reject(http::status::payload_too_large,
                   fmt::format("request body larger than {} bytes", srv_.opt.max_body_bytes));
            return;
        }
        if (ec && is_http_error(ec) && ec != http::error::end_of_stream &&
            ec != http::error::partial_message) {
            reject(http::status::bad_request, "malformed request: " + ec.message());
            return;
        }
        if (ec) {
            close();  // the client went away, or was too slow to send its request
            return;
        }
        ++srv_.requests;
        handle(parser_->get());
    }

    void handle(const http::request<http::string_body>& req) {
        const std::string_view target(req.target().data(), req.target().size());
        const auto q = target.find('?');
        const std::string_view path = target.substr(0, q);
        const std::string_view query =
            q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
        keep_alive_ = req.keep_alive();

        const auto host = req.find(http::field::host);
        if (srv_.bound.address().is_loopback() && host != req.end() &&
            !loopback_host(std::string_view(host->value().data(), host->value().size()))) {
            ++srv_.bad_requests;
            keep_alive_ = false;
            respond(http::status::forbidden, "text/plain; charset=utf-8",
                    "a monitor on a loopback address answers only requests for localhost, "
                    "127.0.0.1 or [::1]\n");
            return;
        }
        if (path == "/stop") {
            if (req.method() != http::verb::post) {
                reject(http::status::method_not_allowed, "use POST /stop", "POST");
                return;
            }
            std::string_view given = query_value(query, "token");
            const auto header = req.find("X-Glia-Token");
            if (header != req.end()) {
                given = std::string_view(header->value().data(), header->value().size());
            }
            if (!same_token(given, srv_.token)) {
                ++srv_.bad_requests;
                keep_alive_ = false;
                respond(http::status::forbidden, "application/json",
                        given.empty() ? "{\"error\":\"POST /stop needs the token printed at "
                                        "start (header X-Glia-Token or ?token=)\"}\n"
                                      : "{\"error\":\"wrong token\"}\n");
                return;
            }
            if (srv_.stop == nullptr) {
                respond(http::status::conflict, "application/json",
                        "{\"error\":\"this run cannot be stopped from the monitor\"}\n");
                return;
            }
            srv_.stop->store(true);
            srv_.view.stop_requested = true;
            respond(http::status::accepted, "application/json", "{\"stopping\":true}\n");
            return;
        }
        if (!req.body().empty()) {
            reject(http::status::payload_too_large,
                   "a request body is only accepted by POST /stop");
            return;
        }
        const bool known =
            path == "/" || path == "/index.html" || path == "/status" || path == "/events";
        if (!known) {
            reject(http::status::not_found, "no such page: GET /, /status or /events");
            return;
        }
        if (req.method() != http::verb::get) {
            reject(http::status::method_not_allowed, "use GET", "GET");
            return;
        }
        if (path == "/status") {
            srv_.absorb();
            respond(http::status::ok, "application/json", srv_.status_json() + "\n");
        } else if (path == "/events") {
            start_events();
        } else {
            respond(http::status::ok, "text/html; charset=utf-8", std::string(monitor_page));
        }
    }

    void respond(http::status status, std::string_view content_type, std::string body,
                 std::string_view allow = {}) {
        res_ = {};
        res_.version(11);
        res_.result(status);
        res_.set(http::field::content_type,
                 beast::string_view(content_type.data(), content_type.size()));
        res_.set(http::field::cache_control, "no-store");
        res_.set("X-Content-Type-Options", "nosniff");
        if (content_type.starts_with("text/html")) {
            res_.set("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src "
                     "'unsafe-inline'; connect-src 'self'; img-src data:");
        }
        if (!allow.empty()) {
            res_.set(http::field::allow, beast::string_view(allow.data(), allow.size()));
        }
        keep_alive_ = keep_alive_ && !srv_.stopping;
        res_.keep_alive(keep_alive_);
        res_.body() = std::move(body);
        res_.prepare_payload();
        writing_ = true;
        stream_.expires_after(srv_.opt.io_timeout);
        http::async_write(stream_, res_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->writing_ = false;
                              if (ec || self->closed_) {
                                  self->close();
                              } else if (!self->keep_alive_) {
                                  self->linger_close();
                              } else {
                                  self->read_request();
                              }
                          });
    }

    void reject(http::status status, const std::string& why, std::string_view allow = {}) {
        ++srv_.bad_requests;
        keep_alive_ = false;
        respond(status, "text/plain; charset=utf-8", why + "\n", allow);
    }

    void start_events() {
        events_ = true;
        srv_.sse.push_back(shared_from_this());
        srv_.n_sse = srv_.sse.size();
        stream_.expires_never();
        srv_.absorb();
        queue_.push_back(std::make_shared<const std::string>(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\nretry: 2000\n\n"));
        queue_.push_back(srv_.message(srv_.view.window, true, srv_.view.window_from));
        write_next();
    }

    void write_next() {
        if (closed_) {
            return;
        }
        if (queue_.empty()) {
            writing_ = false;
            if (closing_) {
                close();
            }
            return;
        }
        writing_ = true;
        stream_.expires_after(srv_.opt.io_timeout);
        asio::async_write(stream_, asio::buffer(*queue_.front()),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->queue_.pop_front();
                              if (ec) {
                                  self->close();
                                  return;
                              }
                              self->write_next();
                          });
    }

    // Closes after the client has seen the response: no more sending, then read and drop
    // what it still sends (bounded), so that closing does not reset the connection before the
    // client has read the response.
    void linger_close() {
        if (closed_) {
            return;
        }
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::min<clock_type::duration>(srv_.opt.io_timeout, max_drain_time));
        drain();
    }

    void drain() {
        stream_.async_read_some(asio::buffer(drain_buffer_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                    self->drained_ += n;
                                    if (ec || self->closed_ || self->drained_ > max_drain_bytes) {
                                        self->close();
                                        return;
                                    }
                                    self->drain();
                                });
    }

    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        const auto self = shared_from_this();  // erasing from srv_.sse may drop the last owner
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.socket().close(ignored);
        if (events_) {
            std::erase(srv_.sse, self);
            srv_.n_sse = srv_.sse.size();
        }
    }

    server& srv_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> res_;
    bool keep_alive_ = false;
    bool writing_ = false;
    bool events_ = false;
    bool closing_ = false;
    bool closed_ = false;
    std::deque<std::shared_ptr<const std::string>> queue_;
    std::array<char, 4096> drain_buffer_{};
    std::size_t drained_ = 0;
};

void server::broadcast() {
    if (sse.empty()) {
        view.fresh.clear();
        return;
    }
    const auto msg = message(view.fresh, false, view.fresh_from);
    view.fresh.clear();
    const auto clients = sse;  // push() may drop a client from `sse`
    for (const auto& c: clients) {
        c->push(msg);
    }
}

void server::accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
        if (stopping || ec == asio::error::operation_aborted) {
            return;
        }
        if (ec) {
            // Out of descriptors, say: try again a little later rather than spin.
            retry_timer.expires_after(accept_retry);
            retry_timer.async_wait([this](beast::error_code e) {
                if (!e && !stopping) {
                    accept();
                }
            });
            return;
        }
        if (sessions.size() >= opt.max_connections) {
            ++rejected;
            beast::error_code ignored;
            socket.close(ignored);
        } else {
            ++accepted;
            std::make_shared<session>(*this, std::move(socket))->start();
        }
        accept();
    });
}

void server::arm_tick() {
    tick_timer.expires_after(opt.tick);
    tick_timer.async_wait([this](beast::error_code ec) {
        if (ec || stopping) {
            return;
        }
        absorb();
        broadcast();
        arm_tick();
    });
}

void server::shut_down() {
    stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    tick_timer.cancel();
    retry_timer.cancel();
    absorb();
    broadcast();  // the final status
    std::vector<std::shared_ptr<session>> open;
    for (const auto& [ptr, weak]: sessions) {
        if (auto s = weak.lock()) {
            open.push_back(std::move(s));
        }
    }
    for (const auto& s: open) {
        s->finish();
    }
    open.clear();
    if (!sessions.empty()) {
        guard_timer.expires_after(shutdown_grace);
        guard_timer.async_wait([this](beast::error_code ec) {
            if (!ec) {
                io.stop();
            }
        });
    }
}

}  // namespace

monitor_options parse_monitor_address(const std::string& host_port) {
    auto fail = [&](std::string_view what) {
        return glia::error(fmt::format(
            "--monitor '{}': {}; expected HOST:PORT with HOST a numeric IPv4 address, [IPv6] or "
            "localhost (default 127.0.0.1) and PORT in 0..65535 (0: any free port), e.g. "
            "127.0.0.1:8080",
            host_port, what));
    };
    monitor_options o;
    std::string_view s = host_port;
    std::string_view host;
    std::string_view port = s;
    if (s.starts_with('[')) {
        const auto close = s.find(']');
        if (close == std::string_view::npos || s.substr(close + 1, 1) != ":") {
            throw fail("an IPv6 address must be written [ADDRESS]:PORT");
        }
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else if (const auto colon = s.rfind(':'); colon != std::string_view::npos) {
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            throw fail("an IPv6 address must be written [ADDRESS]:PORT");
        }
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw fail(fmt::format("the port '{}' is not a number", port));
    }
    const unsigned long p = std::stoul(std::string(port));
    if (p > 65535) {
        throw fail(fmt::format("the port {} is above 65535", p));
    }
    o.port = static_cast<std::uint16_t>(p);
    if (!host.empty() && host != "localhost") {
        beast::error_code ec;
        asio::ip::make_address(std::string(host), ec);
        if (ec) {
            throw fail(fmt::format("'{}' is not a numeric IP address", host));
        }
        o.host = std::string(host);
    }
    return o;
}

struct monitor::state: server {
    using server::server;
};

monitor::monitor(monitor_options options, std::atomic<bool>* stop):
    impl_(std::make_unique<state>(std::move(options), stop)) {
    auto& s = *impl_;
    if (!(s.opt.tick.count() > 0) || !(s.opt.io_timeout.count() > 0) ||
        s.opt.max_queued_messages == 0 || !(s.opt.rate_bin_ms > 0) || !(s.opt.rate_window_ms > 0) ||
        !(s.opt.raster_window_ms > 0)) {
        throw glia::internal_error("monitor: tick, io_timeout, max_queued_messages, rate_bin_ms, "
                                   "rate_window_ms and raster_window_ms must be > 0");
    }
    s.token = s.opt.token.empty() ? random_token() : s.opt.token;
    const std::string host = s.opt.host == "localhost" ? "127.0.0.1" : s.opt.host;
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) {
        throw glia::error(fmt::format("monitor: '{}' is not a numeric IP address", s.opt.host));
    }
    const tcp::endpoint endpoint(address, s.opt.port);
    auto fail = [&](const beast::error_code& e) {
        return glia::error(fmt::format("monitor: cannot listen on {}:{}: {}", s.opt.host,
                                       s.opt.port, e.message()));
    };
    s.acceptor.open(endpoint.protocol(), ec);
    if (ec) {
        throw fail(ec);
    }
    s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    s.acceptor.bind(endpoint, ec);
    if (ec) {
        throw fail(ec);
    }
    s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        throw fail(ec);
    }
    s.bound = s.acceptor.local_endpoint();
    s.accept();
    s.arm_tick();
    s.thread = std::thread([&s] {
        for (;;) {
            try {
                s.io.run();
                return;
            }
            catch (const std::exception&) {
                // One handler failed (out of memory while formatting, say): keep serving.
            }
        }
    });
    // Named, so that it can be told apart (tests check that no monitor runs without --monitor).
    pthread_setname_np(s.thread.native_handle(), "glia-monitor");
}

monitor::~monitor() {
    auto& s = *impl_;
    try {
        asio::post(s.io, [&s] { s.shut_down(); });
    }
    catch (...) {
        s.io.stop();
    }
    s.thread.join();
    s.serving = false;
    s.sse.clear();  // while the io_context still exists (see server)
}

std::uint16_t monitor::port() const {
    return impl_->bound.port();
}

std::string monitor::url() const {
    const auto& a = impl_->bound.address();
    return a.is_v6() ? fmt::format("http://[{}]:{}/", a.to_string(), impl_->bound.port())
                     : fmt::format("http://{}:{}/", a.to_string(), impl_->bound.port());
}

const std::string& monitor::token() const {
    return impl_->token;
}

bool monitor::loopback() const {
    return impl_->bound.address().is_loopback();
}

void monitor::begin(const run_layout& layout) {
    auto& pr = impl_->producer;
    pr.pops = geometry_of(layout, impl_->opt.raster_rows);
    pr.first_gids.clear();
    for (const auto& g: pr.pops) {
        pr.first_gids.push_back(g.first_gid);
    }
    if (!std::is_sorted(pr.first_gids.begin(), pr.first_gids.end())) {
        throw glia::internal_error("monitor: populations are not in ascending id order");
    }
    pr.bin_steps = bin_steps_of(impl_->opt.rate_bin_ms, layout.dt);
    pr.max_spikes = impl_->opt.raster_max_spikes;
    pr.counts.assign(pr.pops.size(), 0);
    pr.bin = -1;
    pr.bin_counts.assign(pr.pops.size(), 0);
    pr.bin_dirty = false;
    pr.last_progress_step = 0;
    pr.staged.clear();
    pr.staged.layout = layout;
    impl_->publish(true);
}

void monitor::spikes(std::span<const spike_event> batch) {
    auto& pr = impl_->producer;
    if (pr.pops.empty() || batch.empty()) {
        return;
    }
    // This batch completes everything up to the engine's present, which is past the last
    // progress report.
    pr.staged.confirmed_step = std::max(pr.staged.confirmed_step, pr.last_progress_step);
    std::size_t p = 0;
    for (const spike_event& s: batch) {
        if (s.gid < pr.pops[p].first_gid || s.gid - pr.pops[p].first_gid >= pr.pops[p].size) {
            const auto at = std::upper_bound(pr.first_gids.begin(), pr.first_gids.end(), s.gid);
            if (at == pr.first_gids.begin()) {
                continue;
            }
            p = static_cast<std::size_t>(at - pr.first_gids.begin()) - 1;
            if (s.gid - pr.pops[p].first_gid >= pr.pops[p].size) {
                continue;
            }
        }
        const pop_geometry& g = pr.pops[p];
        ++pr.counts[p];
        const std::int64_t b = s.step / pr.bin_steps;
        if (b != pr.bin) {
            pr.flush_bin();
            pr.bin = b;
        }
        ++pr.bin_counts[p];
        pr.bin_dirty = true;
        const auto node = static_cast<std::uint32_t>(s.gid - g.first_gid);
        if (g.stride > 0 && node % g.stride == 0) {
            pr.staged.spikes.push_back({static_cast<std::uint32_t>(p), node, s.step});
            if (pr.staged.spikes.size() >= 2 * pr.max_spikes) {
                pr.staged.trim(pr.max_spikes);  // amortised: halves at most once per max_spikes
            }
        }
    }
    pr.staged.last_spike_step = std::max(pr.staged.last_spike_step, batch.back().step);
    pr.staged.trim(pr.max_spikes);
    impl_->publish(false);
}

void monitor::frames(std::size_t, std::size_t, std::size_t, std::span<const float>) {}

void monitor::end(const run_summary& summary) {
    impl_->producer.staged.summary = summary;
    impl_->publish(true);
}

void monitor::progress(const progress_info& p) {
    auto& pr = impl_->producer;
    pr.last_progress_step = p.step;
    pr.staged.progress = p;
    pr.staged.progress_at = clock_type::now();
    impl_->publish(false);
}

void monitor::publish_section(const std::string& key, std::string json) {
    if (key.empty() ||
        std::find(builtin_fields.begin(), builtin_fields.end(), key) != builtin_fields.end()) {
        throw glia::internal_error(
            fmt::format("monitor::publish_section: '{}' is not a free status field", key));
    }
    impl_->producer.staged.sections.emplace_back(key, std::move(json));
    impl_->publish(false);
}

monitor_stats monitor::stats() const {
    const auto& s = *impl_;
    monitor_stats out;
    out.connections = s.n_connections;
    out.sse_clients = s.n_sse;
    out.accepted = s.accepted;
    out.rejected = s.rejected;
    out.requests = s.requests;
    out.bad_requests = s.bad_requests;
    out.dropped_clients = s.dropped_clients;
    out.messages = s.messages;
    out.dropped_spikes = s.dropped_spikes;
    return out;
}

void monitor::hold_server_for_test(std::function<void()> while_held) {
    asio::post(impl_->io, [s = impl_.get(), f = std::move(while_held)] {
        const std::lock_guard lock(s->mutex);
        f();
    });
}

}  // namespace glia::runtime
