// Device helpers shared by the kernel files: activation math (so the gemm epilogue and the
// activation kernels agree bit for bit), warp reductions, grid sizing, alignment tests.
#pragma once

#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "kernels/cuda.h"
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

// ---- activations: y = f(x) and dy * f'(x); codes as fusednet::Activation ----------------------
// The forms of csrc/cpu/activation_math.h, so both devices agree on special values: NaN passes
// through, the GELUs saturate beyond |x| > 20 (x = -inf gives 0, not -inf * 0 = NaN), and the
// derivatives are written without cancellation (sigmoid' = e q^2, not s (1 - s), which rounds to 0
// once s rounds to 1).
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286535588f; // sqrt(2/pi)
constexpr float kGeluC = 0.044715f;
constexpr float kGeluSaturate = 20.0f;

__device__ __forceinline__ float sigmoidf_stable(float x) {
  const float e = expf(-fabsf(x));  // in (0, 1]: no overflow on either branch
  const float q = 1.0f / (1.0f + e);
  return x >= 0.0f ? q : e * q;
}

__device__ __forceinline__ float activate(int act, float param, float x) {
  switch (act) {
    case 1: return x < 0.0f ? 0.0f : x;  // NaN passes through
    case 2: return x < 0.0f ? x * param : x;
    case 3: return sigmoidf_stable(x);
    case 4: return tanhf(x);
    case 5: return x < -kGeluSaturate ? 0.0f : x * normcdff(x);  // normcdff: accurate left tail
    case 6: {  // x (1 + tanh u) / 2 = x sigmoid(2u): no cancellation on the left tail
      const float u = kSqrt2OverPi * (x + kGeluC * x * x * x);
      return x < -kGeluSaturate ? 0.0f : x * sigmoidf_stable(2.0f * u);
    }
    default: return x;
  }
}

// f'(x), x the forward input.
__device__ __forceinline__ float derivative(int act, float param, float x) {
  switch (act) {
    case 1: return x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x);  // NaN -> NaN
    case 2: return x > 0.0f ? 1.0f : (x <= 0.0f ? param : x);
    case 3: {  // s (1 - s) = e q^2, e = e^-|x|, q = 1 / (1 + e)
      const float e = expf(-fabsf(x));
      const float q = 1.0f / (1.0f + e);
      return e * q * q;
    }
    case 4: {  // 1 - tanh^2 = 4 e q^2, e = e^-2|x|
      const float e = expf(-2.0f * fabsf(x));
      const float q = 1.0f / (1.0f + e);
      return 4.0f * e * q * q;
    }
    case 5: {
      const float d = normcdff(x) + x * kInvSqrt2Pi * expf(-0.5f * x * x);
      return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
    }
    case 6: {  // s + 2 x s (1 - s) u', s = sigmoid(2u), s (1 - s) = e q^2
      const float x2 = x * x;
      const float u = kSqrt2OverPi * (x + kGeluC * x2 * x);
      const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x2);
      const float e = expf(-2.0f * fabsf(u));
      const float q = 1.0f / (1.0f + e);
      const float s = u >= 0.0f ? q : e * q;
      const float d = s + 2.0f * x * du * (e * q * q);
      return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
    }
    default: return 1.0f;
  }
}

// dy * f'(x), x the forward input (as the CPU: dy times the derivative, so dy = inf at a zero
// slope gives NaN there too).
__device__ __forceinline__ float activate_grad(int act, float param, float dy, float x) {
  return act == 0 ? dy : dy * derivative(act, param, x);
}

// dy * f'(x) from the forward OUTPUT y (Linear, ReLU, LeakyReLU with slope > 0, Sigmoid, Tanh).
__device__ __forceinline__ float activate_grad_from_output(int act, float param, float dy, float y) {
  switch (act) {
    case 1: return dy * (y > 0.0f ? 1.0f : (y <= 0.0f ? 0.0f : y));
    case 2: return dy * (y > 0.0f ? 1.0f : (y <= 0.0f ? param : y));
    case 3: return dy * (y * (1.0f - y));
    case 4: return dy * ((1.0f - y) * (1.0f + y));  // = 1 - y^2, one rounding less near |y| = 1
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
