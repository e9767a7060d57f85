// gemm driver: C = act(alpha * A @ B + beta * C + bias), A [M, K], B [K, N], C [M, N] by element
// strides (any sign, any value: NN / NT / TN / TT and every NumPy view are just strides).
//
// The Goto/BLIS structure (the reference is gemm_ref.cpp), shared out as tasks:
//   for jc in N by NC:                      one pool job per jc block
//     tasks = (ic, N chunk) pairs           each thread owns a range, steals from others' ends
//       for pc in K by KC:                  K order fixed by K alone -> same bits on any threads
//         pack A[ic, pc] into MR-tall micro-panels (the thread's own buffer, reused by its next
//           task on the same ic)
//         for jr in the chunk by NR:        B micro-panel (pc, jr) packed by the first thread
//           for ir in mc by MR:             that needs it, into a buffer holding all of K
//             micro-kernel on an MR x NR tile (gemm_<isa>.cpp)
// No barrier inside a jc block: a thread never waits for another's K pass, and one that the OS
// has descheduled leaves its remaining tasks to the others.
// The epilogue rides on the K passes: the first applies beta (beta == 0 never reads C), later
// ones accumulate, the last adds the bias and applies relu / leaky_relu in registers; sigmoid,
// tanh and gelu run right after over the block's rows while they are still in cache.
// Small problems with a narrow C (tiny nets, narrow output layers) run the small kernel on A and B
// in place (run_small); other small ones (up to sup_max_work) run the sup path (run_sup: A read
// in place, B in place or packed once, no tasks; on the caller's thread below parallel_min_work);
// short M reads a row-major B in place.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_kernels.h"
#include "runtime/thread_pool.h"

