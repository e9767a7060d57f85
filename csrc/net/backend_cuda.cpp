// The CUDA backend: device memory (plain cudaMalloc), the CUDA launchers of kernels/cuda.h on the
// legacy default stream, so every call runs in order without the host waiting; download() is the
// only place that waits. See backend.h. Without FUSEDNET_WITH_CUDA, make_cuda_backend() says why
// it cannot be made.
#include <utility>

#include "net/backend.h"
#include "net/backend_kernels.h"
#include "runtime/cuda_device.h"

#ifdef FUSEDNET_WITH_CUDA

#include "kernels/cuda.h"
#include "runtime/cuda_memory.h"
#include "runtime/precision.h"

namespace fusednet {

namespace {

// The launchers, on the default stream (their trailing stream argument left at its default).
struct CudaKernels {
#define FN_DEFAULT_STREAM(name) \
  static constexpr auto name = [](auto... args) { name##_cuda(args...); }
  FN_DEFAULT_STREAM(activation_forward);
  FN_DEFAULT_STREAM(activation_backward);
  FN_DEFAULT_STREAM(activation_backward_from_output);
  FN_DEFAULT_STREAM(softmax_forward);
  FN_DEFAULT_STREAM(softmax_backward);
  FN_DEFAULT_STREAM(bias_grad);
  FN_DEFAULT_STREAM(batch_norm_forward);
  FN_DEFAULT_STREAM(batch_norm_backward);
  FN_DEFAULT_STREAM(batch_norm_stat_sums);
  FN_DEFAULT_STREAM(batch_norm_grad_sums);
  FN_DEFAULT_STREAM(layer_norm_forward);
  FN_DEFAULT_STREAM(layer_norm_backward);
  FN_DEFAULT_STREAM(sgd_step);
  FN_DEFAULT_STREAM(adam_step);
  FN_DEFAULT_STREAM(optim_rule_step);
  FN_DEFAULT_STREAM(ema_update);
  FN_DEFAULT_STREAM(penalty_grad);
  FN_DEFAULT_STREAM(constrain);
#undef FN_DEFAULT_STREAM
};

class CudaBackend final : public KernelBackend<CudaKernels> {
 public:
  Device device() const override { return Device::Cuda; }
  bool host_memory() const override { return false; }

  Buffer alloc(std::size_t bytes) override {
    DeviceBuffer b(bytes);
    if (bytes) memset_device(b.data(), 0, bytes);
    return std::move(b);
  }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) copy_host_to_device(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    if (!bytes) return;
    copy_device_to_host(dst, src, bytes);
    stream_synchronize();
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) copy_device_to_device(dst, src, bytes);
  }
  std::size_t free_memory() override {
    std::size_t free_b = 0, total_b = 0;
    device_memory_info(&free_b, &total_b);
    return free_b;
  }
  double penalty_sum(const float* x, index_t n, double l1, double l2) override {
    const std::size_t bytes =
        sizeof(double) * static_cast<std::size_t>(sum_squares_partials(n) + 1);
    if (sum_ws_.bytes() < bytes) sum_ws_ = alloc(bytes);
    double* ws = sum_ws_.as<double>();
    penalty_sum_cuda(x, n, l1, l2, ws + 1, ws);
    double total = 0.0;
    download(&total, ws, sizeof(double));
    return total;
  }

  void gemm(index_t M, index_t N, index_t K, const float* A, index_t rs_a, index_t cs_a,
            const float* B, index_t rs_b, index_t cs_b, float* C, const Epilogue& ep) override {
    gemm_cuda(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, 0.f, C, N, 1, ep,
              float32_matmul_precision_high());
  }
  void loss(const LossSpec& spec, bool fused, const float* input, const Targets& t, const float* sw,
            float* d, index_t rows, index_t cols, double* row_ws, double* out) override {
    const Reduction red = spec.reduction;
    PairLoss pair;
    if (pair_loss_of(spec, fused, &pair)) {
      pair_loss_cuda(pair, spec.param, input, t.values, sw, d, rows, cols, red, row_ws, out);
      return;
    }
    switch (spec.kind) {
      case LossKind::MSE: mse_cuda(input, t.values, sw, d, rows, cols, red, row_ws, out); break;
      case LossKind::BCE:
        binary_cross_entropy_cuda(input, t.values, sw, d, rows, cols, red, row_ws, out);
        break;
      case LossKind::SparseCE:
        softmax_cross_entropy_cuda(input, t.labels, sw, d, rows, cols, red, row_ws, out);
        break;
      default:  // CategoricalCE
        softmax_cross_entropy_soft_cuda(input, t.values, sw, d, rows, cols, red, row_ws, out);
        break;
    }
  }
  void metric(MetricKind kind, const float* pred, float threshold, const Targets& t, index_t rows,
              index_t cols, double* row_ws, double* out, int k) override {
    metric_rows_cuda(static_cast<int>(kind), pred, threshold, t.labels, t.values, row_ws, rows,
                     cols, k);
    sum_doubles_cuda(row_ws, rows, 1.0, out);
  }
  void metric_state(const metricmath::MetricParams& p, const float* pred, const Targets& t,
                    index_t rows, index_t cols, double* row_ws, double* out,
                    index_t width) override {
    metric_state_cuda(p, pred, t.values, row_ws, out, width, rows, cols);
  }
  void dropout(const float* src, float* dst, index_t n, float rate, std::uint64_t key) override {
    dropout_mask_cuda(src, dst, n, rate, key);
  }
  void gather_rows(const float* src, const std::int64_t* index, float* dst, index_t rows,
                   index_t cols) override {
    gather_rows_cuda(src, index, dst, rows, cols);
  }
  void gather_labels(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                     index_t rows) override {
    gather_labels_cuda(src, index, dst, rows);
  }

 private:
  Buffer sum_ws_;  // sum_squares: the result, then the per-block partials
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() {
  require_cuda_device();
  return std::make_unique<CudaBackend>();
}

}  // namespace fusednet

#else  // no CUDA compiled in

namespace fusednet {

std::unique_ptr<Backend> make_cuda_backend() { throw_cuda_not_compiled(); }

}  // namespace fusednet

#endif  // FUSEDNET_WITH_CUDA
