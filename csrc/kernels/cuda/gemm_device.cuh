// Private to the CUDA gemm: what gemm.cu (reference, FP32 SIMT, split-K, the launch decisions)
// and gemm_tf32.cu (the tensor-core kernels) share: the problem as the kernels see it, the
// epilogue every kernel applies while writing C, the tile loader of the double-buffered kernels,
// and the facts about the device the launch decisions use.
#pragma once

#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace fusednet {
namespace gemm_gpu {

struct GemmArgs {
  index_t M, N, K;
  float alpha, beta;
  const float* A;
  index_t rs_a, cs_a;
  const float* B;
  index_t rs_b, cs_b;
  float* C;
  index_t rs_c, cs_c;
  const float* bias;
  int act;
  float act_param;
  bool vec_a, vec_b, vec_c;  // 128-bit accesses allowed (unit stride, aligned, ld % 4 == 0)
  // Split-K partial pass (k_split > 0): block z multiplies K slice [z * k_split, +k_split) into
  // the M x N slab C + z * slab (no epilogue); splitk_reduce_kernel then sums the slabs.
  index_t k_split = 0, slab = 0;
};

// What the launch decisions need to know about the current device.
struct DeviceFacts {
  int device = 0;
  int major = 0;
  int sms = 1;
  int smem_optin = 0;  // most dynamic shared memory a block may opt in to (bytes)
};
DeviceFacts current_device_facts();  // cached per thread and device

constexpr index_t kMaxGridY = 65535;

// f(A_KM, B_KM) with the operand layouts as compile-time constants (std::bool_constant), for
// the four instantiations of each kernel.
template <class F>
void with_layouts(bool a_km, bool b_km, F&& f) {
  if (a_km && b_km) f(std::true_type{}, std::true_type{});
  else if (a_km) f(std::true_type{}, std::false_type{});
  else if (b_km) f(std::false_type{}, std::true_type{});
  else f(std::false_type{}, std::false_type{});
}

// ---- the tensor-core path (gemm_tf32.cu) --------------------------------------------------------
// The TF32 kernels hold mma.sync only when compiled for sm_80+; a build for older architectures
// (FUSEDNET_CUDA_ARCHS) JIT-run on a newer GPU would trap, so this asks what was actually loaded.
bool tf32_kernel_has_mma();
// The TF32 product of g on a device with mma (sm_80+, tf32_kernel_has_mma()): sgemm_tf32_v2_kernel
// where it applies, else sgemm_tf32_kernel (set_gemm_cuda_tf32_kernel decides between them).
void launch_tf32(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f,
                 cudaStream_t stream);

// ---- device code shared by the kernels (one copy per kernel file) ------------------------------
namespace {

// Not inlined: 64 inlined copies of every activation would bloat the kernels (registers, compile
// time) for a step that runs once per output.
__device__ __noinline__ float epilogue_activate(int act, float param, float v) {
  return dev::activate(act, param, v);
}

// C[i, j] = act(alpha * acc + beta * C[i, j] + bias[j]) for one in-range element.
__device__ __forceinline__ float epilogue_value(const GemmArgs& g, float acc, float c_old,
                                                index_t j) {
  float v = g.alpha * acc;
  if (g.beta != 0.0f) v += g.beta * c_old;
  if (g.bias) v += g.bias[j];
  return g.act == 0 ? v : epilogue_activate(g.act, g.act_param, v);
}

__device__ __forceinline__ void store_one(const GemmArgs& g, index_t i, index_t j, float acc) {
  if (i < g.M && j < g.N) {
    float* c = g.C + i * g.rs_c + j * g.cs_c;
    *c = epilogue_value(g, acc, g.beta != 0.0f ? *c : 0.0f, j);
  }
}

// Four consecutive columns j..j+3 of row i: one 128-bit access when possible.
__device__ __forceinline__ void store_four(const GemmArgs& g, index_t i, index_t j,
                                           const float (&acc)[4]) {
  if (i >= g.M) return;
  if (g.vec_c && j + 3 < g.N) {
    float4* c = reinterpret_cast<float4*>(g.C + i * g.rs_c + j);
    float4 old = g.beta != 0.0f ? *c : make_float4(0.f, 0.f, 0.f, 0.f);
    float4 out;
    out.x = epilogue_value(g, acc[0], old.x, j);
    out.y = epilogue_value(g, acc[1], old.y, j + 1);
    out.z = epilogue_value(g, acc[2], old.z, j + 2);
    out.w = epilogue_value(g, acc[3], old.w, j + 3);
    *c = out;
    return;
  }
#pragma unroll
  for (int q = 0; q < 4; ++q) store_one(g, i, j + q, acc[q]);
}

// ---- tile loader shared by the tiled kernels -------------------------------------------------------
// An operand seen as X[row, k] = X[row * s_row + k * s_k] (A: rows = M; B: rows = N, i.e. B^T).
// A tile is ROWS x BK; it is stored in shared memory k-major, S[k * LD + row], so the compute loop
// reads contiguous rows. Each thread moves PER float4-groups of 4 elements along the operand's
// contiguous dimension: K_MAJOR when k is contiguous (s_k == 1), else rows are (s_row == 1).
// Out-of-range elements load as 0, so the compute loop needs no bounds checks.
template <int ROWS, int BK, int THREADS, bool K_MAJOR>
struct TileLoader {
  static constexpr int kGroups = ROWS * BK / 4;
  static constexpr int kPer = kGroups / THREADS;
  static_assert(kGroups % THREADS == 0, "tile must split evenly over the threads");
  float r[kPer][4];

