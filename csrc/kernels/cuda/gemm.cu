// GEMM on the GPU: C = act(alpha * A @ B + beta * C + bias)
//   A [M, K], B [K, N], C [M, N], each given by element strides (row, column), so the four
//   transpose forms (and any other view) need no copy; bias has N entries (nullptr = none).
//   beta == 0 never reads C (NaN in C does not propagate). 64-bit indexing throughout.
//
// Kernels, simplest first:
//   gemm_ref_kernel     one thread per output, double accumulation: the device ground truth.
//   sgemm_kernel<BM,BN> FP32 SIMT: BMxBNx8 block tile in shared memory (double-buffered, next tile
//                       prefetched into registers while the current one is used), 8x8 outputs per
//                       thread in registers, 128-bit global loads along the contiguous dimension of
//                       each operand when aligned. 128x128 for big problems, 64x64 when a 128 grid
//                       would leave SMs idle.
//   sgemm_tf32_kernel   opt-in TF32 tensor cores (sm_80+, mma.sync m16n8k8): same tiling with a
//                       128x128x16 block tile, 8 warps of 64x32; inputs rounded to TF32 once, on the
//                       way into shared memory; FP32 accumulation. Any strides ("v1").
//   sgemm_tf32_v2_kernel<BN> the TF32 kernel used when both operands are 16-byte aligned with a
//                       unit stride (and the other stride % 4 == 0): 128xBNx32 block tiles (BN 256,
//                       or 128 when 128x256 tiles would leave SMs idle), warps of 64x64, a 3-stage
//                       cp.async pipeline in dynamic shared memory, inputs rounded to TF32 once
//                       per stage in shared memory, ldmatrix for k-major fragments. Layout math
//                       in gemm_tf32_layout.h, checked on the host by tools/tf32_layout_check.cpp.
//                       set_gemm_cuda_tf32_kernel picks.
//   split-K            exact FP32 with too few 64x64 tiles and a long K: sgemm_kernel<64, 64>
//                       per K slice into workspace slabs, then splitk_reduce_kernel sums them in
//                       slice order (deterministic) and applies the epilogue.
// The epilogue (alpha, beta C, bias, activation) is applied while writing C, in every kernel.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <type_traits>
#include <unordered_map>

#include "device_util.cuh"
#include "gemm_tf32_layout.h"

