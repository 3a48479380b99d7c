// The monitor's JSON: the status document (GET /status, and the status of every event-stream
// message) and the event-stream messages with the shown spikes.

#include <cmath>
#include <iterator>
#include <limits>

#include <fmt/format.h>

#include "runtime/monitor_detail.hpp"

namespace glia::runtime::monitor_detail {
namespace {

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

}  // namespace

std::string server::status_json() const {
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
    put_number(out,
               v.n_steps > 0 ? static_cast<double>(step) / static_cast<double>(v.n_steps) : 0.0);
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
                   n_connections.load(), n_sse.load(), dropped_clients.load(), v.dropped_spikes);
    return out;
}

// One event-stream message: the status and spikes ([population, node, t_ms]).
// Spikes before `from` (a step) are incomplete: a page drops what it has from before it.
std::shared_ptr<const std::string> server::message(const std::deque<raster_spike>& spikes,
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

}  // namespace glia::runtime::monitor_detail
