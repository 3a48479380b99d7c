#include "reservoir/softmax_kernels.hpp"

#include <algorithm>
#include <cstring>

// target_clones: an AVX2 and a baseline body, chosen by the dynamic loader. Neither uses FMA
// (not part of the "avx2" target), so both round alike.
// Not under the sanitizers: their runtimes are not up yet when the loader resolves the clones.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define GLIA_KERNEL_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GLIA_KERNEL_CLONES
#endif

namespace glia::reservoir::kernels {

namespace {

constexpr std::size_t lanes = 8;  // classes per vector

// Eight floats (GCC's generic vectors: two SSE registers or one AVX register). The helpers
// are always inlined, so the vector never crosses a call (whose ABI -Wpsabi warns about).
#pragma GCC diagnostic ignored "-Wpsabi"
using v8 = float __attribute__((vector_size(32)));
[[gnu::always_inline]] inline v8 load8(const float* p) {
    v8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
[[gnu::always_inline]] inline void store8(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// R rows of logits for the classes [cb, cb + 8 S).
template <std::size_t R, std::size_t S>
[[gnu::always_inline]] inline void logit_block(const float* const* x, std::size_t d,
                                               const float* w, std::size_t stride,
                                               std::size_t cb, float* z) {
    v8 acc[R][S];
    for (std::size_t q = 0; q < R; ++q) {
        for (std::size_t k = 0; k < S; ++k) {
            acc[q][k] = v8{};
        }
    }
    for (std::size_t j = 0; j < d; ++j) {
        v8 wj[S];
        for (std::size_t k = 0; k < S; ++k) {
            wj[k] = load8(w + j * stride + cb + k * lanes);
        }
        for (std::size_t q = 0; q < R; ++q) {
            const float xv = x[q][j];
            for (std::size_t k = 0; k < S; ++k) {
                acc[q][k] += xv * wj[k];
            }
        }
    }
    for (std::size_t q = 0; q < R; ++q) {
        for (std::size_t k = 0; k < S; ++k) {
            store8(z + q * stride + cb + k * lanes, acc[q][k]);
        }
    }
}

// All classes of R rows: two blocks of 8 at a time (16 classes: one pass over the rows).
template <std::size_t R>
[[gnu::always_inline]] inline void logit_rows(const float* const* x, std::size_t d,
                                              const float* w, std::size_t stride, float* z) {
    std::size_t cb = 0;
    for (; cb + 2 * lanes <= stride; cb += 2 * lanes) {
        logit_block<R, 2>(x, d, w, stride, cb, z);
    }
    if (cb < stride) {
        logit_block<R, 1>(x, d, w, stride, cb, z);
    }
}

// g += the outer products of R rows, added row after row (the order of a one-row loop).
template <std::size_t R>
[[gnu::always_inline]] inline void gradient_rows(const float* const* x, std::size_t d,
                                                 const float* dz, std::size_t stride, float* g) {
    for (std::size_t j = 0; j < d; ++j) {
        float* gj = g + j * stride;
        for (std::size_t cb = 0; cb < stride; cb += lanes) {
            v8 v = load8(gj + cb);
            for (std::size_t q = 0; q < R; ++q) {
                v += x[q][j] * load8(dz + q * stride + cb);
            }
            store8(gj + cb, v);
        }
    }
}

}  // namespace

GLIA_KERNEL_CLONES
void logits(const float* const* x, std::size_t rows, std::size_t d, const float* w,
            std::size_t stride, float* z) {
    std::size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        logit_rows<4>(x + r, d, w, stride, z + r * stride);
    }
    for (; r < rows; ++r) {
        logit_rows<1>(x + r, d, w, stride, z + r * stride);
    }
}

GLIA_KERNEL_CLONES
void weight_gradient(const float* const* x, std::size_t rows, std::size_t d, const float* dz,
                     std::size_t stride, float* g) {
    std::fill(g, g + d * stride, 0.0F);
    std::size_t r = 0;
    for (; r + 8 <= rows; r += 8) {
        gradient_rows<8>(x + r, d, dz + r * stride, stride, g);
    }
    for (; r < rows; ++r) {
        gradient_rows<1>(x + r, d, dz + r * stride, stride, g);
    }
}

}  // namespace glia::reservoir::kernels
