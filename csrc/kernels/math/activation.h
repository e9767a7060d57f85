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
//   elu         x >= 0 ? x : a (e^x - 1)               x > 0 ? 1 : a e^x
//   selu        l elu(x, a), a = 1.6732632, l = 1.0507010   l (x > 0 ? 1 : a e^x)
//   silu        x sigmoid(x)                           s + x s (1 - s)
//   softplus    log(1 + e^x) = max(x, 0) + log1p(e^-|x|)   sigmoid(x)
//   softsign    x / (1 + |x|)                          1 / (1 + |x|)^2
//   relu6       min(max(x, 0), 6)                      [0 < x < 6]
//   mish        x tanh(softplus x) = x n / (n + 2), n = u (u + 2), u = e^x
//               t + x (1 - t^2) sigmoid(x), t = tanh(softplus x), 1 - t = 2 / (n + 2)
//   hard_sigmoid  clip(x / 6 + 1/2, 0, 1) (Keras 3 = PyTorch)   [-3 < x < 3] / 6
//   hard_silu   x hard_sigmoid(x)                      hard_sigmoid(x) + x [-3 < x < 3] / 6
//   exponential e^x                                    e^x
//
// Every form neither overflows nor cancels for any float input: sigmoid in two branches on
// e = e^-|x| <= 1, the derivatives as e q^2 (not s (1 - s), which rounds to 0 once s rounds to 1),
// the GELUs as 0 / x (and 0 / 1) beyond |x| > kGeluSaturate, so x = -inf gives 0, not -inf * 0.
// Straight-line code with selects, so the CPU's `omp simd` loops vectorize it; NaN passes through.
//
// The unbounded products (silu, mish, hard_silu at x = -inf) take their limits by a select, so a
// finite input never gives NaN and -inf gives the limit, not -inf * 0; elu / selu use expm1 so
// that small negative inputs keep their relative accuracy.
//
// Each device supplies the transcendental primitives as a type P with static exp(x), expm1(x),
// log1p(x), tanh(x), normal_cdf(x) = Phi(x) and abs(x): the CPU its branch-free polynomials
// (cpu/vmath.h), CUDA its intrinsics expf, expm1f, log1pf, tanhf, normcdff, fabsf
// (cuda/device_util.cuh). The rest is this file.
#pragma once

#include <cmath>
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
constexpr float kSeluAlpha = 1.67326324235437728f;
constexpr float kSeluScale = 1.05070098735548049f;
// Beyond this |x| silu and mish (and their derivatives) are x or 0 (1 or 0) in float.
constexpr float kSmoothSaturate = 100.0f;

// sigmoid(-x) = 1 - sigmoid(x) without the cancellation for x >> 0.
template <class P>
FN_HOST_DEVICE FN_INLINE float sigmoid_neg(float x) {
  const float e = P::exp(-P::abs(x));
  const float q = 1.0f / (1.0f + e);
  return x >= 0.0f ? e * q : q;
}

// tanh(softplus(x)) = n / (n + 2), n = u (u + 2), u = e^x: no cancellation for x << 0 (where it
// is ~u); 1 from x > 20 on (where n would overflow).
template <class P>
FN_HOST_DEVICE FN_INLINE float mish_n(float x) {
  const float u = P::exp(x < 20.0f ? x : 20.0f);
  return u * (u + 2.0f);
}

// Keras 3's hard_sigmoid: x / 6 + 1/2 clipped to [0, 1]; NaN passes.
FN_HOST_DEVICE FN_INLINE float hard_sigmoid(float x) {
  const float v = x / 6.0f + 0.5f;
  return v <= 0.0f ? 0.0f : (v >= 1.0f ? 1.0f : v);
}

