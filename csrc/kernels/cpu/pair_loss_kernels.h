// Private to the pair-loss kernels (pair_loss.cpp, pair_loss_avx2.cpp, pair_loss_avx512.cpp): the
// row loops each ISA registers (kernel_table.h). The formulas are kernels/math/loss.h.
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/types.h"

namespace fusednet {

// Rows [r0, r1) of contiguous [rows, cols] p / t: row_loss[i] = w_i * (row sum or mean of the
// terms); d = float(base w_i) * d term / dp, base carrying 1/cols (means) and 1/rows (Mean).
struct PairLossKernels {
  void (*rows)(PairLoss kind, float param, const float* p, const float* t, const float* w, float* d,
               index_t r0, index_t r1, index_t cols, double base, double* row_loss);
};

const PairLossKernels& pair_loss_kernels_generic();
const PairLossKernels& pair_loss_kernels_avx2();
const PairLossKernels& pair_loss_kernels_avx512();
const PairLossKernels& pair_loss_kernels(CpuIsa isa);

}  // namespace fusednet