namespace fusednet {

const GemmKernels& gemm_kernels(CpuIsa isa) {
  return pick_kernels(isa, &gemm_kernels_generic, FN_X86_KERNELS(gemm_kernels_avx2),
                      FN_X86_KERNELS(gemm_kernels_avx512));
}

namespace gemm_detail {

void apply_activation(Activation act, float param, float* c, index_t m, index_t n, index_t rs_c,
                      index_t cs_c) {
  if (act == Activation::Linear || m == 0 || n == 0) return;
  if (act == Activation::ReLU || act == Activation::LeakyReLU) {
    const float slope = act == Activation::ReLU ? 0.0f : param;
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j) {
        float& v = c[i * rs_c + j * cs_c];
        if (v < 0.0f) v = act == Activation::ReLU ? 0.0f : v * slope;
      }
    return;
  }
  constexpr index_t kChunk = 256;
  float buf[kChunk];
  for (index_t i = 0; i < m; ++i) {
    float* row = c + i * rs_c;
    if (cs_c == 1) {
      activation_forward_cpu(act, param, row, row, n);
      continue;
    }
    for (index_t j0 = 0; j0 < n; j0 += kChunk) {
      const index_t len = std::min(kChunk, n - j0);
      for (index_t j = 0; j < len; ++j) buf[j] = row[(j0 + j) * cs_c];
      activation_forward_cpu(act, param, buf, buf, len);
      for (index_t j = 0; j < len; ++j) row[(j0 + j) * cs_c] = buf[j];
    }
  }
}

namespace {

// Packing buffers, grown once per calling thread and reused (a gemm call never allocates after
// the first one of its size).
struct AlignedBuffer {
  void* raw = nullptr;  // malloc'ed; ptr is its first 64-byte boundary (portable, no aligned_alloc)
  float* ptr = nullptr;
  size_t capacity = 0;
  float* get(size_t n) {
    if (n > capacity) {
      std::free(raw);
      raw = std::malloc(n * sizeof(float) + 64);
      if (!raw) {
        ptr = nullptr;
        capacity = 0;
        throw std::bad_alloc();
      }
      ptr = reinterpret_cast<float*>((reinterpret_cast<std::uintptr_t>(raw) + 63) &
                                     ~static_cast<std::uintptr_t>(63));
      capacity = n;
    }
    return ptr;
  }
  ~AlignedBuffer() { std::free(raw); }
};
thread_local AlignedBuffer tl_pack_b;
thread_local AlignedBuffer tl_pack_a;

// Work (M * N * K) below which one thread does it all: a fork/join costs more than it saves.
std::atomic<double> g_parallel_min_work{1 << 20};
// A is packed once each A block feeds at least this many columns; below, the kernel reads A in
// place (packing would cost more than the contiguous reads save).
std::atomic<index_t> g_pack_a_min_n{48};
// Up to this many rows of C, a row-major B is read in place instead of packed: each B element is
// used M times only, so the copy would cost a fair share of the work.
std::atomic<index_t> g_direct_b_max_m{32};

// Work (M * N * K) up to which the small path runs (when C is narrow enough in one orientation):
// there packing, blocking and tile buffers would cost more than the arithmetic.
std::atomic<double> g_small_max_work{1 << 18};

// Work (M * N * K) up to which the sup path runs (chosen by shape alone): below it packing A and
// the task machinery cost more than they save (measured on Zen 4: 64^3 NN 6.3 us sup vs 7.5 us
// blocked, 128x256x128 NN 78 us vs 86 us, one thread).
constexpr double kSupMaxWork = 1 << 22;
std::atomic<double> g_sup_max_work{kSupMaxWork};

// 0: the automatic task split; 1: one-panel N chunks (the most tasks, stealing and shared B
// panels); 2: as 1, and a thread never waits for a panel another is packing (packs a copy).
std::atomic<int> g_split_n{0};

// A B block of at most this many floats (16 KiB) stays in L1 whatever the loop order.
constexpr index_t kSmallBlockFloats = 4096;

bool is_tile_act(Activation act) {
  return act == Activation::Linear || act == Activation::ReLU || act == Activation::LeakyReLU;
}

int tile_act_code(Activation act) {
  if (act == Activation::ReLU) return kTileReLU;
  if (act == Activation::LeakyReLU) return kTileLeakyReLU;
  return kTileNone;
}

struct Problem {
  index_t M, N, K;
  float alpha;
  const float* A;
  index_t rs_a, cs_a;
  const float* B;
  index_t rs_b, cs_b;
  float beta;
  float* C;
  index_t rs_c, cs_c;
  Epilogue ep;
};

// K == 0 or alpha == 0: C = act(beta * C + bias) without touching A or B.
void scale_only(const Problem& p) {
  for (index_t i = 0; i < p.M; ++i)
    for (index_t j = 0; j < p.N; ++j) {
      float& c = p.C[i * p.rs_c + j * p.cs_c];
      float v = p.beta == 0.0f ? 0.0f : p.beta * c;
      if (p.ep.bias) v += p.ep.bias[j];
      c = v;
    }
  apply_activation(p.ep.act, p.ep.act_param, p.C, p.M, p.N, p.rs_c, p.cs_c);
}

// The K pass length of the blocked path: balanced blocks of at most ks.kc, from K alone.
index_t k_pass(index_t K, const GemmKernels& ks) { return ceil_div(K, ceil_div(K, ks.kc)); }

// C^T = B^T A^T: the same product with the roles of rows and columns swapped (no bias: it would
// lie along the other dimension).
Problem transposed(const Problem& p) {
  return Problem{p.N,    p.M,    p.K,    p.alpha, p.B,    p.cs_b, p.rs_b, p.A,
                 p.cs_a, p.rs_a, p.beta, p.C,     p.cs_c, p.rs_c, p.ep};
}

}  // namespace

// Small problems (the layers of a tiny net, a narrow output layer on a small batch): C in one
// pass of the small kernel, vectors along the columns of C, nothing packed, nothing allocated,
// no parallel region. The kernel needs B by rows (unit column stride) and at most 2 vectors of
// columns; of the orientations that allow it, the one with fewer vector FMAs and row stores is
// taken.
int small_plan(index_t M, index_t N, index_t K, index_t rs_a, index_t cs_a, index_t rs_b,
               index_t cs_b, index_t rs_c, index_t cs_c, bool bias, int simd_width) {
  const double work = static_cast<double>(M) * static_cast<double>(N) * K;
  if (K <= 0 || work > g_small_max_work.load(std::memory_order_relaxed)) return -1;
  const index_t W = simd_width;
  // Each group of 4 rows walks down all of K in A; when every k is on another cache line, a
  // long walk (over 64 lines, fewer still at power-of-two strides) is evicted from L1 before
  // the next group reuses it, unless there is only one pass of groups (measured on Zen 3:
  // a TN 128x10x128 runs 15% slower here than packed).
  const auto fits = [&](index_t rows, index_t cols, index_t cs_a_, index_t cs_b_) {
    const index_t stride = cs_a_ < 0 ? -cs_a_ : cs_a_;
    return cs_b_ == 1 && cols <= 2 * W && (stride <= 16 || K <= 64 || rows <= 16);
  };
  // Narrow rows of C in whole vectors beat any orientation whose vectors run mostly empty.
  if (narrow_rows_fit(M, N, K, rs_a, cs_a, cs_b, rs_c, cs_c, simd_width)) return 0;
  const bool plain_ok = fits(M, N, cs_a, cs_b);
  const bool trans_ok = !bias && rs_a == 1 && fits(N, M, rs_b, rs_a);
  if (!plain_ok && !trans_ok) return -1;
  // Vector FMAs plus the row epilogues (element by element when C's columns are strided).
  const auto cost = [&](index_t rows, index_t cols, index_t cs) {
    return static_cast<double>(rows) *
           (static_cast<double>(K * ceil_div(cols, W)) + (cs == 1 ? 2.0 : 2.0 + cols));
  };
  return trans_ok && (!plain_ok || cost(N, M, rs_c) < cost(M, N, cs_c)) ? 1 : 0;
}

namespace {

bool run_small(const Problem& p, const GemmKernels& ks) {
  const int plan = small_plan(p.M, p.N, p.K, p.rs_a, p.cs_a, p.rs_b, p.cs_b, p.rs_c, p.cs_c,
                              p.ep.bias != nullptr, ks.simd_width);
  if (plan < 0) return false;
  const Problem q = plan == 1 ? transposed(p) : p;
  const Activation act = q.ep.act;
  TileEpilogue ep;
  ep.alpha = q.alpha;
  ep.beta = q.beta;
  ep.bias = q.ep.bias;
  ep.act = is_tile_act(act) ? tile_act_code(act) : kTileNone;
  ep.act_param = q.ep.act_param;
  // C at most half a vector wide that the narrow-row form does not take (a long K: the tiny
  // net's weight gradients) runs on the half-width ISA's small kernel: the same arithmetic per
  // element and the same K passes, at half the FMA cost where a 512-bit FMA is two 256-bit ones
  // (Zen 4), never more elsewhere.
  const GemmKernels* run_on = &ks;
  if (ks.simd_width == 16 && q.N <= 8 &&
      !narrow_rows_fit(q.M, q.N, q.K, q.rs_a, q.cs_a, 1, q.rs_c, q.cs_c, ks.simd_width)) {
    const GemmKernels& half = gemm_kernels(CpuIsa::Avx2);
    if (half.simd_width == 8) run_on = &half;
  }
  run_on->small(q.M, q.N, q.K, k_pass(q.K, ks), q.A, q.rs_a, q.cs_a, q.B, q.rs_b, q.C, q.rs_c,
                q.cs_c, ep);
  if (!is_tile_act(act)) apply_activation(act, q.ep.act_param, q.C, q.M, q.N, q.rs_c, q.cs_c);
  return true;
}

// The sup path: C in panels of NR columns, A read in place, B read in place when its rows are
// contiguous and otherwise packed once over all of K (the only copy), on the caller's thread, or
// from parallel_min_work up as row (or column) pieces claimed by the threads: the pieces share
// nothing but the read-only A and B, and every element's arithmetic is the blocked path's, so
// neither the split nor the thread count changes a bit.
bool run_sup(const Problem& p, const GemmKernels& ks, int threads_wanted, double max_work) {
  const double work = static_cast<double>(p.M) * static_cast<double>(p.N) * p.K;
  if (work > max_work) return false;
  const index_t MR = ks.mr, NR = ks.nr, kb = k_pass(p.K, ks);
  const bool pack = p.cs_b != 1;
  // Packed, B's panel q lies at q * K * NR (one whole-K panel after another).
  const index_t rs_b = pack ? NR : p.rs_b, panel_stride = pack ? p.K * NR : NR;
  const auto pack_panels = [&](float* to, index_t j0, index_t j1) {
    ks.pack_b(p.K, j1 - j0, p.B + j0 * p.cs_b, p.rs_b, p.cs_b, to + j0 / NR * panel_stride);
  };
  const Activation act = p.ep.act;
  TileEpilogue ep;
  ep.alpha = p.alpha;
  ep.beta = p.beta;
  ep.act = is_tile_act(act) ? tile_act_code(act) : kTileNone;
  ep.act_param = p.ep.act_param;
  // A last panel of at most half a vector of columns (N = 100 on AVX-512: 3 x 32 + 4) runs on
  // the half-width ISA's small kernel: the same arithmetic per element (SmallKernel, kb passes),
  // at half the FMA cost where a 512-bit FMA is two 256-bit ones (Zen 4), never more elsewhere.
  const GemmKernels* narrow = ks.simd_width == 16 ? &gemm_kernels(CpuIsa::Avx2) : nullptr;
  if (narrow && narrow->simd_width != 8) narrow = nullptr;  // (a build without the AVX2 table)
  // Rows [i0, i1) x columns [j0, j1) of C, j0 on a panel boundary, B's panels in b.
  const auto part = [&](const float* b, index_t i0, index_t i1, index_t j0, index_t j1) {
    TileEpilogue e = ep;
    e.bias = p.ep.bias ? p.ep.bias + j0 : nullptr;
    float* c = p.C + i0 * p.rs_c + j0 * p.cs_c;
    const index_t tail = (j1 - j0) % NR;
    const index_t wide =
        narrow && tail > 0 && tail <= narrow->simd_width ? j1 - j0 - tail : j1 - j0;
    if (wide > 0)
      ks.sup(i1 - i0, wide, p.K, kb, p.A + i0 * p.rs_a, p.rs_a, p.cs_a, b + j0 / NR * panel_stride,
             rs_b, panel_stride, c, p.rs_c, p.cs_c, e);
    if (wide < j1 - j0) {
      const index_t jt = j0 + wide;
      e.bias = p.ep.bias ? p.ep.bias + jt : nullptr;
      narrow->small(i1 - i0, tail, p.K, kb, p.A + i0 * p.rs_a, p.rs_a, p.cs_a,
                    b + jt / NR * panel_stride, rs_b, c + wide * p.cs_c, p.rs_c, p.cs_c, e);
    }
    if (!is_tile_act(act))
      apply_activation(act, p.ep.act_param, c, i1 - i0, j1 - j0, p.rs_c, p.cs_c);
  };
  const size_t packed_size = static_cast<size_t>(ceil_div(p.N, NR) * panel_stride);
  const int nt = work >= g_parallel_min_work.load(std::memory_order_relaxed) ? threads_wanted : 1;
  if (nt <= 1) {
    float* packed = pack ? tl_pack_b.get(packed_size) : nullptr;
    if (pack) pack_panels(packed, 0, p.N);
    part(pack ? packed : p.B, 0, p.M, 0, p.N);
    return true;
  }
  // Pieces of whole register tiles along the dimension whose tiles share out more evenly (128
  // rows are 11 tiles of 12, 6 + 5 on two threads; 128 columns are 4 panels, 2 + 2); up to 16
  // pieces per thread, so a worker that joins late or a thread slowed by another process hands
  // work over (Zen 4, 2 threads: 784x32x256 TN 82 -> 73 us, 784x128x256 TN 263 -> 243 us with
  // 16 against 4 per thread; NN and NT unchanged).
  const index_t tm = ceil_div(p.M, MR), tn = ceil_div(p.N, NR);
  const auto balance = [nt](index_t tiles) {
    return static_cast<double>(tiles) / static_cast<double>(ceil_div(tiles, index_t{nt}) * nt);
  };
  const auto grain = [nt](index_t tiles) {
    return ceil_div(tiles, std::min(tiles, index_t{16} * nt));
  };
  if (balance(tn) > balance(tm) || (balance(tn) == balance(tm) && tn > tm)) {
    // Each piece packs the panels it uses (if B needs packing) into its thread's own buffer:
    // no copy made on one thread while the others wait (an NT 128 x 128 x 256 spent ~8% so).
    parallel_for(p.N, grain(tn) * NR, nt, [&](index_t j0, index_t j1) {
      float* packed = pack ? tl_pack_b.get(packed_size) : nullptr;
      if (pack) pack_panels(packed, j0, j1);
      part(pack ? packed : p.B, 0, p.M, j0, j1);
    });
    return true;
  }
  // Every row piece reads all of B: the threads pack its panels first, into the caller's buffer.
  float* packed = pack ? tl_pack_b.get(packed_size) : nullptr;
  if (pack)
    parallel_for(p.N, grain(tn) * NR, nt,
                 [&](index_t j0, index_t j1) { pack_panels(packed, j0, j1); });
  parallel_for(p.M, grain(tm) * MR, nt,
               [&](index_t i0, index_t i1) { part(pack ? packed : p.B, i0, i1, 0, p.N); });
  return true;
}

// Tasks are (M block, N chunk) pairs, ic-major. Thread t owns a contiguous range of them, pops
// from its front and, once that is empty, steals from the back of the fullest other range; a
// core slowed by another process then hands its work over instead of holding everyone up (a
// static split waits for its slowest thread). One word per thread: lo | hi << 32.
struct alignas(64) TaskRange {
  std::atomic<std::uint64_t> bounds{0};
};

std::uint64_t pack_range(std::uint64_t lo, std::uint64_t hi) { return lo | (hi << 32); }

index_t pop_front(TaskRange& r) {
  std::uint64_t v = r.bounds.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint64_t lo = v & 0xffffffffu, hi = v >> 32;
    if (lo >= hi) return -1;
    if (r.bounds.compare_exchange_weak(v, pack_range(lo + 1, hi), std::memory_order_relaxed))
      return static_cast<index_t>(lo);
  }
}

index_t steal_back(TaskRange* ranges, int team, int self) {
  for (;;) {
    int victim = -1;
    std::uint64_t most = 0, seen = 0;
    for (int t = 0; t < team; ++t) {
      if (t == self) continue;
      const std::uint64_t v = ranges[t].bounds.load(std::memory_order_relaxed);
      const std::uint64_t lo = v & 0xffffffffu, hi = v >> 32;
      if (hi > lo && hi - lo > most) most = hi - lo, victim = t, seen = v;
    }
    if (victim < 0) return -1;
    const std::uint64_t lo = seen & 0xffffffffu, hi = seen >> 32;
    if (ranges[victim].bounds.compare_exchange_strong(seen, pack_range(lo, hi - 1),
                                                      std::memory_order_relaxed))
      return static_cast<index_t>(hi - 1);
  }
}

// Per-call scratch, grown once per calling thread: the task ranges and the B panel states.
thread_local std::vector<TaskRange> tl_ranges;
thread_local std::vector<std::atomic<std::int32_t>> tl_panel_state;

// The packed B of one jc block for all of K (pass after pass) is capped at this many floats
// (16 MiB); past it the jc blocks get narrower. The packed A of one M block for all of K is kept
// (and reused by the next task on the same block) up to this many floats per thread.
constexpr index_t kMaxPackedB = index_t{1} << 22;
constexpr index_t kMaxPackedA = index_t{1} << 18;

void run_blocked(const Problem& p, const GemmKernels& ks, int threads_wanted) {
  const index_t MR = ks.mr, NR = ks.nr;
  // Balanced blocks: sizes depend on the problem only, never on the thread count.
  const index_t kc_max = k_pass(p.K, ks), n_pc = ceil_div(p.K, kc_max);
  const index_t nc_cap = std::max(NR, kMaxPackedB / (n_pc * kc_max) / NR * NR);
  const index_t n_jc = ceil_div(p.N, std::min(ks.nc, nc_cap));
  const index_t nc_max = round_up(ceil_div(p.N, n_jc), NR);
  // M blocks of equal rows (to a few), not of equal whole register tiles: the tasks then cost
  // the same and two threads get the same work (784 rows as 168 x 4 + 112 left one thread 7%
  // more on 10 tasks). Block boundaries on multiples of g rows keep every tail tile
  // throughput-bound: 4 or 8 rows of a 12-row tile; a 6-row tile's tails of 2 are not
  // (4 accumulators for 2 FMA pipes of latency 4), so there whole tiles.
  const index_t n_ic = ceil_div(p.M, ks.mc), g = MR % 4 == 0 ? 4 : MR;
  const auto block_row = [&](index_t i) {
    return i >= n_ic ? p.M : std::min(p.M, (p.M * i / n_ic + g / 2) / g * g);
  };
  index_t mc_max = 0;
  for (index_t i = 0; i < n_ic; ++i) mc_max = std::max(mc_max, block_row(i + 1) - block_row(i));
  const index_t mc_pad = round_up(mc_max, MR);  // the packed height of the largest block
  // Packing A pays off once the block feeds enough columns (measured on Zen 3 with
  // tools/gemm_bench.py: from N = 128 up packed A is 5-25% faster, for N = 10 read in place).
  const index_t ncols = std::min(p.N, nc_max);
  const bool pack_a = ncols >= g_pack_a_min_n.load(std::memory_order_relaxed);
  const bool direct_b = p.cs_b == 1 && p.M <= g_direct_b_max_m.load(std::memory_order_relaxed);
  const bool a_all_passes = mc_pad * kc_max * n_pc <= kMaxPackedA;

  const double work = static_cast<double>(p.M) * static_cast<double>(p.N) * p.K;
  int nt = work >= g_parallel_min_work.load(std::memory_order_relaxed) ? threads_wanted : 1;
  // N chunks per M block: about 8 tasks per thread to share out, chunks of at least 4 panels
  // (each B panel in L1 serves a whole A block; fewer panels, and the A block reloads more
  // often than it is used). The split_n knob forces one-panel chunks (the most stealing).
  const index_t max_panels = ceil_div(nc_max, NR);
  index_t n_jp = 1;
  if (nt > 1) n_jp = std::min(ceil_div(8 * nt, n_ic), std::max<index_t>(1, max_panels / 4));
  const int split_mode = g_split_n.load(std::memory_order_relaxed);
  if (split_mode >= 1) n_jp = max_panels;
  // Mode 2 (tests): never wait for a panel another thread is packing, pack a copy.
  const int panel_spins = split_mode == 2 ? 0 : 256;
  const index_t n_tasks = n_ic * n_jp;  // < 2^32: n_ic <= M / MR and n_jp <= nc / NR
  if (static_cast<index_t>(nt) > n_tasks) nt = static_cast<int>(n_tasks);

  const index_t b_pass = kc_max * nc_max;
  float* bbuf = tl_pack_b.get(static_cast<size_t>(n_pc * b_pass));
  // Per thread: its packed A (when A is packed) and room for B panels of its own (see `panel`:
  // one, or a short-K block's), each on 64-byte boundaries.
  const index_t a_size = pack_a ? round_up(mc_pad * kc_max * (a_all_passes ? n_pc : 1), 16) : 0;
  const index_t own_size = a_size + round_up(kSmallBlockFloats + kc_max * NR, 16);
  float* own_all = tl_pack_a.get(static_cast<size_t>(nt * own_size));
  // A B panel's state for jc block g: below 2g+1 not packed yet, 2g+1 being packed, 2g+2 ready.
  if (tl_panel_state.size() < static_cast<size_t>(n_pc * max_panels))
    tl_panel_state = std::vector<std::atomic<std::int32_t>>(static_cast<size_t>(n_pc * max_panels));
  std::atomic<std::int32_t>* panel_state = tl_panel_state.data();
  for (index_t i = 0; i < n_pc * max_panels; ++i)
    panel_state[i].store(0, std::memory_order_relaxed);
  if (tl_ranges.size() < static_cast<size_t>(n_jc) * nt)
    tl_ranges = std::vector<TaskRange>(static_cast<size_t>(n_jc) * nt);
  TaskRange* ranges = tl_ranges.data();
  // Thread t starts at the task whose midpoint passes t / nt of the block's work (rows x
  // columns): N chunks of unequal panel counts or a narrow last panel do not load one thread
  // more than its share (equal task counts did, by up to one task).
  for (index_t g = 0; g < n_jc; ++g) {
    const index_t nc = std::min(nc_max, p.N - g * nc_max), panels = ceil_div(nc, NR);
    const auto cost = [&](index_t t) {
      const index_t jp = t % n_jp, i = t / n_jp;
      const index_t q0 = panels * jp / n_jp, q1 = panels * (jp + 1) / n_jp;
      return (block_row(i + 1) - block_row(i)) * (std::min(nc, q1 * NR) - q0 * NR);
    };
    index_t total = 0;
    for (index_t t = 0; t < n_tasks; ++t) total += cost(t);
    std::uint64_t start = 0;
    index_t done = 0, t = 0;
    for (int th = 0; th < nt; ++th) {
      // done + cost(t) / 2 < total * (th + 1) / nt, in integers
      while (t < n_tasks && th + 1 < nt && (2 * done + cost(t)) * nt < 2 * total * (th + 1))
        done += cost(t++);
      const std::uint64_t end = static_cast<std::uint64_t>(th + 1 < nt ? t : n_tasks);
      ranges[g * nt + th].bounds.store(pack_range(start, end), std::memory_order_relaxed);
      start = end;
    }
  }

  const Activation act = p.ep.act;
  const bool tile_act = is_tile_act(act);

  // One team per jc block (a new block repacks the B buffer, so the previous one must be done).
  // Passes [pc_lo, pc_hi) of jc block g (all of K but on one thread, see below).
  const auto block = [&](index_t g, int tid, index_t pc_lo, index_t pc_hi) {
    float* abuf = own_all + static_cast<index_t>(tid) * own_size;
    float* own_panel = abuf + a_size;
    index_t packed_ic = -1, packed_pc = -1;  // abuf holds this M block (and pass, if one fits)
    {
      const index_t jc = g * nc_max;
      const index_t nc = std::min(nc_max, p.N - jc);
      const index_t panels = ceil_div(nc, NR);
      const std::int32_t claimed = static_cast<std::int32_t>(2 * g + 1), ready = claimed + 1;
      // Panel q of pass pc, packed by the first thread that needs it. A thread that finds it
      // being packed by another waits a moment, then packs its own copy: waiting longer could
      // mean waiting for a thread that the OS has just put on the same core.
      const auto panel = [&](index_t pc, index_t kc, index_t q, index_t slot) -> const float* {
        if (direct_b && (q + 1) * NR <= nc) return nullptr;
        float* dst = bbuf + pc / kc_max * b_pass + q * NR * kc_max;
        const auto pack = [&](float* to) {
          ks.pack_b(kc, std::min(NR, nc - q * NR), p.B + pc * p.rs_b + (jc + q * NR) * p.cs_b,
                    p.rs_b, p.cs_b, to);
          return to;
        };
        std::atomic<std::int32_t>& st = panel_state[pc / kc_max * max_panels + q];
        std::int32_t s = st.load(std::memory_order_acquire);
        if (s == ready) return dst;
        if (s < claimed && st.compare_exchange_strong(s, claimed, std::memory_order_acquire)) {
          pack(dst);
          st.store(ready, std::memory_order_release);
          return dst;
        }
        for (int spins = 0; spins < panel_spins; ++spins) {
          if (st.load(std::memory_order_acquire) == ready) return dst;
          cpu_relax();
        }
        return pack(own_panel + slot * kc * NR);
      };
      TaskRange* my = ranges + g * nt;
      for (;;) {
        index_t t = pop_front(my[tid]);
        // All nt ranges, not just `team`: a call that found the pool busy runs alone.
        if (t < 0 && nt > 1) t = steal_back(my, nt, tid);
        if (t < 0) break;
        const index_t ic = block_row(t / n_jp), jp = t % n_jp;
        const index_t mc = block_row(t / n_jp + 1) - ic;
        const index_t q0 = panels * jp / n_jp, q1 = panels * (jp + 1) / n_jp;
        if (q1 == q0) continue;
        const index_t j0 = q0 * NR, j1 = std::min(nc, q1 * NR);
        float* cblk = p.C + ic * p.rs_c + (jc + j0) * p.cs_c;
        for (index_t pc = pc_lo; pc < pc_hi; pc += kc_max) {
          const index_t kc = std::min(kc_max, p.K - pc);
          const bool first = pc == 0, last = pc + kc == p.K;
          const float* asrc = p.A + ic * p.rs_a + pc * p.cs_a;
          float* apk = nullptr;
          if (pack_a) {
            if (a_all_passes) {
              apk = abuf + pc / kc_max * mc_pad * kc_max;
              if (packed_ic != ic) ks.pack_a(mc, kc, asrc, p.rs_a, p.cs_a, apk);
              if (last) packed_ic = ic;
            } else {
              apk = abuf;
              if (packed_ic != ic || packed_pc != pc) ks.pack_a(mc, kc, asrc, p.rs_a, p.cs_a, abuf);
              packed_ic = ic, packed_pc = pc;
            }
          }
          TileEpilogue ep;
          ep.alpha = p.alpha;
          ep.beta = first ? p.beta : 1.0f;
          ep.act = last && tile_act ? tile_act_code(act) : kTileNone;
          ep.act_param = p.ep.act_param;
          const float* bias = last && p.ep.bias ? p.ep.bias + jc + j0 : nullptr;
          const float* bsrc = p.B + pc * p.rs_b + jc * p.cs_b;
          // A read in place: one tile per call.
          const auto strided_tile = [&](index_t ir, index_t jr, const float* bpanel) {
            const index_t m = std::min(MR, mc - ir), n = std::min(NR, j1 - jr);
            ep.bias = bias ? bias + (jr - j0) : nullptr;
            ks.strided[m - 1](kc, asrc + ir * p.rs_a, p.rs_a, p.cs_a, bpanel ? bpanel : bsrc + jr,
                              bpanel ? NR : p.rs_b, cblk + ir * p.rs_c + (jr - j0) * p.cs_c, p.rs_c,
                              p.cs_c, m, n, ep);
          };
          if (kc * (j1 - j0) <= kSmallBlockFloats) {
            // The whole B block fits in L1 (short K): sweep C row by row, so each row of C is
            // written in one go instead of in NR-wide strips (store-bound when K is ~10).
            const float* bp[kSmallBlockFloats / 16];
            for (index_t q = q0; q < q1; ++q) bp[q - q0] = panel(pc, kc, q, q - q0);
            if (pack_a) {
              ep.bias = bias;
              for (index_t q = 0; q < ceil_div(mc, MR); ++q) {
                index_t ir, rows;
                panel_slot(mc, static_cast<int>(MR), q, &ir, &rows);
                ks.packed_row[rows - 1](kc, apk + q * MR * kc, bp, q1 - q0, bsrc + j0, p.rs_b,
                                        cblk + ir * p.rs_c, p.rs_c, p.cs_c, j1 - j0, ep);
              }
            } else {
              for (index_t ir = 0; ir < mc; ir += MR)
                for (index_t jr = j0; jr < j1; jr += NR) strided_tile(ir, jr, bp[(jr - j0) / NR]);
            }
          } else {
            // A B micro-panel stays in L1 while the A block streams past it from L2.
            // Odd threads walk the panels backwards: threads on the same panels then pack
            // different ones.
            for (index_t i = 0; i < q1 - q0; ++i) {
              const index_t q = tid & 1 ? q1 - 1 - i : q0 + i;
              const float* bp = panel(pc, kc, q, 0);
              if (pack_a) {
                const index_t jr = q * NR;
                ep.bias = bias ? bias + (jr - j0) : nullptr;
                ks.packed_column(kc, apk, mc, bp ? bp : bsrc + jr, bp ? NR : p.rs_b,
                                 cblk + (jr - j0) * p.cs_c, p.rs_c, p.cs_c, std::min(NR, j1 - jr),
                                 ep);
              } else {
                for (index_t ir = 0; ir < mc; ir += MR) strided_tile(ir, q * NR, bp);
              }
            }
          }
        }
        if (!tile_act && pc_hi == p.K)
          apply_activation(act, p.ep.act_param, cblk, mc, j1 - j0, p.rs_c, p.cs_c);
      }
    }
  };
  for (index_t g = 0; g < n_jc; ++g) {
    if (nt > 1) {
      run_team(nt, [&](int tid, int) { block(g, tid, 0, p.K); });
    } else if (n_pc == 1 || n_ic == 1) {
      block(g, 0, 0, p.K);
    } else {
      // One thread: pass by pass over all M blocks, as Goto's loop order. Each element still gets
      // its passes in K order (same bits), but only one pass of B (kc x nc) and one A block are
      // live in L2 instead of all passes of B (a 784-deep B of 256 columns is 800 KiB): AVX2
      // 2048^3 0.95x -> 0.99x OpenBLAS on one Zen 4 core (CPU time, 3 alternating runs).
      const std::uint64_t all = ranges[g * nt].bounds.load(std::memory_order_relaxed);
      for (index_t pc = 0; pc < p.K; pc += kc_max) {
        ranges[g * nt].bounds.store(all, std::memory_order_relaxed);
        block(g, 0, pc, std::min(p.K, pc + kc_max));
      }
    }
  }
}

}  // namespace

