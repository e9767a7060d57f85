// Host-side check of sgemm_tf32_v2_kernel's index math (cuda/gemm_tf32_layout.h), no GPU needed.
// Run: g++ -std=c++17 -O2 -Icuda tools/tf32_layout_check.cpp -o /tmp/tf32_check && /tmp/tf32_check
//
// It replays the kernel block by block on the host with the header's own functions: cp.async
// chunks (source offsets, 16-byte alignment, zero-fill, never reading outside the matrix), the
// STAGES-deep pipeline (stage indices, wait_group counts), fragment addresses, and an mma model
// written from the PTX ISA description of mma.m16n8k8 .tf32 (independent of the header), then the
// epilogue coordinates; C must equal the exact product for every shape, layout and tile width.
// Shared-memory accesses are checked for bank conflicts per warp (LDS.32: 32 lanes, LDS.64: half
// warps, LDS.128 and 16-byte cp.async writes: quarter warps), and the tile order for being a
// bijection.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "gemm_tf32_layout.h"

using namespace fusednet::tf32v2;

static int g_failures = 0;
#define CHECK(cond, ...)                                        \
  do {                                                          \
    if (!(cond)) {                                              \
      if (g_failures < 20) {                                    \
        std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
        std::printf(__VA_ARGS__);                               \
        std::printf("\n");                                      \
      }                                                         \
      ++g_failures;                                             \
    }                                                           \
  } while (0)

// An operand X[row, k] laid out with a unit stride along k (k-major) or along rows.
struct Operand {
  bool k_major;
  idx rows, K, s_row, s_k;
  double value(idx r, idx k) const {  // small integers: every sum below is exact
    return static_cast<double>(static_cast<int>((r * 7 + k * 13 + (r * k) % 5) % 9) - 4);
  }
};

static Operand make_operand(bool k_major, idx rows, idx K, idx pad) {
  Operand o;
  o.k_major = k_major;
  o.rows = rows;
  o.K = K;
  const idx inner = k_major ? K : rows;
  const idx ld = ((inner + 3) / 4) * 4 + pad;  // % 4 == 0, as the host requires
  o.s_row = k_major ? ld : 1;
  o.s_k = k_major ? 1 : ld;
  return o;
}

// One cp.async of thread tid, pass p: checks it and applies it to the tile S.
static void apply_chunk(const Operand& X, int rows_tile, int threads, int tid, int p, idx row0,
                        idx k0, std::vector<float>& S) {
  const Chunk c = chunk_for(X.k_major, rows_tile, threads, tid, p, X.s_row, X.s_k, X.rows, row0,
                            X.K, k0);
  int o, i;
  chunk_coords(X.k_major, rows_tile, threads, tid, p, o, i);
  CHECK(c.dst % 4 == 0, "dst %d not 16-byte aligned", c.dst);
  CHECK(c.dst >= 0 && c.dst + 4 <= tile_floats(X.k_major, rows_tile), "dst %d outside tile", c.dst);
  CHECK(c.bytes % 4 == 0 && c.bytes >= 0 && c.bytes <= 16, "bytes %d", c.bytes);
  if (c.bytes) CHECK(c.src % 4 == 0, "src %lld not 16-byte aligned", (long long)c.src);
  for (int q = 0; q < 4; ++q) {
    const int lo = X.k_major ? o : i + q, kk = X.k_major ? i + q : o;  // tile coordinates
    const idx r = row0 + lo, k = k0 + kk;
    const bool in = r < X.rows && k < X.K;
    // The chunk's q-th float lands where the fragment reads (row, k) ...
    CHECK(c.dst + q == tile_offset(X.k_major, rows_tile, lo, kk), "dst of (%d,%d)", lo, kk);
    // ... and holds X[r, k] exactly when in range, else 0; nothing outside X is read.
    if (q * 4 < c.bytes) {
      CHECK(in, "reads outside X: row %lld k %lld", (long long)r, (long long)k);
      CHECK(c.src + q == r * X.s_row + k * X.s_k, "src offset of (%lld,%lld)", (long long)r,
            (long long)k);
      S[c.dst + q] = static_cast<float>(X.value(r, k));
    } else {
      CHECK(!in, "in-range element (%lld,%lld) zero-filled", (long long)r, (long long)k);
      S[c.dst + q] = 0.0f;
    }
  }
}

