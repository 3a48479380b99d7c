#pragma once
// The two matrix products of the softmax readout in single precision (NALSM trains in float32):
// the logits of a chunk of rows and the weight gradient of that chunk. They are most of the
// readout's time (n x d x C twice per epoch, and again for every evaluation).
//
// Layout: x is given as one pointer per row (d floats each: rows of a feature matrix in any
// order, read in place); the weights, logits and gradients are row-major with the classes
// padded to class_stride(C) columns (padding stays zero). Every output element is
// accumulated in one fixed order (over j for logits, over rows for gradients) with separate
// multiplies and adds, so the result is the same bit for bit whichever instruction set the
// CPU offers (an AVX2 and a baseline version are compiled; the loader picks one at startup).

#include <cstddef>

namespace glia::reservoir::kernels {

// Columns of a padded class matrix: C rounded up to a multiple of 8.
constexpr std::size_t class_stride(std::size_t n_classes) { return (n_classes + 7) / 8 * 8; }

// z (rows x stride) = x (rows x d) * w (d x stride).
void logits(const float* const* x, std::size_t rows, std::size_t d, const float* w,
            std::size_t stride, float* z);

// g (d x stride) = x^T (d x rows) * dz (rows x stride); g is overwritten.
void weight_gradient(const float* const* x, std::size_t rows, std::size_t d, const float* dz,
                     std::size_t stride, float* g);

}  // namespace glia::reservoir::kernels
