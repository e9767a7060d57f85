// The one-column BCE on VecAvx512 (16 rows per vector): LossMath's element math, so each
// element's loss term and gradient have the AVX2 kernel's bits, and the same sum: 8 double lanes
// that are lane for lane VecAvx2's two accumulators of 4 (rows i mod 8), reduced the same way.
// Softmax rows of at most 16 classes: one 512-bit exp per row instead of two 256-bit ones, the
// max and the sums in AVX2's lanes and order (so the same bits). The rest are the AVX2 kernels.
#include <algorithm>
#include <limits>

#include "kernels/cpu/loss_kernels.h"
#include "kernels/cpu/loss_vec_math.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace loss {
namespace {

using V = VecAvx512;
using D = VecAvx512d;
using reg = V::reg;
using Math = LossMath<V>;

// acc += w_i L_i for `groups` groups of 8 rows in order (AVX2's one step per group).
FN_INLINE D::reg bce_column_sum(const float* loss, const float* w, index_t groups, D::reg acc) {
  for (index_t g = 0; g < groups; ++g) {
    const __m256 l = _mm256_loadu_ps(loss + 8 * g);
    const D::reg wv = w ? _mm512_cvtps_pd(_mm256_loadu_ps(w + 8 * g)) : D::set1(1.0);
    acc = D::fmadd(wv, _mm512_cvtps_pd(l), acc);
  }
  return acc;
}

double bce_column_avx512(const float* z, const float* t, const float* w, float* dz, index_t n,
                         double base) {
  constexpr index_t kBlock = 256;
  alignas(64) float loss[kBlock];
  const D::reg b = D::set1(base);
  D::reg acc = D::zero();
  index_t i = 0;
  while (n - i >= 16) {
    const index_t len = std::min(kBlock, (n - i) / 16 * 16);
    // Two vectors per step: each element is a long chain of dependent operations (exp, a
    // division, log), so two side by side keep the pipes busier than the reorder window does.
    index_t j = 0;
    for (; j + 32 <= len; j += 32) {
      Math::bce_column_terms<D>(z + i + j, t + i + j, w ? w + i + j : nullptr, dz + i + j, loss + j,
                                b);
      Math::bce_column_terms<D>(z + i + j + 16, t + i + j + 16, w ? w + i + j + 16 : nullptr,
                                dz + i + j + 16, loss + j + 16, b);
    }
    if (j < len)
      Math::bce_column_terms<D>(z + i + j, t + i + j, w ? w + i + j : nullptr, dz + i + j, loss + j,
                                b);
    acc = bce_column_sum(loss, w ? w + i : nullptr, len / 8, acc);
    i += len;
  }
  if (i < n) {  // the last rows padded with weight 0, in as many groups of 8 as AVX2 takes
    alignas(64) float zb[16] = {}, tb[16] = {}, wb[16] = {}, db[16];
    const index_t rest = n - i;
    for (index_t j = 0; j < rest; ++j) {
      zb[j] = z[i + j];
      tb[j] = t[i + j];
      wb[j] = w ? w[i + j] : 1.0f;
    }
    Math::bce_column_terms<D>(zb, tb, wb, db, loss, b);
    acc = bce_column_sum(loss, wb, (rest + 7) / 8, acc);
    for (index_t j = 0; j < rest; ++j) dz[i + j] = db[j];
  }
  return D::reduce_halves(acc);
}

using H = VecAvx2;  // a half: softmax's max and sums run in AVX2's lanes

FN_INLINE H::reg lower(reg v) { return _mm512_castps512_ps256(v); }
FN_INLINE H::reg upper(reg v) { return _mm512_extractf32x8_ps(v, 1); }

// softmax_exp_avx2's steps for cols <= 16 (its 16-wide step at 16 columns, else its masked
// steps of 8), with the exp of the whole row in one vector.
RowLse softmax_exp_short(const float* FN_RESTRICT z, float* FN_RESTRICT e, index_t cols) {
  const H::reg neg_inf = H::set1(-std::numeric_limits<float>::infinity());
  H::reg mx0 = neg_inf, mx1 = neg_inf;
  if (cols == 16) {
    mx0 = H::max(mx0, H::load(z));
    mx1 = H::max(mx1, H::load(z + 8));
  } else {
    index_t j = 0;
    if (cols >= 8) mx0 = H::max(mx0, H::load(z)), j = 8;
    if (j < cols) {
      const H::mask live = H::first_n(cols - j);
      mx0 = H::max(mx0, H::select(live, H::masked_load(z + j, live), neg_inf));
    }
  }
  const float mx = H::reduce_max(H::max(mx0, mx1));
  const V::mask row = V::first_n(cols);
  const reg x = V::masked_load(z, row);
  const reg ex = Math::exp_v(V::sub(x, V::set1(mx)));
  V::masked_store(e, row, ex);
  const H::reg m = H::set1(mx), one = H::set1(1.0f);
  H::reg others0 = H::zero(), others1 = others0, ties0 = others0, ties1 = others0;
  if (cols == 16) {
    const H::mask tie0 = H::eq(lower(x), m), tie1 = H::eq(upper(x), m);
    others0 = H::add(others0, H::if_then_zero_else(tie0, lower(ex)));
    others1 = H::add(others1, H::if_then_zero_else(tie1, upper(ex)));
    ties0 = H::add(ties0, H::if_then_else_zero(tie0, one));
    ties1 = H::add(ties1, H::if_then_else_zero(tie1, one));
  } else {
    for (index_t j = 0; j < cols; j += 8) {
      const H::mask live = H::first_n(cols - j < 8 ? cols - j : 8);
      const H::reg xh = j ? upper(x) : lower(x), eh = j ? upper(ex) : lower(ex);
      const H::mask tie = H::mask_and(H::eq(xh, m), live);
      others0 = H::add(others0, H::if_then_else_zero(live, H::if_then_zero_else(tie, eh)));
      ties0 = H::add(ties0, H::if_then_else_zero(tie, one));
    }
  }
  const float ties = H::reduce_sum(H::add(ties0, ties1));
  const float others = H::reduce_sum(H::add(others0, others1));
  return {mx, ties + others, (ties - 1.0f) + others};
}

RowLse softmax_exp_avx512(const float* FN_RESTRICT z, float* FN_RESTRICT e, index_t cols) {
  return cols <= 16 ? softmax_exp_short(z, e, cols) : loss_kernels_avx2().softmax_exp(z, e, cols);
}

void scale_avx512(float* x, index_t cols, float s) {
  if (cols > 16) return loss_kernels_avx2().scale(x, cols, s);
  const V::mask row = V::first_n(cols);
  V::masked_store(x, row, V::mul(V::masked_load(x, row), V::set1(s)));
}

}  // namespace
}  // namespace loss
}  // namespace FN_SIMD_NS

const LossKernels& loss_kernels_avx512() {
  const LossKernels& avx2 = loss_kernels_avx2();
  static const LossKernels k{FN_SIMD_NS::loss::softmax_exp_avx512, FN_SIMD_NS::loss::scale_avx512,
                             avx2.bce, FN_SIMD_NS::loss::bce_column_avx512};
  return k;
}

}  // namespace fusednet
