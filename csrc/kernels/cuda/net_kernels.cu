// Small kernels the CUDA backend of the net needs beyond the op families (kernels/cuda.h):
//   gather_rows:   dst[i, :] = src[index[i], :] (a shuffled batch of a resident data set);
//   dropout_mask:  dst[i] = u(key, i) >= rate ? src[i] * (1 / (1 - rate)) : 0, u from
//                  kernels/math/hash.h, so the mask is bit-identical to the CPU backend's;
//   gather_labels: dst[i] = src[index[i]] (int64 class ids of a shuffled batch);
//   metric_rows:   one double per row, the row's contribution to a metric sum
//                  (kernels/math/metric.h; summed afterwards with sum_doubles_cuda);
//   metric_state:  a vector-state metric's batch state (confusion counts, F1 / R2 sums).
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
                                   index_t rows, index_t cols, int k) {
  for (index_t i = first_index(); i < rows; i += grid_stride())
    out[i] = metricmath::metric_row(kind, pred + i * cols, threshold, labels ? labels[i] : 0,
                                    targets ? targets + i * cols : nullptr, cols, 0.0, k);
}

__global__ void zero_doubles_kernel(double* out, index_t n) {
  for (index_t i = first_index(); i < n; i += grid_stride()) out[i] = 0.0;
}

// One thread per row: its confusion counts by atomic adds of 1 (whole numbers: exact in any order).
__global__ void confusion_rows_kernel(metricmath::MetricParams p, const float* pred,
                                      const float* targets, double* out, index_t rows,
                                      index_t cols) {
  auto add = [out](index_t at, double v) { atomicAdd(out + at, v); };
  for (index_t i = first_index(); i < rows; i += grid_stride())
    metricmath::confusion_row(p, pred + i * cols, targets + i * cols, cols, 1.0, add);
}

__global__ void row_max_kernel(const float* pred, double* out, index_t rows, index_t cols) {
  for (index_t i = first_index(); i < rows; i += grid_stride())
    out[i] = metricmath::row_max(pred + i * cols, cols);
}

// One thread per column: F1's or R2's four sums over the rows in order (the CPU's order).
__global__ void column_sums_kernel(metricmath::MetricParams p, const float* pred,
                                   const float* targets, const double* row_max, double* out,
                                   index_t rows, index_t cols) {
  for (index_t j = first_index(); j < cols; j += grid_stride()) {
    double acc[4] = {0.0, 0.0, 0.0, 0.0}, e[4];
    for (index_t i = 0; i < rows; ++i) {
      const float x = pred[i * cols + j], t = targets[i * cols + j];
      if (p.kind == 12) metricmath::f1_element(p, x, static_cast<float>(row_max[i]), t, 1.0, e);
      else metricmath::r2_element(x, t, 1.0, e);
      for (int q = 0; q < 4; ++q) acc[q] += e[q];
    }
    for (int q = 0; q < 4; ++q) out[4 * j + q] = acc[q];
    if (p.kind == 13 && j == 0) out[4 * cols] = static_cast<double>(rows);
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
                      const float* targets, double* out, index_t rows, index_t cols, int k,
                      CudaStream stream) {
  if (rows <= 0) return;
  metric_rows_kernel<<<dev::grid_for(rows, kThreads), kThreads, 0, as_stream(stream)>>>(
      kind, pred, threshold, labels, targets, out, rows, cols, k);
  CUDA_CHECK_LAUNCH();
}

void metric_state_cuda(const metricmath::MetricParams& p, const float* pred, const float* targets,
                       double* row_ws, double* out, index_t width, index_t rows, index_t cols,
                       CudaStream stream) {
  if (width <= 0) return;
  cudaStream_t s = as_stream(stream);
  if (p.kind == 12 || p.kind == 13) {  // every entry written by column_sums_kernel
    if (p.kind == 12 && rows > 0) {
      row_max_kernel<<<dev::grid_for(rows, kThreads), kThreads, 0, s>>>(pred, row_ws, rows, cols);
      CUDA_CHECK_LAUNCH();
    }
    column_sums_kernel<<<dev::grid_for(cols, kThreads), kThreads, 0, s>>>(p, pred, targets, row_ws,
                                                                          out, rows, cols);
    CUDA_CHECK_LAUNCH();
    return;
  }
  zero_doubles_kernel<<<dev::grid_for(width, kThreads), kThreads, 0, s>>>(out, width);
  CUDA_CHECK_LAUNCH();
  if (rows <= 0) return;
  confusion_rows_kernel<<<dev::grid_for(rows, kThreads), kThreads, 0, s>>>(p, pred, targets, out,
                                                                           rows, cols);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
