// Per-row loss pieces, AVX2 + FMA: the same math as the reference rows in loss.cpp (see its
// header); what this adds is a vector exp / log (Cephes-style polynomials, ~1-2 ulp), so the
// transcendental calls stop dominating softmax cross-entropy and BCE, and masked tails, so every
// element of a row runs the same instruction sequence.
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "loss_impl.h"

namespace fusednet {
namespace loss_detail {
namespace {

FN_INLINE __m256i tail_mask(index_t count) {  // lanes [0, count) set, count in [0, 8]
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

FN_INLINE float hmax(__m256 v) {
  __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_max_ps(x, _mm_movehl_ps(x, x));
  x = _mm_max_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

FN_INLINE float hsum(__m256 v) {  // fixed pairwise order
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

FN_INLINE double hsum(__m256d v) {
  __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
  return _mm_cvtsd_f64(x);
}

// exp(x): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-6 polynomial, 2^n through the exponent
// bits. Below -87.33 (where the result would be denormal) it returns 0; NaN stays NaN.
FN_INLINE __m256 exp_avx2(__m256 x) {
  const __m256 hi = _mm256_set1_ps(88.3762626647949f);
  const __m256 lo = _mm256_set1_ps(-87.3365447505531f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(hi, x);  // operand order keeps NaN
  x = _mm256_max_ps(lo, x);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
  return _mm256_andnot_ps(underflow, y);
}

// log(u) for u in [1, 2] (all BCE needs): u = 2^e m with m in [sqrt(1/2), sqrt 2), then the
// Cephes logf polynomial in m - 1.
FN_INLINE __m256 log_1to2_avx2(__m256 u) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 big = _mm256_cmp_ps(u, _mm256_set1_ps(1.41421356237f), _CMP_GE_OQ);
  const __m256 e = _mm256_and_ps(big, one);                               // 0 or 1
  const __m256 x = _mm256_sub_ps(_mm256_blendv_ps(u, _mm256_mul_ps(u, _mm256_set1_ps(0.5f)), big),
                                 one);                                     // in [-0.29, 0.42)
  const __m256 z = _mm256_mul_ps(x, x);
  __m256 y = _mm256_set1_ps(7.0376836292e-2f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.1514610310e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.1676998740e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.2420140846e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.4249322787e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-1.6668057665e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(2.0000714765e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(-2.4999993993e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(3.3333331174e-1f));
  y = _mm256_mul_ps(_mm256_mul_ps(y, x), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(x, y));
}

// log1p(e) for e in [0, 1], given u = 1 + e (rounded) and inv_u = 1 / u: log(u) plus the first-
// order correction (e - (u - 1)) / u for the rounding of 1 + e; where 1 + e rounds to 1 this is e.
FN_INLINE __m256 log1p_01_avx2(__m256 e, __m256 u, __m256 inv_u) {
  const __m256 lost = _mm256_sub_ps(e, _mm256_sub_ps(u, _mm256_set1_ps(1.0f)));
  return _mm256_fmadd_ps(lost, inv_u, log_1to2_avx2(u));
}

RowLse softmax_exp_avx2(const float* FN_RESTRICT z, float* FN_RESTRICT e, index_t cols) {
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 mx0 = neg_inf, mx1 = neg_inf;
  index_t j = 0;
  for (; j + 16 <= cols; j += 16) {
    mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(z + j));
    mx1 = _mm256_max_ps(mx1, _mm256_loadu_ps(z + j + 8));
  }
  for (; j + 8 <= cols; j += 8) mx0 = _mm256_max_ps(mx0, _mm256_loadu_ps(z + j));
  if (j < cols) {
    const __m256i mask = tail_mask(cols - j);
    const __m256 x = _mm256_blendv_ps(neg_inf, _mm256_maskload_ps(z + j, mask),
                                      _mm256_castsi256_ps(mask));
    mx0 = _mm256_max_ps(mx0, x);
  }
  const float mx = hmax(_mm256_max_ps(mx0, mx1));
  const __m256 m = _mm256_set1_ps(mx), one = _mm256_set1_ps(1.0f);
  // others: sum of the terms with z_j != max (NaN included); ties: count of z_j == max (exp = 1)
  __m256 others0 = _mm256_setzero_ps(), others1 = others0, ties0 = others0, ties1 = others0;
  j = 0;
  for (; j + 16 <= cols; j += 16) {
    const __m256 x0 = _mm256_loadu_ps(z + j), x1 = _mm256_loadu_ps(z + j + 8);
    const __m256 e0 = exp_avx2(_mm256_sub_ps(x0, m)), e1 = exp_avx2(_mm256_sub_ps(x1, m));
    _mm256_storeu_ps(e + j, e0);
    _mm256_storeu_ps(e + j + 8, e1);
    const __m256 tie0 = _mm256_cmp_ps(x0, m, _CMP_EQ_OQ), tie1 = _mm256_cmp_ps(x1, m, _CMP_EQ_OQ);
    others0 = _mm256_add_ps(others0, _mm256_andnot_ps(tie0, e0));
    others1 = _mm256_add_ps(others1, _mm256_andnot_ps(tie1, e1));
    ties0 = _mm256_add_ps(ties0, _mm256_and_ps(tie0, one));
    ties1 = _mm256_add_ps(ties1, _mm256_and_ps(tie1, one));
  }
  for (; j < cols; j += 8) {
    const __m256i mask = tail_mask(cols - j < 8 ? cols - j : 8);
    const __m256 live = _mm256_castsi256_ps(mask);
    const __m256 x0 = _mm256_maskload_ps(z + j, mask);
    const __m256 e0 = exp_avx2(_mm256_sub_ps(x0, m));
    _mm256_maskstore_ps(e + j, mask, e0);
    const __m256 tie0 = _mm256_and_ps(_mm256_cmp_ps(x0, m, _CMP_EQ_OQ), live);
    others0 = _mm256_add_ps(others0, _mm256_and_ps(_mm256_andnot_ps(tie0, e0), live));
    ties0 = _mm256_add_ps(ties0, _mm256_and_ps(tie0, one));
  }
  const float ties = hsum(_mm256_add_ps(ties0, ties1));
  const float others = hsum(_mm256_add_ps(others0, others1));
  return {mx, ties + others, (ties - 1.0f) + others};
}

void scale_avx2(float* x, index_t cols, float s) {
  const __m256 sv = _mm256_set1_ps(s);
  index_t j = 0;
  for (; j + 8 <= cols; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), sv));
  if (j < cols) {
    const __m256i mask = tail_mask(cols - j);
    _mm256_maskstore_ps(x + j, mask, _mm256_mul_ps(_mm256_maskload_ps(x + j, mask), sv));
  }
}

// 8 elements of BCE: returns the loss terms max(z,0) - t z + log1p(exp(-|z|)) and the gradient.
// One division: 1 / (1 + e) serves the sigmoid and the log1p correction.
FN_INLINE __m256 bce_vec(__m256 z, __m256 t, __m256 coef, __m256* dz) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 abs_z = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
  const __m256 e = exp_avx2(_mm256_sub_ps(zero, abs_z));  // in (0, 1]
  const __m256 u = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
  const __m256 r = _mm256_div_ps(_mm256_set1_ps(1.0f), u);
  // sigmoid(z) - t, as (1 - t) - sigmoid(-z) for z >= 0 (see bce_row_generic in loss.cpp)
  const __m256 small = _mm256_mul_ps(e, r);  // sigmoid(-|z|)
  const __m256 pos = _mm256_sub_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), t), small);
  const __m256 diff = _mm256_blendv_ps(_mm256_sub_ps(small, t), pos,
                                       _mm256_cmp_ps(z, zero, _CMP_GE_OQ));
  *dz = _mm256_mul_ps(coef, diff);
  const __m256 linear = _mm256_fnmadd_ps(t, z, _mm256_max_ps(z, zero));
  return _mm256_add_ps(linear, log1p_01_avx2(e, u, r));
}

FN_INLINE __m256d widen_sum(__m256d acc, __m256 x) {  // acc += both halves of x, in double
  acc = _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
  return _mm256_add_pd(acc, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
}

double bce_avx2(const float* FN_RESTRICT z, const float* FN_RESTRICT t, float* FN_RESTRICT dz,
                index_t cols, float coef) {
  const __m256 c = _mm256_set1_ps(coef);
  __m256d acc = _mm256_setzero_pd();
  index_t j = 0;
  for (; j + 8 <= cols; j += 8) {
    __m256 d;
    acc = widen_sum(acc, bce_vec(_mm256_loadu_ps(z + j), _mm256_loadu_ps(t + j), c, &d));
    _mm256_storeu_ps(dz + j, d);
  }
  if (j < cols) {
    const __m256i mask = tail_mask(cols - j);
    __m256 d;
    const __m256 l = bce_vec(_mm256_maskload_ps(z + j, mask), _mm256_maskload_ps(t + j, mask), c,
                             &d);
    acc = widen_sum(acc, _mm256_and_ps(l, _mm256_castsi256_ps(mask)));
    _mm256_maskstore_ps(dz + j, mask, d);
  }
  return hsum(acc);
}

// 8 rows of the one-column case: per-lane coefficient float(base w_i); adds w_i L_i (in double)
// to the two accumulators.
FN_INLINE void bce_column_vec(const float* z, const float* t, const float* w, float* dz,
                              __m256d base, __m256d& acc_lo, __m256d& acc_hi) {
  __m256d w_lo = _mm256_set1_pd(1.0), w_hi = w_lo;
  if (w) {
    const __m256 wv = _mm256_loadu_ps(w);
    w_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(wv));
    w_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(wv, 1));
  }
  const __m256 coef = _mm256_set_m128(_mm256_cvtpd_ps(_mm256_mul_pd(base, w_hi)),
                                      _mm256_cvtpd_ps(_mm256_mul_pd(base, w_lo)));
  __m256 d;
  const __m256 l = bce_vec(_mm256_loadu_ps(z), _mm256_loadu_ps(t), coef, &d);
  _mm256_storeu_ps(dz, d);
  acc_lo = _mm256_fmadd_pd(w_lo, _mm256_cvtps_pd(_mm256_castps256_ps128(l)), acc_lo);
  acc_hi = _mm256_fmadd_pd(w_hi, _mm256_cvtps_pd(_mm256_extractf128_ps(l, 1)), acc_hi);
}

double bce_column_avx2(const float* z, const float* t, const float* w, float* dz, index_t n,
                       double base) {
  const __m256d b = _mm256_set1_pd(base);
  __m256d acc_lo = _mm256_setzero_pd(), acc_hi = _mm256_setzero_pd();
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
  return hsum(_mm256_add_pd(acc_lo, acc_hi));
}

}  // namespace

const RowKernels row_kernels_avx2 = {softmax_exp_avx2, scale_avx2, bce_avx2, bce_column_avx2};

}  // namespace loss_detail
}  // namespace fusednet
