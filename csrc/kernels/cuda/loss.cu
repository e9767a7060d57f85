// Losses on the GPU, value and gradient fused in one kernel (same math as the *_cpu losses):
//   per-sample L_i, weighted by w_i (sample_weight, nullptr = 1), reduced as
//   Sum: sum_i w_i L_i, Mean: that / rows; the gradient is of the reduced value.
//   mse:        L_i = mean_j (p - t)^2                      dp = w_i 2 (p - t) / cols [/ rows]
//   bce:        L_i = mean_j softplus(z) - t z (stable)     dz = w_i (sigmoid(z) - t) / cols [/ rows]
//   softmax CE: L_i = lse(z_i) - z_i[label]                 dz = w_i (softmax(z_i) - onehot) [/ rows]
//   soft CE:    L_i = sum_j t_j (lse(z_i) - z_ij)            dz = w_i (softmax(z_i) sum_j t_j - t) [/ rows]
// One warp per row: each kernel writes its row's weighted loss to row_loss[i] (double); then
// sum_doubles_cuda adds them in a fixed order on one block. No float atomics anywhere.
//   pair losses (mae, mape, msle, huber, log_cosh, hinge, squared_hinge, poisson, kld, bce from
//   probabilities, categorical_hinge, cosine_similarity): kernels/math/loss.h's terms, a warp per
//   row, row sums in double as pair_loss_cpu.
#include "kernels/checks.h"
#include "kernels/cuda/device_util.cuh"
#include "kernels/math/loss.h"

namespace fusednet {

namespace {
constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / dev::kWarp;

// Loop over this warp's rows.
#define FN_FOR_EACH_WARP_ROW(r)                                                                  \
  for (index_t r = blockIdx.x * static_cast<index_t>(kWarpsPerBlock) + threadIdx.x / dev::kWarp; \
       r < rows; r += static_cast<index_t>(gridDim.x) * kWarpsPerBlock)

// Every kernel follows cpu/loss.cpp term by term: row sums in double, the gradient factor
// coef = float(base * w_i) with base = per_row [/ rows] in double, and the same guards for
// confident rows (see softmax_ce_kernel), so the two devices agree to float rounding.
__device__ __forceinline__ float row_coef(const float* w, index_t r, double base) {
  return static_cast<float>(base * (w ? static_cast<double>(w[r]) : 1.0));
}

// mse and bce: L_i = mean_j term_j, one warp per row; term(k, coef) returns the loss term of
// element k (in double) and writes its gradient coef * d term / dz.
template <class Term>
__global__ void column_mean_kernel(Term term, const float* w, index_t rows, index_t cols,
                                   double base, double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float coef = row_coef(w, r, base);
    double s = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) s += term(r * cols + j, coef);
    s = dev::warp_sum(s);
    if (lane == 0)
      row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) * s / static_cast<double>(cols);
  }
}

struct MseTerm {
  const float* pred;
  const float* target;
  float* dpred;
  __device__ __forceinline__ double operator()(index_t k, float coef) const {
    const float d = pred[k] - target[k];
    dpred[k] = coef * d;
    return static_cast<double>(d) * static_cast<double>(d);
  }
};

struct BceTerm {
  const float* logits;
  const float* targets;
  float* dlogits;
  __device__ __forceinline__ double operator()(index_t k, float coef) const {
    const float z = logits[k], t = targets[k];
    const float e = expf(-fabsf(z));  // in (0, 1]: no overflow on either branch
    const float small = e / (1.0f + e);  // sigmoid(-|z|)
    // sigmoid(z) - t as (1 - t) - sigmoid(-z) for z >= 0: keeps the tiny gradient of a
    // confident right answer (t = 1, z >> 0) that 1 / (1 + e) - 1 would round to 0.
    const float diff = z >= 0.0f ? (1.0f - t) - small : small - t;
    const float linear = fmaxf(z, 0.0f) - t * z;  // softplus(z) - t z = linear + log1p(e)
    dlogits[k] = coef * diff;
    return static_cast<double>(linear) + static_cast<double>(log1pf(e));
  }
};

