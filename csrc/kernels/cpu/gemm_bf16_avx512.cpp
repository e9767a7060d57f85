// bf16 gemm tile on vdpbf16ps (AVX512-BF16: Zen 4, Cooper Lake, Sapphire Rapids): 12 x 32 of C in
// 24 zmm accumulators over all of K, one pair of k per instruction (twice the FP32 FMA's work at
// the same rate). Used only when cpuid reports AVX512_BF16 (runtime/precision.cpp); the packing
// and the epilogue are gemm_bf16_impl.h's, compiled here with AVX-512 flags.
// The file's flags are the AVX-512 ones of every *_avx512.cpp; BF16 is added here (GCC 10+; the
// clang form is untested: no clang on the development machines).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512bf16"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512bf16")
#endif

#include <immintrin.h>

#include "kernels/cpu/gemm_bf16_impl.h"

namespace fusednet {
namespace gemm_bf16_detail {
namespace {

namespace impl = FN_SIMD_NS::bf16gemm;

// The K loop on the first H (1 or 2) vectors of columns and the first R rows: a tile at most 16
// wide (N = 10 output layers) skips the second half, and the last panel of a batch of 128 rows
// (8 rows) skips its 4 zero rows (3% of a batch-sized product); each lane's chain is the same
// either way.
template <int H, int R>
inline void k_loop(index_t k2, const std::uint32_t* a, const std::uint32_t* b,
                   __m512 (&acc)[kMR][2]) {
  for (index_t kk = 0; kk < k2; ++kk) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + kk * kNR);
    __m512bh b1 = b0;
    if (H == 2) b1 = (__m512bh)_mm512_loadu_si512(b + kk * kNR + 16);
    const std::uint32_t* ap = a + kk * kMR;
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[i]));
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      if (H == 2) acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
    }
  }
}

inline __mmask16 first_lanes(index_t n) {
  return n >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1);
}

// One tile with H vectors of columns and R rows computed. Every loop over the accumulators is
// fully unrolled (constant indices), so they stay in registers from the K loop to the stores
// (with a runtime-indexed epilogue the compiler spilled all 24 to the stack and read them back).
template <int H, int R>
void tile_hr(index_t k2, const std::uint32_t* a, const std::uint32_t* b, float* c, index_t rs_c,
             index_t cs_c, index_t m, index_t n, const TileEpilogue& ep) {
  __m512 acc[kMR][2];
#pragma GCC unroll 12
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  k_loop<H, R>(k2, a, b, acc);
  if (cs_c == 1) {
    // Rows along memory: the epilogue in vectors, masked to the n columns (the same operations
    // as impl::finish).
    const __m512 alpha = _mm512_set1_ps(ep.alpha), beta = _mm512_set1_ps(ep.beta);
    const __m512 zero = _mm512_setzero_ps(), slope = _mm512_set1_ps(ep.act_param);
    const __mmask16 mask[2] = {first_lanes(n), first_lanes(n - 16)};
    __m512 bias[2] = {zero, zero};
    if (ep.bias)
      for (int h = 0; h < H; ++h) bias[h] = _mm512_maskz_loadu_ps(mask[h], ep.bias + 16 * h);
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      if (i >= m) break;
      float* row = c + i * rs_c;
#pragma GCC unroll 2
      for (int h = 0; h < H; ++h) {
        __m512 t = zero;
        if (ep.beta != 0.0f) t = _mm512_mul_ps(beta, _mm512_maskz_loadu_ps(mask[h], row + 16 * h));
        __m512 v = _mm512_fmadd_ps(alpha, acc[i][h], t);
        if (ep.bias) v = _mm512_add_ps(v, bias[h]);
        if (ep.act != 0) {
          const __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
          v = ep.act == 1 ? _mm512_mask_mov_ps(v, neg, zero) : _mm512_mask_mul_ps(v, neg, v, slope);
        }
        _mm512_mask_storeu_ps(row + 16 * h, mask[h], v);
      }
    }
    return;
  }
  alignas(64) float tile[kMR * kNR];  // rows past R are never read (m <= R)
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    _mm512_store_ps(tile + i * kNR, acc[i][0]);
    _mm512_store_ps(tile + i * kNR + 16, acc[i][1]);
  }
  impl::store(tile, c, rs_c, cs_c, m, n, ep);
}

void tile_avx512(index_t k2, const std::uint32_t* a, const std::uint32_t* b, float* c, index_t rs_c,
                 index_t cs_c, index_t m, index_t n, const TileEpilogue& ep) {
  if (n <= 16) {
    if (m <= 4) tile_hr<1, 4>(k2, a, b, c, rs_c, cs_c, m, n, ep);
    else if (m <= 8) tile_hr<1, 8>(k2, a, b, c, rs_c, cs_c, m, n, ep);
    else tile_hr<1, kMR>(k2, a, b, c, rs_c, cs_c, m, n, ep);
  } else {
    if (m <= 4) tile_hr<2, 4>(k2, a, b, c, rs_c, cs_c, m, n, ep);
    else if (m <= 8) tile_hr<2, 8>(k2, a, b, c, rs_c, cs_c, m, n, ep);
    else tile_hr<2, kMR>(k2, a, b, c, rs_c, cs_c, m, n, ep);
  }
}

