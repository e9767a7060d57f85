// Losses on the GPU, value and gradient fused in one kernel (same math as csrc/kernels.h):
//   per-sample L_i, weighted by w_i (sample_weight, nullptr = 1), reduced as
//   Sum: sum_i w_i L_i, Mean: that / rows; the gradient is of the reduced value.
//   mse:        L_i = mean_j (p - t)^2                      dp = w_i 2 (p - t) / cols [/ rows]
//   bce:        L_i = mean_j softplus(z) - t z (stable)     dz = w_i (sigmoid(z) - t) / cols [/ rows]
//   softmax CE: L_i = lse(z_i) - z_i[label]                 dz = w_i (softmax(z_i) - onehot) [/ rows]
//   soft CE:    L_i = sum_j t_j (lse(z_i) - z_ij)            dz = w_i (softmax(z_i) sum_j t_j - t) [/ rows]
// One warp per row: each kernel writes its row's weighted loss to row_loss[i] (double); then
// sum_doubles_cuda adds them in a fixed order on one block. No float atomics anywhere.
#include "device_util.cuh"

namespace fusednet {

namespace {
constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / dev::kWarp;
cudaStream_t as_stream(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

// Loop over this warp's rows.
#define FN_FOR_EACH_WARP_ROW(r)                                                               \
  for (index_t r = blockIdx.x * static_cast<index_t>(kWarpsPerBlock) + threadIdx.x / dev::kWarp; \
       r < rows; r += static_cast<index_t>(gridDim.x) * kWarpsPerBlock)

// softplus(z) - t z, without overflow for large |z|.
__device__ __forceinline__ float bce_term(float z, float t) {
  return fmaxf(z, 0.0f) - t * z + log1pf(expf(-fabsf(z)));
}

__global__ void mse_kernel(const float* pred, const float* target, const float* w, float* dpred,
                           index_t rows, index_t cols, float grad_scale, double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float wi = w ? w[r] : 1.0f;
    const float g = wi * 2.0f * grad_scale / static_cast<float>(cols);
    float s = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const index_t k = r * cols + j;
      const float d = pred[k] - target[k];
      s += d * d;
      dpred[k] = g * d;
    }
    s = dev::warp_sum(s);
    if (lane == 0) row_loss[r] = static_cast<double>(wi) * s / static_cast<double>(cols);
  }
}

__global__ void bce_kernel(const float* logits, const float* targets, const float* w,
                           float* dlogits, index_t rows, index_t cols, float grad_scale,
                           double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float wi = w ? w[r] : 1.0f;
    const float g = wi * grad_scale / static_cast<float>(cols);
    float s = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const index_t k = r * cols + j;
      const float z = logits[k], t = targets[k];
      s += bce_term(z, t);
      dlogits[k] = g * (dev::sigmoidf_stable(z) - t);
    }
    s = dev::warp_sum(s);
    if (lane == 0) row_loss[r] = static_cast<double>(wi) * s / static_cast<double>(cols);
  }
}

__global__ void softmax_ce_kernel(const float* logits, const std::int64_t* labels, const float* w,
                                  float* dlogits, index_t rows, index_t cols, float grad_scale,
                                  double* row_loss, int* bad_label) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* z = logits + r * cols;
    float* dz = dlogits + r * cols;
    const std::int64_t label = labels[r];
    const bool ok = label >= 0 && label < cols;
    float mx = -INFINITY;
    for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, z[j]);
    mx = dev::warp_max(mx);
    float s = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) s += expf(z[j] - mx);
    s = dev::warp_sum(s);
    const float wi = w ? w[r] : 1.0f;
    const float g = wi * grad_scale;
    const float inv = 1.0f / s;
    if (!ok) {
      for (index_t j = lane; j < cols; j += dev::kWarp) dz[j] = NAN;
      if (lane == 0) {
        row_loss[r] = NAN;
        if (bad_label) *bad_label = 1;  // an int flag, not a float sum: any writer wins
      }
      continue;
    }
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float p = expf(z[j] - mx) * inv;
      dz[j] = g * (j == label ? p - 1.0f : p);
    }
    if (lane == 0) {
      const double lse = static_cast<double>(mx) + log(static_cast<double>(s));
      row_loss[r] = static_cast<double>(wi) * (lse - static_cast<double>(z[label]));
    }
  }
}

