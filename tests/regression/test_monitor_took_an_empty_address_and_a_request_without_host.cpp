// Bug (hostile-input testing): `glia run FILE --monitor ''` ran without a monitor and said
// nothing, and the monitor answered an HTTP/1.1 request without a Host header with 200 (RFC
// 9112 section 3.2: such a request gets 400). An empty address is now refused like any bad
// one, before anything is built or written, and a Host-less HTTP/1.1 request gets 400.

#include <chrono>
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "regression_harness.hpp"
#include "runtime/monitor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using testing::HasSubstr;

class monitor_took_an_empty_address_and_a_request_without_host: public glia::test::scratch_test {
protected:
    monitor_took_an_empty_address_and_a_request_without_host(): scratch_test("regression") {}
};

// Sends `request` to 127.0.0.1:`port` and returns what the server answers before it closes
// (or 5 s pass).
std::string exchange(std::uint16_t port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string reply;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            reply.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return reply;
}

TEST_F(monitor_took_an_empty_address_and_a_request_without_host, an_empty_address_is_refused) {
    const std::string cfg = std::string(GLIA_SOURCE_DIR) + "/configs/cuba.yaml";
    const std::string out = path("out.h5");
    const auto r = glia::test::run_glia("run " + cfg + " --no-progress -o " + out +
                                        " --set simulation.duration=5ms --monitor ''");
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr("--monitor '': the address is empty; expected HOST:PORT"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(monitor_took_an_empty_address_and_a_request_without_host_server,
     http_1_1_without_host_gets_400) {
    glia::runtime::monitor m(glia::runtime::monitor_options{}, nullptr);
    const std::string no_host =
        exchange(m.port(), "GET /status HTTP/1.1\r\nConnection: close\r\n\r\n");
    EXPECT_THAT(no_host, testing::StartsWith("HTTP/1.1 400")) << no_host;
    EXPECT_THAT(no_host, HasSubstr("an HTTP/1.1 request needs a Host header"));
    // HTTP/1.0 has no Host requirement; with Host, HTTP/1.1 is served.
    EXPECT_THAT(exchange(m.port(), "GET /status HTTP/1.0\r\n\r\n"),
                testing::StartsWith("HTTP/1.1 200"));
    EXPECT_THAT(exchange(m.port(), "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                                   "close\r\n\r\n"),
                testing::StartsWith("HTTP/1.1 200"));
}

}  // namespace
