// Branch-free float primitives for the auto-vectorized CPU families (activation, pair_loss):
// libm's exp / log / tanh / erfc are scalar calls that stop GCC from vectorizing a loop, so they
// are written here as polynomials with selects instead of ifs and integer tricks for 2^n and the
// exponent. Compiled without trapping math (simd.h), in each including ISA's file.
//
// Accuracy (float32 vs float64, measured by the tests' dense sweeps): exp, log ~1 ulp; expm1 and
// log1p ~2 ulp relative everywhere (no cancellation near 0); tanh, sigmoid <= 3e-7 relative;
// Phi (through erfc, Numerical Recipes' Chebyshev fit) ~1e-6 relative.
#pragma once

#include <cstdint>

#include "kernels/cpu/simd.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

namespace fusednet {
namespace FN_SIMD_NS {
namespace vmath {

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

// e^x - 1 without the cancellation near 0: for |x| < ln2/2 it is r + r^2 P(r), exp_f's own
// polynomial without its leading 1; beyond, exp_f(x) - 1 loses at most 1 ulp of 1 against a
// result >= 0.29. -inf gives -1, NaN stays NaN.
FN_INLINE float expm1_f(float x) {
  float p = 1.9875691500e-4f;
  p = p * x + 1.3981999507e-3f;
  p = p * x + 8.3334519073e-3f;
  p = p * x + 4.1665795894e-2f;
  p = p * x + 1.6666665459e-1f;
  p = p * x + 5.0000001201e-1f;
  const float small = p * (x * x) + x;
  const float big = exp_f(x) - 1.0f;
  return abs_f(x) < 0.34657359f ? small : big;  // NaN takes `big`
}

// Natural log (Cephes' logf): x = m 2^e with m in [sqrt(1/2), sqrt 2), log(m) by a degree-9
// polynomial in m - 1. Subnormals are scaled up first; 0 gives -inf, x < 0 NaN, +inf stays +inf.
FN_INLINE float log_f(float x) {
  const bool tiny = x < 1.17549435e-38f;  // also true for 0 and negatives, handled at the end
  const float xs = tiny ? x * 8388608.0f : x;  // * 2^23
  const std::uint32_t b = bits_of(xs);
  float e = static_cast<float>(static_cast<std::int32_t>((b >> 23) & 0xffu) - 126);
  e = tiny ? e - 23.0f : e;
  float m = float_of((b & 0x007fffffu) | 0x3f000000u);  // in [0.5, 1)
  const bool lo = m < 0.707106781186547524f;
  e = lo ? e - 1.0f : e;
  m = lo ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y = y + -2.12194440e-4f * e;
  y = y + -0.5f * z;
  float r = (m + y) + 0.693359375f * e;
  r = x == 0.0f ? -INFINITY : r;
  r = x < 0.0f ? NAN : r;
  r = x == INFINITY ? x : r;
  return x != x ? x : r;
}

// log(1 + x) without the cancellation near 0 (Goldberg's trick: log(u) x / (u - 1), u = 1 + x,
// corrects the rounding of u); x = -1 gives -inf, x < -1 NaN, +inf stays +inf.
FN_INLINE float log1p_f(float x) {
  const float u = 1.0f + x;
  const float d = u - 1.0f;
  const float r = log_f(u) * (x / (d == 0.0f ? 1.0f : d));
  const float y = d == 0.0f ? x : r;
  return u == INFINITY ? u : y;  // inf * (inf / inf) would be NaN
}

// The primitives kernels/math/activation.h's and loss.h's formulas call on the CPU.
struct CpuMath {
  static FN_INLINE float exp(float x) { return exp_f(x); }
  static FN_INLINE float expm1(float x) { return expm1_f(x); }
  static FN_INLINE float log(float x) { return log_f(x); }
  static FN_INLINE float log1p(float x) { return log1p_f(x); }
  static FN_INLINE float tanh(float x) { return tanh_f(x); }
  static FN_INLINE float normal_cdf(float x) { return normal_cdf_f(x); }
  static FN_INLINE float abs(float x) { return abs_f(x); }
};

}  // namespace vmath
}  // namespace FN_SIMD_NS
}  // namespace fusednet

FN_SIMD_NO_TRAPPING_MATH_END