void set_gemm_split_n(int mode) { g_split_n.store(mode); }
int get_gemm_split_n() { return g_split_n.load(); }

void set_gemm_tuning(double parallel_min_work, index_t pack_a_min_n, index_t direct_b_max_m,
                     double small_max_work, double sup_max_work) {
  if (parallel_min_work >= 0) g_parallel_min_work.store(parallel_min_work);
  if (pack_a_min_n >= 0) g_pack_a_min_n.store(pack_a_min_n);
  if (direct_b_max_m >= 0) g_direct_b_max_m.store(direct_b_max_m);
  if (small_max_work >= 0) g_small_max_work.store(small_max_work);
  if (sup_max_work >= 0) g_sup_max_work.store(sup_max_work);
}

void get_gemm_tuning(double* parallel_min_work, index_t* pack_a_min_n, index_t* direct_b_max_m,
                     double* small_max_work, double* sup_max_work) {
  *parallel_min_work = g_parallel_min_work.load();
  *pack_a_min_n = g_pack_a_min_n.load();
  *direct_b_max_m = g_direct_b_max_m.load();
  *small_max_work = g_small_max_work.load();
  *sup_max_work = g_sup_max_work.load();
}

double fp32_peak_gflops_cpu(int threads, CpuIsa isa) {
  using clock = std::chrono::steady_clock;
  const GemmKernels& ks = gemm_kernels(isa);
  threads = std::max(threads, 1);
  // Calibrate one chunk to about 10 ms on one thread, then keep the best of 5 chunks (~50 ms):
  // the best chunk is the one least disturbed by other processes on a shared machine.
  index_t iters = 1 << 14;
  for (;;) {
    const auto t0 = clock::now();
    ks.fma_loop(iters);
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    if (s > 2e-3) {
      iters = static_cast<index_t>(static_cast<double>(iters) * (10e-3 / s)) + 1;
      break;
    }
    iters *= 4;
  }
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    // A pool thread that joins late adds its flops late: that chunk reads low and is not kept.
    std::mutex sum_lock;
    double flops = 0.0;
    const auto t0 = clock::now();
    run_team(threads, [&](int, int) {
      const double mine = ks.fma_loop(iters);
      std::lock_guard<std::mutex> lock(sum_lock);
      flops += mine;
    });
    const double s = std::chrono::duration<double>(clock::now() - t0).count();
    best = std::max(best, flops / s);
  }
  return best * 1e-9;
}

}  // namespace gemm_detail

