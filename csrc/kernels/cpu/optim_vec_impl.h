// Private to the optimizer ISA files (optim_avx2.cpp, optim_avx512.cpp): the vector range kernels,
// written once over a small vector-traits type `V` and instantiated by each file under its own
// compiler flags. Same math as optim_impl.h's per-element reference; what the vector form adds is
// explicit FMAs and a masked tail, so the sqrt + div per element keep up with memory and every
// element of a call runs the same instruction sequence.
//
// V provides: reg, mask, width, zero(), set1(x), load(p), store(p, r), tail(count) (the first
// count lanes, 0 <= count <= width), load_tail(p, m) (other lanes 0, their memory untouched),
// store_tail(p, m, r), fmadd(a, b, c) = a * b + c, fnmadd(a, b, c) = c - a * b, mul, div, sqrt.
#pragma once

#include "optim_impl.h"

namespace fusednet {
namespace optim_detail {

template <class V>
struct AdamVec {
  using reg = typename V::reg;
  reg b1, omb1, b2, omb2, step_size, inv_sqrt_bc2, eps, wd, decay_factor;
  explicit AdamVec(const AdamCoeffs& c)
      : b1(V::set1(c.beta1)), omb1(V::set1(c.one_minus_beta1)), b2(V::set1(c.beta2)),
        omb2(V::set1(c.one_minus_beta2)), step_size(V::set1(c.step_size)),
        inv_sqrt_bc2(V::set1(c.inv_sqrt_bc2)), eps(V::set1(c.eps)),
        wd(V::set1(c.weight_decay)), decay_factor(V::set1(c.decay_factor)) {}
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
    const typename V::mask t = V::tail(n - i);
    typename V::reg pv = V::load_tail(p + i, t), mv = V::load_tail(m + i, t),
                    vv = V::load_tail(v + i, t);
    adam_vec<V, D>(pv, V::load_tail(g + i, t), mv, vv, k);
    V::store_tail(p + i, t, pv);
    V::store_tail(m + i, t, mv);
    V::store_tail(v + i, t, vv);
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
    const typename V::mask t = V::tail(n - i);
    typename V::reg pv = V::load_tail(p + i, t);
    if (UseMomentum) velv = V::load_tail(vel + i, t);
    sgd_vec<V, UseDecay, UseMomentum, Nesterov>(pv, V::load_tail(g + i, t), velv, k);
    V::store_tail(p + i, t, pv);
    if (UseMomentum) V::store_tail(vel + i, t, velv);
  }
}

// The entry points: the decay mode and SGD variant picked once per call.
template <class V>
void adam_range_dispatch(float* p, const float* g, float* m, float* v, index_t n,
                         const AdamCoeffs& c) {
  switch (c.decay) {
    case Decay::None: adam_range_vec<V, Decay::None>(p, g, m, v, n, c); break;
    case Decay::L2: adam_range_vec<V, Decay::L2>(p, g, m, v, n, c); break;
    case Decay::Decoupled: adam_range_vec<V, Decay::Decoupled>(p, g, m, v, n, c); break;
  }
}

template <class V>
void sgd_range_dispatch(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  if (!c.use_momentum) {
    if (c.use_decay) sgd_range_vec<V, true, false, false>(p, g, vel, n, c);
    else sgd_range_vec<V, false, false, false>(p, g, vel, n, c);
  } else if (c.nesterov) {
    if (c.use_decay) sgd_range_vec<V, true, true, true>(p, g, vel, n, c);
    else sgd_range_vec<V, false, true, true>(p, g, vel, n, c);
  } else {
    if (c.use_decay) sgd_range_vec<V, true, true, false>(p, g, vel, n, c);
    else sgd_range_vec<V, false, true, false>(p, g, vel, n, c);
  }
}

}  // namespace optim_detail
}  // namespace fusednet
