// Optimizer steps, in place over n contiguous floats, one pass over memory.
//
//   SGD (PyTorch form):  g += wd p;  vel = momentum vel + g;
//                        p -= lr (nesterov ? g + momentum vel : vel)      (p -= lr g if momentum 0)
//   Adam (paper form):   g += wd p (L2)  or  p *= 1 - lr wd (decoupled, AdamW);
//                        m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//                        p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//
// The coefficients and one element's update are kernels/math/optim.h, shared with CUDA. This file
// holds the reference range kernels (those updates in a loop, vectorized by the compiler for the
// baseline target) and the launchers; optim_impl.h is the vector form, instantiated by
// optim_avx2.cpp and optim_avx512.cpp.
//
// Memory-bound: Adam reads p, g, m, v and writes p, m, v (28 bytes per parameter), SGD with
// momentum 20. So the whole update is one fused pass; the vector variants only make sure the
// arithmetic keeps up with memory (sqrt + div per element).
//
// Thread split: the span is cut into fixed blocks of kBlock elements (independent of the thread
// count) and the thread pool hands out contiguous runs of blocks; each block goes through the
// same range kernel, so results are bit-identical for any number of threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/checks.h"
#include "kernels/cpu/optim_kernels.h"
#include "runtime/thread_pool.h"

namespace fusednet {
namespace {
using optmath::AdamCoeffs;
using optmath::Decay;
using optmath::SgdCoeffs;

// ---- reference range kernels -------------------------------------------------------------------

template <Decay D>
void adam_range_ref(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT m,
                    float* FN_RESTRICT v, index_t n, const AdamCoeffs& c) {
  for (index_t i = 0; i < n; ++i) optmath::adam_update<D>(p[i], g[i], m[i], v[i], c);
}

template <bool UseDecay, bool UseMomentum, bool Nesterov>
void sgd_range_ref(float* FN_RESTRICT p, const float* FN_RESTRICT g, float* FN_RESTRICT vel,
                   index_t n, const SgdCoeffs& c) {
  for (index_t i = 0; i < n; ++i)
    optmath::sgd_update(p[i], g[i], UseMomentum ? vel + i : nullptr, c, UseDecay, UseMomentum,
                        Nesterov);
}

void adam_range_generic(float* p, const float* g, float* m, float* v, index_t n,
                        const AdamCoeffs& c) {
  optmath::with_decay(c.decay, [&](auto D) { adam_range_ref<D.value>(p, g, m, v, n, c); });
}

void sgd_range_generic(float* p, const float* g, float* vel, index_t n, const SgdCoeffs& c) {
  with_sgd_variant(c, [&](auto decay, auto momentum, auto nesterov) {
    sgd_range_ref<decay.value, momentum.value, nesterov.value>(p, g, vel, n, c);
  });
}

template <optmath::Rule R>
void rule_range_ref(const optmath::RuleCoeffs& c, float* FN_RESTRICT p, const float* FN_RESTRICT g,
                    float* FN_RESTRICT s0, float* FN_RESTRICT s1, float* FN_RESTRICT s2,
                    index_t n) {
  for (index_t i = 0; i < n; ++i) optmath::rule_update<R>(p, g, s0, s1, s2, i, c);
}

void rule_range_generic(const optmath::RuleCoeffs& c, float* p, const float* g, float* s0,
                        float* s1, float* s2, index_t n) {
  optmath::with_rule(c.rule, [&](auto R) { rule_range_ref<R.value>(c, p, g, s0, s1, s2, n); });
}

}  // namespace

const OptimKernels& optim_kernels_generic() {
  static const OptimKernels k{&adam_range_generic, &sgd_range_generic, &rule_range_generic};
  return k;
}

const OptimKernels& optim_kernels(CpuIsa isa) {
  return pick_kernels(isa, &optim_kernels_generic, FN_X86_KERNELS(optim_kernels_avx2),
                      FN_X86_KERNELS(optim_kernels_avx512));
}

// ---- launchers ---------------------------------------------------------------------------------
namespace {

// 16 KiB of each array per block: big enough that the per-block call is noise, small enough
// that two threads stay balanced on a few hundred thousand parameters.
constexpr index_t kBlock = 4096;
// Below this many elements a fork/join costs more than the update itself. (A training step's
// workers are awake: the MNIST-1D net's Adam over 15k parameters took 13% of a step on one
// thread, 9% on two, the step 87 -> 80 us on Zen 4.)
constexpr index_t kParallelMin = 1 << 13;

// Calls range(offset, count) over fixed blocks, contiguous runs of blocks per thread.
template <typename Range>
void for_each_block(index_t n, Range range) {
  const index_t blocks = ceil_div(n, kBlock);
  const int threads = n >= kParallelMin ? num_threads() : 1;
  // Runs of blocks, about 16 per thread, claimed by whichever thread is free: with 4, an Adam
  // step over mlp784's 235k parameters ended with one thread alone for up to a run (~8 us).
  parallel_for(blocks, ceil_div(blocks, 16 * static_cast<index_t>(threads)), threads,
               [&](index_t b0, index_t b1) {
                 const index_t begin = b0 * kBlock, end = std::min(n, b1 * kBlock);
                 range(begin, end - begin);
               });
}

}  // namespace

void sgd_step_cpu(float* param, const float* grad, float* velocity, index_t n, double lr,
                  double momentum, bool nesterov, double weight_decay) {
  check_sgd_args(n, momentum, velocity);
  if (n == 0) return;
  const SgdCoeffs c = optmath::sgd_coeffs(lr, momentum, nesterov, weight_decay);
  const auto range = optim_kernels(active_cpu_isa()).sgd;
  for_each_block(n, [&](index_t begin, index_t count) {
    range(param + begin, grad + begin, c.use_momentum ? velocity + begin : nullptr, count, c);
  });
}

void adam_step_cpu(float* param, const float* grad, float* m, float* v, index_t n,
                   std::int64_t step, double lr, double beta1, double beta2, double eps,
                   double weight_decay, bool decoupled) {
  check_adam_args(n, step);
  if (n == 0) return;
  const AdamCoeffs c = optmath::adam_coeffs(step, lr, beta1, beta2, eps, weight_decay, decoupled);
  const auto range = optim_kernels(active_cpu_isa()).adam;
  for_each_block(n, [&](index_t begin, index_t count) {
    range(param + begin, grad + begin, m + begin, v + begin, count, c);
  });
}

void optim_rule_step_cpu(const optmath::RuleCoeffs& c, float* param, const float* grad, float* s0,
                         float* s1, float* s2, index_t n) {
  check_rule_args(c, n, s0, s1, s2);
  if (n == 0) return;
  const auto range = optim_kernels(active_cpu_isa()).rule;
  const auto at = [](float* s, index_t off) { return s ? s + off : nullptr; };
  for_each_block(n, [&](index_t begin, index_t count) {
    range(c, param + begin, grad + begin, at(s0, begin), at(s1, begin), at(s2, begin), count);
  });
}

void ema_update_cpu(float* avg, const float* p, index_t n, double momentum) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  const float m = optmath::f32_coeff(momentum, "ema_momentum");
  const float om = static_cast<float>(1.0 - momentum);
  for_each_block(n, [&](index_t begin, index_t count) {
    for (index_t i = begin; i < begin + count; ++i) avg[i] = optmath::ema_one(avg[i], p[i], m, om);
  });
}

