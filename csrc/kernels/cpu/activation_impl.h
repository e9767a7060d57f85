// Private to the activation family: the span kernels of activation.cpp (baseline target),
// activation_avx2.cpp and activation_avx512.cpp, one source compiled once per ISA.
//
// They are plain `#pragma omp simd` loops over kernels/math/activation.h's formulas, which the
// compiler vectorizes for the flags of the including file (SSE2, AVX2 + FMA, AVX-512). What this
// file adds are the primitives those formulas call on the CPU: libm's exp / tanh / erfc are scalar
// calls that stop GCC from vectorizing a loop, so exp, tanh and erfc are written here as
// branch-free polynomials (selects instead of ifs, integer tricks for 2^n). Everything is compiled
// without trapping math (simd.h's FN_SIMD_NO_TRAPPING_MATH_BEGIN), without which every clamp
// stays a branch and no loop vectorizes.
//
// Accuracy (float32 vs float64, measured by the tests' dense sweeps): exp ~1 ulp; sigmoid, tanh
// and their derivatives <= 3e-7 relative; gelu <= 1.3e-6 relative (erfc is Numerical Recipes'
// Chebyshev fit, 1.2e-7 in exact arithmetic, and its exponent argument loses a few ulp in
// float). Everything is within the tests' rtol 2e-6 / atol 1e-6.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/activation_kernels.h"
#include "kernels/cpu/simd.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

#include "kernels/math/activation.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace activation {

// ---- the primitives -------------------------------------------------------------------------

// e^x for any float x: overflows to +inf above ~88.72, NaN stays NaN, and results below
// FLT_MIN (x < -87.34) are flushed to 0: a subnormal result or operand costs a microcode assist
// of ~100 cycles on Intel cores, and softmax rows with a wide range produce many of them.
// Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, then Cephes' degree-6 polynomial; 2^n is
// built from exponent bits in two halves so that n in [-127, 129] needs no special case.
FN_INLINE float exp_f(float x) {
  const float in = x;
  x = x < -88.0f ? -88.0f : x;  // NaN compares false and passes through
  x = x > 89.0f ? 89.0f : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float kf = x * 1.44269504088896341f + magic;
  const std::int32_t n = static_cast<std::int32_t>(bits_of(kf) - bits_of(magic));
  const float k = kf - magic;
  float r = x - k * 0.693359375f;  // ln2 split in two: exact product with the high part
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const std::int32_t n1 = n >> 1, n2 = n - n1;
  const float s1 = float_of(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float s2 = float_of(static_cast<std::uint32_t>(n2 + 127) << 23);
  const float y = (p * s1) * s2;
  return in < -87.33654475f ? 0.0f : y;
}

// tanh: an odd polynomial (Cephes) for |x| < 0.625; else (1 - e) / (1 + e) with e = e^-2|x| in
// (0, 0.29], which saturates to +-1 and never overflows.
FN_INLINE float tanh_f(float x) {
  const float ax = abs_f(x);
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = p * s + 2.06390887954e-2f;
  p = p * s - 5.37397155531e-2f;
  p = p * s + 1.33314422036e-1f;
  p = p * s - 3.33332819422e-1f;
  const float small = p * s * x + x;
  const float e = exp_f(-2.0f * ax);
  const float big = copysign_f((1.0f - e) / (1.0f + e), x);
  return ax < 0.625f ? small : big;  // NaN: takes `big`, which is NaN
}

// erfc(z) for z >= 0 (Numerical Recipes' erfcc, fractional error < 1.2e-7 everywhere).
FN_INLINE float erfc_nonneg_f(float z) {
  const float t = 1.0f / (1.0f + 0.5f * z);
  // Estrin's scheme: the loop is latency-bound, and this tree is 5 deep where Horner is 10.
  const float t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
  const float q01 = 1.00002368f * t - 1.26551223f;
  const float q23 = 0.09678418f * t + 0.37409196f;
  const float q45 = 0.27886807f * t - 0.18628806f;
  const float q67 = 1.48851587f * t - 1.13520398f;
  const float q89 = 0.17087277f * t - 0.82215223f;
  const float p = (q01 + q23 * t2) + (q45 + q67 * t2) * t4 + q89 * t8;
  return t * exp_f(p - z * z);
}

// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt2) / 2, accurate in relative terms on the left tail.
FN_INLINE float normal_cdf_f(float x) {
  const float h = 0.5f * erfc_nonneg_f(abs_f(x) * 0.70710678118654752f);
  return x < 0.0f ? h : 1.0f - h;
}

// What kernels/math/activation.h's formulas call on the CPU.
struct CpuMath {
  static FN_INLINE float exp(float x) { return exp_f(x); }
  static FN_INLINE float tanh(float x) { return tanh_f(x); }
  static FN_INLINE float normal_cdf(float x) { return normal_cdf_f(x); }
  static FN_INLINE float abs(float x) { return abs_f(x); }
};

// ---- span kernels -----------------------------------------------------------------------------
// x == y is allowed (same index read before written), which `omp simd` permits.
template <Activation A>
void forward_span(float a, const float* x, float* y, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) y[i] = actmath::forward<A, CpuMath>(x[i], a);
}

template <Activation A>
void backward_span(float a, const float* dy, const float* x, float* dx, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * actmath::derivative<A, CpuMath>(x[i], a);
}

template <Activation A>
void backward_from_output_span(float a, const float* dy, const float* y, float* dx, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * actmath::derivative_from_output<A>(y[i], a);
}

