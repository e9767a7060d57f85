// Small kernels a Net on the GPU needs beyond the op families (declared in kernels/cuda.h):
//   gather_rows:   dst[i, :] = src[index[i], :] (a shuffled mini-batch of a resident data set);
//   dropout_mask:  dst[i] = u(key, i) >= rate ? src[i] * (1 / (1 - rate)) : 0, u from
//                  kernels/math/hash.h, so the mask is bit-identical to the CPU Net's dropout;
//   gather_labels: dst[i] = src[index[i]] (int64 class ids of a shuffled batch);
//   metric_rows:   one double per row, the row's contribution to a metric sum, as the CPU Net
//                  computes it (summed afterwards with sum_doubles_cuda).
// All one thread per element (or per row), grid-stride, 64-bit indices: simple on purpose.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "kernels/cuda/device_util.cuh"
#include "kernels/math/hash.h"

namespace fusednet {

namespace {

constexpr int kThreads = 256;
using dev::first_index;
using dev::grid_stride;

// One thread per element of dst, grid-stride; consecutive threads read consecutive columns.
__global__ void gather_rows_kernel(const float* src, const std::int64_t* index, float* dst,
                                   index_t rows, index_t cols) {
  const index_t n = rows * cols;
  for (index_t e = first_index(); e < n; e += grid_stride()) {
    const index_t i = e / cols, j = e - i * cols;
    dst[e] = src[index[i] * cols + j];
  }
}

__global__ void dropout_mask_kernel(const float* src, float* dst, index_t n, float rate,
                                    float scale, std::uint64_t key) {
  for (index_t i = first_index(); i < n; i += grid_stride())
    dst[i] = nethash::uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale
                                                                              : 0.0f;
}

__global__ void gather_labels_kernel(const std::int64_t* src, const std::int64_t* index,
                                     std::int64_t* dst, index_t rows) {
  for (index_t i = first_index(); i < rows; i += grid_stride()) dst[i] = src[index[i]];
}

// First index of the row maximum; a NaN beats any number (as the CPU Net's metrics).
__device__ index_t argmax_row(const float* r, index_t n) {
  index_t best = 0;
  for (index_t j = 1; j < n; ++j)
    if (r[j] > r[best] || (isnan(r[j]) && !isnan(r[best]))) best = j;
  return best;
}

// kind: MetricKind codes (0 binary accuracy, 1 sparse accuracy, 2 categorical accuracy, 3 MAE,
// 4 MSE).
__global__ void metric_rows_kernel(int kind, const float* pred, float threshold,
                                   const std::int64_t* labels, const float* targets, double* out,
                                   index_t rows, index_t cols) {
  for (index_t i = first_index(); i < rows; i += grid_stride()) {
    const float* p = pred + i * cols;
    double s = 0.0;
    if (kind == 0) {
      const float* t = targets + i * cols;
      for (index_t j = 0; j < cols; ++j) s += (p[j] > threshold ? 1.f : 0.f) == t[j] ? 1.0 : 0.0;
    } else if (kind == 1 || kind == 2) {
      const index_t truth =
          kind == 1 ? static_cast<index_t>(labels[i]) : argmax_row(targets + i * cols, cols);
      s = argmax_row(p, cols) == truth ? 1.0 : 0.0;
    } else {
      const float* t = targets + i * cols;
      for (index_t j = 0; j < cols; ++j) {
        const double e = static_cast<double>(p[j]) - static_cast<double>(t[j]);
        s += kind == 4 ? e * e : fabs(e);
      }
    }
    out[i] = s;
  }
}

}  // namespace

void gather_rows_cuda(const float* src, const std::int64_t* index, float* dst, index_t rows,
                      index_t cols, CudaStream stream) {
  if (rows <= 0 || cols <= 0) return;
  gather_rows_kernel<<<dev::grid_for(rows * cols, kThreads), kThreads, 0, as_stream(stream)>>>(
      src, index, dst, rows, cols);
  CUDA_CHECK_LAUNCH();
}

void dropout_mask_cuda(const float* src, float* dst, index_t n, float rate, std::uint64_t key,
                       CudaStream stream) {
  if (n <= 0) return;
  const float scale = 1.0f / (1.0f - rate);  // as the CPU Net: one float multiply per element
  dropout_mask_kernel<<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
      src, dst, n, rate, scale, key);
  CUDA_CHECK_LAUNCH();
}

void gather_labels_cuda(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                        index_t rows, CudaStream stream) {
  if (rows <= 0) return;
  gather_labels_kernel<<<dev::grid_for(rows, kThreads), kThreads, 0, as_stream(stream)>>>(
      src, index, dst, rows);
  CUDA_CHECK_LAUNCH();
}

void metric_rows_cuda(int kind, const float* pred, float threshold, const std::int64_t* labels,
                      const float* targets, double* out, index_t rows, index_t cols,
                      CudaStream stream) {
  if (rows <= 0) return;
  metric_rows_kernel<<<dev::grid_for(rows, kThreads), kThreads, 0, as_stream(stream)>>>(
      kind, pred, threshold, labels, targets, out, rows, cols);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
