#pragma once
// Counter-based random numbers: every draw is a pure function of
// (master seed, purpose, entity, sub-stream, draw index), computed with Random123's Philox4x32-10.
// The same coordinates give the same bits on any thread, in any order, for any partitioning,
// which is what makes results independent of the thread and partition count (DESIGN §3).
//
// Distributions are our own (53-bit uniforms, inversion, Box-Muller): std:: distributions are
// implementation-defined and would change results across toolchains.

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include <Random123/philox.h>

namespace glia {

// What a stream is used for. Values are part of the reproducibility contract: never renumber.
enum class stream : std::uint32_t {
    connectivity = 1,    // entity: row (target or source), sub: projection index
    initial_state = 2,   // entity: global neuron id, sub: variable index
    parameters = 3,      // entity: global neuron id, sub: parameter index
    poisson_input = 4,   // entity: global neuron id, sub: step; keyed also by the input index
    noise_input = 5,     // entity: global neuron id, sub: step; keyed also by the input index
    source_spikes = 6,   // entity: global neuron id, sub: step
    synapse_weights = 7, // entity: row (target or source), sub: projection index
    synapse_delays = 8,  // entity: row (target or source), sub: projection index
    sweep = 9,           // sweep expansion (src/sweep): entity: draw or repeat, sub: key index
    homeostasis = 10,    // entity: global neuron id (target rates)
    reservoir = 11,      // src/reservoir: entity 0: readout minibatch order (sub: epoch);
                         // entity 1: task input series (sub: 0);
                         // NALSM (nalsm.cpp): entity 2 lattice permutation, 3 liquid synapses
                         // (sub: postsynaptic neuron), 4 input pairs, 5 input signs,
                         // 6 astrocyte masks, 7 phase A sample order, 16 + phase: input
                         // events (sub: image index)
    tripartite = 12,     // tripartite connectivity (projection.tripartite). Tag 8 p + k for
                         // projection p: k = 0 pairing and pool member, 1/2 third_in weight/
                         // delay, 3/4 third_out weight/delay; entity: connectivity row (0 for
                         // whole-projection rules), sub: index of the connection in its row.
                         // Tag 2^32 + a: random pools of astrocyte population a; entity:
                         // target global id
    astrocyte_mask = 13, // nalsm_astrocyte modulators: entity: modulator index, sub: index of
                         // the population in excite followed by inhibit
    positions = 14,      // grids with order: random: entity: grid index in file order (the
                         // Fisher-Yates shuffle of its points)
    trial_input = 15,    // dataset_source events; tag: input index, entity: value (pixel)
                         // index, sub: trial key (a protocol's sample index)
};

constexpr std::uint64_t mix64(std::uint64_t x) {  // SplitMix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The Philox key of (seed, purpose, tag); `tag` separates streams of the same purpose
// (e.g. two Poisson generators).
constexpr std::uint64_t stream_key(std::uint64_t seed, stream purpose, std::uint64_t tag = 0) {
    return mix64(mix64(seed) ^ mix64((static_cast<std::uint64_t>(purpose) << 32) ^ tag));
}

// One Philox4x32-10 block: 128 random bits, a pure function of (key, entity, sub, block).
// The same layout rng_stream uses for its block number `block`.
inline r123::Philox4x32::ctr_type philox_block(std::uint64_t key, std::uint32_t entity,
                                               std::uint64_t sub, std::uint32_t block = 0) {
    const r123::Philox4x32::key_type k = {
        {static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}};
    const r123::Philox4x32::ctr_type c = {
        {block, entity, static_cast<std::uint32_t>(sub), static_cast<std::uint32_t>(sub >> 32)}};
    return r123::Philox4x32{}(c, k);
}

// A uniform on [0, 1) with 53 random bits from two 32-bit words.
constexpr double uniform53(std::uint32_t hi, std::uint32_t lo) {
    const std::uint64_t x = (static_cast<std::uint64_t>(hi) << 32) | lo;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
}

// Draws of one stream: fixed key, entity and sub-stream; the draw index advances.
class rng_stream {
public:
    rng_stream(std::uint64_t key, std::uint32_t entity, std::uint64_t sub) :
        key_{{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}},
        ctr_{{0, entity, static_cast<std::uint32_t>(sub), static_cast<std::uint32_t>(sub >> 32)}} {}

    std::uint32_t next_u32() {
        if (used_ == 4) {
            refill();
        }
        return block_.v[used_++];
    }
    std::uint64_t next_u64() {
        const std::uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    // Uniform on [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    // Uniform on (0, 1]: safe for log().
    double uniform_pos() { return 1.0 - uniform(); }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    // Uniform integer in [0, n), unbiased (Lemire's method).
    std::uint64_t below(std::uint64_t n) {
        if (n <= 0xffffffffULL) {
            const auto n32 = static_cast<std::uint32_t>(n);
            std::uint64_t m = static_cast<std::uint64_t>(next_u32()) * n32;
            auto low = static_cast<std::uint32_t>(m);
            if (low < n32) {
                const std::uint32_t threshold = static_cast<std::uint32_t>(-n32) % n32;
                while (low < threshold) {
                    m = static_cast<std::uint64_t>(next_u32()) * n32;
                    low = static_cast<std::uint32_t>(m);
                }
            }
            return m >> 32;
        }
        // Rare: rejection on 64 bits.
        const std::uint64_t limit = ~0ULL - (~0ULL % n);
        std::uint64_t x = next_u64();
        while (x >= limit) {
            x = next_u64();
        }
        return x % n;
    }
    // Standard normal (Box-Muller; the second value is kept for the next call).
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double r = std::sqrt(-2.0 * std::log(uniform_pos()));
        const double phi = 2.0 * std::numbers::pi * uniform();
        spare_ = r * std::sin(phi);
        has_spare_ = true;
        return r * std::cos(phi);
    }
    double exponential() { return -std::log(uniform_pos()); }
    // Poisson(lambda) by inversion; for large lambda a normal approximation would bias the
    // tails, so large means are split into chunks of at most 32 (a sum of Poissons is Poisson).
    std::uint64_t poisson(double lambda) {
        std::uint64_t k = 0;
        while (lambda > 32.0) {
            k += poisson_small(32.0, std::exp(-32.0));
            lambda -= 32.0;
        }
        return k + poisson_small(lambda, std::exp(-lambda));
    }
    // Poisson with a precomputed exp(-lambda), for the per-step hot path.
    std::uint64_t poisson_small(double lambda, double exp_minus_lambda) {
        double u = uniform();
        std::uint64_t k = 0;
        double p = exp_minus_lambda;
        double cdf = p;
        while (u >= cdf && k < 1000) {
            ++k;
            p *= lambda / static_cast<double>(k);
            cdf += p;
        }
        return k;
    }

private:
    void refill() {
        block_ = r123::Philox4x32{}(ctr_, key_);
        ++ctr_.v[0];  // 2^32 blocks (64 GiB of draws) per stream before it repeats
        used_ = 0;
    }

    r123::Philox4x32::key_type key_;
    r123::Philox4x32::ctr_type ctr_;
    r123::Philox4x32::ctr_type block_{};
    int used_ = 4;
    bool has_spare_ = false;
    double spare_ = 0;
};

}  // namespace glia
