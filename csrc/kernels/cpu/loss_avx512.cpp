// The one-column BCE on VecAvx512 (16 rows per vector): LossMath's element math, so each
// element's loss term and gradient have the AVX2 kernel's bits, and the same sum: 8 double lanes
// that are lane for lane VecAvx2's two accumulators of 4 (rows i mod 8), reduced the same way.
// The other loss kernels are the AVX2 ones (their sums follow the vector width).
#include <algorithm>

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

}  // namespace
}  // namespace loss
}  // namespace FN_SIMD_NS

const LossKernels& loss_kernels_avx512() {
  const LossKernels& avx2 = loss_kernels_avx2();
  static const LossKernels k{avx2.softmax_exp, avx2.scale, avx2.bce,
                             FN_SIMD_NS::loss::bce_column_avx512};
  return k;
}

}  // namespace fusednet
