// The optimizer updates, written once for both devices: the per-call coefficients (computed on
// the host), the weight-decay modes, and one element's update in PyTorch's order, which the CPU's
// reference loops and the CUDA kernels run as they are and the CPU's vector kernels
// (cpu/optim_impl.h) spell in vector operations.
//
//   SGD (PyTorch form):  g += wd p;  vel = momentum vel + g;
//                        p -= lr (nesterov ? g + momentum vel : vel)      (p -= lr g if momentum 0)
//   Adam (paper form):   g += wd p (L2)  or  p *= 1 - lr wd (decoupled, AdamW);
//                        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//                        p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// Weight decay 0 means no decay term at all (0 * inf would turn an infinite parameter into NaN).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "common.h"
#include "kernels/math/host_device.h"

namespace fusednet {
namespace optmath {

// How weight decay enters: not at all, as L2 on the gradient (g += wd p), or decoupled (AdamW).
enum class Decay : int { None = 0, L2 = 1, Decoupled = 2 };

// Everything one Adam element needs, computed once per call: the bias corrections folded into
// step_size and inv_sqrt_bc2 (in double: 1 - b^t loses everything in float for b near 1).
struct AdamCoeffs {
  float beta1, one_minus_beta1;  // m = beta1 m + (1 - beta1) g
  float beta2, one_minus_beta2;  // v = beta2 v + (1 - beta2) g^2
  float step_size;  // lr / (1 - beta1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
  float eps;
  float weight_decay;  // L2: g += wd p
  float decay_factor;  // decoupled: p *= 1 - lr wd
  Decay decay;
};

struct SgdCoeffs {
  float lr, momentum, weight_decay;
  bool use_decay, use_momentum, nesterov;  // nesterov only with momentum
};

// ---- the coefficients of a call (host) -------------------------------------------------------
// The hyperparameters come in double and every per-step coefficient is computed in double, then
// rounded once to float (1 - beta and 1 - beta^t lose everything when beta is rounded to float
// first). A coefficient that does not fit in float32 (an overflow to inf, a NaN) raises a
// ValueError naming it: no value like that can give finite parameters.
inline float f32_coeff(double value, const char* what) {
  const double max = 3.4028234663852886e38;  // FLT_MAX
  FN_CHECK(std::isfinite(value) && value <= max && value >= -max, what,
           ": expected a value that fits in float32 (|x| <= 3.4e38), got ", value);
  return static_cast<float>(value);
}

inline SgdCoeffs sgd_coeffs(double lr, double momentum, bool nesterov, double weight_decay) {
  SgdCoeffs c;
  c.lr = f32_coeff(lr, "lr");
  c.momentum = f32_coeff(momentum, "momentum");
  c.weight_decay = f32_coeff(weight_decay, "weight_decay");
  c.use_decay = c.weight_decay != 0.0f;
  c.use_momentum = c.momentum != 0.0f;
  c.nesterov = nesterov && c.use_momentum;
  return c;
}

inline AdamCoeffs adam_coeffs(std::int64_t step, double lr, double beta1, double beta2, double eps,
                              double weight_decay, bool decoupled) {
  FN_CHECK(beta1 >= 0.0 && beta1 < 1.0, "beta1: expected a number in [0, 1), got ", beta1);
  FN_CHECK(beta2 >= 0.0 && beta2 < 1.0, "beta2: expected a number in [0, 1), got ", beta2);
  const double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  AdamCoeffs c;
  c.beta1 = static_cast<float>(beta1);
  c.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  c.beta2 = static_cast<float>(beta2);
  c.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  f32_coeff(lr, "lr");
  c.step_size = f32_coeff(lr / bc1, "lr / (1 - beta1**step) (Adam's step size)");
  c.inv_sqrt_bc2 = f32_coeff(1.0 / std::sqrt(bc2), "1 / sqrt(1 - beta2**step)");
  c.eps = f32_coeff(eps, "eps");
  c.weight_decay = f32_coeff(weight_decay, "weight_decay");
  c.decay_factor = f32_coeff(1.0 - lr * weight_decay, "1 - lr * weight_decay");
  c.decay = c.weight_decay == 0.0f ? Decay::None : (decoupled ? Decay::Decoupled : Decay::L2);
  return c;
}

// f(std::integral_constant<Decay, d>{}): a loop or a kernel launch per decay mode, picked once.
template <class F>
void with_decay(Decay d, F&& f) {
  switch (d) {
    case Decay::None: f(std::integral_constant<Decay, Decay::None>{}); break;
    case Decay::L2: f(std::integral_constant<Decay, Decay::L2>{}); break;
    case Decay::Decoupled: f(std::integral_constant<Decay, Decay::Decoupled>{}); break;
  }
}

// ---- one element -------------------------------------------------------------------------------
FN_HOST_DEVICE FN_INLINE float sqrt_f(float x) {
#if defined(__CUDA_ARCH__)
  return sqrtf(x);
#else
  return std::sqrt(x);
#endif
}

// Adam in PyTorch's fused order: decay, moments, then p -= step_size * m / (sqrt(v) / sqrt(bc2)
// + eps).
template <Decay D>
FN_HOST_DEVICE FN_INLINE void adam_update(float& p, float g, float& m, float& v,
                                          const AdamCoeffs& c) {
  if (D == Decay::L2) g = g + c.weight_decay * p;
  if (D == Decay::Decoupled) p = p * c.decay_factor;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * (g * g);
  const float denom = sqrt_f(v) * c.inv_sqrt_bc2 + c.eps;
  p = p - c.step_size * (m / denom);
}

// SGD; the variant flags are arguments so that the CPU passes compile-time constants (one loop
// per variant) and CUDA the call's values. vel is read only with use_momentum.
FN_HOST_DEVICE FN_INLINE void sgd_update(float& p, float g, float* vel, const SgdCoeffs& c,
                                         bool use_decay, bool use_momentum, bool nesterov) {
  if (use_decay) g = g + c.weight_decay * p;
  float update = g;
  if (use_momentum) {
    const float vn = c.momentum * (*vel) + g;
    *vel = vn;
    update = nesterov ? g + c.momentum * vn : vn;
  }
  p = p - c.lr * update;
}

}  // namespace optmath
}  // namespace fusednet
