// Activations, forward and backward, elementwise over n contiguous floats, and row-wise softmax.
//
//   linear      y = x                                   y' = 1
//   relu        y = max(x, 0)                           y' = [x > 0]
//   leaky_relu  y = x > 0 ? x : a x                     y' = x > 0 ? 1 : a
//   sigmoid     y = 1 / (1 + e^-x)                      y' = y (1 - y)
//   tanh        y = tanh x                              y' = 1 - y^2
//   gelu        y = x Phi(x) = x/2 (1 + erf(x/sqrt2))   y' = Phi(x) + x phi(x)
//   gelu_tanh   y = x/2 (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3)
//               y' = (1 + t)/2 + x/2 (1 - t^2) du/dx,  du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//   softmax     y_ij = e^(x_ij - m_i) / Z_i,  m_i = max_j x_ij,  Z_i = sum_j e^(x_ij - m_i)
//               dx_ij = y_ij (dy_ij - sum_k dy_ik y_ik)
//   log_softmax y_ij = x_ij - m_i - log Z_i,   dx_ij = dy_ij - softmax_ij sum_k dy_ik
//
// NaN in gives NaN out; the derivative at a relu kink (x = 0) is 0. Sigmoid, tanh and the gelus
// are computed in forms that neither overflow nor cancel for any float input.
//
// Layout of the code: kernels/math/activation.h holds the formulas (shared with CUDA),
// activation_impl.h the vectorizable primitives and the span kernels over them; this file compiles
// those for the baseline target (the portable path), activation_avx2.cpp and activation_avx512.cpp
// compile the same source with wider vectors, and the launchers below pick the active ISA's table
// and split the work over threads. An element's value never depends on the split (elementwise:
// fixed chunks; softmax: whole rows), so results are bit-identical whatever the thread count.
#include <algorithm>

#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cpu/activation_impl.h"
#include "runtime/thread_pool.h"

namespace fusednet {

const ActivationKernels& activation_kernels_generic() { return FN_SIMD_NS::activation::table(); }

const ActivationKernels& activation_kernels(CpuIsa isa) {
  return pick_kernels(isa, &activation_kernels_generic, FN_X86_KERNELS(activation_kernels_avx2),
                      FN_X86_KERNELS(activation_kernels_avx512));
}

namespace {

// Work is cut into fixed-size chunks handed out dynamically: a thread that starts late (these
// machines are shared) leaves its share to the others, and the chunk boundaries never depend on
// the thread count.
constexpr index_t kChunk = index_t{1} << 14;  // elements: 64 KiB of input, a multiple of any vector

// f(lo, hi) over [0, n) in chunks of kChunk elements; threads only from two chunks up.
template <class F>
void parallel_chunks(index_t n, F&& f) {
  const index_t chunks = ceil_div(n, kChunk);
  const int nt = chunks >= 2 ? num_threads() : 1;
  parallel_for(chunks, 1, nt, [&](index_t c0, index_t c1) {
    for (index_t c = c0; c < c1; ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk));
  });
}

// f(r0, r1) over the rows, in blocks of about kChunk elements of whole rows.
template <class F>
void parallel_rows(index_t rows, index_t cols, F&& f) {
  const index_t per = std::max<index_t>(1, kChunk / std::max<index_t>(cols, 1));
  const index_t blocks = ceil_div(rows, per);
  const int nt = blocks >= 2 ? num_threads() : 1;
  if (nt <= 1) {
    f(index_t{0}, rows);
    return;
  }
  parallel_for(blocks, 1, nt, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) f(b * per, std::min(rows, (b + 1) * per));
  });
}

}  // namespace

void activation_forward_cpu(Activation act, float param, const float* x, float* y, index_t n) {
  check_elementwise(act);
  const ActivationKernels& k = activation_kernels(active_cpu_isa());
  parallel_chunks(n,
                  [&](index_t lo, index_t hi) { k.forward(act, param, x + lo, y + lo, hi - lo); });
}

void activation_backward_cpu(Activation act, float param, const float* dy, const float* x,
                             float* dx, index_t n) {
  check_elementwise(act);
  const ActivationKernels& k = activation_kernels(active_cpu_isa());
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    k.backward(act, param, dy + lo, x + lo, dx + lo, hi - lo);
  });
}

void activation_backward_from_output_cpu(Activation act, float param, const float* dy,
                                         const float* y, float* dx, index_t n) {
  check_derivative_from_output(act, param);
  const ActivationKernels& k = activation_kernels(active_cpu_isa());
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    k.backward_from_output(act, param, dy + lo, y + lo, dx + lo, hi - lo);
  });
}

void softmax_forward_cpu(const float* x, float* y, index_t rows, index_t cols, bool log) {
  const ActivationKernels& k = activation_kernels(active_cpu_isa());
  parallel_rows(rows, cols,
                [&](index_t r0, index_t r1) { k.softmax_forward_rows(x, y, r0, r1, cols, log); });
}

void softmax_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                          bool log) {
  const ActivationKernels& k = activation_kernels(active_cpu_isa());
  parallel_rows(rows, cols, [&](index_t r0, index_t r1) {
    k.softmax_backward_rows(dy, x, dx, r0, r1, cols, log);
  });
}

}  // namespace fusednet
