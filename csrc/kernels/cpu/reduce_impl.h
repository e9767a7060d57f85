// Private to the reduction family: the kernels of reduce.cpp (baseline target), reduce_avx2.cpp
// and reduce_avx512.cpp, one source compiled once per ISA: plain loops the compiler vectorizes
// for the flags of the including file, compiled without trapping math as the activations are
// (simd.h), so argmax's selects if-convert.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/reduce_kernels.h"
#include "kernels/cpu/simd.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

namespace fusednet {
namespace FN_SIMD_NS {
namespace reduce {

// db[j] = sum_i dy[i, j], each column in row order in a double: bit-identical whatever the
// blocking, the thread split or the ISA. The rows are streamed in order and added into up to
// kBiasWidth double accumulators that stay in L1 (16 KiB), so memory is read sequentially; a
// column-blocked walk down the rows would stride across pages and wait on every load.
constexpr index_t kBiasWidth = 2048;

// A few columns (the bias of a narrow layer): the accumulators live in registers and the row
// loop carries no inner loop; the same additions in the same order as below.
template <int kCols>
inline void bias_grad_narrow(const float* dy, float* db, index_t rows, index_t cols) {
  double acc[kCols] = {};
  for (index_t i = 0; i < rows; ++i, dy += cols) {
    for (int k = 0; k < kCols; ++k) acc[k] += static_cast<double>(dy[k]);
  }
  for (int k = 0; k < kCols; ++k) db[k] = static_cast<float>(acc[k]);
}

inline void bias_grad_cols(const float* dy, float* db, index_t rows, index_t cols, index_t j0,
                           index_t j1) {
  switch (j1 - j0) {
    case 1: return bias_grad_narrow<1>(dy + j0, db + j0, rows, cols);
    case 2: return bias_grad_narrow<2>(dy + j0, db + j0, rows, cols);
    case 3: return bias_grad_narrow<3>(dy + j0, db + j0, rows, cols);
    case 4: return bias_grad_narrow<4>(dy + j0, db + j0, rows, cols);
    default: break;
  }
  double acc[kBiasWidth];
  for (index_t jb = j0; jb < j1; jb += kBiasWidth) {
    const index_t w = std::min(kBiasWidth, j1 - jb);
    for (index_t k = 0; k < w; ++k) acc[k] = 0.0;
    for (index_t i = 0; i < rows; ++i) {
      const float* r = dy + i * cols + jb;
#pragma omp simd
      for (index_t k = 0; k < w; ++k) acc[k] += static_cast<double>(r[k]);
    }
    for (index_t k = 0; k < w; ++k) db[jb + k] = static_cast<float>(acc[k]);
  }
}

// First index of the row maximum, a NaN counting as the maximum (NumPy's rule): one vectorized
// pass for the max and any NaN, then a short scan for the first match.
inline void argmax_rows(const float* x, std::int64_t* out, index_t r0, index_t r1, index_t cols) {
  for (index_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float m = -INFINITY;
    int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (index_t j = 0; j < cols; ++j) {
      m = xr[j] > m ? xr[j] : m;
      nan |= xr[j] != xr[j];
    }
    index_t best = 0;
    if (nan) {
      while (xr[best] == xr[best]) ++best;
    } else {
      while (best + 1 < cols && xr[best] != m) ++best;  // all -inf: xr[0] == m already
    }
    out[r] = best;
  }
}

inline const ReduceKernels& table() {
  static const ReduceKernels k{bias_grad_cols, argmax_rows};
  return k;
}

}  // namespace reduce
}  // namespace FN_SIMD_NS
}  // namespace fusednet

FN_SIMD_NO_TRAPPING_MATH_END
