// bf16 gemm tile on vdpbf16ps (AVX512-BF16: Zen 4, Cooper Lake, Sapphire Rapids): 12 x 32 of C in
// 24 zmm accumulators over all of K, one pair of k per instruction (twice the FP32 FMA's work at
// the same rate). Used only when cpuid reports AVX512_BF16 (runtime/precision.cpp); the packing
// and the epilogue are gemm_bf16_impl.h's, compiled here with AVX-512 flags.
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC target("avx512bf16")
#endif

#include <immintrin.h>

#include "kernels/cpu/gemm_bf16_impl.h"

namespace fusednet {
namespace gemm_bf16_detail {
namespace {

namespace impl = FN_SIMD_NS::bf16gemm;

void tile_avx512(index_t k2, const std::uint32_t* a, const std::uint32_t* b, float* c, index_t rs_c,
                 index_t cs_c, index_t m, index_t n, const TileEpilogue& ep) {
  __m512 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (index_t kk = 0; kk < k2; ++kk) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + kk * kNR);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + kk * kNR + 16);
    const std::uint32_t* ap = a + kk * kMR;
#pragma GCC unroll 12
    for (int i = 0; i < kMR; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
    }
  }
  if (n == kNR && cs_c == 1) {
    // Full-width rows: the epilogue in vectors (the same operations as impl::finish).
    const __m512 alpha = _mm512_set1_ps(ep.alpha), beta = _mm512_set1_ps(ep.beta);
    const __m512 zero = _mm512_setzero_ps(), slope = _mm512_set1_ps(ep.act_param);
    __m512 bias0 = zero, bias1 = zero;
    if (ep.bias) bias0 = _mm512_loadu_ps(ep.bias), bias1 = _mm512_loadu_ps(ep.bias + 16);
    for (int i = 0; i < kMR; ++i) {
      if (i >= m) break;
      float* row = c + i * rs_c;
      for (int h = 0; h < 2; ++h) {
        __m512 t = zero;
        if (ep.beta != 0.0f) t = _mm512_mul_ps(beta, _mm512_loadu_ps(row + 16 * h));
        __m512 v = _mm512_fmadd_ps(alpha, acc[i][h], t);
        if (ep.bias) v = _mm512_add_ps(v, h ? bias1 : bias0);
        if (ep.act != 0) {
          const __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
          v = ep.act == 1 ? _mm512_mask_mov_ps(v, neg, zero) : _mm512_mask_mul_ps(v, neg, v, slope);
        }
        _mm512_storeu_ps(row + 16 * h, v);
      }
    }
    return;
  }
  alignas(64) float tile[kMR * kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm512_store_ps(tile + i * kNR, acc[i][0]);
    _mm512_store_ps(tile + i * kNR + 16, acc[i][1]);
  }
  impl::store(tile, c, rs_c, cs_c, m, n, ep);
}

}  // namespace

const Kernels& kernels_avx512() {
  static const Kernels k{"bf16gemm_avx512bf16_12x32", &impl::pack_a, &impl::pack_b, &tile_avx512};
  return k;
}

void round_hw(const float* x, std::uint16_t* out, index_t n) {
  // vcvtne2ps2bf16 (the packing's rounding, bf16_math.h): 32 at a time, the low half from the
  // second operand.
  const auto mask_of = [n](index_t i) {
    return i >= n        ? __mmask16{0}
           : n - i >= 16 ? __mmask16{0xffff}
                         : static_cast<__mmask16>((1u << (n - i)) - 1);
  };
  for (index_t i = 0; i < n; i += 32) {
    const __mmask16 lo = mask_of(i), hi = mask_of(i + 16);
    const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, x + i + 16),
                                           _mm512_maskz_loadu_ps(lo, x + i));
    const __mmask32 both = static_cast<__mmask32>(lo) | (static_cast<__mmask32>(hi) << 16);
    _mm512_mask_storeu_epi16(out + i, both, (__m512i)h);
  }
}

void dot2_hw(const float* acc, const std::uint32_t* a, const std::uint32_t* b, float* out,
             index_t n) {
  for (index_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? 0xffff : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 r = _mm512_dpbf16_ps(_mm512_maskz_loadu_ps(mask, acc + i),
                                      (__m512bh)_mm512_maskz_loadu_epi32(mask, a + i),
                                      (__m512bh)_mm512_maskz_loadu_epi32(mask, b + i));
    _mm512_mask_storeu_ps(out + i, mask, r);
  }
}

}  // namespace gemm_bf16_detail
}  // namespace fusednet
