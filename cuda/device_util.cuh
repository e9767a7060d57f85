// Device helpers shared by the kernel files: activation math (so the gemm epilogue and the
// activation kernels agree bit for bit), warp reductions, grid sizing, alignment tests.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "cuda_kernels.h"
#include "runtime.cuh"

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

// ---- activations: y = f(x) and dy * f'(x); codes as fusednet::Activation ----------------------
__device__ __forceinline__ float sigmoidf_stable(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

constexpr float kSqrt1_2 = 0.70710678118654752440f;     // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286535588f; // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;

__device__ __forceinline__ float activate(int act, float param, float x) {
  switch (act) {
    case 1: return x > 0.0f ? x : 0.0f;
    case 2: return x > 0.0f ? x : x * param;
    case 3: return sigmoidf_stable(x);
    case 4: return tanhf(x);
    case 5: return 0.5f * x * (1.0f + erff(x * kSqrt1_2));
    case 6: return 0.5f * x * (1.0f + tanhf(kSqrt2OverPi * (x + kGeluC * x * x * x)));
    default: return x;
  }
}

// dy * f'(x), x the forward input.
__device__ __forceinline__ float activate_grad(int act, float param, float dy, float x) {
  switch (act) {
    case 1: return x > 0.0f ? dy : 0.0f;
    case 2: return x > 0.0f ? dy : dy * param;
    case 3: {
      float s = sigmoidf_stable(x);
      return dy * s * (1.0f - s);
    }
    case 4: {
      float t = tanhf(x);
      return dy * (1.0f - t * t);
    }
    case 5: {
      float cdf = 0.5f * (1.0f + erff(x * kSqrt1_2));
      float pdf = kInvSqrt2Pi * expf(-0.5f * x * x);
      return dy * (cdf + x * pdf);
    }
    case 6: {
      float u = kSqrt2OverPi * (x + kGeluC * x * x * x);
      float t = tanhf(u);
      float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x * x);
      return dy * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
    }
    default: return dy;
  }
}

// dy * f'(x) from the forward OUTPUT y (Linear, ReLU, LeakyReLU with slope > 0, Sigmoid, Tanh).
__device__ __forceinline__ float activate_grad_from_output(int act, float param, float dy, float y) {
  switch (act) {
    case 1: return y > 0.0f ? dy : 0.0f;
    case 2: return y > 0.0f ? dy : dy * param;
    case 3: return dy * y * (1.0f - y);
    case 4: return dy * (1.0f - y * y);
    default: return dy;
  }
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
