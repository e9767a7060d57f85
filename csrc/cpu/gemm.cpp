// gemm driver: C = act(alpha * A @ B + beta * C + bias), A [M, K], B [K, N], C [M, N] by element
// strides (any sign, any value: NN / NT / TN / TT and every NumPy view are just strides).
//
// The Goto/BLIS structure (the reference is gemm_ref.cpp):
//   for jc in N by NC:                      B block kc x nc lives in L3, shared by the threads
//     for pc in K by KC:                    K order fixed by K alone -> same bits on any threads
//       pack B[pc, jc] into NR-wide micro-panels (threads split the panels; one barrier, two
//       B buffers used by alternate passes; none when the threads split N: each packs its own)
//       for (ic, part of jc) tasks:         threads split M blocks (and N when M is short)
//         pack A[ic, pc] into MR-tall micro-panels (each thread its own, in L2)
//         for jr in nc by NR, ir in mc by MR: micro-kernel on an MR x NR tile (ISA file)
// The epilogue rides on the K passes: the first applies beta (beta == 0 never reads C), later
// ones accumulate, the last adds the bias and applies relu / leaky_relu in registers; sigmoid,
// tanh and gelu run right after over the block's rows while they are still in cache.
// Small problems skip the packing of A (the kernel reads A in place) and the parallel region;
// short M reads a row-major B in place.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "../dispatch.h"
#include "../kernels.h"
#include "gemm_kernels.h"

#ifdef FUSEDNET_WITH_OPENMP
#include <omp.h>
#endif

