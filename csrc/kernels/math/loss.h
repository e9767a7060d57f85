// The formulas of the pair losses (kernels/types.h's PairLoss), written once for both devices:
// each element's loss term and its derivative with respect to the prediction p, for the target t
// (and parameter a). eps = 1e-7 is Keras's backend.epsilon(); the clips are Keras 3's
// (keras/src/losses/losses.py), and a clipped input gets derivative 0.
//
//   mae            |p - t|                                 sign(p - t)
//   mape           100 |p - t| / max(|t|, eps)             100 sign(p - t) / max(|t|, eps)
//   msle           (log1p(max(p, eps)) - log1p(max(t, eps)))^2
//                                                          2 (lp - lt) / (1 + p) [p >= eps]
//   huber (a)      e = p - t: |e| <= a ? e^2 / 2 : a |e| - a^2 / 2      |e| <= a ? e : a sign(e)
//   log_cosh       log cosh(e) (Keras: e + softplus(-2e) - log 2)       tanh(e)
//   hinge          max(1 - t p, 0)                         -t [1 - t p > 0]
//   squared_hinge  max(1 - t p, 0)^2                       -2 t max(1 - t p, 0)
//   poisson        p - t log(p + eps)                      1 - t / (p + eps)
//   kld            t' log(t' / p'), t' = clip(t, eps, 1), p' = clip(p, eps, 1)
//                                                          -t' / p' [eps <= p <= 1]
//   bce (probs)    -(t log p' + (1 - t) log(1 - p')), p' = clip(p, eps, 1 - eps)
//                                                          ((1 - t) / (1 - p') - t / p') [in range]
// A row's loss is the mean of its terms, kld's their sum. The two row-wise losses
// (categorical_hinge, cosine_similarity) are written out per device beside the row loops.
//
// log cosh is evaluated as log1p(E^2 / (2 (1 + E))), E = expm1(|e|), for |e| < 1 (cosh e - 1 =
// (e^|e| - 1)^2 / (2 e^|e|)), where Keras's form loses every digit of a small loss to the
// cancellation against log 2; beyond, as Keras does (|e| + log1p(e^-2|e|) - log 2).
// P: the device's primitives (exp, expm1, log, log1p, tanh, abs), as for activation.h.
#pragma once

#include <cmath>
#include <type_traits>

#include "kernels/math/host_device.h"
#include "kernels/types.h"

