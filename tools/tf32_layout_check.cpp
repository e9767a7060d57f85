// Host-side check of sgemm_tf32_v2_kernel's index math (cuda/gemm_tf32_layout.h), no GPU needed.
// Run: g++ -std=c++17 -O2 -Icuda tools/tf32_layout_check.cpp -o /tmp/tf32_check && /tmp/tf32_check
// (add --quick for the subset the CPU test suite runs)
//
// It replays the kernel block by block on the host with the header's own functions: cp.async
// chunks (source offsets, 16-byte alignment, zero-fill, never reading outside the matrix), the
// STAGES-deep pipeline (stage indices, wait_group counts), the in-place TF32 rounding of each
// thread's own chunks after wait_group (every element a fragment reads must have been rounded
// exactly once since it landed), fragment addresses, ldmatrix.x4 and mma.m16n8k8 .tf32 modelled
// from the PTX ISA descriptions (independent of the header), then the epilogue coordinates.
// Inputs carry bits below TF32 precision: the mma model drops the low 13 bits of each operand
// (what the tensor cores read), rounding is modelled as cvt.rna's +0x1000 on the bit pattern, and
// C must equal, exactly, the sum of products of the inputs rounded to nearest TF32 (ties away)
// by an independent frexp/round reference, for every shape, layout and tile width.
// Shared-memory accesses are checked for bank conflicts per warp (LDS.32: 32 lanes; LDS.64: half
// warps; LDS.128,
// 16-byte cp.async writes and the rounding's 128-bit loads/stores: quarter warps; ldmatrix: each
// 8x8 matrix's 8 row addresses), and the tile order for being a bijection.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

#include "gemm_tf32_layout.h"

using namespace fusednet::tf32v2;

static int g_failures = 0;
static long long fast_chunks = 0;  // k tiles loaded by the interior fast path (must be > 0)
#define CHECK(cond, ...)                                            \
  do {                                                              \
    if (!(cond)) {                                                  \
      if (g_failures < 20) {                                        \
        std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
        std::printf(__VA_ARGS__);                                   \
        std::printf("\n");                                          \
      }                                                             \
      ++g_failures;                                                 \
    }                                                               \
  } while (0)

