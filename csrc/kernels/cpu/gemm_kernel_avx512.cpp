// sgemm micro-kernel for AVX-512F: sgemm_kernel_avx512_12x32.
// The AVX2 kernel's analogue at twice the width and with the larger register file: a 12 x 32 tile
// is 24 zmm accumulators, 2 zmm of B and 1 broadcast of A per k (27 of 32 registers).
// Selected only when cpuid reports AVX-512F/BW/VL/DQ (dispatch.cpp); the shared code in
// gemm_kernel_impl.h is the same one the AVX2 and generic kernels run, so the tests of those
// paths cover its logic and the cpu_isa fixture runs it on AVX-512 machines.
#include <immintrin.h>

#include "gemm_kernel_impl.h"

namespace fusednet {
namespace gemm_detail {
namespace {

struct VecAvx512 {
  using reg = __m512;
  static constexpr int width = 16;
  static FN_INLINE reg zero() { return _mm512_setzero_ps(); }
  static FN_INLINE reg load(const float* p) { return _mm512_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static FN_INLINE reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static FN_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static FN_INLINE reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static FN_INLINE reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static FN_INLINE reg leaky(reg v, reg slope) {
    const __mmask16 neg = _mm512_cmp_ps_mask(v, zero(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(v, neg, v, slope);
  }
  using mask = __mmask16;
  static FN_INLINE mask make_mask(index_t n) {
    return static_cast<__mmask16>((1u << static_cast<unsigned>(n)) - 1u);
  }
  static FN_INLINE reg maskload(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static FN_INLINE void store_partial(float* p, reg v, index_t n) {
    _mm512_mask_storeu_ps(p, make_mask(n), v);
  }
  static FN_INLINE void prefetch(const void* p) {
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
  }
  static constexpr bool kTranspose = false;  // packs transposed operands with scalar loops
  static FN_INLINE void transpose(reg (&)[16]) {}
};

}  // namespace

// A block 192 x 256 floats = 192 KiB (Zen 4 L2: 1 MiB); a kc x 32 panel of B is 32 KiB.
const KernelSet& kernels_avx512() {
  static const KernelSet set =
      make_kernel_set<VecAvx512, 12, 2, 24>("sgemm_kernel_avx512_12x32", 192, 256, 4096);
  return set;
}

}  // namespace gemm_detail
}  // namespace fusednet
