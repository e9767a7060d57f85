// Private to the activation family: vectorizable float math (exp, tanh, sigmoid, erfc) and the
// elementwise / softmax span kernels built on it.
//
// The libm functions are scalar calls that stop GCC from vectorizing a loop, so this header
// writes exp / tanh / erfc as branch-free polynomials (selects instead of ifs, integer tricks for
// 2^n). Every loop is a plain `#pragma omp simd` loop that the compiler vectorizes for the flags
// of the translation unit that includes this header:
//   activation.cpp         baseline x86-64 (SSE2) or whatever the target is
//   activation_avx2.cpp    -mavx2 -mfma
//   activation_avx512.cpp  -mavx512f ...
// Each includes this file with FN_ACT_NS set to its own namespace name, so the copies compiled
// with different flags can never be merged by the linker (no ODR clash).
//
// GCC if-converts a select only when neither arm can raise an FP exception, so the math below
// is compiled with -fno-trapping-math (a pragma, for these functions only); with the default
// every clamp stays a branch and no loop vectorizes.
//
// Accuracy (float32 vs float64, measured by the tests' dense sweeps): exp ~1 ulp; sigmoid, tanh
// and their derivatives <= 3e-7 relative; gelu <= 1.3e-6 relative (erfc is Numerical Recipes'
// Chebyshev fit, 1.2e-7 in exact arithmetic, and its exponent argument loses a few ulp in
// float). Everything is within the tests' rtol 2e-6 / atol 1e-6.
#ifndef FUSEDNET_ACTIVATION_MATH_DECLS
#define FUSEDNET_ACTIVATION_MATH_DECLS

#include <cstdint>
#include <cstring>

#include "kernels/cpu.h"

namespace fusednet {

// One ISA's span kernels; the public entry points (activation.cpp) split the work over threads
// and call the table of the active ISA on each chunk.
struct ActivationKernels {
  void (*forward)(Activation act, float param, const float* x, float* y, index_t n);
  void (*backward)(Activation act, float param, const float* dy, const float* x, float* dx,
                   index_t n);
  void (*backward_from_output)(Activation act, float param, const float* dy, const float* y,
                               float* dx, index_t n);
  // Rows [r0, r1) of a contiguous [rows, cols] matrix.
  void (*softmax_forward_rows)(const float* x, float* y, index_t r0, index_t r1, index_t cols,
                               bool log);
  void (*softmax_backward_rows)(const float* dy, const float* x, float* dx, index_t r0,
                                index_t r1, index_t cols, bool log);
  // Reductions (reduce.cpp): columns [j0, j1) of bias_grad, rows [r0, r1) of argmax.
  void (*bias_grad_cols)(const float* dy, float* db, index_t rows, index_t cols, index_t j0,
                         index_t j1);
  void (*argmax_rows)(const float* x, std::int64_t* out, index_t r0, index_t r1, index_t cols);
};

const ActivationKernels& activation_kernels_generic();
const ActivationKernels& activation_kernels_avx2();    // only on x86 builds
const ActivationKernels& activation_kernels_avx512();  // only on x86 builds
// The table of the ISA in use (active_cpu_isa()).
const ActivationKernels& active_activation_kernels();

}  // namespace fusednet

#endif  // FUSEDNET_ACTIVATION_MATH_DECLS

// ---- the math and the span kernels, once per including translation unit ----------------------
// Only where FN_ACT_NS names the per-ISA namespace; without it this header just declares.
#ifdef FN_ACT_NS

#include <algorithm>
#include <cmath>

// No trapping math here (see the top of the file): nothing reads the FP exception flags.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

