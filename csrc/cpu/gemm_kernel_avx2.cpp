// sgemm micro-kernel for AVX2 + FMA: sgemm_kernel_avx2_6x16.
// Register tile 6 x 16: 12 ymm accumulators, 2 ymm of B and 1 broadcast of A per k (15 of 16
// registers); 12 FMAs per 8 loads keeps both FMA pipes busy on Haswell..Zen 4.
// The math, packing formats and edge handling live in gemm_kernel_impl.h (shared by every ISA);
// this file only supplies the AVX2 vector operations and the cache blocking.
#include <immintrin.h>

#include "gemm_kernel_impl.h"

namespace fusednet {
namespace gemm_detail {
namespace {

struct VecAvx2 {
  using reg = __m256;
  static constexpr int width = 8;
  static FN_INLINE reg zero() { return _mm256_setzero_ps(); }
  static FN_INLINE reg load(const float* p) { return _mm256_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static FN_INLINE reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static FN_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static FN_INLINE reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static FN_INLINE reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static FN_INLINE reg leaky(reg v, reg slope) {
    return _mm256_blendv_ps(v, _mm256_mul_ps(v, slope), _mm256_cmp_ps(v, zero(), _CMP_LT_OQ));
  }
  static FN_INLINE void prefetch(const void* p) {
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
  }
};

}  // namespace

// mc x kc of A (240 x 256 floats = 240 KiB) fills half of a 512 KiB L2; a kc x 16 panel of B
// (16 KiB) stays in the 32 KiB L1 while the A block streams past it.
const KernelSet& kernels_avx2() {
  static const KernelSet set =
      make_kernel_set<VecAvx2, 6, 2, 12>("sgemm_kernel_avx2_6x16", 240, 256, 4080);
  return set;
}

}  // namespace gemm_detail
}  // namespace fusednet
