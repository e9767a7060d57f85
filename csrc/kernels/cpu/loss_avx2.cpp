// Per-row loss pieces on simd.h's VecAvx2 (AVX2 + FMA; AVX-512 machines run them too): the same
// math as the reference rows in loss.cpp (see its header); what this adds is a vector exp / log
// (Cephes-style polynomials, ~1-2 ulp), so the transcendental calls stop dominating softmax
// cross-entropy and BCE, and masked tails, so every element of a row runs the same instructions.
#include <algorithm>
#include <limits>

#include "kernels/cpu/loss_kernels.h"
#include "kernels/cpu/loss_vec_math.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace loss {
namespace {

using V = VecAvx2;
using D = VecAvx2d;
using reg = V::reg;
using mask = V::mask;

using Math = LossMath<V>;
FN_INLINE reg exp_v(reg x) { return Math::exp_v(x); }
FN_INLINE reg bce_vec(reg z, reg t, reg coef, reg* dz) { return Math::bce_vec(z, t, coef, dz); }

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

// Adds w_i L_i (in double) to two accumulators of 4 lanes, 8 rows at a time (n a multiple of 8).
FN_INLINE void bce_column_sum(const float* loss, const float* w, index_t n, D::reg& acc_lo,
                              D::reg& acc_hi) {
  for (index_t i = 0; i < n; i += 8) {
    D::reg w_lo = D::set1(1.0), w_hi = w_lo;
    if (w) {
      const reg wv = V::load(w + i);
      w_lo = V::promote_lo(wv);
      w_hi = V::promote_hi(wv);
    }
    const reg l = V::load(loss + i);
    acc_lo = D::fmadd(w_lo, V::promote_lo(l), acc_lo);
    acc_hi = D::fmadd(w_hi, V::promote_hi(l), acc_hi);
  }
}

// Blocks of rows: the loss terms first (independent rows, no register kept across them), then
// their sum in row order (two short FMA chains): one loop doing both ran out of registers and
// kept an accumulator in memory.
double bce_column_avx2(const float* z, const float* t, const float* w, float* dz, index_t n,
                       double base) {
  constexpr index_t kBlock = 256;
  alignas(32) float loss[kBlock];
  const D::reg b = D::set1(base);
  D::reg acc_lo = D::zero(), acc_hi = D::zero();
  index_t i = 0;
  for (; i + 8 <= n;) {
    const index_t len = std::min(kBlock, (n - i) / 8 * 8);
    for (index_t j = 0; j < len; j += 8)
      Math::bce_column_terms<D>(z + i + j, t + i + j, w ? w + i + j : nullptr, dz + i + j, loss + j,
                                b);
    bce_column_sum(loss, w ? w + i : nullptr, len, acc_lo, acc_hi);
    i += len;
  }
  if (i < n) {  // the same vector code on a copy of the last rows, padded with weight 0
    float zb[8] = {}, tb[8] = {}, wb[8] = {}, db[8];
    const index_t rest = n - i;
    for (index_t j = 0; j < rest; ++j) {
      zb[j] = z[i + j];
      tb[j] = t[i + j];
      wb[j] = w ? w[i + j] : 1.0f;
    }
    Math::bce_column_terms<D>(zb, tb, wb, db, loss, b);
    bce_column_sum(loss, wb, 8, acc_lo, acc_hi);
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
