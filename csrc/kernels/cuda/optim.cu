// Optimizer steps on the GPU, in place over a flat float32 span (a Net's whole parameter arena),
// one launch per step; the math (coefficients, decay modes, one element's update in PyTorch's
// order) is kernels/math/optim.h, the CPU's too, so both devices agree to rounding:
//   SGD (PyTorch form): g += wd p; v = mu v + g; p -= lr (nesterov ? g + mu v : v)
//                       (mu = 0: p -= lr g)
//   Adam (paper form):  m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//                       p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//     L2 (decoupled = false): g += wd p first; AdamW (decoupled = true): p *= 1 - lr wd first.
// Memory-bound (Adam moves 16 bytes in, 12 out per parameter): float4 loads and stores when every
// pointer is 16-byte aligned, the last n % 4 elements by the same kernel in scalar form.
#include "kernels/checks.h"
#include "kernels/cuda.h"
#include "kernels/cuda/device_util.cuh"
#include "kernels/math/optim.h"

namespace fusednet {

namespace {
constexpr int kThreads = 256;
using optmath::AdamCoeffs;
using optmath::Decay;
using optmath::SgdCoeffs;

template <Decay D>
__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v,
                                         const AdamCoeffs& a) {
  optmath::adam_update<D>(p, g, m, v, a);
}

// Momentum when vel is given (the launcher passes nullptr without it).
__device__ __forceinline__ void sgd_one(float& p, float g, float* vel, const SgdCoeffs& s) {
  optmath::sgd_update(p, g, vel, s, s.use_decay, vel != nullptr, s.nesterov);
}

// The float4 form's split of n elements: this thread's quads are tid, tid + stride, ... below
// quads; the last n % 4 elements go to the grid's first threads, element quads * 4 + tid.
struct QuadSplit {
  index_t quads, stride, tid;
  __device__ __forceinline__ explicit QuadSplit(index_t n)
      : quads(n / 4), stride(dev::grid_stride()), tid(dev::first_index()) {}
};

// Reference form: one thread per element, any alignment.
template <Decay D>
__global__ void adam_step_kernel(float* param, const float* grad, float* m, float* v, index_t n,
                                 AdamCoeffs a) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    adam_one<D>(param[i], grad[i], m[i], v[i], a);
}

// Vectorized: float4 over the first 4 * (n / 4) elements, then the tail by the first threads.
template <Decay D>
__global__ void adam_step_vec4_kernel(float* param, const float* grad, float* m, float* v,
                                      index_t n, AdamCoeffs a) {
  const QuadSplit q(n);
  for (index_t i = q.tid; i < q.quads; i += q.stride) {
    float4 p = reinterpret_cast<float4*>(param)[i];
    const float4 g = reinterpret_cast<const float4*>(grad)[i];
    float4 mm = reinterpret_cast<float4*>(m)[i];
    float4 vv = reinterpret_cast<float4*>(v)[i];
    adam_one<D>(p.x, g.x, mm.x, vv.x, a);
    adam_one<D>(p.y, g.y, mm.y, vv.y, a);
    adam_one<D>(p.z, g.z, mm.z, vv.z, a);
    adam_one<D>(p.w, g.w, mm.w, vv.w, a);
    reinterpret_cast<float4*>(param)[i] = p;
    reinterpret_cast<float4*>(m)[i] = mm;
    reinterpret_cast<float4*>(v)[i] = vv;
  }
  const index_t i = q.quads * 4 + q.tid;
  if (i < n) adam_one<D>(param[i], grad[i], m[i], v[i], a);
}

__global__ void sgd_step_kernel(float* param, const float* grad, float* vel, index_t n,
                                SgdCoeffs s) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    sgd_one(param[i], grad[i], vel ? vel + i : nullptr, s);
}