// Bank-conflict checks of one warp's accesses (offsets in floats).
static void check_lds32(const std::vector<int>& off, const char* what) {
  for (int bank = 0; bank < 32; ++bank) {
    std::set<int> addrs;
    for (int a : off)
      if (a % 32 == bank) addrs.insert(a);
    CHECK(addrs.size() <= 1, "%s: %zu-way conflict on bank %d", what, addrs.size(), bank);
  }
}
static void check_lds64(const std::vector<int>& off, const char* what) {  // per half warp
  for (int h = 0; h < 2; ++h) {
    std::set<int> units, addrs;
    for (int l = 16 * h; l < 16 * h + 16; ++l) {
      CHECK(off[l] % 2 == 0, "%s: 64-bit load at odd offset %d", what, off[l]);
      if (addrs.insert(off[l]).second) {
        CHECK(units.insert((off[l] / 2) % 16).second, "%s: conflict in half warp %d", what, h);
      }
    }
  }
}
static void check_128(const std::vector<int>& off, const char* what) {  // per quarter warp
  for (int q = 0; q < 4; ++q) {
    std::set<int> units;
    for (int l = 8 * q; l < 8 * q + 8; ++l)
      CHECK(units.insert((off[l] / 4) % 8).second, "%s: conflict in quarter warp %d", what, q);
  }
}

// mma.m16n8k8 .tf32 as the PTX ISA defines it: g = lane / 4, t = lane % 4;
// A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); B: b0 (k=t, n=g), b1 (k=t+4, n=g);
// C/D: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
static void mma_model(float (*acc)[4], float (*a)[4], float (*b)[2]) {
  double A[16][8], B[8][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    A[g][t] = a[lane][0];
    A[g + 8][t] = a[lane][1];
    A[g][t + 4] = a[lane][2];
    A[g + 8][t + 4] = a[lane][3];
    B[t][g] = b[lane][0];
    B[t + 4][g] = b[lane][1];
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    const int rr[4] = {g, g, g + 8, g + 8}, cc[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int r = 0; r < 4; ++r) {
      double s = acc[lane][r];
      for (int j = 0; j < 8; ++j) s += A[rr[r]][j] * B[j][cc[r]];
      acc[lane][r] = static_cast<float>(s);
    }
  }
}