// [lo < x < hi] as 1 / 0, NaN -> NaN (as relu's derivative).
FN_HOST_DEVICE FN_INLINE float inside(float x, float lo, float hi) {
  return x > lo && x < hi ? 1.0f : (x != x ? x : 0.0f);
}

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
  } else if constexpr (A == Activation::ELU) {
    return x >= 0.0f ? x : a * P::expm1(x);
  } else if constexpr (A == Activation::SELU) {
    return kSeluScale * (x >= 0.0f ? x : kSeluAlpha * P::expm1(x));
  } else if constexpr (A == Activation::SiLU) {
    const float y = x * sigmoid<P>(x);
    return x < -kSmoothSaturate ? 0.0f : y;
  } else if constexpr (A == Activation::Softplus) {
    const float m = x > 0.0f ? x : 0.0f;
    return m + P::log1p(P::exp(-P::abs(x)));  // NaN: log1p(e^NaN) is NaN
  } else if constexpr (A == Activation::Softsign) {
    const float ax = P::abs(x);
    const float y = x / (1.0f + ax);
    return ax == INFINITY ? (x > 0.0f ? 1.0f : -1.0f) : y;
  } else if constexpr (A == Activation::ReLU6) {
    return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
  } else if constexpr (A == Activation::Mish) {
    const float n = mish_n<P>(x);
    const float y = x * (n / (n + 2.0f));
    return x < -kSmoothSaturate ? 0.0f : y;
  } else if constexpr (A == Activation::HardSigmoid) {
    return hard_sigmoid(x);
  } else if constexpr (A == Activation::HardSiLU) {
    const float h = hard_sigmoid(x);
    return h == 0.0f ? 0.0f : x * h;  // x = -inf: 0, not -inf * 0
  } else if constexpr (A == Activation::Exponential) {
    return P::exp(x);
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
  } else if constexpr (A == Activation::ELU) {
    return x > 0.0f ? 1.0f : a * P::exp(x);  // NaN: a e^NaN
  } else if constexpr (A == Activation::SELU) {
    return kSeluScale * (x > 0.0f ? 1.0f : kSeluAlpha * P::exp(x));
  } else if constexpr (A == Activation::SiLU) {
    const float s = sigmoid<P>(x);
    const float d = s + x * s * sigmoid_neg<P>(x);
    return x < -kSmoothSaturate ? 0.0f : (x > kSmoothSaturate ? 1.0f : d);
  } else if constexpr (A == Activation::Softplus) {
    return sigmoid<P>(x);
  } else if constexpr (A == Activation::Softsign) {
    const float q = 1.0f + P::abs(x);
    return 1.0f / (q * q);
  } else if constexpr (A == Activation::ReLU6) {
    return inside(x, 0.0f, 6.0f);
  } else if constexpr (A == Activation::Mish) {
    const float n = mish_n<P>(x);
    const float r = 1.0f / (n + 2.0f);
    const float t = n * r;
    const float sech2 = 2.0f * r * (1.0f + t);  // 1 - t^2 = (1 - t)(1 + t), 1 - t = 2 / (n + 2)
    const float d = t + x * sech2 * sigmoid<P>(x);
    return x < -kSmoothSaturate ? 0.0f : (x > kSmoothSaturate ? 1.0f : d);
  } else if constexpr (A == Activation::HardSigmoid) {
    return inside(x, -3.0f, 3.0f) * (1.0f / 6.0f);
  } else if constexpr (A == Activation::HardSiLU) {
    const float d = hard_sigmoid(x) + x * (1.0f / 6.0f);
    return x > -3.0f && x < 3.0f ? d : (x >= 3.0f ? 1.0f : (x != x ? x : 0.0f));
  } else if constexpr (A == Activation::Exponential) {
    return P::exp(x);
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
    case Activation::ELU: return f(ActivationTag<Activation::ELU>{});
    case Activation::SELU: return f(ActivationTag<Activation::SELU>{});
    case Activation::SiLU: return f(ActivationTag<Activation::SiLU>{});
    case Activation::Softplus: return f(ActivationTag<Activation::Softplus>{});
    case Activation::Softsign: return f(ActivationTag<Activation::Softsign>{});
    case Activation::ReLU6: return f(ActivationTag<Activation::ReLU6>{});
    case Activation::Mish: return f(ActivationTag<Activation::Mish>{});
    case Activation::HardSigmoid: return f(ActivationTag<Activation::HardSigmoid>{});
    case Activation::HardSiLU: return f(ActivationTag<Activation::HardSiLU>{});
    case Activation::Exponential: return f(ActivationTag<Activation::Exponential>{});
    default: break;
  }
  if constexpr (kValue) return f(ActivationTag<Activation::Linear>{});
}

}  // namespace actmath
}  // namespace fusednet