namespace fusednet {
namespace FN_ACT_NS {

// Bit casts the vectorizer understands (a memcpy through a local may not be if-converted).
FN_INLINE std::uint32_t bits_of(float f) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_bit_cast(std::uint32_t, f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}
FN_INLINE float float_of(std::uint32_t u) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_bit_cast(float, u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// The builtins, not std::fabs / std::copysign: GCC does not inline <cmath>'s wrappers into
// functions compiled with different optimize options, and a call blocks vectorization.
FN_INLINE float abs_f(float x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_fabsf(x);
#else
  return std::fabs(x);
#endif
}
FN_INLINE float copysign_f(float mag, float sgn) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_copysignf(mag, sgn);
#else
  return std::copysign(mag, sgn);
#endif
}

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

// 1 / (1 + e^-x) in two branches on e = e^-|x| <= 1, so nothing overflows.
FN_INLINE float sigmoid_f(float x) {
  const float e = exp_f(-abs_f(x));
  const float q = 1.0f / (1.0f + e);
  return x >= 0.0f ? q : e * q;
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

constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluC = 0.044715f;
// Beyond this |x| every gelu (and its derivative) has saturated to x or 0 (and 1 or 0); the
// selects keep x = -inf from giving -inf * 0 = NaN.
constexpr float kGeluSaturate = 20.0f;

// ---- forward and derivative, one element ------------------------------------------------------
template <Activation A>
FN_INLINE float forward_one(float x, float a) {
  if constexpr (A == Activation::Linear) {
    return x;
  } else if constexpr (A == Activation::ReLU) {
    return x < 0.0f ? 0.0f : x;  // NaN passes through
  } else if constexpr (A == Activation::LeakyReLU) {
    return x < 0.0f ? a * x : x;
  } else if constexpr (A == Activation::Sigmoid) {
    return sigmoid_f(x);
  } else if constexpr (A == Activation::Tanh) {
    return tanh_f(x);
  } else if constexpr (A == Activation::GELU) {
    const float y = x * normal_cdf_f(x);
    return x < -kGeluSaturate ? 0.0f : y;
  } else {  // GELUTanh: x (1 + tanh u) / 2 = x sigmoid(2u), exact on the left tail too
    const float u = kSqrt2OverPi * (x + kGeluC * x * x * x);
    const float y = x * sigmoid_f(2.0f * u);
    return x < -kGeluSaturate ? 0.0f : y;
  }
}

// d act / dx at the forward input x.
template <Activation A>
FN_INLINE float derivative_one(float x, float a) {
  if constexpr (A == Activation::Linear) {
    return 1.0f;
  } else if constexpr (A == Activation::ReLU) {
    return x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x);  // NaN -> NaN
  } else if constexpr (A == Activation::LeakyReLU) {
    return x > 0.0f ? 1.0f : (x <= 0.0f ? a : x);
  } else if constexpr (A == Activation::Sigmoid) {
    // s (1 - s) = e q^2 with e = e^-|x|, q = 1 / (1 + e): no cancellation on either side.
    const float e = exp_f(-abs_f(x));
    const float q = 1.0f / (1.0f + e);
    return e * q * q;
  } else if constexpr (A == Activation::Tanh) {
    // 1 - tanh^2 = 4 e / (1 + e)^2 with e = e^-2|x|: accurate where tanh has saturated.
    const float e = exp_f(-2.0f * abs_f(x));
    const float q = 1.0f / (1.0f + e);
    return 4.0f * e * q * q;
  } else if constexpr (A == Activation::GELU) {
    const float d = normal_cdf_f(x) + x * kInvSqrt2Pi * exp_f(-0.5f * x * x);
    return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
  } else {  // GELUTanh: s + 2 x s (1 - s) u' with s = sigmoid(2u), s (1 - s) = e q^2
    const float x2 = x * x;
    const float u = kSqrt2OverPi * (x + kGeluC * x2 * x);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x2);
    const float e = exp_f(-2.0f * abs_f(u));
    const float q = 1.0f / (1.0f + e);
    const float s = u >= 0.0f ? q : e * q;
    const float d = s + 2.0f * x * du * (e * q * q);
    return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
  }
}

// d act / dx from the forward output y (Linear, ReLU, LeakyReLU with a > 0, Sigmoid, Tanh).
template <Activation A>
FN_INLINE float derivative_from_output_one(float y, float a) {
  if constexpr (A == Activation::ReLU) {
    return y > 0.0f ? 1.0f : (y <= 0.0f ? 0.0f : y);
  } else if constexpr (A == Activation::LeakyReLU) {
    return y > 0.0f ? 1.0f : (y <= 0.0f ? a : y);
  } else if constexpr (A == Activation::Sigmoid) {
    return y * (1.0f - y);
  } else if constexpr (A == Activation::Tanh) {
    return (1.0f - y) * (1.0f + y);  // = 1 - y^2, one rounding less near |y| = 1
  } else {
    return 1.0f;
  }
}

// ---- span kernels -----------------------------------------------------------------------------
// x == y is allowed (same index read before written), which `omp simd` permits.
template <Activation A>
void forward_span(float a, const float* x, float* y, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) y[i] = forward_one<A>(x[i], a);
}

template <Activation A>
void backward_span(float a, const float* dy, const float* x, float* dx, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_one<A>(x[i], a);
}

template <Activation A>
void backward_from_output_span(float a, const float* dy, const float* y, float* dx, index_t n) {
#pragma omp simd
  for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * derivative_from_output_one<A>(y[i], a);
}

