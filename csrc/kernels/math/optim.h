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

// ---- the rule kernel: Keras 3's RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adam with
// AMSGrad, and SGD / Adam again when a gradient transform (clipping) is set -------------------
// Every rule first transforms the gradient as Keras's _clip_gradients does (only one of them is
// ever set): g = g * clip_mul / clip_div (clipnorm: g * cn / max(norm, cn); global_clipnorm:
// g * scale / 1), then g = clip(g, -clip_value, clip_value) (inf: none; NaN stays NaN). Then
// Keras's decoupled weight decay p = p - p * wd * lr (the Keras rules; SGD and Adam keep their
// own decay forms, sgd/adam coefficients above), then the rule's update in Keras's operation
// order (Adam / AMSGrad: PyTorch's order, as adam_update).
enum class Rule : int {
  Sgd = 0,
  SgdMomentum = 1,
  SgdNesterov = 2,
  Adam = 3,
  AdamAmsgrad = 4,
  RMSprop = 5,
  RMSpropMomentum = 6,
  RMSpropCentered = 7,
  RMSpropCenteredMomentum = 8,
  Adagrad = 9,
  Adadelta = 10,
  Adamax = 11,
  Nadam = 12,
  Lion = 13,
};
constexpr int kRuleCount = 14;

// State arrays a rule reads and writes (s0, s1, s2 in this order).
FN_HOST_DEVICE FN_INLINE int rule_states(Rule r) {
  switch (r) {
    case Rule::Sgd: return 0;
    case Rule::SgdMomentum:
    case Rule::SgdNesterov:
    case Rule::RMSprop:
    case Rule::Adagrad:
    case Rule::Lion: return 1;
    case Rule::AdamAmsgrad:
    case Rule::RMSpropCenteredMomentum: return 3;
    default: return 2;  // Adam, RMSprop with momentum or centered, Adadelta, Adamax, Nadam
  }
}

struct RuleCoeffs {
  Rule rule = Rule::Sgd;
  float clip_mul = 1.f, clip_div = 1.f;  // g = g * clip_mul / clip_div
  float clip_value = INFINITY;  // g = clip(g, -clip_value, clip_value)
  bool decay = false;  // p = p - p * wd * lr (Keras rules)
  float wd = 0.f, lr = 0.f;
  // The rule's coefficients (float32, computed in double):
  //   RMSprop:  k0 rho, k1 1 - rho, k2 momentum;        Adadelta: k0 rho, k1 1 - rho
  //   Adamax:   k1 1 - b1, k2 b2, k3 1 - b1^t;           Lion: k0 b1, k1 1 - b1, k2 b2, k3 1 - b2
  //   Nadam:    k1 1 - b1, k2 1 - b2, k3 u_{t+1} / (1 - prod u_..t+1), k4 (1 - u_t) / (1 - prod
  //             u_..t), k5 1 / (1 - b2^t)
  float k0 = 0.f, k1 = 0.f, k2 = 0.f, k3 = 0.f, k4 = 0.f, k5 = 0.f;
  float eps = 0.f;
  AdamCoeffs adam{};  // Adam, AdamAmsgrad
  SgdCoeffs sgd{};  // Sgd*
};

FN_HOST_DEVICE FN_INLINE float sign_f(float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : x); }
FN_HOST_DEVICE FN_INLINE float max_f(float a, float b) { return a > b || a != a ? a : b; }
FN_HOST_DEVICE FN_INLINE float abs_f(float x) { return x < 0.f ? -x : x; }

FN_HOST_DEVICE FN_INLINE float rule_grad(float g, const RuleCoeffs& c) {
  g = g * c.clip_mul / c.clip_div;
  return g < -c.clip_value ? -c.clip_value : (g > c.clip_value ? c.clip_value : g);
}

template <Decay D>
FN_HOST_DEVICE FN_INLINE void amsgrad_update(float& p, float g, float& m, float& v, float& vmax,
                                             const AdamCoeffs& c) {
  if (D == Decay::L2) g = g + c.weight_decay * p;
  if (D == Decay::Decoupled) p = p * c.decay_factor;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * (g * g);
  vmax = max_f(vmax, v);
  const float denom = sqrt_f(vmax) * c.inv_sqrt_bc2 + c.eps;
  p = p - c.step_size * (m / denom);
}

