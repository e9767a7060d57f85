// Optimizer range kernels, AVX-512F (16 floats per vector): optim_vec_impl.h's template on these
// vector traits, compiled with this file's flags.
#include <immintrin.h>

#include "optim_vec_impl.h"

namespace fusednet {
namespace optim_detail {
namespace {

struct VecAvx512 {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr int width = 16;
  static FN_INLINE reg zero() { return _mm512_setzero_ps(); }
  static FN_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
  static FN_INLINE reg load(const float* p) { return _mm512_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
  static FN_INLINE mask tail(index_t count) {
    return static_cast<mask>((1u << static_cast<unsigned>(count)) - 1u);
  }
  static FN_INLINE reg load_tail(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static FN_INLINE void store_tail(float* p, mask m, reg r) { _mm512_mask_storeu_ps(p, m, r); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static FN_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static FN_INLINE reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static FN_INLINE reg sqrt(reg a) { return _mm512_sqrt_ps(a); }
};

}  // namespace

void adam_range_avx512(float* p, const float* g, float* m, float* v, index_t n,
                       const AdamCoeffs& c) {
  adam_range_dispatch<VecAvx512>(p, g, m, v, n, c);
}

void sgd_range_avx512(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  sgd_range_dispatch<VecAvx512>(p, g, vel, n, c);
}

}  // namespace optim_detail
}  // namespace fusednet
