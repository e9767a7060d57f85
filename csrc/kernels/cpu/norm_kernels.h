// Private to the normalization family (norm.cpp, norm_avx2.cpp, norm_avx512.cpp): the kernels
// each ISA registers (kernel_table.h).
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/types.h"

namespace fusednet {

struct NormKernels {
  // Batch norm of columns [j0, j1) of a contiguous [rows, cols] (kernels/types.h).
  void (*bn_forward_cols)(const float* x, float* y, index_t rows, index_t cols, index_t j0,
                          index_t j1, const BatchNormArgs& a);
  void (*bn_backward_cols)(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                           index_t j0, index_t j1, const BatchNormArgs& a, float* dgamma,
                           float* dbeta);
  // Synchronized batch norm's column sums of columns [j0, j1) (kernels/cpu.h).
  void (*bn_stat_sums_cols)(const float* x, index_t rows, index_t cols, index_t j0, index_t j1,
                            const double* sum, double count, double* out);
  void (*bn_grad_sums_cols)(const float* dy, const float* x, index_t rows, index_t cols, index_t j0,
                            index_t j1, const BatchNormArgs& a, double* out);
  // Layer norm of rows [r0, r1).
  void (*ln_forward_rows)(const float* x, float* y, index_t cols, index_t r0, index_t r1,
                          const float* gamma, const float* beta, float eps, float* mean,
                          float* rstd);
  void (*ln_backward_rows)(const float* dy, const float* x, float* dx, index_t cols, index_t r0,
                           index_t r1, const float* gamma, const float* mean, const float* rstd);
  // dgamma / dbeta of layer norm for columns [j0, j1) (either may be nullptr).
  void (*ln_param_grad_cols)(const float* dy, const float* x, index_t rows, index_t cols,
                             index_t j0, index_t j1, const float* mean, const float* rstd,
                             float* dgamma, float* dbeta);
};

const NormKernels& norm_kernels_generic();
const NormKernels& norm_kernels_avx2();
const NormKernels& norm_kernels_avx512();
const NormKernels& norm_kernels(CpuIsa isa);

}  // namespace fusednet
