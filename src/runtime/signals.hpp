#pragma once
// Catches SIGINT, SIGTERM and SIGUSR1 (what Ctrl-C and SLURM send before a time limit) on a
// Boost.Asio signal_set served by a thread of its own, and turns them into flags the run
// polls:
//   1st signal: stop = true. The engine checks it between epochs and ends the run cleanly:
//               status "interrupted", everything flushed, the file closed.
//   2nd signal: force() = true. The caller should stop without waiting for anything that
//               can take long (e.g. skip writing a checkpoint), still closing the output so
//               that the file stays readable.
//   3rd signal: std::_Exit(128 + signal): the user insists. The output file keeps everything
//               up to its last flush (see io/hdf5_writer.hpp), its status stays "running".
// While a watcher lives, these signals no longer kill the process; destroying it restores
// their default action.

#include <atomic>
#include <memory>

namespace glia::runtime {

class signal_watcher {
public:
    explicit signal_watcher(std::atomic<bool>& stop);
    signal_watcher(const signal_watcher&) = delete;
    signal_watcher& operator=(const signal_watcher&) = delete;
    ~signal_watcher();

    int signal_number() const;  // the first signal caught, 0 if none yet
    int count() const;          // signals caught so far
    bool force() const;         // a second signal was caught

private:
    struct state;
    std::unique_ptr<state> impl_;
};

}  // namespace glia::runtime