namespace fusednet {
namespace lossmath {

constexpr float kEps = 1e-7f;
constexpr float kLog2 = 0.69314718055994531f;

FN_HOST_DEVICE FN_INLINE float sign(float x) {
  return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : (x != x ? x : 0.0f));
}

// Whether a row's loss is the sum of its terms (else their mean).
FN_HOST_DEVICE FN_INLINE bool sums_row(PairLoss k) {
  return k == PairLoss::KLD || k == PairLoss::CategoricalHinge || k == PairLoss::CosineSimilarity;
}
FN_HOST_DEVICE FN_INLINE bool is_row_wise(PairLoss k) {
  return k == PairLoss::CategoricalHinge || k == PairLoss::CosineSimilarity;
}

// The term of one element; *d = d term / dp.
template <PairLoss K, class P>
FN_HOST_DEVICE FN_INLINE float term(float p, float t, float a, float* d) {
  if constexpr (K == PairLoss::MAE) {
    const float e = p - t;
    *d = sign(e);
    return P::abs(e);
  } else if constexpr (K == PairLoss::MAPE) {
    const float at = P::abs(t);
    const float inv = 100.0f / (at > kEps ? at : kEps);
    const float e = p - t;
    *d = sign(e) * inv;
    return P::abs(e) * inv;
  } else if constexpr (K == PairLoss::MSLE) {
    const float pc = p >= kEps ? p : kEps;
    const float tc = t >= kEps ? t : kEps;
    const float diff = P::log1p(pc) - P::log1p(tc);
    *d = p >= kEps ? 2.0f * diff / (1.0f + pc) : (p != p ? p : 0.0f);
    return diff * diff;
  } else if constexpr (K == PairLoss::Huber) {
    const float e = p - t;
    const float ae = P::abs(e);
    const bool quad = ae <= a;
    *d = quad ? e : a * sign(e);
    return quad ? 0.5f * e * e : a * ae - 0.5f * a * a;
  } else if constexpr (K == PairLoss::LogCosh) {
    const float e = p - t;
    const float ae = P::abs(e);
    const float em = P::expm1(ae < 1.0f ? ae : 1.0f);
    const float small = P::log1p(em * em / (2.0f * (1.0f + em)));
    const float big = (ae + P::log1p(P::exp(-2.0f * ae))) - kLog2;
    *d = P::tanh(e);
    return ae < 1.0f ? small : big;  // NaN takes `big`
  } else if constexpr (K == PairLoss::Hinge) {
    const float m = 1.0f - t * p;
    *d = m > 0.0f ? -t : (m != m ? m : 0.0f);
    return m > 0.0f ? m : (m != m ? m : 0.0f);
  } else if constexpr (K == PairLoss::SquaredHinge) {
    const float m0 = 1.0f - t * p;
    const float m = m0 > 0.0f ? m0 : (m0 != m0 ? m0 : 0.0f);
    *d = -2.0f * t * m;
    return m * m;
  } else if constexpr (K == PairLoss::Poisson) {
    const float q = p + kEps;
    *d = 1.0f - t / q;
    return p - t * P::log(q);
  } else if constexpr (K == PairLoss::KLD) {
    const float tc = t < kEps ? kEps : (t > 1.0f ? 1.0f : t);
    const bool in = p >= kEps && p <= 1.0f;
    const float pc = p < kEps ? kEps : (p > 1.0f ? 1.0f : p);  // NaN passes
    *d = in ? -tc / pc : (p != p ? p : 0.0f);
    return tc * P::log(tc / pc);
  } else if constexpr (K == PairLoss::BCEProbs) {
    constexpr float kHi = 1.0f - kEps;
    const bool in = p >= kEps && p <= kHi;
    const float pc = p < kEps ? kEps : (p > kHi ? kHi : p);
    const float q = 1.0f - pc;
    *d = in ? (1.0f - t) / q - t / pc : (p != p ? p : 0.0f);
    return -(t * P::log(pc) + (1.0f - t) * P::log(q));
  } else {
    *d = 0.0f;
    return 0.0f;
  }
}

template <PairLoss K>
using PairLossTag = std::integral_constant<PairLoss, K>;

// f(PairLossTag<kind>{}) for an elementwise kind (MAE .. BCEProbs); the row-wise kinds and any
// other code get MAE's tag (callers handle the row-wise ones before).
template <class F>
FN_HOST_DEVICE FN_INLINE auto visit_elementwise(PairLoss k, F&& f) {
  switch (k) {
    case PairLoss::MAPE: return f(PairLossTag<PairLoss::MAPE>{});
    case PairLoss::MSLE: return f(PairLossTag<PairLoss::MSLE>{});
    case PairLoss::Huber: return f(PairLossTag<PairLoss::Huber>{});
    case PairLoss::LogCosh: return f(PairLossTag<PairLoss::LogCosh>{});
    case PairLoss::Hinge: return f(PairLossTag<PairLoss::Hinge>{});
    case PairLoss::SquaredHinge: return f(PairLossTag<PairLoss::SquaredHinge>{});
    case PairLoss::Poisson: return f(PairLossTag<PairLoss::Poisson>{});
    case PairLoss::KLD: return f(PairLossTag<PairLoss::KLD>{});
    case PairLoss::BCEProbs: return f(PairLossTag<PairLoss::BCEProbs>{});
    default: return f(PairLossTag<PairLoss::MAE>{});
  }
}

}  // namespace lossmath
}  // namespace fusednet