#define FN_ACT_SWITCH(act, CALL)                                   \
  switch (act) {                                                   \
    case Activation::Linear: CALL(Activation::Linear); break;      \
    case Activation::ReLU: CALL(Activation::ReLU); break;          \
    case Activation::LeakyReLU: CALL(Activation::LeakyReLU); break; \
    case Activation::Sigmoid: CALL(Activation::Sigmoid); break;    \
    case Activation::Tanh: CALL(Activation::Tanh); break;          \
    case Activation::GELU: CALL(Activation::GELU); break;          \
    case Activation::GELUTanh: CALL(Activation::GELUTanh); break;  \
  }

inline void forward(Activation act, float a, const float* x, float* y, index_t n) {
#define FN_CALL(A) forward_span<A>(a, x, y, n)
  FN_ACT_SWITCH(act, FN_CALL)
#undef FN_CALL
}

inline void backward(Activation act, float a, const float* dy, const float* x, float* dx,
                     index_t n) {
#define FN_CALL(A) backward_span<A>(a, dy, x, dx, n)
  FN_ACT_SWITCH(act, FN_CALL)
#undef FN_CALL
}

inline void backward_from_output(Activation act, float a, const float* dy, const float* y,
                                 float* dx, index_t n) {
#define FN_CALL(A) backward_from_output_span<A>(a, dy, y, dx, n)
  FN_ACT_SWITCH(act, FN_CALL)
#undef FN_CALL
}
#undef FN_ACT_SWITCH

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

// ---- reductions --------------------------------------------------------------------------------
// db[j] = sum_i dy[i, j], each column in row order in a double: bit-identical whatever the
// blocking, the thread split or the ISA. The rows are streamed in order and added into up to
// kBiasWidth double accumulators that stay in L1 (16 KiB), so memory is read sequentially; a
// column-blocked walk down the rows would stride across pages and wait on every load.
constexpr index_t kBiasWidth = 2048;

// A few columns (the bias of a narrow layer): the accumulators live in registers and the row
// loop carries no inner loop; the same additions in the same order as below.
template <int kCols>
inline void bias_grad_narrow(const float* dy, float* db, index_t rows, index_t cols) {
  double acc[kCols] = {};
  for (index_t i = 0; i < rows; ++i, dy += cols) {
    for (int k = 0; k < kCols; ++k) acc[k] += static_cast<double>(dy[k]);
  }
  for (int k = 0; k < kCols; ++k) db[k] = static_cast<float>(acc[k]);
}

inline void bias_grad_cols(const float* dy, float* db, index_t rows, index_t cols, index_t j0,
                           index_t j1) {
  switch (j1 - j0) {
    case 1: return bias_grad_narrow<1>(dy + j0, db + j0, rows, cols);
    case 2: return bias_grad_narrow<2>(dy + j0, db + j0, rows, cols);
    case 3: return bias_grad_narrow<3>(dy + j0, db + j0, rows, cols);
    case 4: return bias_grad_narrow<4>(dy + j0, db + j0, rows, cols);
    default: break;
  }
  double acc[kBiasWidth];
  for (index_t jb = j0; jb < j1; jb += kBiasWidth) {
    const index_t w = std::min(kBiasWidth, j1 - jb);
    for (index_t k = 0; k < w; ++k) acc[k] = 0.0;
    for (index_t i = 0; i < rows; ++i) {
      const float* r = dy + i * cols + jb;
#pragma omp simd
      for (index_t k = 0; k < w; ++k) acc[k] += static_cast<double>(r[k]);
    }
    for (index_t k = 0; k < w; ++k) db[jb + k] = static_cast<float>(acc[k]);
  }
}

// First index of the row maximum, a NaN counting as the maximum (NumPy's rule): one vectorized
// pass for the max and any NaN, then a short scan for the first match.
inline void argmax_rows(const float* x, std::int64_t* out, index_t r0, index_t r1, index_t cols) {
  for (index_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float m = -INFINITY;
    int nan = 0;
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (index_t j = 0; j < cols; ++j) {
      m = xr[j] > m ? xr[j] : m;
      nan |= xr[j] != xr[j];
    }
    index_t best = 0;
    if (nan) {
      while (xr[best] == xr[best]) ++best;
    } else {
      while (best + 1 < cols && xr[best] != m) ++best;  // all -inf: xr[0] == m already
    }
    out[r] = best;
  }
}

inline const ActivationKernels& table() {
  static const ActivationKernels k{forward,          backward,
                                   backward_from_output, softmax_forward_rows,
                                   softmax_backward_rows, bias_grad_cols,
                                   argmax_rows};
  return k;
}

}  // namespace FN_ACT_NS
}  // namespace fusednet

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

#endif  // FN_ACT_NS
