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
  using mask = __m256i;
  static FN_INLINE mask make_mask(index_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static FN_INLINE reg maskload(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static FN_INLINE void store_partial(float* p, reg v, index_t n) {
    // vmaskmovps stores are slow on AMD (microcoded): 4-, 2- and 1-float stores instead.
    __m128 x = _mm256_castps256_ps128(v);
    if (n >= 4) {
      _mm_storeu_ps(p, x);
      x = _mm256_extractf128_ps(v, 1);
      p += 4;
      n -= 4;
    }
    if (n >= 2) {
      _mm_storel_pi(reinterpret_cast<__m64*>(p), x);
      x = _mm_movehl_ps(x, x);
      p += 2;
      n -= 2;
    }
    if (n) _mm_store_ss(p, x);
  }
  static FN_INLINE void prefetch(const void* p) {
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
  }
  // 8 x 8 transpose: unpack pairs, shuffle quads, swap 128-bit halves.
  static constexpr bool kTranspose = true;
  static FN_INLINE void transpose(reg (&r)[8]) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
  }
};

}  // namespace

// mc x kc of A (144 x 384 floats = 216 KiB) sits in half of a 512 KiB L2; a kc x 16 panel of B
// (24 KiB) stays in the 32 KiB L1 while the A block streams past it (measured best of
// mc in 72..240, kc in 256..512 on Zen 3, tools/gemm_bench.py).
#ifndef FN_AVX2_BLOCKS  // overridable for tuning builds
#define FN_AVX2_BLOCKS 144, 384, 4080
#endif
const KernelSet& kernels_avx2() {
  static const KernelSet set =
      make_kernel_set<VecAvx2, 6, 2, 12>("sgemm_kernel_avx2_6x16", FN_AVX2_BLOCKS);
  return set;
}

}  // namespace gemm_detail
}  // namespace fusednet