// Row max and sum_j exp(z_j - max) split as ties (terms with z_j == max, exactly 1 each) and the
// others, so rest = sum - 1 is known without rounding 1 + rest: lse - max = log1p(rest) keeps the
// tiny loss of a confident row, and softmax_label - 1 = -rest / sum its tiny gradient (both round
// to 0 through sum otherwise). A NaN anywhere makes sum and rest NaN.
struct RowLse {
  float max, sum, rest;
};

__device__ __forceinline__ RowLse warp_row_lse(const float* z, index_t cols, int lane) {
  float mx = -INFINITY;
  for (index_t j = lane; j < cols; j += dev::kWarp) mx = fmaxf(mx, z[j]);
  mx = dev::warp_max(mx);
  float ties = 0.0f, others = 0.0f;
  for (index_t j = lane; j < cols; j += dev::kWarp) {
    const float zj = z[j];
    if (zj == mx) ties += 1.0f;
    else others += expf(zj - mx);  // NaN lands here
  }
  ties = dev::warp_sum(ties);
  others = dev::warp_sum(others);
  return {mx, ties + others, (ties - 1.0f) + others};
}

__global__ void softmax_ce_kernel(const float* logits, const std::int64_t* labels, const float* w,
                                  float* dlogits, index_t rows, index_t cols, double base,
                                  double* row_loss, int* bad_label) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* z = logits + r * cols;
    float* dz = dlogits + r * cols;
    const std::int64_t label = labels[r];
    if (!(label >= 0 && label < cols)) {
      for (index_t j = lane; j < cols; j += dev::kWarp) dz[j] = NAN;
      if (lane == 0) {
        row_loss[r] = NAN;
        if (bad_label) *bad_label = 1;  // an int flag, not a float sum: any writer wins
      }
      continue;
    }
    const RowLse l = warp_row_lse(z, cols, lane);
    const float coef = row_coef(w, r, base);
    const float scale = coef / l.sum;
    const float zl = z[label];
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float p = expf(z[j] - l.max) * scale;
      float d = p;
      if (j == label) d = zl == l.max ? -coef * (l.rest / l.sum) : p - coef;
      dz[j] = d;
    }
    if (lane == 0)
      row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) *
                    (log1p(static_cast<double>(l.rest)) +
                     (static_cast<double>(l.max) - static_cast<double>(zl)));
  }
}

__global__ void softmax_ce_soft_kernel(const float* logits, const float* targets, const float* w,
                                       float* dlogits, index_t rows, index_t cols, double base,
                                       double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* z = logits + r * cols;
    const float* t = targets + r * cols;
    float* dz = dlogits + r * cols;
    const RowLse l = warp_row_lse(z, cols, lane);
    // L = sum_j t_j (lse - z_j) = t_sum log1p(rest) + sum_j t_j (max - z_j), in double.
    double t_sum = 0.0, tz_sum = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const double tj = static_cast<double>(t[j]);
      t_sum += tj;
      tz_sum += tj * (static_cast<double>(l.max) - static_cast<double>(z[j]));
    }
    t_sum = dev::warp_sum(t_sum);
    tz_sum = dev::warp_sum(tz_sum);
    const float coef = row_coef(w, r, base);
    const float scale = static_cast<float>(static_cast<double>(coef) * t_sum / l.sum);
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float zj = z[j], tj = t[j];
      float d = scale * expf(zj - l.max) - coef * tj;
      if (zj == l.max) {  // t_sum / sum - t_j = ((t_sum - t_j) - t_j rest) / sum: no cancellation
        const double td = static_cast<double>(tj);
        d = static_cast<float>(
            static_cast<double>(coef) *
            (((t_sum - td) - td * static_cast<double>(l.rest)) / static_cast<double>(l.sum)));
      }
      dz[j] = d;
    }
    if (lane == 0)
      row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) *
                    (t_sum * log1p(static_cast<double>(l.rest)) + tz_sum);
  }
}
// The elementwise pair losses: row loss = w_i * (sum or mean of the terms).
__global__ void pair_loss_kernel(PairLoss kind, float a, const float* pred, const float* target,
                                 const float* w, float* dpred, index_t rows, index_t cols,
                                 double base, double per_row, double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float coef = row_coef(w, r, base);
    double s = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const index_t k = r * cols + j;
      float d = 0.0f;
      const float v = lossmath::visit_elementwise(kind, [&](auto K) {
        return lossmath::term<decltype(K)::value, dev::DeviceMath>(pred[k], target[k], a, &d);
      });
      dpred[k] = coef * d;
      s += static_cast<double>(v);
    }
    s = dev::warp_sum(s);
    if (lane == 0) row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) * s * per_row;
  }
}

