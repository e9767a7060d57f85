// Small kernels the CUDA backend of the net needs beyond the op families (kernels/cuda.h):
//   gather_rows:   dst[i, :] = src[index[i], :] (a shuffled batch of a resident data set);
//   dropout_mask:  dst[i] = u(key, i) >= rate ? src[i] * (1 / (1 - rate)) : 0, u from
//                  kernels/math/hash.h, so the mask is bit-identical to the CPU backend's;
//   gather_labels: dst[i] = src[index[i]] (int64 class ids of a shuffled batch);
//   metric_rows:   one double per row, the row's contribution to a metric sum
//                  (kernels/math/metric.h; summed afterwards with sum_doubles_cuda).
// All one thread per element (or per row), grid-stride, 64-bit indices: simple on purpose.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

#include "kernels/cuda.h"
#include "kernels/cuda/device_util.cuh"
#include "kernels/math/metric.h"
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
    dst[i] = nethash::uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale : 0.0f;
}

__global__ void gather_labels_kernel(const std::int64_t* src, const std::int64_t* index,
                                     std::int64_t* dst, index_t rows) {
  for (index_t i = first_index(); i < rows; i += grid_stride()) dst[i] = src[index[i]];
}

// kind: MetricKind codes (kernels/math/metric.h).
__global__ void metric_rows_kernel(int kind, const float* pred, float threshold,
                                   const std::int64_t* labels, const float* targets, double* out,
                                   index_t rows, index_t cols) {
  for (index_t i = first_index(); i < rows; i += grid_stride())
    out[i] = metricmath::metric_row(kind, pred + i * cols, threshold, labels ? labels[i] : 0,
                                    targets ? targets + i * cols : nullptr, cols);
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
