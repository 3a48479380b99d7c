#pragma once
// Events with no bound on their horizon (DESIGN §3): changes of external currents now;
// sample boundaries, checkpoints and the like later. A binary min-heap ordered by
// (step, sequence), so events due in the same step run in the order they were scheduled.

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include <glia/types.hpp>

namespace glia {

struct heap_event {
    step_t step = 0;
    std::uint64_t sequence = 0;  // tie-break: scheduling order
    std::uint32_t device = 0;    // which device of the partition
    double amplitude = 0;        // the device's new value from `step` on

    friend bool operator>(const heap_event& a, const heap_event& b) {
        return a.step != b.step ? a.step > b.step : a.sequence > b.sequence;
    }
};

class event_heap {
public:
    void push(step_t step, std::uint32_t device, double amplitude) {
        heap_.push(heap_event{step, next_sequence_++, device, amplitude});
    }
    bool due(step_t now) const { return !heap_.empty() && heap_.top().step <= now; }
    heap_event pop() {
        heap_event e = heap_.top();
        heap_.pop();
        return e;
    }
    bool empty() const { return heap_.empty(); }
    std::size_t size() const { return heap_.size(); }

private:
    std::priority_queue<heap_event, std::vector<heap_event>, std::greater<>> heap_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace glia
