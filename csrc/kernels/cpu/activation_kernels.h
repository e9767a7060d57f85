// Private to the activation family (activation.cpp, activation_avx2.cpp, activation_avx512.cpp):
// the span kernels each ISA registers (kernel_table.h). The formulas are kernels/math/activation.h.
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/types.h"

namespace fusednet {

struct ActivationKernels {
  // n contiguous elements; y may alias x, dx may alias dy.
  void (*forward)(Activation act, float param, const float* x, float* y, index_t n);
  void (*backward)(Activation act, float param, const float* dy, const float* x, float* dx,
                   index_t n);
  void (*backward_from_output)(Activation act, float param, const float* dy, const float* y,
                               float* dx, index_t n);
  // Rows [r0, r1) of a contiguous [rows, cols] matrix.
  void (*softmax_forward_rows)(const float* x, float* y, index_t r0, index_t r1, index_t cols,
                               bool log);
  void (*softmax_backward_rows)(const float* dy, const float* x, float* dx, index_t r0, index_t r1,
                                index_t cols, bool log);
};

const ActivationKernels& activation_kernels_generic();
const ActivationKernels& activation_kernels_avx2();
const ActivationKernels& activation_kernels_avx512();
const ActivationKernels& activation_kernels(CpuIsa isa);

}  // namespace fusednet