using gemm_detail::Problem;

void gemm_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
              index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
              index_t rs_c, index_t cs_c, const Epilogue& epilogue) {
  if (M <= 0 || N <= 0) return;
  Problem p{M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, epilogue};
  if (K <= 0 || alpha == 0.0f) {
    gemm_detail::scale_only(p);
    return;
  }
  // The "medium" matmul precision on a CPU with bf16 dot products (gemm_bf16.cpp).
  if (gemm_bf16_cpu(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, epilogue))
    return;
  const GemmKernels& ks = gemm_kernels(active_cpu_isa());
  if (gemm_detail::run_small(p, ks)) return;
  // Some problems run better as C^T = B^T A^T (the bias then lies along the other dimension, so
  // only without one): a C with unit row stride (Fortran order), so the kernel's stores run along
  // memory, and a C narrower than the register tile (N = 10 output layers), so the vector lanes
  // run along M instead of mostly idling.
  if (!epilogue.bias) {
    using gemm_detail::transposed;
    const bool fortran_c = cs_c != 1 && rs_c == 1;
    const auto tiles = [&](index_t rows, index_t cols) {
      return static_cast<double>(round_up(rows, ks.mr)) *
             static_cast<double>(round_up(cols, ks.nr));
    };
    const bool narrow = cs_c == 1 && N < ks.nr && tiles(N, M) < 0.8 * tiles(M, N);
    if (fortran_c || narrow) p = transposed(p);
  }
  // On AVX2 the sup path's 6-row groups use a few floats of each cache line of a TN-form A
  // (columns contiguous) per k, down a stride that L1 holds badly; from 2^21 of work the
  // blocked path's packed A wins (one Zen 4 core, CPU time against OpenBLAS on its Haswell
  // kernels: TN 256x128x128 1.02x blocked vs 0.92x sup, 128^3 1.01x vs 0.94x, 256x64x256 1.00x
  // vs 0.85x; AVX-512's 12-row groups do not lose so).
  // On AVX-512 it is the other way round: reading the TN-form A in place beats packing it up to
  // 2^27 (Zen 4, 2 threads, against OpenBLAS: 784x32x256 TN 1.16x sup vs 0.97x blocked,
  // 784x128x256 1.01x vs 0.88x, 784x512x256 1.05x vs 0.97x; NN and NT forms gain nothing).
  const double work = static_cast<double>(p.M) * static_cast<double>(p.N) * p.K;
  const bool tn_form = p.rs_a == 1 && p.cs_a != 1;
  const bool tn_avx2 = ks.simd_width == 8 && tn_form && work >= 2097152.0;
  const double sup_max = gemm_detail::g_sup_max_work.load(std::memory_order_relaxed);
  // (A lowered sup_max_work still forces the blocked path: the tests compare the two.)
  const double max_work = ks.simd_width == 16 && tn_form && sup_max >= gemm_detail::kSupMaxWork
                              ? std::max(sup_max, 134217728.0)
                              : sup_max;
  if (!tn_avx2 && gemm_detail::run_sup(p, ks, num_threads(), max_work)) return;
  gemm_detail::run_blocked(p, ks, num_threads());
}

double gemm_parallel_min_work_cpu() {
  return gemm_detail::g_parallel_min_work.load(std::memory_order_relaxed);
}

}  // namespace fusednet
