// Activations on the GPU, forward and backward, and row-wise softmax / log_softmax.
//   elementwise: y = f(x); dx = dy * f'(x) (x the forward input) or from the output y.
//     Codes as fusednet::Activation (kernels/types.h); the formulas are kernels/math/activation.h
//     (the CPU's too), on the device's primitives in device_util.cuh, which the gemm epilogue
//     uses as well, so both compute exactly the same values.
//   softmax:     y = exp(x - max) / sum exp(x - max) per row of a contiguous [rows, cols];
//     log_softmax y = x - max - log(sum exp(x - max)).
//   backward:    softmax dx = y * (dy - sum(dy * y)); log_softmax dx = dy - softmax(x) * sum(dy).
// Memory-bound: one pass, float4 loads/stores when every pointer is 16-byte aligned, scalar tail.
#include "kernels/checks.h"
#include "kernels/cuda/device_util.cuh"

namespace fusednet {

namespace {
constexpr int kThreads = 256;

// ---- reference: one thread per element, grid-stride, any alignment -----------------------------
__global__ void activation_forward_kernel(int act, float param, const float* x, float* y,
                                          index_t n) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    y[i] = dev::activate(act, param, x[i]);
}

// mode 0: from the input x; mode 1: from the output y.
__global__ void activation_backward_kernel(int act, float param, int mode, const float* dy,
                                           const float* x, float* dx, index_t n) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    dx[i] = mode == 0 ? dev::activate_grad(act, param, dy[i], x[i])
                      : dev::activate_grad_from_output(act, param, dy[i], x[i]);
}

// ---- vectorized: float4 body over n/4 quads (pointers 16-byte aligned), scalar tail ------------
__global__ void activation_forward_vec4_kernel(int act, float param, const float4* x, float4* y,
                                               index_t quads) {
  for (index_t i = dev::first_index(); i < quads; i += dev::grid_stride()) {
    float4 v = x[i];
    v.x = dev::activate(act, param, v.x);
    v.y = dev::activate(act, param, v.y);
    v.z = dev::activate(act, param, v.z);
    v.w = dev::activate(act, param, v.w);
    y[i] = v;
  }
}

__global__ void activation_backward_vec4_kernel(int act, float param, int mode, const float4* dy,
                                                const float4* x, float4* dx, index_t quads) {
  for (index_t i = dev::first_index(); i < quads; i += dev::grid_stride()) {
    float4 g = dy[i], a = x[i], r;
    if (mode == 0) {
      r.x = dev::activate_grad(act, param, g.x, a.x);
      r.y = dev::activate_grad(act, param, g.y, a.y);
      r.z = dev::activate_grad(act, param, g.z, a.z);
      r.w = dev::activate_grad(act, param, g.w, a.w);
    } else {
      r.x = dev::activate_grad_from_output(act, param, g.x, a.x);
      r.y = dev::activate_grad_from_output(act, param, g.y, a.y);
      r.z = dev::activate_grad_from_output(act, param, g.z, a.z);
      r.w = dev::activate_grad_from_output(act, param, g.w, a.w);
    }
    dx[i] = r;
  }
}

// ---- softmax: one warp per row (rows are usually short: classes), three passes over the row ----
struct RowMaxSum {
  float max, sum;  // max_j x_j, sum_j exp(x_j - max)
};

__device__ __forceinline__ RowMaxSum warp_row_max_sum(const float* xr, index_t cols, int lane) {
  float mx = -INFINITY;
  for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, xr[j]);
  mx = dev::warp_max(mx);
  float s = 0.0f;
  for (index_t j = lane; j < cols; j += dev::kWarp) s += expf(xr[j] - mx);
  return {mx, dev::warp_sum(s)};
}

__global__ void softmax_forward_kernel(const float* x, float* y, index_t rows, index_t cols,
                                       bool log) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t stride = dev::warp_rows_stride();
  for (index_t r = dev::first_warp_row(); r < rows; r += stride) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const RowMaxSum m = warp_row_max_sum(xr, cols, lane);
    if (log) {
      // (x - max) - log s, as the CPU: max + log s would round to the ulp of a large max.
      const float ls = logf(m.sum);
      for (index_t j = lane; j < cols; j += dev::kWarp) yr[j] = (xr[j] - m.max) - ls;
    } else {
      const float inv = 1.0f / m.sum;
      for (index_t j = lane; j < cols; j += dev::kWarp) yr[j] = expf(xr[j] - m.max) * inv;
    }
  }
}

