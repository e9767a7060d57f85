// The vector math of the loss kernels (exp, log on [1, 2], log1p on [0, 1], one BCE element), one
// source for every vector width: each lane runs the same operations in the same order, so an
// element's bits do not depend on the ISA that computes it (loss_avx2.cpp, loss_avx512.cpp).
#pragma once

#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace loss {

template <class V>
struct LossMath {
  using reg = typename V::reg;
  using mask = typename V::mask;

  // exp(x): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n through the exponent
  // bits. Below -87.33 (where the result would be denormal) it returns 0; NaN stays NaN.
  static FN_INLINE reg exp_v(reg x) {
    const reg hi = V::set1(88.3762626647949f);
    const reg lo = V::set1(-87.3365447505531f);
    const mask underflow = V::lt(x, lo);
    x = V::min(hi, x);  // operand order keeps NaN
    x = V::max(lo, x);
    const reg n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
    reg r = V::fnmadd(n, V::set1(0.693359375f), x);
    r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
    reg y = V::set1(1.9875691500e-4f);
    y = V::fmadd(y, r, V::set1(1.3981999507e-3f));
    y = V::fmadd(y, r, V::set1(8.3334519073e-3f));
    y = V::fmadd(y, r, V::set1(4.1665795894e-2f));
    y = V::fmadd(y, r, V::set1(1.6666665459e-1f));
    y = V::fmadd(y, r, V::set1(5.0000001201e-1f));
    y = V::fmadd(y, V::mul(r, r), V::add(r, V::set1(1.0f)));
    y = V::mul(y, V::pow2i(n));
    return V::if_then_zero_else(underflow, y);
  }

  // log(u) for u in [1, 2] (all BCE needs): u = 2^e m with m in [sqrt(1/2), sqrt 2), then the
  // Cephes logf polynomial in m - 1.
  static FN_INLINE reg log_1to2(reg u) {
    const reg one = V::set1(1.0f);
    const mask big = V::ge(u, V::set1(1.41421356237f));
    const reg e = V::if_then_else_zero(big, one);                           // 0 or 1
    const reg x = V::sub(V::select(big, V::mul(u, V::set1(0.5f)), u), one);  // in [-0.29, 0.42)
    const reg z = V::mul(x, x);
    reg y = V::set1(7.0376836292e-2f);
    y = V::fmadd(y, x, V::set1(-1.1514610310e-1f));
    y = V::fmadd(y, x, V::set1(1.1676998740e-1f));
    y = V::fmadd(y, x, V::set1(-1.2420140846e-1f));
    y = V::fmadd(y, x, V::set1(1.4249322787e-1f));
    y = V::fmadd(y, x, V::set1(-1.6668057665e-1f));
    y = V::fmadd(y, x, V::set1(2.0000714765e-1f));
    y = V::fmadd(y, x, V::set1(-2.4999993993e-1f));
    y = V::fmadd(y, x, V::set1(3.3333331174e-1f));
    y = V::mul(V::mul(y, x), z);
    y = V::fmadd(e, V::set1(-2.12194440e-4f), y);
    y = V::fnmadd(V::set1(0.5f), z, y);
    return V::fmadd(e, V::set1(0.693359375f), V::add(x, y));
  }

  // log1p(e) for e in [0, 1], given u = 1 + e (rounded) and inv_u = 1 / u: log(u) plus the first-
  // order correction (e - (u - 1)) / u for the rounding of 1 + e; where 1 + e rounds to 1 this is e.
  static FN_INLINE reg log1p_01(reg e, reg u, reg inv_u) {
    const reg lost = V::sub(e, V::sub(u, V::set1(1.0f)));
    return V::fmadd(lost, inv_u, log_1to2(u));
  }

  // 8 elements of BCE: returns the loss terms max(z,0) - t z + log1p(exp(-|z|)) and the gradient.
  // One division: 1 / (1 + e) serves the sigmoid and the log1p correction.
  static FN_INLINE reg bce_vec(reg z, reg t, reg coef, reg* dz) {
    const reg zero = V::zero();
    const reg e = exp_v(V::sub(zero, V::abs(z)));  // in (0, 1]
    const reg u = V::add(V::set1(1.0f), e);
    const reg r = V::div(V::set1(1.0f), u);
    // sigmoid(z) - t, as (1 - t) - sigmoid(-z) for z >= 0 (see bce_row_generic in loss.cpp)
    const reg small = V::mul(e, r);  // sigmoid(-|z|)
    const reg pos = V::sub(V::sub(V::set1(1.0f), t), small);
    const mask nonneg = V::ge(z, zero);  // first: the order decides GCC's FMA fusion (simd.h)
    const reg diff = V::select(nonneg, pos, V::sub(small, t));
    *dz = V::mul(coef, diff);
    const reg linear = V::fnmadd(t, z, V::max(z, zero));
    return V::add(linear, log1p_01(e, u, r));
  }

  // Rows of the one-column BCE, a vector of them: coefficient float(base w_i) per lane (D: the
  // double vector of half as many lanes, w == nullptr: all ones); stores the loss terms and the
  // gradient.
  template <class D>
  static FN_INLINE void bce_column_terms(const float* z, const float* t, const float* w, float* dz,
                                         float* loss, typename D::reg base) {
    typename D::reg w_lo = D::set1(1.0), w_hi = w_lo;
    if (w) {
      const reg wv = V::load(w);
      w_lo = V::promote_lo(wv);
      w_hi = V::promote_hi(wv);
    }
    const reg coef = V::combine(D::demote(D::mul(base, w_hi)), D::demote(D::mul(base, w_lo)));
    reg d;
    V::store(loss, bce_vec(V::load(z), V::load(t), coef, &d));
    V::store(dz, d);
  }
};

}  // namespace loss
}  // namespace FN_SIMD_NS
}  // namespace fusednet
