#pragma once
// The calendar queue: an O(1) priority queue for synaptic events with a bounded horizon
// (DESIGN §3). A ring of buckets, one per step, spanning the maximum delay. An entry is a
// delay segment: "deliver the synapses of segment k". Routing a spike of step s through a
// segment of delay d pushes k into bucket s + d; at step t the engine walks bucket t.
//
// Invariants: a bucket is read exactly once, at its step, and cleared right after; entries
// inside a bucket are in the order they were pushed, which the engine makes the canonical
// (spike step, source id) order, so sums over a bucket do not depend on partitioning.

#include <cstdint>
#include <vector>

#include <glia/types.hpp>

namespace glia {

class calendar_queue {
public:
    calendar_queue() = default;
    // horizon: the largest (due step - current step) that will ever be pushed, plus one.
    explicit calendar_queue(step_t horizon) : buckets_(static_cast<std::size_t>(horizon)) {}

    std::size_t n_buckets() const { return buckets_.size(); }

    void push(step_t due, std::uint32_t segment) { bucket(due).push_back(segment); }

    std::vector<std::uint32_t>& bucket(step_t due) {
        return buckets_[static_cast<std::size_t>(due % static_cast<step_t>(buckets_.size()))];
    }
    const std::vector<std::uint32_t>& bucket(step_t due) const {
        return buckets_[static_cast<std::size_t>(due % static_cast<step_t>(buckets_.size()))];
    }

    // Empties every bucket (a trial start drops the spikes in flight); keeps the memory.
    void clear() {
        for (auto& b: buckets_) {
            b.clear();
        }
    }

    std::size_t pending() const {
        std::size_t n = 0;
        for (const auto& b: buckets_) {
            n += b.size();
        }
        return n;
    }

private:
    std::vector<std::vector<std::uint32_t>> buckets_;
};

}  // namespace glia
