// Private to the activation family: the span kernels of activation.cpp (baseline target),
// activation_avx2.cpp and activation_avx512.cpp, one source compiled once per ISA.
//
// They are plain `#pragma omp simd` loops over kernels/math/activation.h's formulas, which the
// compiler vectorizes for the flags of the including file (SSE2, AVX2 + FMA, AVX-512), on the
// branch-free primitives of vmath.h (exp, expm1, log1p, tanh, Phi). Everything is compiled without
// trapping math (simd.h's FN_SIMD_NO_TRAPPING_MATH_BEGIN), without which every clamp stays a
// branch and no loop vectorizes. Accuracy: see vmath.h; everything is within the tests' rtol 2e-6
// / atol 1e-6.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/activation_kernels.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vmath.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

#include "kernels/math/activation.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace activation {

using vmath::CpuMath;
using vmath::exp_f;

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
