#include "reservoir/nalsm_protocol.hpp"

#include <algorithm>
#include <numeric>

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include <glia/error.hpp>
#include <glia/rng.hpp>

namespace glia::reservoir::nalsm {

namespace {

constexpr std::uint32_t entity_init_order = 7;

void check_samples(const liquid& net, const encoded_samples& samples) {
    if (samples.p.size() != samples.rows() * net.n_input) {
        throw internal_error("nalsm: encoded samples do not match the number of input neurons");
    }
}

std::span<const float> row(const liquid& net, const encoded_samples& samples, std::size_t r) {
    return samples.p.subspan(r * net.n_input, net.n_input);
}

}  // namespace

init_result initialize(const liquid& net, const model_params& params,
                       const astrocyte_layout& layout, const encoded_samples& train,
                       const init_params& init, std::uint64_t seed, const std::atomic<bool>* stop,
                       const init_progress& progress) {
    check_samples(net, train);
    init_result result;
    result.weights = net.weight;
    if (init.samples == 0) {
        return result;
    }
    if (train.rows() == 0) {
        throw error("NALSM phase A: no training samples to initialise the liquid with");
    }
    std::vector<std::size_t> order(train.rows());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (init.shuffle) {
        rng_stream rng(stream_key(seed, stream::reservoir), entity_init_order, 0);
        for (std::size_t i = order.size() - 1; i > 0; --i) {
            std::swap(order[i], order[rng.below(i + 1)]);
        }
    }
    worker w(net, params, layout);
    sample_output out;
    const sample_record record;
    result.final_a.reserve(init.samples);
    result.liquid_rate.reserve(init.samples);
    const double per_rate =
        1.0 / (static_cast<double>(net.n_liquid()) * static_cast<double>(init.steps));
    for (std::size_t q = 0; q < init.samples; ++q) {
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
            break;
        }
        const std::size_t r = order[q % order.size()];
        // The q-th presentation has its own events even when rows repeat.
        w.run(result.weights, row(net, train, r), init.steps, 1.0, seed, phase_init, q, record,
              out);
        result.final_a.push_back(static_cast<float>(out.final_a));
        result.liquid_rate.push_back(
            static_cast<float>(static_cast<double>(out.liquid_spikes) * per_rate));
        result.samples_done = q + 1;
        if (progress && (q + 1) % 500 == 0) {
            progress(result, init.samples);
        }
    }
    if (progress) {
        progress(result, init.samples);
    }
    return result;
}

std::size_t feature_width(const liquid& net, const feature_params& features) {
    return net.n_liquid() * (1 + features.bins + (features.final_v ? 1 : 0));
}

feature_block compute_features(const liquid& net, const model_params& params,
                               const astrocyte_layout& layout, std::span<const float> w_ini,
                               const encoded_samples& samples, std::size_t first, std::size_t count,
                               const feature_params& features, std::uint64_t seed) {
    check_samples(net, samples);
    if (first + count > samples.rows() || w_ini.size() != net.n_synapses()) {
        throw internal_error("nalsm::compute_features: rows or weights out of range");
    }
    if (features.bins > features.steps) {
        throw error("NALSM features: more time bins than steps");
    }
    const std::size_t nl = net.n_liquid();
    feature_block block;
    block.width = feature_width(net, features);
    block.values.assign(count * block.width, 0.0F);
    block.final_a.assign(count, 0.0F);
    block.liquid_spikes.assign(count, 0);
    block.input_spikes.assign(count, 0);

    struct slot {
        worker w;
        std::vector<float> weights;
        sample_output out;
    };
    const std::vector<double> current0 = initial_current(net, w_ini, params.neuron);
    tbb::enumerable_thread_specific<slot> slots([&] {
        slot s{worker(net, params, layout), std::vector<float>(w_ini.size()), {}};
        s.w.share_initial_current(current0);
        return s;
    });
    sample_record record;
    record.bins = features.bins;
    record.final_v = features.final_v;
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, count, 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
            slot& s = slots.local();
            for (std::size_t i = range.begin(); i != range.end(); ++i) {
                const std::size_t r = first + i;
                std::copy(w_ini.begin(), w_ini.end(), s.weights.begin());
                s.w.reset_traces();
                s.w.run(s.weights, row(net, samples, r), features.steps, features.decay, seed,
                        phase_features, samples.key[r], record, s.out);
                float* dst = block.values.data() + i * block.width;
                std::copy(s.out.counts.begin(), s.out.counts.end(), dst);
                dst += nl;
                std::copy(s.out.binned.begin(), s.out.binned.end(), dst);
                dst += s.out.binned.size();
                if (features.final_v) {
                    std::copy(s.out.final_v.begin(), s.out.final_v.end(), dst);
                }
                block.final_a[i] = static_cast<float>(s.out.final_a);
                block.liquid_spikes[i] = static_cast<std::uint32_t>(s.out.liquid_spikes);
                block.input_spikes[i] = static_cast<std::uint32_t>(s.out.input_spikes);
            }
        });
    return block;
}

std::vector<sample_raster> record_rasters(const liquid& net, const model_params& params,
                                          const astrocyte_layout& layout,
                                          std::span<const float> w_ini,
                                          const encoded_samples& samples, std::size_t count,
                                          const feature_params& features, std::uint64_t seed) {
    check_samples(net, samples);
    count = std::min(count, samples.rows());
    std::vector<sample_raster> rasters(count);
    tbb::enumerable_thread_specific<worker> workers([&] { return worker(net, params, layout); });
    sample_record record;
    record.raster = true;
    record.astrocyte_trace = true;
    tbb::parallel_for(std::size_t{0}, count, [&](std::size_t r) {
        worker& w = workers.local();
        std::vector<float> weights(w_ini.begin(), w_ini.end());
        sample_output out;
        w.reset_traces();
        w.run(weights, row(net, samples, r), features.steps, features.decay, seed, phase_features,
              samples.key[r], record, out);
        rasters[r].step = std::move(out.raster_step);
        rasters[r].neuron = std::move(out.raster_neuron);
        rasters[r].astrocyte = std::move(out.astrocyte);
    });
    return rasters;
}

}  // namespace glia::reservoir::nalsm
