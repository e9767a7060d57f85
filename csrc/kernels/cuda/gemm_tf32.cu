// GEMM on the GPU's TF32 tensor cores (sm_80+, mma.sync m16n8k8): inputs rounded to TF32 (10-bit
// mantissa), FP32 accumulation; opt-in through gemm_cuda's allow_tf32 (the float32 matmul
// precision). Same problem, strides and epilogue as gemm.cu, which decides when these run.
//   sgemm_tf32_kernel   same tiling as gemm.cu's sgemm_kernel with a 128x128x16 block tile, 8 warps
//                       of 64x32; inputs rounded to TF32 once, on the way into shared memory. Any
//                       strides ("v1").
//   sgemm_tf32_v2_kernel<BN> the TF32 kernel used when both operands are 16-byte aligned with a
//                       unit stride (and the other stride % 4 == 0): 128xBNx32 block tiles (BN 256,
//                       or 128 when 128x256 tiles would leave SMs idle), warps of 64x64, a 3-stage
//                       cp.async pipeline in dynamic shared memory, inputs rounded to TF32 once
//                       per stage in shared memory, ldmatrix for k-major fragments. Layout math
//                       in gemm_tf32_layout.h, checked on the host by tools/tf32_layout_check.cpp.
//                       set_gemm_cuda_tf32_kernel picks.
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>

#include "kernels/cuda/gemm_device.cuh"
#include "kernels/cuda/gemm_tf32_layout.h"

namespace fusednet {
namespace gemm_gpu {
namespace {

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
    zero_fill(acc);
    TilePair<BM, BN, BK, THREADS, A_KM, B_KM> tiles(g, m0, n0, tid);
    tiles.template first<LD, LD, true>(g, ktiles, As[0], Bs[0], tid);
    __syncthreads();

    for (index_t kt = 0; kt < ktiles; ++kt) {
      const int cur = static_cast<int>(kt & 1);
      const bool more = kt + 1 < ktiles;
      if (more) tiles.load(g, (kt + 1) * BK, tid);
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
      if (more) tiles.template store<LD, LD, true>(As[cur ^ 1], Bs[cur ^ 1], tid);
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
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(src_bytes)
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
    zero_fill(acc);

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
              bf[ni][e] =
                  __float_as_uint(sb[b_frag_offset(false, BN, wn * WARP_N, ni, kk, lane, e)]);
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
bool tf32_kernel_has_mma_query() {
  cudaFuncAttributes attr{};
  if (cudaFuncGetAttributes(&attr, sgemm_tf32_kernel<true, true>) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.ptxVersion >= 80 && attr.binaryVersion >= 80;
}

void launch_tf32_v1(const GemmArgs& g, bool a_km, bool b_km, cudaStream_t stream) {
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
}  // namespace

bool tf32_kernel_has_mma() {
  static const bool has = tf32_kernel_has_mma_query();  // the loaded binary never changes
  return has;
}

void launch_tf32(const GemmArgs& g, bool a_km, bool b_km, const DeviceFacts& f,
                 cudaStream_t stream) {
  if (!try_launch_tf32_v2(g, a_km, b_km, f, stream)) launch_tf32_v1(g, a_km, b_km, stream);
}

}  // namespace gemm_gpu

int set_gemm_cuda_tf32_kernel(int kernel) {
  FN_CHECK(kernel >= -1 && kernel <= 3,
           "tf32 kernel: expected 0 (auto), 1 (v1), 2 (v2 128x128), 3 (v2 128x256) or -1 "
           "(query), got ",
           kernel);
  std::atomic<int>& knob = gemm_gpu::tf32_kernel_knob();
  return kernel < 0 ? knob.load() : knob.exchange(kernel);
}
}  // namespace fusednet