// categorical_hinge: max(neg - pos + 1, 0), pos = sum t p, neg = max (1 - t) p, the max's
// gradient shared by its ties (as pair_loss_impl.h's categorical_hinge_row).
__global__ void categorical_hinge_kernel(const float* pred, const float* target, const float* w,
                                         float* dpred, index_t rows, index_t cols, double base,
                                         double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* p = pred + r * cols;
    const float* t = target + r * cols;
    float* d = dpred + r * cols;
    double pos = 0.0;
    float neg = -INFINITY;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      pos += static_cast<double>(t[j]) * static_cast<double>(p[j]);
      const float v = (1.0f - t[j]) * p[j];
      neg = v > neg || v != v ? v : neg;
    }
    pos = dev::warp_sum(pos);
    for (int o = dev::kWarp / 2; o > 0; o >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, neg, o);
      neg = other > neg || other != other ? other : neg;
    }
    float ties = 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp)
      ties += (1.0f - t[j]) * p[j] == neg ? 1.0f : 0.0f;
    ties = dev::warp_sum(ties);
    const double loss = static_cast<double>(neg) - pos + 1.0;
    const bool active = loss > 0.0;
    const float coef = row_coef(w, r, base);
    const float share = ties > 0.0f ? 1.0f / ties : 0.0f;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const float tie = (1.0f - t[j]) * p[j] == neg ? share * (1.0f - t[j]) : 0.0f;
      d[j] = active ? coef * (tie - t[j]) : (loss != loss ? NAN : 0.0f);
    }
    if (lane == 0)
      row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) * (active || loss != loss ? loss : 0.0);
  }
}

// cosine_similarity: -<t, p> / (|t|' |p|'), |x|' = sqrt(max(sum x^2, eps^2)).
__global__ void cosine_kernel(const float* pred, const float* target, const float* w, float* dpred,
                              index_t rows, index_t cols, double base, double* row_loss) {
  const int lane = threadIdx.x % dev::kWarp;
  FN_FOR_EACH_WARP_ROW(r) {
    const float* p = pred + r * cols;
    const float* t = target + r * cols;
    float* d = dpred + r * cols;
    double st = 0.0, sp = 0.0, stp = 0.0;
    for (index_t j = lane; j < cols; j += dev::kWarp) {
      const double pj = static_cast<double>(p[j]), tj = static_cast<double>(t[j]);
      st += tj * tj;
      sp += pj * pj;
      stp += tj * pj;
    }
    st = dev::warp_sum(st);
    sp = dev::warp_sum(sp);
    stp = dev::warp_sum(stp);
    constexpr double kEps2 = static_cast<double>(lossmath::kEps) * lossmath::kEps;
    const double it = 1.0 / sqrt(st > kEps2 ? st : kEps2);
    const double ip = 1.0 / sqrt(sp > kEps2 ? sp : kEps2);
    const double g = sp > kEps2 ? stp * ip * ip : 0.0;
    const double c = -static_cast<double>(row_coef(w, r, base)) * it * ip;
    for (index_t j = lane; j < cols; j += dev::kWarp)
      d[j] = static_cast<float>(c * (static_cast<double>(t[j]) - g * static_cast<double>(p[j])));
    if (lane == 0) row_loss[r] = (w ? static_cast<double>(w[r]) : 1.0) * (-stp * it * ip);
  }
}
#undef FN_FOR_EACH_WARP_ROW

// The gradient factor every element of a row carries besides w_i: per_row (1/cols for the column
// means) and 1/rows for Mean, in double as the CPU's make_scale.
double grad_base(Reduction reduction, index_t rows, double per_row) {
  return reduction == Reduction::Mean && rows > 0 ? per_row / static_cast<double>(rows) : per_row;
}

