#pragma once
// Moves the output of a run off the simulation thread: every recording_sink call is copied
// and run, in order, on one writer thread (a Boost.Asio io_context run by a std::thread).
//
//   - Bounded: while more than max_pending_bytes of spikes and frames are queued, the caller
//     blocks until the writer catches up, so memory stays flat on long runs (a single batch
//     larger than the bound is still accepted when the queue is empty).
//   - Periodic flush: a timer on the writer thread calls the wrapped sink's flush() every
//     flush_interval (0: never).
//   - Errors: an exception thrown by the wrapped sink on the writer thread is kept and thrown
//     again on the caller's thread at its next call (and by end()); calls after it are not
//     forwarded.
//   - end() forwards, waits until everything is written and stops the thread. flush() waits
//     until the wrapped sink has flushed.
//   - Destroyed without end() (an exception elsewhere): writes what is queued, calls the
//     wrapped sink's flush(), stops the thread; the wrapped sink is then closed by its owner.
// One producer thread calls the sink; the wrapped sink is only ever called from the writer
// thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>

#include <glia/recording.hpp>

namespace glia::runtime {

class async_sink: public recording_sink {
public:
    static constexpr std::size_t default_max_pending_bytes = std::size_t{256} << 20;

    explicit async_sink(recording_sink& target,
                        std::chrono::duration<double> flush_interval = std::chrono::seconds(10),
                        std::size_t max_pending_bytes = default_max_pending_bytes);
    async_sink(const async_sink&) = delete;
    async_sink& operator=(const async_sink&) = delete;
    ~async_sink() override;

    void begin(const run_layout& layout) override;
    void spikes(std::span<const spike_event> batch) override;
    void frames(std::size_t report, std::size_t first_frame, std::size_t n_frames,
                std::span<const float> data) override;
    void end(const run_summary& summary) override;
    void flush() override;
    void weights(std::size_t recorder, std::size_t snapshot,
                 std::span<const double> values) override;

    // Bytes of copied spikes and frames queued now, and at most so far.
    std::size_t pending_bytes() const;
    std::size_t peak_pending_bytes() const;

private:
    struct state;
    std::unique_ptr<state> impl_;
};

}  // namespace glia::runtime
