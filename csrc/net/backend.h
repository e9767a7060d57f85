// Backend: what a Net needs from a device, and nothing more. The Net (net.h) is written once over
// this interface; backend_cpu.cpp implements it with the CPU kernels on host memory, and
// backend_cuda.cpp with the CUDA launchers on device memory (tools/netcuda_mock runs the latter on
// host stand-ins of the launchers, so its host logic is tested without a GPU).
//
// Every pointer a primitive takes is backend memory (from alloc), except where it says host.
// Calls are ordered: a primitive may return before the device is done, but each one sees the
// results of the ones before it, and download() waits for them. Sizes are 64-bit; n == 0 is a
// no-op. Results never depend on the thread count (the kernels reduce in a fixed order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "common.h"
#include "kernels/math/metric.h"
#include "kernels/types.h"
#include "net/spec.h"
#include "runtime/buffer.h"
#include "runtime/cuda_device.h"

namespace fusednet {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  // True when backend memory is host memory: the net then reads the caller's arrays in place and
  // hands out arena views instead of copies.
  virtual bool host_memory() const = 0;

  // ---- memory ----
  virtual Buffer alloc(std::size_t bytes) = 0;  // zeroed; 0 bytes gives an empty buffer
  virtual void upload(void* dst, const void* host_src, std::size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, std::size_t bytes) = 0;  // waits
  virtual void copy(void* dst, const void* src, std::size_t bytes) = 0;  // backend to backend
  // Bytes a data set may take on the device (host-memory backends: never asked).
  virtual std::size_t free_memory() = 0;

  // ---- the layers' arithmetic ----
  // C (M, N) contiguous = A @ B with its epilogue; A and B read through element strides.
  virtual void gemm(index_t M, index_t N, index_t K, const float* A, index_t rs_a, index_t cs_a,
                    const float* B, index_t rs_b, index_t cs_b, float* C, const Epilogue& ep) = 0;
  // y = act(x) over (rows, cols): elementwise, or row-wise for Softmax; y may alias x.
  virtual void activate(Activation act, float param, const float* x, float* y, index_t rows,
                        index_t cols) = 0;
  // dx = dy * act'(.) over (rows, cols) from the forward input x, or with from_output from the
  // forward output (backward_from_output activations only); dx may alias dy.
  virtual void activation_grad(Activation act, float param, const float* dy, const float* x,
                               float* dx, index_t rows, index_t cols, bool from_output) = 0;
  virtual void bias_grad(const float* dy, float* db, index_t rows, index_t cols) = 0;
  // A narrow Dense layer's dw = x^T dz in one pass, and with dx also its input gradient times
  // the previous layer's derivative from its output x: dx = (dz w^T) * act'(x)
  // (kernels/cpu.h dense_grad_narrow_cpu). False, nothing written, where the backend has no
  // such kernel for the shape: the net then takes gemm (and activation_grad), as always.
  virtual bool dense_grad_narrow(const float* x, const float* dz, const float* w, float* dw,
                                 float* dx, Activation act, float act_param, index_t rows,
                                 index_t in, index_t units) {
    (void)x, (void)dz, (void)w, (void)dw, (void)dx, (void)act, (void)act_param, (void)rows;
    (void)in, (void)units;
    return false;
  }
  // Normalization layers (kernels/cpu.h's batch_norm_* / layer_norm_*; a's pointers and the
  // statistics are backend memory).
  virtual void batch_norm(const float* x, float* y, index_t rows, index_t cols,
                          const BatchNormArgs& a) = 0;
  virtual void batch_norm_grad(const float* dy, const float* x, float* dx, index_t rows,
                               index_t cols, const BatchNormArgs& a, float* dgamma,
                               float* dbeta) = 0;
  // Synchronized batch norm's column sums (kernels/cpu.h batch_norm_stat_sums / _grad_sums).
  virtual void batch_norm_stat_sums(const float* x, index_t rows, index_t cols, const double* sum,
                                    double count, double* out) = 0;
  virtual void batch_norm_grad_sums(const float* dy, const float* x, index_t rows, index_t cols,
                                    const BatchNormArgs& a, double* out) = 0;
  virtual void layer_norm(const float* x, float* y, index_t rows, index_t cols, const float* gamma,
                          const float* beta, float eps, float* mean, float* rstd) = 0;
  virtual void layer_norm_grad(const float* dy, const float* x, float* dx, index_t rows,
                               index_t cols, const float* gamma, const float* mean,
                               const float* rstd, float* dgamma, float* dbeta) = 0;

