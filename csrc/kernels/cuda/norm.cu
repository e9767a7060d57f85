// Normalization on the GPU (semantics: kernels/types.h BatchNormArgs, kernels/cpu.h). Sums are in
// double in a fixed order (no atomics), so results are bit-reproducible run to run:
//   batch norm: a block owns 32 columns and all rows (coalesced row reads); its 32 row-groups sum
//     rows g, g + 32, ... in order, then the 32 partials are added in order -- the statistics,
//     the normalized output and the backward all in the block, one launch each way.
//   synchronized batch norm (data-parallel ranks): the same blocks' column sums, and the forward
//     and backward with the statistics / gradient means of every rank given;
//   layer norm: a warp per row, the lanes' partials added by a fixed shuffle tree; the parameter
//     gradients by column blocks as batch norm.
#include "kernels/checks.h"
#include "kernels/cuda/device_util.cuh"

namespace fusednet {

namespace {

constexpr int kCols = 32;
constexpr int kGroups = 32;

// The 32 row-groups' partials of this thread's column, added in group order; every thread of the
// column gets the total.
__device__ __forceinline__ double column_total(double (*part)[kCols + 1], double v) {
  part[threadIdx.y][threadIdx.x] = v;
  __syncthreads();
  double t = 0.0;
  for (int g = 0; g < kGroups; ++g) t += part[g][threadIdx.x];
  __syncthreads();
  return t;
}

// A column's sums of dy and dy * xhat over the rows (every thread of the block must call it:
// column_total syncs the block); the backward kernel and the data-parallel sums share them.
__device__ __forceinline__ void grad_column_sums(const float* dy, const float* x, index_t rows,
                                                 index_t cols, index_t col, bool in, float mean,
                                                 float invstd, double (*part)[kCols + 1],
                                                 double& s1, double& s2) {
  s1 = 0.0;
  s2 = 0.0;
  if (in)
    for (index_t r = threadIdx.y; r < rows; r += kGroups) {
      const float d = dy[r * cols + col];
      const float xh = (x[r * cols + col] - mean) * invstd;
      s1 += static_cast<double>(d);
      s2 += static_cast<double>(d) * static_cast<double>(xh);
    }
  s1 = column_total(part, s1);
  s2 = column_total(part, s2);
}

__global__ void __launch_bounds__(kCols* kGroups)
    bn_forward_kernel(const float* x, float* y, index_t rows, index_t cols, BatchNormArgs a) {
  __shared__ double part[kGroups][kCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kCols + threadIdx.x;
  const bool in = col < cols;
  float mean = 0.f, invstd = 0.f;
  if (a.mode == NormMode::Batch) {
    // Every rank's sums when given (a uniform branch: column_total syncs the block), with the
    // same arithmetic on them as on this call's.
    const double* given = a.batch_stats;
    const double inv_n = 1.0 / (given ? a.batch_count : static_cast<double>(rows));
    double s = 0.0;
    if (given) {
      if (in) s = given[col];
    } else {
      if (in)
        for (index_t r = threadIdx.y; r < rows; r += kGroups) s += x[r * cols + col];
      s = column_total(part, s);
    }
    const double mu = s * inv_n;
    double q = 0.0;
    if (given) {
      if (in) q = given[cols + col];
    } else {
      if (in)
        for (index_t r = threadIdx.y; r < rows; r += kGroups) {
          const double d = static_cast<double>(x[r * cols + col]) - mu;
          q += d * d;
        }
      q = column_total(part, q);
    }
    const double var = q * inv_n;
    mean = static_cast<float>(mu);
    invstd = static_cast<float>(1.0 / sqrt(var + static_cast<double>(a.eps)));
    if (in && threadIdx.y == 0) {
      a.mean[col] = mean;
      a.invstd[col] = invstd;
      if (a.moving_mean) {
        const double m = a.momentum;
        a.moving_mean[col] = static_cast<float>(a.moving_mean[col] * m + mu * (1.0 - m));
        a.moving_var[col] = static_cast<float>(a.moving_var[col] * m + var * (1.0 - m));
      }
    }
  } else if (in) {
    const double v = a.moving_var[col];
    const double sd = a.mode == NormMode::Moving ? sqrt(v + static_cast<double>(a.eps))
                                                 : fmax(sqrt(v), static_cast<double>(a.eps));
    mean = a.moving_mean[col];
    invstd = static_cast<float>(1.0 / sd);
    if (threadIdx.y == 0) {
      a.mean[col] = mean;
      a.invstd[col] = invstd;
    }
  }
  if (!in) return;
  const float g = a.gamma ? a.gamma[col] : 1.f, b = a.beta ? a.beta[col] : 0.f;
  for (index_t r = threadIdx.y; r < rows; r += kGroups) {
    const float xh = (x[r * cols + col] - mean) * invstd;
    y[r * cols + col] = (a.gamma ? xh * g : xh) + b;
  }
}

__global__ void __launch_bounds__(kCols* kGroups)
    bn_backward_kernel(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                       BatchNormArgs a, float* dgamma, float* dbeta) {
  __shared__ double part[kGroups][kCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kCols + threadIdx.x;
  const bool in = col < cols;
  const float mean = in ? a.mean[col] : 0.f, invstd = in ? a.invstd[col] : 0.f;
  double s1, s2;
  grad_column_sums(dy, x, rows, cols, col, in, mean, invstd, part, s1, s2);
  if (!in) return;
  if (threadIdx.y == 0) {
    if (dbeta) dbeta[col] = static_cast<float>(s1);
    if (dgamma) dgamma[col] = static_cast<float>(s2);
  }
  const bool batch = a.mode == NormMode::Batch;
  const double inv_n = 1.0 / static_cast<double>(rows > 0 ? rows : 1);
  const double* given = batch ? a.grad_means : nullptr;  // every rank's means
  const float c1 = given   ? static_cast<float>(given[col])
                   : batch ? static_cast<float>(s1 * inv_n)
                           : 0.f;
  const float c2 = given   ? static_cast<float>(given[cols + col])
                   : batch ? static_cast<float>(s2 * inv_n)
                           : 0.f;
  const float scale = (a.gamma ? a.gamma[col] : 1.f) * invstd;
  for (index_t r = threadIdx.y; r < rows; r += kGroups) {
    const float xh = (x[r * cols + col] - mean) * invstd;
    dx[r * cols + col] = scale * (dy[r * cols + col] - c1 - xh * c2);
  }
}

// Synchronized batch norm's column sums (kernels/cpu.h), by the column blocks above.
__global__ void __launch_bounds__(kCols* kGroups)
    bn_stat_sums_kernel(const float* x, index_t rows, index_t cols, const double* sum, double count,
                        double* out) {
  __shared__ double part[kGroups][kCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kCols + threadIdx.x;
  const bool in = col < cols;
  double s = 0.0;
  if (in) {
    const double c = sum ? sum[col] * (1.0 / count) : 0.0;  // the mean, as bn_forward_kernel
    for (index_t r = threadIdx.y; r < rows; r += kGroups) {
      if (sum) {  // as bn_forward_kernel's second pass
        const double d = static_cast<double>(x[r * cols + col]) - c;
        s += d * d;
      } else {
        s += x[r * cols + col];
      }
    }
  }
  s = column_total(part, s);
  if (in && threadIdx.y == 0) out[col] = s;
}

__global__ void __launch_bounds__(kCols* kGroups)
    bn_grad_sums_kernel(const float* dy, const float* x, index_t rows, index_t cols,
                        BatchNormArgs a, double* out) {
  __shared__ double part[kGroups][kCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kCols + threadIdx.x;
  const bool in = col < cols;
  const float mean = in ? a.mean[col] : 0.f, invstd = in ? a.invstd[col] : 0.f;
  double s1, s2;
  grad_column_sums(dy, x, rows, cols, col, in, mean, invstd, part, s1, s2);
  if (in && threadIdx.y == 0) {
    out[col] = s1;
    out[cols + col] = s2;
  }
}

// The sum of v over a warp by a fixed xor tree: every lane gets the same total.
__device__ __forceinline__ double warp_total(double v) {
  for (int o = dev::kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

constexpr int kRowThreads = 256;

__global__ void ln_forward_kernel(const float* x, float* y, index_t rows, index_t cols,
                                  const float* gamma, const float* beta, float eps, float* mean,
                                  float* rstd) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t warps = static_cast<index_t>(gridDim.x) * (blockDim.x / dev::kWarp);
  for (index_t r = dev::first_index() / dev::kWarp; r < rows; r += warps) {
    const float* xr = x + r * cols;
    double s = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) s += xr[j];
    const double mu = warp_total(s) / static_cast<double>(cols);
    double q = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const double d = static_cast<double>(xr[j]) - mu;
      q += d * d;
    }
    const double var = warp_total(q) / static_cast<double>(cols);
    const float m = static_cast<float>(mu);
    const float rs = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
    if (lane == 0) {
      mean[r] = m;
      rstd[r] = rs;
    }
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float xh = (xr[j] - m) * rs;
      y[r * cols + j] = (gamma ? xh * gamma[j] : xh) + (beta ? beta[j] : 0.f);
    }
  }
}

__global__ void ln_backward_kernel(const float* dy, const float* x, float* dx, index_t rows,
                                   index_t cols, const float* gamma, const float* mean,
                                   const float* rstd) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t warps = static_cast<index_t>(gridDim.x) * (blockDim.x / dev::kWarp);
  for (index_t r = dev::first_index() / dev::kWarp; r < rows; r += warps) {
    const float* d = dy + r * cols;
    const float* xr = x + r * cols;
    const float m = mean[r], rs = rstd[r];
    double s1 = 0.0, s2 = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float g = gamma ? d[j] * gamma[j] : d[j];
      s1 += static_cast<double>(g);
      s2 += static_cast<double>(g) * static_cast<double>((xr[j] - m) * rs);
    }
    const float c1 = static_cast<float>(warp_total(s1) / static_cast<double>(cols));
    const float c2 = static_cast<float>(warp_total(s2) / static_cast<double>(cols));
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float g = gamma ? d[j] * gamma[j] : d[j];
      const float xh = (xr[j] - m) * rs;
      dx[r * cols + j] = rs * (g - c1 - xh * c2);
    }
  }
}

__global__ void __launch_bounds__(kCols* kGroups)
    ln_param_grad_kernel(const float* dy, const float* x, index_t rows, index_t cols,
                         const float* mean, const float* rstd, float* dgamma, float* dbeta) {
  __shared__ double part[kGroups][kCols + 1];
  const index_t col = static_cast<index_t>(blockIdx.x) * kCols + threadIdx.x;
  const bool in = col < cols;
  double s1 = 0.0, s2 = 0.0;
  if (in)
    for (index_t r = threadIdx.y; r < rows; r += kGroups) {
      const float d = dy[r * cols + col];
      s1 += static_cast<double>(d);
      s2 += static_cast<double>(d) * static_cast<double>((x[r * cols + col] - mean[r]) * rstd[r]);
    }
  s1 = column_total(part, s1);
  s2 = column_total(part, s2);
  if (in && threadIdx.y == 0) {
    if (dbeta) dbeta[col] = static_cast<float>(s1);
    if (dgamma) dgamma[col] = static_cast<float>(s2);
  }
}

unsigned column_blocks(index_t cols) { return static_cast<unsigned>(ceil_div(cols, kCols)); }

}  // namespace

