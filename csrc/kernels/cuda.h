// The CUDA kernel interface: the device twins of kernels/cpu.h, on DEVICE pointers.
// Plain C++ (no CUDA headers), so the net's CUDA backend and the bindings can call it; implemented
// in kernels/cuda/*.cu and only linked when FUSEDNET_WITH_CUDA is defined. Device memory, streams
// and events are runtime/cuda_memory.h.
//
// Conventions shared by every launcher:
// - arguments are checked as the *_cpu entry points check them (kernels/checks.h): the same
//   ValueError for the same bad input;
// - pointers are device pointers; sizes are 64-bit; a size of 0 launches nothing;
// - `stream` is a cudaStream_t (nullptr = the legacy default stream); launches are asynchronous
//   and checked at once (a bad configuration throws std::runtime_error with CUDA's message);
// - no launcher allocates: scratch space is passed in, so a Net can keep it in its arena (one
//   exception: gemm_cuda's split-K workspace, below);
// - reductions run in a fixed order (no float atomics), so results are bit-reproducible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "common.h"
#include "kernels/math/metric.h"
#include "kernels/math/optim.h"
#include "kernels/types.h"
#include "runtime/cuda_memory.h"

namespace fusednet {

// ---- net building blocks (kernels/cuda/net_kernels.cu) ------------------------------------------
// dst[i, :] = src[index[i], :] for i < rows, rows of `cols` floats (a shuffled mini-batch from a
// data set resident on the device). Indices must be in range (the caller draws them).
void gather_rows_cuda(const float* src, const std::int64_t* index, float* dst, index_t rows,
                      index_t cols, CudaStream stream = nullptr);
// dst[i] = uniform01(key, i) >= rate ? src[i] / (1 - rate) : 0 (the CPU Net's dropout mask;
// in place ok).
void dropout_mask_cuda(const float* src, float* dst, index_t n, float rate, std::uint64_t key,
                       CudaStream stream = nullptr);
// dst[i] = src[index[i]] for int64 labels.
void gather_labels_cuda(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                        index_t rows, CudaStream stream = nullptr);
// out[i] = row i's contribution to a metric (codes of MetricKind): matches of (pred > threshold)
// with the targets (binary accuracy), 1/0 argmax match (sparse / categorical accuracy), sum of
// |pred - t| (MAE) or (pred - t)^2 (MSE), in double; k: the top-k accuracies' k.
void metric_rows_cuda(int kind, const float* pred, float threshold, const std::int64_t* labels,
                      const float* targets, double* out, index_t rows, index_t cols, int k = 5,
                      CudaStream stream = nullptr);
// A vector-state metric's unweighted state over the rows (metric_state_cpu's) into out[0, width):
// confusion counts by atomic adds of whole numbers (exact, so in any order the same); F1's and
// R2's per-column sums by one thread per column over the rows in order. row_ws: `rows` doubles.
void metric_state_cuda(const metricmath::MetricParams& p, const float* pred, const float* targets,
                       double* row_ws, double* out, index_t width, index_t rows, index_t cols,
                       CudaStream stream = nullptr);

// ---- gemm (kernels/cuda/gemm.cu, the TF32 kernels in gemm_tf32.cu) ------------------------------
// C = act(alpha * A @ B + beta * C + bias), strides in elements as in gemm_cpu (A [M, K] with
// (rs_a, cs_a), ...). beta == 0 never reads C. Fast paths need one unit stride per operand (any
// of the four transpose forms); other strides take a correct, slower path. allow_tf32 selects the
// tensor-core kernel on sm_80+ (10-bit mantissa inputs, FP32 accumulation).
// An exact-FP32 product with too few output tiles for the device and a long K (a training step's
// dW = x^T dz) on the legacy default stream splits K: slices into slabs of a per-device workspace
// that gemm_cuda allocates on first need and keeps (at most 64 MiB), summed in slice order by a
// second kernel -- deterministic, and equal to the unsplit product up to rounding.
void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& epilogue, bool allow_tf32 = false,
               CudaStream stream = nullptr);
// Which kernel gemm_cuda runs for TF32 (process-wide, for benchmarks and tests): 0 automatic
// (sgemm_tf32_v2_kernel when both operands are cp.async-able, else sgemm_tf32_kernel), 1 always
// sgemm_tf32_kernel, 2 / 3 v2 with 128x128 / 128x256 tiles where v2 applies. -1 only queries.
// Returns the previous value.
int set_gemm_cuda_tf32_kernel(int kernel);
// Whether gemm_cuda may split K (1, the default; FUSEDNET_GEMM_SPLIT_K=0 starts it off) or not (0);
// -1 only queries. Returns the previous value.
int set_gemm_cuda_split_k(int enabled);
// Naive one-thread-per-output kernel with double accumulation: the device ground truth.
void gemm_ref_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue,
                   CudaStream stream = nullptr);

// ---- activations (kernels/cuda/activation.cu) ---------------------------------------------------
void activation_forward_cuda(Activation act, float param, const float* x, float* y, index_t n,
                             CudaStream stream = nullptr);
void activation_backward_cuda(Activation act, float param, const float* dy, const float* x,
                              float* dx, index_t n, CudaStream stream = nullptr);
void activation_backward_from_output_cuda(Activation act, float param, const float* dy,
                                          const float* y, float* dx, index_t n,
                                          CudaStream stream = nullptr);
void softmax_forward_cuda(const float* x, float* y, index_t rows, index_t cols, bool log,
                          CudaStream stream = nullptr);
void softmax_backward_cuda(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                           bool log, CudaStream stream = nullptr);

