// The portable parts of the bf16 gemm kernels (gemm_bf16.h): packing with the bf16 rounding and
// the scalar epilogue, compiled into each kernel file with its own flags (namespace FN_SIMD_NS, so
// the copies never merge at link time), plus the emulated tile.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/cpu/bf16_math.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/simd.h"

namespace fusednet {
namespace FN_SIMD_NS {
namespace bf16gemm {

using gemm_bf16_detail::kMR;
using gemm_bf16_detail::kNR;
using gemm_bf16_detail::TileEpilogue;

inline std::uint32_t pair(float lo, float hi) {
  return static_cast<std::uint32_t>(bf16math::bf16_round(lo)) |
         (static_cast<std::uint32_t>(bf16math::bf16_round(hi)) << 16);
}

inline void pack_a(index_t mc, index_t k, const float* a, index_t rs_a, index_t cs_a,
                   std::uint32_t* out) {
  const index_t k2 = (k + 1) / 2, kfull = k / 2;
  for (index_t r0 = 0; r0 < mc; r0 += kMR) {
    const index_t m = mc - r0 < kMR ? mc - r0 : kMR;
    std::uint32_t* dst = out + r0 * k2;  // r0 / kMR panels of k2 * kMR
    for (index_t i = 0; i < m; ++i) {
      const float* row = a + (r0 + i) * rs_a;
      for (index_t kk = 0; kk < kfull; ++kk)
        dst[kk * kMR + i] = pair(row[2 * kk * cs_a], row[(2 * kk + 1) * cs_a]);
      if (k2 > kfull) dst[kfull * kMR + i] = pair(row[2 * kfull * cs_a], 0.0f);
    }
    for (index_t i = m; i < kMR; ++i)
      for (index_t kk = 0; kk < k2; ++kk) dst[kk * kMR + i] = 0;
  }
}

inline void pack_b(index_t k, index_t nc, const float* b, index_t rs_b, index_t cs_b,
                   std::uint32_t* out) {
  const index_t k2 = (k + 1) / 2, kfull = k / 2;
  for (index_t c0 = 0; c0 < nc; c0 += kNR) {
    const index_t n = nc - c0 < kNR ? nc - c0 : kNR;
    std::uint32_t* dst = out + c0 * k2;
    const float* src = b + c0 * cs_b;
    for (index_t kk = 0; kk < k2; ++kk) {
      const float* r0 = src + 2 * kk * rs_b;
      std::uint32_t* d = dst + kk * kNR;
      if (kk < kfull) {
        const float* r1 = r0 + rs_b;
        if (cs_b == 1) {
          for (index_t j = 0; j < n; ++j) d[j] = pair(r0[j], r1[j]);
        } else {
          for (index_t j = 0; j < n; ++j) d[j] = pair(r0[j * cs_b], r1[j * cs_b]);
        }
      } else {
        for (index_t j = 0; j < n; ++j) d[j] = pair(r0[j * cs_b], 0.0f);
      }
      for (index_t j = n; j < kNR; ++j) d[j] = 0;
    }
  }
}

// One element's epilogue (gemm_bf16.h's formula).
inline float finish(float acc, float c_old, index_t j, const TileEpilogue& ep) {
  const float t = ep.beta != 0.0f ? ep.beta * c_old : 0.0f;
  float v = std::fma(ep.alpha, acc, t);
  if (ep.bias) v = v + ep.bias[j];
  if (ep.act != 0 && v < 0.0f) v = ep.act == 1 ? 0.0f : v * ep.act_param;
  return v;
}

// acc[i * kNR + j] -> the m x n corner of C.
inline void store(const float* acc, float* c, index_t rs_c, index_t cs_c, index_t m, index_t n,
                  const TileEpilogue& ep) {
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) {
      float& out = c[i * rs_c + j * cs_c];
      out = finish(acc[i * kNR + j], ep.beta != 0.0f ? out : 0.0f, j, ep);
    }
}

}  // namespace bf16gemm
}  // namespace FN_SIMD_NS
}  // namespace fusednet