inline void forward(Activation act, float a, const float* x, float* y, index_t n) {
  actmath::visit(act, [&](auto A) { forward_span<A.value>(a, x, y, n); });
}

inline void backward(Activation act, float a, const float* dy, const float* x, float* dx,
                     index_t n) {
  actmath::visit(act, [&](auto A) { backward_span<A.value>(a, dy, x, dx, n); });
}

inline void backward_from_output(Activation act, float a, const float* dy, const float* y,
                                 float* dx, index_t n) {
  actmath::visit(act, [&](auto A) { backward_from_output_span<A.value>(a, dy, y, dx, n); });
}

// ---- softmax rows -----------------------------------------------------------------------------
// Row reductions keep kLanes partial results side by side: the inner loop over the lanes is
// plain elementwise code, so it vectorizes on every ISA with or without OpenMP (a float sum may
// not be reassociated otherwise), short rows pay no vector set-up, and the order of the adds --
// lanes, then folded 8+8, 4+4, 2+2, 1+1, then the tail in order -- is fixed by the code alone.
constexpr index_t kLanes = 16;

FN_INLINE float fold_lanes(float* lane) {
  for (index_t w = kLanes / 2; w > 0; w /= 2)
    for (index_t k = 0; k < w; ++k) lane[k] += lane[k + w];
  return lane[0];
}

// Row max; a NaN anywhere makes the row NaN later through exp(NaN), so no NaN test is needed.
FN_INLINE float row_max(const float* x, index_t cols) {
  float lane[kLanes];
  for (index_t k = 0; k < kLanes; ++k) lane[k] = -INFINITY;
  index_t j = 0;
  for (; j + kLanes <= cols; j += kLanes)
    for (index_t k = 0; k < kLanes; ++k) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
  float m = -INFINITY;
  for (index_t k = 0; k < kLanes; ++k) m = lane[k] > m ? lane[k] : m;
  for (; j < cols; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// softmax: y = e^(x - m) stored and summed, then scaled by 1/Z; log_softmax: y = x - m - log Z.
inline void softmax_forward_rows(const float* x, float* y, index_t r0, index_t r1, index_t cols,
                                 bool log) {
  for (index_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const float m = row_max(xr, cols);
    float lane[kLanes] = {};
    index_t j = 0;
    if (log) {
      for (; j + kLanes <= cols; j += kLanes)
        for (index_t k = 0; k < kLanes; ++k) lane[k] += exp_f(xr[j + k] - m);
      float z = fold_lanes(lane);
      for (; j < cols; ++j) z += exp_f(xr[j] - m);
      const float lz = std::log(z);
#pragma omp simd
      for (index_t i = 0; i < cols; ++i) yr[i] = (xr[i] - m) - lz;  // x - m first: exact-ish
    } else {
      for (; j + kLanes <= cols; j += kLanes)
        for (index_t k = 0; k < kLanes; ++k) {
          const float e = exp_f(xr[j + k] - m);
          yr[j + k] = e;
          lane[k] += e;
        }
      float z = fold_lanes(lane);
      for (; j < cols; ++j) {
        const float e = exp_f(xr[j] - m);
        yr[j] = e;
        z += e;
      }
      const float inv = 1.0f / z;
#pragma omp simd
      for (index_t i = 0; i < cols; ++i) yr[i] *= inv;
    }
  }
}

// softmax: dx = p (dy - <dy, p>); log_softmax: dx = dy - p sum(dy); p recomputed from x so dx
// may alias dy and no workspace is needed.
inline void softmax_backward_rows(const float* dy, const float* x, float* dx, index_t r0,
                                  index_t r1, index_t cols, bool log) {
  for (index_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float m = row_max(xr, cols);
    // z = sum e^(x - m); s = sum dy (log: weight 1, exact) or sum dy e^(x - m) (softmax)
    float lz[kLanes] = {}, ls[kLanes] = {};
    index_t j = 0;
    const float w = log ? 1.0f : 0.0f;  // dy's weight: 1 for log_softmax, e for softmax
    for (; j + kLanes <= cols; j += kLanes)
      for (index_t k = 0; k < kLanes; ++k) {
        const float e = exp_f(xr[j + k] - m);
        lz[k] += e;
        ls[k] += dyr[j + k] * (w + (1.0f - w) * e);
      }
    float z = fold_lanes(lz), s = fold_lanes(ls);
    for (; j < cols; ++j) {
      const float e = exp_f(xr[j] - m);
      z += e;
      s += dyr[j] * (w + (1.0f - w) * e);
    }
    const float inv = 1.0f / z;
    const float c = log ? s : s * inv;  // sum(dy) or <dy, p>
    if (log) {
#pragma omp simd
      for (index_t i = 0; i < cols; ++i) dxr[i] = dyr[i] - exp_f(xr[i] - m) * inv * c;
    } else {
#pragma omp simd
      for (index_t i = 0; i < cols; ++i) dxr[i] = exp_f(xr[i] - m) * inv * (dyr[i] - c);
    }
  }
}

inline const ActivationKernels& table() {
  static const ActivationKernels k{forward, backward, backward_from_output, softmax_forward_rows,
                                   softmax_backward_rows};
  return k;
}

}  // namespace activation
}  // namespace FN_SIMD_NS
}  // namespace fusednet

FN_SIMD_NO_TRAPPING_MATH_END