namespace fusednet {

namespace {
cudaStream_t as_stream(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

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

// ---- reference ------------------------------------------------------------------------------------
__global__ void gemm_ref_kernel(GemmArgs g) {
  for (index_t i = blockIdx.y * static_cast<index_t>(blockDim.y) + threadIdx.y; i < g.M;
       i += static_cast<index_t>(gridDim.y) * blockDim.y)
    for (index_t j = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; j < g.N;
         j += static_cast<index_t>(gridDim.x) * blockDim.x) {
      double acc = 0.0;
      for (index_t k = 0; k < g.K; ++k)
        acc += static_cast<double>(g.A[i * g.rs_a + k * g.cs_a]) *
               static_cast<double>(g.B[k * g.rs_b + j * g.cs_b]);
      store_one(g, i, j, static_cast<float>(acc));
    }
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
          const float4 v = *reinterpret_cast<const float4*>(p);
          r[l][0] = v.x; r[l][1] = v.y; r[l][2] = v.z; r[l][3] = v.w;
        } else {
#pragma unroll
          for (int q = 0; q < 4; ++q) r[l][q] = (rl > 0 && gk + q < K) ? p[q * s_k] : 0.0f;
        }
      } else {
        if (vec && gk < K && rl == 4) {
          const float4 v = *reinterpret_cast<const float4*>(p);
          r[l][0] = v.x; r[l][1] = v.y; r[l][2] = v.z; r[l][3] = v.w;
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

// ---- FP32 SIMT kernel --------------------------------------------------------------------------------
// Thread (tx, ty) owns rows {ty*4 .. +3, BM/2 + ty*4 .. +3} and columns {tx*4 .. +3, BN/2 + tx*4 .. +3}
// of the block tile: two float4 reads per operand per k from shared memory, conflict-free.
// The 128x128 kernel is held to 128 registers so two blocks share an SM (16 warps: one block's
// barrier and global-load waits are covered by the other's FMAs); left alone ptxas takes 179-187
// and one block fits. The cost is a few spilled values: about 5 local loads (L1 hits) per 512
// FMAs in the k loop, the rest in the once-per-tile epilogue (cuobjdump, sm_80 and sm_90).
template <int BM, int BN, bool A_KM, bool B_KM>
__global__ void __launch_bounds__((BM / 8) * (BN / 8), BM >= 128 ? 2 : 1)
    sgemm_kernel(GemmArgs g) {
  if (g.k_split > 0) {  // multiples of 8 keep every 128-bit alignment of A and B
    const index_t k0 = static_cast<index_t>(blockIdx.z) * g.k_split;
    g.A += k0 * g.cs_a;
    g.B += k0 * g.rs_b;
    g.K = g.K - k0 < g.k_split ? g.K - k0 : g.k_split;
    g.C += static_cast<index_t>(blockIdx.z) * g.slab;
  }
  constexpr int BK = 8;
  constexpr int THREADS = (BM / 8) * (BN / 8);
  constexpr int LDA = BM + 4, LDB = BN + 4;  // +4: conflict-free transposing stores
  __shared__ __align__(16) float As[2][BK * LDA];
  __shared__ __align__(16) float Bs[2][BK * LDB];
  const int tid = threadIdx.x;
  const int tx = tid % (BN / 8), ty = tid / (BN / 8);
  const index_t tiles_m = dev::cdiv(g.M, BM);
  const index_t n0 = static_cast<index_t>(blockIdx.x) * BN;
  const index_t ktiles = dev::cdiv(g.K, BK);

  for (index_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
    const index_t m0 = tm * BM;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    TileLoader<BM, BK, THREADS, A_KM> la;
    TileLoader<BN, BK, THREADS, B_KM> lb;
    la.init(g.A, g.rs_a, g.cs_a, g.M, m0, tid);
    lb.init(g.B, g.cs_b, g.rs_b, g.N, n0, tid);
    if (ktiles > 0) {
      la.load(g.rs_a, g.cs_a, g.K, 0, tid, g.vec_a);
      lb.load(g.cs_b, g.rs_b, g.K, 0, tid, g.vec_b);
      la.template store<LDA, false>(As[0], tid);
      lb.template store<LDB, false>(Bs[0], tid);
    }
    __syncthreads();

    for (index_t kt = 0; kt < ktiles; ++kt) {
      const int cur = static_cast<int>(kt & 1);
      const bool more = kt + 1 < ktiles;
      if (more) {  // global loads of the next tile overlap the math below
        la.load(g.rs_a, g.cs_a, g.K, (kt + 1) * BK, tid, g.vec_a);
        lb.load(g.cs_b, g.rs_b, g.K, (kt + 1) * BK, tid, g.vec_b);
      }
      const float* as = As[cur];
      const float* bs = Bs[cur];
#pragma unroll
      for (int k = 0; k < BK; ++k) {
        const float4 a0 = *reinterpret_cast<const float4*>(as + k * LDA + ty * 4);
        const float4 a1 = *reinterpret_cast<const float4*>(as + k * LDA + BM / 2 + ty * 4);
        const float4 b0 = *reinterpret_cast<const float4*>(bs + k * LDB + tx * 4);
        const float4 b1 = *reinterpret_cast<const float4*>(bs + k * LDB + BN / 2 + tx * 4);
        const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
        const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
        for (int i = 0; i < 8; ++i)
#pragma unroll
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
      }
      if (more) {  // the other buffer was last read before the previous barrier
        la.template store<LDA, false>(As[cur ^ 1], tid);
        lb.template store<LDB, false>(Bs[cur ^ 1], tid);
      }
      __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const index_t row = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
      const float lo[4] = {acc[i][0], acc[i][1], acc[i][2], acc[i][3]};
      const float hi[4] = {acc[i][4], acc[i][5], acc[i][6], acc[i][7]};
      store_four(g, row, n0 + tx * 4, lo);
      store_four(g, row, n0 + BN / 2 + tx * 4, hi);
    }
  }
}

// ---- split-K reduction -----------------------------------------------------------------------------
// C[i, j] = epilogue(sum over z of slab z [i, j]), z in order: deterministic whatever the schedule.
__global__ void splitk_reduce_kernel(GemmArgs g, const float* slabs, int splits) {
  const index_t total = g.M * g.N;
  for (index_t e = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<index_t>(gridDim.x) * blockDim.x) {
    float acc = slabs[e];
    for (int z = 1; z < splits; ++z) acc += slabs[z * total + e];
    const index_t i = e / g.N;
    store_one(g, i, e - i * g.N, acc);
  }
}

// ---- TF32 tensor-core kernel (sm_80+) ---------------------------------------------------------------
// mma.sync.m16n8k8 fragments (PTX ISA), g = lane / 4, t = lane % 4:
//   A (16x8, row): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//   B (8x8, col):  b0 (k=t, n=g), b1 (k=t+4, n=g)
//   C (16x8):      c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
__device__ __forceinline__ void mma_tf32_16x8x8(float (&c)[4], const unsigned (&a)[4],
                                                const unsigned (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  __trap();  // the host never selects this kernel below sm_80
#endif
}

template <bool A_KM, bool B_KM>
__global__ void __launch_bounds__(256) sgemm_tf32_kernel(GemmArgs g) {
  constexpr int BM = 128, BN = 128, BK = 16, THREADS = 256;
  constexpr int LD = 136;  // +8: fragment reads (8t + g) hit 32 distinct banks
  __shared__ __align__(16) float As[2][BK * LD];
  __shared__ __align__(16) float Bs[2][BK * LD];
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int gq = lane / 4, tq = lane % 4;
  const int wm = warp % 2, wn = warp / 2;  // warp tile: rows wm*64 .. +63, cols wn*32 .. +31
  const index_t tiles_m = dev::cdiv(g.M, BM);
  const index_t n0 = static_cast<index_t>(blockIdx.x) * BN;
  const index_t ktiles = dev::cdiv(g.K, BK);

  for (index_t tm = blockIdx.y; tm < tiles_m; tm += gridDim.y) {
    const index_t m0 = tm * BM;
    float acc[4][4][4];
#pragma unroll
    for (int a = 0; a < 4; ++a)
#pragma unroll
      for (int b = 0; b < 4; ++b)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[a][b][c] = 0.0f;

    TileLoader<BM, BK, THREADS, A_KM> la;
    TileLoader<BN, BK, THREADS, B_KM> lb;
    la.init(g.A, g.rs_a, g.cs_a, g.M, m0, tid);
    lb.init(g.B, g.cs_b, g.rs_b, g.N, n0, tid);
    if (ktiles > 0) {
      la.load(g.rs_a, g.cs_a, g.K, 0, tid, g.vec_a);
      lb.load(g.cs_b, g.rs_b, g.K, 0, tid, g.vec_b);
      la.template store<LD, true>(As[0], tid);
      lb.template store<LD, true>(Bs[0], tid);
    }
    __syncthreads();

    for (index_t kt = 0; kt < ktiles; ++kt) {
      const int cur = static_cast<int>(kt & 1);
      const bool more = kt + 1 < ktiles;
      if (more) {
        la.load(g.rs_a, g.cs_a, g.K, (kt + 1) * BK, tid, g.vec_a);
        lb.load(g.cs_b, g.rs_b, g.K, (kt + 1) * BK, tid, g.vec_b);
      }
      const float* as = As[cur];
      const float* bs = Bs[cur];
#pragma unroll
      for (int kb = 0; kb < BK; kb += 8) {
        unsigned af[4][4], bf[4][2];
#pragma unroll
        for (int mi = 0; mi < 4; ++mi) {
          const int rm = wm * 64 + mi * 16 + gq;
          af[mi][0] = __float_as_uint(as[(kb + tq) * LD + rm]);
          af[mi][1] = __float_as_uint(as[(kb + tq) * LD + rm + 8]);
          af[mi][2] = __float_as_uint(as[(kb + tq + 4) * LD + rm]);
          af[mi][3] = __float_as_uint(as[(kb + tq + 4) * LD + rm + 8]);
        }
#pragma unroll
        for (int ni = 0; ni < 4; ++ni) {
          const int cn = wn * 32 + ni * 8 + gq;
          bf[ni][0] = __float_as_uint(bs[(kb + tq) * LD + cn]);
          bf[ni][1] = __float_as_uint(bs[(kb + tq + 4) * LD + cn]);
        }
#pragma unroll
        for (int mi = 0; mi < 4; ++mi)
#pragma unroll
          for (int ni = 0; ni < 4; ++ni) mma_tf32_16x8x8(acc[mi][ni], af[mi], bf[ni]);
      }
      if (more) {
        la.template store<LD, true>(As[cur ^ 1], tid);
        lb.template store<LD, true>(Bs[cur ^ 1], tid);
      }
      __syncthreads();
    }

#pragma unroll
    for (int mi = 0; mi < 4; ++mi)
#pragma unroll
      for (int ni = 0; ni < 4; ++ni)
#pragma unroll
        for (int r = 0; r < 4; ++r) {
          const index_t row = m0 + wm * 64 + mi * 16 + gq + 8 * (r >> 1);
          const index_t col = n0 + wn * 32 + ni * 8 + 2 * tq + (r & 1);
          store_one(g, row, col, acc[mi][ni][r]);
        }
  }
}

// ---- TF32 tensor-core kernel v2 (sm_80+): cp.async pipeline, 64x64 warp tiles -------------------
// 128 x BN x 32 block tile (BN = 256: 8 warps; BN = 128: 4 warps), each warp 64x64 of C (4 x 8
// mma.m16n8k8, 128 accumulators a thread), STAGES-deep cp.async pipeline in dynamic shared memory,
// one barrier per k tile. Needs both operands 16-byte aligned with a unit stride and the other
// stride % 4 == 0 (pick_layout's vec); the host routes everything else to sgemm_tf32_kernel.
// Shared layouts, fragment addresses and tile order: gemm_tf32_layout.h (checked on the host by
// tools/tf32_layout_check.cpp). Inputs are rounded to TF32 (cvt.rna) once per stage in shared
// memory, each thread its own chunks, between cp.async.wait_group and the barrier; k-major
// fragments come from ldmatrix.x4, m-major A fragments from 64-bit loads, n-major B from 128-bit.
__device__ __forceinline__ void cp_async16(float* dst, const float* src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned d = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src),
               "r"(src_bytes)
               : "memory");
#else
  __trap();
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}
// ldmatrix.sync.aligned.m8n8.x4.shared.b16: lanes 8i .. 8i+7 give the row addresses of matrix i
// (16 bytes each); with 32-bit data lane L gets float L % 4 of row L / 4 of matrix i in d[i].
__device__ __forceinline__ void ldsm_x4(unsigned (&d)[4], const float* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(a));
#else
  __trap();
#endif
}

// Rounds the chunks thread tid copied into tile S to TF32 (cvt.rna: nearest, ties away; NaN and
// infinities kept), in place. Called after cp.async.wait_group retired them and before the barrier
// that publishes the stage, so every fragment load reads each element rounded exactly once.
template <bool KM, int ROWS, int THREADS>
__device__ __forceinline__ void v2_round_tile(float* S, int tid) {
  constexpr int kPasses = ROWS * tf32v2::BK / 4 / THREADS;
#pragma unroll
  for (int p = 0; p < kPasses; ++p) {
    float4* q = reinterpret_cast<float4*>(S + tf32v2::chunk_dst(KM, ROWS, THREADS, tid, p));
    float4 v = *q;
    v.x = TileLoader<4, 4, 4, true>::to_tf32(v.x);
    v.y = TileLoader<4, 4, 4, true>::to_tf32(v.y);
    v.z = TileLoader<4, 4, 4, true>::to_tf32(v.z);
    v.w = TileLoader<4, 4, 4, true>::to_tf32(v.w);
    *q = v;
  }
}

// Issues the cp.async of one operand tile (ROWS x BK at (row0, k0)) into S.
template <bool KM, int ROWS, int THREADS>
__device__ __forceinline__ void v2_load_tile(float* S, const float* X, index_t s_row, index_t s_k,
                                             index_t rows, index_t row0, index_t K, index_t k0,
                                             int tid) {
  constexpr int kPasses = ROWS * tf32v2::BK / 4 / THREADS;
  static_assert(kPasses * THREADS * 4 == ROWS * tf32v2::BK, "tile must split over the threads");
#pragma unroll
  for (int p = 0; p < kPasses; ++p) {
    const tf32v2::Chunk c =
        tf32v2::chunk_for(KM, ROWS, THREADS, tid, p, s_row, s_k, rows, row0, K, k0);
    cp_async16(S + c.dst, X + c.src, c.bytes);  // bytes == 0: src is X itself, nothing is read
  }
}

// C[i, j] and C[i, j + 1] (i < M, j even) through the epilogue; one 64-bit access when C is
// vec_c (unit column stride, row stride % 4 == 0, 16-byte aligned: j even keeps 8-byte alignment).
__device__ __forceinline__ void v2_store_two(const GemmArgs& g, index_t i, index_t j, float a0,
                                             float a1) {
  if (g.vec_c && j + 1 < g.N) {
    float2* c = reinterpret_cast<float2*>(g.C + i * g.rs_c + j);
    const float2 old = g.beta != 0.0f ? *c : make_float2(0.f, 0.f);
    float2 out;
    out.x = epilogue_value(g, a0, old.x, j);
    out.y = epilogue_value(g, a1, old.y, j + 1);
    *c = out;
    return;
  }
  store_one(g, i, j, a0);
  store_one(g, i, j + 1, a1);
}

// The same for a tile wholly inside the operand and K (tf32v2::stream_full): full chunks at src +
// p * pass_step, src being the tile's stream_src0 + kt * stream_k_step.
template <bool KM, int ROWS, int THREADS>
__device__ __forceinline__ void v2_load_tile_full(float* S, const float* src, index_t pass_step,
                                                  int tid) {
  constexpr int kPasses = ROWS * tf32v2::BK / 4 / THREADS;
#pragma unroll
  for (int p = 0; p < kPasses; ++p)
    cp_async16(S + tf32v2::chunk_dst(KM, ROWS, THREADS, tid, p), src + p * pass_step, 16);
}

template <int BN, bool A_KM, bool B_KM>
__global__ void __launch_bounds__(BN, 1) sgemm_tf32_v2_kernel(GemmArgs g) {
  using namespace tf32v2;
  constexpr int THREADS = BN;
  constexpr int A_FLOATS = tile_floats(A_KM, BM);
  constexpr int STAGE = stage_floats(BN, A_KM, B_KM);
  static_assert((BM / WARP_M) * (BN / WARP_N) * 32 == THREADS, "one warp per 64x64 of C");
  extern __shared__ __align__(16) float smem[];
  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  const int wm = warp % (BM / WARP_M), wn = warp / (BM / WARP_M);
  const index_t tiles_m = dev::cdiv(g.M, BM), tiles_n = dev::cdiv(g.N, BN);
  const index_t ktiles = dev::cdiv(g.K, BK);
  const index_t a_pass = stream_pass_step(A_KM, BM, THREADS, g.rs_a, g.cs_a);
  const index_t b_pass = stream_pass_step(B_KM, BN, THREADS, g.cs_b, g.rs_b);

  for (index_t tile = blockIdx.x; tile < tiles_m * tiles_n; tile += gridDim.x) {
    index_t tm, tn;
    tile_coords(tile, tiles_m, tiles_n, tm, tn);
    const index_t m0 = tm * BM, n0 = tn * BN;

    // Interior tiles' full k tiles take the pointer-stepping path (no bounds, no index math).
    const bool interior = stream_full(BM, g.M, m0, BK, 0) && stream_full(BN, g.N, n0, BK, 0);
    const float* const a_src = g.A + stream_src0(A_KM, BM, THREADS, tid, g.rs_a, g.cs_a, m0);
    const float* const b_src = g.B + stream_src0(B_KM, BN, THREADS, tid, g.cs_b, g.rs_b, n0);
    auto issue = [&](index_t kt, int stage) {
      float* sa = smem + stage * STAGE;
      if (interior && (kt + 1) * BK <= g.K) {
        v2_load_tile_full<A_KM, BM, THREADS>(sa, a_src + kt * stream_k_step(g.cs_a), a_pass, tid);
        v2_load_tile_full<B_KM, BN, THREADS>(sa + A_FLOATS, b_src + kt * stream_k_step(g.rs_b),
                                             b_pass, tid);
      } else {
        v2_load_tile<A_KM, BM, THREADS>(sa, g.A, g.rs_a, g.cs_a, g.M, m0, g.K, kt * BK, tid);
        v2_load_tile<B_KM, BN, THREADS>(sa + A_FLOATS, g.B, g.cs_b, g.rs_b, g.N, n0, g.K, kt * BK,
                                        tid);
      }
    };

    float acc[4][8][4];
#pragma unroll
    for (int a = 0; a < 4; ++a)
#pragma unroll
      for (int b = 0; b < 8; ++b)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[a][b][c] = 0.0f;

    // Prologue: tiles 0 .. STAGES-2 in flight, one commit group each (empty past the end).
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (s < ktiles) issue(s, s);
      cp_async_commit();
    }

    int read_stage = 0, write_stage = STAGES - 1;
    for (index_t kt = 0; kt < ktiles; ++kt) {
      // Groups committed so far: STAGES-1 + kt; at most STAGES-2 pending => tile kt has landed
      // (this thread's copies); the barrier makes every thread's copies visible and ends all reads
      // of the stage written next (it held tile kt-1).
      // Each thread rounds its own chunks of tile kt before the barrier publishes them.
      cp_async_wait<STAGES - 2>();
      float* const ra = smem + read_stage * STAGE;
      v2_round_tile<A_KM, BM, THREADS>(ra, tid);
      v2_round_tile<B_KM, BN, THREADS>(ra + A_FLOATS, tid);
      __syncthreads();
      if (kt + STAGES - 1 < ktiles) issue(kt + STAGES - 1, write_stage);
      cp_async_commit();

      const float* sa = ra;
      const float* sb = sa + A_FLOATS;
#pragma unroll
      for (int kk = 0; kk < BK / 8; ++kk) {
        unsigned af[4][4], bf[8][2];
#pragma unroll
        for (int mi = 0; mi < 4; ++mi) {
          const int r0 = wm * WARP_M + mi * 16;
          if (A_KM) {  // one ldmatrix.x4: d0..d3 = a0..a3
            ldsm_x4(af[mi], sa + ldsm_a_offset(r0, kk, lane));
          } else {  // (a0, a1) and (a2, a3) are adjacent rows: two 64-bit loads
            const uint2 lo =
                *reinterpret_cast<const uint2*>(sa + a_frag_offset(false, BM, r0, kk, lane, 0));
            const uint2 hi =
                *reinterpret_cast<const uint2*>(sa + a_frag_offset(false, BM, r0, kk, lane, 2));
            af[mi][0] = lo.x;
            af[mi][1] = lo.y;
            af[mi][2] = hi.x;
            af[mi][3] = hi.y;
          }
        }
        if (B_KM) {  // one ldmatrix.x4 per pair of tiles: (d0, d1), (d2, d3) = (b0, b1)
#pragma unroll
          for (int pr = 0; pr < 4; ++pr) {
            unsigned d[4];
            ldsm_x4(d, sb + ldsm_b_offset(wn * WARP_N, pr, kk, lane));
            bf[2 * pr][0] = d[0];
            bf[2 * pr][1] = d[1];
            bf[2 * pr + 1][0] = d[2];
            bf[2 * pr + 1][1] = d[3];
          }
        } else {  // 32-bit loads straight into the (b0, b1) register pairs
#pragma unroll
          for (int ni = 0; ni < 8; ++ni)
#pragma unroll
            for (int e = 0; e < 2; ++e)
              bf[ni][e] = __float_as_uint(sb[b_frag_offset(false, BN, wn * WARP_N, ni, kk, lane, e)]);
        }
#pragma unroll
        for (int mi = 0; mi < 4; ++mi)
#pragma unroll
          for (int ni = 0; ni < 8; ++ni) mma_tf32_16x8x8(acc[mi][ni], af[mi], bf[ni]);
      }
      read_stage = read_stage + 1 == STAGES ? 0 : read_stage + 1;
      write_stage = write_stage + 1 == STAGES ? 0 : write_stage + 1;
    }
    // Before another tile's prologue overwrites the stages: nothing in flight, nobody reading.
    cp_async_wait<0>();
    __syncthreads();

    // (c0, c1) and (c2, c3) are adjacent columns: 64-bit stores where C allows; one row at a time.
#pragma unroll
    for (int mi = 0; mi < 4; ++mi)
#pragma unroll
      for (int rh = 0; rh < 2; ++rh) {
        int fr, fc;
        c_frag_coords(lane, 2 * rh, fr, fc);
        const index_t i = m0 + wm * WARP_M + mi * 16 + a_tile_row(A_KM, fr);
        if (i >= g.M) continue;
#pragma unroll
        for (int ni = 0; ni < 8; ++ni)
          v2_store_two(g, i, n0 + wn * WARP_N + b_warp_col(B_KM, ni, fc), acc[mi][ni][2 * rh],
                       acc[mi][ni][2 * rh + 1]);
      }
  }
}

// ---- host side -------------------------------------------------------------------------------------
// Decides how an operand X[row, k] (strides s_row, s_k) is read: k-major or row-major tiles, and
// whether 128-bit loads are allowed. The stride of a size-1 dimension is never used, so it is
// normalised first (NumPy gives such dimensions arbitrary strides).
void pick_layout(const float* X, index_t rows, index_t K, index_t& s_row, index_t& s_k,
                 bool& k_major, bool& vec) {
  if (K == 1) s_k = 1;
  if (rows == 1 && s_k != 1) s_row = 1;
  k_major = s_k == 1 || s_row != 1;  // neither unit: scalar loads, either mapping is correct
  vec = (k_major ? (s_k == 1 && s_row % 4 == 0) : (s_row == 1 && s_k % 4 == 0)) &&
        dev::aligned16(X);
}

struct DeviceFacts {
  int device = 0;
  int major = 0;
  int sms = 1;
  int smem_optin = 0;  // most dynamic shared memory a block may opt in to (bytes)
};
// Queried once per thread and device: a training loop calls gemm many times per batch.
DeviceFacts current_device_facts() {
  thread_local int cached_device = -1;
  thread_local DeviceFacts cached;
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (dev != cached_device) {
    DeviceFacts f;
    CUDA_CHECK(cudaDeviceGetAttribute(&f.major, cudaDevAttrComputeCapabilityMajor, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.sms, cudaDevAttrMultiProcessorCount, dev));
    CUDA_CHECK(cudaDeviceGetAttribute(&f.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    f.device = dev;
    cached = f;
    cached_device = dev;
  }
  return cached;
}

// The TF32 kernel holds mma.sync only when compiled for sm_80+; a build for older architectures
// (FUSEDNET_CUDA_ARCHS) JIT-run on a newer GPU would trap, so ask what was actually loaded.
bool tf32_kernel_has_mma_query() {
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, sgemm_tf32_kernel<true, true>) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.ptxVersion >= 80 && attr.binaryVersion >= 80;
}
bool tf32_kernel_has_mma() {
  static const bool has = tf32_kernel_has_mma_query();  // the loaded binary never changes
  return has;
}

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

// splits > 1: a split-K partial pass, one grid z slice per K slice (GemmArgs::k_split).
template <int BM, int BN>
void launch_sgemm(const GemmArgs& g, bool a_km, bool b_km, cudaStream_t stream, int splits = 1) {
  const dim3 grid(static_cast<unsigned>(ceil_div(g.N, BN)),
                  static_cast<unsigned>(std::min(ceil_div(g.M, BM), kMaxGridY)),
                  static_cast<unsigned>(splits));
  const dim3 block((BM / 8) * (BN / 8));
  with_layouts(a_km, b_km, [&](auto a, auto b) {
    sgemm_kernel<BM, BN, decltype(a)::value, decltype(b)::value><<<grid, block, 0, stream>>>(g);
  });
  CUDA_CHECK_LAUNCH();
}

void launch_tf32(const GemmArgs& g, bool a_km, bool b_km, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(ceil_div(g.N, 128)),
                  static_cast<unsigned>(std::min(ceil_div(g.M, 128), kMaxGridY)));
  const dim3 block(256);
  with_layouts(a_km, b_km, [&](auto a, auto b) {
    sgemm_tf32_kernel<decltype(a)::value, decltype(b)::value><<<grid, block, 0, stream>>>(g);
  });
  CUDA_CHECK_LAUNCH();
}

// ---- TF32 v2 launch -------------------------------------------------------------------------------
// Which TF32 kernel gemm_cuda uses (set_gemm_cuda_tf32_kernel): 0 automatic (v2 when it applies),
// 1 always sgemm_tf32_kernel, 2 / 3 v2 with 128x128 / 128x256 tiles when it applies. The
// environment variable FUSEDNET_GEMM_TF32_KERNEL sets the starting value (e.g. 1 to run a whole
// script, tests included, on the v1 kernel).
int tf32_kernel_from_env() {
  const char* v = std::getenv("FUSEDNET_GEMM_TF32_KERNEL");
  if (!v || !*v) return 0;
  FN_CHECK(v[1] == '\0' && v[0] >= '0' && v[0] <= '3',
           "FUSEDNET_GEMM_TF32_KERNEL: expected 0, 1, 2 or 3, got '", v, "'");
  return v[0] - '0';
}
std::atomic<int>& tf32_kernel_knob() {
  static std::atomic<int> knob{tf32_kernel_from_env()};
  return knob;
}

template <int BN, bool A_KM, bool B_KM>
void launch_tf32_v2_as(const GemmArgs& g, const DeviceFacts& f, cudaStream_t stream) {
  constexpr int kBytes = tf32v2::smem_bytes(BN, A_KM, B_KM);
  // Above 48 KB a kernel must opt in, once per device (bit d: device d done).
  static std::atomic<unsigned long long> configured{0};
  const unsigned long long bit = f.device < 64 ? 1ull << f.device : 0ull;
  if (!bit || !(configured.load(std::memory_order_acquire) & bit)) {
    CUDA_CHECK(cudaFuncSetAttribute(sgemm_tf32_v2_kernel<BN, A_KM, B_KM>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, kBytes));
    // All of L1 as shared memory: two 128x128 blocks (2 x 96-99 KB) fit an SM only so; the
    // kernel reads global memory through cp.async.cg (L2 only) anyway.
    CUDA_CHECK(cudaFuncSetAttribute(sgemm_tf32_v2_kernel<BN, A_KM, B_KM>,
                                    cudaFuncAttributePreferredSharedMemoryCarveout,
                                    cudaSharedmemCarveoutMaxShared));
    configured.fetch_or(bit, std::memory_order_acq_rel);
  }
  // One block per tile; the kernel's grid-stride loop covers any beyond the grid limit.
  const index_t tiles = ceil_div(g.M, tf32v2::BM) * ceil_div(g.N, BN);
  const unsigned grid = static_cast<unsigned>(std::min<index_t>(tiles, INT_MAX));
  sgemm_tf32_v2_kernel<BN, A_KM, B_KM><<<grid, BN, kBytes, stream>>>(g);
  CUDA_CHECK_LAUNCH();
}

template <int BN>
void launch_tf32_v2_bn(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f,
                       cudaStream_t stream) {
  with_layouts(a_km, b_km, [&](auto a, auto b) {
    launch_tf32_v2_as<BN, decltype(a)::value, decltype(b)::value>(g, f, stream);
  });
}

// Runs v2 and returns true when it applies: both operands cp.async-able (16-byte aligned, unit
// stride, other stride % 4 == 0) and the device grants the shared memory; else false.
bool try_launch_tf32_v2(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f,
                        cudaStream_t stream) {
  const int mode = tf32_kernel_knob().load(std::memory_order_relaxed);
  if (mode == 1 || !g.vec_a || !g.vec_b) return false;
  const bool fits256 = f.smem_optin >= tf32v2::smem_bytes(256, a_km, b_km);
  const bool fits128 = f.smem_optin >= tf32v2::smem_bytes(128, a_km, b_km);
  // 128x256 tiles halve the L2 traffic per flop, but only pay when they fill every SM.
  const index_t tiles256 = ceil_div(g.M, tf32v2::BM) * ceil_div(g.N, 256);
  bool wide = mode == 3 || (mode == 0 && tiles256 >= f.sms);
  if (wide && !fits256) wide = false;
  if (wide) {
    launch_tf32_v2_bn<256>(g, a_km, b_km, f, stream);
    return true;
  }
  if (!fits128) return false;
  launch_tf32_v2_bn<128>(g, a_km, b_km, f, stream);
  return true;
}

// ---- split-K for small grids -------------------------------------------------------------------------
// A training step's GEMMs are small in M x N and long in K (dW = x^T dz runs over the batch):
// 64x64 tiles give a few dozen blocks of 2 warps on 132 SMs, each walking all of K. Splitting K
// into slices of >= 128 (multiples of 8) gives enough blocks; each slice writes its own M x N slab
// of a workspace, and splitk_reduce_kernel sums the slabs in slice order and applies the epilogue,
// so the result is the same run to run (it differs from the unsplit sum only by rounding).
constexpr index_t kSplitMinSlice = 128;
constexpr int kSplitMax = 32;
constexpr index_t kSplitWorkspaceFloats = index_t{16} << 20;  // 64 MiB per device at most

// Slices for an M x N x K product on `sms` SMs; 1: don't split.
int split_k_slices(index_t M, index_t N, index_t K, int sms, index_t* slice) {
  const index_t tiles = ceil_div(M, 64) * ceil_div(N, 64);
  if (K < 2 * kSplitMinSlice || tiles >= sms) return 1;
  index_t want = ceil_div(index_t{4} * sms, tiles);  // about 8 warps per SM
  want = std::min<index_t>({want, K / kSplitMinSlice, kSplitMax,
                            kSplitWorkspaceFloats / std::max<index_t>(M * N, 1)});
  if (want < 2) return 1;
  *slice = ceil_div(ceil_div(K, want), 8) * 8;
  return static_cast<int>(ceil_div(K, *slice));
}

// The workspace of the split-K path: one per device, grown on demand, kept for the process (as a
// BLAS handle keeps its own). The lock covers growth and both launches, so two host threads never
// interleave their slabs; split-K runs only on the legacy default stream, where the launches of
// different calls execute in issue order.
std::mutex& split_k_lock() {
  static std::mutex m;
  return m;
}
float* split_k_workspace(int device, index_t floats) {
  static std::unordered_map<int, DeviceBuffer> buffers;
  DeviceBuffer& b = buffers[device];
  const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(floats);
  if (b.bytes() < bytes) b = DeviceBuffer(bytes);  // cudaFree waits for the kernels using it
  return b.as<float>();
}

void launch_split_k(const GemmArgs& g, bool a_km, bool b_km, int splits, index_t slice,
                    float* ws) {
  GemmArgs part = g;
  part.alpha = 1.0f;
  part.beta = 0.0f;
  part.bias = nullptr;
  part.act = 0;
  part.C = ws;
  part.rs_c = g.N;
  part.cs_c = 1;
  part.vec_c = g.N % 4 == 0;  // cudaMalloc'ed, and every slab starts at a multiple of 4 floats
  part.k_split = slice;
  part.slab = g.M * g.N;
  launch_sgemm<64, 64>(part, a_km, b_km, nullptr, splits);
  const index_t blocks = std::min<index_t>(ceil_div(g.M * g.N, 256), 4096);
  splitk_reduce_kernel<<<static_cast<unsigned>(blocks), 256>>>(g, ws, splits);
  CUDA_CHECK_LAUNCH();
}

// On unless FUSEDNET_GEMM_SPLIT_K=0 or set_gemm_cuda_split_k(0) (benchmarks compare both).
std::atomic<int>& split_k_knob() {
  static std::atomic<int> knob{[] {
    const char* v = std::getenv("FUSEDNET_GEMM_SPLIT_K");
    return v && v[0] == '0' && v[1] == '\0' ? 0 : 1;
  }()};
  return knob;
}

// FP32 split-K on the legacy default stream; false when the problem is not worth splitting.
bool try_split_k(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f) {
  if (!split_k_knob().load(std::memory_order_relaxed)) return false;
  index_t slice = 0;
  const int splits = split_k_slices(g.M, g.N, g.K, f.sms, &slice);
  if (splits < 2) return false;
  std::lock_guard<std::mutex> lock(split_k_lock());
  float* ws = split_k_workspace(f.device, splits * g.M * g.N);
  launch_split_k(g, a_km, b_km, splits, slice, ws);
  return true;
}

GemmArgs make_args(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epi) {
  const int act = static_cast<int>(epi.act);
  FN_CHECK(act >= 0 && act <= 6, "activation: expected a code in [0, 6], got ", act);
  GemmArgs g{};
  g.M = M; g.N = N; g.K = K;
  g.alpha = alpha; g.beta = beta;
  g.A = A; g.rs_a = rs_a; g.cs_a = cs_a;
  g.B = B; g.rs_b = rs_b; g.cs_b = cs_b;
  g.C = C; g.rs_c = rs_c; g.cs_c = cs_c;
  g.bias = epi.bias;
  g.act = act;
  g.act_param = epi.act_param;
  return g;
}
}  // namespace

