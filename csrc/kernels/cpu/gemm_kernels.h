// Private to the gemm family: the micro-kernel interface shared by the driver (gemm.cpp) and the
// per-ISA files (gemm_generic.cpp, gemm_avx2.cpp, gemm_avx512.cpp, each compiled with its own
// flags, registering gemm_impl.h's templates on its simd.h vector type; kernel_table.h).
//
// A micro-kernel computes one MR x NR tile of C from a K-slice:
//   C[i, j] = epi(alpha * sum_k A(i, k) B(k, j) + beta * C[i, j])      i < m <= MR, j < n <= NR
// B is a packed micro-panel: B(k, j) = b[k * NR + j], zero-padded to NR columns, or for short M
// a full NR-column panel of a row-major B read in place (B(k, j) = b[k * rs_b + j]).
// A is either a packed micro-panel (A(i, k) = a[k * MR + i], zero-padded to MR rows) or, on the
// small-problem path, read in place with any strides (A(i, k) = a[i * rs_a + k * cs_a]).
#pragma once

#include "common.h"
#include "kernels/cpu.h"
#include "kernels/cpu/kernel_table.h"

namespace fusednet {
namespace gemm_detail {

// What a micro-kernel applies while its tile is still in registers. The transcendental
// activations (sigmoid, tanh, gelu) are applied by the driver on the stored rows instead.
enum TileAct : int { kTileNone = 0, kTileReLU = 1, kTileLeakyReLU = 2 };

struct TileEpilogue {
  float alpha = 1.0f;
  float beta = 0.0f;            // 0: C is not read, so NaN in C does not propagate
  const float* bias = nullptr;  // bias of the tile's first column (length n), or nullptr
  int act = kTileNone;
  float act_param = 0.0f;       // leaky_relu negative slope
};

using PackedKernel = void (*)(index_t kc, const float* a_packed, const float* b, index_t rs_b,
                              float* c, index_t rs_c, index_t cs_c, index_t m, index_t n,
                              const TileEpilogue& ep);
using StridedKernel = void (*)(index_t kc, const float* a, index_t rs_a, index_t cs_a,
                               const float* b, index_t rs_b, float* c, index_t rs_c, index_t cs_c,
                               index_t m, index_t n, const TileEpilogue& ep);
// A row of tiles: one packed A micro-panel (m rows) against B panels b[0, count), n columns in
// all, C and the bias (if any) at their first column. A null b[q] is a full panel read in place
// at b_in_place + q * NR with row stride rs_in_place.
using PackedRowFn = void (*)(index_t kc, const float* a, const float* const* b, index_t count,
                             const float* b_in_place, index_t rs_in_place, float* c, index_t rs_c,
                             index_t cs_c, index_t n, const TileEpilogue& ep);
// A column of tiles: a whole packed A block (mc rows) against one B panel (n <= NR columns).
using PackedColumnFn = void (*)(index_t kc, const float* a, index_t mc, const float* b,
                                index_t rs_b, float* c, index_t rs_c, index_t cs_c, index_t n,
                                const TileEpilogue& ep);
// Packs a kc x nc block of B (B(k, j) = b[k * rs_b + j * cs_b]) into ceil(nc / NR) micro-panels.
using PackBFn = void (*)(index_t kc, index_t nc, const float* b, index_t rs_b, index_t cs_b,
                         float* out);
// Packs an mc x kc block of A into ceil(mc / MR) micro-panels.
using PackAFn = void (*)(index_t mc, index_t kc, const float* a, index_t rs_a, index_t cs_a,
                         float* out);

// The small-problem path: all of C (m x n, n <= 2 * simd_width) from A and B read in place, B by
// rows (B(k, j) = b[k * rs_b + j]), A and C through any strides; no packing, no buffers. The
// sums run in K passes of kb, as the blocked path's, so both give the same bits.
using SmallFn = void (*)(index_t m, index_t n, index_t k, index_t kb, const float* a, index_t rs_a,
                         index_t cs_a, const float* b, index_t rs_b, float* c, index_t rs_c,
                         index_t cs_c, const TileEpilogue& ep);

// The sup path: all of C (m x n, any n) with A read in place and B by panels of NR columns,
// panel q at b + q * panel_stride with row stride rs_b (B in place: panel_stride NR; packed by
// pack_b over all of K: panel_stride k * NR, rs_b NR). Same arithmetic as the blocked path.
using SupFn = void (*)(index_t m, index_t n, index_t k, index_t kb, const float* a, index_t rs_a,
                       index_t cs_a, const float* b, index_t rs_b, index_t panel_stride, float* c,
                       index_t rs_c, index_t cs_c, const TileEpilogue& ep);

constexpr int kMaxMR = 16;

// The packed A of an mc-row block is ceil(mc / mr) panels (slots of mr rows each). A last panel
// of 1-3 rows has too few accumulators to cover the FMA latency (a 2-row tile of 6 x 16 AVX2:
// 4 chains for 2 pipes of latency 4, half speed; 32 = 5 x 6 + 2 rows cost 6% more than their
// share); it is merged with the full panel before it and the two hold split_rows rows and the
// rest (6 + 2 -> 4 + 4, 12 + 1 -> 7 + 6). 0: no split. Rows of slot q, q < slots - 2: mr.
inline index_t tail_split_rows(index_t mc, int mr) {
  const index_t t = mc % mr;
  if (t == 0 || t >= 4 || mc < mr + t || mr + t < 8) return 0;
  return (mr + t + 1) / 2;
}
// First row and row count of slot q of an mc-row block.
inline void panel_slot(index_t mc, int mr, index_t q, index_t* row, index_t* rows) {
  const index_t split = tail_split_rows(mc, mr), slots = (mc + mr - 1) / mr;
  *row = q * mr;
  if (split && q == slots - 1) *row = (slots - 2) * mr + split;
  const index_t end = split && q == slots - 2 ? *row + split : *row + mr;
  *rows = (end < mc ? end : mc) - *row;
}

}  // namespace gemm_detail

// One ISA's kernels and the cache blocking that suits them.
struct GemmKernels {
  const char* name;    // sgemm_kernel_<isa>_<MR>x<NR>
  int mr, nr;          // register tile
  index_t mc, kc, nc;  // cache blocks: A block mc x kc in L2, B panel kc x NR in L1, kc x nc in L3
  // [m - 1]: the kernel computing m rows (m < mr only for the last rows of C).
  gemm_detail::PackedKernel packed[gemm_detail::kMaxMR];
  gemm_detail::StridedKernel strided[gemm_detail::kMaxMR];
  // The same tiles, a row or a column of them per call (the driver's sweeps, per-tile calls and
  // setup hoisted: with short K they are a fair share of the work). packed_row[m - 1]: m rows.
  gemm_detail::PackedRowFn packed_row[gemm_detail::kMaxMR];
  gemm_detail::PackedColumnFn packed_column;
  gemm_detail::PackAFn pack_a;
  gemm_detail::PackBFn pack_b;
  // Runs `iters` rounds of independent FMAs on vector registers; returns the flops done.
  double (*fma_loop)(index_t iters);
  gemm_detail::SmallFn small;
  gemm_detail::SupFn sup;
  int simd_width;  // floats per vector register
};

const GemmKernels& gemm_kernels_generic();
const GemmKernels& gemm_kernels_avx2();
const GemmKernels& gemm_kernels_avx512();
const GemmKernels& gemm_kernels(CpuIsa isa);

namespace gemm_detail {

// C[i, j] = act(C[i, j]) over an m x n block with any strides: relu / leaky_relu inline, the
// others through activation_forward_cpu on contiguous rows (gathered when C's rows are strided).
void apply_activation(Activation act, float param, float* c, index_t m, index_t n, index_t rs_c,
                      index_t cs_c);

// Tuning knobs (tests use them to force each path): the M*N*K below which no parallel region is
// opened, the least number of columns for which A is packed (0: always), the most rows of C for
// which a row-major B is read in place, the M*N*K up to which the small kernel runs where it can
// (0: never), the M*N*K up to which the sup path runs (0: never). A negative value keeps a knob
// as it is.
void set_gemm_tuning(double parallel_min_work, index_t pack_a_min_n, index_t direct_b_max_m,
                     double small_max_work, double sup_max_work);
void get_gemm_tuning(double* parallel_min_work, index_t* pack_a_min_n, index_t* direct_b_max_m,
                     double* small_max_work, double* sup_max_work);

// How the threads share a problem: 0 automatic, 1 one-panel N chunks (the most tasks, the most
// stealing and shared B panels), 2 as 1 and never wait for a panel being packed (tests).
void set_gemm_split_n(int mode);
int get_gemm_split_n();

// Whether the small kernel's narrow-row form takes C as it is: C at most half a vector wide, so
// several rows share one vector, with A, B and C dense by rows and K at most one vector (the A
// rows of a vector's worth of C rows then fit in two vectors).
inline bool narrow_rows_fit(index_t M, index_t N, index_t K, index_t rs_a, index_t cs_a,
                            index_t cs_b, index_t rs_c, index_t cs_c, int simd_width) {
  return simd_width >= 8 && M >= 2 && N >= 1 && 2 * N <= simd_width && K >= 1 && K <= simd_width &&
         cs_a == 1 && rs_a == K && cs_b == 1 && cs_c == 1 && rs_c == N;
}

// Which small-kernel orientation gemm_cpu takes for a problem: -1 none (the blocked path),
// 0 C as it is, 1 C^T = B^T A^T.
int small_plan(index_t M, index_t N, index_t K, index_t rs_a, index_t cs_a, index_t rs_b,
               index_t cs_b, index_t rs_c, index_t cs_c, bool bias, int simd_width);

// The FP32 peak measured with the ISA's FMA loop on `threads` threads for about 50 ms.
double fp32_peak_gflops_cpu(int threads, CpuIsa isa);

}  // namespace gemm_detail
}  // namespace fusednet