// Element i of a rule; the state pointers a rule does not use are never read.
template <Rule R>
FN_HOST_DEVICE FN_INLINE void rule_update(float* p, const float* gp, float* s0, float* s1,
                                          float* s2, index_t i, const RuleCoeffs& c) {
  const float g = rule_grad(gp[i], c);
  float w = p[i];
  if (R >= Rule::RMSprop && c.decay) w = w - w * c.wd * c.lr;
  if (R == Rule::Sgd) {
    sgd_update(w, g, nullptr, c.sgd, c.sgd.use_decay, false, false);
  } else if (R == Rule::SgdMomentum || R == Rule::SgdNesterov) {
    sgd_update(w, g, s0 + i, c.sgd, c.sgd.use_decay, true, R == Rule::SgdNesterov);
  } else if (R == Rule::Adam) {
    if (c.adam.decay == Decay::L2) adam_update<Decay::L2>(w, g, s0[i], s1[i], c.adam);
    else if (c.adam.decay == Decay::Decoupled)
      adam_update<Decay::Decoupled>(w, g, s0[i], s1[i], c.adam);
    else adam_update<Decay::None>(w, g, s0[i], s1[i], c.adam);
  } else if (R == Rule::AdamAmsgrad) {
    if (c.adam.decay == Decay::L2) amsgrad_update<Decay::L2>(w, g, s0[i], s1[i], s2[i], c.adam);
    else if (c.adam.decay == Decay::Decoupled)
      amsgrad_update<Decay::Decoupled>(w, g, s0[i], s1[i], s2[i], c.adam);
    else amsgrad_update<Decay::None>(w, g, s0[i], s1[i], s2[i], c.adam);
  } else if (R >= Rule::RMSprop && R <= Rule::RMSpropCenteredMomentum) {
    // s0 velocity, s1 momentum (with momentum), s2 (centered with momentum) or s1 average grad.
    constexpr bool kMom = R == Rule::RMSpropMomentum || R == Rule::RMSpropCenteredMomentum;
    constexpr bool kCen = R == Rule::RMSpropCentered || R == Rule::RMSpropCenteredMomentum;
    const float v = c.k0 * s0[i] + c.k1 * (g * g);
    s0[i] = v;
    float denom = v + c.eps;
    if (kCen) {
      float* avg = kMom ? s2 : s1;
      const float a = c.k0 * avg[i] + c.k1 * g;
      avg[i] = a;
      denom = v - a * a + c.eps;
    }
    const float inc = c.lr * g / sqrt_f(denom);
    if (kMom) {
      const float mo = c.k2 * s1[i] + inc;
      s1[i] = mo;
      w = w - mo;
    } else {
      w = w - inc;
    }
  } else if (R == Rule::Adagrad) {
    const float acc = s0[i] + g * g;
    s0[i] = acc;
    w = w - c.lr * g / sqrt_f(acc + c.eps);
  } else if (R == Rule::Adadelta) {
    const float ag = c.k0 * s0[i] + c.k1 * (g * g);
    s0[i] = ag;
    const float delta = -(sqrt_f(s1[i] + c.eps) * g / sqrt_f(ag + c.eps));
    s1[i] = c.k0 * s1[i] + c.k1 * (delta * delta);
    w = w + c.lr * delta;
  } else if (R == Rule::Adamax) {
    const float m = s0[i] + (g - s0[i]) * c.k1;
    s0[i] = m;
    const float u = max_f(c.k2 * s1[i], abs_f(g));
    s1[i] = u;
    w = w - (c.lr * m) / (c.k3 * (u + c.eps));
  } else if (R == Rule::Nadam) {
    const float m = s0[i] + (g - s0[i]) * c.k1;
    s0[i] = m;
    const float v = s1[i] + (g * g - s1[i]) * c.k2;
    s1[i] = v;
    const float m_hat = c.k3 * m + c.k4 * g;
    const float v_hat = v * c.k5;
    w = w - (m_hat * c.lr) / (sqrt_f(v_hat) + c.eps);
  } else if (R == Rule::Lion) {
    w = w - c.lr * sign_f(s0[i] * c.k0 + g * c.k1);
    s0[i] = s0[i] * c.k2 + g * c.k3;
  }
  p[i] = w;
}

// Keras's EMA of a weight: momentum * avg + (1 - momentum) * p.
FN_HOST_DEVICE FN_INLINE float ema_one(float avg, float p, float m, float one_minus_m) {
  return m * avg + one_minus_m * p;
}

