// The gradients of a narrow Dense layer (a few inputs and units, a long batch: a tiny net's
// layers) in one pass over the batch, where the gemm is latency-bound (a 4 x 1000 x 1 dW is one
// long FMA chain per K pass) and every piece is a call of its own.
//
//   dW[i, j] = sum_r x[r, i] dz[r, j]: 16 phase sums (phase p: the rows r = p mod 16, in order,
//              one FMA chain from +0 each), then t_p += t_{p+h} for h = 8, 4, 2, 1 (p < h)
//   dx[r, i] = (sum_j dz[r, j] w[i, j]) * act'(x[r, i]): the chain in j order from +0 (the
//              gemm's bits for K <= its K pass) times the previous layer's derivative from its
//              output x (activation_backward_from_output's bits)
//
// The same bits on every ISA (dense_grad_narrow_reference is the arithmetic written out, which
// the tests compare with), and on one thread: a batch that fits is under 2^16 rows.
#include "kernels/cpu/dense_grad_kernels.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/math/activation.h"
#include "runtime/precision.h"

namespace fusednet {

namespace {

constexpr index_t kMaxRows = index_t{1} << 16;  // one thread's pass; beyond, the gemm splits

bool power_of_two_upto_8(index_t n) { return n == 1 || n == 2 || n == 4 || n == 8; }

float derivative_from_output(Activation act, float y, float a) {
  switch (act) {
    case Activation::ReLU: return actmath::derivative_from_output<Activation::ReLU>(y, a);
    case Activation::LeakyReLU: return actmath::derivative_from_output<Activation::LeakyReLU>(y, a);
    case Activation::Sigmoid: return actmath::derivative_from_output<Activation::Sigmoid>(y, a);
    case Activation::Tanh: return actmath::derivative_from_output<Activation::Tanh>(y, a);
    default: return 1.0f;
  }
}

// dW from the phase sums (overwritten), the 16 phases of each element added as a tree: phase
// p + h into phase p for h = 8, 4, 2, 1 (all elements at once: a vector loop per p).
void add_phases(float* sums, index_t dw, index_t ow, bool d_is_x, float* grad_w, index_t units) {
  const index_t elems = dw * ow;
  for (int h = kDenseGradPhases / 2; h >= 1; h /= 2)
    for (int p = 0; p < h; ++p) {
      float* to = sums + p * elems;
      const float* from = sums + (p + h) * elems;
      for (index_t k = 0; k < elems; ++k) to[k] += from[k];
    }
  for (index_t c = 0; c < dw; ++c)
    for (index_t e = 0; e < ow; ++e)
      grad_w[d_is_x ? c * units + e : e * units + c] = sums[c * ow + e];
}

}  // namespace

const DenseGradKernels& dense_grad_kernels_generic() {
  static const DenseGradKernels k{nullptr};  // plain loops would lose to the gemm here
  return k;
}

const DenseGradKernels& dense_grad_kernels(CpuIsa isa) {
  return pick_kernels(isa, &dense_grad_kernels_generic, FN_X86_KERNELS(dense_grad_kernels_avx2),
                      FN_X86_KERNELS(dense_grad_kernels_avx512));
}

bool dense_grad_narrow_fits(index_t rows, index_t in, index_t units, bool with_dx) {
  const index_t wide = std::max(in, units);
  return rows >= 1 && rows <= kMaxRows && in >= 1 && units >= 1 && in * units <= 16 &&
         power_of_two_upto_8(wide) && (!with_dx || in >= units);
}

bool dense_grad_narrow_cpu(const float* x, const float* dz, const float* w, float* dw, float* dx,
                           Activation act, float act_param, index_t rows, index_t in,
                           index_t units) {
  if (!dense_grad_narrow_fits(rows, in, units, dx != nullptr)) return false;
  if (dx && !has_derivative_from_output(act, act_param)) return false;
  // "medium" rounds the gemm's inputs to bf16: the layer's products stay the gemm's then.
  if (cpu_gemm_bf16_kernel() != CpuBf16Kernel::None) return false;
  const DenseGradKernels& k = dense_grad_kernels(active_cpu_isa());
  if (!k.narrow) return false;
  const bool d_is_x = in >= units;  // the wider operand fills the vectors
  const index_t wide = d_is_x ? in : units, narrow = d_is_x ? units : in;
  float sums[kDenseGradPhases * 16];
  k.narrow(d_is_x ? x : dz, d_is_x ? dz : x, rows, static_cast<int>(wide), static_cast<int>(narrow),
           w, dx, act, act_param, sums);
  add_phases(sums, wide, narrow, d_is_x, dw, units);
  return true;
}

void dense_grad_narrow_reference(const float* x, const float* dz, const float* w, float* dw,
                                 float* dx, Activation act, float act_param, index_t rows,
                                 index_t in, index_t units) {
  std::vector<float> sums(static_cast<std::size_t>(kDenseGradPhases * in * units), 0.0f);
  for (index_t r = 0; r < rows; ++r) {
    float* s = sums.data() + (r % kDenseGradPhases) * in * units;
    for (index_t i = 0; i < in; ++i)
      for (index_t j = 0; j < units; ++j)
        s[i * units + j] = std::fma(x[r * in + i], dz[r * units + j], s[i * units + j]);
    if (!dx) continue;
    for (index_t i = 0; i < in; ++i) {
      float g = 0.0f;
      for (index_t j = 0; j < units; ++j) g = std::fma(dz[r * units + j], w[i * units + j], g);
      if (act != Activation::Linear) g = g * derivative_from_output(act, x[r * in + i], act_param);
      dx[r * in + i] = g;
    }
  }
  add_phases(sums.data(), in, units, true, dw, units);
}

}  // namespace fusednet
