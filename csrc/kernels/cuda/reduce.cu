// Reductions on the GPU, each in a fixed order (no atomics), so results are bit-reproducible:
//   bias_grad:   db[j] = sum_i dy[i, j] over a contiguous [rows, cols]
//   argmax_rows: out[i] = first index of the max of row i (NaN counts as the max)
//   correct_rows: correct[i] = (argmax of row i == labels[i]) as 1.0 / 0.0, for accuracy
//   sum_doubles: *out = scale * sum_i v[i], the final step of every loss (mean or sum)
#include "kernels/checks.h"
#include "kernels/cuda/device_util.cuh"

namespace fusednet {

namespace {

// bias_grad: a block owns 32 columns (coalesced row reads); its 32 row-groups each sum rows
// g, g + 32, g + 64, ... in order, then thread row 0 adds the 32 partials in order. The split is a
// compile-time constant, so the order never depends on the device. Sums in double, in the order
// bias_grad_cpu uses too, so both give the same bits; 32 groups (not fewer)
// because one block per 32 columns is all the parallelism a narrow layer offers, and each group's
// chain of dependent loads is what the kernel waits on.
constexpr int kBiasCols = 32;
constexpr int kBiasGroups = 32;

__global__ void __launch_bounds__(kBiasCols* kBiasGroups)
    bias_grad_kernel(const float* dy, float* db, index_t rows, index_t cols) {
  __shared__ double partial[kBiasGroups][kBiasCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kBiasCols + threadIdx.x;
  double s = 0.0;
  if (col < cols) {
#pragma unroll 4
    for (index_t r = threadIdx.y; r < rows; r += kBiasGroups) s += dy[r * cols + col];
  }
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    double total = 0.0;
    for (int g = 0; g < kBiasGroups; ++g) total += partial[g][threadIdx.x];
    db[col] = static_cast<float>(total);
  }
}

// (value, index) pairs: is a better than b? NaN beats numbers, larger beats smaller, ties and
// NaN-vs-NaN go to the lower index.
__device__ __forceinline__ bool argmax_better(float av, long long ai, float bv, long long bi) {
  const bool an = isnan(av), bn = isnan(bv);
  if (an || bn) return an && bn ? ai < bi : an;
  if (av != bv) return av > bv;
  return ai < bi;
}

// The first argmax of a row, by one warp (every lane gets the answer).
__device__ __forceinline__ long long warp_row_argmax(const float* xr, index_t cols, int lane) {
  float best = -INFINITY;
  long long best_i = LLONG_MAX;
  for (index_t j = lane; j < cols; j += dev::kWarp)
    if (argmax_better(xr[j], j, best, best_i)) {
      best = xr[j];
      best_i = j;
    }
  for (int o = dev::kWarp / 2; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, best, o);
    const long long oi = __shfl_xor_sync(0xffffffffu, best_i, o);
    if (argmax_better(ov, oi, best, best_i)) {
      best = ov;
      best_i = oi;
    }
  }
  return best_i;
}

// mode 0: out[r] = argmax; mode 1: correct[r] = argmax == labels[r].
__global__ void argmax_rows_kernel(const float* x, std::int64_t* out, const std::int64_t* labels,
                                   double* correct, index_t rows, index_t cols) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t stride = dev::warp_rows_stride();
  for (index_t r = dev::first_warp_row(); r < rows; r += stride) {
    const long long best_i = warp_row_argmax(x + r * cols, cols, lane);
    if (lane == 0) {
      if (out) out[r] = best_i;
      if (correct) correct[r] = best_i == labels[r] ? 1.0 : 0.0;
    }
  }
}

void launch_argmax(const float* x, std::int64_t* out, const std::int64_t* labels, double* correct,
                   index_t rows, index_t cols, CudaStream stream) {
  if (rows <= 0) return;
  constexpr int threads = 256;
  argmax_rows_kernel<<<dev::grid_for(rows, threads / dev::kWarp), threads, 0, as_stream(stream)>>>(
      x, out, labels, correct, rows, cols);
  CUDA_CHECK_LAUNCH();
}

constexpr int kSumThreads = 256;

__global__ void sum_doubles_kernel(const double* v, index_t n, double scale, double* out) {
  __shared__ double part[kSumThreads];
  double s = 0.0;
  for (index_t i = threadIdx.x; i < n; i += kSumThreads) s += v[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = kSumThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = part[0] * scale;
}
}  // namespace

void bias_grad_cuda(const float* dy, float* db, index_t rows, index_t cols, CudaStream stream) {
  if (cols <= 0) return;
  if (rows <= 0) {
    memset_device(db, 0, static_cast<std::size_t>(cols) * sizeof(float), stream);
    return;
  }
  const dim3 block(kBiasCols, kBiasGroups);
  bias_grad_kernel<<<static_cast<unsigned>(ceil_div(cols, kBiasCols)), block, 0,
                     as_stream(stream)>>>(dy, db, rows, cols);
  CUDA_CHECK_LAUNCH();
}

void argmax_rows_cuda(const float* x, std::int64_t* out, index_t rows, index_t cols,
                      CudaStream stream) {
  check_has_columns("x", rows, cols);
  launch_argmax(x, out, nullptr, nullptr, rows, cols, stream);
}

void correct_rows_cuda(const float* logits, const std::int64_t* labels, double* correct,
                       index_t rows, index_t cols, CudaStream stream) {
  check_has_columns("logits", rows, cols);
  launch_argmax(logits, nullptr, labels, correct, rows, cols, stream);
}

void sum_doubles_cuda(const double* values, index_t n, double scale, double* out,
                      CudaStream stream) {
  sum_doubles_kernel<<<1, kSumThreads, 0, as_stream(stream)>>>(values, n < 0 ? 0 : n, scale, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
