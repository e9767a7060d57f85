// The one vector vocabulary of the CPU kernels (google/highway's idea at this library's size): a
// traits type per instruction set, the same name for the same operation on each, so a family
// writes its vector code once as a template over `V` and every ISA file instantiates it under its
// own compiler flags (CMakeLists.txt gives *_avx2.cpp and *_avx512.cpp theirs).
//
//   VecGeneric   4 floats: GCC/Clang vector extensions (SSE2 or NEON code), plain loops elsewhere
//   VecAvx2      8 floats (__m256), AVX2 + FMA; VecAvx2d: 4 doubles (__m256d)
//   VecAvx512   16 floats (__m512), AVX-512F
//
// Every V has: reg, mask, width; zero(), set1(x), load(p), store(p, r) (unaligned), bcast(p)
// (broadcast *p); add, mul, fmadd(a, b, c) = a * b + c, max(a, b) (b when either is NaN, like
// the x86 instruction), leaky(v, s) = v < 0 ? v * s : v; first_n(n) (a mask of lanes [0, n),
// 0 <= n <= width), masked_load(p, m) (other lanes 0, their memory never touched),
// store_first(p, r, n) (lanes [0, n), 1 <= n < width); prefetch(p); kTranspose and
// transpose(reg (&)[width]) (an in-register width x width transpose, where the ISA has a fast one).
// The x86 ones add what the optimizers need: fnmadd(a, b, c) = c - a * b, div, sqrt,
// masked_store(p, m, r), and permute(v, i) (lane l: v[i[l]]) with load_index(p). VecAvx2 adds
// what the loss rows need (so far AVX2 only): sub, min, abs, round (to nearest), pow2i(n) = 2^n
// for integral n, lt/ge/eq (lane masks),
// select(m, yes, no), if_then_else_zero(m, v), if_then_zero_else(m, v), mask_and, reduce_max and
// reduce_sum (fixed pairwise order), promote_lo/promote_hi to VecAvx2d and combine(hi, lo) of two
// halves (VecAvx2d::demote's).
// Every operation is one intrinsic (or the fixed sequence written here), always inlined, so a
// kernel written over V compiles to the instructions it would have spelled out by hand. One
// caution: GCC implements most float intrinsics as plain vector arithmetic, so (with the default
// -ffp-contract=fast) it may fuse a mul and an add into an FMA, and whether it does can depend
// on the order of the statements: the bits of a kernel depend on that order, not only its math.
//
// This vocabulary and the per-ISA code of every family live in namespace fusednet::FN_SIMD_NS
// (simd_generic, simd_avx2 or simd_avx512, from the flags of the translation unit; a family's
// code in its own namespace inside it, e.g. simd_avx2::optim), as Highway's HWY_NAMESPACE: inline
// and template code compiled with different flags then never merges at link time (the linker
// would keep one copy of a weak symbol, possibly the AVX-512 one, for every caller).
//
// The auto-vectorized families (activation, reduce: plain `omp simd` loops over lane functions)
// use the lane helpers at the end, and FN_SIMD_NO_TRAPPING_MATH_BEGIN / _END around their code:
// GCC if-converts a select (so the loop vectorizes) only when neither arm can raise an FP
// exception, and nothing here reads the exception flags.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "common.h"

// Fully unrolls the loop after it (the kernels' loops over accumulators, so they stay in
// registers).
#if defined(__GNUC__) || defined(__clang__)
#define FN_UNROLL _Pragma("GCC unroll 64")
#else
#define FN_UNROLL
#endif

#if defined(__AVX512F__)
#define FN_SIMD_NS simd_avx512
#elif defined(__AVX2__)
#define FN_SIMD_NS simd_avx2
#else
#define FN_SIMD_NS simd_generic
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define FN_SIMD_NO_TRAPPING_MATH_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC optimize(\"no-trapping-math\")")
#define FN_SIMD_NO_TRAPPING_MATH_END _Pragma("GCC pop_options")
#else
#define FN_SIMD_NO_TRAPPING_MATH_BEGIN
#define FN_SIMD_NO_TRAPPING_MATH_END
#endif

