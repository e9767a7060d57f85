// Optimizer range kernels, AVX-512F (16 floats per vector). Same math as optim.cpp's reference
// (see its header); what this adds: explicit FMAs and a masked tail, so the sqrt + div per element
// keep up with memory and every element of a call runs the same instruction sequence.
#include <immintrin.h>

#include "optim_impl.h"

namespace fusednet {
namespace optim_detail {
namespace {

// Lanes [0, count) set, count in [0, 16].
FN_INLINE __mmask16 tail_mask(index_t count) {
  return static_cast<__mmask16>((1u << static_cast<unsigned>(count)) - 1u);
}

struct AdamVec {
  __m512 b1, omb1, b2, omb2, step_size, inv_sqrt_bc2, eps, wd, decay_factor;
  explicit AdamVec(const AdamCoeffs& c)
      : b1(_mm512_set1_ps(c.beta1)), omb1(_mm512_set1_ps(c.one_minus_beta1)),
        b2(_mm512_set1_ps(c.beta2)), omb2(_mm512_set1_ps(c.one_minus_beta2)),
        step_size(_mm512_set1_ps(c.step_size)), inv_sqrt_bc2(_mm512_set1_ps(c.inv_sqrt_bc2)),
        eps(_mm512_set1_ps(c.eps)), wd(_mm512_set1_ps(c.weight_decay)),
        decay_factor(_mm512_set1_ps(c.decay_factor)) {}
};

template <Decay D>
FN_INLINE void adam_vec(__m512& p, __m512 g, __m512& m, __m512& v, const AdamVec& k) {
  if (D == Decay::L2) g = _mm512_fmadd_ps(k.wd, p, g);
  if (D == Decay::Decoupled) p = _mm512_mul_ps(p, k.decay_factor);
  m = _mm512_fmadd_ps(k.b1, m, _mm512_mul_ps(k.omb1, g));
  v = _mm512_fmadd_ps(k.b2, v, _mm512_mul_ps(_mm512_mul_ps(k.omb2, g), g));
  const __m512 denom = _mm512_fmadd_ps(_mm512_sqrt_ps(v), k.inv_sqrt_bc2, k.eps);
  p = _mm512_fnmadd_ps(k.step_size, _mm512_div_ps(m, denom), p);
}

template <Decay D>
void adam_range(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT m,
                float* FN_RESTRICT v, index_t n, const AdamCoeffs& c) {
  const AdamVec k(c);
  index_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 pv = _mm512_loadu_ps(p + i), mv = _mm512_loadu_ps(m + i), vv = _mm512_loadu_ps(v + i);
    adam_vec<D>(pv, _mm512_loadu_ps(g + i), mv, vv, k);
    _mm512_storeu_ps(p + i, pv);
    _mm512_storeu_ps(m + i, mv);
    _mm512_storeu_ps(v + i, vv);
  }
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    __m512 pv = _mm512_maskz_loadu_ps(mask, p + i), mv = _mm512_maskz_loadu_ps(mask, m + i),
           vv = _mm512_maskz_loadu_ps(mask, v + i);
    adam_vec<D>(pv, _mm512_maskz_loadu_ps(mask, g + i), mv, vv, k);
    _mm512_mask_storeu_ps(p + i, mask, pv);
    _mm512_mask_storeu_ps(m + i, mask, mv);
    _mm512_mask_storeu_ps(v + i, mask, vv);
  }
}

struct SgdVec {
  __m512 lr, momentum, wd;
  explicit SgdVec(const SgdCoeffs& c)
      : lr(_mm512_set1_ps(c.lr)), momentum(_mm512_set1_ps(c.momentum)),
        wd(_mm512_set1_ps(c.weight_decay)) {}
};

template <bool UseDecay, bool UseMomentum, bool Nesterov>
FN_INLINE void sgd_vec(__m512& p, __m512 g, __m512& vel, const SgdVec& k) {
  if (UseDecay) g = _mm512_fmadd_ps(k.wd, p, g);
  __m512 update = g;
  if (UseMomentum) {
    vel = _mm512_fmadd_ps(k.momentum, vel, g);
    update = Nesterov ? _mm512_fmadd_ps(k.momentum, vel, g) : vel;
  }
  p = _mm512_fnmadd_ps(k.lr, update, p);
}

template <bool UseDecay, bool UseMomentum, bool Nesterov>
void sgd_range(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT vel,
               index_t n, const SgdCoeffs& c) {
  const SgdVec k(c);
  index_t i = 0;
  __m512 velv = _mm512_setzero_ps();
  for (; i + 16 <= n; i += 16) {
    __m512 pv = _mm512_loadu_ps(p + i);
    if (UseMomentum) velv = _mm512_loadu_ps(vel + i);
    sgd_vec<UseDecay, UseMomentum, Nesterov>(pv, _mm512_loadu_ps(g + i), velv, k);
    _mm512_storeu_ps(p + i, pv);
    if (UseMomentum) _mm512_storeu_ps(vel + i, velv);
  }
  if (i < n) {
    const __mmask16 mask = tail_mask(n - i);
    __m512 pv = _mm512_maskz_loadu_ps(mask, p + i);
    if (UseMomentum) velv = _mm512_maskz_loadu_ps(mask, vel + i);
    sgd_vec<UseDecay, UseMomentum, Nesterov>(pv, _mm512_maskz_loadu_ps(mask, g + i), velv, k);
    _mm512_mask_storeu_ps(p + i, mask, pv);
    if (UseMomentum) _mm512_mask_storeu_ps(vel + i, mask, velv);
  }
}

}  // namespace

void adam_range_avx512(float* p, const float* g, float* m, float* v, index_t n,
                     const AdamCoeffs& c) {
  switch (c.decay) {
    case Decay::None: adam_range<Decay::None>(p, g, m, v, n, c); break;
    case Decay::L2: adam_range<Decay::L2>(p, g, m, v, n, c); break;
    case Decay::Decoupled: adam_range<Decay::Decoupled>(p, g, m, v, n, c); break;
  }
}

void sgd_range_avx512(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  if (!c.use_momentum) {
    if (c.use_decay) sgd_range<true, false, false>(p, g, vel, n, c);
    else sgd_range<false, false, false>(p, g, vel, n, c);
  } else if (c.nesterov) {
    if (c.use_decay) sgd_range<true, true, true>(p, g, vel, n, c);
    else sgd_range<false, true, true>(p, g, vel, n, c);
  } else {
    if (c.use_decay) sgd_range<true, true, false>(p, g, vel, n, c);
    else sgd_range<false, true, false>(p, g, vel, n, c);
  }
}

}  // namespace optim_detail
}  // namespace fusednet
