// The bf16 CPU gemm ("medium" matmul precision, runtime/precision.h): A and B rounded to bf16
// (round-to-nearest-even, kernels/cpu/bf16_math.h) while packed, products summed in FP32 by
// vdpbf16ps, the epilogue in FP32. Private to the gemm family; gemm_cpu (gemm.cpp) hands a
// problem here first and runs its FP32 path when gemm_bf16_cpu returns false.
//
// Every element of C is one chain over all of K in pair order (k = 0,1 then 2,3 ...; within a pair
// the odd product first, as vdpbf16ps; an odd K pads with a zero pair half), started from +0:
//   acc = dot2(... dot2(dot2(+0, A[i,0:2], B[0:2,j]), A[i,2:4], B[2:4,j]) ...)
//   C[i,j] = act(fma(alpha, acc, beta != 0 ? beta * C[i,j] : 0) + bias[j])
// so the bits depend on the problem alone: never on the thread count, the blocking or the kernel
// (hardware and emulated give the same bits; tests/test_bf16.py checks it).
#pragma once

#include <cstdint>

#include "common.h"
#include "kernels/types.h"

namespace fusednet {
namespace gemm_bf16_detail {

constexpr int kMR = 12, kNR = 32;  // register tile: 24 zmm accumulators, 2 of B

struct TileEpilogue {
  float alpha = 1.0f;
  float beta = 0.0f;            // 0: C is not read
  const float* bias = nullptr;  // the tile's first column, or nullptr
  int act = 0;                  // 0 none, 1 relu, 2 leaky_relu (others: the driver, afterwards)
  float act_param = 0.0f;
};

// Packed layouts (uint32 pairs, kernels/cpu/bf16_math.h): K2 = ceil(K / 2).
//   A: micro-panels of kMR rows, a[p * K2 * kMR + kk * kMR + i] = pair(A[r, 2kk], A[r, 2kk + 1]),
//      r = p * kMR + i; rows past mc and the k past K are zero.
//   B: micro-panels of kNR columns, b[q * K2 * kNR + kk * kNR + j] = pair(B[2kk, c], B[2kk + 1, c]).
using PackAFn = void (*)(index_t mc, index_t k, const float* a, index_t rs_a, index_t cs_a,
                         std::uint32_t* out);
using PackBFn = void (*)(index_t k, index_t nc, const float* b, index_t rs_b, index_t cs_b,
                         std::uint32_t* out);
// One kMR x kNR tile over all of K (k2 pairs), stored as the m x n corner of C with the epilogue.
using TileFn = void (*)(index_t k2, const std::uint32_t* a, const std::uint32_t* b, float* c,
                        index_t rs_c, index_t cs_c, index_t m, index_t n, const TileEpilogue& ep);

struct Kernels {
  const char* name;
  PackAFn pack_a;
  PackBFn pack_b;
  TileFn tile;
};

const Kernels& kernels_emulated();  // gemm_bf16.cpp: bf16_math.h's arithmetic, any CPU
const Kernels& kernels_avx512();    // gemm_bf16_avx512.cpp: vdpbf16ps (x86 builds only)

// Test hooks: the instruction itself on 16 lanes at a time (x86 builds on AVX512-BF16 CPUs).
void round_hw(const float* x, std::uint16_t* out, index_t n);
void dot2_hw(const float* acc, const std::uint32_t* a, const std::uint32_t* b, float* out,
             index_t n);

}  // namespace gemm_bf16_detail

// Runs C = act(alpha * A @ B + beta * C + bias) as above when the "medium" precision selects a
// bf16 kernel (runtime/precision.h's cpu_gemm_bf16_kernel) and returns true; else returns false
// and does nothing. Expects M, N, K >= 1 and alpha != 0 (gemm_cpu handles the rest).
bool gemm_bf16_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue);

}  // namespace fusednet
