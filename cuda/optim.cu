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

struct AdamParams {
  float lr, beta1, beta2, eps, weight_decay;
  float inv_bc1;        // 1 / (1 - b1^t)
  float inv_sqrt_bc2;   // 1 / sqrt(1 - b2^t)
  bool decoupled;
};

__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v,
                                         const AdamParams& a) {
  if (a.decoupled) p *= 1.0f - a.lr * a.weight_decay;
  else g += a.weight_decay * p;
  m = a.beta1 * m + (1.0f - a.beta1) * g;
  v = a.beta2 * v + (1.0f - a.beta2) * g * g;
  const float m_hat = m * a.inv_bc1;
  const float denom = sqrtf(v) * a.inv_sqrt_bc2 + a.eps;
  p -= a.lr * m_hat / denom;
}

struct SgdParams {
  float lr, momentum, weight_decay;
  bool nesterov;
};

__device__ __forceinline__ void sgd_one(float& p, float g, float* vel, const SgdParams& s) {
  g += s.weight_decay * p;
  if (vel) {
    const float v = s.momentum * *vel + g;
    *vel = v;
    p -= s.lr * (s.nesterov ? g + s.momentum * v : v);
  } else {
    p -= s.lr * g;
  }
}

// Reference form: one thread per element, any alignment.
__global__ void adam_step_kernel(float* param, const float* grad, float* m, float* v, index_t n,
                                 AdamParams a) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    adam_one(param[i], grad[i], m[i], v[i], a);
}

// Vectorized: float4 over the first 4 * (n / 4) elements, then the tail by the first threads.
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
    adam_one(p.x, g.x, mm.x, vv.x, a);
    adam_one(p.y, g.y, mm.y, vv.y, a);
    adam_one(p.z, g.z, mm.z, vv.z, a);
    adam_one(p.w, g.w, mm.w, vv.w, a);
    reinterpret_cast<float4*>(param)[i] = p;
    reinterpret_cast<float4*>(m)[i] = mm;
    reinterpret_cast<float4*>(v)[i] = vv;
  }
  const index_t i = quads * 4 + tid;
  if (i < n) adam_one(param[i], grad[i], m[i], v[i], a);
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
}  // namespace

void sgd_step_cuda(float* param, const float* grad, float* velocity, index_t n, float lr,
                   float momentum, bool nesterov, float weight_decay, CudaStream stream) {
  if (n <= 0) return;
  FN_CHECK(momentum == 0.0f || velocity != nullptr,
           "velocity: required when momentum != 0, got None");
  SgdParams s{lr, momentum, weight_decay, nesterov};
  float* vel = momentum != 0.0f ? velocity : nullptr;
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
  AdamParams a{lr, beta1, beta2, eps, weight_decay, static_cast<float>(1.0 / bc1),
               static_cast<float>(1.0 / std::sqrt(bc2)), decoupled};
  const bool vec = dev::aligned16(param) && dev::aligned16(grad) && dev::aligned16(m) &&
                   dev::aligned16(v);
  if (vec) {
    adam_step_vec4_kernel<<<dev::grid_for(n / 4 + 1, kThreads), kThreads, 0, as_stream(stream)>>>(
        param, grad, m, v, n, a);
  } else {
    adam_step_kernel<<<dev::grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(param, grad,
                                                                                    m, v, n, a);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace fusednet
