// Reductions over a contiguous [rows, cols] matrix.
//
//   bias_grad    db[j] = sum_i dy[i, j]      (the bias gradient of a dense layer)
//   argmax_rows  out[i] = min { j : x[i, j] = max_k x[i, k] }, a NaN counting as the max
//
// bias_grad adds rows in order 0, 1, ..., rows-1 into a double accumulator per column; threads
// split the COLUMNS, never the rows, so the result is bit-identical whatever the thread count.
#include <algorithm>
#include <cmath>

#include "dispatch.h"
#include "kernels.h"

namespace fusednet {

namespace {
constexpr index_t kParallelMin = index_t{1} << 15;
constexpr index_t kColBlock = 256;  // doubles accumulated per block: 2 KiB, stays in L1
}  // namespace

void bias_grad_cpu(const float* dy, float* db, index_t rows, index_t cols) {
  const index_t blocks = ceil_div(cols, kColBlock);
  const int nt = (rows * cols >= kParallelMin && blocks > 1) ? num_threads() : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t b = 0; b < blocks; ++b) {
    const index_t j0 = b * kColBlock, w = std::min(kColBlock, cols - j0);
    double acc[kColBlock];
    for (index_t j = 0; j < w; ++j) acc[j] = 0.0;
    for (index_t i = 0; i < rows; ++i) {
      const float* FN_RESTRICT row = dy + i * cols + j0;
#pragma omp simd
      for (index_t j = 0; j < w; ++j) acc[j] += static_cast<double>(row[j]);
    }
    for (index_t j = 0; j < w; ++j) db[j0 + j] = static_cast<float>(acc[j]);
  }
}

void argmax_rows_cpu(const float* x, std::int64_t* out, index_t rows, index_t cols) {
  FN_CHECK(cols > 0 || rows == 0, "argmax: expected at least one column, got 0");
  const int nt = rows * cols >= kParallelMin ? num_threads() : 1;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (index_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    index_t best = 0;
    float m = row[0];
    if (!std::isnan(m)) {
      for (index_t j = 1; j < cols; ++j) {
        const float v = row[j];
        if (v > m || std::isnan(v)) {
          best = j;
          m = v;
          if (std::isnan(v)) break;  // first NaN wins
        }
      }
    }
    out[i] = best;
  }
}

}  // namespace fusednet
