// Private to the optimizer family: the vector range kernels, written once over simd.h's
// vocabulary and instantiated by optim_avx2.cpp (VecAvx2) and optim_avx512.cpp (VecAvx512) under
// their own compiler flags. The arithmetic is math/optim.h's adam_update / sgd_update spelled in
// vector operations with explicit FMAs, so the sqrt + div per element keep up with memory; tails
// go through masked loads and stores, so every element of a call runs the same instructions.
#pragma once

#include "kernels/cpu/optim_kernels.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace optim {

using optmath::AdamCoeffs;
using optmath::Decay;
using optmath::SgdCoeffs;

template <class V>
struct AdamVec {
  using reg = typename V::reg;
  reg b1, omb1, b2, omb2, step_size, inv_sqrt_bc2, eps, wd, decay_factor;
  explicit AdamVec(const AdamCoeffs& c)
      : b1(V::set1(c.beta1)), omb1(V::set1(c.one_minus_beta1)), b2(V::set1(c.beta2)),
        omb2(V::set1(c.one_minus_beta2)), step_size(V::set1(c.step_size)),
        inv_sqrt_bc2(V::set1(c.inv_sqrt_bc2)), eps(V::set1(c.eps)), wd(V::set1(c.weight_decay)),
        decay_factor(V::set1(c.decay_factor)) {}
};

template <class V, Decay D>
FN_INLINE void adam_vec(typename V::reg& p, typename V::reg g, typename V::reg& m,
                        typename V::reg& v, const AdamVec<V>& k) {
  if (D == Decay::L2) g = V::fmadd(k.wd, p, g);
  if (D == Decay::Decoupled) p = V::mul(p, k.decay_factor);
  m = V::fmadd(k.b1, m, V::mul(k.omb1, g));
  v = V::fmadd(k.b2, v, V::mul(V::mul(k.omb2, g), g));
  const typename V::reg denom = V::fmadd(V::sqrt(v), k.inv_sqrt_bc2, k.eps);
  p = V::fnmadd(k.step_size, V::div(m, denom), p);
}

template <class V, Decay D>
void adam_range_vec(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT m,
                    float* FN_RESTRICT v, index_t n, const AdamCoeffs& c) {
  constexpr index_t W = V::width;
  const AdamVec<V> k(c);
  index_t i = 0;
  for (; i + W <= n; i += W) {
    typename V::reg pv = V::load(p + i), mv = V::load(m + i), vv = V::load(v + i);
    adam_vec<V, D>(pv, V::load(g + i), mv, vv, k);
    V::store(p + i, pv);
    V::store(m + i, mv);
    V::store(v + i, vv);
  }
  if (i < n) {
    const typename V::mask t = V::first_n(n - i);
    typename V::reg pv = V::masked_load(p + i, t), mv = V::masked_load(m + i, t),
                    vv = V::masked_load(v + i, t);
    adam_vec<V, D>(pv, V::masked_load(g + i, t), mv, vv, k);
    V::masked_store(p + i, t, pv);
    V::masked_store(m + i, t, mv);
    V::masked_store(v + i, t, vv);
  }
}

template <class V>
struct SgdVec {
  typename V::reg lr, momentum, wd;
  explicit SgdVec(const SgdCoeffs& c)
      : lr(V::set1(c.lr)), momentum(V::set1(c.momentum)), wd(V::set1(c.weight_decay)) {}
};

template <class V, bool UseDecay, bool UseMomentum, bool Nesterov>
FN_INLINE void sgd_vec(typename V::reg& p, typename V::reg g, typename V::reg& vel,
                       const SgdVec<V>& k) {
  if (UseDecay) g = V::fmadd(k.wd, p, g);
  typename V::reg update = g;
  if (UseMomentum) {
    vel = V::fmadd(k.momentum, vel, g);
    update = Nesterov ? V::fmadd(k.momentum, vel, g) : vel;
  }
  p = V::fnmadd(k.lr, update, p);
}

template <class V, bool UseDecay, bool UseMomentum, bool Nesterov>
void sgd_range_vec(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT vel,
                   index_t n, const SgdCoeffs& c) {
  constexpr index_t W = V::width;
  const SgdVec<V> k(c);
  index_t i = 0;
  typename V::reg velv = V::zero();
  for (; i + W <= n; i += W) {
    typename V::reg pv = V::load(p + i);
    if (UseMomentum) velv = V::load(vel + i);
    sgd_vec<V, UseDecay, UseMomentum, Nesterov>(pv, V::load(g + i), velv, k);
    V::store(p + i, pv);
    if (UseMomentum) V::store(vel + i, velv);
  }
  if (i < n) {
    const typename V::mask t = V::first_n(n - i);
    typename V::reg pv = V::masked_load(p + i, t);
    if (UseMomentum) velv = V::masked_load(vel + i, t);
    sgd_vec<V, UseDecay, UseMomentum, Nesterov>(pv, V::masked_load(g + i, t), velv, k);
    V::masked_store(p + i, t, pv);
    if (UseMomentum) V::masked_store(vel + i, t, velv);
  }
}

// The registered entry points: the decay mode and the SGD variant picked once per call.
template <class V>
void adam_range(float* p, const float* g, float* m, float* v, index_t n, const AdamCoeffs& c) {
  optmath::with_decay(c.decay, [&](auto D) { adam_range_vec<V, D.value>(p, g, m, v, n, c); });
}

template <class V>
void sgd_range(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  with_sgd_variant(c, [&](auto decay, auto momentum, auto nesterov) {
    sgd_range_vec<V, decay.value, momentum.value, nesterov.value>(p, g, vel, n, c);
  });
}

// The rule kernel: rule_update's scalar form in a loop, vectorized by the compiler under this
// file's ISA flags (the rules' branches on constants fold away per instantiation).
template <optmath::Rule R>
void rule_range_loop(const optmath::RuleCoeffs& c, float* FN_RESTRICT p, const float* FN_RESTRICT g,
                     float* FN_RESTRICT s0, float* FN_RESTRICT s1, float* FN_RESTRICT s2,
                     index_t n) {
  for (index_t i = 0; i < n; ++i) optmath::rule_update<R>(p, g, s0, s1, s2, i, c);
}

inline void rule_range(const optmath::RuleCoeffs& c, float* p, const float* g, float* s0, float* s1,
                       float* s2, index_t n) {
  optmath::with_rule(c.rule, [&](auto R) { rule_range_loop<R.value>(c, p, g, s0, s1, s2, n); });
}

template <class V>
const OptimKernels& table() {
  static const OptimKernels k{&adam_range<V>, &sgd_range<V>, &rule_range};
  return k;
}

}  // namespace optim
}  // namespace FN_SIMD_NS
}  // namespace fusednet