void batch_norm_forward_cuda(const float* x, float* y, index_t rows, index_t cols,
                             const BatchNormArgs& a, CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  FN_CHECK(a.mode != NormMode::Batch || rows >= 1 || cols == 0 || a.batch_stats,
           "x: batch statistics need at least one row, got 0");
  FN_CHECK(!a.batch_stats || a.batch_count > 0, "batch_count: expected > 0, got ", a.batch_count);
  if (cols == 0) return;
  bn_forward_kernel<<<column_blocks(cols), dim3(kCols, kGroups), 0, as_stream(stream)>>>(x, y, rows,
                                                                                         cols, a);
  CUDA_CHECK_LAUNCH();
}

void batch_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t rows,
                              index_t cols, const BatchNormArgs& a, float* dgamma, float* dbeta,
                              CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  if (cols == 0) return;
  bn_backward_kernel<<<column_blocks(cols), dim3(kCols, kGroups), 0, as_stream(stream)>>>(
      dy, x, dx, rows, cols, a, dgamma, dbeta);
  CUDA_CHECK_LAUNCH();
}

void batch_norm_stat_sums_cuda(const float* x, index_t rows, index_t cols, const double* sum,
                               double count, double* out, CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  FN_CHECK(!sum || count > 0, "count: expected > 0 with sum, got ", count);
  if (cols == 0) return;
  bn_stat_sums_kernel<<<column_blocks(cols), dim3(kCols, kGroups), 0, as_stream(stream)>>>(
      x, rows, cols, sum, count, out);
  CUDA_CHECK_LAUNCH();
}

