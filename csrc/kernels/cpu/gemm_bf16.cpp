// bf16 gemm driver (gemm_bf16.h) and its emulated kernel. Two schedules:
//   whole (A packed fits in 256 KiB: training batches): all of A and B packed into bf16 pair
//     panels once, the pieces shared out among the threads, which then wait for the last piece
//     and share out the kMR x kNR tiles in panel-major order; one team, nothing packed twice.
//   blocked (larger A): all of B packed (shared), then tasks = (M block of up to kMcMax rows,
//     range of B panels), each packing its A block (kept while the thread's next task is on the
//     same block).
// Each tile runs the whole K in registers, so a result never depends on the split; no K blocking
// is needed for speed either: a tile streams ~7 bytes per cycle of A and B from L2.
#include "kernels/cpu/gemm_bf16.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/cpu/gemm_bf16_impl.h"
#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cpu/kernel_table.h"
#include "runtime/precision.h"
#include "runtime/thread_pool.h"

namespace fusednet {
namespace gemm_bf16_detail {
namespace {

namespace impl = FN_SIMD_NS::bf16gemm;

void tile_emulated(index_t k2, const std::uint32_t* a, const std::uint32_t* b, float* c,
                   index_t rs_c, index_t cs_c, index_t m, index_t n, const TileEpilogue& ep) {
  float acc[kMR * kNR] = {};
  for (index_t kk = 0; kk < k2; ++kk)
    for (index_t i = 0; i < m; ++i)
      for (index_t j = 0; j < n; ++j)
        acc[i * kNR + j] = bf16math::bf16_dot2(acc[i * kNR + j], a[kk * kMR + i], b[kk * kNR + j]);
  impl::store(acc, c, rs_c, cs_c, m, n, ep);
}

// Per thread, grown once and reused: the packed B (calling thread) and A blocks (every worker).
thread_local std::vector<std::uint32_t> tl_pack_b;
thread_local std::vector<std::uint32_t> tl_pack_a;

constexpr index_t kMcMax = 8 * kMR;  // an A block of 96 rows: 192 KiB at K = 1024
constexpr double kParallelMinWork = 1 << 18;  // M*N*K below which one thread runs it all
constexpr double kWholeAMax = 1 << 16;  // pairs of a wholly packed A: 256 KiB
constexpr index_t kTaskPairs = 256;     // K pairs of tiles per task (~1.5 us) in run_whole

bool is_tile_act(Activation a) {
  return a == Activation::Linear || a == Activation::ReLU || a == Activation::LeakyReLU;
}

}  // namespace

const Kernels& kernels_emulated() {
  static const Kernels k{"bf16gemm_emulated_12x32", &impl::pack_a, &impl::pack_b, &tile_emulated};
  return k;
}

}  // namespace gemm_bf16_detail

namespace {

using namespace gemm_bf16_detail;

struct Job {
  const Kernels* ks;
  index_t M, N, K, k2, n_panels;
  const float *A, *B;
  index_t rs_a, cs_a, rs_b, cs_b;
  float* C;
  index_t rs_c, cs_c;
  TileEpilogue base;
  const Epilogue* epilogue;
  bool tile_act;

