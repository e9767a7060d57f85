// Private to the dense-gradient family: the narrow kernel over a vector type V (dense_grad_avx2.cpp
// and dense_grad_avx512.cpp instantiate it). A vector holds R = width / dw whole rows of the wider
// operand d, lane (q, c) = d[r + q, c]; the narrower operand's rows are spread to the lanes by one
// permute per column e, so each vector is dw * ow products of R rows, every lane in its own phase
// accumulator (vector u of a 16-row block holds phases u * R .. u * R + R - 1).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/dense_grad_kernels.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace dense_grad {

// act'(y) from the output y, lane for lane actmath::derivative_from_output.
template <class V, Activation A>
FN_INLINE typename V::reg from_output_derivative(typename V::reg y, typename V::reg slope) {
  using reg = typename V::reg;
  const reg zero = V::zero(), one = V::set1(1.0f);
  if constexpr (A == Activation::ReLU) {
    return V::select(V::lt(zero, y), one, V::select(V::ge(zero, y), zero, y));
  } else if constexpr (A == Activation::LeakyReLU) {
    return V::select(V::lt(zero, y), one, V::select(V::ge(zero, y), slope, y));
  } else if constexpr (A == Activation::Sigmoid) {
    return V::mul(y, V::sub(one, y));
  } else {
    static_assert(A == Activation::Tanh, "the from-output activations");
    return V::mul(V::sub(one, y), V::add(one, y));
  }
}

// What stays in registers over the pass.
template <class V, int Dw, int Ow>
struct Pass {
  using reg = typename V::reg;
  static constexpr int W = V::width, R = W / Dw, U = kDenseGradPhases / R;
  static_assert(R >= 1 && U * R == kDenseGradPhases, "whole rows per vector, 16 phases");
  typename V::index spread[Ow];  // per e: lane (q, c) <- o[r + q, e]
  reg wrep[Ow];  // per e: lane (q, c) = w[c, e]
  reg slope;
  reg acc[U][Ow];
};

// Vector u of the block at row b. Tail: the rows may end inside it (lanes past the last row
// load as 0 and add +0 to their phase, which never changes a phase sum: an FMA chain from +0
// is never -0), and o's vector may reach past the end of o.
template <class V, int Dw, int Ow, bool WithDx, Activation A, bool Tail>
FN_INLINE void step(Pass<V, Dw, Ow>& s, int u, index_t b, const float* d, const float* o,
                    index_t rows, float* dx) {
  using P = Pass<V, Dw, Ow>;
  using reg = typename V::reg;
  const index_t r0 = b + u * P::R;
  const index_t left = rows - r0;
  const bool whole = !Tail || left >= P::R;
  const reg dv = whole ? V::load(d + r0 * Dw) : V::masked_load(d + r0 * Dw, V::first_n(left * Dw));
  const float* op = o + r0 * Ow;
  const reg ov = !Tail || r0 * Ow + P::W <= rows * Ow
                     ? V::load(op)
                     : V::masked_load(op, V::first_n(std::min<index_t>(left, P::R) * Ow));
  reg g = V::zero();
  FN_UNROLL for (int e = 0; e < Ow; ++e) {
    const reg oe = V::permute(ov, s.spread[e]);
    s.acc[u][e] = V::fmadd(dv, oe, s.acc[u][e]);
    if constexpr (WithDx) g = V::fmadd(oe, s.wrep[e], g);
  }
  if constexpr (WithDx) {
    if constexpr (A != Activation::Linear) g = V::mul(g, from_output_derivative<V, A>(dv, s.slope));
    float* xp = dx + r0 * Dw;
    if (whole) V::store(xp, g);
    else V::store_first(xp, g, left * Dw);
  }
}