void batch_norm_grad_sums_cuda(const float* dy, const float* x, index_t rows, index_t cols,
                               const BatchNormArgs& a, double* out, CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  if (cols == 0) return;
  bn_grad_sums_kernel<<<column_blocks(cols), dim3(kCols, kGroups), 0, as_stream(stream)>>>(
      dy, x, rows, cols, a, out);
  CUDA_CHECK_LAUNCH();
}

void layer_norm_forward_cuda(const float* x, float* y, index_t rows, index_t cols,
                             const float* gamma, const float* beta, float eps, float* mean,
                             float* rstd, CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  FN_CHECK(cols >= 1 || rows == 0, "x: layer norm needs at least one column, got 0");
  if (rows == 0) return;
  ln_forward_kernel<<<dev::grid_for(rows, kRowThreads / dev::kWarp), kRowThreads, 0,
                      as_stream(stream)>>>(x, y, rows, cols, gamma, beta, eps, mean, rstd);
  CUDA_CHECK_LAUNCH();
}

void layer_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t rows,
                              index_t cols, const float* gamma, const float* mean,
                              const float* rstd, float* dgamma, float* dbeta, CudaStream stream) {
  FN_CHECK(rows >= 0 && cols >= 0, "x: expected a non-negative shape");
  if (cols == 0) return;
  // The parameter gradients read dy before dx (which may alias it) is written; same stream.
  if (dgamma || dbeta) {
    ln_param_grad_kernel<<<column_blocks(cols), dim3(kCols, kGroups), 0, as_stream(stream)>>>(
        dy, x, rows, cols, mean, rstd, dgamma, dbeta);
    CUDA_CHECK_LAUNCH();
  }
  if (rows == 0) return;
  ln_backward_kernel<<<dev::grid_for(rows, kRowThreads / dev::kWarp), kRowThreads, 0,
                       as_stream(stream)>>>(dy, x, dx, rows, cols, gamma, mean, rstd);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
