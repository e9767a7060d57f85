// bf16 arithmetic as the AVX512-BF16 instructions do it, in portable scalar C++ (Intel SDM,
// VCVTNE2PS2BF16 and VDPBF16PS pseudo-code; checked bit for bit against Zen 4 by tests/test_bf16.py):
//   bf16_round: FP32 -> bf16, round-to-nearest-even; zero and denormal inputs -> signed zero;
//     NaN -> the truncated NaN with the quiet bit set; infinities kept.
//   bf16_dot2: one lane of vdpbf16ps: acc += a.hi * b.hi, then acc += a.lo * b.lo, each an FP32
//     FMA (one rounding, to nearest even) with denormal inputs (acc included) read as zero and
//     tiny results flushed to zero (tininess after rounding, at unbounded exponent: a result
//     that rounds up to FLT_MIN only on the denormal grid is flushed); MXCSR plays no part.
// A pair (uint32) holds element 2k in its low half and element 2k + 1 in its high half.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace fusednet {
namespace bf16math {

inline std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float float_of(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// Branch-free (the packing loops vectorize it).
inline std::uint16_t bf16_round(float x) {
  const std::uint32_t u = bits_of(x);
  const std::uint32_t mag = u & 0x7fffffffu;
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;  // overflow -> inf
  const std::uint32_t nan = (u >> 16) | 0x40u;
  const std::uint32_t zero = (u >> 16) & 0x8000u;
  const std::uint32_t r = mag > 0x7f800000u ? nan : (mag < 0x00800000u ? zero : rounded);
  return static_cast<std::uint16_t>(r);
}

inline float bf16_to_float(std::uint32_t h) { return float_of((h & 0xffffu) << 16); }

// Denormal -> signed zero (NaN and the rest unchanged).
inline float flush_denormal(float x) { return std::fabs(x) < FLT_MIN ? std::copysign(0.0f, x) : x; }

// fma(a, b, c) flushed to zero when tiny: when the exact result, rounded to 24 bits as if the
// exponent range were unbounded, lies below FLT_MIN (IEEE 754's tininess after rounding). A
// result that rounds to FLT_MIN only on the denormal grid is recomputed 2^24 higher to decide
// (a, b and c are normal or zero here).
inline float fma_ftz(float a, float b, float c) {
  const float r = std::fma(a, b, c);
  const float mag = std::fabs(r);
  if (mag > FLT_MIN || std::isnan(r)) return r;
  if (mag == FLT_MIN) {
    if (a == 0.0f || b == 0.0f) return r;  // r is c, a normal number
    // Scale the smaller factor: with a product this close to -c, neither can overflow.
    const float scale = 16777216.0f;  // 2^24
    const bool a_small = std::fabs(a) < std::fabs(b);
    const float lo = a_small ? a : b, hi = a_small ? b : a;
    if (std::fabs(std::fma(lo * scale, hi, c * scale)) >= FLT_MIN * scale) return r;
  }
  return std::copysign(0.0f, r);
}

inline float bf16_dot2(float acc, std::uint32_t a, std::uint32_t b) {
  acc = flush_denormal(acc);
  acc =
      fma_ftz(flush_denormal(bf16_to_float(a >> 16)), flush_denormal(bf16_to_float(b >> 16)), acc);
  return fma_ftz(flush_denormal(bf16_to_float(a)), flush_denormal(bf16_to_float(b)), acc);
}

}  // namespace bf16math
}  // namespace fusednet