// ---- reductions (kernels/cuda/reduce.cu) --------------------------------------------------------
// db[j] = sum_i dy[i, j] over contiguous [rows, cols], in a fixed order.
void bias_grad_cuda(const float* dy, float* db, index_t rows, index_t cols,
                    CudaStream stream = nullptr);
// Normalization, as the CPU kernels of the same names (kernels/cpu.h; sums in double in a fixed
// order, so results never depend on the launch).
void batch_norm_forward_cuda(const float* x, float* y, index_t rows, index_t cols,
                             const BatchNormArgs& a, CudaStream stream = nullptr);
void batch_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t rows,
                              index_t cols, const BatchNormArgs& a, float* dgamma, float* dbeta,
                              CudaStream stream = nullptr);
void batch_norm_stat_sums_cuda(const float* x, index_t rows, index_t cols, const double* sum,
                               double count, double* out, CudaStream stream = nullptr);
void batch_norm_grad_sums_cuda(const float* dy, const float* x, index_t rows, index_t cols,
                               const BatchNormArgs& a, double* out, CudaStream stream = nullptr);
void layer_norm_forward_cuda(const float* x, float* y, index_t rows, index_t cols,
                             const float* gamma, const float* beta, float eps, float* mean,
                             float* rstd, CudaStream stream = nullptr);
void layer_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t rows,
                              index_t cols, const float* gamma, const float* mean,
                              const float* rstd, float* dgamma, float* dbeta,
                              CudaStream stream = nullptr);
void argmax_rows_cuda(const float* x, std::int64_t* out, index_t rows, index_t cols,
                      CudaStream stream = nullptr);
// correct[i] = 1.0 when the first argmax of logits row i equals labels[i], else 0.0 (a Net sums
// them with sum_doubles_cuda for the epoch's accuracy, without a host round trip per batch).
void correct_rows_cuda(const float* logits, const std::int64_t* labels, double* correct,
                       index_t rows, index_t cols, CudaStream stream = nullptr);
// *out = scale * sum_i values[i] (in double), one block, fixed order: the loss mean/sum.
void sum_doubles_cuda(const double* values, index_t n, double scale, double* out,
                      CudaStream stream = nullptr);

// ---- losses (kernels/cuda/loss.cu) --------------------------------------------------------------
// Same math as the *_cpu losses. The reduced loss is written to *loss (device double) so a training
// loop never has to synchronise; row_loss is a device workspace of `rows` doubles.
// For the integer-label loss, labels outside [0, cols) set *bad_label (device int, may be nullptr)
// to 1 and give that row a NaN loss; callers validate labels on the host where they can.
void mse_cuda(const float* pred, const float* target, const float* sample_weight, float* dpred,
              index_t rows, index_t cols, Reduction reduction, double* row_loss, double* loss,
              CudaStream stream = nullptr);
void binary_cross_entropy_cuda(const float* logits, const float* targets,
                               const float* sample_weight, float* dlogits, index_t rows,
                               index_t cols, Reduction reduction, double* row_loss, double* loss,
                               CudaStream stream = nullptr);
void softmax_cross_entropy_cuda(const float* logits, const std::int64_t* labels,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss, double* loss,
                                int* bad_label = nullptr, CudaStream stream = nullptr);
void softmax_cross_entropy_soft_cuda(const float* logits, const float* targets,
                                     const float* sample_weight, float* dlogits, index_t rows,
                                     index_t cols, Reduction reduction, double* row_loss,
                                     double* loss, CudaStream stream = nullptr);
// The pair losses (kernels/types.h's PairLoss), as pair_loss_cpu; param is huber's delta.
void pair_loss_cuda(PairLoss kind, float param, const float* pred, const float* target,
                    const float* sample_weight, float* dpred, index_t rows, index_t cols,
                    Reduction reduction, double* row_loss, double* loss,
                    CudaStream stream = nullptr);

// ---- optimizers (kernels/cuda/optim.cu): one launch over n contiguous floats --------------------
// Hyperparameters in double, as the CPU's (cpu.h): the coefficients are computed on the host.
void sgd_step_cuda(float* param, const float* grad, float* velocity, index_t n, double lr,
                   double momentum, bool nesterov, double weight_decay,
                   CudaStream stream = nullptr);
void adam_step_cuda(float* param, const float* grad, float* m, float* v, index_t n,
                    std::int64_t step, double lr, double beta1, double beta2, double eps,
                    double weight_decay, bool decoupled, CudaStream stream = nullptr);
// The rule kernel (cpu.h's optim_rule_step_cpu), one launch.
void optim_rule_step_cuda(const optmath::RuleCoeffs& c, float* param, const float* grad, float* s0,
                          float* s1, float* s2, index_t n, CudaStream stream = nullptr);
// avg = momentum avg + (1 - momentum) p, one launch.
void ema_update_cuda(float* avg, const float* p, index_t n, double momentum,
                     CudaStream stream = nullptr);
// sum_i x[i]^2 in double into *out (device memory), in a fixed order (blocks of fixed size, then
// the block sums in order by one block).
void sum_squares_cuda(const float* x, index_t n, double* partials, double* out,
                      CudaStream stream = nullptr);
// penalty_sum_cpu's sum into *out (device memory), partials as sum_squares_cuda's.
void penalty_sum_cuda(const float* w, index_t n, double l1, double l2, double* partials,
                      double* out, CudaStream stream = nullptr);
void penalty_grad_cuda(const float* w, float* g, index_t n, float l1, float l2,
                       CudaStream stream = nullptr);
// constrain_cpu on the device: one thread per column, the rows in order.
void constrain_cuda(int kind, float* w, index_t rows, index_t cols, float min_value,
                    float max_value, float rate, CudaStream stream = nullptr);
// Doubles the partials of sum_squares_cuda need for n elements.
index_t sum_squares_partials(index_t n);

}  // namespace fusednet