void gemm_ref_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue, CudaStream stream) {
  GemmArgs g = make_args(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c,
                         epilogue);
  if (M <= 0 || N <= 0) return;
  const dim3 block(16, 16);
  const dim3 grid(static_cast<unsigned>(std::min<index_t>(ceil_div(N, 16), 65535)),
                  static_cast<unsigned>(std::min<index_t>(ceil_div(M, 16), 65535)));
  gemm_ref_kernel<<<grid, block, 0, as_stream(stream)>>>(g);
  CUDA_CHECK_LAUNCH();
}

void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& epilogue, bool allow_tf32,
               CudaStream stream) {
  GemmArgs g = make_args(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c,
                         epilogue);
  if (M <= 0 || N <= 0) return;
  bool a_km, b_km;
  pick_layout(g.A, M, K, g.rs_a, g.cs_a, a_km, g.vec_a);
  pick_layout(g.B, N, K, g.cs_b, g.rs_b, b_km, g.vec_b);  // B read as B^T[n, k]
  if (N == 1) g.cs_c = 1;
  g.vec_c = g.cs_c == 1 && g.rs_c % 4 == 0 && dev::aligned16(g.C);

  const DeviceFacts dev_facts = current_device_facts();
  cudaStream_t s = as_stream(stream);
  if (allow_tf32 && dev_facts.major >= 8 && K > 0 && tf32_kernel_has_mma()) {
    if (!try_launch_tf32_v2(g, a_km, b_km, dev_facts, s)) launch_tf32(g, a_km, b_km, s);
    return;
  }
  // A 128x128 grid that cannot fill the SMs wastes most of the device: use 64x64 tiles then,
  // and split K as well when even those are too few.
  const index_t big_tiles = ceil_div(M, 128) * ceil_div(N, 128);
  if (big_tiles >= dev_facts.sms) launch_sgemm<128, 128>(g, a_km, b_km, s);
  else if (s != nullptr || !try_split_k(g, a_km, b_km, dev_facts))
    launch_sgemm<64, 64>(g, a_km, b_km, s);
}

int set_gemm_cuda_split_k(int enabled) {
  FN_CHECK(enabled >= -1 && enabled <= 1, "split_k: expected 0 (off), 1 (on) or -1 (query), got ",
           enabled);
  return enabled < 0 ? split_k_knob().load() : split_k_knob().exchange(enabled);
}

int set_gemm_cuda_tf32_kernel(int kernel) {
  FN_CHECK(kernel >= -1 && kernel <= 3,
           "tf32 kernel: expected 0 (auto), 1 (v1), 2 (v2 128x128), 3 (v2 128x256) or -1 "
           "(query), got ", kernel);
  return kernel < 0 ? tf32_kernel_knob().load() : tf32_kernel_knob().exchange(kernel);
}

}  // namespace fusednet
