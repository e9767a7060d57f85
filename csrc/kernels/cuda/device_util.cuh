// Device helpers shared by the kernel files: grid-stride and warp-per-row loops, the activation
// formulas on the device's primitives (so the gemm epilogue and the activation kernels agree bit
// for bit, and both with the CPU's forms), warp reductions, grid sizing, alignment tests.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "kernels/cuda.h"
#include "kernels/math/activation.h"
#include "runtime/cuda_check.cuh"

namespace fusednet {
namespace dev {

constexpr int kWarp = 32;

__host__ __device__ __forceinline__ index_t cdiv(index_t a, index_t b) { return (a + b - 1) / b; }

// Grid for a grid-stride loop over n items: enough blocks to fill the device, never more than
// the work needs, never 0 (callers return early on n == 0).
inline unsigned grid_for(index_t n, int threads_per_block, index_t max_blocks = 65535L * 16) {
  index_t blocks = ceil_div(n, threads_per_block);
  if (blocks > max_blocks) blocks = max_blocks;
  return static_cast<unsigned>(blocks < 1 ? 1 : blocks);
}

inline bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

// ---- loops ------------------------------------------------------------------------------------
// A grid-stride loop over n items: this thread's first index and the stride.
__device__ __forceinline__ index_t first_index() {
  return blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
}
__device__ __forceinline__ index_t grid_stride() {
  return static_cast<index_t>(gridDim.x) * blockDim.x;
}
// One warp per row (blockDim.x a multiple of 32): this warp's first row and the grid's warps.
__device__ __forceinline__ index_t first_warp_row() {
  return blockIdx.x * static_cast<index_t>(blockDim.x / kWarp) + threadIdx.x / kWarp;
}
__device__ __forceinline__ index_t warp_rows_stride() {
  return static_cast<index_t>(gridDim.x) * (blockDim.x / kWarp);
}

// ---- activations: y = f(x) and dy * f'(x); codes as fusednet::Activation ----------------------
// kernels/math/activation.h's formulas, the same the CPU evaluates, on the device's primitives.
struct DeviceMath {
  static __device__ __forceinline__ float exp(float x) { return expf(x); }
  static __device__ __forceinline__ float expm1(float x) { return expm1f(x); }
  static __device__ __forceinline__ float log(float x) { return logf(x); }
  static __device__ __forceinline__ float log1p(float x) { return log1pf(x); }
  static __device__ __forceinline__ float tanh(float x) { return tanhf(x); }
  static __device__ __forceinline__ float normal_cdf(float x) { return normcdff(x); }
  static __device__ __forceinline__ float abs(float x) { return fabsf(x); }
};

__device__ __forceinline__ float activate(int act, float param, float x) {
  return actmath::visit(static_cast<Activation>(act), [&](auto A) {
    return actmath::forward<decltype(A)::value, DeviceMath>(x, param);
  });
}

// dy * f'(x), x the forward input (as the CPU: dy times the derivative, so dy = inf at a zero
// slope gives NaN there too).
__device__ __forceinline__ float activate_grad(int act, float param, float dy, float x) {
  return act == 0 ? dy : dy * actmath::visit(static_cast<Activation>(act), [&](auto A) {
                           return actmath::derivative<decltype(A)::value, DeviceMath>(x, param);
                         });
}

// dy * f'(x) from the forward OUTPUT y (Linear, ReLU, LeakyReLU with slope > 0, Sigmoid, Tanh).
__device__ __forceinline__ float activate_grad_from_output(int act, float param, float dy,
                                                           float y) {
  return actmath::visit(static_cast<Activation>(act), [&](auto A) {
    constexpr Activation a = decltype(A)::value;
    if constexpr (a == Activation::ReLU || a == Activation::LeakyReLU || a == Activation::Sigmoid ||
                  a == Activation::Tanh)
      return dy * actmath::derivative_from_output<a>(y, param);
    else return dy;
  });
}

// ---- warp reductions (butterfly: every lane ends with the same, order-fixed result) ----------
__device__ __forceinline__ float warp_max(float v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int o = kWarp / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

}  // namespace dev
}  // namespace fusednet
