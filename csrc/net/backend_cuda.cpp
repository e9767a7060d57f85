// The CUDA backend: device memory (plain cudaMalloc), the CUDA launchers of kernels/cuda.h on the
// legacy default stream, so every call runs in order without the host waiting; download() is the
// only place that waits. See backend.h. Without FUSEDNET_WITH_CUDA, make_cuda_backend() says why
// it cannot be made.
#include <stdexcept>
#include <utility>

#include "net/backend.h"

#ifdef FUSEDNET_WITH_CUDA

#include "kernels/cuda.h"
#include "runtime/cuda_memory.h"
#include "runtime/precision.h"

namespace fusednet {

namespace {

class CudaBackend final : public Backend {
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
  std::size_t free_memory() override {
    std::size_t free_b = 0, total_b = 0;
    device_memory_info(&free_b, &total_b);
    return free_b;
  }

  void gemm(index_t M, index_t N, index_t K, const float* A, index_t rs_a, index_t cs_a,
            const float* B, index_t rs_b, index_t cs_b, float* C, const Epilogue& ep) override {
    gemm_cuda(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, 0.f, C, N, 1, ep,
              float32_matmul_precision_high());
  }
  void activation_forward(Activation act, float param, const float* x, float* y,
                          index_t n) override {
    activation_forward_cuda(act, param, x, y, n);
  }
  void activation_backward(Activation act, float param, const float* dy, const float* x,
                           float* dx, index_t n) override {
    activation_backward_cuda(act, param, dy, x, dx, n);
  }
  void activation_backward_from_output(Activation act, float param, const float* dy,
                                       const float* y, float* dx, index_t n) override {
    activation_backward_from_output_cuda(act, param, dy, y, dx, n);
  }
  void softmax_forward(const float* x, float* y, index_t rows, index_t cols) override {
    softmax_forward_cuda(x, y, rows, cols, false);
  }
  void softmax_backward(const float* dy, const float* x, float* dx, index_t rows,
                        index_t cols) override {
    softmax_backward_cuda(dy, x, dx, rows, cols, false);
  }
  void bias_grad(const float* dy, float* db, index_t rows, index_t cols) override {
    bias_grad_cuda(dy, db, rows, cols);
  }

  void loss(LossKind kind, const float* input, const Targets& t, const float* sw, float* d,
            index_t rows, index_t cols, double* row_ws, double* out) override {
    switch (kind) {
      case LossKind::MSE:
        mse_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean, row_ws, out);
        break;
      case LossKind::BCE:
        binary_cross_entropy_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean, row_ws,
                                  out);
        break;
      case LossKind::SparseCE:
        softmax_cross_entropy_cuda(input, t.labels, sw, d, rows, cols, Reduction::Mean, row_ws,
                                   out);
        break;
      case LossKind::CategoricalCE:
        softmax_cross_entropy_soft_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean,
                                        row_ws, out);
        break;
    }
  }
  void metric(MetricKind kind, const float* pred, float threshold, const Targets& t,
              index_t rows, index_t cols, double* row_ws, double* out) override {
    metric_rows_cuda(static_cast<int>(kind), pred, threshold, t.labels, t.values, row_ws, rows,
                     cols);
    sum_doubles_cuda(row_ws, rows, 1.0, out);
  }
  void optimizer_step(const OptimSpec& spec, float* param, const float* grad, float* state0,
                      float* state1, index_t n, std::int64_t step, float lr) override {
    // The launchers take a trailing stream argument (defaulted), hence the forwarding lambdas.
    optimizer_update(
        spec, param, grad, state0, state1, n, step, lr, [](auto... a) { sgd_step_cuda(a...); },
        [](auto... a) { adam_step_cuda(a...); });
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
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend() {
  require_cuda_device();
  return std::make_unique<CudaBackend>();
}

}  // namespace fusednet

#else  // no CUDA compiled in

namespace fusednet {

std::unique_ptr<Backend> make_cuda_backend() {
  throw std::runtime_error(
      "CUDA not compiled: this fusednet build has no CUDA support (built with "
      "FUSEDNET_CUDA=OFF or without nvcc); use device='cpu'");
}

}  // namespace fusednet

#endif  // FUSEDNET_WITH_CUDA
