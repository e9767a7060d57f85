// Private to the reduction family (reduce.cpp, reduce_avx2.cpp, reduce_avx512.cpp): the kernels
// each ISA registers (kernel_table.h).
#pragma once

#include <cstdint>

#include "common.h"
#include "kernels/cpu/kernel_table.h"

namespace fusednet {

struct ReduceKernels {
  // Columns [j0, j1) of db[j] = sum_i dy[i, j] over a contiguous [rows, cols].
  void (*bias_grad_cols)(const float* dy, float* db, index_t rows, index_t cols, index_t j0,
                         index_t j1);
  // Rows [r0, r1) of out[r] = the first index of the max of row r (a NaN counts as the max).
  void (*argmax_rows)(const float* x, std::int64_t* out, index_t r0, index_t r1, index_t cols);
};

const ReduceKernels& reduce_kernels_generic();
const ReduceKernels& reduce_kernels_avx2();
const ReduceKernels& reduce_kernels_avx512();
const ReduceKernels& reduce_kernels(CpuIsa isa);

}  // namespace fusednet
