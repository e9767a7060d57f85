// The CPU kernel interface: every op family's entry points, shared by the bindings and by Net.
// Kernels see raw pointers, sizes and strides only: no Python, no allocation, no globals beyond
// the runtime settings (runtime/thread_pool.h's thread count, runtime/isa.h's active ISA, whose
// table of each family runs: cpu/kernel_table.h). Strides are in elements (not bytes) and may be
// negative. Arguments are checked through kernels/checks.h, as the CUDA twins check them.
#pragma once

#include "common.h"
#include "kernels/math/metric.h"
#include "kernels/math/optim.h"
#include "kernels/types.h"

namespace fusednet {

// ---- activations -------------------------------------------------------------------------------

// y[i] = act(x[i]) for n contiguous elements; x == y (in place) is allowed.
void activation_forward_cpu(Activation act, float param, const float* x, float* y, index_t n);
// dx[i] = dy[i] * act'(x[i]), x being the forward INPUT; dx may alias dy.
void activation_backward_cpu(Activation act, float param, const float* dy, const float* x,
                             float* dx, index_t n);
// Same as above but with the forward OUTPUT y (cheaper for relu/sigmoid/tanh; used by Net).
// Only for Linear, ReLU, LeakyReLU (slope > 0), Sigmoid and Tanh; throws for the GELUs.
void activation_backward_from_output_cpu(Activation act, float param, const float* dy,
                                         const float* y, float* dx, index_t n);

// ---- normalization (semantics: kernels/types.h BatchNormArgs; reductions in double, each
// column / row in a fixed order, so results never depend on the thread count) ----------------------

// Batch normalization of contiguous [rows, cols] (rows >= 1 in Batch mode); y may alias x.
void batch_norm_forward_cpu(const float* x, float* y, index_t rows, index_t cols,
                            const BatchNormArgs& a);
// From the forward input x and a.mean / a.invstd (as forward wrote them): dx (may alias dy), and
// dgamma = sum dy * xhat, dbeta = sum dy per column (either may be nullptr). Batch mode
// differentiates through the batch statistics; the others are affine.
void batch_norm_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                             const BatchNormArgs& a, float* dgamma, float* dbeta);
// The per-column pieces of synchronized batch norm (BatchNormArgs::batch_stats / grad_means),
// summed in double in row order: out[j] = sum_i x[i, j] (sum nullptr), else sum_i (x[i, j] -
// mean[j])^2 with mean[j] = sum[j] * (1 / count) as batch_norm_forward computes it; and out[j] =
// sum_i dy[i, j], out[cols + j] = sum_i dy[i, j] * xhat[i, j] (xhat from a.mean / a.invstd).
// rows may be 0 (zeros).
void batch_norm_stat_sums_cpu(const float* x, index_t rows, index_t cols, const double* sum,
                              double count, double* out);
void batch_norm_grad_sums_cpu(const float* dy, const float* x, index_t rows, index_t cols,
                              const BatchNormArgs& a, double* out);
// Layer normalization of each row: y = (x - mean_r) * rstd_r * gamma + beta, rstd_r =
// 1/sqrt(var_r + eps) (biased); mean / rstd (rows floats) written for backward. y may alias x.
void layer_norm_forward_cpu(const float* x, float* y, index_t rows, index_t cols,
                            const float* gamma, const float* beta, float eps, float* mean,
                            float* rstd);
void layer_norm_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                             const float* gamma, const float* mean, const float* rstd,
                             float* dgamma, float* dbeta);

// Row-wise softmax / log_softmax over contiguous [rows, cols]; y may alias x.
void softmax_forward_cpu(const float* x, float* y, index_t rows, index_t cols, bool log);
// dx from dy and the forward INPUT x; dx may alias dy.
void softmax_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                          bool log);

// ---- reductions --------------------------------------------------------------------------------
// db[j] = sum_i dy[i, j] over contiguous [rows, cols], summed in row order (thread-independent).
void bias_grad_cpu(const float* dy, float* db, index_t rows, index_t cols);
// out[i] = first index of the max of row i over contiguous [rows, cols] (NaN counts as max).
void argmax_rows_cpu(const float* x, std::int64_t* out, index_t rows, index_t cols);

// ---- a narrow Dense layer's gradients in one pass (dense_grad.cpp) ----------------------------
// Whether dense_grad_narrow_cpu takes a layer of `in` inputs and `units` outputs on `rows` rows:
// in * units <= 16, the larger of the two 1, 2, 4 or 8, rows <= 2^16; with dx also in >= units.
bool dense_grad_narrow_fits(index_t rows, index_t in, index_t units, bool with_dx);
// dw (in, units) = x^T dz over contiguous x (rows, in) and dz (rows, units), in 16 row phases
// added as a tree (dense_grad.cpp); with dx (rows, in): dx = (dz w^T) * act'(x), act one of
// Linear, ReLU, LeakyReLU, Sigmoid, Tanh taken from its output x (the bits of the gemm and
// activation_backward_from_output). False, nothing written, where the shape does not fit, the
// active ISA has no such kernel, or the gemm rounds to bf16 ("medium" precision).
bool dense_grad_narrow_cpu(const float* x, const float* dz, const float* w, float* dw, float* dx,
                           Activation act, float act_param, index_t rows, index_t in,
                           index_t units);
// The same arithmetic written out (any shape, every ISA): what the tests compare the kernels with.
void dense_grad_narrow_reference(const float* x, const float* dz, const float* w, float* dw,
                                 float* dx, Activation act, float act_param, index_t rows,
                                 index_t in, index_t units);

