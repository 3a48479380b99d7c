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

// ---- poisson_sampler (core/poisson_sampler.hpp) ----

#include <cmath>

#include <glia/rng.hpp>

#include "core/poisson_sampler.hpp"

// Chi-square of the sampled counts against the Poisson pmf, for means on both sides of the
// 16 branch-free table entries; bins with expected counts below 5 are pooled into the tail.
TEST(poisson_sampler, counts_follow_the_poisson_distribution) {
    for (double lambda: {0.02, 0.5, 2.0, 7.0, 15.9}) {
        const glia::poisson_sampler sample(lambda);
        ASSERT_TRUE(sample.tabulated());
        glia::rng_stream rng(glia::stream_key(3, glia::stream::poisson_input), 0, 0);
        const int n = 200000;
        std::vector<double> observed(200, 0);
        for (int i = 0; i < n; ++i) {
            ++observed[std::min<std::size_t>(sample(rng.uniform()), 199)];
        }
        double chi2 = 0, pmf = std::exp(-lambda), tail_o = n, tail_e = n;
        int dof = -1;
        for (int k = 0; k < 199; ++k, pmf *= lambda / k) {
            const double e = n * pmf;
            if (e < 5) {
                break;
            }
            chi2 += (observed[k] - e) * (observed[k] - e) / e;
            tail_o -= observed[k];
            tail_e -= e;
            ++dof;
        }
        if (tail_e > 0) {
            chi2 += (tail_o - tail_e) * (tail_o - tail_e) / tail_e;
            ++dof;
        }
        // 99.9% quantile of chi-square: dof + 3.1 sqrt(2 dof) + 7 bounds it for dof <= 40.
        EXPECT_LT(chi2, dof + 3.1 * std::sqrt(2.0 * dof) + 7) << "lambda " << lambda;
    }
}

TEST(poisson_sampler, large_means_are_left_to_the_caller) {
    EXPECT_FALSE(glia::poisson_sampler(16.5).tabulated());
    EXPECT_TRUE(glia::poisson_sampler(16.0).tabulated());
}
