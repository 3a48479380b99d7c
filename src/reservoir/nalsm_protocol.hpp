#pragma once
// The NALSM training protocol (science-spec §1.6; docs/reservoir.md), on top of nalsm.hpp:
//
//   phase A   liquid initialisation: n samples of the training set in a random order, each for
//             init_steps ms, weights carried over from sample to sample (so are the STDP
//             traces), no decays. The weights at the end are W_INI.
//   phase B   features: every sample of every part starts from W_INI and the sample reset, runs
//             feature_steps ms with plasticity and astrocyte active and the per-step decays;
//             its features are the spike counts of the liquid neurons (optionally also counts
//             in time bins and the final membrane potentials).
//
// Phase A is sequential by definition. Phase B runs samples in parallel (oneTBB), each with its
// own input-event stream keyed by its image index, and resets the traces per sample (NALSM
// carries them from the previous sample of the same batch slot, 250 ms earlier: a factor
// d^250 = 1e-11; resetting makes a sample's features independent of the batch composition and
// of the thread count).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "reservoir/nalsm.hpp"

namespace glia::reservoir::nalsm {

// Event probabilities of a list of samples: row r (n_input values) belongs to image key[r].
struct encoded_samples {
    std::span<const float> p;          // rows x n_input
    std::span<const std::size_t> key;  // image index of each row (keys its input events)
    std::size_t rows() const { return key.size(); }
};

struct init_params {
    std::size_t samples = 50000;  // phase A presentations (drawn from the rows, see below)
    std::size_t steps = 20;       // ms each
    bool shuffle = true;          // random order (seeded); false: rows in order
};


struct init_result {
    std::vector<float> weights;      // W_INI
    std::vector<float> final_a;      // A at the end of each presentation (mean over regions)
    std::vector<float> liquid_rate;  // liquid spikes per neuron per ms, per presentation
    std::size_t samples_done = 0;    // < samples when stopped
};

// Progress of phase A: the result so far (samples_done presentations, final_a and liquid_rate
// up to the latest; weights not yet W_INI) and the presentations planned. Called from the
// calling thread only, every 500 presentations and at the end.
using init_progress = std::function<void(const init_result& so_far, std::size_t total)>;

// Phase A. Presentation q uses row order[q % rows] of `train`, where order is a random
// permutation (stream::reservoir entity 7) or the identity. Checks `stop` between samples.
init_result initialize(const liquid& net, const model_params& params,
                       const astrocyte_layout& layout, const encoded_samples& train,
                       const init_params& init, std::uint64_t seed,
                       const std::atomic<bool>* stop = nullptr,
                       const init_progress& progress = {});

struct feature_params {
    std::size_t steps = 250;  // ms per sample
    double decay = 0.99;      // per-step factor of eta, A, w_A, b_A
    std::size_t bins = 0;     // > 0: also counts in this many equal time bins
    bool final_v = false;     // also the final membrane potentials
};

// Features of `rows` samples, row-major: counts (n_liquid), then bins x n_liquid binned
// counts, then n_liquid final potentials, as configured.
struct feature_block {
    std::size_t width = 0;                                   // floats per sample
    std::vector<float> values;                               // rows x width
    std::vector<float> final_a;                              // per sample
    std::vector<std::uint32_t> liquid_spikes, input_spikes;  // per sample
};
std::size_t feature_width(const liquid& net, const feature_params& features);

// Phase B on rows [first, first + count) of `samples`, in parallel in the caller's task arena.
// Deterministic: the result does not depend on the number of threads.
feature_block compute_features(const liquid& net, const model_params& params,
                               const astrocyte_layout& layout, std::span<const float> w_ini,
                               const encoded_samples& samples, std::size_t first, std::size_t count,
                               const feature_params& features, std::uint64_t seed);

// The liquid rasters of a few samples (phase B conditions), e.g. for the branching factor.
struct sample_raster {
    std::vector<std::uint32_t> step, neuron;
    std::vector<float> astrocyte;  // steps x n_regions
};
std::vector<sample_raster> record_rasters(const liquid& net, const model_params& params,
                                          const astrocyte_layout& layout,
                                          std::span<const float> w_ini,
                                          const encoded_samples& samples, std::size_t count,
                                          const feature_params& features, std::uint64_t seed);

// Phase tags of the input-event streams.
inline constexpr std::uint32_t phase_init = 0;
inline constexpr std::uint32_t phase_features = 1;

}  // namespace glia::reservoir::nalsm
