// Private to the loss family (loss.cpp, loss_avx2.cpp, loss_avx512.cpp): the per-row pieces each
// ISA registers (kernel_table.h). loss.cpp holds the reference versions; AVX-512 has its own
// one-column BCE (the same bits) and runs the AVX2 ones otherwise.
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/types.h"

namespace fusednet {

// Of one row: max = max_j z_j, sum = sum_j exp(z_j - max), and rest = sum - 1 computed without
// rounding 1 + rest (the max's own term is exactly 1 and is counted apart), so lse - max =
// log1p(rest) keeps the tiny loss of a confident row. A NaN anywhere makes sum and rest NaN.
struct RowLse {
  float max, sum, rest;
};

struct LossKernels {
  // Writes e_j = exp(z_j - max) (e may not alias z) and returns max, sum and rest.
  RowLse (*softmax_exp)(const float* z, float* e, index_t cols);
  // x_j *= s.
  void (*scale)(float* x, index_t cols, float s);
  // Returns sum_j softplus(z_j) - t_j z_j (in double) and writes dz_j = coef (sigmoid(z_j) - t_j).
  double (*bce)(const float* z, const float* t, float* dz, index_t cols, float coef);
  // The one-column case over n rows at once (a row call per element would cost more than the
  // element): returns sum_i w_i (softplus(z_i) - t_i z_i) in double, in an order fixed by n, and
  // writes dz_i = float(base w_i) (sigmoid(z_i) - t_i). w may be nullptr (all ones).
  double (*bce_column)(const float* z, const float* t, const float* w, float* dz, index_t n,
                       double base);
};

// Sums row_loss in one fixed order: four interleaved partial sums (rows i mod 4), combined as
// (s0 + s1) + (s2 + s3). Independent of threads; four chains instead of one add latency chain.
inline double reduce_rows(const double* row_loss, index_t rows, Reduction reduction) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  index_t i = 0;
  for (; i + 4 <= rows; i += 4) {
    s0 += row_loss[i];
    s1 += row_loss[i + 1];
    s2 += row_loss[i + 2];
    s3 += row_loss[i + 3];
  }
  for (; i < rows; ++i) s0 += row_loss[i];
  double total = (s0 + s1) + (s2 + s3);
  if (reduction == Reduction::Mean) total = rows > 0 ? total / static_cast<double>(rows) : 0.0;
  return total;
}

const LossKernels& loss_kernels_generic();
const LossKernels& loss_kernels_avx2();
const LossKernels& loss_kernels_avx512();
const LossKernels& loss_kernels(CpuIsa isa);

}  // namespace fusednet