template <class V, int Dw, int Ow, bool WithDx, Activation A>
void phase_sums(const float* d, const float* o, index_t rows, const float* w, float* dx,
                float act_param, float* sums) {
  using P = Pass<V, Dw, Ow>;
  constexpr int W = P::W, R = P::R, U = P::U;
  P s;
  alignas(64) std::int32_t lane_src[W];
  alignas(64) float lane_w[W];
  for (int e = 0; e < Ow; ++e) {
    for (int l = 0; l < W; ++l) {
      lane_src[l] = (l / Dw) * Ow + e;
      lane_w[l] = WithDx ? w[(l % Dw) * Ow + e] : 0.0f;
    }
    s.spread[e] = V::load_index(lane_src);
    s.wrep[e] = V::load(lane_w);
  }
  s.slope = V::set1(act_param);
  FN_UNROLL for (int u = 0; u < U; ++u) FN_UNROLL for (int e = 0; e < Ow; ++e) s.acc[u][e] =
      V::zero();
  // Whole blocks whose last vector of o stays inside o, then the rest.
  index_t b = 0;
  for (; b + kDenseGradPhases <= rows && (b + kDenseGradPhases - R) * Ow + W <= rows * Ow;
       b += kDenseGradPhases)
    FN_UNROLL for (int u = 0; u < U; ++u) step<V, Dw, Ow, WithDx, A, false>(s, u, b, d, o, rows, dx);
  for (; b < rows; b += kDenseGradPhases)
    for (int u = 0; u < U && b + u * R < rows; ++u)
      step<V, Dw, Ow, WithDx, A, true>(s, u, b, d, o, rows, dx);
  alignas(64) float lanes[W];
  for (int u = 0; u < U; ++u)
    for (int e = 0; e < Ow; ++e) {
      V::store(lanes, s.acc[u][e]);
      for (int l = 0; l < W; ++l) sums[((u * R + l / Dw) * Dw + l % Dw) * Ow + e] = lanes[l];
    }
}

template <class V, int Dw, int Ow>
void narrow_shape(const float* d, const float* o, index_t rows, const float* w, float* dx,
                  Activation act, float act_param, float* sums) {
  if (!dx) return phase_sums<V, Dw, Ow, false, Activation::Linear>(d, o, rows, w, dx, act_param, sums);
  switch (act) {
    case Activation::ReLU:
      return phase_sums<V, Dw, Ow, true, Activation::ReLU>(d, o, rows, w, dx, act_param, sums);
    case Activation::LeakyReLU:
      return phase_sums<V, Dw, Ow, true, Activation::LeakyReLU>(d, o, rows, w, dx, act_param, sums);
    case Activation::Sigmoid:
      return phase_sums<V, Dw, Ow, true, Activation::Sigmoid>(d, o, rows, w, dx, act_param, sums);
    case Activation::Tanh:
      return phase_sums<V, Dw, Ow, true, Activation::Tanh>(d, o, rows, w, dx, act_param, sums);
    default:  // Linear (the driver passes only these)
      return phase_sums<V, Dw, Ow, true, Activation::Linear>(d, o, rows, w, dx, act_param, sums);
  }
}

template <class V>
void narrow(const float* d, const float* o, index_t rows, int dw, int ow, const float* w,
            float* dx, Activation act, float act_param, float* sums) {
  using F = void (*)(const float*, const float*, index_t, const float*, float*, Activation, float,
                     float*);
  // [log2 dw][ow - 1]: the shapes with dw * ow <= 16
  static constexpr F kShapes[4][4] = {
      {&narrow_shape<V, 1, 1>},
      {&narrow_shape<V, 2, 1>, &narrow_shape<V, 2, 2>},
      {&narrow_shape<V, 4, 1>, &narrow_shape<V, 4, 2>, &narrow_shape<V, 4, 3>,
       &narrow_shape<V, 4, 4>},
      {&narrow_shape<V, 8, 1>, &narrow_shape<V, 8, 2>},
  };
  const int log2_dw = dw == 1 ? 0 : dw == 2 ? 1 : dw == 4 ? 2 : 3;
  kShapes[log2_dw][ow - 1](d, o, rows, w, dx, act, act_param, sums);
}

}  // namespace dense_grad
}  // namespace FN_SIMD_NS
}  // namespace fusednet