// ---- regularizers and constraints (Keras's, on a Net's variables) ------------------------------
// L1 / L2 penalty l1 sum|w| + l2 sum w^2 (summed in double); its gradient l1 sign(w) + 2 l2 w.
FN_HOST_DEVICE FN_INLINE double penalty_one(float w, double l1, double l2) {
  const double x = w;
  return (l1 != 0.0 ? l1 * (x < 0 ? -x : x) : 0.0) + (l2 != 0.0 ? l2 * x * x : 0.0);
}
FN_HOST_DEVICE FN_INLINE float penalty_grad_one(float w, float l1, float l2) {
  return l1 * sign_f(w) + 2.f * l2 * w;
}

// Keras's weight constraints; the norms run over axis 0 (a Dense kernel's columns, a bias whole).
enum class Constraint : int { NonNeg = 0, MaxNorm = 1, UnitNorm = 2, MinMaxNorm = 3 };
constexpr float kConstraintEps = 1e-7f;  // Keras's backend.epsilon()
// The factor a column of norm `norm` is multiplied by (not NonNeg, which is elementwise).
FN_HOST_DEVICE FN_INLINE float constraint_factor(Constraint k, float norm, float min_value,
                                                 float max_value, float rate) {
  float desired = 1.f;
  if (k == Constraint::MaxNorm) {
    desired = norm < 0.f ? 0.f : (norm > max_value ? max_value : norm);
  } else if (k == Constraint::MinMaxNorm) {
    const float c = norm < min_value ? min_value : (norm > max_value ? max_value : norm);
    desired = rate * c + (1.f - rate) * norm;
  }
  return desired / (kConstraintEps + norm);
}

// f(std::integral_constant<Rule, r>{}): a loop or a launch per rule, picked once per call.
template <class F>
void with_rule(Rule r, F&& f) {
  switch (r) {
#define FN_RULE_CASE(name) \
  case Rule::name: f(std::integral_constant<Rule, Rule::name>{}); break;
    FN_RULE_CASE(Sgd)
    FN_RULE_CASE(SgdMomentum)
    FN_RULE_CASE(SgdNesterov)
    FN_RULE_CASE(Adam)
    FN_RULE_CASE(AdamAmsgrad)
    FN_RULE_CASE(RMSprop)
    FN_RULE_CASE(RMSpropMomentum)
    FN_RULE_CASE(RMSpropCentered)
    FN_RULE_CASE(RMSpropCenteredMomentum)
    FN_RULE_CASE(Adagrad)
    FN_RULE_CASE(Adadelta)
    FN_RULE_CASE(Adamax)
    FN_RULE_CASE(Nadam)
    FN_RULE_CASE(Lion)
#undef FN_RULE_CASE
  }
}

// Keras's Nadam momentum schedule: u_k = b1 (1 - 0.5 * 0.96^(0.004 k)).
inline double nadam_u(double beta1, std::int64_t k) {
  return beta1 * (1.0 - 0.5 * std::pow(0.96, 0.004 * static_cast<double>(k)));
}
// prod_{k=1..t} u_k in double, in k order (Keras keeps it as a float32 variable, multiplied once
// per step); the last call's product is kept so that consecutive steps cost one multiplication.
inline double nadam_u_product(double beta1, std::int64_t t) {
  thread_local double cached_beta1 = -1.0, cached = 1.0;
  thread_local std::int64_t cached_t = 0;
  if (cached_beta1 != beta1 || cached_t > t) {
    cached_beta1 = beta1;
    cached = 1.0;
    cached_t = 0;
  }
  for (; cached_t < t; ++cached_t) cached *= nadam_u(beta1, cached_t + 1);
  return cached;
}

// The hyperparameters of a rule step, as the Net and the bindings hold them (double).
struct RuleArgs {
  Rule rule = Rule::Sgd;
  std::int64_t step = 1;  // t, counting from 1
  double lr = 0.0;
  double beta1 = 0.9, beta2 = 0.999;  // RMSprop / Adadelta: rho is beta1
  double momentum = 0.0, eps = 1e-7;
  double weight_decay = 0.0;  // Keras rules: decoupled; SGD: L2; Adam: decoupled ? AdamW : L2
  bool decoupled = true;  // Adam / AMSGrad only
  double clip_mul = 1.0, clip_div = 1.0, clip_value = INFINITY;
};

