// Index math of the TF32 tensor-core kernel sgemm_tf32_v2_kernel (gemm_tf32.cu), kept in plain
// C++ so the host-side checker tools/tf32_layout_check.cpp runs exactly the same functions.
//
// Block tile BM x BN x BK = 128 x BN x 32 (BN = 256 or 128), BN threads = 2 x BN/64 warps, each
// warp owning a 64 x 64 piece of C as 4 x 8 mma.m16n8k8 tiles. STAGES shared-memory stages filled by
// cp.async (16 bytes, zero-fill past the edges). Each operand X[row, k] (A: row = m; B: row = n) is
// stored in shared memory in the orientation of its contiguous global dimension:
//   k-major  (k contiguous):   S[row][k], 32 floats a row, 16-byte chunks XOR-swizzled
//                              (chunk c of row r stored at chunk c ^ (r & 7)), read with
//                              ldmatrix.x4 (8 rows of one chunk per 8x8 matrix: conflict-free);
//   mn-major (row contiguous): S[k][row], ROWS + 8 floats a row (padding).
// Once a stage has landed, each thread rounds the chunks it copied to TF32 in place (cvt.rna), so
// the fragments feed the mma unchanged. Inside a k8 step, fragment slot j (A's column, B's row) is
// k = j. Row i (0..15) of an mma A tile is the tile row a_tile_row(i) (see there); column j of a
// warp's mma tile ni is the warp's column b_warp_col(ni, j) (same for B and C).
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define FN_TF32_HD __host__ __device__ __forceinline__
#else
#define FN_TF32_HD inline
#endif