// Replays the whole GEMM C = A @ B (B given as B^T[n, k]) with the given tile width and grid.
// eager: cp.async data lands at issue (catches overwriting a stage still to be read);
// otherwise it lands at the wait_group that retires its group (catches reading too early).
static void simulate(int bn, const Operand& A, const Operand& Bt, idx M, idx N, idx K, idx grid,
                     bool eager, bool check_banks) {
  const int threads = bn, warps = threads / 32;
  const int a_floats = tile_floats(A.k_major, BM);
  const int stage = stage_floats(bn, A.k_major, Bt.k_major);
  const idx tiles_m = (M + BM - 1) / BM, tiles_n = (N + bn - 1) / bn, ktiles = (K + BK - 1) / BK;
  std::vector<double> C(static_cast<size_t>(M * N), NAN);
  std::vector<int> writes(static_cast<size_t>(M * N), 0);
  for (idx block = 0; block < grid; ++block) {
    std::vector<float> smem(static_cast<size_t>(STAGES * stage), NAN);  // never-written = NaN
    for (idx tile = block; tile < tiles_m * tiles_n; tile += grid) {
      idx tm, tn;
      tile_coords(tile, tiles_m, tiles_n, tm, tn);
      const idx m0 = tm * BM, n0 = tn * bn;
      // Pending cp.async groups: (group id, stage, kt) in commit order.
      struct Pending { idx kt; int stage; };
      std::vector<std::vector<Pending>> groups;
      std::vector<idx> stage_tile(STAGES, -1);  // tile whose data has landed in each stage
      auto land = [&](const Pending& p) {
        std::vector<float> sa(a_floats, NAN), sb(stage - a_floats, NAN);
        for (int tid = 0; tid < threads; ++tid) {
          for (int q = 0; q < chunk_passes(A.k_major, BM, threads); ++q)
            apply_chunk(A, BM, threads, tid, q, m0, p.kt * BK, sa);
          for (int q = 0; q < chunk_passes(Bt.k_major, bn, threads); ++q)
            apply_chunk(Bt, bn, threads, tid, q, n0, p.kt * BK, sb);
        }
        for (int x = 0; x < a_floats; ++x) smem[p.stage * stage + x] = sa[x];
        for (int x = 0; x < stage - a_floats; ++x) smem[p.stage * stage + a_floats + x] = sb[x];
        stage_tile[p.stage] = p.kt;
      };
      auto issue = [&](idx kt, int s, std::vector<Pending>& grp) {
        CHECK(s >= 0 && s < STAGES, "stage %d", s);
        grp.push_back({kt, s});
        if (eager) land(grp.back());
      };
      auto commit = [&](std::vector<Pending>& grp) { groups.push_back(grp); grp.clear(); };
      size_t retired = 0;
      auto wait_group = [&](int n) {  // all but the newest n groups complete
        while (groups.size() - retired > static_cast<size_t>(n)) {
          if (!eager)
            for (const Pending& p : groups[retired]) land(p);
          ++retired;
        }
      };
      // --- the kernel's schedule, step by step ---
      std::vector<float> acc(static_cast<size_t>(warps) * 32 * 4 * 8 * 4, 0.0f);
      std::vector<Pending> grp;
      for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ktiles) issue(s, s, grp);
        commit(grp);
      }
      int read_stage = 0, write_stage = STAGES - 1;
      for (idx kt = 0; kt < ktiles; ++kt) {
        wait_group(STAGES - 2);
        // __syncthreads(); then the next tile goes to the stage read in iteration kt-1
        CHECK(write_stage != read_stage, "writes the stage being read");
        if (kt + STAGES - 1 < ktiles) issue(kt + STAGES - 1, write_stage, grp);
        commit(grp);
        CHECK(read_stage == kt % STAGES, "read stage %d at kt %lld", read_stage, (long long)kt);
        CHECK(stage_tile[read_stage] == kt, "stage %d holds tile %lld, expected %lld", read_stage,
              (long long)stage_tile[read_stage], (long long)kt);
        const float* sa = &smem[read_stage * stage];
        const float* sb = sa + a_floats;
        for (int w = 0; w < warps; ++w) {
          const int wm = w % (BM / WARP_M), wn = w / (BM / WARP_M);
          for (int kk = 0; kk < BK / 8; ++kk) {
            float af[4][32][4], bf[8][32][2];
            for (int mi = 0; mi < 4; ++mi) {
              const int r0 = wm * WARP_M + mi * 16;
              for (int e = 0; e < 4; ++e) {
                std::vector<int> off(32);
                for (int lane = 0; lane < 32; ++lane) {
                  off[lane] = a_frag_offset(A.k_major, BM, r0, kk, lane, e);
                  af[mi][lane][e] = sa[off[lane]];
                  if (A.k_major && (e & 2)) {  // a2, a3 come with a0, a1 in one 64-bit load
                    CHECK(off[lane] == a_frag_offset(true, BM, r0, kk, lane, e - 2) + 1,
                          "a%d not adjacent to a%d", e, e - 2);
                  }
                }
                if (check_banks && kt == 0 && tile == block) {
                  if (!A.k_major) check_lds32(off, "A fragment LDS.32");
                  else if (e < 2) check_lds64(off, "A fragment LDS.64");
                }
              }
            }
            for (int ni = 0; ni < 8; ++ni) {
              const int w0 = wn * WARP_N;
              for (int e = 0; e < 2; ++e) {
                std::vector<int> off(32);
                for (int lane = 0; lane < 32; ++lane) {
                  off[lane] = b_frag_offset(Bt.k_major, bn, w0, ni, kk, lane, e);
                  bf[ni][lane][e] = sb[off[lane]];
                  if (Bt.k_major && e == 1)  // (b0, b1): one 64-bit load
                    CHECK(off[lane] == b_frag_offset(true, bn, w0, ni, kk, lane, 0) + 1,
                          "b1 not adjacent to b0");
                  if (!Bt.k_major) {  // b_e of tiles 4 half .. +3: one 128-bit load
                    const int first = b_frag_offset(false, bn, w0, ni & ~3, kk, lane, e);
                    CHECK(first % 4 == 0, "128-bit B load at %d", first);
                    CHECK(off[lane] == first + (ni & 3), "B tile %d not in its run of 4", ni);
                  }
                }
                if (check_banks && kt == 0 && tile == block) {
                  if (!Bt.k_major && (ni & 3) == 0) check_128(off, "B fragment LDS.128");
                  else if (Bt.k_major && e == 0) check_lds64(off, "B fragment LDS.64");
                }
              }
            }
            for (int mi = 0; mi < 4; ++mi)
              for (int ni = 0; ni < 8; ++ni) {
                float tmp[32][4];
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r)
                    tmp[lane][r] = acc[(((static_cast<size_t>(w) * 32 + lane) * 4 + mi) * 8 + ni) * 4 + r];
                mma_model(tmp, af[mi], bf[ni]);
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r)
                    acc[(((static_cast<size_t>(w) * 32 + lane) * 4 + mi) * 8 + ni) * 4 + r] = tmp[lane][r];
              }
          }
        }
        read_stage = read_stage + 1 == STAGES ? 0 : read_stage + 1;
        write_stage = write_stage + 1 == STAGES ? 0 : write_stage + 1;
      }
      wait_group(0);
      // epilogue: store_one(m0 + wm*64 + mi*16 + row, n0 + wn*64 + ni*8 + col) for in-range ones
      for (int w = 0; w < warps; ++w) {
        const int wm = w % (BM / WARP_M), wn = w / (BM / WARP_M);
        for (int lane = 0; lane < 32; ++lane)
          for (int mi = 0; mi < 4; ++mi)
            for (int ni = 0; ni < 8; ++ni)
              for (int r = 0; r < 4; ++r) {
                int fr, fc;
                c_frag_coords(lane, r, fr, fc);
                const idx i = m0 + wm * WARP_M + mi * 16 + fr;
                const idx j = n0 + wn * WARP_N + b_warp_col(Bt.k_major, ni, fc);
                if (i < M && j < N) {
                  C[i * N + j] = acc[(((static_cast<size_t>(w) * 32 + lane) * 4 + mi) * 8 + ni) * 4 + r];
                  ++writes[i * N + j];
                }
              }
      }
    }
  }
  int bad = 0;
  for (idx i = 0; i < M; ++i)
    for (idx j = 0; j < N; ++j) {
      double want = 0;
      for (idx k = 0; k < K; ++k) want += A.value(i, k) * Bt.value(j, k);
      if (writes[i * N + j] != 1 || !(C[i * N + j] == want)) {
        if (bad++ < 3)
          std::printf("  C[%lld,%lld] = %g (written %d times), want %g\n", (long long)i,
                      (long long)j, C[i * N + j], writes[i * N + j], want);
      }
    }
  CHECK(bad == 0, "bn %d A %s B %s M %lld N %lld K %lld grid %lld %s: %d wrong", bn,
        A.k_major ? "k-major" : "m-major", Bt.k_major ? "k-major" : "n-major", (long long)M,
        (long long)N, (long long)K, (long long)grid, eager ? "eager" : "lazy", bad);
}

