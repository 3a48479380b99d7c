// The monitor's transport: the HTTP/1.1 server on its io_context and thread (accepting,
// sessions, request parsing and checks, responses, the event stream, the graceful shutdown),
// the --monitor address, and the monitor's lifetime.

#include "runtime/monitor.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <glia/error.hpp>

#include "runtime/monitor_detail.hpp"
#include "runtime/monitor_page.hpp"

#include <pthread.h>

namespace glia::runtime {

namespace beast = boost::beast;
namespace http = beast::http;

namespace monitor_detail {
namespace {

// After a refused accept (too many open files), wait before accepting again.
constexpr auto accept_retry = std::chrono::milliseconds(100);

// What a lingering close reads and drops, at most, before closing.
constexpr std::size_t max_drain_bytes = 64 * 1024;
constexpr auto max_drain_time = std::chrono::seconds(2);

// Waits for slow event-stream clients to take the last message before the server stops.
constexpr auto shutdown_grace = std::chrono::seconds(1);

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

}  // namespace

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
        if (host == req.end() && req.version() >= 11) {
            // RFC 9112 section 3.2: an HTTP/1.1 request without Host is answered 400.
            reject(http::status::bad_request, "an HTTP/1.1 request needs a Host header");
            return;
        }
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

}  // namespace monitor_detail

using monitor_detail::random_token;

monitor_options parse_monitor_address(const std::string& host_port) {
    auto fail = [&](std::string_view what) {
        return glia::error(fmt::format(
            "--monitor '{}': {}; expected HOST:PORT with HOST a numeric IPv4 address, [IPv6] or "
            "localhost (default 127.0.0.1) and PORT in 0..65535 (0: any free port), e.g. "
            "127.0.0.1:8080",
            host_port, what));
    };
    if (host_port.empty()) {
        throw fail("the address is empty");
    }
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
