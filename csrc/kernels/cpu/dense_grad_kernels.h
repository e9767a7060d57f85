// Private to the dense-gradient family (dense_grad.cpp, dense_grad_avx2.cpp,
// dense_grad_avx512.cpp): the kernels each ISA registers (kernel_table.h).
#pragma once

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/types.h"

namespace fusednet {

// A narrow layer's dW sums each (i, j) in this many phases: phase p takes the rows r = p mod 16
// in order, as one FMA chain from +0, so a long batch is 16 short chains instead of one long
// one (the gemm's K passes are latency-bound there); the driver adds the phases as a tree.
constexpr int kDenseGradPhases = 16;

struct DenseGradKernels {
  // sums[(p * dw + c) * ow + e] = phase p of sum_r d[r, c] o[r, e], with d (rows, dw) and o
  // (rows, ow) contiguous, dw in {1, 2, 4, 8}, ow <= dw, dw * ow <= 16. With dx (d being the
  // layer input x, o the delta dz, w the kernel (dw, ow)): dx[r, c] = (sum_e o[r, e] w[c, e],
  // one FMA chain from +0 in e order, as the gemm) times act'(d[r, c]) from the output.
  // nullptr where an ISA has no vector kernel (the driver then declines).
  void (*narrow)(const float* d, const float* o, index_t rows, int dw, int ow, const float* w,
                 float* dx, Activation act, float act_param, float* sums);
};

const DenseGradKernels& dense_grad_kernels_generic();
const DenseGradKernels& dense_grad_kernels_avx2();
const DenseGradKernels& dense_grad_kernels_avx512();
const DenseGradKernels& dense_grad_kernels(CpuIsa isa);

}  // namespace fusednet
