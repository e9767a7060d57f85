// Normalization over a contiguous [rows, cols] matrix: batch norm (per column, over the rows)
// and layer norm (per row, over the columns). Semantics: kernels/types.h (BatchNormArgs) and
// kernels/cpu.h; the kernels are norm_impl.h, compiled once per ISA (this file: the baseline
// target; norm_avx2.cpp, norm_avx512.cpp). The launchers split column reductions over blocks of
// COLUMNS and row reductions over rows, so every sum keeps its order whatever the thread count.
#include <algorithm>

#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cpu/norm_impl.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

constexpr index_t kParallelMin = index_t{1} << 15;  // elements; below this one thread is faster
constexpr index_t kMinCols = 16;                     // columns per thread: whole cache lines

int threads_for(index_t rows, index_t cols) {
  return rows * cols >= kParallelMin ? num_threads() : 1;
}

// f(j0, j1) over column slabs of whole 16-column groups, about 4 per thread.
template <class F>
void over_columns(index_t rows, index_t cols, F f) {
  const int nt = cols >= 2 * kMinCols ? threads_for(rows, cols) : 1;
  if (nt <= 1) return f(index_t{0}, cols);
  const index_t width = round_up(ceil_div(cols, 4 * static_cast<index_t>(nt)), kMinCols);
  parallel_for(cols, width, nt, f);
}

template <class F>
void over_rows(index_t rows, index_t cols, F f) {
  const int nt = threads_for(rows, cols);
  const index_t grain = std::max<index_t>(1, kParallelMin / std::max<index_t>(cols, 1) / 4);
  if (nt <= 1 || rows <= grain) return f(index_t{0}, rows);
  parallel_for(rows, grain, nt, f);
}

void check_norm_shape(index_t rows, index_t cols) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape, got (", rows, ", ", cols,
           ")");
}

}  // namespace

const NormKernels& norm_kernels_generic() { return FN_SIMD_NS::norm::table(); }

const NormKernels& norm_kernels(CpuIsa isa) {
  return pick_kernels(isa, &norm_kernels_generic, FN_X86_KERNELS(norm_kernels_avx2),
                      FN_X86_KERNELS(norm_kernels_avx512));
}

void batch_norm_forward_cpu(const float* x, float* y, index_t rows, index_t cols,
                            const BatchNormArgs& a) {
  check_norm_shape(rows, cols);
  FN_CHECK(a.mode != NormMode::Batch || rows >= 1 || cols == 0 || a.batch_stats,
           "x: batch statistics need at least one row, got 0");
  FN_CHECK(!a.batch_stats || a.batch_count > 0, "batch_count: expected > 0, got ", a.batch_count);
  if (cols == 0) return;
  const NormKernels& k = norm_kernels(active_cpu_isa());
  over_columns(rows, cols,
               [&](index_t j0, index_t j1) { k.bn_forward_cols(x, y, rows, cols, j0, j1, a); });
}

void batch_norm_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                             const BatchNormArgs& a, float* dgamma, float* dbeta) {
  check_norm_shape(rows, cols);
  if (cols == 0) return;
  const NormKernels& k = norm_kernels(active_cpu_isa());
  over_columns(rows, cols, [&](index_t j0, index_t j1) {
    k.bn_backward_cols(dy, x, dx, rows, cols, j0, j1, a, dgamma, dbeta);
  });
}

void batch_norm_stat_sums_cpu(const float* x, index_t rows, index_t cols, const double* sum,
                              double count, double* out) {
  check_norm_shape(rows, cols);
  FN_CHECK(!sum || count > 0, "count: expected > 0 with sum, got ", count);
  if (cols == 0) return;
  const NormKernels& k = norm_kernels(active_cpu_isa());
  over_columns(rows, cols, [&](index_t j0, index_t j1) {
    k.bn_stat_sums_cols(x, rows, cols, j0, j1, sum, count, out);
  });
}

void batch_norm_grad_sums_cpu(const float* dy, const float* x, index_t rows, index_t cols,
                              const BatchNormArgs& a, double* out) {
  check_norm_shape(rows, cols);
  if (cols == 0) return;
  const NormKernels& k = norm_kernels(active_cpu_isa());
  over_columns(rows, cols, [&](index_t j0, index_t j1) {
    k.bn_grad_sums_cols(dy, x, rows, cols, j0, j1, a, out);
  });
}

void layer_norm_forward_cpu(const float* x, float* y, index_t rows, index_t cols,
                            const float* gamma, const float* beta, float eps, float* mean,
                            float* rstd) {
  check_norm_shape(rows, cols);
  FN_CHECK(cols >= 1 || rows == 0, "x: layer norm needs at least one column, got 0");
  if (rows == 0) return;
  const NormKernels& k = norm_kernels(active_cpu_isa());
  over_rows(rows, cols, [&](index_t r0, index_t r1) {
    k.ln_forward_rows(x, y, cols, r0, r1, gamma, beta, eps, mean, rstd);
  });
}

void layer_norm_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                             const float* gamma, const float* mean, const float* rstd,
                             float* dgamma, float* dbeta) {
  check_norm_shape(rows, cols);
  if (rows == 0 || cols == 0) {
    for (index_t j = 0; j < cols; ++j) {
      if (dgamma) dgamma[j] = 0.f;
      if (dbeta) dbeta[j] = 0.f;
    }
    return;
  }
  const NormKernels& k = norm_kernels(active_cpu_isa());
  // The parameter gradients read dy first: dx may alias it.
  if (dgamma || dbeta)
    over_columns(rows, cols, [&](index_t j0, index_t j1) {
      k.ln_param_grad_cols(dy, x, rows, cols, j0, j1, mean, rstd, dgamma, dbeta);
    });
  over_rows(rows, cols, [&](index_t r0, index_t r1) {
    k.ln_backward_rows(dy, x, dx, cols, r0, r1, gamma, mean, rstd);
  });
}

}  // namespace fusednet