// Round to nearest TF32 (11 significant bits), ties away from zero: the reference, by arithmetic.
static double rna_ref(double x) {
  if (x == 0 || !std::isfinite(x)) return x;
  int e;
  const double m = std::frexp(x, &e);  // x = m 2^e, 0.5 <= |m| < 1
  return std::ldexp(std::round(std::ldexp(m, 11)), e - 11);  // std::round: halves away from 0
}
static std::uint32_t bits_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
static float float_of(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
// cvt.rna.tf32.f32 as it is implemented (and the mma reads it): finite values get half a TF32 ulp
// (0x1000) added to the bit pattern; the tensor core ignores the low 13 bits (tc_operand).
static float cvt_rna_model(float x) {
  return std::isfinite(x) ? float_of(bits_of(x) + 0x1000u) : x;
}
static double tc_operand(float x) { return float_of(bits_of(x) & ~0x1fffu); }

// An operand X[row, k] laid out with a unit stride along k (k-major) or along rows.
struct Operand {
  bool k_major;
  idx rows, K, s_row, s_k;
  std::vector<float> mem;
  // An integer in [-4, 4] plus j 2^-13, j in [0, 16): below TF32 precision for |x| >= 1 (ties
  // included), exactly representable in float; every sum of products of rounded values is exact
  // in double (multiples of 2^-26 below 2^40).
  double value(idx r, idx k) const {
    const int base = static_cast<int>((r * 7 + k * 13 + (r * k) % 5) % 9) - 4;
    const int j = static_cast<int>((r * 3 + k * 5 + (r * k) % 7) % 16);
    return base + std::ldexp(static_cast<double>(j), -13);
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
  // The operand's memory: padding past the last row / k is NaN, so reading it poisons C.
  o.mem.assign(static_cast<size_t>((k_major ? rows : K) * ld), NAN);
  for (idx r = 0; r < rows; ++r)
    for (idx k = 0; k < K; ++k)
      o.mem[static_cast<size_t>(r * o.s_row + k * o.s_k)] = static_cast<float>(o.value(r, k));
  return o;
}

// One cp.async of thread tid, pass p: checks it and applies it to the tile S, copying from X's
// memory at the (src, bytes) the kernel uses: the stream_* pointer stepping when fast (the kernel's
// interior path), else chunk_for.
static void apply_chunk(const Operand& X, int rows_tile, int threads, int tid, int p, idx row0,
                        idx k0, bool fast, std::vector<float>& S) {
  const Chunk c =
      chunk_for(X.k_major, rows_tile, threads, tid, p, X.s_row, X.s_k, X.rows, row0, X.K, k0);
  idx src = c.src;
  int bytes = c.bytes;
  if (fast) {
    CHECK(stream_full(rows_tile, X.rows, row0, X.K, k0), "fast path outside the interior");
    src = stream_src0(X.k_major, rows_tile, threads, tid, X.s_row, X.s_k, row0) +
          p * stream_pass_step(X.k_major, rows_tile, threads, X.s_row, X.s_k) +
          (k0 / BK) * stream_k_step(X.s_k);
    bytes = 16;
    CHECK(c.bytes == 16 && c.src == src, "fast path chunk (tid %d pass %d) differs from chunk_for",
          tid, p);
  }
  int o, i;
  chunk_coords(X.k_major, rows_tile, threads, tid, p, o, i);
  CHECK(c.dst % 4 == 0, "dst %d not 16-byte aligned", c.dst);
  CHECK(c.dst >= 0 && c.dst + 4 <= tile_floats(X.k_major, rows_tile), "dst %d outside tile", c.dst);
  CHECK(bytes % 4 == 0 && bytes >= 0 && bytes <= 16, "bytes %d", bytes);
  if (bytes) CHECK(src % 4 == 0, "src %lld not 16-byte aligned", (long long)src);
  for (int q = 0; q < 4; ++q) {
    const int lo = X.k_major ? o : i + q, kk = X.k_major ? i + q : o;  // tile coordinates
    const idx r = row0 + lo, k = k0 + kk;
    const bool in = r < X.rows && k < X.K;
    // The chunk's q-th float lands where the fragment reads (row, k) ...
    CHECK(c.dst + q == tile_offset(X.k_major, rows_tile, lo, kk), "dst of (%d,%d)", lo, kk);
    // ... and holds X[r, k] exactly when in range, else 0; nothing outside X is read.
    if (q * 4 < bytes) {
      CHECK(in, "reads outside X: row %lld k %lld", (long long)r, (long long)k);
      CHECK(src + q == r * X.s_row + k * X.s_k, "src offset of (%lld,%lld)", (long long)r,
            (long long)k);
      const bool ok = src + q >= 0 && src + q < static_cast<idx>(X.mem.size());
      CHECK(ok, "src %lld outside X's memory", (long long)(src + q));
      S[c.dst + q] = ok ? X.mem[static_cast<size_t>(src + q)] : NAN;
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

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 as the PTX ISA defines it, on 32-bit data: lanes
// 8i .. 8i+7 supply the addresses of rows 0..7 of matrix i (16 bytes each, 16-byte aligned); an
// 8x8 b16 matrix row is 4 floats and lane L receives row L/4, b16 columns 2(L%4), 2(L%4)+1, i.e.
// float L%4, of matrix i in d_i. addr: float offsets; read(off) returns the shared float there.
// Conflict-free when each matrix's 8 rows fall in distinct 16-byte bank groups.
template <class Read>
static void ldsm_x4_model(const int (&addr)[32], Read read, float (*d)[4], bool check_banks,
                          const char* what) {
  for (int l = 0; l < 32; ++l)
    CHECK(addr[l] % 4 == 0, "%s: row address %d not 16-byte aligned", what, addr[l]);
  for (int i = 0; i < 4; ++i) {
    if (check_banks) {
      std::set<int> groups;
      for (int r = 0; r < 8; ++r) groups.insert((addr[8 * i + r] / 4) % 8);
      CHECK(groups.size() == 8, "%s: ldmatrix matrix %d hits %zu bank groups", what, i,
            groups.size());
    }
    for (int l = 0; l < 32; ++l) d[l][i] = read(addr[8 * i + l / 4] + l % 4);
  }
}

// mma.m16n8k8 .tf32 as the PTX ISA defines it: g = lane / 4, t = lane % 4;
// A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); B: b0 (k=t, n=g), b1 (k=t+4, n=g);
// C/D: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
static void mma_model(double (*acc)[4], float (*a)[4], float (*b)[2]) {
  double A[16][8], B[8][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    A[g][t] = tc_operand(a[lane][0]);
    A[g + 8][t] = tc_operand(a[lane][1]);
    A[g][t + 4] = tc_operand(a[lane][2]);
    A[g + 8][t + 4] = tc_operand(a[lane][3]);
    B[t][g] = tc_operand(b[lane][0]);
    B[t + 4][g] = tc_operand(b[lane][1]);
  }
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane / 4, t = lane % 4;
    const int rr[4] = {g, g, g + 8, g + 8}, cc[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
    for (int r = 0; r < 4; ++r) {
      double s = acc[lane][r];  // exact here (see Operand::value); fp32 rounding is not modelled
      for (int j = 0; j < 8; ++j) s += A[rr[r]][j] * B[j][cc[r]];
      acc[lane][r] = s;
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
    // Times each shared float was rounded since its data landed (-1: never written).
    std::vector<int> rounded(smem.size(), -1);
    for (idx tile = block; tile < tiles_m * tiles_n; tile += grid) {
      idx tm, tn;
      tile_coords(tile, tiles_m, tiles_n, tm, tn);
      const idx m0 = tm * BM, n0 = tn * bn;
      // Pending cp.async groups: (group id, stage, kt) in commit order.
      struct Pending {
        idx kt;
        int stage;
      };
      std::vector<std::vector<Pending>> groups;
      std::vector<idx> stage_tile(STAGES, -1);  // tile whose data has landed in each stage
      auto land = [&](const Pending& p) {
        std::vector<float> sa(a_floats, NAN), sb(stage - a_floats, NAN);
        // The kernel's issue(): interior tiles' full k tiles take the pointer-stepping path.
        const bool fast = stream_full(BM, A.rows, m0, BK, 0) &&
                          stream_full(bn, Bt.rows, n0, BK, 0) && (p.kt + 1) * BK <= K;
        fast_chunks += fast;
        for (int tid = 0; tid < threads; ++tid) {
          for (int q = 0; q < chunk_passes(A.k_major, BM, threads); ++q)
            apply_chunk(A, BM, threads, tid, q, m0, p.kt * BK, fast, sa);
          for (int q = 0; q < chunk_passes(Bt.k_major, bn, threads); ++q)
            apply_chunk(Bt, bn, threads, tid, q, n0, p.kt * BK, fast, sb);
        }
        for (int x = 0; x < a_floats; ++x) smem[p.stage * stage + x] = sa[x];
        for (int x = 0; x < stage - a_floats; ++x) smem[p.stage * stage + a_floats + x] = sb[x];
        for (int x = 0; x < stage; ++x) rounded[p.stage * stage + x] = 0;
        stage_tile[p.stage] = p.kt;
      };
      auto issue = [&](idx kt, int s, std::vector<Pending>& grp) {
        CHECK(s >= 0 && s < STAGES, "stage %d", s);
        grp.push_back({kt, s});
        if (eager) land(grp.back());
      };
      auto commit = [&](std::vector<Pending>& grp) {
        groups.push_back(grp);
        grp.clear();
      };
      size_t retired = 0;
      auto wait_group = [&](int n) {  // all but the newest n groups complete
        while (groups.size() - retired > static_cast<size_t>(n)) {
          if (!eager)
            for (const Pending& p : groups[retired]) land(p);
          ++retired;
        }
      };
      // v2_round_tile: thread tid rounds its own chunks (chunk_dst) of one tile in place.
      auto round_tile = [&](int base, bool km, int rows, bool banks, const char* what) {
        const int passes = chunk_passes(km, rows, threads);
        for (int p = 0; p < passes; ++p) {
          for (int tid = 0; tid < threads; ++tid) {
            const int dst = chunk_dst(km, rows, threads, tid, p);
            CHECK(dst % 4 == 0 && dst >= 0 && dst + 4 <= tile_floats(km, rows), "%s dst %d", what,
                  dst);
            for (int q = 0; q < 4; ++q) {
              float& x = smem[base + dst + q];
              x = cvt_rna_model(x);
              ++rounded[base + dst + q];
            }
          }
          if (banks)
            for (int w = 0; w < warps; ++w) {
              std::vector<int> off(32);
              for (int l = 0; l < 32; ++l) off[l] = chunk_dst(km, rows, threads, 32 * w + l, p);
              check_128(off, what);
            }
        }
      };
      // --- the kernel's schedule, step by step ---
      std::vector<double> acc(static_cast<size_t>(warps) * 32 * 4 * 8 * 4, 0.0);
      auto acc_at = [&](int w, int lane, int mi, int ni, int r) -> double& {
        return acc[(((static_cast<size_t>(w) * 32 + lane) * 4 + mi) * 8 + ni) * 4 + r];
      };
      std::vector<Pending> grp;
      for (int s = 0; s < STAGES - 1; ++s) {
        if (s < ktiles) issue(s, s, grp);
        commit(grp);
      }
      int read_stage = 0, write_stage = STAGES - 1;
      for (idx kt = 0; kt < ktiles; ++kt) {
        wait_group(STAGES - 2);
        CHECK(read_stage == kt % STAGES, "read stage %d at kt %lld", read_stage, (long long)kt);
        const bool banks = check_banks && kt == 0 && tile == block;
        // each thread rounds its chunks of tile kt, then __syncthreads(); then the next tile
        // goes to the stage read in iteration kt-1
        round_tile(read_stage * stage, A.k_major, BM, banks, "A rounding LDS/STS.128");
        round_tile(read_stage * stage + a_floats, Bt.k_major, bn, banks, "B rounding LDS/STS.128");
        CHECK(write_stage != read_stage, "writes the stage being read");
        if (kt + STAGES - 1 < ktiles) issue(kt + STAGES - 1, write_stage, grp);
        commit(grp);
        CHECK(stage_tile[read_stage] == kt, "stage %d holds tile %lld, expected %lld", read_stage,
              (long long)stage_tile[read_stage], (long long)kt);
        const int sa = read_stage * stage, sb = sa + a_floats;
        // A fragment load from shared memory: the element must be rounded exactly once.
        auto read = [&](int base, int limit, int off) -> float {
          CHECK(off >= 0 && off < limit, "fragment offset %d outside the tile", off);
          if (off < 0 || off >= limit) return NAN;
          CHECK(rounded[base + off] == 1, "fragment reads a float rounded %d times",
                rounded[base + off]);
          return smem[base + off];
        };
        auto read_a = [&](int off) { return read(sa, a_floats, off); };
        auto read_b = [&](int off) { return read(sb, stage - a_floats, off); };
        for (int w = 0; w < warps; ++w) {
          const int wm = w % (BM / WARP_M), wn = w / (BM / WARP_M);
          const int w0 = wn * WARP_N;
          for (int kk = 0; kk < BK / 8; ++kk) {
            float af[4][32][4], bf[8][32][2];
            for (int mi = 0; mi < 4; ++mi) {
              const int r0 = wm * WARP_M + mi * 16;
              if (A.k_major) {  // one ldmatrix.x4: d0..d3 = a0..a3
                int addr[32];
                for (int lane = 0; lane < 32; ++lane) addr[lane] = ldsm_a_offset(r0, kk, lane);
                ldsm_x4_model(addr, read_a, af[mi], banks, "A ldmatrix");
              } else {  // (a0, a1), (a2, a3): two 64-bit loads
                for (int e = 0; e < 4; e += 2) {
                  std::vector<int> off(32);
                  for (int lane = 0; lane < 32; ++lane) {
                    off[lane] = a_frag_offset(false, BM, r0, kk, lane, e);
                    CHECK(a_frag_offset(false, BM, r0, kk, lane, e + 1) == off[lane] + 1,
                          "a%d not next to a%d", e + 1, e);
                    af[mi][lane][e] = read_a(off[lane]);
                    af[mi][lane][e + 1] = read_a(off[lane] + 1);
                  }
                  if (banks) check_lds64(off, "A fragment LDS.64");
                }
              }
            }
            if (Bt.k_major) {  // one ldmatrix.x4 per pair of tiles
              for (int pr = 0; pr < 4; ++pr) {
                int addr[32];
                float d[32][4];
                for (int lane = 0; lane < 32; ++lane) addr[lane] = ldsm_b_offset(w0, pr, kk, lane);
                ldsm_x4_model(addr, read_b, d, banks, "B ldmatrix");
                for (int lane = 0; lane < 32; ++lane) {
                  bf[2 * pr][lane][0] = d[lane][0];
                  bf[2 * pr][lane][1] = d[lane][1];
                  bf[2 * pr + 1][lane][0] = d[lane][2];
                  bf[2 * pr + 1][lane][1] = d[lane][3];
                }
              }
            } else {  // one 32-bit load per register
              for (int ni = 0; ni < 8; ++ni)
                for (int e = 0; e < 2; ++e) {
                  std::vector<int> off(32);
                  for (int lane = 0; lane < 32; ++lane) {
                    off[lane] = b_frag_offset(false, bn, w0, ni, kk, lane, e);
                    bf[ni][lane][e] = read_b(off[lane]);
                  }
                  if (banks) check_lds32(off, "B fragment LDS.32");
                }
            }
            for (int mi = 0; mi < 4; ++mi)
              for (int ni = 0; ni < 8; ++ni) {
                double tmp[32][4];
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r) tmp[lane][r] = acc_at(w, lane, mi, ni, r);
                mma_model(tmp, af[mi], bf[ni]);
                for (int lane = 0; lane < 32; ++lane)
                  for (int r = 0; r < 4; ++r) acc_at(w, lane, mi, ni, r) = tmp[lane][r];
              }
          }
        }
        read_stage = read_stage + 1 == STAGES ? 0 : read_stage + 1;
        write_stage = write_stage + 1 == STAGES ? 0 : write_stage + 1;
      }
      wait_group(0);
      // epilogue: row m0 + wm*64 + mi*16 + a_tile_row(fr), column n0 + wn*64 + b_warp_col(ni, fc)
      for (int w = 0; w < warps; ++w) {
        const int wm = w % (BM / WARP_M), wn = w / (BM / WARP_M);
        for (int lane = 0; lane < 32; ++lane)
          for (int mi = 0; mi < 4; ++mi)
            for (int ni = 0; ni < 8; ++ni)
              for (int r = 0; r < 4; ++r) {
                int fr, fc;
                c_frag_coords(lane, r, fr, fc);
                const idx i = m0 + wm * WARP_M + mi * 16 + a_tile_row(A.k_major, fr);
                const idx j = n0 + wn * WARP_N + b_warp_col(Bt.k_major, ni, fc);
                if (i < M && j < N) {
                  C[i * N + j] = acc_at(w, lane, mi, ni, r);
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
      for (idx k = 0; k < K; ++k) want += rna_ref(A.value(i, k)) * rna_ref(Bt.value(j, k));
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

int main(int argc, char** argv) {
  // --quick (the CPU test suite): every layout, tile width, pad and pipeline timing, but only the
  // shapes up to 1.6M multiply-adds and the halved grid only where K is short. The full run
  // (no argument, about 30 s) is for changes to gemm_tf32_layout.h.
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  // Tile order: a bijection for many grid shapes.
  for (idx tm_n : {1, 2, 7, 8, 9, 17, 33})
    for (idx tn_n : {1, 3, 8, 16}) {
      std::set<std::pair<idx, idx>> seen;
      for (idx id = 0; id < tm_n * tn_n; ++id) {
        idx tm, tn;
        tile_coords(id, tm_n, tn_n, tm, tn);
        CHECK(tm >= 0 && tm < tm_n && tn >= 0 && tn < tn_n, "tile %lld out of range",
              (long long)id);
        seen.insert({tm, tn});
      }
      CHECK(static_cast<idx>(seen.size()) == tm_n * tn_n, "tile order not a bijection");
    }
  // b_warp_col: a permutation of the warp's 64 columns for either layout.
  for (bool km : {true, false}) {
    std::set<int> cols;
    for (int ni = 0; ni < 8; ++ni)
      for (int c = 0; c < 8; ++c) cols.insert(b_warp_col(km, ni, c));
    CHECK(cols.size() == 64 && *cols.begin() == 0 && *cols.rbegin() == 63, "b_warp_col");
  }
  // a_tile_row: a permutation of a 16-row mma tile's rows for either layout.
  for (bool km : {true, false}) {
    std::set<int> rows;
    for (int i = 0; i < 16; ++i) rows.insert(a_tile_row(km, i));
    CHECK(rows.size() == 16 && *rows.begin() == 0 && *rows.rbegin() == 15, "a_tile_row");
  }
  // The rounding reference and model agree with each other (cvt.rna then the tensor core's
  // truncation is round to nearest, ties away) on values with bits below TF32 precision.
  for (int j = 0; j < 1 << 14; ++j)
    for (double base : {1.0, -1.0, 3.0, -4.0, 0.0078125}) {
      const float x = static_cast<float>(base * (1.0 + std::ldexp(static_cast<double>(j), -14)));
      CHECK(tc_operand(cvt_rna_model(x)) == rna_ref(x), "rna model at %a", static_cast<double>(x));
    }
  {
    const float inf = INFINITY;
    CHECK(std::isinf(cvt_rna_model(inf)) && std::isnan(cvt_rna_model(NAN)), "inf / NaN kept");
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
  struct Shape {
    idx M, N, K;
  };
  const Shape shapes[] = {
      {1, 1, 1},      {5, 3, 2},    {128, 256, 32}, {129, 257, 33}, {200, 300, 70},
      {127, 131, 97}, {260, 70, 5}, {40, 520, 31},  {300, 9, 129},  {128, 128, 96},
  };
  int cases = 0;
  for (int bn : {128, 256})
    for (bool a_km : {true, false})
      for (bool b_km : {true, false})
        for (const Shape& s : shapes)
          for (idx pad : {0, 4}) {
            if (quick && s.M * s.N * s.K > 1600000) continue;
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
              if (tiles <= 2 || (quick && s.K > 40)) break;
            }
          }
  CHECK(fast_chunks > 0, "the interior fast path was never exercised");
  std::printf("%d simulated GEMMs (%lld k tiles on the fast path); %s (%d failures)\n", cases,
              fast_chunks, g_failures ? "FAILED" : "all OK", g_failures);
  return g_failures ? 1 : 0;
}
