// Private to the loss kernels (loss.cpp, loss_avx2.cpp): the per-row pieces that have an ISA
// variant. loss.cpp holds the reference (portable) versions and picks one set per call.
#pragma once

#include "common.h"

namespace fusednet {
namespace loss_detail {

// Of one row: max = max_j z_j, sum = sum_j exp(z_j - max), and rest = sum - 1 computed without
// rounding 1 + rest (the max's own term is exactly 1 and is counted apart), so lse - max =
// log1p(rest) keeps the tiny loss of a confident row. A NaN anywhere makes sum and rest NaN.
struct RowLse {
  float max, sum, rest;
};

struct RowKernels {
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

#ifdef FUSEDNET_X86_KERNELS
extern const RowKernels row_kernels_avx2;
#endif

}  // namespace loss_detail
}  // namespace fusednet