namespace fusednet {
namespace tf32v2 {

using idx = std::int64_t;

constexpr int BM = 128, BK = 32, STAGES = 3, WARP_M = 64, WARP_N = 64;

constexpr int km_floats(int rows) { return rows * BK; }  // k-major tile
constexpr int mn_ld(int rows) { return rows + 8; }  // mn-major row pitch (floats)
constexpr int mn_floats(int rows) { return BK * mn_ld(rows); }  // mn-major tile
constexpr int tile_floats(bool k_major, int rows) {
  return k_major ? km_floats(rows) : mn_floats(rows);
}
// Floats of one stage (A tile, then B tile) and bytes of dynamic shared memory for the kernel.
constexpr int stage_floats(int bn, bool a_km, bool b_km) {
  return tile_floats(a_km, BM) + tile_floats(b_km, bn);
}
constexpr int smem_bytes(int bn, bool a_km, bool b_km) {
  return STAGES * stage_floats(bn, a_km, b_km) * static_cast<int>(sizeof(float));
}

// k-major shared offset of element (row, k), k in [0, BK).
FN_TF32_HD int km_offset(int row, int k) {
  return row * BK + ((((k >> 2) ^ (row & 7)) << 2) | (k & 3));
}
// Offset of element (row, k) of a tile with `rows` rows, either orientation.
FN_TF32_HD int tile_offset(bool k_major, int rows, int row, int k) {
  return k_major ? km_offset(row, k) : k * mn_ld(rows) + row;
}

// Row i (0..15) of a 16-row mma A tile -> row within the tile's 16. k-major: i (ldmatrix reads
// rows 0-7 and 8-15 as two 8x8 matrices). m-major: rows g and g+8 are the adjacent rows 2g, 2g+1,
// so (a0, a1) and (a2, a3) are each one 64-bit load. C rows follow the same map.
FN_TF32_HD int a_tile_row(bool k_major, int i) { return k_major ? i : 2 * (i & 7) + (i >> 3); }

// A fragment register e (0..3) of `lane` for the 16x8 mma tile whose first row is r0, k8 step kk
// (0..3): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4) with g = lane / 4, t = lane % 4.
FN_TF32_HD int a_frag_offset(bool k_major, int rows, int r0, int kk, int lane, int e) {
  const int g = lane >> 2, t = lane & 3;
  const int row = r0 + a_tile_row(k_major, g + ((e & 1) ? 8 : 0));
  const int k = kk * 8 + t + ((e & 2) ? 4 : 0);
  return tile_offset(k_major, rows, row, k);
}

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 on a k-major tile (32-bit data: an 8x8 b16 matrix is
// 8 rows x 4 floats; lanes 8i .. 8i+7 give the 16-byte row addresses of matrix i, and lane L gets
// the float at row L/4, float L%4 of matrix i in register d_i).
// A tile at rows r0 .. r0+15, k8 step kk: matrices (rows 0-7, k 0-3), (rows 8-15, k 0-3),
// (rows 0-7, k 4-7), (rows 8-15, k 4-7) -> d0..d3 = a0..a3. Float offset of lane's row address.
FN_TF32_HD int ldsm_a_offset(int r0, int kk, int lane) {
  return km_offset(r0 + a_tile_row(true, lane & 15), kk * 8 + 4 * (lane >> 4));
}
// B (k-major, B^T[n, k]) for the warp's mma tiles ni = 2 pr and 2 pr + 1 (k-major columns are
// ni * 8 + c): matrices (n 0-7, k 0-3), (n 0-7, k 4-7), (n 8-15, k 0-3), (n 8-15, k 4-7)
// -> (d0, d1) = (b0, b1) of tile 2 pr, (d2, d3) = (b0, b1) of tile 2 pr + 1.
FN_TF32_HD int ldsm_b_offset(int wcol0, int pr, int kk, int lane) {
  const int m = lane >> 3;
  return km_offset(wcol0 + 16 * pr + 8 * (m >> 1) + (lane & 7), kk * 8 + 4 * (m & 1));
}

// Column (within the warp's 64) of column c (0..7) of the warp's mma tile ni (0..7); it is the
// same for B's fragment (n = c) and C's. n-major B fragments are single 32-bit loads (a 128-bit
// load would give b0 of four tiles, and pairing them with b1 costs a register move each), which
// are conflict-free with this map and mn_ld = rows + 8 (bank 8t + g + const).
FN_TF32_HD int b_warp_col(bool k_major, int ni, int c) {
  (void)k_major;
  return ni * 8 + c;
}

// B fragment register e (0..1) for the warp's mma tile ni, the warp's columns from wcol0:
// b0 (k = t, n = g), b1 (k = t+4, n = g).
FN_TF32_HD int b_frag_offset(bool k_major, int rows, int wcol0, int ni, int kk, int lane, int e) {
  const int g = lane >> 2, t = lane & 3;
  const int k = kk * 8 + t + (e ? 4 : 0);
  return tile_offset(k_major, rows, wcol0 + b_warp_col(k_major, ni, g), k);
}
// Accumulator register r (0..3) -> (row, col) inside the 16x8 tile:
// c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
FN_TF32_HD void c_frag_coords(int lane, int r, int& row, int& col) {
  row = (lane >> 2) + ((r >> 1) ? 8 : 0);
  col = 2 * (lane & 3) + (r & 1);
}

// ---- cp.async of one operand tile -------------------------------------------------------------
// The tile is OUTER x INNER in memory order: k-major OUTER = rows, INNER = BK; mn-major OUTER = BK,
// INNER = rows. Thread tid moves, in pass p, the 16-byte chunk at (o, i .. i+3).
FN_TF32_HD int chunk_passes(bool k_major, int rows, int threads) { return rows * BK / 4 / threads; }
FN_TF32_HD void chunk_coords(bool k_major, int rows, int threads, int tid, int p, int& o, int& i) {
  const int inner = k_major ? BK : rows;
  const int cpr = inner / 4;  // chunks per outer line; threads % cpr == 0
  o = tid / cpr + p * (threads / cpr);
  i = (tid % cpr) * 4;
}
// Float offset in the tile of thread tid's pass-p chunk (also where it rounds it to TF32).
FN_TF32_HD int chunk_dst(bool k_major, int rows_tile, int threads, int tid, int p) {
  int o, i;
  chunk_coords(k_major, rows_tile, threads, tid, p, o, i);
  return k_major ? km_offset(o, i) : o * mn_ld(rows_tile) + i;
}
struct Chunk {
  idx src;  // element offset from the operand's base pointer (valid only when bytes > 0)
  int dst;  // float offset in the tile
  int bytes;  // 0..16: the rest of the 16 bytes is zero-filled
};
// X[row, k] = X[row * s_row + k * s_k], the unit stride along the contiguous dimension; the tile
// starts at (row0, k0); rows x K in range.
FN_TF32_HD Chunk chunk_for(bool k_major, int rows_tile, int threads, int tid, int p, idx s_row,
                           idx s_k, idx rows, idx row0, idx K, idx k0) {
  int o, i;
  chunk_coords(k_major, rows_tile, threads, tid, p, o, i);
  const idx row = k_major ? row0 + o : row0 + i;  // first row of the chunk
  const idx k = k_major ? k0 + i : k0 + o;  // first k of the chunk
  const bool outer_ok = k_major ? row < rows : k < K;
  const idx inner_left = k_major ? K - k : rows - row;
  Chunk c;
  c.bytes =
      !outer_ok || inner_left <= 0 ? 0 : (inner_left >= 4 ? 16 : static_cast<int>(inner_left) * 4);
  c.src = c.bytes ? row * s_row + k * s_k : 0;
  c.dst = chunk_dst(k_major, rows_tile, threads, tid, p);
  return c;
}

// Fast path for a tile wholly inside the operand: rows row0 .. row0 + rows_tile - 1 < rows and
// k0 + BK <= K. Every chunk is then a full 16 bytes and thread tid's pass-p chunk of k tile kt
// (k0 = kt * BK) starts at element stream_src0 + p * stream_pass_step + kt * stream_k_step, so
// the kernel keeps one pointer per operand and tile and adds constants (chunk_for, checked equal).
FN_TF32_HD bool stream_full(int rows_tile, idx rows, idx row0, idx K, idx k0) {
  return row0 + rows_tile <= rows && k0 + BK <= K;
}
FN_TF32_HD idx stream_src0(bool k_major, int rows_tile, int threads, int tid, idx s_row, idx s_k,
                           idx row0) {
  int o, i;
  chunk_coords(k_major, rows_tile, threads, tid, 0, o, i);
  return k_major ? (row0 + o) * s_row + i * s_k : (row0 + i) * s_row + o * s_k;
}
FN_TF32_HD idx stream_pass_step(bool k_major, int rows_tile, int threads, idx s_row, idx s_k) {
  const int cpr = (k_major ? BK : rows_tile) / 4;  // as in chunk_coords
  return static_cast<idx>(threads / cpr) * (k_major ? s_row : s_k);
}
FN_TF32_HD idx stream_k_step(idx s_k) { return BK * s_k; }

// ---- tile order -------------------------------------------------------------------------------
// Linear tile id -> (tm, tn): groups of GROUP_M tile rows walked column by column, so the blocks
// running at once share A and B panels in L2.
constexpr int GROUP_M = 8;
FN_TF32_HD void tile_coords(idx id, idx tiles_m, idx tiles_n, idx& tm, idx& tn) {
  const idx per_group = static_cast<idx>(GROUP_M) * tiles_n;
  const idx group = id / per_group;
  const idx first = group * GROUP_M;
  const idx left = tiles_m - first;
  const idx gsize = left < GROUP_M ? left : GROUP_M;
  const idx r = id % per_group;
  tm = first + r % gsize;
  tn = r / gsize;
}

}  // namespace tf32v2
}  // namespace fusednet
