#include "runtime/signals.hpp"

#include <csignal>
#include <cstdlib>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

namespace glia::runtime {

namespace asio = boost::asio;

struct signal_watcher::state {
    std::atomic<bool>& stop;
    std::atomic<int> first_signal{0};
    std::atomic<int> n_signals{0};
    std::atomic<bool> force{false};
    asio::io_context io{1};
    asio::signal_set signals{io, SIGINT, SIGTERM, SIGUSR1};
    std::thread thread;

    explicit state(std::atomic<bool>& s): stop(s) {}

    void wait() {
        signals.async_wait([this](const boost::system::error_code& ec, int signo) {
            if (ec) {
                return;  // cancelled: the watcher is going away
            }
            const int n = ++n_signals;
            if (n == 1) {
                first_signal = signo;
                stop = true;
            } else if (n == 2) {
                force = true;
            } else {
                std::_Exit(128 + signo);
            }
            wait();
        });
    }
};

signal_watcher::signal_watcher(std::atomic<bool>& stop): impl_(std::make_unique<state>(stop)) {
    impl_->wait();
    impl_->thread = std::thread([s = impl_.get()] { s->io.run(); });
}

signal_watcher::~signal_watcher() {
    // The signal_set is only touched on its own thread; cancelling ends its last wait, and
    // with it io.run().
    asio::post(impl_->io, [s = impl_.get()] {
        boost::system::error_code ignored;
        s->signals.cancel(ignored);
        s->signals.clear(ignored);
    });
    impl_->thread.join();
}

int signal_watcher::signal_number() const {
    return impl_->first_signal;
}
int signal_watcher::count() const {
    return impl_->n_signals;
}
bool signal_watcher::force() const {
    return impl_->force;
}

}  // namespace glia::runtime