  // ---- losses, metrics, the optimizer ----
  // The batch's loss (reduced as spec.reduction) into *out (a backend double) and its gradient
  // w.r.t. `input` into dinput; `fused`: input is the logits of a fused sigmoid / softmax output
  // (spec.h's loss_fused_with_output); row_ws: `rows` backend doubles of workspace.
  virtual void loss(const LossSpec& spec, bool fused, const float* input, const Targets& t,
                    const float* sw, float* dinput, index_t rows, index_t cols, double* row_ws,
                    double* out) = 0;
  // The batch's sum of one metric (kernels/math/metric.h) into *out; row_ws: `rows` backend
  // doubles. Devices may add the rows in another (fixed) order.
  virtual void metric(MetricKind kind, const float* pred, float threshold, const Targets& t,
                      index_t rows, index_t cols, double* row_ws, double* out, int k) = 0;
  // The batch's state of a vector-state metric (AUC, Precision, Recall, F1, R2: metric.h) into
  // out[0, width) (overwritten), unweighted; row_ws: `rows` backend doubles. Equal on every
  // device: counts are whole numbers, and sums run over the rows in order.
  virtual void metric_state(const metricmath::MetricParams& p, const float* pred, const Targets& t,
                            index_t rows, index_t cols, double* row_ws, double* out,
                            index_t width) = 0;
  // One optimizer pass over n parameters at update `step` (0 for the first), states[0..2] the
  // state arenas at the same offset (net/optim_update.h); the gradient is first transformed as
  // g = clip(g * clip_mul / clip_div, -clip_value, clip_value) (1, 1, inf: as it is).
  virtual void optimizer_step(const OptimSpec& spec, float* param, const float* grad,
                              float* const* states, index_t n, std::int64_t step, double lr,
                              double clip_mul, double clip_div, double clip_value) = 0;
  // sum_i x[i]^2 in double in a fixed order, on the host (the clip norms' reduction pass).
  double sum_squares(const float* x, index_t n) { return penalty_sum(x, n, 0.0, 1.0); }
  // sum_i l1 |w[i]| + l2 w[i]^2 in double in a fixed order, on the host (L1 / L2 penalties).
  virtual double penalty_sum(const float* w, index_t n, double l1, double l2) = 0;
  // g += l1 sign(w) + 2 l2 w over n floats (the penalty's gradient).
  virtual void penalty_grad(const float* w, float* g, index_t n, float l1, float l2) = 0;
  // Keras's constraint `kind` on a (rows, cols) variable in place, norms over axis 0.
  virtual void constrain(int kind, float* w, index_t rows, index_t cols, float min_value,
                         float max_value, float rate) = 0;
  // avg = momentum avg + (1 - momentum) p over n floats (the EMA of the weights).
  virtual void ema_update(float* avg, const float* p, index_t n, double momentum) = 0;

  // ---- running kernels side by side ----
  // Whether a training step whose largest product has `work` multiply-adds and whose widest
  // layer output has `elems` floats runs faster with independent kernels side by side on two
  // threads (backward's parameter gradients beside its deltas: Net::backward) than with each
  // kernel on all threads. Results never depend on it: every kernel's result is fixed.
  virtual bool side_by_side(double work, index_t elems) const {
    (void)work;
    (void)elems;
    return false;
  }

  // ---- masks and gathers ----
  // dst[i] = uniform01(key, i) >= rate ? src[i] / (1 - rate) : 0 (kernels/math/hash.h); in place ok.
  virtual void dropout(const float* src, float* dst, index_t n, float rate, std::uint64_t key) = 0;
  // dst row i = src row index[i], rows of `cols` floats (cols = 1 gathers sample weights).
  virtual void gather_rows(const float* src, const std::int64_t* index, float* dst, index_t rows,
                           index_t cols) = 0;
  virtual void gather_labels(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                             index_t rows) = 0;
};

// The backend for `device`: RuntimeError when it cannot run here (CUDA not compiled, no device).
std::unique_ptr<Backend> make_backend(Device device);
std::unique_ptr<Backend> make_cpu_backend();
std::unique_ptr<Backend> make_cuda_backend();

}  // namespace fusednet