// cp.async write conflicts for every warp and pass of one tile.
static void check_store_banks(bool k_major, int rows, int threads) {
  for (int p = 0; p < chunk_passes(k_major, rows, threads); ++p)
    for (int w = 0; w < threads / 32; ++w) {
      std::vector<int> off(32);
      for (int lane = 0; lane < 32; ++lane) {
        const Chunk c = chunk_for(k_major, rows, threads, w * 32 + lane, p, 0, 0, 0, 0, 0, 0);
        off[lane] = c.dst;
      }
      check_128(off, k_major ? "k-major cp.async" : "mn-major cp.async");
    }
}

// Every (row, k) of a tile is written by exactly one (thread, pass).
static void check_tile_cover(bool k_major, int rows, int threads) {
  std::vector<int> hit(static_cast<size_t>(tile_floats(k_major, rows)), 0);
  for (int tid = 0; tid < threads; ++tid)
    for (int p = 0; p < chunk_passes(k_major, rows, threads); ++p) {
      const Chunk c = chunk_for(k_major, rows, threads, tid, p, 0, 0, 0, 0, 0, 0);
      for (int q = 0; q < 4; ++q) ++hit[c.dst + q];
    }
  for (int r = 0; r < rows; ++r)
    for (int k = 0; k < BK; ++k)
      CHECK(hit[tile_offset(k_major, rows, r, k)] == 1, "(%d,%d) hit %d times", r, k,
            hit[tile_offset(k_major, rows, r, k)]);
  CHECK(chunk_passes(k_major, rows, threads) * threads * 4 == rows * BK, "passes");
}

