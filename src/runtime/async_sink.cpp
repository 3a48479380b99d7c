#include "runtime/async_sink.hpp"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <glia/error.hpp>

namespace glia::runtime {

namespace asio = boost::asio;

namespace {
// What one queued call costs beyond its data: counted so that many tiny calls are bounded too.
constexpr std::size_t call_overhead_bytes = 64;
}  // namespace

struct async_sink::state {
    recording_sink& target;
    std::chrono::duration<double> flush_interval;  // [s]
    std::size_t max_pending_bytes;

    asio::io_context io{1};
    asio::strand<asio::io_context::executor_type> strand{io.get_executor()};
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    asio::steady_timer timer{io};
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable drained;  // pending_bytes went down, or an error arrived
    std::size_t pending_bytes = 0;
    std::size_t peak_pending_bytes = 0;
    std::exception_ptr error;  // the first exception of the wrapped sink
    bool ended = false;
    bool stopping = false;  // on the writer thread: no more timer waits

    state(recording_sink& t, std::chrono::duration<double> interval, std::size_t max_bytes):
        target(t), flush_interval(interval), max_pending_bytes(max_bytes) {}

    // On the writer thread: runs `call` unless an earlier call failed; keeps its exception.
    template <typename Call>
    void guarded(Call&& call) {
        {
            const std::lock_guard lock(mutex);
            if (error) {
                return;
            }
        }
        try {
            call();
        }
        catch (...) {
            const std::lock_guard lock(mutex);
            error = std::current_exception();
        }
    }

    void arm_timer() {
        if (!(flush_interval.count() > 0)) {
            return;
        }
        timer.expires_after(
            std::chrono::duration_cast<std::chrono::steady_clock::duration>(flush_interval));
        timer.async_wait(asio::bind_executor(strand, [this](const boost::system::error_code& ec) {
            // Cancelled, or expired just before stop() cancelled it (then the cancel found
            // nothing to cancel): either way, no new wait, or io.run() would never return.
            if (ec || stopping) {
                return;
            }
            guarded([this] { target.flush(); });
            arm_timer();
        }));
    }

    void rethrow_error() const {
        const std::lock_guard lock(mutex);
        if (error) {
            std::rethrow_exception(error);
        }
    }

    // On the producer thread: waits for room, then queues `call` (which owns its data).
    template <typename Call>
    void enqueue(std::size_t bytes, Call&& call) {
        bytes += call_overhead_bytes;
        {
            std::unique_lock lock(mutex);
            if (ended) {
                throw glia::internal_error("async_sink used after end()");
            }
            drained.wait(lock, [&] {
                return error || pending_bytes == 0 || pending_bytes + bytes <= max_pending_bytes;
            });
            if (error) {
                std::rethrow_exception(error);
            }
            pending_bytes += bytes;
            peak_pending_bytes = std::max(peak_pending_bytes, pending_bytes);
        }
        asio::post(strand, [this, bytes, call = std::forward<Call>(call)]() mutable {
            guarded(call);
            {
                const std::lock_guard lock(mutex);
                pending_bytes -= bytes;
            }
            drained.notify_all();
        });
    }

    // Runs `last` on the writer thread after everything queued, then stops the thread.
    template <typename Call>
    void stop(Call&& last) {
        asio::post(strand, [this, last = std::forward<Call>(last)]() mutable {
            last();
            stopping = true;
            timer.cancel();
        });
        work.reset();
        thread.join();
    }
};

async_sink::async_sink(recording_sink& target, std::chrono::duration<double> flush_interval,
                       std::size_t max_pending_bytes):
    impl_(std::make_unique<state>(target, flush_interval, max_pending_bytes)) {
    impl_->arm_timer();
    impl_->thread = std::thread([s = impl_.get()] { s->io.run(); });
}

async_sink::~async_sink() {
    if (!impl_->thread.joinable()) {
        return;
    }
    // What is queued is written first; then the wrapped sink flushes, even after an error
    // (it may still have earlier data to make durable). Nothing may escape a destructor.
    try {
        impl_->stop([s = impl_.get()] {
            try {
                s->target.flush();
            }
            catch (...) {
            }
        });
    }
    catch (...) {
        // Could not even queue the stop (out of memory): drop what is queued.
        impl_->io.stop();
        if (impl_->thread.joinable()) {
            impl_->thread.join();
        }
    }
}

void async_sink::begin(const run_layout& layout) {
    std::size_t bytes = sizeof(run_layout);
    for (const auto& r: layout.reports) {
        bytes += r.node_ids.size() * sizeof(neuron_id);
    }
    impl_->enqueue(bytes, [s = impl_.get(), copy = layout] { s->target.begin(copy); });
}

void async_sink::spikes(std::span<const spike_event> batch) {
    impl_->enqueue(batch.size_bytes(),
                   [s = impl_.get(), copy = std::vector<spike_event>(batch.begin(), batch.end())] {
                       s->target.spikes(copy);
                   });
}

void async_sink::frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                        std::span<const float> data) {
    impl_->enqueue(data.size_bytes(), [s = impl_.get(), report, first_frame, n_frames,
                                       copy = std::vector<float>(data.begin(), data.end())] {
        s->target.frames(report, first_frame, n_frames, copy);
    });
}

void async_sink::weights(std::size_t recorder, std::size_t snapshot,
                         std::span<const double> values) {
    impl_->enqueue(values.size_bytes(),
                   [s = impl_.get(), recorder, snapshot,
                    copy = std::vector<double>(values.begin(), values.end())] {
                       s->target.weights(recorder, snapshot, copy);
                   });
}

void async_sink::flush() {
    impl_->rethrow_error();
    if (!impl_->thread.joinable()) {
        return;
    }
    std::promise<void> done;
    std::future<void> flushed = done.get_future();
    asio::post(impl_->strand, [s = impl_.get(), &done] {
        s->guarded([s] { s->target.flush(); });
        done.set_value();
    });
    flushed.wait();
    impl_->rethrow_error();
}

void async_sink::end(const run_summary& summary) {
    {
        const std::lock_guard lock(impl_->mutex);
        if (impl_->ended) {
            throw glia::internal_error("async_sink::end called twice");
        }
        impl_->ended = true;
    }
    impl_->stop(
        [s = impl_.get(), summary] { s->guarded([s, &summary] { s->target.end(summary); }); });
    impl_->rethrow_error();
}

std::size_t async_sink::pending_bytes() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->pending_bytes;
}

std::size_t async_sink::peak_pending_bytes() const {
    const std::lock_guard lock(impl_->mutex);
    return impl_->peak_pending_bytes;
}

}  // namespace glia::runtime