// ---- losses ------------------------------------------------------------------------------------
// Every loss returns the reduced value and writes the gradient of that value w.r.t. its first
// argument. Per-sample loss L_i (mean over the row's columns for mse / bce, the cross-entropy of
// the row for softmax CE), weighted by sample_weight[i] when given (nullptr = all ones);
// Sum: sum_i w_i L_i; Mean: that sum / rows. `row_loss` is a workspace of `rows` doubles, so the
// final sum runs in a fixed order whatever the thread split.

double mse_cpu(const float* pred, const float* target, const float* sample_weight, float* dpred,
               index_t rows, index_t cols, Reduction reduction, double* row_loss);
// logits and targets (0/1 or probabilities) [rows, cols]; loss = softplus(z) - t z, stable.
double binary_cross_entropy_cpu(const float* logits, const float* targets,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss);
// Integer labels in [0, cols); a label out of range throws ValueError naming it.
double softmax_cross_entropy_cpu(const float* logits, const std::int64_t* labels,
                                 const float* sample_weight, float* dlogits, index_t rows,
                                 index_t cols, Reduction reduction, double* row_loss);
// Probability / one-hot targets [rows, cols].
double softmax_cross_entropy_soft_cpu(const float* logits, const float* targets,
                                      const float* sample_weight, float* dlogits, index_t rows,
                                      index_t cols, Reduction reduction, double* row_loss);

// One of the pair losses (kernels/types.h's PairLoss, formulas kernels/math/loss.h) of pred
// against a float target of its shape; param is huber's delta (0 for the others).
double pair_loss_cpu(PairLoss kind, float param, const float* pred, const float* target,
                     const float* sample_weight, float* dpred, index_t rows, index_t cols,
                     Reduction reduction, double* row_loss);

// ---- optimizers (in place, one pass over n contiguous floats) ----------------------------------
// PyTorch form: g += wd p; v = momentum v + g; p -= lr (nesterov ? g + momentum v : v).
// velocity may be nullptr only when momentum == 0.
// The hyperparameters are double: the per-step coefficients are computed from them in double
// (math/optim.h); ValueError when one does not fit in float32.
void sgd_step_cpu(float* param, const float* grad, float* velocity, index_t n, double lr,
                  double momentum, bool nesterov, double weight_decay);
// Adam, paper form: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
// decoupled=false: L2 (g += wd p); decoupled=true (AdamW): p *= 1 - lr wd before the update.
void adam_step_cpu(float* param, const float* grad, float* m, float* v, index_t n,
                   std::int64_t step, double lr, double beta1, double beta2, double eps,
                   double weight_decay, bool decoupled);
// The rule kernel (math/optim.h: Keras's RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Adam
// with AMSGrad, and SGD / Adam with clipping): coefficients from optmath::rule_coeffs; s0..s2 the
// state arrays the rule keeps (nullptr for those it does not).
void optim_rule_step_cpu(const optmath::RuleCoeffs& c, float* param, const float* grad, float* s0,
                         float* s1, float* s2, index_t n);
// avg = momentum avg + (1 - momentum) p (the EMA of the weights, Keras's use_ema).
void ema_update_cpu(float* avg, const float* p, index_t n, double momentum);
// sum_i x[i]^2 in double, in a fixed order (the clip norms' reduction pass).
double sum_squares_cpu(const float* x, index_t n);
// sum_i l1 |w[i]| + l2 w[i]^2 in double, in a fixed order (Keras's L1 / L2 penalty).
double penalty_sum_cpu(const float* w, index_t n, double l1, double l2);
// g[i] += l1 sign(w[i]) + 2 l2 w[i] (the penalty's gradient).
void penalty_grad_cpu(const float* w, float* g, index_t n, float l1, float l2);
// Keras's constraint `kind` (math/optim.h's Constraint) on w (rows, cols) in place, norms over
// axis 0 (each column); a 1-D variable is (n, 1).
void constrain_cpu(int kind, float* w, index_t rows, index_t cols, float min_value, float max_value,
                   float rate);

// ---- gemm --------------------------------------------------------------------------------------
// C = act(alpha * A @ B + beta * C + bias), with A [M, K], B [K, N], C [M, N] given by element
// strides (row stride, column stride), so transposes and any NumPy view need no copy.
// beta == 0 means C is not read (NaN in C does not propagate). bias (length N) may be nullptr.
// epilogue.act: an elementwise code; another raises check_elementwise's ValueError when the
// epilogue is applied.

void gemm_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
              index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
              index_t rs_c, index_t cs_c, const Epilogue& epilogue);

// The work (M * N * K) from which gemm_cpu shares a product among the threads; below it, one
// thread does it all.
double gemm_parallel_min_work_cpu();

// The naive triple loop, in double accumulation: ground truth for tests and tiny shapes.
void gemm_ref_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                  index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                  index_t rs_c, index_t cs_c, const Epilogue& epilogue);

// ---- metrics (kernels/cpu/metric.cpp; kernels/math/metric.h has the per-element math) ----------
// Sum over rows of a row-sum metric's contribution (metric_row), each row times weights[i]
// (nullptr: 1), added in row order.
double metric_sum_cpu(int kind, const float* pred, float threshold, const std::int64_t* labels,
                      const float* targets, const float* weights, index_t rows, index_t cols,
                      int k);
// A vector-state metric's state over the rows into out[0, width) (zeroed first), each row times
// weights[i] (nullptr: 1); every state entry is summed over the rows in order.
void metric_state_cpu(const metricmath::MetricParams& p, const float* pred, const float* targets,
                      const float* weights, index_t rows, index_t cols, double* out, index_t width);

}  // namespace fusednet