namespace fusednet {
namespace FN_SIMD_NS {

// ---- VecGeneric: 4 floats ----------------------------------------------------------------------
#if defined(__GNUC__) || defined(__clang__)
typedef float v4f __attribute__((vector_size(16)));
struct VecGeneric {
  using reg = v4f;
  using mask = int;  // lanes in use
  static constexpr int width = 4;
  static constexpr bool has_permute2 = false;
  static FN_INLINE reg zero() { return reg{0.0f, 0.0f, 0.0f, 0.0f}; }
  static FN_INLINE reg set1(float x) { return reg{x, x, x, x}; }
  static FN_INLINE reg load(const float* p) {
    reg r;
    std::memcpy(&r, p, sizeof(r));
    return r;
  }
  static FN_INLINE void store(float* p, reg v) { std::memcpy(p, &v, sizeof(v)); }
  static FN_INLINE reg bcast(const float* p) { return set1(*p); }
  static FN_INLINE reg add(reg a, reg b) { return a + b; }
  static FN_INLINE reg mul(reg a, reg b) { return a * b; }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return a * b + c; }
  static FN_INLINE reg max(reg a, reg b) {
    reg r;
    for (int i = 0; i < 4; ++i) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    reg r;
    for (int i = 0; i < 4; ++i) r[i] = v[i] < 0.0f ? v[i] * slope[i] : v[i];
    return r;
  }
  static FN_INLINE mask first_n(index_t n) { return static_cast<int>(n); }
  static FN_INLINE reg masked_load(const float* p, mask m) {
    reg r = zero();
    for (int i = 0; i < m; ++i) r[i] = p[i];
    return r;
  }
  static FN_INLINE void store_first(float* p, reg v, index_t n) {
    for (index_t i = 0; i < n; ++i) p[i] = v[i];
  }
  static FN_INLINE void prefetch(const void* p) { __builtin_prefetch(p); }
  static constexpr bool kTranspose = false;
  static FN_INLINE void transpose(reg (&)[4]) {}
};
#else
struct VecGeneric {
  struct reg {
    float v[4];
  };
  using mask = int;  // lanes in use
  static constexpr int width = 4;
  static constexpr bool has_permute2 = false;
  static FN_INLINE reg zero() { return set1(0.0f); }
  static FN_INLINE reg set1(float x) { return reg{{x, x, x, x}}; }
  static FN_INLINE reg load(const float* p) {
    reg r;
    std::memcpy(r.v, p, sizeof(r.v));
    return r;
  }
  static FN_INLINE void store(float* p, reg v) { std::memcpy(p, v.v, sizeof(v.v)); }
  static FN_INLINE reg bcast(const float* p) { return set1(*p); }
  static FN_INLINE reg add(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
    return a;
  }
  static FN_INLINE reg mul(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) {
    for (int i = 0; i < 4; ++i) c.v[i] = a.v[i] * b.v[i] + c.v[i];
    return c;
  }
  static FN_INLINE reg max(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return a;
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    for (int i = 0; i < 4; ++i) v.v[i] = v.v[i] < 0.0f ? v.v[i] * slope.v[i] : v.v[i];
    return v;
  }
  static FN_INLINE mask first_n(index_t n) { return static_cast<int>(n); }
  static FN_INLINE reg masked_load(const float* p, mask m) {
    reg r = zero();
    for (int i = 0; i < m; ++i) r.v[i] = p[i];
    return r;
  }
  static FN_INLINE void store_first(float* p, reg v, index_t n) {
    for (index_t i = 0; i < n; ++i) p[i] = v.v[i];
  }
  static FN_INLINE void prefetch(const void*) {}
  static constexpr bool kTranspose = false;
  static FN_INLINE void transpose(reg (&)[4]) {}
};
#endif

// ---- VecAvx2: 8 floats, VecAvx2d: 4 doubles ----------------------------------------------------
#if defined(__AVX2__)
struct VecAvx2d {
  using reg = __m256d;
  static constexpr int width = 4;
  static FN_INLINE reg zero() { return _mm256_setzero_pd(); }
  static FN_INLINE reg set1(double x) { return _mm256_set1_pd(x); }
  static FN_INLINE reg add(reg a, reg b) { return _mm256_add_pd(a, b); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static FN_INLINE __m128 demote(reg v) { return _mm256_cvtpd_ps(v); }  // to 4 floats
  static FN_INLINE double reduce_sum(reg v) {  // (v0 + v2) + (v1 + v3)
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
  }
};

struct VecAvx2 {
  using reg = __m256;
  using mask = __m256i;  // all-ones lanes
  using index = __m256i;
  static constexpr int width = 8;
  static constexpr bool has_permute2 = true;
  static FN_INLINE index load_index(const std::int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  // Lane l: lo[i[l]] for i[l] < 8, else hi[i[l] - 8] (i[l] < 16).
  static FN_INLINE reg permute2(reg lo, reg hi, index i) {
    const reg from_lo = _mm256_permutevar8x32_ps(lo, i), from_hi = _mm256_permutevar8x32_ps(hi, i);
    return _mm256_blendv_ps(from_lo, from_hi, _mm256_castsi256_ps(_mm256_slli_epi32(i, 28)));
  }
  // Lane l: v[i[l]] (i[l] < 8).
  static FN_INLINE reg permute(reg v, index i) { return _mm256_permutevar8x32_ps(v, i); }
  static FN_INLINE reg zero() { return _mm256_setzero_ps(); }
  static FN_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
  static FN_INLINE reg load(const float* p) { return _mm256_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static FN_INLINE reg bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static FN_INLINE reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static FN_INLINE reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static FN_INLINE reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static FN_INLINE reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static FN_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static FN_INLINE reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static FN_INLINE reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static FN_INLINE reg abs(reg a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
  static FN_INLINE reg round(reg a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  // 2^n for integral n in [-126, 127], from the exponent bits.
  static FN_INLINE reg pow2i(reg n) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    return _mm256_blendv_ps(v, _mm256_mul_ps(v, slope), _mm256_cmp_ps(v, zero(), _CMP_LT_OQ));
  }
  // Lane masks: comparisons (false for NaN), selections, and the tails of a span.
  static FN_INLINE mask as_mask(reg m) { return _mm256_castps_si256(m); }
  static FN_INLINE reg as_reg(mask m) { return _mm256_castsi256_ps(m); }
  static FN_INLINE mask lt(reg a, reg b) { return as_mask(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
  static FN_INLINE mask ge(reg a, reg b) { return as_mask(_mm256_cmp_ps(a, b, _CMP_GE_OQ)); }
  static FN_INLINE mask eq(reg a, reg b) { return as_mask(_mm256_cmp_ps(a, b, _CMP_EQ_OQ)); }
  static FN_INLINE mask mask_and(mask a, mask b) {
    return as_mask(_mm256_and_ps(as_reg(a), as_reg(b)));
  }
  static FN_INLINE reg select(mask m, reg yes, reg no) {
    return _mm256_blendv_ps(no, yes, as_reg(m));
  }
  static FN_INLINE reg if_then_else_zero(mask m, reg v) { return _mm256_and_ps(as_reg(m), v); }
  static FN_INLINE reg if_then_zero_else(mask m, reg v) { return _mm256_andnot_ps(as_reg(m), v); }
  static FN_INLINE mask first_n(index_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static FN_INLINE reg masked_load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  static FN_INLINE void masked_store(float* p, mask m, reg v) { _mm256_maskstore_ps(p, m, v); }
  static FN_INLINE void store_first(float* p, reg v, index_t n) {
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
  // Horizontal max / sum in a fixed pairwise order: halves, then pairs, then the last two.
  static FN_INLINE float reduce_max(reg v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  static FN_INLINE float reduce_sum(reg v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
  }
  // To doubles (lanes 0-3, lanes 4-7), and two halves (VecAvx2d::demote's) into one vector.
  static FN_INLINE __m256d promote_lo(reg v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
  static FN_INLINE __m256d promote_hi(reg v) {
    return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  static FN_INLINE reg combine(__m128 hi, __m128 lo) { return _mm256_set_m128(hi, lo); }
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
#endif  // __AVX2__

// ---- VecAvx512: 16 floats ----------------------------------------------------------------------
#if defined(__AVX512F__)
struct VecAvx512 {
  using reg = __m512;
  using mask = __mmask16;
  using index = __m512i;
  static constexpr int width = 16;
  static constexpr bool has_permute2 = true;
  static FN_INLINE index load_index(const std::int32_t* p) { return _mm512_loadu_si512(p); }
  // Lane l: lo[i[l]] for i[l] < 16, else hi[i[l] - 16] (i[l] < 32).
  static FN_INLINE reg permute2(reg lo, reg hi, index i) {
    return _mm512_permutex2var_ps(lo, i, hi);
  }
  // Lane l: v[i[l]] (i[l] < 16).
  static FN_INLINE reg permute(reg v, index i) { return _mm512_permutexvar_ps(i, v); }
  static FN_INLINE reg zero() { return _mm512_setzero_ps(); }
  static FN_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
  static FN_INLINE reg load(const float* p) { return _mm512_loadu_ps(p); }
  static FN_INLINE void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static FN_INLINE reg bcast(const float* p) { return _mm512_set1_ps(*p); }
  static FN_INLINE reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static FN_INLINE reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static FN_INLINE reg sqrt(reg a) { return _mm512_sqrt_ps(a); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static FN_INLINE reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static FN_INLINE reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static FN_INLINE reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static FN_INLINE reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static FN_INLINE reg abs(reg a) {
    return _mm512_castsi512_ps(
        _mm512_andnot_si512(_mm512_castps_si512(_mm512_set1_ps(-0.0f)), _mm512_castps_si512(a)));
  }
  static FN_INLINE reg round(reg a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static FN_INLINE reg pow2i(reg n) {
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  // Lane masks (comparisons false for NaN) and selections, as VecAvx2's.
  static FN_INLINE mask lt(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static FN_INLINE mask ge(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  static FN_INLINE mask eq(reg a, reg b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static FN_INLINE mask mask_and(mask a, mask b) { return static_cast<mask>(a & b); }
  static FN_INLINE reg select(mask m, reg yes, reg no) { return _mm512_mask_blend_ps(m, no, yes); }
  static FN_INLINE reg if_then_else_zero(mask m, reg v) { return _mm512_maskz_mov_ps(m, v); }
  static FN_INLINE reg if_then_zero_else(mask m, reg v) {
    return _mm512_maskz_mov_ps(static_cast<mask>(~m), v);
  }
  static FN_INLINE __m512d promote_lo(reg v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
  static FN_INLINE __m512d promote_hi(reg v) {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
  static FN_INLINE reg combine(__m256 hi, __m256 lo) {
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    const __mmask16 neg = _mm512_cmp_ps_mask(v, zero(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(v, neg, v, slope);
  }
  static FN_INLINE mask first_n(index_t n) {
    return static_cast<mask>((1u << static_cast<unsigned>(n)) - 1u);
  }
  static FN_INLINE reg masked_load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static FN_INLINE void masked_store(float* p, mask m, reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static FN_INLINE void store_first(float* p, reg v, index_t n) {
    _mm512_mask_storeu_ps(p, first_n(n), v);
  }
  static FN_INLINE void prefetch(const void* p) {
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
  }
  static constexpr bool kTranspose = true;
  // 16 x 16: pairs of rows interleaved (ps, then pd), then 128-bit lanes gathered in two rounds
  // of shuffle_f32x4; 64 shuffles for 256 floats, where scalar packing made a load and a store
  // of each (the gemm's transposed packing took ~10% of a 256 x 784 x 256 NN).
  static FN_INLINE void transpose(reg (&r)[16]) {
    __m512d u[16];
    for (int q = 0; q < 4; ++q) {  // rows 4q .. 4q + 3 -> per 128-bit lane, columns 0..3
      const __m512 lo0 = _mm512_unpacklo_ps(r[4 * q], r[4 * q + 1]);
      const __m512 hi0 = _mm512_unpackhi_ps(r[4 * q], r[4 * q + 1]);
      const __m512 lo1 = _mm512_unpacklo_ps(r[4 * q + 2], r[4 * q + 3]);
      const __m512 hi1 = _mm512_unpackhi_ps(r[4 * q + 2], r[4 * q + 3]);
      u[4 * q] = _mm512_unpacklo_pd(_mm512_castps_pd(lo0), _mm512_castps_pd(lo1));
      u[4 * q + 1] = _mm512_unpackhi_pd(_mm512_castps_pd(lo0), _mm512_castps_pd(lo1));
      u[4 * q + 2] = _mm512_unpacklo_pd(_mm512_castps_pd(hi0), _mm512_castps_pd(hi1));
      u[4 * q + 3] = _mm512_unpackhi_pd(_mm512_castps_pd(hi0), _mm512_castps_pd(hi1));
    }
    for (int j = 0; j < 4; ++j) {  // column 4L + j: lane L of u[j], u[4 + j], u[8 + j], u[12 + j]
      const __m512 a = _mm512_castpd_ps(u[j]), b = _mm512_castpd_ps(u[4 + j]);
      const __m512 c = _mm512_castpd_ps(u[8 + j]), d = _mm512_castpd_ps(u[12 + j]);
      const __m512 v0 = _mm512_shuffle_f32x4(a, b, 0x88), v1 = _mm512_shuffle_f32x4(a, b, 0xDD);
      const __m512 w0 = _mm512_shuffle_f32x4(c, d, 0x88), w1 = _mm512_shuffle_f32x4(c, d, 0xDD);
      r[j] = _mm512_shuffle_f32x4(v0, w0, 0x88);
      r[4 + j] = _mm512_shuffle_f32x4(v1, w1, 0x88);
      r[8 + j] = _mm512_shuffle_f32x4(v0, w0, 0xDD);
      r[12 + j] = _mm512_shuffle_f32x4(v1, w1, 0xDD);
    }
  }
};
// 8 doubles: the one-column BCE's sums, lane for lane those of VecAvx2d's two halves.
struct VecAvx512d {
  using reg = __m512d;
  static constexpr int width = 8;
  static FN_INLINE reg zero() { return _mm512_setzero_pd(); }
  static FN_INLINE reg set1(double x) { return _mm512_set1_pd(x); }
  static FN_INLINE reg add(reg a, reg b) { return _mm512_add_pd(a, b); }
  static FN_INLINE reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static FN_INLINE __m256 demote(reg v) { return _mm512_cvtpd_ps(v); }  // to 8 floats
  // Lanes 0-3 plus lanes 4-7, then (v0 + v2) + (v1 + v3): VecAvx2d's reduce_sum of lo + hi.
  static FN_INLINE double reduce_halves(reg v) {
    const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    x = _mm_add_sd(x, _mm_unpackhi_pd(x, x));
    return _mm_cvtsd_f64(x);
  }
};
#endif  // __AVX512F__

// ---- lane helpers for the auto-vectorized families ----------------------------------------------
// Bit casts the vectorizer understands (a memcpy through a local may not be if-converted).
FN_INLINE std::uint32_t bits_of(float f) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_bit_cast(std::uint32_t, f);
#else
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
#endif
}
FN_INLINE float float_of(std::uint32_t u) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_bit_cast(float, u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}
// The builtins, not std::fabs / std::copysign: GCC does not inline <cmath>'s wrappers into
// functions compiled with other optimize options (FN_SIMD_NO_TRAPPING_MATH_BEGIN), and a call
// blocks vectorization.
FN_INLINE float abs_f(float x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_fabsf(x);
#else
  return std::fabs(x);
#endif
}
FN_INLINE float copysign_f(float mag, float sgn) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_copysignf(mag, sgn);
#else
  return std::copysign(mag, sgn);
#endif
}

}  // namespace FN_SIMD_NS
}  // namespace fusednet
