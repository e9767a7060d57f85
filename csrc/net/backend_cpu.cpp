// The CPU backend: host memory (64-byte aligned), the CPU kernels of kernels/cpu.h, and the
// net's small sequential loops (dropout masks, gathers, metric sums). See backend.h.
#include <cstring>
#include <memory>
#include <new>

#include "kernels/cpu.h"
#include "kernels/math/hash.h"
#include "kernels/math/metric.h"
#include "net/backend.h"
#include "net/backend_kernels.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

// The widest layer output (floats) whose elementwise and column-sum kernels run on one thread.
constexpr index_t kSideMaxElems = index_t{1} << 14;
// The largest product (multiply-adds) of a step worth two lanes: the 2-4-1 net's 1000 x 2 x 4
// (8000) ran 6% slower with them, the 40-100-100-10 net's 100^3 14% faster.
constexpr double kSideMinWork = 1 << 16;
// Floats gathered below which one thread does it all (a pool wake-up costs a few microseconds).
constexpr index_t kParallelGather = index_t{1} << 15;

void free_aligned(void* p) noexcept { ::operator delete(p, std::align_val_t{64}); }

struct CpuKernels {
  static constexpr auto activation_forward = activation_forward_cpu;
  static constexpr auto activation_backward = activation_backward_cpu;
  static constexpr auto activation_backward_from_output = activation_backward_from_output_cpu;
  static constexpr auto softmax_forward = softmax_forward_cpu;
  static constexpr auto softmax_backward = softmax_backward_cpu;
  static constexpr auto bias_grad = bias_grad_cpu;
  static constexpr auto batch_norm_forward = batch_norm_forward_cpu;
  static constexpr auto batch_norm_backward = batch_norm_backward_cpu;
  static constexpr auto batch_norm_stat_sums = batch_norm_stat_sums_cpu;
  static constexpr auto batch_norm_grad_sums = batch_norm_grad_sums_cpu;
  static constexpr auto layer_norm_forward = layer_norm_forward_cpu;
  static constexpr auto layer_norm_backward = layer_norm_backward_cpu;
  static constexpr auto sgd_step = sgd_step_cpu;
  static constexpr auto adam_step = adam_step_cpu;
  static constexpr auto optim_rule_step = optim_rule_step_cpu;
  static constexpr auto ema_update = ema_update_cpu;
  static constexpr auto penalty_grad = penalty_grad_cpu;
  static constexpr auto constrain = constrain_cpu;
};

class CpuBackend final : public KernelBackend<CpuKernels> {
 public:
  Device device() const override { return Device::Cpu; }
  bool host_memory() const override { return true; }

  Buffer alloc(std::size_t bytes) override {
    if (bytes == 0) return Buffer();
    // Whole cache lines (one AVX-512 vector each); C++17 aligned new throws bad_alloc.
    const std::size_t rounded = (bytes + 63) / 64 * 64;
    void* p = ::operator new(rounded, std::align_val_t{64});
    std::memset(p, 0, rounded);
    return Buffer(p, bytes, free_aligned);
  }
  void upload(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void download(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  void copy(void* dst, const void* src, std::size_t bytes) override {
    if (bytes) std::memcpy(dst, src, bytes);
  }
  std::size_t free_memory() override { return ~std::size_t{0}; }
  double penalty_sum(const float* w, index_t n, double l1, double l2) override {
    return penalty_sum_cpu(w, n, l1, l2);
  }

  void gemm(index_t M, index_t N, index_t K, const float* A, index_t rs_a, index_t cs_a,
            const float* B, index_t rs_b, index_t cs_b, float* C, const Epilogue& ep) override {
    gemm_cpu(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, 0.f, C, N, 1, ep);
  }
  bool dense_grad_narrow(const float* x, const float* dz, const float* w, float* dw, float* dx,
                         Activation act, float act_param, index_t rows, index_t in,
                         index_t units) override {
    return dense_grad_narrow_cpu(x, dz, w, dw, dx, act, act_param, rows, in, units);
  }
  // Two threads, and every kernel of the step on one thread anyway: the products under gemm's
  // threshold, the elementwise passes and column sums under one chunk (kSideMaxElems); but not
  // a step so small that the hand-over costs more than the overlap saves (kSideMinWork).
  bool side_by_side(double work, index_t elems) const override {
    return num_threads() >= 2 && work >= kSideMinWork && work < gemm_parallel_min_work_cpu() &&
           elems <= kSideMaxElems;
  }
  void loss(const LossSpec& spec, bool fused, const float* input, const Targets& t, const float* sw,
            float* d, index_t rows, index_t cols, double* row_ws, double* out) override {
    const Reduction red = spec.reduction;
    PairLoss pair;
    if (pair_loss_of(spec, fused, &pair)) {
      *out = pair_loss_cpu(pair, spec.param, input, t.values, sw, d, rows, cols, red, row_ws);
      return;
    }
    switch (spec.kind) {
      case LossKind::MSE: *out = mse_cpu(input, t.values, sw, d, rows, cols, red, row_ws); break;
      case LossKind::BCE:
        *out = binary_cross_entropy_cpu(input, t.values, sw, d, rows, cols, red, row_ws);
        break;
      case LossKind::SparseCE:
        *out = softmax_cross_entropy_cpu(input, t.labels, sw, d, rows, cols, red, row_ws);
        break;
      default:  // CategoricalCE
        *out = softmax_cross_entropy_soft_cpu(input, t.values, sw, d, rows, cols, red, row_ws);
        break;
    }
  }
  void metric(MetricKind kind, const float* pred, float threshold, const Targets& t, index_t rows,
              index_t cols, double*, double* out, int k) override {
    *out = metric_sum_cpu(static_cast<int>(kind), pred, threshold, t.labels, t.values, nullptr,
                          rows, cols, k);
  }
  void metric_state(const metricmath::MetricParams& p, const float* pred, const Targets& t,
                    index_t rows, index_t cols, double*, double* out, index_t width) override {
    metric_state_cpu(p, pred, t.values, nullptr, rows, cols, out, width);
  }
  void dropout(const float* src, float* dst, index_t n, float rate, std::uint64_t key) override {
    const float scale = 1.0f / (1.0f - rate);
    for (index_t i = 0; i < n; ++i)
      dst[i] =
          nethash::uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale : 0.0f;
  }
  void gather_rows(const float* src, const std::int64_t* index, float* dst, index_t rows,
                   index_t cols) override {
    // Rows from all over a large set: memory latency, not bandwidth, bounds one thread's copy
    // (about 6 GB/s on Zen 4; software prefetch made it slower), so the threads share the rows.
    const std::size_t row_bytes = sizeof(float) * static_cast<std::size_t>(cols);
    const int threads = rows * cols >= kParallelGather ? num_threads() : 1;
    parallel_for(rows, ceil_div(rows, 4 * index_t{threads}), threads, [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r)
        std::memcpy(dst + r * cols, src + index[r] * cols, row_bytes);
    });
  }
  void gather_labels(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                     index_t rows) override {
    for (index_t r = 0; r < rows; ++r) dst[r] = src[index[r]];
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

std::unique_ptr<Backend> make_backend(Device device) {
  return device == Device::Cuda ? make_cuda_backend() : make_cpu_backend();
}

}  // namespace fusednet
