// Private to the loss family (loss.cpp, loss_avx2.cpp): the per-row pieces each ISA registers
// (kernel_table.h). loss.cpp holds the reference versions, the AVX2 ones run on AVX-512 too.
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"

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

const LossKernels& loss_kernels_generic();
const LossKernels& loss_kernels_avx2();
const LossKernels& loss_kernels(CpuIsa isa);

}  // namespace fusednet