__global__ void sgd_step_vec4_kernel(float* param, const float* grad, float* vel, index_t n,
                                     SgdCoeffs s) {
  const QuadSplit q(n);
  for (index_t i = q.tid; i < q.quads; i += q.stride) {
    float4 p = reinterpret_cast<float4*>(param)[i];
    const float4 g = reinterpret_cast<const float4*>(grad)[i];
    if (vel) {
      float4 v = reinterpret_cast<float4*>(vel)[i];
      sgd_one(p.x, g.x, &v.x, s);
      sgd_one(p.y, g.y, &v.y, s);
      sgd_one(p.z, g.z, &v.z, s);
      sgd_one(p.w, g.w, &v.w, s);
      reinterpret_cast<float4*>(vel)[i] = v;
    } else {
      sgd_one(p.x, g.x, nullptr, s);
      sgd_one(p.y, g.y, nullptr, s);
      sgd_one(p.z, g.z, nullptr, s);
      sgd_one(p.w, g.w, nullptr, s);
    }
    reinterpret_cast<float4*>(param)[i] = p;
  }
  const index_t i = q.quads * 4 + q.tid;
  if (i < n) sgd_one(param[i], grad[i], vel ? vel + i : nullptr, s);
}

template <optmath::Rule R>
__global__ void rule_step_kernel(optmath::RuleCoeffs c, float* param, const float* grad, float* s0,
                                 float* s1, float* s2, index_t n) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    optmath::rule_update<R>(param, grad, s0, s1, s2, i, c);
}

__global__ void ema_kernel(float* avg, const float* p, index_t n, float m, float om) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    avg[i] = optmath::ema_one(avg[i], p[i], m, om);
}

// Sum of squares of block b's kSumBlock elements in double, a fixed tree per block.
constexpr index_t kSumBlock = 8192;
__global__ void penalty_sum_kernel(const float* x, index_t n, double l1, double l2,
                                   double* partials) {
  __shared__ double warp_part[kThreads / 32];
  const index_t begin = static_cast<index_t>(blockIdx.x) * kSumBlock;
  const index_t end = begin + kSumBlock < n ? begin + kSumBlock : n;
  double s = 0.0;
  for (index_t i = begin + threadIdx.x; i < end; i += kThreads)
    s += optmath::penalty_one(x[i], l1, l2);
  s = dev::warp_sum(s);
  if ((threadIdx.x & 31) == 0) warp_part[threadIdx.x / 32] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0.0;
    for (int w = 0; w < kThreads / 32; ++w) t += warp_part[w];
    partials[blockIdx.x] = t;
  }
}

__global__ void penalty_grad_kernel(const float* w, float* g, index_t n, float l1, float l2) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    g[i] += optmath::penalty_grad_one(w[i], l1, l2);
}

__global__ void nonneg_kernel(float* w, index_t n) {
  for (index_t i = dev::first_index(); i < n; i += dev::grid_stride())
    w[i] = w[i] * (w[i] >= 0.f ? 1.f : 0.f);
}

// One thread per column: its sum of squares over the rows in order (double), then the factor.
__global__ void column_norm_kernel(optmath::Constraint k, float* w, index_t rows, index_t cols,
                                   float min_value, float max_value, float rate) {
  for (index_t c = dev::first_index(); c < cols; c += dev::grid_stride()) {
    double ss = 0.0;
    for (index_t r = 0; r < rows; ++r) {
      const double v = w[r * cols + c];
      ss += v * v;
    }
    const float f =
        optmath::constraint_factor(k, static_cast<float>(sqrt(ss)), min_value, max_value, rate);
    for (index_t r = 0; r < rows; ++r) w[r * cols + c] *= f;
  }
}

// At least one thread per tail element in the float4 form (n % 4 <= 3 < kThreads).
unsigned grid_for_span(index_t n, bool vec) { return dev::grid_for(vec ? n / 4 + 1 : n, kThreads); }
}  // namespace

void sgd_step_cuda(float* param, const float* grad, float* velocity, index_t n, double lr,
                   double momentum, bool nesterov, double weight_decay, CudaStream stream) {
  check_sgd_args(n, momentum, velocity);
  if (n == 0) return;
  const SgdCoeffs s = optmath::sgd_coeffs(lr, momentum, nesterov, weight_decay);
  float* vel = s.use_momentum ? velocity : nullptr;
  const bool vec = dev::aligned16(param) && dev::aligned16(grad) && (!vel || dev::aligned16(vel));
  if (vec)
    sgd_step_vec4_kernel<<<grid_for_span(n, vec), kThreads, 0, as_stream(stream)>>>(param, grad,
                                                                                    vel, n, s);
  else
    sgd_step_kernel<<<grid_for_span(n, vec), kThreads, 0, as_stream(stream)>>>(param, grad, vel, n,
                                                                               s);
  CUDA_CHECK_LAUNCH();
}

