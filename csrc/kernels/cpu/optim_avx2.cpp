// Optimizer range kernels, AVX2 + FMA (8 floats per vector): optim_vec_impl.h's template on
// these vector traits, compiled with this file's flags.
#include <immintrin.h>

#include "optim_vec_impl.h"

namespace fusednet {
namespace optim_detail {
namespace {

struct VecAvx2 {
  using reg = __m256;
  using mask = __m256i;
  static constexpr int width = 8;
  static FN_INLINE reg zero() { return _mm256_setzero_ps(); }
  static FN_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
  static FN_INLINE reg load(const float* p) { return _mm256_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
  static FN_INLINE mask tail(index_t count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static FN_INLINE reg load_tail(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static FN_INLINE void store_tail(float* p, mask m, reg r) { _mm256_maskstore_ps(p, m, r); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static FN_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static FN_INLINE reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static FN_INLINE reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
};

}  // namespace

void adam_range_avx2(float* p, const float* g, float* m, float* v, index_t n,
                     const AdamCoeffs& c) {
  adam_range_dispatch<VecAvx2>(p, g, m, v, n, c);
}

void sgd_range_avx2(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  sgd_range_dispatch<VecAvx2>(p, g, vel, n, c);
}

}  // namespace optim_detail
}  // namespace fusednet