// kernel(args...) with one warp per row, then the fixed-order reduction shared by every loss:
// *loss = sum_i row_loss[i] [/ rows for Mean]. Mean of no rows is 0, as the CPU losses (and Keras)
// give.
template <class... Params, class... Args>
void launch_loss(void (*kernel)(Params...), index_t rows, Reduction reduction, double* row_loss,
                 double* loss, CudaStream stream, Args... args) {
  if (rows > 0) {
    kernel<<<dev::grid_for(rows, kWarpsPerBlock), kThreads, 0, as_stream(stream)>>>(args...);
    CUDA_CHECK_LAUNCH();
  }
  const double scale =
      reduction == Reduction::Mean && rows > 0 ? 1.0 / static_cast<double>(rows) : 1.0;
  sum_doubles_cuda(row_loss, rows, scale, loss, stream);
}
}  // namespace

void mse_cuda(const float* pred, const float* target, const float* sample_weight, float* dpred,
              index_t rows, index_t cols, Reduction reduction, double* row_loss, double* loss,
              CudaStream stream) {
  check_has_columns("pred", rows, cols);
  launch_loss(column_mean_kernel<MseTerm>, rows, reduction, row_loss, loss, stream,
              MseTerm{pred, target, dpred}, sample_weight, rows, cols,
              grad_base(reduction, rows, 2.0 / static_cast<double>(cols)), row_loss);
}

void binary_cross_entropy_cuda(const float* logits, const float* targets,
                               const float* sample_weight, float* dlogits, index_t rows,
                               index_t cols, Reduction reduction, double* row_loss, double* loss,
                               CudaStream stream) {
  check_has_columns("logits", rows, cols);
  launch_loss(column_mean_kernel<BceTerm>, rows, reduction, row_loss, loss, stream,
              BceTerm{logits, targets, dlogits}, sample_weight, rows, cols,
              grad_base(reduction, rows, 1.0 / static_cast<double>(cols)), row_loss);
}

void softmax_cross_entropy_cuda(const float* logits, const std::int64_t* labels,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss, double* loss,
                                int* bad_label, CudaStream stream) {
  check_has_columns("logits", rows, cols);
  launch_loss(softmax_ce_kernel, rows, reduction, row_loss, loss, stream, logits, labels,
              sample_weight, dlogits, rows, cols, grad_base(reduction, rows, 1.0), row_loss,
              bad_label);
}

void softmax_cross_entropy_soft_cuda(const float* logits, const float* targets,
                                     const float* sample_weight, float* dlogits, index_t rows,
                                     index_t cols, Reduction reduction, double* row_loss,
                                     double* loss, CudaStream stream) {
  check_has_columns("logits", rows, cols);
  launch_loss(softmax_ce_soft_kernel, rows, reduction, row_loss, loss, stream, logits, targets,
              sample_weight, dlogits, rows, cols, grad_base(reduction, rows, 1.0), row_loss);
}

void pair_loss_cuda(PairLoss kind, float param, const float* pred, const float* target,
                    const float* sample_weight, float* dpred, index_t rows, index_t cols,
                    Reduction reduction, double* row_loss, double* loss, CudaStream stream) {
  check_pair_loss(kind, param, rows, cols);
  const double per_row =
      lossmath::sums_row(kind) || cols == 0 ? 1.0 : 1.0 / static_cast<double>(cols);
  const double base = grad_base(reduction, rows, per_row);
  if (kind == PairLoss::CategoricalHinge)
    launch_loss(categorical_hinge_kernel, rows, reduction, row_loss, loss, stream, pred, target,
                sample_weight, dpred, rows, cols, base, row_loss);
  else if (kind == PairLoss::CosineSimilarity)
    launch_loss(cosine_kernel, rows, reduction, row_loss, loss, stream, pred, target, sample_weight,
                dpred, rows, cols, base, row_loss);
  else
    launch_loss(pair_loss_kernel, rows, reduction, row_loss, loss, stream, kind, param, pred,
                target, sample_weight, dpred, rows, cols, base, per_row, row_loss);
}

}  // namespace fusednet
