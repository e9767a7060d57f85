// Activations on the GPU, forward and backward, and row-wise softmax / log_softmax.
//   elementwise: y = f(x); dx = dy * f'(x) (x the forward input) or from the output y.
//     Codes and math as fusednet::Activation (csrc/kernels.h); the math lives in device_util.cuh
//     so the gemm epilogue computes exactly the same values.
//   softmax:     y = exp(x - max) / sum exp(x - max) per row of a contiguous [rows, cols];
//     log_softmax y = x - max - log(sum exp(x - max)).
//   backward:    softmax dx = y * (dy - sum(dy * y)); log_softmax dx = dy - softmax(x) * sum(dy).
// Memory-bound: one pass, float4 loads/stores when every pointer is 16-byte aligned, scalar tail.
#include "device_util.cuh"

namespace fusednet {

namespace {
constexpr int kThreads = 256;
cudaStream_t as_stream(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

// ---- reference: one thread per element, grid-stride, any alignment -----------------------------
__global__ void activation_forward_kernel(int act, float param, const float* x, float* y,
                                          index_t n) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    y[i] = dev::activate(act, param, x[i]);
}

// mode 0: from the input x; mode 1: from the output y.
__global__ void activation_backward_kernel(int act, float param, int mode, const float* dy,
                                           const float* x, float* dx, index_t n) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    dx[i] = mode == 0 ? dev::activate_grad(act, param, dy[i], x[i])
                      : dev::activate_grad_from_output(act, param, dy[i], x[i]);
}

// ---- vectorized: float4 body over n/4 quads (pointers 16-byte aligned), scalar tail ------------
__global__ void activation_forward_vec4_kernel(int act, float param, const float4* x, float4* y,
                                               index_t quads) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < quads;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
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
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < quads;
       i += static_cast<index_t>(gridDim.x) * blockDim.x) {
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
__global__ void softmax_forward_kernel(const float* x, float* y, index_t rows, index_t cols,
                                       bool log) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t warps_per_grid = static_cast<index_t>(gridDim.x) * (blockDim.x / dev::kWarp);
  for (index_t r = blockIdx.x * static_cast<index_t>(blockDim.x / dev::kWarp) +
                   threadIdx.x / dev::kWarp;
       r < rows; r += warps_per_grid) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float mx = -INFINITY;
    for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, xr[j]);
    mx = dev::warp_max(mx);
    float s = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) s += expf(xr[j] - mx);
    s = dev::warp_sum(s);
    if (log) {
      // (x - max) - log s, as the CPU: max + log s would round to the ulp of a large max.
      const float ls = logf(s);
      for (index_t j = lane; j < cols; j += dev::kWarp) yr[j] = (xr[j] - mx) - ls;
    } else {
      const float inv = 1.0f / s;
      for (index_t j = lane; j < cols; j += dev::kWarp) yr[j] = expf(xr[j] - mx) * inv;
    }
  }
}

// dx may alias dy: each lane reads dy[j] before writing dx[j] for the same j only.
__global__ void softmax_backward_kernel(const float* dy, const float* x, float* dx, index_t rows,
                                        index_t cols, bool log) {
  const int lane = threadIdx.x % dev::kWarp;
  const index_t warps_per_grid = static_cast<index_t>(gridDim.x) * (blockDim.x / dev::kWarp);
  for (index_t r = blockIdx.x * static_cast<index_t>(blockDim.x / dev::kWarp) +
                   threadIdx.x / dev::kWarp;
       r < rows; r += warps_per_grid) {
    const float* xr = x + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    float mx = -INFINITY;
    for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, xr[j]);
    mx = dev::warp_max(mx);
    float s = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) s += expf(xr[j] - mx);
    s = dev::warp_sum(s);
    const float inv = 1.0f / s;
    float dot = 0.0f;  // log: sum(dy); softmax: sum(dy * y)
    for (index_t j = lane; j < cols; j += dev::kWarp)
      dot += log ? gr[j] : gr[j] * (expf(xr[j] - mx) * inv);
    dot = dev::warp_sum(dot);
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float p = expf(xr[j] - mx) * inv;
      dr[j] = log ? gr[j] - p * dot : p * (gr[j] - dot);
    }
  }
}

void check_elementwise(Activation act) {
  const int a = static_cast<int>(act);
  FN_CHECK(a >= 0 && a <= 6, "activation: expected a code in [0, 6], got ", a);
}
}  // namespace

// ---- launchers ----------------------------------------------------------------------------------
void activation_forward_cuda(Activation act, float param, const float* x, float* y, index_t n,
                             CudaStream stream) {
  check_elementwise(act);
  if (n <= 0) return;
  const int a = static_cast<int>(act);
  if (dev::aligned16(x) && dev::aligned16(y)) {
    const index_t quads = n / 4;
    if (quads > 0) {
      activation_forward_vec4_kernel<<<dev::grid_for(quads, kThreads), kThreads, 0,
                                       as_stream(stream)>>>(
          a, param, reinterpret_cast<const float4*>(x), reinterpret_cast<float4*>(y), quads);
      CUDA_CHECK_LAUNCH();
    }
    const index_t tail = n - quads * 4;
    if (tail > 0) {
      activation_forward_kernel<<<1, 32, 0, as_stream(stream)>>>(a, param, x + quads * 4,
                                                                  y + quads * 4, tail);
      CUDA_CHECK_LAUNCH();
    }
    return;
  }
  activation_forward_kernel<<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
      a, param, x, y, n);
  CUDA_CHECK_LAUNCH();
}

namespace {
void activation_backward_any(int mode, Activation act, float param, const float* dy,
                             const float* x, float* dx, index_t n, CudaStream stream) {
  check_elementwise(act);
  if (n <= 0) return;
  const int a = static_cast<int>(act);
  if (dev::aligned16(dy) && dev::aligned16(x) && dev::aligned16(dx)) {
    const index_t quads = n / 4;
    if (quads > 0) {
      activation_backward_vec4_kernel<<<dev::grid_for(quads, kThreads), kThreads, 0,
                                        as_stream(stream)>>>(
          a, param, mode, reinterpret_cast<const float4*>(dy), reinterpret_cast<const float4*>(x),
          reinterpret_cast<float4*>(dx), quads);
      CUDA_CHECK_LAUNCH();
    }
    const index_t tail = n - quads * 4;
    if (tail > 0) {
      activation_backward_kernel<<<1, 32, 0, as_stream(stream)>>>(
          a, param, mode, dy + quads * 4, x + quads * 4, dx + quads * 4, tail);
      CUDA_CHECK_LAUNCH();
    }
    return;
  }
  activation_backward_kernel<<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
      a, param, mode, dy, x, dx, n);
  CUDA_CHECK_LAUNCH();
}
}  // namespace

void activation_backward_cuda(Activation act, float param, const float* dy, const float* x,
                              float* dx, index_t n, CudaStream stream) {
  activation_backward_any(0, act, param, dy, x, dx, n, stream);
}

void activation_backward_from_output_cuda(Activation act, float param, const float* dy,
                                          const float* y, float* dx, index_t n,
                                          CudaStream stream) {
  FN_CHECK(act == Activation::Linear || act == Activation::ReLU || act == Activation::Sigmoid ||
               act == Activation::Tanh || (act == Activation::LeakyReLU && param > 0.0f),
           "activation: backward from the output needs linear, relu, leaky_relu (slope > 0), "
           "sigmoid or tanh, got code ", static_cast<int>(act));
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
