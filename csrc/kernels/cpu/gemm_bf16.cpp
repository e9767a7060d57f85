// bf16 gemm driver (gemm_bf16.h) and its emulated kernel.
//
//   pack all of B (K x N) into kNR-wide bf16 pair panels, shared by the threads
//   tasks = (M block of up to kMcMax rows, range of B panels); per task:
//     pack the A block (kept while the thread's next task is on the same block)
//     for each B panel, for each kMR-row micro-panel: one tile over all of K (gemm_bf16_avx512.cpp)
// Each tile runs the whole K in registers, so a result never depends on the split; no K blocking
// is needed for speed either: a tile streams ~7 bytes per cycle of A and B from L2.
#include "kernels/cpu/gemm_bf16.h"

#include <algorithm>
#include <atomic>
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

bool is_tile_act(Activation a) {
  return a == Activation::Linear || a == Activation::ReLU || a == Activation::LeakyReLU;
}

}  // namespace

const Kernels& kernels_emulated() {
  static const Kernels k{"bf16gemm_emulated_12x32", &impl::pack_a, &impl::pack_b, &tile_emulated};
  return k;
}

}  // namespace gemm_bf16_detail

bool gemm_bf16_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue) {
  using namespace gemm_bf16_detail;
  const CpuBf16Kernel which = cpu_gemm_bf16_kernel();
  if (which == CpuBf16Kernel::None) return false;
  const Kernels* ks = &kernels_emulated();
#if defined(FUSEDNET_X86_KERNELS)
  if (which == CpuBf16Kernel::Hardware) ks = &kernels_avx512();
#endif
  const index_t k2 = (K + 1) / 2;
  const index_t n_panels = ceil_div(N, index_t{kNR});
  const index_t b_panel = k2 * kNR;
  if (tl_pack_b.size() < static_cast<size_t>(n_panels * b_panel))
    tl_pack_b.resize(static_cast<size_t>(n_panels * b_panel));
  std::uint32_t* bbuf = tl_pack_b.data();

  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int nt = work >= kParallelMinWork ? std::max(1, num_threads()) : 1;
  // Balanced M blocks (sizes from the problem alone) and enough tasks to share out.
  const index_t n_ic = ceil_div(M, kMcMax);
  const index_t mc_max = round_up(ceil_div(M, n_ic), index_t{kMR});
  // About 8 tasks per thread (panels permitting): taken dynamically, they even out the threads
  // (11 blocks of a 1024-row product on 2 threads would leave one thread idle for a twelfth).
  const index_t n_jp = nt > 1 ? std::min(n_panels, ceil_div(index_t{8} * nt, n_ic)) : 1;
  const index_t n_tasks = n_ic * n_jp;

  const auto pack_b = [&](index_t q0, index_t q1) {
    const index_t c0 = q0 * kNR, nc = std::min(N, q1 * kNR) - c0;
    ks->pack_b(K, nc, B + c0 * cs_b, rs_b, cs_b, bbuf + q0 * b_panel);
  };
  parallel_for(n_panels, std::max<index_t>(1, ceil_div(n_panels, 4 * index_t{nt})), nt, pack_b);

  TileEpilogue base;
  base.alpha = alpha;
  base.beta = beta;
  base.act = epilogue.act == Activation::ReLU ? 1 : epilogue.act == Activation::LeakyReLU ? 2 : 0;
  base.act_param = epilogue.act_param;
  const bool tile_act = is_tile_act(epilogue.act);

  std::atomic<index_t> next{0};
  const auto worker = [&](int, int) {
    std::vector<std::uint32_t>& abuf = tl_pack_a;
    if (abuf.size() < static_cast<size_t>(mc_max * k2))
      abuf.resize(static_cast<size_t>(mc_max * k2));
    index_t packed_ic = -1;
    for (index_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) {
      const index_t ic = (t / n_jp) * mc_max, jp = t % n_jp;
      const index_t mc = std::min(mc_max, M - ic);
      if (packed_ic != ic) ks->pack_a(mc, K, A + ic * rs_a, rs_a, cs_a, abuf.data());
      packed_ic = ic;
      const index_t q0 = n_panels * jp / n_jp, q1 = n_panels * (jp + 1) / n_jp;
      for (index_t q = q0; q < q1; ++q) {
        const index_t jr = q * kNR, n = std::min(index_t{kNR}, N - jr);
        TileEpilogue ep = base;
        ep.bias = epilogue.bias ? epilogue.bias + jr : nullptr;
        for (index_t ir = 0; ir < mc; ir += kMR)
          ks->tile(k2, abuf.data() + ir * k2, bbuf + q * b_panel, C + (ic + ir) * rs_c + jr * cs_c,
                   rs_c, cs_c, std::min(index_t{kMR}, mc - ir), n, ep);
      }
      if (!tile_act && q1 > q0) {
        const index_t j0 = q0 * kNR, j1 = std::min(N, q1 * kNR);
        gemm_detail::apply_activation(epilogue.act, epilogue.act_param, C + ic * rs_c + j0 * cs_c,
                                      mc, j1 - j0, rs_c, cs_c);
      }
    }
  };
  if (nt <= 1) worker(0, 1);
  else run_team(static_cast<int>(std::min<index_t>(nt, n_tasks)), worker);
  return true;
}

}  // namespace fusednet
