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
inline SgdCoeffs sgd_coeffs(float lr, float momentum, bool nesterov, float weight_decay) {
  SgdCoeffs c;
  c.lr = lr;
  c.momentum = momentum;
  c.weight_decay = weight_decay;
  c.use_decay = weight_decay != 0.0f;
  c.use_momentum = momentum != 0.0f;
  c.nesterov = nesterov && c.use_momentum;
  return c;
}

inline AdamCoeffs adam_coeffs(std::int64_t step, float lr, float beta1, float beta2, float eps,
                              float weight_decay, bool decoupled) {
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  AdamCoeffs c;
  c.beta1 = beta1;
  c.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  c.beta2 = beta2;
  c.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  c.step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  c.eps = eps;
  c.weight_decay = weight_decay;
  c.decay_factor =
      static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  c.decay = weight_decay == 0.0f ? Decay::None : (decoupled ? Decay::Decoupled : Decay::L2);
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