int main() {
  // Tile order: a bijection for many grid shapes.
  for (idx tm_n : {1, 2, 7, 8, 9, 17, 33})
    for (idx tn_n : {1, 3, 8, 16}) {
      std::set<std::pair<idx, idx>> seen;
      for (idx id = 0; id < tm_n * tn_n; ++id) {
        idx tm, tn;
        tile_coords(id, tm_n, tn_n, tm, tn);
        CHECK(tm >= 0 && tm < tm_n && tn >= 0 && tn < tn_n, "tile %lld out of range", (long long)id);
        seen.insert({tm, tn});
      }
      CHECK(static_cast<idx>(seen.size()) == tm_n * tn_n, "tile order not a bijection");
    }
  // b_warp_col: a permutation of the warp's 64 columns for either layout; the n-major epilogue's
  // runs of 4 (nmajor_c_run) hold exactly C columns b_warp_col(4 half + q, 2t + p).
  for (bool km : {true, false}) {
    std::set<int> cols;
    for (int ni = 0; ni < 8; ++ni)
      for (int c = 0; c < 8; ++c) cols.insert(b_warp_col(km, ni, c));
    CHECK(cols.size() == 64 && *cols.begin() == 0 && *cols.rbegin() == 63, "b_warp_col");
  }
  for (int half = 0; half < 2; ++half)
    for (int t = 0; t < 4; ++t)
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 4; ++q)
          CHECK(nmajor_c_run(half, t, p) + q == b_warp_col(false, 4 * half + q, 2 * t + p),
                "n-major epilogue run (half %d t %d p %d q %d)", half, t, p, q);
  // frag_k: a permutation of 0..7.
  {
    std::set<int> ks;
    for (int j = 0; j < 8; ++j) ks.insert(frag_k(j));
    CHECK(ks.size() == 8 && *ks.begin() == 0 && *ks.rbegin() == 7, "frag_k");
  }
  for (int bn : {128, 256}) {
    for (bool km : {true, false}) {
      check_store_banks(km, BM, bn);
      check_store_banks(km, bn, bn);
      check_tile_cover(km, BM, bn);
      check_tile_cover(km, bn, bn);
    }
    std::printf("bn %d: smem bytes (A k/m-major, B k/n-major): kk %d, km %d, mk %d, mm %d\n", bn,
                smem_bytes(bn, true, true), smem_bytes(bn, true, false),
                smem_bytes(bn, false, true), smem_bytes(bn, false, false));
  }
  struct Shape { idx M, N, K; };
  const Shape shapes[] = {
      {1, 1, 1},      {5, 3, 2},     {128, 256, 32}, {129, 257, 33}, {200, 300, 70},
      {127, 131, 97}, {260, 70, 5},  {40, 520, 31},  {300, 9, 129},  {128, 128, 96},
  };
  int cases = 0;
  for (int bn : {128, 256})
    for (bool a_km : {true, false})
      for (bool b_km : {true, false})
        for (const Shape& s : shapes)
          for (idx pad : {0, 4}) {
            const Operand A = make_operand(a_km, s.M, s.K, pad);
            const Operand Bt = make_operand(b_km, s.N, s.K, pad * 2);
            const idx tiles = ((s.M + BM - 1) / BM) * ((s.N + bn - 1) / bn);
            // grid = tiles (one tile a block) and, where there are several, fewer blocks than
            // tiles (the grid-stride loop reuses shared memory across tiles).
            for (idx grid : {tiles, tiles > 2 ? tiles / 2 : tiles}) {
              for (bool eager : {true, false}) {
                simulate(bn, A, Bt, s.M, s.N, s.K, grid, eager, pad == 0 && eager);
                ++cases;
              }
              if (tiles <= 2) break;
            }
          }
  std::printf("%d simulated GEMMs; %s (%d failures)\n", cases, g_failures ? "FAILED" : "all OK",
              g_failures);
  return g_failures ? 1 : 0;
}