inline RuleCoeffs rule_coeffs(const RuleArgs& a) {
  FN_CHECK(static_cast<int>(a.rule) >= 0 && static_cast<int>(a.rule) < kRuleCount,
           "rule: expected one of the optimizer rules, got ", static_cast<int>(a.rule));
  FN_CHECK(a.step >= 1, "step: expected an integer >= 1, got ", a.step);
  FN_CHECK(a.clip_value > 0.0, "clipvalue: expected a number > 0, got ", a.clip_value);
  RuleCoeffs c;
  c.rule = a.rule;
  // A non-finite gradient norm passes through as Keras's does (NaN or inf scales).
  const auto clip_coeff = [](double v, const char* what) {
    return std::isnan(v) ? NAN : (std::isinf(v) ? static_cast<float>(v) : f32_coeff(v, what));
  };
  c.clip_mul = clip_coeff(a.clip_mul, "clip scale");
  c.clip_div = clip_coeff(a.clip_div, "clip norm");
  c.clip_value = std::isinf(a.clip_value) ? INFINITY : f32_coeff(a.clip_value, "clipvalue");
  c.lr = f32_coeff(a.lr, "lr");
  c.wd = f32_coeff(a.weight_decay, "weight_decay");
  c.decay = c.wd != 0.f;
  c.eps = f32_coeff(a.eps, "eps");
  const double t = static_cast<double>(a.step);
  const auto unit = [](double b, const char* what) {
    FN_CHECK(b >= 0.0 && b < 1.0, what, ": expected a number in [0, 1), got ", b);
  };
  switch (a.rule) {
    case Rule::Sgd:
    case Rule::SgdMomentum:
    case Rule::SgdNesterov:
      c.sgd = sgd_coeffs(a.lr, a.rule == Rule::Sgd ? 0.0 : a.momentum, a.rule == Rule::SgdNesterov,
                         a.weight_decay);
      FN_CHECK(a.rule == Rule::Sgd || c.sgd.use_momentum,
               "momentum: expected a number > 0 for SGD with momentum, got ", a.momentum);
      c.decay = false;
      break;
    case Rule::Adam:
    case Rule::AdamAmsgrad:
      c.adam = adam_coeffs(a.step, a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.decoupled);
      c.decay = false;
      break;
    case Rule::RMSprop:
    case Rule::RMSpropMomentum:
    case Rule::RMSpropCentered:
    case Rule::RMSpropCenteredMomentum:
    case Rule::Adadelta:
      unit(a.beta1, "rho");
      c.k0 = static_cast<float>(a.beta1);
      c.k1 = static_cast<float>(1.0 - a.beta1);
      c.k2 = f32_coeff(a.momentum, "momentum");
      break;
    case Rule::Adagrad: break;
    case Rule::Adamax:
      unit(a.beta1, "beta_1");
      unit(a.beta2, "beta_2");
      c.k1 = static_cast<float>(1.0 - a.beta1);
      c.k2 = static_cast<float>(a.beta2);
      c.k3 = static_cast<float>(1.0 - std::pow(a.beta1, t));
      break;
    case Rule::Nadam: {
      unit(a.beta1, "beta_1");
      unit(a.beta2, "beta_2");
      const double u_t = nadam_u(a.beta1, a.step), u_t1 = nadam_u(a.beta1, a.step + 1);
      const double prod_t = nadam_u_product(a.beta1, a.step), prod_t1 = prod_t * u_t1;
      c.k1 = static_cast<float>(1.0 - a.beta1);
      c.k2 = static_cast<float>(1.0 - a.beta2);
      c.k3 = f32_coeff(u_t1 / (1.0 - prod_t1), "Nadam's momentum coefficient");
      c.k4 = f32_coeff((1.0 - u_t) / (1.0 - prod_t), "Nadam's gradient coefficient");
      c.k5 = f32_coeff(1.0 / (1.0 - std::pow(a.beta2, t)), "1 / (1 - beta_2**step)");
      break;
    }
    case Rule::Lion:
      unit(a.beta1, "beta_1");
      unit(a.beta2, "beta_2");
      c.k0 = static_cast<float>(a.beta1);
      c.k1 = static_cast<float>(1.0 - a.beta1);
      c.k2 = static_cast<float>(a.beta2);
      c.k3 = static_cast<float>(1.0 - a.beta2);
      break;
  }
  return c;
}

}  // namespace optmath
}  // namespace fusednet
