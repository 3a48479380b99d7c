// The live monitor. In-process: the server fed by hand (status fields and rates,
// the producer never waiting for a stalled server, bad requests, the stop token, timeouts,
// the connection limit, an event-stream client that never reads, shutdown) and fed by a real
// simulation. End to end, the glia executable with --monitor: status and stream against the
// output file, POST /stop, bad addresses, no thread and no socket without --monitor, hostile
// clients against the run's speed, and the page in headless Chromium. A NALSM reservoir run
// with --monitor: its phases, samples and accuracies against the output file, POST /stop (needs
// Fashion-MNIST: skipped without it, unless GLIA_REQUIRE_DATA=1).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <glia/error.hpp>
#include <glia/simulation.hpp>

#include "cli_harness.hpp"
#include "io/config_yaml.hpp"
#include "io/hdf5_reader.hpp"
#include "io/reservoir_output.hpp"
#include "runtime/monitor.hpp"
#include "runtime/tee_sink.hpp"
#include "spec_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using boost::property_tree::ptree;
using glia::runtime::monitor;
using glia::runtime::monitor_options;
using testing::HasSubstr;

namespace {

using clock_type = std::chrono::steady_clock;

// --- a small TCP client, able to misbehave ---

class client {
public:
    explicit client(std::uint16_t port, int receive_buffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (receive_buffer > 0) {
            setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        }
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    ~client() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }

    bool connected() const { return connected_; }

    bool send(std::string_view s) {
        while (!s.empty()) {
            const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            s.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads until `done(data)`, the end of the stream or the timeout; true if `done`.
    bool read_until(const std::function<bool(const std::string&)>& done,
                    std::chrono::milliseconds timeout) {
        const auto deadline = clock_type::now() + timeout;
        while (!done(data_)) {
            if (eof_) {
                return false;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) {
                return false;
            }
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                continue;
            }
            char buf[65536];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                eof_ = true;  // closed or reset by the server
            } else {
                data_.append(buf, static_cast<std::size_t>(n));
            }
        }
        return true;
    }

    // Whether the server closes the connection within `timeout` (what it sends is read).
    bool closed_within(std::chrono::milliseconds timeout) {
        read_until([](const std::string&) { return false; }, timeout);
        return eof_;
    }

