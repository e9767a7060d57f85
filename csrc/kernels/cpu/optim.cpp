// Optimizer steps, in place over n contiguous floats, one pass over memory.
//
//   SGD (PyTorch form):  g += wd p;  vel = momentum vel + g;
//                        p -= lr (nesterov ? g + momentum vel : vel)      (p -= lr g if momentum 0)
//   Adam (paper form):   g += wd p (L2)  or  p *= 1 - lr wd (decoupled, AdamW);
//                        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//                        p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// Memory-bound: Adam reads p, g, m, v and writes p, m, v (28 bytes per parameter), SGD with
// momentum 20. So the whole update is one fused pass; the vector variants only make sure the
// arithmetic keeps up with memory (sqrt + div per element).
//
// Thread split: the span is cut into fixed blocks of kBlock elements (independent of the thread
// count) and the thread pool hands out contiguous runs of blocks; each block goes through the
// same range kernel, so results are bit-identical for any number of threads.
#include <cmath>

#include "runtime/isa.h"
#include "runtime/thread_pool.h"
#include "kernels/cpu.h"
#include "optim_impl.h"

namespace fusednet {
namespace optim_detail {

// ---- reference / portable range kernels (the compiler vectorizes these with SSE2) ------------

template <Decay D>
static void adam_range_impl(float* FN_RESTRICT p, const float* FN_RESTRICT g,
                            float* FN_RESTRICT m, float* FN_RESTRICT v, index_t n,
                            const AdamCoeffs& c) {
  for (index_t i = 0; i < n; ++i) adam_element<D>(p[i], g[i], m[i], v[i], c);
}

void adam_range_generic(float* p, const float* g, float* m, float* v, index_t n,
                        const AdamCoeffs& c) {
  switch (c.decay) {
    case Decay::None: adam_range_impl<Decay::None>(p, g, m, v, n, c); break;
    case Decay::L2: adam_range_impl<Decay::L2>(p, g, m, v, n, c); break;
    case Decay::Decoupled: adam_range_impl<Decay::Decoupled>(p, g, m, v, n, c); break;
  }
}

template <bool UseDecay, bool UseMomentum, bool Nesterov>
static void sgd_range_impl(float* FN_RESTRICT p, const float* FN_RESTRICT g,
                           float* FN_RESTRICT vel, index_t n, const SgdCoeffs& c) {
  for (index_t i = 0; i < n; ++i)
    sgd_element<UseDecay, UseMomentum, Nesterov>(p[i], g[i], UseMomentum ? vel + i : nullptr, c);
}

void sgd_range_generic(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  if (!c.use_momentum) {
    if (c.use_decay) sgd_range_impl<true, false, false>(p, g, vel, n, c);
    else sgd_range_impl<false, false, false>(p, g, vel, n, c);
  } else if (c.nesterov) {
    if (c.use_decay) sgd_range_impl<true, true, true>(p, g, vel, n, c);
    else sgd_range_impl<false, true, true>(p, g, vel, n, c);
  } else {
    if (c.use_decay) sgd_range_impl<true, true, false>(p, g, vel, n, c);
    else sgd_range_impl<false, true, false>(p, g, vel, n, c);
  }
}

}  // namespace optim_detail

// ---- launchers ---------------------------------------------------------------------------------
namespace {
using namespace optim_detail;

// 16 KiB of each array per block: big enough that the per-block call is noise, small enough
// that two threads stay balanced on a few hundred thousand parameters.
constexpr index_t kBlock = 4096;
// Below this many elements a fork/join costs more than the update itself.
constexpr index_t kParallelMin = 1 << 16;

// Calls range(offset, count) over fixed blocks, contiguous runs of blocks per thread.
template <typename Range>
void for_each_block(index_t n, Range range) {
  const index_t blocks = ceil_div(n, kBlock);
  const int threads = n >= kParallelMin ? num_threads() : 1;
  // Runs of blocks, about 4 per thread, claimed by whichever thread is free.
  parallel_for(blocks, ceil_div(blocks, 4 * static_cast<index_t>(threads)), threads,
               [&](index_t b0, index_t b1) {
                 const index_t begin = b0 * kBlock, end = std::min(n, b1 * kBlock);
                 range(begin, end - begin);
               });
}

using AdamRange = void (*)(float*, const float*, float*, float*, index_t, const AdamCoeffs&);
using SgdRange = void (*)(float*, const float*, float*, index_t, const SgdCoeffs&);

AdamRange pick_adam_range() {
#ifdef FUSEDNET_X86_KERNELS
  switch (active_cpu_isa()) {
    case CpuIsa::Avx512: return adam_range_avx512;
    case CpuIsa::Avx2: return adam_range_avx2;
    default: break;
  }
#endif
  return adam_range_generic;
}

SgdRange pick_sgd_range() {
#ifdef FUSEDNET_X86_KERNELS
  switch (active_cpu_isa()) {
    case CpuIsa::Avx512: return sgd_range_avx512;
    case CpuIsa::Avx2: return sgd_range_avx2;
    default: break;
  }
#endif
  return sgd_range_generic;
}
}  // namespace

void sgd_step_cpu(float* param, const float* grad, float* velocity, index_t n, float lr,
                  float momentum, bool nesterov, float weight_decay) {
  FN_CHECK(momentum == 0.0f || velocity != nullptr,
           "velocity: required when momentum != 0 (got momentum=", momentum, ")");
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  if (n == 0) return;
  SgdCoeffs c;
  c.lr = lr;
  c.momentum = momentum;
  c.weight_decay = weight_decay;
  c.use_decay = weight_decay != 0.0f;
  c.use_momentum = momentum != 0.0f;
  c.nesterov = nesterov && c.use_momentum;
  const SgdRange range = pick_sgd_range();
  for_each_block(n, [&](index_t begin, index_t count) {
    range(param + begin, grad + begin, c.use_momentum ? velocity + begin : nullptr, count, c);
  });
}

void adam_step_cpu(float* param, const float* grad, float* m, float* v, index_t n,
                   std::int64_t step, float lr, float beta1, float beta2, float eps,
                   float weight_decay, bool decoupled) {
  FN_CHECK(step >= 1, "step: expected an integer >= 1, got ", step);
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  if (n == 0) return;
  // Bias corrections once per call, in double: 1 - b^t loses everything in float for b near 1.
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  AdamCoeffs c;
  c.beta1 = beta1;
  c.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  c.beta2 = beta2;
  c.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  c.step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  c.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  c.eps = eps;
  c.weight_decay = weight_decay;
  c.decay_factor =
      static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  c.decay = weight_decay == 0.0f ? Decay::None : (decoupled ? Decay::Decoupled : Decay::L2);
  const AdamRange range = pick_adam_range();
  for_each_block(n, [&](index_t begin, index_t count) {
    range(param + begin, grad + begin, m + begin, v + begin, count, c);
  });
}

}  // namespace fusednet