__global__ void softmax_ce_soft_kernel(const float* logits, const float* targets, const float* w,
                                       float* dlogits, index_t rows, index_t cols,
                                       float grad_scale, double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* z = logits + r * cols;
    const float* t = targets + r * cols;
    float* dz = dlogits + r * cols;
    float mx = -INFINITY;
    for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, z[j]);
    mx = dev::warp_max(mx);
    // sum exp(z - mx), sum t, sum t (z - mx): L = sum t * (log s) - sum t (z - mx).
    float s = 0.0f, st = 0.0f, stz = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float zj = z[j] - mx;
      s += expf(zj);
      st += t[j];
      stz += t[j] * zj;
    }
    s = dev::warp_sum(s);
    st = dev::warp_sum(st);
    stz = dev::warp_sum(stz);
    const float wi = w ? w[r] : 1.0f;
    const float g = wi * grad_scale;
    const float inv = 1.0f / s;
    for (index_t j = lane; j < cols; j += dev::kWarp)
      dz[j] = g * (expf(z[j] - mx) * inv * st - t[j]);
    if (lane == 0)
      row_loss[r] = static_cast<double>(wi) *
                    (static_cast<double>(st) * log(static_cast<double>(s)) - static_cast<double>(stz));
  }
}
#undef FN_FOR_EACH_WARP_ROW

unsigned row_grid(index_t rows) { return dev::grid_for(rows, kWarpsPerBlock); }

// Gradient scale and the final fixed-order reduction shared by every loss.
float grad_scale_of(Reduction reduction, index_t rows) {
  return reduction == Reduction::Mean ? 1.0f / static_cast<float>(rows) : 1.0f;
}
void reduce_rows(Reduction reduction, const double* row_loss, index_t rows, double* loss,
                 CudaStream stream) {
  const double scale = reduction == Reduction::Sum ? 1.0
                       : rows > 0                  ? 1.0 / static_cast<double>(rows)
                                                   : NAN;  // mean of nothing, as NumPy
  sum_doubles_cuda(row_loss, rows, scale, loss, stream);
}
}  // namespace

void mse_cuda(const float* pred, const float* target, const float* sample_weight, float* dpred,
              index_t rows, index_t cols, Reduction reduction, double* row_loss, double* loss,
              CudaStream stream) {
  FN_CHECK(cols > 0 || rows == 0, "pred: mse needs at least one column, got 0");
  if (rows > 0) {
    mse_kernel<<<row_grid(rows), kThreads, 0, as_stream(stream)>>>(
        pred, target, sample_weight, dpred, rows, cols, grad_scale_of(reduction, rows), row_loss);
    CUDA_CHECK_LAUNCH();
  }
  reduce_rows(reduction, row_loss, rows, loss, stream);
}

void binary_cross_entropy_cuda(const float* logits, const float* targets,
                               const float* sample_weight, float* dlogits, index_t rows,
                               index_t cols, Reduction reduction, double* row_loss, double* loss,
                               CudaStream stream) {
  FN_CHECK(cols > 0 || rows == 0, "logits: binary_cross_entropy needs at least one column, got 0");
  if (rows > 0) {
    bce_kernel<<<row_grid(rows), kThreads, 0, as_stream(stream)>>>(
        logits, targets, sample_weight, dlogits, rows, cols, grad_scale_of(reduction, rows),
        row_loss);
    CUDA_CHECK_LAUNCH();
  }
  reduce_rows(reduction, row_loss, rows, loss, stream);
}

void softmax_cross_entropy_cuda(const float* logits, const std::int64_t* labels,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss, double* loss,
                                int* bad_label, CudaStream stream) {
  FN_CHECK(cols > 0 || rows == 0, "logits: softmax_cross_entropy needs at least one column, got 0");
  if (rows > 0) {
    softmax_ce_kernel<<<row_grid(rows), kThreads, 0, as_stream(stream)>>>(
        logits, labels, sample_weight, dlogits, rows, cols, grad_scale_of(reduction, rows),
        row_loss, bad_label);
    CUDA_CHECK_LAUNCH();
  }
  reduce_rows(reduction, row_loss, rows, loss, stream);
}

void softmax_cross_entropy_soft_cuda(const float* logits, const float* targets,
                                     const float* sample_weight, float* dlogits, index_t rows,
                                     index_t cols, Reduction reduction, double* row_loss,
                                     double* loss, CudaStream stream) {
  FN_CHECK(cols > 0 || rows == 0, "logits: softmax_cross_entropy needs at least one column, got 0");
  if (rows > 0) {
    softmax_ce_soft_kernel<<<row_grid(rows), kThreads, 0, as_stream(stream)>>>(
        logits, targets, sample_weight, dlogits, rows, cols, grad_scale_of(reduction, rows),
        row_loss);
    CUDA_CHECK_LAUNCH();
  }
  reduce_rows(reduction, row_loss, rows, loss, stream);
}

}  // namespace fusednet