// 16 pairs (lo[j], hi[j]) of floats -> 16 bf16 pairs: vcvtne2ps2bf16 rounds (the same bits as
// bf16_math.h's bf16_round; tests/test_bf16.py checks both) into lo's 16 halves then hi's, and
// vpermw interleaves them (half 2j from j, half 2j + 1 from 16 + j).
inline __m512i pairs16(__m512 lo, __m512 hi) {
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  const __m512i idx =
      _mm512_or_si512(iota, _mm512_slli_epi32(_mm512_add_epi32(iota, _mm512_set1_epi32(16)), 16));
  return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

// r[i] lane j -> r[j] lane i over 16 x 16 32-bit lanes (unpack 32, unpack 64, two 128-bit lane
// shuffles: 64 shuffles where a scalar transpose needs 256 loads and stores).
inline void transpose16(__m512i (&r)[16]) {
  // (The maskz forms: GCC 12 warns at -O1 about the unmasked ones' _mm512_undefined_epi32.)
  const __mmask16 all = 0xffff;
  const __mmask8 all8 = 0xff;  // the 64-bit forms' mask
  __m512i t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_maskz_unpacklo_epi32(all, r[i], r[i + 1]);
    t[i + 1] = _mm512_maskz_unpackhi_epi32(all, r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_maskz_unpacklo_epi64(all8, t[i], t[i + 2]);
    r[i + 1] = _mm512_maskz_unpackhi_epi64(all8, t[i], t[i + 2]);
    r[i + 2] = _mm512_maskz_unpacklo_epi64(all8, t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_maskz_unpackhi_epi64(all8, t[i + 1], t[i + 3]);
  }
  // Now r[4g + e] 128-bit block b holds rows 4g .. 4g + 3 of column 4b + e: gather the blocks.
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_maskz_shuffle_i32x4(all, r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_maskz_shuffle_i32x4(all, r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_maskz_shuffle_i32x4(all, r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_maskz_shuffle_i32x4(all, r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm512_maskz_shuffle_i32x4(all, t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_maskz_shuffle_i32x4(all, t[i], t[i + 8], 0xdd);
    r[i + 4] = _mm512_maskz_shuffle_i32x4(all, t[i + 4], t[i + 12], 0x88);
    r[i + 12] = _mm512_maskz_shuffle_i32x4(all, t[i + 4], t[i + 12], 0xdd);
  }
}

// rows[i] (i < nrows, the rest zero): k contiguous floats each; their pairs kk0 .. kk0 + 15
// transposed: out[t] lane i = pair kk0 + t of row i.
inline void pair_block(const float* const* rows, int nrows, index_t k, index_t kk0,
                       __m512i (&out)[16]) {
  const index_t left = k - 2 * kk0;
  const __mmask16 m0 = first_lanes(left), m1 = first_lanes(left - 16);
  for (int i = 0; i < 16; ++i) {
    if (i >= nrows) {
      out[i] = _mm512_setzero_si512();
      continue;
    }
    const float* src = rows[i] + 2 * kk0;
    out[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + 16),
                                          _mm512_maskz_loadu_ps(m0, src));
  }
  transpose16(out);
}

// Packing with the conversion instruction where a whole row (B, or A transposed) or a pair of
// neighbours (A) is contiguous; other layouts take the portable packing.
void pack_b_avx512(index_t k, index_t nc, const float* b, index_t rs_b, index_t cs_b,
                   std::uint32_t* out) {
  const index_t k2 = (k + 1) / 2;
  if (rs_b == 1 && cs_b != 1) {  // B transposed: a column's neighbours are pairs, as row-major A
    // 16 columns x 16 pairs at a time, transposed in registers.
    for (index_t c0 = 0; c0 < nc; c0 += kNR) {
      std::uint32_t* dst = out + c0 * k2;
      for (index_t h = 0; h < kNR; h += 16) {
        const index_t left = nc - c0 - h;
        const int n = left >= 16 ? 16 : left > 0 ? static_cast<int>(left) : 0;
        const float* cols[16];
        for (int j = 0; j < n; ++j) cols[j] = b + (c0 + h + j) * cs_b;
        for (index_t kk0 = 0; kk0 < k2; kk0 += 16) {
          __m512i r[16];
          pair_block(cols, n, k, kk0, r);
          const int cnt = k2 - kk0 < 16 ? static_cast<int>(k2 - kk0) : 16;
          for (int t = 0; t < cnt; ++t) _mm512_storeu_si512(dst + (kk0 + t) * kNR + h, r[t]);
        }
      }
    }
    return;
  }
  if (cs_b != 1) return impl::pack_b(k, nc, b, rs_b, cs_b, out);
  const __m512 zero = _mm512_setzero_ps();
  for (index_t c0 = 0; c0 < nc; c0 += kNR) {
    std::uint32_t* dst = out + c0 * k2;
    const index_t n = nc - c0 < kNR ? nc - c0 : kNR;
    const __mmask16 m0 = first_lanes(n), m1 = first_lanes(n - 16);
    for (index_t kk = 0; kk < k2; ++kk) {
      const float* r0 = b + c0 + 2 * kk * rs_b;
      const bool odd = 2 * kk + 1 == k;
      const float* r1 = r0 + rs_b;
      const __m512 lo0 = _mm512_maskz_loadu_ps(m0, r0), lo1 = _mm512_maskz_loadu_ps(m1, r0 + 16);
      const __m512 hi0 = odd ? zero : _mm512_maskz_loadu_ps(m0, r1);
      const __m512 hi1 = odd ? zero : _mm512_maskz_loadu_ps(m1, r1 + 16);
      _mm512_storeu_si512(dst + kk * kNR, pairs16(lo0, hi0));
      _mm512_storeu_si512(dst + kk * kNR + 16, pairs16(lo1, hi1));
    }
  }
}

void pack_a_avx512(index_t mc, index_t k, const float* a, index_t rs_a, index_t cs_a,
                   std::uint32_t* out) {
  const index_t k2 = (k + 1) / 2;
  if (rs_a == 1) {  // A transposed: a row of the panel (12 rows of A) is contiguous
    // Along the two source rows of each pair, 48 rows of A (4 panels, 3 vectors) at a time:
    // sequential reads, and valignd splits the vectors at the panel bounds.
    const __m512 zero = _mm512_setzero_ps();
    const index_t full = mc / 48 * 48;
    for (index_t kk = 0; kk < k2; ++kk) {
      const float* s0 = a + 2 * kk * cs_a;
      const float* s1 = s0 + cs_a;
      const bool odd = 2 * kk + 1 == k;
      std::uint32_t* dst = out + kk * kMR;
      for (index_t r0 = 0; r0 < full; r0 += 48) {
        __m512i v[3];
        for (int h = 0; h < 3; ++h)
          v[h] = pairs16(_mm512_loadu_ps(s0 + r0 + 16 * h),
                         odd ? zero : _mm512_loadu_ps(s1 + r0 + 16 * h));
        std::uint32_t* d = dst + r0 * k2;  // panel r0 / kMR
        _mm512_mask_storeu_epi32(d, 0x0fff, v[0]);
        _mm512_mask_storeu_epi32(d + kMR * k2, 0x0fff,
                                 _mm512_maskz_alignr_epi32(0x0fff, v[1], v[0], 12));
        _mm512_mask_storeu_epi32(d + 2 * kMR * k2, 0x0fff,
                                 _mm512_maskz_alignr_epi32(0x0fff, v[2], v[1], 8));
        _mm512_mask_storeu_epi32(d + 3 * kMR * k2, 0x0fff,
                                 _mm512_maskz_alignr_epi32(0x0fff, v[2], v[2], 4));
      }
      for (index_t r0 = full; r0 < mc; r0 += kMR) {  // the last panels, rows past mc zero
        const __mmask16 m = first_lanes(mc - r0 < kMR ? mc - r0 : kMR);
        const __m512 lo = _mm512_maskz_loadu_ps(m, s0 + r0);
        const __m512 hi = odd ? zero : _mm512_maskz_loadu_ps(m, s1 + r0);
        _mm512_mask_storeu_epi32(dst + r0 * k2, 0x0fff, pairs16(lo, hi));
      }
    }
    return;
  }
  if (cs_a != 1) return impl::pack_a(mc, k, a, rs_a, cs_a, out);
  // Row-major A: pairs along each row, 12 rows x 16 pairs at a time transposed in registers.
  for (index_t r0 = 0; r0 < mc; r0 += kMR) {
    const int m = mc - r0 < kMR ? static_cast<int>(mc - r0) : kMR;
    std::uint32_t* dst = out + r0 * k2;
    const float* rows[kMR];
    for (int i = 0; i < m; ++i) rows[i] = a + (r0 + i) * rs_a;
    for (index_t kk0 = 0; kk0 < k2; kk0 += 16) {
      __m512i r[16];
      pair_block(rows, m, k, kk0, r);
      const int cnt = k2 - kk0 < 16 ? static_cast<int>(k2 - kk0) : 16;
      for (int t = 0; t < cnt; ++t) _mm512_mask_storeu_epi32(dst + (kk0 + t) * kMR, 0x0fff, r[t]);
    }
  }
}

}  // namespace

const Kernels& kernels_avx512() {
  static const Kernels k{"bf16gemm_avx512bf16_12x32", &pack_a_avx512, &pack_b_avx512, &tile_avx512};
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

#if defined(__clang__)
#pragma clang attribute pop
#endif
