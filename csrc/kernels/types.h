// Types every kernel family shares, whatever the device: the activation codes, the loss
// reduction and the gemm epilogue. Plain C++ (no CUDA headers), so the CPU kernels, the CUDA
// launchers, the net and the bindings all name them from here.
#pragma once

#include "common.h"

namespace fusednet {

enum class Activation : int {
  Linear = 0,
  ReLU = 1,
  LeakyReLU = 2,  // param = negative_slope
  Sigmoid = 3,
  Tanh = 4,
  GELU = 5,       // exact: 0.5 x (1 + erf(x / sqrt 2))
  GELUTanh = 6,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Softmax = 7,    // row-wise, not elementwise: a Net layer's activation, never a kernel code
  // Keras 3's other elementwise activations (formulas in kernels/math/activation.h); codes after
  // Softmax so that the ones above keep their values.
  ELU = 8,  // param = alpha
  SELU = 9,
  SiLU = 10,  // swish
  Softplus = 11,
  Softsign = 12,
  ReLU6 = 13,
  Mish = 14,
  HardSigmoid = 15,  // relu6(x + 3) / 6 (Keras 3 and PyTorch)
  HardSiLU = 16,     // hard_swish: x hard_sigmoid(x)
  Exponential = 17,
};
constexpr int kLastActivation = static_cast<int>(Activation::Exponential);

// The codes the elementwise kernels and the gemm epilogue take (all but Softmax).
inline bool is_elementwise(Activation act) {
  const int a = static_cast<int>(act);
  return a >= 0 && a <= kLastActivation && act != Activation::Softmax;
}

// The activations whose derivative is a function of the output alone (Net's backward then keeps
// no pre-activation): leaky_relu only with a positive slope, to recover the sign of x from y.
inline bool has_derivative_from_output(Activation act, float param) {
  return act == Activation::Linear || act == Activation::ReLU || act == Activation::Sigmoid ||
         act == Activation::Tanh || (act == Activation::LeakyReLU && param > 0.0f);
}

// Losses reduce per-sample values by a weighted sum, or that sum divided by the row count.
enum class Reduction : int { Mean = 0, Sum = 1 };

// The losses of a prediction against a float target of its shape that share one kernel, beside
// mse, binary cross-entropy from logits and the softmax cross-entropies, which have their own
// (formulas: kernels/math/loss.h). The first ten are a mean (kld: a sum) of elementwise terms
// over a row; the last two are row-wise.
enum class PairLoss : int {
  MAE = 0,
  MAPE = 1,
  MSLE = 2,
  Huber = 3,  // param = delta
  LogCosh = 4,
  Hinge = 5,
  SquaredHinge = 6,
  Poisson = 7,
  KLD = 8,
  BCEProbs = 9,  // binary cross-entropy of clipped probabilities (not from logits)
  CategoricalHinge = 10,
  CosineSimilarity = 11,
};
constexpr int kLastPairLoss = static_cast<int>(PairLoss::CosineSimilarity);

// What a gemm applies to each output element before storing it:
// C = act(alpha * A @ B + beta * C + bias); bias (length N) may be nullptr.
struct Epilogue {
  const float* bias = nullptr;
  Activation act = Activation::Linear;
  float act_param = 0.0f;
};

// Batch normalization's statistics (per column of a [rows, cols] matrix), for every device:
//   Batch:  mean/var of this batch (biased variance, Keras), invstd = 1/sqrt(var + eps); the
//           moving statistics (when given) become moving*momentum + batch*(1 - momentum)
//   Moving: mean = moving_mean, invstd = 1/sqrt(moving_var + eps)       (BN inference)
//   Fixed:  mean = moving_mean, invstd = 1/max(sqrt(moving_var), eps)   (Keras Normalization)
// y = (x - mean) * invstd * gamma + beta (gamma / beta nullptr: 1 / 0). mean and invstd (cols
// floats each) are written for backward.
enum class NormMode : int { Batch = 0, Moving = 1, Fixed = 2 };
struct BatchNormArgs {
  NormMode mode = NormMode::Batch;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-3f;
  float momentum = 0.99f;
  float* mean = nullptr;
  float* invstd = nullptr;
  float* moving_mean = nullptr;  // Batch: updated when not nullptr; else read
  float* moving_var = nullptr;
  // Synchronized batch norm (data-parallel ranks): sums over EVERY rank's rows in place of this
  // call's (2 * cols doubles each; nullptr: this call's rows). batch_stats: Batch forward's sum of
  // x, then sum of (x - mean)^2, over batch_count rows (the mean, variance and moving update
  // computed from them as from this call's own sums; rows may be 0). grad_means: Batch backward's
  // mean of dy, then of dy * xhat (dgamma / dbeta stay this call's sums).
  const double* batch_stats = nullptr;
  double batch_count = 0.0;
  const double* grad_means = nullptr;
};

}  // namespace fusednet
