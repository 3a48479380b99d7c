#include <gtest/gtest.h>

#include "core/calendar_queue.hpp"
#include "core/event_heap.hpp"

TEST(calendar_queue, entries_come_back_at_their_step_in_push_order) {
    glia::calendar_queue q(10);
    q.push(3, 7);
    q.push(5, 1);
    q.push(3, 2);
    EXPECT_EQ(q.bucket(3), (std::vector<std::uint32_t>{7, 2}));
    EXPECT_EQ(q.bucket(5), (std::vector<std::uint32_t>{1}));
    EXPECT_TRUE(q.bucket(4).empty());
    EXPECT_EQ(q.pending(), 3u);
}

TEST(calendar_queue, wraps_around_the_ring) {
    glia::calendar_queue q(4);
    for (glia::step_t now = 0; now < 40; ++now) {
        q.push(now + 3, static_cast<std::uint32_t>(now));
        auto& b = q.bucket(now);
        if (now >= 3) {
            ASSERT_EQ(b, (std::vector<std::uint32_t>{static_cast<std::uint32_t>(now - 3)}));
        }
        b.clear();
    }
}

TEST(event_heap, pops_in_step_then_scheduling_order) {
    glia::event_heap h;
    h.push(10, 0, 1.0);
    h.push(2, 1, 2.0);
    h.push(10, 2, 3.0);
    h.push(2, 3, 4.0);
    EXPECT_FALSE(h.due(1));
    ASSERT_TRUE(h.due(2));
    EXPECT_EQ(h.pop().device, 1u);
    EXPECT_EQ(h.pop().device, 3u);
    EXPECT_FALSE(h.due(9));
    EXPECT_EQ(h.pop().device, 0u);
    EXPECT_EQ(h.pop().device, 2u);
    EXPECT_TRUE(h.empty());
}