// dx may alias dy: each lane reads dy[j] before writing dx[j] for the same j only.
__global__ void softmax_backward_kernel(const float* dy, const float* x, float* dx, index_t rows,
                                        index_t cols, bool log) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t stride = dev::warp_rows_stride();
  for (index_t r = dev::first_warp_row(); r < rows; r += stride) {
    const float* xr = x + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    const RowMaxSum m = warp_row_max_sum(xr, cols, lane);
    const float inv = 1.0f / m.sum;
    float dot = 0.0f;  // log: sum(dy); softmax: sum(dy * y)
    for (index_t j = lane; j < cols; j += dev::kWarp)
      dot += log ? gr[j] : gr[j] * (expf(xr[j] - m.max) * inv);
    dot = dev::warp_sum(dot);
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float p = expf(xr[j] - m.max) * inv;
      dr[j] = log ? gr[j] - p * dot : p * (gr[j] - dot);
    }
  }
}

// float4 over the n / 4 quads when every pointer is 16-byte aligned and the last n % 4 elements
// by one small block of the scalar kernel, else the scalar kernel over all n.
// vec4(grid, block, quads) and scalar(grid, block, offset, count) launch the kernels.
template <class Vec4, class Scalar>
void launch_elementwise(index_t n, bool aligned, Vec4 vec4, Scalar scalar) {
  if (n <= 0) return;
  if (aligned) {
    const index_t quads = n / 4;
    if (quads > 0) {
      vec4(dev::grid_for(quads, kThreads), kThreads, quads);
      CUDA_CHECK_LAUNCH();
    }
    const index_t tail = n - quads * 4;
    if (tail > 0) {
      scalar(1u, 32, quads * 4, tail);
      CUDA_CHECK_LAUNCH();
    }
    return;
  }
  scalar(dev::grid_for(n, kThreads), kThreads, index_t{0}, n);
  CUDA_CHECK_LAUNCH();
}

// mode 0: from the forward input, 1: from the forward output (checked by the caller).
void activation_backward_any(int mode, Activation act, float param, const float* dy, const float* x,
                             float* dx, index_t n, CudaStream stream) {
  const int a = static_cast<int>(act);
  launch_elementwise(
      n, dev::aligned16(dy) && dev::aligned16(x) && dev::aligned16(dx),
      [&](unsigned grid, int block, index_t quads) {
        activation_backward_vec4_kernel<<<grid, block, 0, as_stream(stream)>>>(
            a, param, mode, reinterpret_cast<const float4*>(dy), reinterpret_cast<const float4*>(x),
            reinterpret_cast<float4*>(dx), quads);
      },
      [&](unsigned grid, int block, index_t off, index_t count) {
        activation_backward_kernel<<<grid, block, 0, as_stream(stream)>>>(a, param, mode, dy + off,
                                                                          x + off, dx + off, count);
      });
}
}  // namespace

// ---- launchers ----------------------------------------------------------------------------------
void activation_forward_cuda(Activation act, float param, const float* x, float* y, index_t n,
                             CudaStream stream) {
  check_elementwise(act);
  const int a = static_cast<int>(act);
  launch_elementwise(
      n, dev::aligned16(x) && dev::aligned16(y),
      [&](unsigned grid, int block, index_t quads) {
        activation_forward_vec4_kernel<<<grid, block, 0, as_stream(stream)>>>(
            a, param, reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), quads);
      },
      [&](unsigned grid, int block, index_t off, index_t count) {
        activation_forward_kernel<<<grid, block, 0, as_stream(stream)>>>(a, param, x + off, y + off,
                                                                         count);
      });
}

void activation_backward_cuda(Activation act, float param, const float* dy, const float* x,
                              float* dx, index_t n, CudaStream stream) {
  check_elementwise(act);
  activation_backward_any(0, act, param, dy, x, dx, n, stream);
}

void activation_backward_from_output_cuda(Activation act, float param, const float* dy,
                                          const float* y, float* dx, index_t n, CudaStream stream) {
  check_derivative_from_output(act, param);
  activation_backward_any(1, act, param, dy, y, dx, n, stream);
}

void softmax_forward_cuda(const float* x, float* y, index_t rows, index_t cols, bool log,
                          CudaStream stream) {
  if (rows <= 0 || cols <= 0) return;
  const index_t warps_per_block = kThreads / dev::kWarp;
  softmax_forward_kernel<<<dev::grid_for(rows, static_cast<int>(warps_per_block)), kThreads, 0,
                           as_stream(stream)>>>(x, y, rows, cols, log);
  CUDA_CHECK_LAUNCH();
}

void softmax_backward_cuda(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                           bool log, CudaStream stream) {
  if (rows <= 0 || cols <= 0) return;
  const index_t warps_per_block = kThreads / dev::kWarp;
  softmax_backward_kernel<<<dev::grid_for(rows, static_cast<int>(warps_per_block)), kThreads, 0,
                            as_stream(stream)>>>(dy, x, dx, rows, cols, log);
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
