// Reductions over a contiguous [rows, cols] matrix.
//
//   bias_grad    db[j] = sum_i dy[i, j]      (the bias gradient of a dense layer)
//   argmax_rows  out[i] = min { j : x[i, j] = max_k x[i, k] }, a NaN counting as the max
//
// Reference semantics, as the float64 tests check them:
//   for j: acc = 0.0 (double); for i = 0 .. rows-1: acc += dy[i, j]; db[j] = float(acc)
// The kernels are reduce_impl.h, compiled once per ISA (this file: the baseline target;
// reduce_avx2.cpp, reduce_avx512.cpp); the launchers below split the work: bias_grad over blocks
// of COLUMNS (never rows, so every column is summed in row order and the result is bit-identical
// whatever the thread count, and the ISA), argmax over rows.
#include <algorithm>

#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cpu/reduce_impl.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

constexpr index_t kParallelMin = index_t{1} << 15;  // elements; below this one thread is faster
constexpr index_t kMinCols = 16;  // bias_grad: columns per thread come in whole cache lines

}  // namespace

const ReduceKernels& reduce_kernels_generic() { return FN_SIMD_NS::reduce::table(); }

const ReduceKernels& reduce_kernels(CpuIsa isa) {
  return pick_kernels(isa, &reduce_kernels_generic, FN_X86_KERNELS(reduce_kernels_avx2),
                      FN_X86_KERNELS(reduce_kernels_avx512));
}

void bias_grad_cpu(const float* dy, float* db, index_t rows, index_t cols) {
  const ReduceKernels& k = reduce_kernels(active_cpu_isa());
  const int nt = (rows * cols >= kParallelMin && cols >= 2 * kMinCols) ? num_threads() : 1;
  if (nt <= 1) {
    k.bias_grad_cols(dy, db, rows, cols, 0, cols);
    return;
  }
  // Slabs of whole 16-column groups, about 4 per thread; every row of a slab is read in order.
  const index_t width = round_up(ceil_div(cols, 4 * static_cast<index_t>(nt)), kMinCols);
  parallel_for(cols, width, nt,
               [&](index_t j0, index_t j1) { k.bias_grad_cols(dy, db, rows, cols, j0, j1); });
}

void argmax_rows_cpu(const float* x, std::int64_t* out, index_t rows, index_t cols) {
  check_has_columns("x", rows, cols);
  const ReduceKernels& k = reduce_kernels(active_cpu_isa());
  const index_t per = std::max<index_t>(1, kParallelMin / std::max<index_t>(cols, 1));
  const index_t blocks = ceil_div(rows, per);
  const int nt = blocks > 1 ? num_threads() : 1;
  parallel_for(blocks, 1, nt, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b)
      k.argmax_rows(x, out, b * per, std::min(rows, (b + 1) * per), cols);
  });
}

}  // namespace fusednet