void adam_step_cuda(float* param, const float* grad, float* m, float* v, index_t n,
                    std::int64_t step, double lr, double beta1, double beta2, double eps,
                    double weight_decay, bool decoupled, CudaStream stream) {
  check_adam_args(n, step);
  if (n == 0) return;
  const AdamCoeffs a = optmath::adam_coeffs(step, lr, beta1, beta2, eps, weight_decay, decoupled);
  const bool vec =
      dev::aligned16(param) && dev::aligned16(grad) && dev::aligned16(m) && dev::aligned16(v);
  optmath::with_decay(a.decay, [&](auto D) {
    constexpr Decay d = decltype(D)::value;
    if (vec)
      adam_step_vec4_kernel<d>
          <<<grid_for_span(n, vec), kThreads, 0, as_stream(stream)>>>(param, grad, m, v, n, a);
    else
      adam_step_kernel<d>
          <<<grid_for_span(n, vec), kThreads, 0, as_stream(stream)>>>(param, grad, m, v, n, a);
  });
  CUDA_CHECK_LAUNCH();
}

void optim_rule_step_cuda(const optmath::RuleCoeffs& c, float* param, const float* grad, float* s0,
                          float* s1, float* s2, index_t n, CudaStream stream) {
  check_rule_args(c, n, s0, s1, s2);
  if (n == 0) return;
  optmath::with_rule(c.rule, [&](auto R) {
    rule_step_kernel<decltype(R)::value>
        <<<grid_for_span(n, false), kThreads, 0, as_stream(stream)>>>(c, param, grad, s0, s1, s2,
                                                                      n);
  });
  CUDA_CHECK_LAUNCH();
}

void ema_update_cuda(float* avg, const float* p, index_t n, double momentum, CudaStream stream) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  const float m = optmath::f32_coeff(momentum, "ema_momentum");
  const float om = static_cast<float>(1.0 - momentum);
  if (n == 0) return;
  ema_kernel<<<grid_for_span(n, false), kThreads, 0, as_stream(stream)>>>(avg, p, n, m, om);
  CUDA_CHECK_LAUNCH();
}

index_t sum_squares_partials(index_t n) { return n <= 0 ? 1 : dev::cdiv(n, kSumBlock); }

void sum_squares_cuda(const float* x, index_t n, double* partials, double* out, CudaStream stream) {
  penalty_sum_cuda(x, n, 0.0, 1.0, partials, out, stream);
}

void penalty_grad_cuda(const float* w, float* g, index_t n, float l1, float l2, CudaStream stream) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  if (n == 0) return;
  penalty_grad_kernel<<<grid_for_span(n, false), kThreads, 0, as_stream(stream)>>>(w, g, n, l1, l2);
  CUDA_CHECK_LAUNCH();
}

void constrain_cuda(int kind, float* w, index_t rows, index_t cols, float min_value,
                    float max_value, float rate, CudaStream stream) {
  FN_CHECK(kind >= 0 && kind <= 3, "constraint: expected a kind in [0, 3], got ", kind);
  FN_CHECK(rows >= 0 && cols >= 0, "shape: expected rows, cols >= 0, got ", rows, ", ", cols);
  if (rows * cols == 0) return;
  const auto k = static_cast<optmath::Constraint>(kind);
  if (k == optmath::Constraint::NonNeg)
    nonneg_kernel<<<grid_for_span(rows * cols, false), kThreads, 0, as_stream(stream)>>>(
        w, rows * cols);
  else
    column_norm_kernel<<<dev::grid_for(cols, kThreads), kThreads, 0, as_stream(stream)>>>(
        k, w, rows, cols, min_value, max_value, rate);
  CUDA_CHECK_LAUNCH();
}

void penalty_sum_cuda(const float* x, index_t n, double l1, double l2, double* partials,
                      double* out, CudaStream stream) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  const index_t blocks = n == 0 ? 0 : sum_squares_partials(n);
  if (blocks > 0) {
    penalty_sum_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, as_stream(stream)>>>(
        x, n, l1, l2, partials);
    CUDA_CHECK_LAUNCH();
  }
  sum_doubles_cuda(partials, blocks, 1.0, out, stream);
}

}  // namespace fusednet
