// Optimizer steps on the GPU, in place over a flat float32 span (a Net's whole parameter arena),
// one launch per step (same math as csrc/kernels.h):
//   SGD (PyTorch form): g += wd p; v = mu v + g; p -= lr (nesterov ? g + mu v : v)  (mu = 0: p -= lr g)
//   Adam (paper form):  m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//                       p -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
//     L2 (decoupled = false): g += wd p first; AdamW (decoupled = true): p *= 1 - lr wd first.
// Memory-bound (Adam moves 16 bytes in, 12 out per parameter): float4 loads and stores when every
// pointer is 16-byte aligned, the last n % 4 elements by the same kernel in scalar form.
#include "device_util.cuh"

namespace fusednet {

namespace {
constexpr int kThreads = 256;
cudaStream_t as_stream(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

// The coefficients and the per-element arithmetic of csrc/cpu/optim_impl.h (PyTorch's order), so
// both devices agree to rounding: weight decay 0 means no decay term at all (0 * inf would turn an
// infinite parameter into NaN), bias corrections folded into step_size and inv_sqrt_bc2.
enum : int { kDecayNone = 0, kDecayL2 = 1, kDecayDecoupled = 2 };

struct AdamParams {
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float step_size;     // lr / (1 - b1^t)
  float inv_sqrt_bc2;  // 1 / sqrt(1 - b2^t)
  float eps;
  float weight_decay;  // L2: g += wd p
  float decay_factor;  // decoupled: p *= 1 - lr wd
};

template <int D>
__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v,
                                         const AdamParams& a) {
  if (D == kDecayL2) g = g + a.weight_decay * p;
  if (D == kDecayDecoupled) p = p * a.decay_factor;
  m = a.beta1 * m + a.one_minus_beta1 * g;
  v = a.beta2 * v + a.one_minus_beta2 * (g * g);
  const float denom = sqrtf(v) * a.inv_sqrt_bc2 + a.eps;
  p = p - a.step_size * (m / denom);
}

struct SgdParams {
  float lr, momentum, weight_decay;
  bool use_decay, nesterov;
};

__device__ __forceinline__ void sgd_one(float& p, float g, float* vel, const SgdParams& s) {
  if (s.use_decay) g = g + s.weight_decay * p;
  float update = g;
  if (vel) {
    const float v = s.momentum * *vel + g;
    *vel = v;
    update = s.nesterov ? g + s.momentum * v : v;
  }
  p = p - s.lr * update;
}

// Reference form: one thread per element, any alignment.
template <int D>
__global__ void adam_step_kernel(float* param, const float* grad, float* m, float* v, index_t n,
                                 AdamParams a) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    adam_one<D>(param[i], grad[i], m[i], v[i], a);
}

// Vectorized: float4 over the first 4 * (n / 4) elements, then the tail by the first threads.
template <int D>
__global__ void adam_step_vec4_kernel(float* param, const float* grad, float* m, float* v,
                                      index_t n, AdamParams a) {
  const index_t quads = n / 4;
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  const index_t tid = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  for (index_t i = tid; i < quads; i += stride) {
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
  const index_t i = quads * 4 + tid;
  if (i < n) adam_one<D>(param[i], grad[i], m[i], v[i], a);
}

__global__ void sgd_step_kernel(float* param, const float* grad, float* vel, index_t n,
                                SgdParams s) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    sgd_one(param[i], grad[i], vel ? vel + i : nullptr, s);
}

__global__ void sgd_step_vec4_kernel(float* param, const float* grad, float* vel, index_t n,
                                     SgdParams s) {
  const index_t quads = n / 4;
  const index_t stride = static_cast<index_t>(gridDim.x) * blockDim.x;
  const index_t tid = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x;
  for (index_t i = tid; i < quads; i += stride) {
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
  const index_t i = quads * 4 + tid;
  if (i < n) sgd_one(param[i], grad[i], vel ? vel + i : nullptr, s);
}
template <int D>
void launch_adam(bool vec, float* param, const float* grad, float* m, float* v, index_t n,
                 const AdamParams& a, CudaStream stream) {
  if (vec) {
    // At least one thread per tail element (n % 4 <= 3 < kThreads).
    adam_step_vec4_kernel<D><<<dev::grid_for(n / 4 + 1, kThreads), kThreads, 0,
                               as_stream(stream)>>>(param, grad, m, v, n, a);
  } else {
    adam_step_kernel<D><<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(
        param, grad, m, v, n, a);
  }
}
}  // namespace

void sgd_step_cuda(float* param, const float* grad, float* velocity, index_t n, float lr,
                   float momentum, bool nesterov, float weight_decay, CudaStream stream) {
  if (n <= 0) return;
  FN_CHECK(momentum == 0.0f || velocity != nullptr,
           "velocity: required when momentum != 0, got None");
  float* vel = momentum != 0.0f ? velocity : nullptr;
  SgdParams s{lr, momentum, weight_decay, weight_decay != 0.0f, nesterov && vel != nullptr};
  const bool vec = dev::aligned16(param) && dev::aligned16(grad) && (!vel || dev::aligned16(vel));
  if (vec) {
    // At least one thread per tail element (n % 4 <= 3 < kThreads).
    sgd_step_vec4_kernel<<<dev::grid_for(n / 4 + 1, kThreads), kThreads, 0, as_stream(stream)>>>(
        param, grad, vel, n, s);
  } else {
    sgd_step_kernel<<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(param, grad,
                                                                                   vel, n, s);
  }
  CUDA_CHECK_LAUNCH();
}

void adam_step_cuda(float* param, const float* grad, float* m, float* v, index_t n,
                    std::int64_t step, float lr, float beta1, float beta2, float eps,
                    float weight_decay, bool decoupled, CudaStream stream) {
  FN_CHECK(step >= 1, "step: expected an int >= 1, got ", step);
  if (n <= 0) return;
  // Bias corrections in double on the host: once per step, exact to float rounding.
  const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  AdamParams a;
  a.beta1 = beta1;
  a.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  a.beta2 = beta2;
  a.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  a.step_size = static_cast<float>(static_cast<double>(lr) / bc1);
  a.inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  a.eps = eps;
  a.weight_decay = weight_decay;
  a.decay_factor =
      static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
  const int decay = weight_decay == 0.0f ? kDecayNone : (decoupled ? kDecayDecoupled : kDecayL2);
  const bool vec = dev::aligned16(param) && dev::aligned16(grad) && dev::aligned16(m) &&
                   dev::aligned16(v);
  switch (decay) {
    case kDecayNone: launch_adam<kDecayNone>(vec, param, grad, m, v, n, a, stream); break;
    case kDecayL2: launch_adam<kDecayL2>(vec, param, grad, m, v, n, a, stream); break;
    default: launch_adam<kDecayDecoupled>(vec, param, grad, m, v, n, a, stream); break;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
