// Private to the optimizer kernels (optim.cpp, optim_avx2.cpp, optim_avx512.cpp): the per-call
// coefficients, the scalar per-element updates (the reference arithmetic), and the range kernels
// each ISA variant provides. The vector variants handle their tails with masked loads/stores, so
// every element of a call goes through the same instruction sequence.
#pragma once

#include <cmath>

#include "common.h"

namespace fusednet {
namespace optim_detail {

// How weight decay enters: not at all, as L2 on the gradient (g += wd p), or decoupled (AdamW).
enum class Decay : int { None = 0, L2 = 1, Decoupled = 2 };

// Everything a range kernel needs, computed once per call (bias corrections in double).
struct AdamCoeffs {
  float beta1, one_minus_beta1;  // m = beta1 m + (1 - beta1) g
  float beta2, one_minus_beta2;  // v = beta2 v + (1 - beta2) g^2
  float step_size;               // lr / (1 - beta1^t)
  float inv_sqrt_bc2;            // 1 / sqrt(1 - beta2^t)
  float eps;
  float weight_decay;            // L2: g += wd p
  float decay_factor;            // decoupled: p *= 1 - lr wd
  Decay decay;
};

struct SgdCoeffs {
  float lr, momentum, weight_decay;
  bool use_decay, use_momentum, nesterov;
};

// One element of Adam, in the order PyTorch's fused kernel uses: decay, moments, then
// p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps).
template <Decay D>
FN_INLINE void adam_element(float& p, float g, float& m, float& v, const AdamCoeffs& c) {
  if (D == Decay::L2) g = g + c.weight_decay * p;
  if (D == Decay::Decoupled) p = p * c.decay_factor;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * (g * g);
  const float denom = std::sqrt(v) * c.inv_sqrt_bc2 + c.eps;
  p = p - c.step_size * (m / denom);
}

// One element of SGD (PyTorch form): g += wd p; vel = momentum vel + g;
// p -= lr (nesterov ? g + momentum vel : vel), or p -= lr g without momentum.
template <bool UseDecay, bool UseMomentum, bool Nesterov>
FN_INLINE void sgd_element(float& p, float g, float* vel, const SgdCoeffs& c) {
  if (UseDecay) g = g + c.weight_decay * p;
  float update = g;
  if (UseMomentum) {
    const float vn = c.momentum * (*vel) + g;
    *vel = vn;
    update = Nesterov ? g + c.momentum * vn : vn;
  }
  p = p - c.lr * update;
}

// Range kernels: update elements [0, n) of the given pointers (already offset by the caller).
void adam_range_generic(float* p, const float* g, float* m, float* v, index_t n,
                        const AdamCoeffs& c);
void sgd_range_generic(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c);
#ifdef FUSEDNET_X86_KERNELS
void adam_range_avx2(float* p, const float* g, float* m, float* v, index_t n,
                     const AdamCoeffs& c);
void sgd_range_avx2(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c);
void adam_range_avx512(float* p, const float* g, float* m, float* v, index_t n,
                       const AdamCoeffs& c);
void sgd_range_avx512(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c);
#endif

}  // namespace optim_detail
}  // namespace fusednet
