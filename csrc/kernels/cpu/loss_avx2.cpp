// Per-row loss pieces on simd.h's VecAvx2 (AVX2 + FMA; AVX-512 machines run them too): the same
// math as the reference rows in loss.cpp (see its header); what this adds is a vector exp / log
// (Cephes-style polynomials, ~1-2 ulp), so the transcendental calls stop dominating softmax
// cross-entropy and BCE, and masked tails, so every element of a row runs the same instructions.
#include <limits>

#include "kernels/cpu/loss_kernels.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace loss {
namespace {

using V = VecAvx2;
using D = VecAvx2d;
using reg = V::reg;
using mask = V::mask;

// exp(x): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n through the exponent
// bits. Below -87.33 (where the result would be denormal) it returns 0; NaN stays NaN.
FN_INLINE reg exp_v(reg x) {
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
FN_INLINE reg log_1to2(reg u) {
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
FN_INLINE reg log1p_01(reg e, reg u, reg inv_u) {
  const reg lost = V::sub(e, V::sub(u, V::set1(1.0f)));
  return V::fmadd(lost, inv_u, log_1to2(u));
}

RowLse softmax_exp_avx2(const float* FN_RESTRICT z, float* FN_RESTRICT e, index_t cols) {
  const reg neg_inf = V::set1(-std::numeric_limits<float>::infinity());
  reg mx0 = neg_inf, mx1 = neg_inf;
  index_t j = 0;
  for (; j + 16 <= cols; j += 16) {
    mx0 = V::max(mx0, V::load(z + j));
    mx1 = V::max(mx1, V::load(z + j + 8));
  }
  for (; j + 8 <= cols; j += 8) mx0 = V::max(mx0, V::load(z + j));
  if (j < cols) {
    const mask live = V::first_n(cols - j);
    mx0 = V::max(mx0, V::select(live, V::masked_load(z + j, live), neg_inf));
  }
  const float mx = V::reduce_max(V::max(mx0, mx1));
  const reg m = V::set1(mx), one = V::set1(1.0f);
  // others: sum of the terms with z_j != max (NaN included); ties: count of z_j == max (exp = 1)
  reg others0 = V::zero(), others1 = others0, ties0 = others0, ties1 = others0;
  j = 0;
  for (; j + 16 <= cols; j += 16) {
    const reg x0 = V::load(z + j), x1 = V::load(z + j + 8);
    const reg e0 = exp_v(V::sub(x0, m)), e1 = exp_v(V::sub(x1, m));
    V::store(e + j, e0);
    V::store(e + j + 8, e1);
    const mask tie0 = V::eq(x0, m), tie1 = V::eq(x1, m);
    others0 = V::add(others0, V::if_then_zero_else(tie0, e0));
    others1 = V::add(others1, V::if_then_zero_else(tie1, e1));
    ties0 = V::add(ties0, V::if_then_else_zero(tie0, one));
    ties1 = V::add(ties1, V::if_then_else_zero(tie1, one));
  }
  for (; j < cols; j += 8) {
    const mask live = V::first_n(cols - j < 8 ? cols - j : 8);
    const reg x0 = V::masked_load(z + j, live);
    const reg e0 = exp_v(V::sub(x0, m));
    V::masked_store(e + j, live, e0);
    const mask tie0 = V::mask_and(V::eq(x0, m), live);
    others0 = V::add(others0, V::if_then_else_zero(live, V::if_then_zero_else(tie0, e0)));
    ties0 = V::add(ties0, V::if_then_else_zero(tie0, one));
  }
  const float ties = V::reduce_sum(V::add(ties0, ties1));
  const float others = V::reduce_sum(V::add(others0, others1));
  return {mx, ties + others, (ties - 1.0f) + others};
}

void scale_avx2(float* x, index_t cols, float s) {
  const reg sv = V::set1(s);
  index_t j = 0;
  for (; j + 8 <= cols; j += 8) V::store(x + j, V::mul(V::load(x + j), sv));
  if (j < cols) {
    const mask live = V::first_n(cols - j);
    V::masked_store(x + j, live, V::mul(V::masked_load(x + j, live), sv));
  }
}

// 8 elements of BCE: returns the loss terms max(z,0) - t z + log1p(exp(-|z|)) and the gradient.
// One division: 1 / (1 + e) serves the sigmoid and the log1p correction.
FN_INLINE reg bce_vec(reg z, reg t, reg coef, reg* dz) {
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

FN_INLINE D::reg widen_sum(D::reg acc, reg x) {  // acc += both halves of x, in double
  acc = D::add(acc, V::promote_lo(x));
  return D::add(acc, V::promote_hi(x));
}

double bce_avx2(const float* FN_RESTRICT z, const float* FN_RESTRICT t, float* FN_RESTRICT dz,
                index_t cols, float coef) {
  const reg c = V::set1(coef);
  D::reg acc = D::zero();
  index_t j = 0;
  for (; j + 8 <= cols; j += 8) {
    reg d;
    acc = widen_sum(acc, bce_vec(V::load(z + j), V::load(t + j), c, &d));
    V::store(dz + j, d);
  }
  if (j < cols) {
    const mask live = V::first_n(cols - j);
    reg d;
    const reg l = bce_vec(V::masked_load(z + j, live), V::masked_load(t + j, live), c, &d);
    acc = widen_sum(acc, V::if_then_else_zero(live, l));
    V::masked_store(dz + j, live, d);
  }
  return D::reduce_sum(acc);
}

// 8 rows of the one-column case: per-lane coefficient float(base w_i); adds w_i L_i (in double)
// to the two accumulators.
FN_INLINE void bce_column_vec(const float* z, const float* t, const float* w, float* dz,
                              D::reg base, D::reg& acc_lo, D::reg& acc_hi) {
  D::reg w_lo = D::set1(1.0), w_hi = w_lo;
  if (w) {
    const reg wv = V::load(w);
    w_lo = V::promote_lo(wv);
    w_hi = V::promote_hi(wv);
  }
  const reg coef = V::combine(D::demote(D::mul(base, w_hi)), D::demote(D::mul(base, w_lo)));
  reg d;
  const reg l = bce_vec(V::load(z), V::load(t), coef, &d);
  V::store(dz, d);
  acc_lo = D::fmadd(w_lo, V::promote_lo(l), acc_lo);
  acc_hi = D::fmadd(w_hi, V::promote_hi(l), acc_hi);
}

double bce_column_avx2(const float* z, const float* t, const float* w, float* dz, index_t n,
                       double base) {
  const D::reg b = D::set1(base);
  D::reg acc_lo = D::zero(), acc_hi = D::zero();
  index_t i = 0;
  for (; i + 8 <= n; i += 8)
    bce_column_vec(z + i, t + i, w ? w + i : nullptr, dz + i, b, acc_lo, acc_hi);
  if (i < n) {  // the same vector code on a copy of the last rows, padded with weight 0
    float zb[8] = {}, tb[8] = {}, wb[8] = {}, db[8];
    const index_t rest = n - i;
    for (index_t j = 0; j < rest; ++j) {
      zb[j] = z[i + j];
      tb[j] = t[i + j];
      wb[j] = w ? w[i + j] : 1.0f;
    }
    bce_column_vec(zb, tb, wb, db, b, acc_lo, acc_hi);
    for (index_t j = 0; j < rest; ++j) dz[i + j] = db[j];
  }
  return D::reduce_sum(D::add(acc_lo, acc_hi));
}

}  // namespace
}  // namespace loss
}  // namespace FN_SIMD_NS

const LossKernels& loss_kernels_avx2() {
  using namespace FN_SIMD_NS::loss;
  static const LossKernels k{softmax_exp_avx2, scale_avx2, bce_avx2, bce_column_avx2};
  return k;
}

}  // namespace fusednet