namespace fusednet {
namespace gemm_detail {

const KernelSet& kernels_for(CpuIsa isa) {
#if defined(FUSEDNET_X86_KERNELS)
  if (isa == CpuIsa::Avx512) return kernels_avx512();
  if (isa == CpuIsa::Avx2) return kernels_avx2();
#endif
  (void)isa;
  return kernels_generic();
}

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

void run_blocked(const Problem& p, const KernelSet& ks, int threads_wanted) {
  const index_t MR = ks.mr, NR = ks.nr;
  // Balanced blocks: sizes depend on the problem only, never on the thread count.
  const index_t n_pc = ceil_div(p.K, ks.kc), kc_max = ceil_div(p.K, n_pc);
  const index_t n_jc = ceil_div(p.N, ks.nc), nc_max = round_up(ceil_div(p.N, n_jc), NR);
  const index_t n_ic = ceil_div(p.M, ks.mc), mc_max = round_up(ceil_div(p.M, n_ic), MR);
  // Packing A pays off once the block feeds enough columns (measured on Zen 3 with
  // tools/gemm_bench.py: from N = 128 up packed A is 5-25% faster, for N = 10 read in place).
  const index_t ncols = std::min(p.N, nc_max);
  const bool pack_a = ncols >= g_pack_a_min_n.load(std::memory_order_relaxed);
  const bool direct_b = p.cs_b == 1 && p.M <= g_direct_b_max_m.load(std::memory_order_relaxed);

  const double work = static_cast<double>(p.M) * static_cast<double>(p.N) * p.K;
  int nt = work >= g_parallel_min_work.load(std::memory_order_relaxed) ? threads_wanted : 1;
  // Split N as well when the M blocks do not share out evenly.
  const index_t max_panels = ceil_div(nc_max, NR);
  const index_t n_jp =
      (nt == 1 || n_ic % nt == 0 || n_ic >= 4 * nt) ? 1 : std::min<index_t>(nt, max_panels);
  if (static_cast<index_t>(nt) > n_ic * n_jp) nt = static_cast<int>(n_ic * n_jp);

  // Two B buffers, used by alternate K passes: a thread may pack the next pass while another
  // still computes from the previous one, so a pass needs one barrier (after packing), not two.
  // (A pass that packs nothing reads nothing from them; with direct_b that is every pass but
  // those of a last, partial jc block, so a buffer is never rewritten before a barrier.)
  const index_t b_size = kc_max * nc_max;
  float* bbuf_all = tl_pack_b.get(static_cast<size_t>((nt > 1 ? 2 : 1) * b_size));
  float* abuf_all = pack_a ? tl_pack_a.get(static_cast<size_t>(nt * mc_max * kc_max)) : nullptr;

  const Activation act = p.ep.act;
  const bool tile_act = is_tile_act(act);

  auto body = [&](int tid, int team) {
    float* abuf = pack_a ? abuf_all + static_cast<index_t>(tid) * mc_max * kc_max : nullptr;
    // When the threads split N, each uses only its own B panels: it packs them itself and no
    // thread ever waits for another before the end.
    const bool own_b = team > 1 && n_jp == team;
    index_t pass = 0;
    for (index_t jc = 0; jc < p.N; jc += nc_max) {
      const index_t nc = std::min(nc_max, p.N - jc);
      const index_t panels = ceil_div(nc, NR);
      for (index_t pc = 0; pc < p.K; pc += kc_max, ++pass) {
        const index_t kc = std::min(kc_max, p.K - pc);
        float* bbuf = bbuf_all + (team > 1 ? (pass & 1) * b_size : 0);
        const bool first = pc == 0, last = pc + kc == p.K;
        const float* bsrc = p.B + pc * p.rs_b + jc * p.cs_b;
        // Threads pack contiguous ranges of B micro-panels (with direct_b only a partial last one).
        const index_t skip = direct_b ? nc / NR : 0, todo = panels - skip;
        index_t p0, p1;
        if (own_b) {
          p0 = std::max(skip, panels * tid / n_jp);
          p1 = panels * (tid + 1) / n_jp;
        } else {
          const index_t per = ceil_div(todo, team);
          p0 = skip + std::min(todo, per * tid);
          p1 = std::min(panels, p0 + per);
        }
        // Panels sit kc_max * NR apart whatever this pass's kc, so the panels of different
        // threads never overlap even when one thread is a pass ahead of another.
        for (index_t q = p0; q < p1; ++q)
          ks.pack_b(kc, std::min(NR, nc - q * NR), bsrc + q * NR * p.cs_b, p.rs_b, p.cs_b,
                    bbuf + q * NR * kc_max);
        if (team > 1 && todo > 0 && !own_b) {
#pragma omp barrier
        }
        TileEpilogue ep;
        ep.alpha = p.alpha;
        ep.beta = first ? p.beta : 1.0f;
        ep.act = last && tile_act ? tile_act_code(act) : kTileNone;
        ep.act_param = p.ep.act_param;
        index_t packed_ic = -1;
        for (index_t t = tid; t < n_ic * n_jp; t += team) {
          const index_t ic = (t / n_jp) * mc_max, jp = t % n_jp;
          const index_t mc = std::min(mc_max, p.M - ic);
          const index_t q0 = panels * jp / n_jp, q1 = panels * (jp + 1) / n_jp;
          if (q1 == q0) continue;
          const index_t j0 = q0 * NR, j1 = std::min(nc, q1 * NR);
          const float* asrc = p.A + ic * p.rs_a + pc * p.cs_a;
          if (pack_a && packed_ic != ic) {
            ks.pack_a(mc, kc, asrc, p.rs_a, p.cs_a, abuf);
            packed_ic = ic;
          }
          float* cblk = p.C + ic * p.rs_c + (jc + j0) * p.cs_c;
          const float* bias = last && p.ep.bias ? p.ep.bias + jc + j0 : nullptr;
          const auto tile = [&](index_t ir, index_t jr) {
            const index_t m = std::min(MR, mc - ir), n = std::min(NR, j1 - jr);
            const bool in_place = direct_b && jr + NR <= nc;
            const float* bp = in_place ? bsrc + jr : bbuf + jr * kc_max;
            const index_t rs_bp = in_place ? p.rs_b : NR;
            float* ct = cblk + ir * p.rs_c + (jr - j0) * p.cs_c;
            ep.bias = bias ? bias + (jr - j0) : nullptr;
            if (pack_a)
              ks.packed[m - 1](kc, abuf + ir * kc, bp, rs_bp, ct, p.rs_c, p.cs_c, m, n, ep);
            else
              ks.strided[m - 1](kc, asrc + ir * p.rs_a, p.rs_a, p.cs_a, bp, rs_bp, ct, p.rs_c,
                                p.cs_c, m, n, ep);
          };
          if (kc * (j1 - j0) <= kSmallBlockFloats) {
            // The whole B block fits in L1 (short K): sweep C row by row, so each row of C is
            // written in one go instead of in NR-wide strips (store-bound when K is ~10).
            for (index_t ir = 0; ir < mc; ir += MR)
              for (index_t jr = j0; jr < j1; jr += NR) tile(ir, jr);
          } else {
            // A B micro-panel stays in L1 while the A block streams past it from L2.
            for (index_t jr = j0; jr < j1; jr += NR)
              for (index_t ir = 0; ir < mc; ir += MR) tile(ir, jr);
          }
          if (last && !tile_act)
            apply_activation(act, p.ep.act_param, cblk, mc, j1 - j0, p.rs_c, p.cs_c);
        }
      }
    }
  };

  if (nt <= 1) {
    body(0, 1);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
#ifdef FUSEDNET_WITH_OPENMP
    body(omp_get_thread_num(), omp_get_num_threads());
#else
    body(0, 1);
#endif
  }
}

}  // namespace

void set_gemm_tuning(double parallel_min_work, index_t pack_a_min_n, index_t direct_b_max_m) {
  if (parallel_min_work >= 0) g_parallel_min_work.store(parallel_min_work);
  if (pack_a_min_n >= 0) g_pack_a_min_n.store(pack_a_min_n);
  if (direct_b_max_m >= 0) g_direct_b_max_m.store(direct_b_max_m);
}

void get_gemm_tuning(double* parallel_min_work, index_t* pack_a_min_n, index_t* direct_b_max_m) {
  *parallel_min_work = g_parallel_min_work.load();
  *pack_a_min_n = g_pack_a_min_n.load();
  *direct_b_max_m = g_direct_b_max_m.load();
}

double fp32_peak_gflops_cpu(int threads, CpuIsa isa) {
  using clock = std::chrono::steady_clock;
  const KernelSet& ks = kernels_for(isa);
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
    double flops = 0.0;
    const auto t0 = clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
    { flops += ks.fma_loop(iters); }
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
  const gemm_detail::KernelSet& ks = gemm_detail::kernels_for(active_cpu_isa());
  // Some problems run better as C^T = B^T A^T (the bias then lies along the other dimension, so
  // only without one): a C with unit row stride (Fortran order), so the kernel's stores run along
  // memory, and a C narrower than the register tile (N = 10 output layers), so the vector lanes
  // run along M instead of mostly idling.
  if (!epilogue.bias) {
    const bool fortran_c = cs_c != 1 && rs_c == 1;
    const auto tiles = [&](index_t rows, index_t cols) {
      return static_cast<double>(round_up(rows, ks.mr)) * static_cast<double>(round_up(cols, ks.nr));
    };
    const bool narrow = cs_c == 1 && N < ks.nr && tiles(N, M) < 0.8 * tiles(M, N);
    if (fortran_c || narrow)
      p = Problem{N, M, K, alpha, B, cs_b, rs_b, A, cs_a, rs_a, beta, C, cs_c, rs_c, epilogue};
  }
  gemm_detail::run_blocked(p, ks, num_threads());
}

}  // namespace fusednet