  // One tile: rows [ir, ir + m) of the packed A (at a), panel q of the packed B (at b).
  void tile(const std::uint32_t* a, const std::uint32_t* b, index_t ir, index_t m,
            index_t q) const {
    const index_t jr = q * kNR, n = std::min(index_t{kNR}, N - jr);
    TileEpilogue ep = base;
    ep.bias = epilogue->bias ? epilogue->bias + jr : nullptr;
    float* c = C + ir * rs_c + jr * cs_c;
    ks->tile(k2, a, b + q * k2 * kNR, c, rs_c, cs_c, m, n, ep);
    if (!tile_act)
      gemm_detail::apply_activation(epilogue->act, epilogue->act_param, c, m, n, rs_c, cs_c);
  }
};

// Waits until `done` reaches `want`, yielding the core meanwhile (to the packing thread itself,
// when the OS runs both on one core).
void wait_for(const std::atomic<index_t>& done, index_t want) {
  while (done.load(std::memory_order_acquire) < want) std::this_thread::yield();
}

// All of A and B packed once (the pieces shared out among the threads), then the tiles: a small
// M (a training batch) has one A block, which the blocked path would pack on every thread.
void run_whole(const Job& j, int nt) {
  const index_t m_panels = ceil_div(j.M, index_t{kMR});
  if (tl_pack_a.size() < static_cast<size_t>(m_panels * kMR * j.k2))
    tl_pack_a.resize(static_cast<size_t>(m_panels * kMR * j.k2));
  std::uint32_t* abuf = tl_pack_a.data();
  std::uint32_t* bbuf = tl_pack_b.data();
  // Pack pieces: B panels, then A micro-panels, in groups of about 4 K pairs (a batch-sized
  // product has a dozen or more: they even out between the threads).
  const index_t per = std::max<index_t>(1, (index_t{1} << 12) / (j.k2 * kNR));
  const index_t b_pieces = ceil_div(j.n_panels, per);
  const index_t a_per = std::max<index_t>(1, (index_t{1} << 12) / (j.k2 * kMR));
  const index_t pieces = b_pieces + ceil_div(m_panels, a_per);
  // Tiles in panel-major order (threads share a B panel while it is in cache), in tasks of
  // about kTaskPairs K pairs: small enough that the threads finish together (8 tasks a thread
  // left up to half a task, ~8 us of a batch's 128 x 256 x 784 product, on one of them),
  // large enough that claiming one is noise.
  const index_t tiles = m_panels * j.n_panels;
  const index_t n_tasks = nt > 1 ? ceil_div(tiles, ceil_div(kTaskPairs, j.k2)) : 1;
  std::atomic<index_t> next_piece{0}, done{0}, next_task{0};
  const auto worker = [&](int, int) {
    for (index_t p; (p = next_piece.fetch_add(1, std::memory_order_relaxed)) < pieces;) {
      if (p < b_pieces) {
        const index_t q0 = p * per, q1 = std::min(j.n_panels, q0 + per);
        const index_t c0 = q0 * kNR, nc = std::min(j.N, q1 * kNR) - c0;
        j.ks->pack_b(j.K, nc, j.B + c0 * j.cs_b, j.rs_b, j.cs_b, bbuf + q0 * j.k2 * kNR);
      } else {
        const index_t r0 = (p - b_pieces) * a_per * kMR;
        const index_t mc = std::min(j.M, r0 + a_per * kMR) - r0;
        j.ks->pack_a(mc, j.K, j.A + r0 * j.rs_a, j.rs_a, j.cs_a, abuf + r0 * j.k2);
      }
      done.fetch_add(1, std::memory_order_acq_rel);
    }
    wait_for(done, pieces);
    for (index_t t; (t = next_task.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) {
      for (index_t u = tiles * t / n_tasks, end = tiles * (t + 1) / n_tasks; u < end; ++u) {
        const index_t q = u / m_panels, ir = (u % m_panels) * kMR;
        j.tile(abuf + ir * j.k2, bbuf, ir, std::min(index_t{kMR}, j.M - ir), q);
      }
    }
  };
  if (nt <= 1) worker(0, 1);
  else run_team(static_cast<int>(std::min<index_t>(nt, n_tasks)), worker);
}

// Large M: A in blocks of up to kMcMax rows, each packed by the threads that use it.
void run_blocked(const Job& j, int nt) {
  std::uint32_t* bbuf = tl_pack_b.data();
  const index_t b_panel = j.k2 * kNR;
  const auto pack_b = [&](index_t q0, index_t q1) {
    const index_t c0 = q0 * kNR, nc = std::min(j.N, q1 * kNR) - c0;
    j.ks->pack_b(j.K, nc, j.B + c0 * j.cs_b, j.rs_b, j.cs_b, bbuf + q0 * b_panel);
  };
  parallel_for(j.n_panels, std::max<index_t>(1, ceil_div(j.n_panels, 4 * index_t{nt})), nt, pack_b);
  // Balanced M blocks (sizes from the problem alone) and enough tasks to share out.
  const index_t n_ic = ceil_div(j.M, kMcMax);
  const index_t mc_max = round_up(ceil_div(j.M, n_ic), index_t{kMR});
  // About 8 tasks per thread (panels permitting): taken dynamically, they even out the threads
  // (11 blocks of a 1024-row product on 2 threads would leave one thread idle for a twelfth).
  const index_t n_jp = nt > 1 ? std::min(j.n_panels, ceil_div(index_t{8} * nt, n_ic)) : 1;
  const index_t n_tasks = n_ic * n_jp;
  std::atomic<index_t> next{0};
  const auto worker = [&](int, int) {
    std::vector<std::uint32_t>& abuf = tl_pack_a;
    if (abuf.size() < static_cast<size_t>(mc_max * j.k2))
      abuf.resize(static_cast<size_t>(mc_max * j.k2));
    index_t packed_ic = -1;
    for (index_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) {
      const index_t ic = (t / n_jp) * mc_max, jp = t % n_jp;
      const index_t mc = std::min(mc_max, j.M - ic);
      if (packed_ic != ic) j.ks->pack_a(mc, j.K, j.A + ic * j.rs_a, j.rs_a, j.cs_a, abuf.data());
      packed_ic = ic;
      const index_t q0 = j.n_panels * jp / n_jp, q1 = j.n_panels * (jp + 1) / n_jp;
      for (index_t q = q0; q < q1; ++q)
        for (index_t ir = 0; ir < mc; ir += kMR)
          j.tile(abuf.data() + ir * j.k2, bbuf, ic + ir, std::min(index_t{kMR}, mc - ir), q);
    }
  };
  if (nt <= 1) worker(0, 1);
  else run_team(static_cast<int>(std::min<index_t>(nt, n_tasks)), worker);
}

}  // namespace

bool gemm_bf16_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue) {
  const CpuBf16Kernel which = cpu_gemm_bf16_kernel();
  if (which == CpuBf16Kernel::None) return false;
  Job j;
  j.ks = &kernels_emulated();
#if defined(FUSEDNET_X86_KERNELS)
  if (which == CpuBf16Kernel::Hardware) j.ks = &kernels_avx512();
#endif
  j.M = M, j.N = N, j.K = K, j.k2 = (K + 1) / 2, j.n_panels = ceil_div(N, index_t{kNR});
  j.A = A, j.rs_a = rs_a, j.cs_a = cs_a, j.B = B, j.rs_b = rs_b, j.cs_b = cs_b;
  j.C = C, j.rs_c = rs_c, j.cs_c = cs_c;
  j.base.alpha = alpha;
  j.base.beta = beta;
  j.base.act = epilogue.act == Activation::ReLU ? 1 : epilogue.act == Activation::LeakyReLU ? 2 : 0;
  j.base.act_param = epilogue.act_param;
  j.epilogue = &epilogue;
  j.tile_act = is_tile_act(epilogue.act);
  const size_t b_size = static_cast<size_t>(j.n_panels * j.k2 * kNR);
  if (tl_pack_b.size() < b_size) tl_pack_b.resize(b_size);

  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = work >= kParallelMinWork ? std::max(1, num_threads()) : 1;
  // The whole of A packed while it fits in L2 with B's panels (and the blocked path would pack
  // it more than once); else blocks of kMcMax rows.
  if (static_cast<double>(round_up(M, index_t{kMR})) * static_cast<double>(j.k2) <= kWholeAMax)
    run_whole(j, nt);
  else run_blocked(j, nt);
  return true;
}

}  // namespace fusednet