  __device__ __forceinline__ static void coords(int group, int& row, int& k) {
    if (K_MAJOR) {
      row = group / (BK / 4);
      k = (group % (BK / 4)) * 4;
    } else {
      k = group / (ROWS / 4);
      row = (group % (ROWS / 4)) * 4;
    }
  }

  // Per-thread state fixed for a block tile: where each group starts (at k = 0) and how many of
  // its rows exist, so the k loop only adds k0 * s_k.
  const float* base[kPer];
  int rows_left[kPer];  // valid rows from this group's first row, clamped to [0, 4]

  __device__ __forceinline__ void init(const float* X, index_t s_row, index_t s_k, index_t rows,
                                       index_t row0, int tid) {
#pragma unroll
    for (int l = 0; l < kPer; ++l) {
      int row, k;
      coords(tid + l * THREADS, row, k);
      const index_t gi = row0 + row;
      const index_t left = rows - gi;
      rows_left[l] = left <= 0 ? 0 : (left >= 4 ? 4 : static_cast<int>(left));
      base[l] = rows_left[l] > 0 ? X + gi * s_row + k * s_k : X;  // never dereferenced if 0
    }
  }

  // Four consecutive floats in one 16-byte load (p 16-byte aligned).
  static __device__ __forceinline__ void load4(const float* p, float (&dst)[4]) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    dst[0] = v.x;
    dst[1] = v.y;
    dst[2] = v.z;
    dst[3] = v.w;
  }

  __device__ __forceinline__ void load(index_t s_row, index_t s_k, index_t K, index_t k0, int tid,
                                       bool vec) {
#pragma unroll
    for (int l = 0; l < kPer; ++l) {
      int row, k;
      coords(tid + l * THREADS, row, k);
      const index_t gk = k0 + k;
      const float* p = base[l] + k0 * s_k;
      const int rl = rows_left[l];
      if (K_MAJOR) {
        if (vec && rl > 0 && gk + 3 < K) {
          load4(p, r[l]);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) r[l][q] = (rl > 0 && gk + q < K) ? p[q * s_k] : 0.0f;
        }
      } else {
        if (vec && gk < K && rl == 4) {
          load4(p, r[l]);
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) r[l][q] = (q < rl && gk < K) ? p[q * s_row] : 0.0f;
        }
      }
    }
  }

  template <int LD, bool TF32>
  __device__ __forceinline__ void store(float* S, int tid) const {
#pragma unroll
    for (int l = 0; l < kPer; ++l) {
      int row, k;
      coords(tid + l * THREADS, row, k);
      float v[4];
#pragma unroll
      for (int q = 0; q < 4; ++q) v[q] = TF32 ? to_tf32(r[l][q]) : r[l][q];
      if (K_MAJOR) {
#pragma unroll
        for (int q = 0; q < 4; ++q) S[(k + q) * LD + row] = v[q];
      } else {
        *reinterpret_cast<float4*>(S + k * LD + row) = make_float4(v[0], v[1], v[2], v[3]);
      }
    }
  }

  // Round to nearest TF32 (10-bit mantissa), kept in a float register.
  __device__ __forceinline__ static float to_tf32(float x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    unsigned u;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(u) : "f"(x));
    return __uint_as_float(u);
#else
    return x;
#endif
  }
};

// acc = 0 for a (nested) array of accumulators, unrolled.
__device__ __forceinline__ void zero_fill(float& x) { x = 0.0f; }
template <class T, int N>
__device__ __forceinline__ void zero_fill(T (&a)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) zero_fill(a[i]);
}

// The two operand tiles of a block: A as X[m, k], B as B^T[n, k], each through a TileLoader. The
// double-buffered kernels load tile k0 + BK into registers while computing on tile k0 in shared
// memory, then store it to the other buffer.
template <int BM, int BN, int BK, int THREADS, bool A_KM, bool B_KM>
struct TilePair {
  TileLoader<BM, BK, THREADS, A_KM> a;
  TileLoader<BN, BK, THREADS, B_KM> b;

  __device__ __forceinline__ TilePair(const GemmArgs& g, index_t m0, index_t n0, int tid) {
    a.init(g.A, g.rs_a, g.cs_a, g.M, m0, tid);
    b.init(g.B, g.cs_b, g.rs_b, g.N, n0, tid);
  }
  __device__ __forceinline__ void load(const GemmArgs& g, index_t k0, int tid) {
    a.load(g.rs_a, g.cs_a, g.K, k0, tid, g.vec_a);
    b.load(g.cs_b, g.rs_b, g.K, k0, tid, g.vec_b);
  }
  template <int LDA, int LDB, bool TF32>
  __device__ __forceinline__ void store(float* as, float* bs, int tid) const {
    a.template store<LDA, TF32>(as, tid);
    b.template store<LDB, TF32>(bs, tid);
  }
  // Tile 0 into the first buffers, when K has any (the caller then waits at a barrier).
  template <int LDA, int LDB, bool TF32>
  __device__ __forceinline__ void first(const GemmArgs& g, index_t ktiles, float* as, float* bs,
                                        int tid) {
    if (ktiles > 0) {
      load(g, 0, tid);
      store<LDA, LDB, TF32>(as, bs, tid);
    }
  }
};

}  // namespace
}  // namespace gemm_gpu
}  // namespace fusednet