    std::string& data() { return data_; }
    bool eof() const { return eof_; }

private:
    int fd_ = -1;
    bool connected_ = false;
    bool eof_ = false;
    std::string data_;
};

struct reply {
    int status = 0;
    std::string head;
    std::string body;
};

reply parse_reply(const std::string& raw) {
    reply r;
    const auto end = raw.find("\r\n\r\n");
    r.head = raw.substr(0, end);
    r.body = end == std::string::npos ? "" : raw.substr(end + 4);
    if (raw.starts_with("HTTP/1.1 ") && raw.size() >= 12) {
        r.status = std::stoi(raw.substr(9, 3));
    }
    return r;
}

// Sends `raw`, reads until the server closes.
reply http_exchange(std::uint16_t port, const std::string& raw,
                    std::chrono::milliseconds timeout = 5s) {
    client c(port);
    c.send(raw);
    c.closed_within(timeout);
    return parse_reply(c.data());
}

reply get(std::uint16_t port, const std::string& path) {
    return http_exchange(port, "GET " + path +
                                   " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

reply post_stop(std::uint16_t port, const std::string& query, const std::string& token_header) {
    return http_exchange(
        port, "POST /stop" + query + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                  (token_header.empty() ? "" : "X-Glia-Token: " + token_header + "\r\n") +
                  "Content-Length: 0\r\n\r\n");
}

ptree parse_json(const std::string& text) {
    std::istringstream in(text);
    ptree t;
    boost::property_tree::read_json(in, t);
    return t;
}

ptree status_of(std::uint16_t port) {
    const reply r = get(port, "/status");
    EXPECT_EQ(r.status, 200) << r.head;
    return parse_json(r.body);
}

// The complete "data:" payloads of an event stream so far.
std::vector<std::string> events_in(const std::string& raw) {
    std::vector<std::string> out;
    std::size_t at = raw.find("\r\n\r\n");
    if (at == std::string::npos) {
        return out;
    }
    at += 4;
    for (;;) {
        const auto end = raw.find("\n\n", at);
        if (end == std::string::npos) {
            break;
        }
        const std::string event = raw.substr(at, end - at);
        if (event.starts_with("data: ")) {
            out.push_back(event.substr(6));
        }
        at = end + 2;
    }
    return out;
}

std::unique_ptr<client> event_stream(std::uint16_t port, int receive_buffer = 0) {
    auto c = std::make_unique<client>(port, receive_buffer);
    c->send("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    return c;
}

std::vector<double> numbers_of(const ptree& array) {
    std::vector<double> out;
    for (const auto& [k, v]: array) {
        out.push_back(v.get_value<double>());
    }
    return out;
}

// --- a synthetic run: three populations, spikes at known times ---

glia::run_layout layout_abc() {
    glia::run_layout l;
    l.dt = 0.1;
    l.n_steps = 10000;
    l.populations = {{"a", "iaf_psc_exp", 0, 100, true},
                     {"b", "iaf_psc_exp", 100, 50, true},
                     {"c", "izhikevich", 150, 10, false}};
    return l;
}

// Spikes of steps [from, to): neuron i of `a` fires when step % 100 == i (100 Hz); neuron j
// of `b` when step % 200 == 4 j (50 Hz). In (step, gid) order.
std::vector<glia::spike_event> spikes_abc(glia::step_t from, glia::step_t to) {
    std::vector<glia::spike_event> out;
    for (glia::step_t s = from; s < to; ++s) {
        out.push_back({s, static_cast<glia::neuron_id>(s % 100)});
        if (s % 4 == 0 && (s % 200) / 4 < 50) {
            out.push_back({s, static_cast<glia::neuron_id>(100 + (s % 200) / 4)});
        }
    }
    return out;
}

monitor_options quick_options() {
    monitor_options o;
    o.tick = 20ms;
    return o;
}

// Polls `pred` every 10 ms for up to `timeout`.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

}  // namespace

TEST(monitor_address, parses_host_and_port_and_says_what_is_wrong) {
    auto o = glia::runtime::parse_monitor_address("127.0.0.1:8080");
    EXPECT_EQ(o.host, "127.0.0.1");
    EXPECT_EQ(o.port, 8080);
    o = glia::runtime::parse_monitor_address("[::1]:0");
    EXPECT_EQ(o.host, "::1");
    EXPECT_EQ(o.port, 0);
    o = glia::runtime::parse_monitor_address(":9000");
    EXPECT_EQ(o.host, "127.0.0.1");
    EXPECT_EQ(o.port, 9000);
    o = glia::runtime::parse_monitor_address("9001");
    EXPECT_EQ(o.host, "127.0.0.1");
    EXPECT_EQ(o.port, 9001);
    EXPECT_EQ(glia::runtime::parse_monitor_address("localhost:1").host, "127.0.0.1");
    EXPECT_EQ(glia::runtime::parse_monitor_address("0.0.0.0:80").host, "0.0.0.0");

    const std::vector<std::pair<std::string, std::string>> bad{
        {"127.0.0.1:99999", "the port 99999 is above 65535"},
        {"example.org:80", "'example.org' is not a numeric IP address"},
        {"::1:80", "an IPv6 address must be written [ADDRESS]:PORT"},
        {"127.0.0.1:", "the port '' is not a number"},
        {"abc", "the port 'abc' is not a number"}};
    for (const auto& [given, why]: bad) {
        try {
            glia::runtime::parse_monitor_address(given);
            ADD_FAILURE() << given << " was accepted";
        }
        catch (const glia::error& e) {
            EXPECT_THAT(e.what(), HasSubstr("--monitor '" + given + "': " + why)) << given;
            EXPECT_THAT(e.what(), HasSubstr("expected HOST:PORT")) << given;
        }
    }
}

TEST(monitor_server, status_reports_progress_counts_rates_and_sections) {
    monitor m(quick_options(), nullptr);
    ASSERT_TRUE(m.loopback());
    EXPECT_EQ(m.url(), "http://127.0.0.1:" + std::to_string(m.port()) + "/");
    EXPECT_EQ(m.token().size(), 32u);
    EXPECT_EQ(status_of(m.port()).get<std::string>("status"), "starting");

    const auto layout = layout_abc();
    m.begin(layout);
    std::vector<std::uint64_t> counts(3, 0);
    std::vector<glia::spike_event> all;
    glia::progress_info p;
    p.n_steps = layout.n_steps;
    for (glia::step_t s = 0; s < 5000; s += 100) {
        const auto batch = spikes_abc(s, s + 100);
        all.insert(all.end(), batch.begin(), batch.end());
        m.spikes(batch);
        p.step = s + 100;
        p.spikes = all.size();
        p.wall_seconds = 0.001 * static_cast<double>(p.step);
        p.eta_seconds = 0.001 * static_cast<double>(layout.n_steps - p.step);
        p.synaptic_events = 10 * all.size();
        m.progress(p);
    }
    for (const auto& s: all) {
        ++counts[s.gid < 100 ? 0 : 1];
    }
    ptree st;
    // A hand-over finds the server busy once in a long while: the next call brings it.
    ASSERT_TRUE(eventually([&] {
        m.progress(p);
        st = status_of(m.port());
        return st.get<glia::step_t>("step") == 5000 &&
               numbers_of(st.get_child("rate_window_ms")).at(1) == 500.0;
    }));
    EXPECT_EQ(st.get<std::string>("status"), "running");
    EXPECT_EQ(st.get<glia::step_t>("n_steps"), 10000);
    EXPECT_DOUBLE_EQ(st.get<double>("t_ms"), 500.0);
    EXPECT_DOUBLE_EQ(st.get<double>("duration_ms"), 1000.0);
    EXPECT_DOUBLE_EQ(st.get<double>("progress"), 0.5);
    EXPECT_DOUBLE_EQ(st.get<double>("wall_s"), 5.0);
    EXPECT_DOUBLE_EQ(st.get<double>("eta_s"), 5.0);
    EXPECT_DOUBLE_EQ(st.get<double>("events_per_s"), 10.0 * static_cast<double>(all.size()) / 5.0);
    EXPECT_EQ(st.get<std::uint64_t>("spikes"), all.size());
    // Rates over the last 200 ms of complete bins: [300, 500) ms, counted from the spikes.
    const auto window = numbers_of(st.get_child("rate_window_ms"));
    ASSERT_EQ(window.size(), 2u);
    EXPECT_DOUBLE_EQ(window[0], 300.0);
    EXPECT_DOUBLE_EQ(window[1], 500.0);
    std::vector<double> expected(2, 0.0);
    for (const auto& s: all) {
        if (s.step >= 3000 && s.step < 5000) {
            expected[s.gid < 100 ? 0 : 1] += 1;
        }
    }
    expected[0] /= 100 * 0.2;
    expected[1] /= 50 * 0.2;
    std::vector<ptree> pops;
    for (const auto& [k, v]: st.get_child("populations")) {
        pops.push_back(v);
    }
    ASSERT_EQ(pops.size(), 3u);
    EXPECT_EQ(pops[0].get<std::string>("name"), "a");
    EXPECT_EQ(pops[0].get<std::size_t>("size"), 100u);
    EXPECT_EQ(pops[0].get<std::uint64_t>("spikes"), counts[0]);
    EXPECT_EQ(pops[1].get<std::uint64_t>("spikes"), counts[1]);
    EXPECT_NEAR(pops[0].get<double>("rate_hz"), expected[0], 1e-5 * expected[0]);
    EXPECT_NEAR(pops[1].get<double>("rate_hz"), expected[1], 1e-5 * expected[1]);
    EXPECT_EQ(pops[2].get<std::string>("recorded"), "false");
    EXPECT_EQ(pops[2].get<std::string>("spikes"), "null");
    EXPECT_EQ(pops[2].get<std::string>("rate_hz"), "null");
    EXPECT_TRUE(st.get_child("astrocytes").empty());
    EXPECT_EQ(st.get<std::string>("reservoir"), "null");
    // 1000 raster rows over 2 shown populations: every neuron of both.
    EXPECT_EQ(pops[0].get<int>("raster_stride"), 1);
    EXPECT_EQ(pops[0].get<int>("raster_rows"), 100);

    // Sections for later subsystems.
    m.publish_section("astrocytes", R"({"ca_uM": 0.25, "ip3_uM": 0.1})");
    m.publish_section("reservoir", R"({"trained": 12, "accuracy": 0.75})");
    ASSERT_TRUE(eventually([&] {
        m.progress(p);
        st = status_of(m.port());
        return st.get<std::string>("reservoir", "") != "null";
    }));
    EXPECT_DOUBLE_EQ(st.get<double>("astrocytes.ca_uM"), 0.25);
    EXPECT_DOUBLE_EQ(st.get<double>("reservoir.accuracy"), 0.75);
    EXPECT_THROW(m.publish_section("status", "1"), glia::internal_error);

    // The end: the summary's counts, of recorded and unrecorded populations alike.
    glia::run_summary summary;
    summary.status = glia::run_status::interrupted;
    summary.steps_done = 5000;
    summary.wall_seconds = 5.0;
    summary.spike_counts = {counts[0], counts[1], 7};
    m.end(summary);
    st = status_of(m.port());
    EXPECT_EQ(st.get<std::string>("status"), "interrupted");
    pops.clear();
    for (const auto& [k, v]: st.get_child("populations")) {
        pops.push_back(v);
    }
    EXPECT_EQ(pops[2].get<std::uint64_t>("spikes"), 7u);
    EXPECT_EQ(st.get<std::uint64_t>("spikes"), counts[0] + counts[1] + 7);
    EXPECT_DOUBLE_EQ(st.get<double>("eta_s"), 0.0);
}

TEST(monitor_server, producer_never_waits_for_a_stalled_server) {
    auto opt = quick_options();
    opt.raster_max_spikes = 100;  // most shown spikes are dropped: the counts must not be
    monitor m(opt, nullptr);
    const auto layout = layout_abc();
    m.begin(layout);

    // Stall the server while it holds the hand-over mutex, until the producer is done.
    std::promise<void> holding;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    m.hold_server_for_test([&holding, released] {
        holding.set_value();
        released.wait();
    });
    holding.get_future().wait();

    std::uint64_t fed = 0;
    glia::progress_info p;
    p.n_steps = layout.n_steps;
    auto producer = std::async(std::launch::async, [&] {
        for (glia::step_t s = 0; s < 10000; s += 10) {
            const auto batch = spikes_abc(s, s + 10);
            m.spikes(batch);
            fed += batch.size();
            p.step = s + 10;
            p.spikes = fed;
            m.progress(p);
        }
    });
    // Every call returns while the server is still stalled (a waiting producer would hang
    // here until the timeout).
    const bool done = producer.wait_for(20s) == std::future_status::ready;
    release.set_value();
    ASSERT_TRUE(done) << "the producer waited for the server";
    producer.get();

    // What was published while the server stalled arrives with the next call.
    ptree st;
    ASSERT_TRUE(eventually([&] {
        m.progress(p);
        st = status_of(m.port());
        return st.get<glia::step_t>("step") == 10000;
    }));
    std::uint64_t counted = 0;
    for (const auto& [k, v]: st.get_child("populations")) {
        if (v.get<std::string>("spikes") != "null") {
            counted += v.get<std::uint64_t>("spikes");
        }
    }
    EXPECT_EQ(counted, fed);
    EXPECT_GT(m.stats().dropped_spikes, 0u);
}

TEST(monitor_server, bad_requests_get_4xx_and_the_server_keeps_serving) {
    monitor m(quick_options(), nullptr);
    const auto port = m.port();
    EXPECT_EQ(http_exchange(port, "GARBAGE\r\n\r\n").status, 400);
    EXPECT_EQ(http_exchange(port, std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) +
                                      std::string(100, '\0'))
                  .status,
              400);
    EXPECT_EQ(http_exchange(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " +
                                      std::string(16384, 'a') + "\r\n\r\n")
                  .status,
              431);
    EXPECT_EQ(http_exchange(
                  port, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello")
                  .status,
              413);
    const reply big_stop =
        http_exchange(port, "POST /stop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                            "5000\r\n\r\n" +
                                std::string(5000, 'x'));
    EXPECT_EQ(big_stop.status, 413);
    EXPECT_THAT(big_stop.body, HasSubstr("request body larger than 1024 bytes"));
    const reply missing = get(port, "/nothing");
    EXPECT_EQ(missing.status, 404);
    EXPECT_THAT(missing.body, HasSubstr("GET /, /status or /events"));
    const reply post_status =
        http_exchange(port, "POST /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                            "close\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(post_status.status, 405);
    EXPECT_THAT(post_status.head, HasSubstr("Allow: GET"));
    const reply get_stop = get(port, "/stop");
    EXPECT_EQ(get_stop.status, 405);
    EXPECT_THAT(get_stop.head, HasSubstr("Allow: POST"));
    // A page of another site reaching the loopback through a rebound DNS name.
    const reply foreign = http_exchange(
        port, "GET /status HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(foreign.status, 403);
    EXPECT_THAT(foreign.body, HasSubstr("answers only requests for localhost"));
    EXPECT_EQ(http_exchange(port, "GET /status HTTP/1.1\r\nHost: localhost:9000\r\nConnection: "
                                  "close\r\n\r\n")
                  .status,
              200);  // an ssh tunnel's local port
    EXPECT_EQ(m.stats().bad_requests, 9u);
    // Still serving, and the page is self-contained.
    const reply page = get(port, "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_THAT(page.head, HasSubstr("Content-Security-Policy: default-src 'none'"));
    EXPECT_THAT(page.body, HasSubstr("<canvas id=\"raster\""));
    EXPECT_THAT(page.body, testing::Not(HasSubstr("src=\"http")));
    EXPECT_THAT(page.body, testing::Not(HasSubstr("<link")));
}

TEST(monitor_server, keep_alive_serves_several_requests_on_one_connection) {
    monitor m(quick_options(), nullptr);
    client c(m.port());
    for (int k = 0; k < 3; ++k) {
        c.data().clear();
        ASSERT_TRUE(c.send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        ASSERT_TRUE(c.read_until(
            [](const std::string& d) {
                const auto end = d.find("\r\n\r\n");
                return end != std::string::npos && d.find("}\n", end) != std::string::npos;
            },
            5s))
            << k;
        EXPECT_EQ(parse_reply(c.data()).status, 200);
    }
    EXPECT_EQ(m.stats().accepted, 1u);
    EXPECT_EQ(m.stats().requests, 3u);
}

TEST(monitor_server, stop_needs_the_token) {
    std::atomic<bool> stop{false};
    monitor m(quick_options(), &stop);
    const auto port = m.port();
    const reply none = post_stop(port, "", "");
    EXPECT_EQ(none.status, 403);
    EXPECT_THAT(none.body, HasSubstr("X-Glia-Token"));
    std::string wrong = m.token();
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    const reply bad = post_stop(port, "", wrong);
    EXPECT_EQ(bad.status, 403);
    EXPECT_THAT(bad.body, HasSubstr("wrong token"));
    EXPECT_EQ(post_stop(port, "?token=" + wrong, "").status, 403);
    EXPECT_FALSE(stop.load());
    EXPECT_EQ(status_of(port).get<std::string>("stop_requested"), "false");

    const reply ok = post_stop(port, "?token=" + m.token(), "");
    EXPECT_EQ(ok.status, 202);
    EXPECT_THAT(ok.body, HasSubstr("\"stopping\":true"));
    EXPECT_TRUE(stop.load());
    EXPECT_EQ(status_of(port).get<std::string>("stop_requested"), "true");
    stop = false;
    EXPECT_EQ(post_stop(port, "", m.token()).status, 202);
    EXPECT_TRUE(stop.load());
}

TEST(monitor_server, idle_and_slow_connections_are_closed_after_the_timeout) {
    auto opt = quick_options();
    opt.io_timeout = 300ms;
    monitor m(opt, nullptr);
    client idle(m.port());
    client slow(m.port());
    client kept(m.port());
    ASSERT_TRUE(kept.send("GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    // A request dribbled a byte every 50 ms never completes within the timeout.
    const std::string request =
        "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + std::string(200, 'p') + "\r\n\r\n";
    const auto t0 = clock_type::now();
    bool slow_closed = false;
    for (std::size_t k = 0; k < request.size() && !slow_closed; ++k) {
        slow_closed = !slow.send(request.substr(k, 1)) || slow.closed_within(50ms);
    }
    EXPECT_TRUE(slow_closed || slow.closed_within(2s));
    EXPECT_LT(clock_type::now() - t0, 3s);
    EXPECT_TRUE(idle.closed_within(2s));
    EXPECT_TRUE(kept.closed_within(2s));  // answered, then idle
    EXPECT_EQ(parse_reply(kept.data()).status, 200);
    EXPECT_TRUE(eventually([&] { return m.stats().connections == 0; }));
}

TEST(monitor_server, connections_beyond_the_maximum_are_closed_at_once) {
    auto opt = quick_options();
    opt.max_connections = 8;
    monitor m(opt, nullptr);
    std::vector<std::unique_ptr<client>> held;
    for (int k = 0; k < 8; ++k) {
        held.push_back(std::make_unique<client>(m.port()));
    }
    ASSERT_TRUE(eventually([&] { return m.stats().connections == 8; }));
    client extra(m.port());
    EXPECT_TRUE(extra.closed_within(2s));
    EXPECT_EQ(m.stats().rejected, 1u);
    held.clear();
    ASSERT_TRUE(eventually([&] { return m.stats().connections == 0; }));
    EXPECT_EQ(get(m.port(), "/status").status, 200);
}

TEST(monitor_server, an_event_stream_client_that_never_reads_is_dropped) {
    auto opt = quick_options();
    opt.tick = 10ms;
    opt.max_queued_messages = 4;
    monitor m(opt, nullptr);
    glia::run_layout layout;
    layout.dt = 0.1;
    layout.n_steps = 1'000'000'000;
    layout.populations = {{"all", "iaf_psc_exp", 0, 1000, true}};
    m.begin(layout);
    auto stuck = event_stream(m.port(), 2048);  // never read
    auto reader = event_stream(m.port());
    ASSERT_TRUE(eventually([&] { return m.stats().sse_clients == 2; }));

    // Every neuron fires at every step: messages of max_spikes_per_message spikes each.
    std::atomic<bool> feeding{true};
    std::thread producer([&] {
        std::vector<glia::spike_event> batch(1000);
        for (glia::step_t s = 0; feeding; ++s) {
            for (glia::neuron_id i = 0; i < 1000; ++i) {
                batch[i] = {s, i};
            }
            m.spikes(batch);
            if (s % 10 == 0) {
                std::this_thread::sleep_for(1ms);
            }
        }
    });
    std::size_t read_before = 0;
    const bool dropped = eventually(
        [&] {
            reader->read_until([](const std::string&) { return false; }, 5ms);
            read_before = events_in(reader->data()).size();
            return m.stats().dropped_clients >= 1;
        },
        20s);
    // The reader goes on receiving after the other was dropped.
    EXPECT_TRUE(reader->read_until(
        [&](const std::string& d) { return events_in(d).size() >= read_before + 5; }, 5s));
    feeding = false;
    producer.join();
    ASSERT_TRUE(dropped);
    EXPECT_EQ(m.stats().sse_clients, 1u);
    EXPECT_TRUE(stuck->closed_within(5s));  // what it had in its buffers, then the end
    const auto events = events_in(reader->data());
    ASSERT_GE(events.size(), 5u);
    const ptree last = parse_json(events.back());
    EXPECT_GT(last.get_child("spikes").size(), 0u);
    EXPECT_LE(last.get_child("spikes").size(), opt.max_spikes_per_message);
}

TEST(monitor_server, shuts_down_within_its_grace_period_despite_a_stuck_client) {
    auto opt = quick_options();
    opt.tick = 10ms;
    opt.max_queued_messages = 1'000'000;  // never dropped: it is still there at the end
    auto m = std::make_unique<monitor>(opt, nullptr);
    glia::run_layout layout;
    layout.dt = 0.1;
    layout.n_steps = 1'000'000'000;
    layout.populations = {{"all", "iaf_psc_exp", 0, 1000, true}};
    m->begin(layout);
    auto stuck = event_stream(m->port(), 2048);
    client idle(m->port());
    ASSERT_TRUE(eventually([&] { return m->stats().sse_clients == 1; }));
    // Big messages (10,000 spikes, ~200 kB each) until far more than the socket buffers hold.
    std::vector<glia::spike_event> batch(1000);
    const auto deadline = clock_type::now() + 15s;
    for (glia::step_t s = 0; m->stats().messages <= 50 && clock_type::now() < deadline; ++s) {
        for (glia::neuron_id i = 0; i < 1000; ++i) {
            batch[i] = {s, i};
        }
        m->spikes(batch);
        if (s % 10 == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    ASSERT_GT(m->stats().messages, 50u);
    EXPECT_EQ(m->stats().sse_clients, 1u);
    const auto t0 = clock_type::now();
    m.reset();
    const auto took = clock_type::now() - t0;
    EXPECT_GE(took, 900ms) << "the client was not stuck: the test proves nothing";
    EXPECT_LT(took, 3s);
    EXPECT_TRUE(idle.closed_within(1s));
}

// --- the glia executable with --monitor ---

namespace {

// A network of 1000 neurons, fast enough to run many simulated seconds per wall second.
std::string network_config(const std::string& output, const std::string& duration) {
    return "simulation:\n"
           "  dt: 0.1 ms\n"
           "  duration: " +
           duration +
           "\n"
           "  seed: 7\n"
           "populations:\n"
           "  exc:\n"
           "    model: iaf_psc_exp\n"
           "    size: 800\n"
           "    params: {E_L: -65 mV, V_th: -50 mV, V_reset: -65 mV, t_ref: 2 ms, tau_m: 20 ms,"
           " C_m: 250 pF}\n"
           "    initial: {V_m: {uniform: {low: -65 mV, high: -50 mV}}}\n"
           "  inh:\n"
           "    model: iaf_psc_exp\n"
           "    size: 200\n"
           "projections:\n"
           "  ee: {source: exc, target: exc, rule: pairwise_bernoulli, p: 0.02, weight: 30 pA,"
           " delay: 1.5 ms}\n"
           "  ie: {source: inh, target: exc, rule: fixed_indegree, indegree: 5, weight: -40 pA,"
           " delay: {uniform: {low: 0.5 ms, high: 2 ms}}}\n"
           "inputs:\n"
           "  drive: {type: poisson_generator, target: exc, rate: 8 kHz, weight: 40 pA}\n"
           "  bias: {type: dc_generator, target: inh, amplitude: 500 pA}\n"
           "record:\n"
           "  spikes: all\n"
           "output:\n"
           "  file: " +
           output + "\n";
}

// `glia ARGS...` in a child process, stdout and stderr into a log file.
class glia_process {
public:
    glia_process(const std::vector<std::string>& args, std::string log): log_(std::move(log)) {
        std::vector<std::string> all{GLIA_EXECUTABLE};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a: all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        fs::remove(log_);  // never read an earlier run's log
        pid_ = fork();
        if (pid_ == 0) {
            const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1);
            dup2(fd, 2);
            execv(GLIA_EXECUTABLE, argv.data());
            _exit(127);
        }
    }
    glia_process(const glia_process&) = delete;
    glia_process& operator=(const glia_process&) = delete;
    ~glia_process() {
        if (pid_ > 0 && code_ == not_exited) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }

    pid_t pid() const { return pid_; }

    std::string log() const {
        std::ifstream f(log_);
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }

    // Waits for "monitor: http://127.0.0.1:PORT/ (stop token: TOKEN)" in the log.
    bool wait_for_monitor(std::chrono::milliseconds timeout = 30s) {
        static const std::regex line(
            R"(monitor: http://127\.0\.0\.1:(\d+)/ \(stop token: ([0-9a-f]+)\))");
        return eventually(
            [&] {
                std::smatch m;
                const std::string text = log();
                if (!std::regex_search(text, m, line)) {
                    return false;
                }
                port = static_cast<std::uint16_t>(std::stoi(m[1]));
                token = m[2];
                return true;
            },
            timeout);
    }

    bool running() {
        poll_exit();
        return code_ == not_exited;
    }

    // The exit code, or -1 after `timeout` (the process is then killed).
    int wait(std::chrono::milliseconds timeout = 60s) {
        if (!eventually([&] { return !running(); }, timeout)) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            code_ = -1;
        }
        return code_;
    }

    std::uint16_t port = 0;
    std::string token;

private:
    static constexpr int not_exited = -1000;

    void poll_exit() {
        if (code_ != not_exited) {
            return;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
    }

    std::string log_;
    pid_t pid_ = -1;
    int code_ = not_exited;
};

std::vector<std::string> thread_names(pid_t pid) {
    std::vector<std::string> out;
    for (const auto& e: fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream f(e.path() / "comm");
        std::string name;
        std::getline(f, name);
        out.push_back(name);
    }
    return out;
}

int socket_count(pid_t pid) {
    int n = 0;
    for (const auto& e: fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        const auto target = fs::read_symlink(e.path(), ec);
        n += !ec && target.string().starts_with("socket:") ? 1 : 0;
    }
    return n;
}

ptree read_json_file(const std::string& path) {
    std::ifstream f(path);
    ptree t;
    boost::property_tree::read_json(f, t);
    return t;
}

class monitor_cli: public testing::Test {
protected:
    void SetUp() override {
        const auto* info = testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() /
               ("glia_monitor_" + std::to_string(getpid()) + "_" + info->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path(name)) << text;
        return path(name);
    }

    fs::path dir_;
};

}  // namespace

// A real simulation feeding the monitor and a memory sink through the tee: the stream carries
// spikes the run emitted, the final status its counts and rates.
TEST_F(monitor_cli, in_process_monitor_follows_a_real_simulation) {
    glia::model_registry models;
    glia::models::register_builtin_models(models);
    const auto spec = glia::io::load_experiment(
        write("run.yaml", network_config(path("unused.h5"), "3000 ms")), {}, models);
    glia::simulation sim(spec, models, glia::test::quiet_context(1, 1));

    auto opt = quick_options();
    opt.tick = 20ms;
    opt.raster_rows = 100;  // 50 per population: 1 in 16 of exc, 1 in 4 of inh
    monitor m(opt, nullptr);
    glia::memory_sink mem;
    glia::runtime::tee_sink tee(m, mem);
    auto stream = event_stream(m.port());
    glia::run_control control;
    control.progress_interval = 0.02;
    control.on_progress = [&](const glia::progress_info& p) {
        m.progress(p);
    };
    std::vector<std::uint64_t> polled;
    auto run = std::async(std::launch::async, [&] { return sim.run(tee, control); });
    while (run.wait_for(5ms) != std::future_status::ready) {
        stream->read_until([](const std::string&) { return false; }, 20ms);
    }
    const glia::run_summary summary = run.get();
    stream->read_until([](const std::string&) { return false; }, 200ms);

    std::set<std::pair<glia::neuron_id, glia::step_t>> emitted;
    std::vector<std::uint64_t> counts(2, 0);
    for (const auto& s: mem.recorded_spikes) {
        emitted.insert({s.gid, s.step});
        ++counts[s.gid < 800 ? 0 : 1];
    }
    ASSERT_GT(mem.recorded_spikes.size(), 1000u);

    // The stream: status steps never go back; every spike shown was emitted, by a shown neuron.
    const auto events = events_in(stream->data());
    ASSERT_GE(events.size(), 3u);
    glia::step_t last_step = 0;
    std::size_t shown = 0;
    for (const auto& e: events) {
        const ptree msg = parse_json(e);
        const auto step = msg.get<glia::step_t>("status.step");
        EXPECT_GE(step, last_step);
        last_step = step;
        for (const auto& [k, sp]: msg.get_child("spikes")) {
            const auto v = numbers_of(sp);
            ASSERT_EQ(v.size(), 3u);
            const auto pop = static_cast<int>(v[0]);
            const auto node = static_cast<glia::neuron_id>(v[1]);
            EXPECT_EQ(node % (pop == 0 ? 16u : 4u), 0u);
            const auto gid = node + (pop == 0 ? 0u : 800u);
            const auto spike_step = static_cast<glia::step_t>(std::llround(v[2] / 0.1)) - 1;
            EXPECT_TRUE(emitted.contains({gid, spike_step})) << gid << " " << v[2];
            ++shown;
        }
    }
    EXPECT_GT(shown, 0u);

    // The final status: the run's counts, and rates over its last 200 ms.
    const ptree st = status_of(m.port());
    EXPECT_EQ(st.get<std::string>("status"), "complete");
    EXPECT_EQ(st.get<glia::step_t>("step"), 30000);
    EXPECT_EQ(st.get<std::uint64_t>("spikes"), mem.recorded_spikes.size());
    EXPECT_EQ(st.get<std::uint64_t>("synaptic_events"), summary.synaptic_events);
    const auto window = numbers_of(st.get_child("rate_window_ms"));
    EXPECT_DOUBLE_EQ(window.at(0), 2800.0);
    EXPECT_DOUBLE_EQ(window.at(1), 3000.0);
    std::vector<double> expected(2, 0.0);
    for (const auto& s: mem.recorded_spikes) {
        if (s.step >= 28000) {
            expected[s.gid < 800 ? 0 : 1] += 1;
        }
    }
    expected[0] /= 800 * 0.2;
    expected[1] /= 200 * 0.2;
    int p = 0;
    for (const auto& [k, v]: st.get_child("populations")) {
        EXPECT_EQ(v.get<std::uint64_t>("spikes"), counts[static_cast<std::size_t>(p)]);
        EXPECT_NEAR(v.get<double>("rate_hz"), expected[static_cast<std::size_t>(p)],
                    1e-5 * expected[static_cast<std::size_t>(p)] + 1e-9);
        ++p;
    }
}

TEST_F(monitor_cli, status_and_stream_agree_with_the_output_file) {
    const std::string out = path("run.h5");
    const std::string cfg = write("run.yaml", network_config(out, "12 s"));
    glia_process glia({"run", cfg, "--monitor", "127.0.0.1:0", "--threads", "1", "--no-progress"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    auto stream = event_stream(glia.port);

    // Poll /status while the run goes on; read the stream until the server closes it.
    std::vector<ptree> statuses;
    while (glia.running()) {
        const reply r = get(glia.port, "/status");
        if (r.status == 200) {
            statuses.push_back(parse_json(r.body));
        }
        stream->read_until([](const std::string&) { return false; }, 50ms);
    }
    EXPECT_TRUE(stream->closed_within(5s));
    ASSERT_EQ(glia.wait(), 0) << glia.log();
    ASSERT_GE(std::count_if(statuses.begin(), statuses.end(),
                            [](const ptree& st) { return st.get<std::string>("status") != "starting"; }),
              3) << "the run was too short to watch";

    glia::step_t step = 0;
    std::uint64_t spikes = 0;
    std::vector<std::uint64_t> pop_spikes(2, 0);
    for (const auto& st: statuses) {
        if (st.get<std::string>("status") == "starting") {  // polled while the network was built
            EXPECT_EQ(st.get<glia::step_t>("step"), 0);
            continue;
        }
        EXPECT_EQ(st.get<glia::step_t>("n_steps"), 120000);
        EXPECT_DOUBLE_EQ(st.get<double>("t_ms"), 0.1 * st.get<double>("step"));
        EXPECT_GE(st.get<glia::step_t>("step"), step);
        EXPECT_GE(st.get<std::uint64_t>("spikes"), spikes);
        step = st.get<glia::step_t>("step");
        spikes = st.get<std::uint64_t>("spikes");
        std::size_t p = 0;
        for (const auto& [k, v]: st.get_child("populations")) {
            EXPECT_GE(v.get<std::uint64_t>("spikes"), pop_spikes[p]);
            pop_spikes[p] = v.get<std::uint64_t>("spikes");
            ++p;
        }
    }

    // The stream: messages with spikes that are in the file, and a last message that says
    // "complete" with the file's counts.
    const auto events = events_in(stream->data());
    ASSERT_GE(events.size(), 3u);
    const glia::io::spike_data file_spikes[2] = {glia::io::read_spikes(out, "exc"),
                                                 glia::io::read_spikes(out, "inh")};
    std::set<std::pair<std::uint64_t, long long>> in_file[2];
    for (int p = 0; p < 2; ++p) {
        for (std::size_t k = 0; k < file_spikes[p].node_ids.size(); ++k) {
            in_file[p].insert(
                {file_spikes[p].node_ids[k], std::llround(file_spikes[p].timestamps[k] * 10)});
        }
    }
    std::size_t streamed = 0;
    for (const auto& e: events) {
        const ptree msg = parse_json(e);
        for (const auto& [k, sp]: msg.get_child("spikes")) {
            const auto v = numbers_of(sp);
            const auto p = static_cast<int>(v.at(0));
            EXPECT_TRUE(in_file[p].contains(
                {static_cast<std::uint64_t>(v.at(1)), std::llround(v.at(2) * 10)}))
                << p << " " << v.at(1) << " " << v.at(2);
            ++streamed;
        }
    }
    EXPECT_GT(streamed, 100u);
    const ptree last = parse_json(events.back()).get_child("status");
    EXPECT_EQ(last.get<std::string>("status"), "complete");
    EXPECT_EQ(last.get<glia::step_t>("step"), 120000);
    std::uint64_t total = 0;
    int p = 0;
    for (const auto& [k, v]: last.get_child("populations")) {
        EXPECT_EQ(v.get<std::uint64_t>("spikes"), file_spikes[p].node_ids.size());
        EXPECT_GE(v.get<std::uint64_t>("spikes"), pop_spikes[static_cast<std::size_t>(p)]);
        total += v.get<std::uint64_t>("spikes");
        ++p;
    }
    EXPECT_EQ(last.get<std::uint64_t>("spikes"), total);
    EXPECT_GE(total, spikes);
}

TEST_F(monitor_cli, stop_needs_the_token_and_ends_the_run_like_sigterm) {
    const std::string out = path("run.h5");
    const std::string cfg = write("run.yaml", network_config(out, "1000 s"));
    glia_process glia({"run", cfg, "--monitor", "127.0.0.1:0", "--threads", "1", "--no-progress"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    EXPECT_EQ(post_stop(glia.port, "", "").status, 403);
    EXPECT_EQ(post_stop(glia.port, "", std::string(glia.token.size(), '0')).status, 403);
    std::this_thread::sleep_for(300ms);
    EXPECT_TRUE(glia.running());
    EXPECT_EQ(status_of(glia.port).get<std::string>("status"), "running");

    EXPECT_EQ(post_stop(glia.port, "", glia.token).status, 202);
    EXPECT_EQ(glia.wait(), 3) << glia.log();
    EXPECT_THAT(glia.log(), HasSubstr("stopped from the monitor at t = "));
    const auto info = glia::io::read_run_info(out);
    EXPECT_EQ(info.status, "interrupted");
    EXPECT_GT(info.steps_done, 0);
    EXPECT_LT(info.steps_done, info.n_steps);
}

TEST_F(monitor_cli, a_bad_or_busy_address_is_a_user_error_and_writes_nothing) {
    const std::string out = path("run.h5");
    const std::string cfg = write("run.yaml", network_config(out, "100 ms"));
    glia_process bad({"run", cfg, "--monitor", "example.org:80"}, path("log1"));
    EXPECT_EQ(bad.wait(), 1);
    EXPECT_THAT(bad.log(), HasSubstr("--monitor 'example.org:80': 'example.org' is not a numeric "
                                     "IP address"));
    EXPECT_FALSE(fs::exists(out));

    const int busy = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(busy, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(busy, 1), 0);
    socklen_t len = sizeof a;
    getsockname(busy, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string port = std::to_string(ntohs(a.sin_port));
    glia_process taken({"run", cfg, "--monitor", "127.0.0.1:" + port}, path("log2"));
    EXPECT_EQ(taken.wait(), 1);
    ::close(busy);
    EXPECT_THAT(taken.log(), HasSubstr("monitor: cannot listen on 127.0.0.1:" + port + ": "));
    EXPECT_FALSE(fs::exists(out));
}

TEST_F(monitor_cli, without_monitor_no_thread_and_no_socket_is_opened) {
    const std::string cfg = write("run.yaml", network_config(path("run.h5"), "1000 s"));
    struct seen {
        std::vector<std::string> threads;
        int sockets = 0;
    };
    auto watch = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args{"run",          cfg, "--threads",     "1",
                                      "--partitions", "1", "--no-progress", "-o",
                                      path("run.h5")};
        args.insert(args.end(), extra.begin(), extra.end());
        glia_process glia(args, path("log"));
        // Running: the output file exists, then a moment for every thread to start.
        EXPECT_TRUE(eventually([&] { return fs::exists(path("run.h5")); }, 30s)) << glia.log();
        std::this_thread::sleep_for(500ms);
        seen s{thread_names(glia.pid()), socket_count(glia.pid())};
        kill(glia.pid(), SIGTERM);
        EXPECT_EQ(glia.wait(), 3) << glia.log();
        fs::remove(path("run.h5"));
        return s;
    };
    const seen off = watch({});
    const seen on = watch({"--monitor", "127.0.0.1:0"});
    EXPECT_EQ(off.sockets, 0);
    EXPECT_EQ(std::count(off.threads.begin(), off.threads.end(), "glia-monitor"), 0);
    EXPECT_EQ(on.sockets, 1);  // the listening socket
    EXPECT_EQ(std::count(on.threads.begin(), on.threads.end(), "glia-monitor"), 1);
    EXPECT_EQ(on.threads.size(), off.threads.size() + 1);
}

// 100 idle connections, an event-stream client that never reads, a slow-loris request and a
// stream of malformed, oversized and status requests against a run with a monitor, side by
// side with the same run without one: each with one engine thread, for 2 s of wall time,
// stopped by SIGTERM; steps/s from --stats (the simulation loop only). Side by side, a
// background load on this 2-core machine (another test suite, a compiler) slows both alike, so
// what differs is what the abuse does to the run. Two rounds, steps and seconds summed.
// Criterion: with the abuse, at least 1/1.5 of the steps/s without a monitor.
TEST_F(monitor_cli, hostile_clients_do_not_slow_the_run) {
    const std::string cfg = write("run.yaml", network_config(path("unused.h5"), "1000 s"));
    double steps[2] = {0, 0};  // without, with the abuse
    double seconds[2] = {0, 0};
    for (int round = 0; round < 2; ++round) {
        auto args = [&](int k) {
            const std::string tag = std::to_string(round) + (k == 0 ? "without" : "with");
            std::vector<std::string> a{"run",
                                       cfg,
                                       "--threads",
                                       "1",
                                       "--no-progress",
                                       "--stats",
                                       path(tag + ".json"),
                                       "-o",
                                       path(tag + ".h5")};
            if (k == 1) {
                a.insert(a.end(), {"--monitor", "127.0.0.1:0"});
            }
            return a;
        };
        glia_process quiet(args(0), path("log_without" + std::to_string(round)));
        glia_process abused(args(1), path("log_with" + std::to_string(round)));
        ASSERT_TRUE(abused.wait_for_monitor()) << abused.log();
        std::vector<std::unique_ptr<client>> idle;
        for (int k = 0; k < 100; ++k) {
            idle.push_back(std::make_unique<client>(abused.port));
        }
        const auto stuck = event_stream(abused.port, 2048);
        std::atomic<bool> abusing{true};
        std::atomic<int> answered{0};
        std::thread hostile([&, port = abused.port] {
            client slow(port);
            const std::string dribble = "GET /status HTTP/1.1\r\nX-Slow: ";
            for (std::size_t k = 0; abusing; ++k) {
                slow.send(k < dribble.size() ? dribble.substr(k, 1) : "x");
                http_exchange(port, "NONSENSE\r\n\r\n", 1s);
                http_exchange(
                    port, "GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", 1s);
                answered += get(port, "/status").status == 200 ? 1 : 0;
                std::this_thread::sleep_for(20ms);
            }
        });
        std::this_thread::sleep_for(2s);
        kill(quiet.pid(), SIGTERM);
        kill(abused.pid(), SIGTERM);
        const int quiet_code = quiet.wait();
        const int abused_code = abused.wait();
        abusing = false;
        hostile.join();
        ASSERT_EQ(quiet_code, 3) << quiet.log();
        ASSERT_EQ(abused_code, 3) << abused.log();
        EXPECT_GT(answered.load(), 10) << "the monitor stopped answering under abuse";
        for (int k = 0; k < 2; ++k) {
            const std::string tag = std::to_string(round) + (k == 0 ? "without" : "with");
            const ptree s = read_json_file(path(tag + ".json"));
            steps[k] += s.get<double>("steps");
            seconds[k] += s.get<double>("wall_seconds");
        }
    }
    const double without = steps[0] / seconds[0];
    const double with_abuse = steps[1] / seconds[1];
    std::cout << "steps/s without monitor " << without << ", with monitor under abuse "
              << with_abuse << " (ratio " << with_abuse / without << ")\n";
    RecordProperty("steps_per_s_without_monitor", std::to_string(without));
    RecordProperty("steps_per_s_with_monitor_under_abuse", std::to_string(with_abuse));
    EXPECT_GT(with_abuse, without / 1.5);
}

namespace {

bool have_chromium() {
    return fs::exists("/usr/bin/chromium") && fs::exists("/usr/bin/chromedriver") &&
           !std::string(GLIA_PYTHON).empty();
}

// Runs tests/integration/monitor_browser.py on the page at `port`: what the page showed,
// twice 1.5 s apart ("first", "second"); the screenshot goes to <build>/test-artifacts/`png`.
ptree browse(std::uint16_t port, const std::string& png) {
    const std::string shot = std::string(GLIA_BINARY_DIR) + "/test-artifacts/" + png;
    fs::remove(shot);
    const std::string cmd =
        std::string(GLIA_PYTHON) + " " + GLIA_SOURCE_DIR +
        "/tests/integration/monitor_browser.py http://127.0.0.1:" + std::to_string(port) + "/ " +
        shot;
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) {
        ADD_FAILURE() << "cannot run " << cmd;
        return {};
    }
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        text.append(buf, n);
    }
    EXPECT_EQ(pclose(p), 0) << text;
    ptree r = parse_json(text);
    EXPECT_TRUE(fs::exists(shot));
    if (fs::exists(shot)) {
        std::ifstream f(shot, std::ios::binary);
        char magic[8] = {};
        f.read(magic, 8);
        EXPECT_EQ(std::string(magic + 1, 3), "PNG");
        EXPECT_GT(fs::file_size(shot), 10'000u);
    }
    return r;
}

}  // namespace

// The page in headless Chromium (driven by tests/integration/monitor_browser.py through
// chromedriver) draws spikes while the run goes on; the screenshot is kept under
// <build>/test-artifacts/monitor.png.
TEST_F(monitor_cli, browser_page_draws_a_live_raster) {
    if (!have_chromium()) {
        GTEST_SKIP() << "no chromium/chromedriver (Debian packages chromium, chromium-driver)";
    }
    const std::string cfg = write("run.yaml", network_config(path("run.h5"), "1000 s"));
    glia_process glia({"run", cfg, "--monitor", "127.0.0.1:0", "--threads", "1", "--no-progress"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    const ptree r = browse(glia.port, "monitor.png");
    EXPECT_EQ(post_stop(glia.port, "", glia.token).status, 202);
    EXPECT_EQ(glia.wait(), 3) << glia.log();
    ASSERT_FALSE(r.empty());

    const ptree& a = r.get_child("first");
    const ptree& b = r.get_child("second");
    EXPECT_EQ(a.get<std::string>("title"), "glia monitor");
    EXPECT_EQ(b.get<std::string>("state"), "running");
    EXPECT_GE(a.get<int>("messages"), 2);
    EXPECT_GT(b.get<int>("messages"), a.get<int>("messages"));
    EXPECT_GT(a.get<long>("drawn"), 0);
    EXPECT_GT(b.get<long>("drawn"), a.get<long>("drawn"));  // the raster keeps updating
    EXPECT_EQ(b.get<std::string>("drawn_text"), b.get<std::string>("drawn"));
    EXPECT_GT(a.get<long>("ink"), 0);                       // pixels on the canvas
    EXPECT_NE(a.get<long>("hash"), b.get<long>("hash"));    // and they changed
    EXPECT_EQ(b.get<std::string>("astro_hidden"), "true");  // no astrocytes in this run
    for (const auto& [k, v]: b.get_child("resources")) {    // nothing from elsewhere
        EXPECT_TRUE(v.get_value<std::string>().starts_with(
            "http://127.0.0.1:" + std::to_string(glia.port) + "/"))
            << v.get_value<std::string>();
    }
}

// A monitor fed by hand with an astrocyte signal and reservoir figures (what later subsystems
// will publish): the page draws the trace and shows the figures.
TEST_F(monitor_cli, browser_page_draws_the_astrocyte_trace_when_published) {
    if (!have_chromium()) {
        GTEST_SKIP() << "no chromium/chromedriver (Debian packages chromium, chromium-driver)";
    }
    monitor m(monitor_options{}, nullptr);
    auto layout = layout_abc();
    layout.n_steps = 1'000'000'000;
    m.begin(layout);
    std::atomic<bool> feeding{true};
    std::thread producer([&] {
        glia::progress_info p;
        p.n_steps = layout.n_steps;
        for (glia::step_t s = 0; feeding; s += 100) {
            m.spikes(spikes_abc(s, s + 100));
            p.step = s + 100;
            m.progress(p);
            const double ca = 0.1 + 0.05 * std::sin(static_cast<double>(s) * 1e-3);
            m.publish_section("astrocytes", "{\"ca_uM\": " + std::to_string(ca) + "}");
            m.publish_section("reservoir", "{\"trained\": " + std::to_string(s / 1000) + "}");
            std::this_thread::sleep_for(10ms);
        }
    });
    const ptree r = browse(m.port(), "monitor_astrocytes.png");
    feeding = false;
    producer.join();
    ASSERT_FALSE(r.empty());
    const ptree& b = r.get_child("second");
    EXPECT_EQ(b.get<std::string>("astro_hidden"), "false");
    EXPECT_GT(b.get<long>("astro_ink"), 0);
    EXPECT_THAT(b.get<std::string>("astro_legend"), HasSubstr("ca_uM = "));
    EXPECT_THAT(b.get<std::string>("reservoir"), HasSubstr("\"trained\""));
    EXPECT_GT(b.get<long>("drawn"), r.get<long>("first.drawn"));
}

// --- a NALSM run (a two_phase protocol) with --monitor ---

namespace {


// As test_reservoir_cli.cpp: skipped without Fashion-MNIST, a failure with GLIA_REQUIRE_DATA=1.
class monitor_reservoir: public monitor_cli {
protected:
    void SetUp() override {
        if (const std::string why = glia::test::missing_fashion_mnist(); !why.empty()) {
            GTEST_SKIP() << why;
        }
        monitor_cli::SetUp();
    }

    static std::string tiny_config() {
        return std::string(GLIA_SOURCE_DIR) + "/configs/nalsm_tiny.yaml";
    }
};

}  // namespace

// configs/nalsm_tiny.yaml (phase A 600 x 20 ms, phase B 1000 x 100 ms) on one thread: /status
// polled and the event stream read during the run; phase B's samples advance, the phase
// changes, and the last message (complete) holds the file's samples, accuracies and figures.
TEST_F(monitor_reservoir, status_follows_the_phases_and_ends_with_the_file_s_figures) {
    const std::string out = path("tiny.h5");
    glia_process glia({"run", tiny_config(), "-o", out, "--monitor", "127.0.0.1:0", "--threads",
                       "1", "--no-progress"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    auto stream = event_stream(glia.port);
    std::vector<ptree> polled;
    while (glia.running()) {
        const reply r = get(glia.port, "/status");
        if (r.status == 200) {
            polled.push_back(parse_json(r.body));
        }
        stream->read_until([](const std::string&) { return false; }, 20ms);
    }
    EXPECT_TRUE(stream->closed_within(5s));
    ASSERT_EQ(glia.wait(), 0) << glia.log();
    std::vector<ptree> streamed;
    for (const auto& e: events_in(stream->data())) {
        streamed.push_back(parse_json(e).get_child("status"));
    }
    ASSERT_GE(polled.size() + streamed.size(), 3u) << "the run was too short to watch";
    ASSERT_FALSE(streamed.empty());

    // The run's steps: 600 x 20 + 1000 x 100 steps of 1 ms.
    const glia::step_t n_steps = 600 * 20 + 1000 * 100;
    std::set<std::size_t> samples_in_b;
    std::vector<std::string> phases;  // in the stream's order
    for (const auto* statuses: {&polled, &streamed}) {
        glia::step_t step = 0;
        for (const auto& st: *statuses) {
            if (st.get<std::string>("status") == "starting") {  // dataset and liquid
                EXPECT_EQ(st.get<std::string>("reservoir"), "null");
                continue;
            }
            // The status turns "running" when the run begins; its first "reservoir" section
            // follows with the next hand-over (the engine never waits for the server).
            if (st.get<std::string>("reservoir") == "null") {
                continue;
            }
            EXPECT_EQ(st.get<glia::step_t>("n_steps"), n_steps);
            EXPECT_EQ(st.get<double>("dt_ms"), 1.0);
            const ptree& res = st.get_child("reservoir");
            const std::string phase = res.get<std::string>("phase");
            if (statuses == &streamed && (phases.empty() || phases.back() != phase)) {
                phases.push_back(phase);
            }
            const auto done = res.get<std::size_t>("samples_done");
            if (phase == "B") {
                EXPECT_EQ(res.get<std::size_t>("samples_total"), 1000u);
                // Phase A is done; each sample of phase B is 100 steps (the progress can be
                // handed over to the server one call before the section).
                EXPECT_GE(st.get<glia::step_t>("step"), 600 * 20 + 100 * static_cast<long>(done));
                if (done > 0) {  // before the first block: null
                    EXPECT_GT(res.get<double>("state_rate_hz"), 0);
                }
                EXPECT_GE(st.get<double>("astrocytes.A"), 0);  // phase A's last, then B's
                samples_in_b.insert(done);
            }
            EXPECT_GE(st.get<glia::step_t>("step"), step);
            step = st.get<glia::step_t>("step");
        }
    }
    // At least two different points in phase B were seen, then the readouts.
    EXPECT_GE(samples_in_b.size(), 2u) << glia.log();
    ASSERT_GE(phases.size(), 2u);
    EXPECT_EQ(phases.back(), "readout");
    EXPECT_NE(std::find(phases.begin(), phases.end(), "B"), phases.end());

    const glia::io::reservoir_summary file = glia::io::read_reservoir_summary(out);
    ASSERT_EQ(file.status, "complete");
    std::uint64_t samples = 0;
    for (const auto& part: file.parts) {
        samples += part.samples_done;
    }
    const ptree& last = streamed.back();
    EXPECT_EQ(last.get<std::string>("status"), "complete");
    EXPECT_EQ(last.get<glia::step_t>("step"), n_steps);
    EXPECT_EQ(last.get<double>("progress"), 1.0);
    const ptree& res = last.get_child("reservoir");
    EXPECT_EQ(res.get<std::string>("phase"), "readout");
    EXPECT_EQ(res.get<std::uint64_t>("samples_done"), samples);
    EXPECT_EQ(res.get<std::uint64_t>("samples_total"), samples);
    EXPECT_EQ(res.get<double>("accuracy_test"), file.metric("accuracy_test"));
    EXPECT_EQ(res.get<std::string>("accuracy_test_readout"), "softmax");
    EXPECT_EQ(res.get<double>("softmax.accuracy_test"), file.metric("softmax_accuracy_test"));
    EXPECT_EQ(res.get<double>("softmax.accuracy_validation"),
              file.metric("softmax_accuracy_validation"));
    EXPECT_EQ(res.get<double>("softmax.best_epoch"), file.metric("softmax_best_epoch"));
    EXPECT_EQ(res.get<double>("softmax.epochs_run"), file.metric("softmax_epochs_run"));
    EXPECT_EQ(res.get<double>("ridge.accuracy_test"), file.metric("ridge_accuracy_test"));
    EXPECT_EQ(res.get<double>("ridge.lambda"), file.metric("ridge_lambda"));
    EXPECT_EQ(res.get<double>("branching_factor"), file.metric("branching_factor"));
    EXPECT_DOUBLE_EQ(res.get<double>("state_rate_hz"), file.metric("state_rate_hz"));
    EXPECT_GT(last.get<std::uint64_t>("spikes"), 0u);
    EXPECT_GE(last.get<double>("astrocytes.A"), 0);
}

// A timeseries protocol (configs/mc_izhikevich.yaml, 2,000 steps of 5 ms = 20,000 steps of
// 0.5 ms) reports phase "series" with its steps advancing while the network runs, then
// "readout"; the last message is complete at the last step with the file's state rate.
TEST_F(monitor_cli, timeseries_runs_report_the_series_progress) {
    const std::string out = path("mc.h5");
    glia_process glia({"run", std::string(GLIA_SOURCE_DIR) + "/configs/mc_izhikevich.yaml", "-o",
                       out, "--monitor", "127.0.0.1:0", "--threads", "1", "--no-progress",
                       "--set", "protocol.task.steps=2000"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    auto stream = event_stream(glia.port);
    while (glia.running()) {
        stream->read_until([](const std::string&) { return false; }, 20ms);
    }
    EXPECT_TRUE(stream->closed_within(5s));
    ASSERT_EQ(glia.wait(), 0) << glia.log();
    std::vector<ptree> streamed;
    for (const auto& e: events_in(stream->data())) {
        streamed.push_back(parse_json(e).get_child("status"));
    }
    ASSERT_FALSE(streamed.empty());
    const glia::step_t n_steps = 2000 * 10;
    glia::step_t step = 0;
    bool saw_series = false;
    for (const auto& st: streamed) {
        if (st.get<std::string>("reservoir") == "null") {
            continue;
        }
        EXPECT_EQ(st.get<glia::step_t>("n_steps"), n_steps);
        EXPECT_GE(st.get<glia::step_t>("step"), step);
        step = st.get<glia::step_t>("step");
        saw_series = saw_series || st.get<std::string>("reservoir.phase") == "series";
    }
    EXPECT_TRUE(saw_series) << glia.log();
    const ptree& last = streamed.back();
    EXPECT_EQ(last.get<std::string>("status"), "complete");
    EXPECT_EQ(last.get<glia::step_t>("step"), n_steps);
    EXPECT_EQ(last.get<std::string>("reservoir.phase"), "readout");
    EXPECT_EQ(last.get<std::size_t>("reservoir.samples_done"), 1u);
    const glia::io::reservoir_summary file = glia::io::read_reservoir_summary(out);
    EXPECT_EQ(file.status, "complete");
    EXPECT_NEAR(last.get<double>("reservoir.state_rate_hz"), file.metric("state_rate_hz"),
                1e-9 * file.metric("state_rate_hz"));
}

// POST /stop with the token, during phase B: exit code 3 and a readable file holding the
// finished blocks, as after Ctrl-C.
TEST_F(monitor_reservoir, stop_ends_the_run_like_ctrl_c) {
    const std::string out = path("tiny.h5");
    glia_process glia({"run", tiny_config(), "-o", out, "--monitor", "127.0.0.1:0", "--threads",
                       "1", "--no-progress", "--set",
                       "protocol.dataset.limit={train: 5000, validation: 200, test: 200}", "--set",
                       "readout.method=ridge"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    ASSERT_TRUE(eventually(
        [&] {
            const reply r = get(glia.port, "/status");
            if (r.status != 200) {
                return false;
            }
            const ptree st = parse_json(r.body);
            return st.get<std::string>("status") == "running" &&
                   st.get<std::string>("reservoir.phase", "") == "B" &&
                   st.get<std::size_t>("reservoir.samples_done", 0) > 0;
        },
        60s))
        << glia.log();
    EXPECT_EQ(post_stop(glia.port, "", "").status, 403);
    EXPECT_EQ(post_stop(glia.port, "", glia.token).status, 202);
    EXPECT_EQ(glia.wait(), 3) << glia.log();
    EXPECT_THAT(glia.log(), HasSubstr("stopped from the monitor during phase B; " + out +
                                      " holds everything finished so far"));
    const glia::io::reservoir_summary file = glia::io::read_reservoir_summary(out);
    EXPECT_EQ(file.status, "interrupted");
    ASSERT_FALSE(file.parts.empty());
    EXPECT_EQ(file.parts[0].name, "train");
    EXPECT_GT(file.parts[0].samples_done, 0u);
    EXPECT_LT(file.parts[0].samples_done, 5000u);
    EXPECT_EQ(glia::io::read_reservoir_features(out, "train").size(),
              file.parts[0].samples_done * file.parts[0].width);
}

TEST_F(monitor_reservoir, a_bad_address_is_a_user_error_and_writes_nothing) {
    const std::string out = path("tiny.h5");
    glia_process bad({"run", tiny_config(), "-o", out, "--monitor", "example.org:80"},
                     path("log"));
    EXPECT_EQ(bad.wait(), 1);
    EXPECT_THAT(bad.log(), HasSubstr("--monitor 'example.org:80': 'example.org' is not a numeric "
                                     "IP address"));
    EXPECT_FALSE(fs::exists(out));
}

// The page of a reservoir run in headless Chromium, during phase B: the astrocyte trace (A)
// is drawn, the reservoir card shows the phase; the raster stays empty.
TEST_F(monitor_reservoir, browser_page_shows_the_phase_and_the_astrocyte_trace) {
    if (!have_chromium()) {
        GTEST_SKIP() << "no chromium/chromedriver (Debian packages chromium, chromium-driver)";
    }
    glia_process glia({"run", tiny_config(), "-o", path("tiny.h5"), "--monitor", "127.0.0.1:0",
                       "--threads", "1", "--no-progress", "--set",
                       "protocol.dataset.limit={train: 30000, validation: 200, test: 200}",
                       "--set", "protocol.block=50"},
                      path("log"));
    ASSERT_TRUE(glia.wait_for_monitor()) << glia.log();
    ASSERT_TRUE(eventually(
        [&] {
            const reply r = get(glia.port, "/status");
            return r.status == 200 &&
                   parse_json(r.body).get<std::string>("reservoir.phase", "") == "B";
        },
        60s))
        << glia.log();
    const ptree r = browse(glia.port, "monitor_reservoir.png");
    EXPECT_EQ(post_stop(glia.port, "", glia.token).status, 202);
    EXPECT_EQ(glia.wait(), 3) << glia.log();
    ASSERT_FALSE(r.empty());
    const ptree& b = r.get_child("second");
    EXPECT_EQ(b.get<std::string>("state"), "running");
    EXPECT_EQ(b.get<std::string>("astro_hidden"), "false");
    EXPECT_GT(b.get<long>("astro_ink"), 0);
    EXPECT_THAT(b.get<std::string>("astro_legend"), HasSubstr("A = "));
    EXPECT_THAT(b.get<std::string>("reservoir"), HasSubstr("\"phase\": \"B\""));
    EXPECT_THAT(b.get<std::string>("reservoir"), HasSubstr("\"samples_per_s\""));
    EXPECT_EQ(b.get<long>("drawn"), 0);  // no spikes streamed
}
