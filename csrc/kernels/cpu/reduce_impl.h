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

// db[j] = sum_i dy[i, j] in double, in the order of the GPU's bias_grad_kernel: group g sums rows
// g, g + 32, g + 64, ... in order, then the 32 group sums are added in order. Bit-identical
// whatever the blocking, the thread split or the ISA, and to the GPU; 32 independent chains also
// keep a narrow layer's sum off the latency of one long chain of dependent adds.
constexpr index_t kBiasGroups = 32;
// Columns per block: the block's 32 group sums per column stay in L1 (16 KiB).
constexpr index_t kBiasWidth = 64;

// db[k] = the 32 group sums of column k added in order (the columns side by side: a narrow
// layer's few columns are otherwise one chain of dependent adds after another).
inline void finish_groups(const double* acc, index_t width, float* db) {
  double total[kBiasWidth] = {};
  for (index_t g = 0; g < kBiasGroups; ++g)
#pragma omp simd
    for (index_t k = 0; k < width; ++k) total[k] += acc[g * width + k];
  for (index_t k = 0; k < width; ++k) db[k] = static_cast<float>(total[k]);
}

// All columns of a few (the bias of a narrow layer): with rows contiguous, group g's sum of
// column k is acc[f mod (32 * kCols)] over the flat index f, a fixed-size block the compiler
// keeps in registers.
template <int kCols>
inline void bias_grad_narrow(const float* dy, float* db, index_t rows) {
  constexpr index_t kPeriod = kBiasGroups * kCols;
  double acc[kPeriod] = {};
  const index_t n = rows * kCols;
  index_t f = 0;
  for (; f + kPeriod <= n; f += kPeriod) {
#pragma omp simd
    for (index_t t = 0; t < kPeriod; ++t) acc[t] += static_cast<double>(dy[f + t]);
  }
  for (index_t t = 0; f + t < n; ++t) acc[t] += static_cast<double>(dy[f + t]);
  finish_groups(acc, kCols, db);
}

inline void bias_grad_cols(const float* dy, float* db, index_t rows, index_t cols, index_t j0,
                           index_t j1) {
  if (j0 == 0 && j1 == cols) {
    switch (cols) {
      case 1: return bias_grad_narrow<1>(dy, db, rows);
      case 2: return bias_grad_narrow<2>(dy, db, rows);
      case 3: return bias_grad_narrow<3>(dy, db, rows);
      case 4: return bias_grad_narrow<4>(dy, db, rows);
      default: break;
    }
  }
  double acc[kBiasGroups * kBiasWidth];
  for (index_t jb = j0; jb < j1; jb += kBiasWidth) {
    const index_t w = std::min(kBiasWidth, j1 - jb);
    std::fill(acc, acc + kBiasGroups * w, 0.0);
    for (index_t i = 0; i < rows; ++i) {
      const float* r = dy + i * cols + jb;
      double* a = acc + (i % kBiasGroups) * w;
#pragma omp simd
      for (index_t k = 0; k < w; ++k) a[k] += static_cast<double>(r[k]);
    }
    finish_groups(acc, w, db + jb);
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
