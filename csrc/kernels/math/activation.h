// The activation formulas, written once for both devices: each activation's value and derivative
// (from the forward input, and from the forward output where that is possible), their constants
// and saturation thresholds. Codes as fusednet::Activation (kernels/types.h):
//
//   linear      x                                      1
//   relu        x < 0 ? 0 : x                          [x > 0]   (NaN -> NaN)
//   leaky_relu  x < 0 ? a x : x                        x > 0 ? 1 : a
//   sigmoid     s = 1 / (1 + e^-x)                     s (1 - s) = e q^2, e = e^-|x|, q = 1/(1+e)
//   tanh        tanh x                                 1 - tanh^2 = 4 e q^2, e = e^-2|x|
//   gelu        x Phi(x)                               Phi(x) + x phi(x)
//   gelu_tanh   x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
//               s + 2 x s (1 - s) u', s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//
// Every form neither overflows nor cancels for any float input: sigmoid in two branches on
// e = e^-|x| <= 1, the derivatives as e q^2 (not s (1 - s), which rounds to 0 once s rounds to 1),
// the GELUs as 0 / x (and 0 / 1) beyond |x| > kGeluSaturate, so x = -inf gives 0, not -inf * 0.
// Straight-line code with selects, so the CPU's `omp simd` loops vectorize it; NaN passes through.
//
// Each device supplies the transcendental primitives as a type P with static exp(x), tanh(x),
// normal_cdf(x) = Phi(x) and abs(x): the CPU its branch-free polynomials (cpu/activation_impl.h),
// CUDA its intrinsics expf, tanhf, normcdff, fabsf (cuda/device_util.cuh). The rest is this file.
#pragma once

#include <type_traits>

#include "kernels/math/host_device.h"
#include "kernels/types.h"

namespace fusednet {
namespace actmath {

constexpr float kInvSqrt2Pi = 0.39894228040143268f;   // 1 / sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286536f;  // sqrt(2 / pi)
constexpr float kGeluC = 0.044715f;
// Beyond this |x| every gelu (and its derivative) has saturated to x or 0 (and 1 or 0).
constexpr float kGeluSaturate = 20.0f;

// 1 / (1 + e^-x) in two branches on e = e^-|x| <= 1, so nothing overflows.
template <class P>
FN_HOST_DEVICE FN_INLINE float sigmoid(float x) {
  const float e = P::exp(-P::abs(x));
  const float q = 1.0f / (1.0f + e);
  return x >= 0.0f ? q : e * q;
}

// act(x).
template <Activation A, class P>
FN_HOST_DEVICE FN_INLINE float forward(float x, float a) {
  if constexpr (A == Activation::ReLU) {
    return x < 0.0f ? 0.0f : x;
  } else if constexpr (A == Activation::LeakyReLU) {
    return x < 0.0f ? a * x : x;
  } else if constexpr (A == Activation::Sigmoid) {
    return sigmoid<P>(x);
  } else if constexpr (A == Activation::Tanh) {
    return P::tanh(x);
  } else if constexpr (A == Activation::GELU) {
    const float y = x * P::normal_cdf(x);  // Phi: accurate in relative terms on the left tail
    return x < -kGeluSaturate ? 0.0f : y;
  } else if constexpr (A == Activation::GELUTanh) {
    // x (1 + tanh u) / 2 = x sigmoid(2u): no cancellation on the left tail
    const float u = kSqrt2OverPi * (x + kGeluC * x * x * x);
    const float y = x * sigmoid<P>(2.0f * u);
    return x < -kGeluSaturate ? 0.0f : y;
  } else {
    return x;
  }
}

// d act / dx at the forward input x.
template <Activation A, class P>
FN_HOST_DEVICE FN_INLINE float derivative(float x, float a) {
  if constexpr (A == Activation::ReLU) {
    return x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x);  // NaN -> NaN
  } else if constexpr (A == Activation::LeakyReLU) {
    return x > 0.0f ? 1.0f : (x <= 0.0f ? a : x);
  } else if constexpr (A == Activation::Sigmoid) {
    const float e = P::exp(-P::abs(x));
    const float q = 1.0f / (1.0f + e);
    return e * q * q;
  } else if constexpr (A == Activation::Tanh) {
    const float e = P::exp(-2.0f * P::abs(x));
    const float q = 1.0f / (1.0f + e);
    return 4.0f * e * q * q;
  } else if constexpr (A == Activation::GELU) {
    const float d = P::normal_cdf(x) + x * kInvSqrt2Pi * P::exp(-0.5f * x * x);
    return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
  } else if constexpr (A == Activation::GELUTanh) {
    const float x2 = x * x;
    const float u = kSqrt2OverPi * (x + kGeluC * x2 * x);
    const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x2);
    const float e = P::exp(-2.0f * P::abs(u));
    const float q = 1.0f / (1.0f + e);
    const float s = u >= 0.0f ? q : e * q;
    const float d = s + 2.0f * x * du * (e * q * q);
    return x < -kGeluSaturate ? 0.0f : (x > kGeluSaturate ? 1.0f : d);
  } else {
    return 1.0f;
  }
}

// d act / dx from the forward output y: Linear, ReLU, LeakyReLU with a > 0, Sigmoid and Tanh
// (has_derivative_from_output); 1 for the others.
template <Activation A>
FN_HOST_DEVICE FN_INLINE float derivative_from_output(float y, float a) {
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

template <Activation A>
using ActivationTag = std::integral_constant<Activation, A>;

// f(ActivationTag<act>{}) for an elementwise code. For any other code a value-returning f (CUDA's
// per-element formula) gets Linear's, a void f (the CPU picking a span loop) is not called.
template <class F>
FN_HOST_DEVICE FN_INLINE auto visit(Activation act, F&& f) {
  constexpr bool kValue = !std::is_void_v<decltype(f(ActivationTag<Activation::Linear>{}))>;
  switch (act) {
    case Activation::Linear:
      if constexpr (!kValue) return f(ActivationTag<Activation::Linear>{});
      break;  // below, with the other codes
    case Activation::ReLU: return f(ActivationTag<Activation::ReLU>{});
    case Activation::LeakyReLU: return f(ActivationTag<Activation::LeakyReLU>{});
    case Activation::Sigmoid: return f(ActivationTag<Activation::Sigmoid>{});
    case Activation::Tanh: return f(ActivationTag<Activation::Tanh>{});
    case Activation::GELU: return f(ActivationTag<Activation::GELU>{});
    case Activation::GELUTanh: return f(ActivationTag<Activation::GELUTanh>{});
    default: break;
  }
  if constexpr (kValue) return f(ActivationTag<Activation::Linear>{});
}

}  // namespace actmath
}  // namespace fusednet