double sum_squares_cpu(const float* x, index_t n) { return penalty_sum_cpu(x, n, 0.0, 1.0); }

void penalty_grad_cpu(const float* w, float* g, index_t n, float l1, float l2) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  for_each_block(n, [&](index_t begin, index_t count) {
    for (index_t i = begin; i < begin + count; ++i) g[i] += optmath::penalty_grad_one(w[i], l1, l2);
  });
}

void constrain_cpu(int kind, float* w, index_t rows, index_t cols, float min_value, float max_value,
                   float rate) {
  FN_CHECK(kind >= 0 && kind <= 3, "constraint: expected a kind in [0, 3], got ", kind);
  FN_CHECK(rows >= 0 && cols >= 0, "shape: expected rows, cols >= 0, got ", rows, ", ", cols);
  const auto k = static_cast<optmath::Constraint>(kind);
  if (k == optmath::Constraint::NonNeg) {
    for (index_t i = 0; i < rows * cols; ++i) w[i] = w[i] * (w[i] >= 0.f ? 1.f : 0.f);
    return;
  }
  // Each column's sum of squares in double, the rows in order.
  std::vector<double> ss(static_cast<std::size_t>(cols), 0.0);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) {
      const double v = w[r * cols + c];
      ss[static_cast<std::size_t>(c)] += v * v;
    }
  std::vector<float> f(static_cast<std::size_t>(cols));
  for (index_t c = 0; c < cols; ++c)
    f[static_cast<std::size_t>(c)] = optmath::constraint_factor(
        k, static_cast<float>(std::sqrt(ss[static_cast<std::size_t>(c)])), min_value, max_value,
        rate);
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) w[r * cols + c] *= f[static_cast<std::size_t>(c)];
}

double penalty_sum_cpu(const float* x, index_t n, double l1, double l2) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  // Per fixed block a double sum in element order, then the blocks in order: the same bits for
  // any thread count.
  const index_t blocks = ceil_div(n, kBlock);
  std::vector<double> part(static_cast<std::size_t>(blocks), 0.0);
  for_each_block(n, [&](index_t begin, index_t count) {
    for (index_t b = begin; b < begin + count; b += kBlock) {
      double s = 0.0;
      const index_t end = std::min(begin + count, b + kBlock);
      for (index_t i = b; i < end; ++i) s += optmath::penalty_one(x[i], l1, l2);
      part[static_cast<std::size_t>(b / kBlock)] = s;
    }
  });
  double total = 0.0;
  for (double s : part) total += s;
  return total;
}

}  // namespace fusednet
