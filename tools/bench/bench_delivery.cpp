// The delivery kernel: spikes routed through synapses with heterogeneous delays and summed into
// per-neuron input slots, step by step. glia's calendar queue of delay segments against two
// std::priority_queue baselines, so the choice of queue rests on a figure:
//   calendar_segments: glia's structure (a ring of buckets of (source, delay) segment ids);
//   heap_segments:     the same segments in a binary heap keyed by due step;
//   heap_events:       one heap entry per synaptic event (classic event-driven simulators).
// Network: N neurons, K synapses per source, delays uniform in 1..D steps, R spikes per step.
// Reported: synaptic events per second (items_per_second).

#include <cstdint>
#include <queue>
#include <vector>

#include <benchmark/benchmark.h>

#include <glia/rng.hpp>

#include "core/calendar_queue.hpp"

namespace {

struct network {
    std::vector<std::uint32_t> row_segment, segment_delay, segment_begin, target;
    std::vector<float> weight;
};

// Synapses of each source sorted by delay and cut into segments, as glia builds them.
network make_network(std::uint32_t n, std::uint32_t k, std::uint32_t max_delay) {
    network net;
    glia::rng_stream rng(glia::stream_key(1, glia::stream::connectivity), 0, 0);
    net.row_segment.push_back(0);
    for (std::uint32_t s = 0; s < n; ++s) {
        std::vector<std::vector<std::uint32_t>> by_delay(max_delay + 1);
        for (std::uint32_t j = 0; j < k; ++j) {
            by_delay[1 + rng.below(max_delay)].push_back(static_cast<std::uint32_t>(rng.below(n)));
        }
        for (std::uint32_t d = 1; d <= max_delay; ++d) {
            if (by_delay[d].empty()) {
                continue;
            }
            net.segment_delay.push_back(d);
            net.segment_begin.push_back(static_cast<std::uint32_t>(net.target.size()));
            for (std::uint32_t t: by_delay[d]) {
                net.target.push_back(t);
                net.weight.push_back(0.1f);
            }
        }
        net.row_segment.push_back(static_cast<std::uint32_t>(net.segment_delay.size()));
    }
    net.segment_begin.push_back(static_cast<std::uint32_t>(net.target.size()));
    return net;
}

constexpr std::uint32_t n_neurons = 10000;
constexpr std::uint32_t spikes_per_step = 20;
constexpr glia::step_t steps = 2000;

template <typename Step>
void run_steps(benchmark::State& state, Step step) {
    std::uint64_t events = 0;
    for (auto _: state) {
        events += step();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(events));
}

void calendar_segments(benchmark::State& state) {
    const auto max_delay = static_cast<std::uint32_t>(state.range(0));
    const network net = make_network(n_neurons, 1000, max_delay);
    std::vector<double> input(n_neurons);
    run_steps(state, [&] {
        glia::calendar_queue q(max_delay + 2);
        glia::rng_stream rng(glia::stream_key(2, glia::stream::source_spikes), 0, 0);
        std::uint64_t events = 0;
        for (glia::step_t t = 0; t < steps; ++t) {
            auto& bucket = q.bucket(t);
            for (std::uint32_t seg: bucket) {
                for (auto s = net.segment_begin[seg]; s < net.segment_begin[seg + 1]; ++s) {
                    input[net.target[s]] += net.weight[s];
                }
                events += net.segment_begin[seg + 1] - net.segment_begin[seg];
            }
            bucket.clear();
            for (std::uint32_t r = 0; r < spikes_per_step; ++r) {
                const auto src = static_cast<std::uint32_t>(rng.below(n_neurons));
                for (auto k = net.row_segment[src]; k < net.row_segment[src + 1]; ++k) {
                    q.push(t + net.segment_delay[k], k);
                }
            }
        }
        benchmark::DoNotOptimize(input.data());
        return events;
    });
}

void heap_segments(benchmark::State& state) {
    const auto max_delay = static_cast<std::uint32_t>(state.range(0));
    const network net = make_network(n_neurons, 1000, max_delay);
    std::vector<double> input(n_neurons);
    using entry = std::pair<glia::step_t, std::uint32_t>;  // (due step, segment)
    run_steps(state, [&] {
        std::priority_queue<entry, std::vector<entry>, std::greater<>> q;
        glia::rng_stream rng(glia::stream_key(2, glia::stream::source_spikes), 0, 0);
        std::uint64_t events = 0;
        for (glia::step_t t = 0; t < steps; ++t) {
            while (!q.empty() && q.top().first == t) {
                const std::uint32_t seg = q.top().second;
                q.pop();
                for (auto s = net.segment_begin[seg]; s < net.segment_begin[seg + 1]; ++s) {
                    input[net.target[s]] += net.weight[s];
                }
                events += net.segment_begin[seg + 1] - net.segment_begin[seg];
            }
            for (std::uint32_t r = 0; r < spikes_per_step; ++r) {
                const auto src = static_cast<std::uint32_t>(rng.below(n_neurons));
                for (auto k = net.row_segment[src]; k < net.row_segment[src + 1]; ++k) {
                    q.emplace(t + net.segment_delay[k], k);
                }
            }
        }
        benchmark::DoNotOptimize(input.data());
        return events;
    });
}

void heap_events(benchmark::State& state) {
    const auto max_delay = static_cast<std::uint32_t>(state.range(0));
    const network net = make_network(n_neurons, 1000, max_delay);
    std::vector<double> input(n_neurons);
    struct event {
        glia::step_t due;
        std::uint32_t target;
        float weight;
        bool operator>(const event& o) const { return due > o.due; }
    };
    run_steps(state, [&] {
        std::priority_queue<event, std::vector<event>, std::greater<>> q;
        glia::rng_stream rng(glia::stream_key(2, glia::stream::source_spikes), 0, 0);
        std::uint64_t events = 0;
        for (glia::step_t t = 0; t < steps; ++t) {
            while (!q.empty() && q.top().due == t) {
                input[q.top().target] += q.top().weight;
                q.pop();
                ++events;
            }
            for (std::uint32_t r = 0; r < spikes_per_step; ++r) {
                const auto src = static_cast<std::uint32_t>(rng.below(n_neurons));
                for (auto k = net.row_segment[src]; k < net.row_segment[src + 1]; ++k) {
                    for (auto s = net.segment_begin[k]; s < net.segment_begin[k + 1]; ++s) {
                        q.push(event{t + net.segment_delay[k], net.target[s], net.weight[s]});
                    }
                }
            }
        }
        benchmark::DoNotOptimize(input.data());
        return events;
    });
}

}  // namespace

// Argument: the largest delay in steps (15: Brunel at dt 0.1 ms; 200: 20 ms at dt 0.1 ms).
BENCHMARK(calendar_segments)->Arg(15)->Arg(200)->Unit(benchmark::kMillisecond);
BENCHMARK(heap_segments)->Arg(15)->Arg(200)->Unit(benchmark::kMillisecond);
BENCHMARK(heap_events)->Arg(15)->Arg(200)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
