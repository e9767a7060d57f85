// The description of a net, device independent: the spec types of layers, losses, metrics and
// optimizers; NetSpec, the part of a net its specs determine (checked specs, arena layout, seed,
// counters, the optimizer and the compiled loss and metrics); which activations backward can take
// from the output; the workspace sizes; the optimizer dispatch; the batch hook and its schedule;
// the epoch's shuffle permutation and the metric means. Net (net.h) adds the arenas and the
// arithmetic, on whichever backend (backend.h) it was made for.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include "common.h"
#include "kernels/math/optim.h"
#include "kernels/types.h"

namespace fusednet {

// The kinds of layer a Net holds. Every layer is y = act(f(x)) on rows of `in` floats giving rows
// of `units` floats: f is x @ W + b (Dense), the identity (Activation), a normalization
// (units == in). Parameters in the arena, per layer: Dense kernel (in, units) then bias (units,);
// BatchNorm / LayerNorm gamma (units,, with scale) then beta (units,, with center). Non-trainable
// statistics (a second arena, never touched by the optimizer): BatchNorm moving mean and moving
// variance, Normalization mean and variance (units each).
enum class LayerKind : int {
  Dense = 0,
  Activation = 1,
  BatchNorm = 2,
  LayerNorm = 3,
  Normalization = 4
};

// One layer of a Net (the name stays DenseSpec: most layers are Dense, and the bindings and
// Python name it so; LayerSpec is the same type).
struct DenseSpec {
  index_t in = 0, units = 0;
  Activation act = Activation::Linear;  // Softmax: row-wise, any layer
  float act_param = 0.f;                // leaky_relu slope, elu alpha
  bool use_bias = true;
  float dropout_after = 0.f;  // Dropout(rate) applied to this layer's output in training
  LayerKind kind = LayerKind::Dense;
  // Normalization layers: epsilon; BatchNorm's momentum (Keras's: moving = moving * momentum +
  // batch * (1 - momentum)); BatchNorm / LayerNorm's gamma (scale) and beta (center).
  float epsilon = 1e-3f;
  float momentum = 0.99f;
  bool scale = true, center = true;
};
using LayerSpec = DenseSpec;

enum class LossKind : int {
  MSE = 0,
  BCE = 1,
  SparseCE = 2,
  CategoricalCE = 3,
  // The pair losses (kernels/types.h's PairLoss), one kernel for all of them.
  MAE = 4,
  MAPE = 5,
  MSLE = 6,
  Huber = 7,
  LogCosh = 8,
  Hinge = 9,
  SquaredHinge = 10,
  CategoricalHinge = 11,
  KLD = 12,
  Poisson = 13,
  CosineSimilarity = 14,
};
struct LossSpec {
  LossKind kind = LossKind::MSE;
  bool from_logits = false;  // false + sigmoid/softmax output: fused, computed from the logits
  float param = 0.f;         // huber's delta
  Reduction reduction = Reduction::Mean;  // of a batch: Keras's sum_over_batch_size, or sum
};

enum class MetricKind : int {
  BinaryAccuracy = 0,
  SparseAccuracy = 1,
  CategoricalAccuracy = 2,
  MAE = 3,
  MSE = 4,
  TopKCategorical = 5,
  SparseTopK = 6,
  RMSE = 7,
  MAPE = 8,
  AUC = 9,
  Precision = 10,
  Recall = 11,
  F1 = 12,
  R2 = 13
};

// A compiled metric: its kind and Keras's arguments (python/fusednet/metrics.py documents them).
// A MetricKind converts to the spec with the defaults.
struct MetricSpec {
  MetricKind kind = MetricKind::BinaryAccuracy;
  int k = 5;                      // top-k accuracies
  std::vector<float> thresholds;  // AUC (with its -eps / 1 + eps ends), Precision, Recall
  bool evenly = false;            // the thresholds are evenly spaced (Keras's bucket path)
  bool with_epsilon = false;      // ... and the ends lie outside [0, 1]
  int top_k = 0;                  // Precision / Recall (0: none)
  int class_id = -1;              // Precision / Recall (-1: none)
  int curve = 0;                  // AUC: 0 ROC, 1 PR, 2 PRGAIN
  int summation = 0;              // AUC: 0 interpolation, 1 minoring, 2 majoring
  bool multi_label = false;       // AUC
  std::vector<float> label_weights;  // AUC (empty: none)
  bool from_logits = false;          // AUC
  int average = 0;                   // F1: 0 none, 1 micro, 2 macro, 3 weighted
  float beta = 1.f;                  // F1
  bool has_threshold = false;        // F1 (false: the row's argmax)
  float threshold = 0.5f;            // F1
  int class_aggregation = 1;         // R2: 0 none, 1 uniform_average, 2 variance_weighted
  int num_regressors = 0;            // R2

  MetricSpec() = default;
  MetricSpec(MetricKind k_) : kind(k_) {}  // NOLINT: implicit, a kind is a spec with defaults
};

// Whether a metric's per-batch figure is one sum over rows (kernels/math/metric.h metric_row).
inline bool metric_is_row_sum(MetricKind k) { return static_cast<int>(k) <= 8; }
// Doubles of a metric's per-batch state for `cols` outputs (1 for row sums; metric.h's layouts).
index_t metric_state_width(const MetricSpec& m, index_t cols);
// Values of a metric's result (F1 with average None: one per column; Precision / Recall: one per
// threshold; R2 without aggregation: one per column).
index_t metric_result_width(const MetricSpec& m, index_t cols);
// The result of each metric from its state summed over `count` rows (a double: weighted counts
// for the metric objects), concatenated in metric order.
std::vector<double> metric_results(const std::vector<MetricSpec>& metrics, const double* state,
                                   double count, index_t cols);

enum class OptimKind : int {
  SGD = 0,
  Adam = 1,
  AdamW = 2,
  RMSprop = 3,
  Adagrad = 4,
  Adadelta = 5,
  Adamax = 6,
  Nadam = 7,
  Lion = 8,
};
// Hyperparameters in double: the kernels compute their per-step coefficients from them in double.
struct OptimSpec {
  OptimKind kind = OptimKind::Adam;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-7;
  // Keras's other optimizers (net/optim_update.h): RMSprop / Adadelta's rho, RMSprop's centered,
  // Adam's amsgrad, Adagrad's initial accumulator; gradient clipping (0: off; Keras allows one);
  // the EMA of the weights; the trainable variables as (offset, size) pairs of the arena (empty:
  // the whole arena is one variable).
  double rho = 0.9;
  bool centered = false, amsgrad = false;
  double initial_accumulator = 0.1;
  double clipnorm = 0.0, global_clipnorm = 0.0, clipvalue = 0.0;
  bool use_ema = false;
  double ema_momentum = 0.99;
  std::int64_t ema_overwrite_frequency = 0;
  std::vector<index_t> variables;
  // Keras's weight constraints, applied after every update (7 doubles each: kind (math/optim.h's
  // Constraint), offset, rows, cols, min_value, max_value, rate), and the L1 / L2 regularizers
  // (4 doubles each: offset, size, l1, l2), whose penalty joins every batch's loss and whose
  // gradient joins the gradient arena before each training update.
  std::vector<double> constraints, regularizers;
  // Activity regularizers of hidden layers (3 doubles each: layer, l1, l2): Keras's penalty of
  // the layer's output divided by the batch's rows, its gradient added to the output's delta.
  std::vector<double> activity_regularizers;
};

// The step kernel's rule for an optimizer (math/optim.h).
inline optmath::Rule optim_rule(const OptimSpec& o) {
  using optmath::Rule;
  switch (o.kind) {
    case OptimKind::SGD:
      if (static_cast<float>(o.momentum) == 0.f) return Rule::Sgd;
      return o.nesterov ? Rule::SgdNesterov : Rule::SgdMomentum;
    case OptimKind::Adam:
    case OptimKind::AdamW: return o.amsgrad ? Rule::AdamAmsgrad : Rule::Adam;
    case OptimKind::RMSprop: {
      const bool mom = static_cast<float>(o.momentum) != 0.f;
      if (o.centered) return mom ? Rule::RMSpropCenteredMomentum : Rule::RMSpropCentered;
      return mom ? Rule::RMSpropMomentum : Rule::RMSprop;
    }
    case OptimKind::Adagrad: return Rule::Adagrad;
    case OptimKind::Adadelta: return Rule::Adadelta;
    case OptimKind::Adamax: return Rule::Adamax;
    case OptimKind::Nadam: return Rule::Nadam;
    case OptimKind::Lion: return Rule::Lion;
  }
  FN_CHECK(false, "optimizer kind: expected an OptimKind, got ", static_cast<int>(o.kind));
  return Rule::Sgd;
}

// One epoch's (or one evaluation's) figures: the mean loss over samples and each metric's mean.
struct EpochStats {
  double loss = 0.0;
  std::vector<double> metrics;
  index_t batches = 0;  // batches run (fewer than planned when a callback stopped the epoch)
  bool stopped_on_nan = false;  // a training pass stopped at a batch whose loss was not finite
};

// What a training pass does about a batch whose loss is not finite (NaN or inf): nothing; stop
// after that batch, its update applied (Keras's TerminateOnNaN); or stop before its update and
// keep the last finite weights (the parameters before the previous update when that one made
// them non-finite). Watching reads each batch's loss on the host: free on the CPU, one small
// download per batch on a device.
enum class NanWatch : int { Off = 0, Stop = 1, Restore = 2 };

// Labels of a data set: int64 class ids (sparse CE) or float32 rows of `cols` (the other losses).
struct Targets {
  const std::int64_t* labels = nullptr;
  const float* values = nullptr;
  index_t cols = 0;
};

// A data set as the caller holds it on the host.
struct HostData {
  const float* X = nullptr;
  Targets y;  // labels (int64) or values (float, y.cols per row); may be empty
  const float* sw = nullptr;
  index_t n = 0;
};

// Called after training batches with the batch index and the epoch's running mean loss and
// metrics so far; returns false to stop the epoch. With interval_s == 0 it is called after every
// batch. A progress display asks for an interval instead: it is then called only after a batch
// that ends at least interval_s after its previous call (or the epoch's start), and after the
// last batch -- so a device-resident epoch is not made to wait for the device after each batch.
struct BatchHook {
  using Fn = std::function<bool(index_t, double, const std::vector<double>&)>;
  Fn fn;
  double interval_s = 0.0;

  BatchHook() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, BatchHook>>>
  BatchHook(F&& f, double interval = 0.0) : fn(std::forward<F>(f)), interval_s(interval) {}
  explicit operator bool() const { return static_cast<bool>(fn); }
  bool operator()(index_t b, double loss, const std::vector<double>& metrics) const {
    return fn(b, loss, metrics);
  }
};

// Which batches of an epoch a BatchHook is called for (see BatchHook).
class HookSchedule {
 public:
  HookSchedule(const BatchHook& hook, index_t steps)
      : on_(static_cast<bool>(hook)), interval_(hook.interval_s), steps_(steps),
        last_(std::chrono::steady_clock::now()) {}
  bool due(index_t b) {
    if (!on_) return false;
    if (interval_ <= 0.0 || b + 1 >= steps_) return true;
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_).count() < interval_) return false;
    last_ = now;
    return true;
  }

 private:
  bool on_;
  double interval_;
  index_t steps_;
  std::chrono::steady_clock::time_point last_;
};

// Activations whose derivative is a function of the output (no need to keep z).
inline bool backward_from_output(Activation a, float param) {
  return has_derivative_from_output(a, param);
}

// Layer i must keep its pre-activation z for backward: the output layer (losses read it), and
// activations whose derivative needs z. An Activation layer's z is its input, kept anyway.
inline bool layer_needs_z(const std::vector<DenseSpec>& layers, index_t i) {
  const DenseSpec& L = layers[static_cast<size_t>(i)];
  return i + 1 == static_cast<index_t>(layers.size()) || !backward_from_output(L.act, L.act_param);
}

// Floats of layer i's workspace buffers for `rows` rows: the pre-activation z (when kept), the
// output a (hidden layers; the output layer's lives in z / the output buffer), the dropped-out
// output (with Dropout after the layer), the delta dz and a normalization's saved statistics
// (batch norm: mean and invstd per column; layer norm: mean and rstd per row).
struct LayerWorkspace {
  index_t z = 0, a = 0, drop = 0, dz = 0, norm = 0;
};
inline LayerWorkspace layer_workspace(const std::vector<DenseSpec>& layers, index_t i,
                                      index_t rows) {
  const DenseSpec& L = layers[static_cast<size_t>(i)];
  const bool last = i + 1 == static_cast<index_t>(layers.size());
  LayerWorkspace w;
  w.z = layer_needs_z(layers, i) && L.kind != LayerKind::Activation ? rows * L.units : 0;
  w.a = last ? 0 : rows * L.units;
  w.drop = L.dropout_after > 0.f ? rows * L.units : 0;
  w.dz = rows * L.units;
  if (L.kind == LayerKind::BatchNorm || L.kind == LayerKind::Normalization) w.norm = 2 * L.units;
  if (L.kind == LayerKind::LayerNorm) w.norm = 2 * rows;
  return w;
}

// The loss is computed from the output layer's pre-activation (fused with its activation):
// binary cross-entropy after a sigmoid, softmax cross-entropy after a softmax, unless the
// user says the output already is logits.
inline bool loss_fused_with_output(const LossSpec& spec, Activation output_act) {
  if (spec.from_logits) return false;
  if (spec.kind == LossKind::BCE) return output_act == Activation::Sigmoid;
  if (spec.kind == LossKind::SparseCE || spec.kind == LossKind::CategoricalCE)
    return output_act == Activation::Softmax;
  return false;
}

// The pair-loss kernel (kernels/math/loss.h) a loss runs on, if it is one: every kind but mse,
// the softmax cross-entropies and binary cross-entropy from logits. Binary cross-entropy of
// probabilities (from_logits false on an output that is no sigmoid to fuse with) is one.
inline bool pair_loss_of(const LossSpec& spec, bool fused, PairLoss* out) {
  switch (spec.kind) {
    case LossKind::BCE:
      if (spec.from_logits || fused) return false;
      *out = PairLoss::BCEProbs;
      return true;
    case LossKind::MAE: *out = PairLoss::MAE; return true;
    case LossKind::MAPE: *out = PairLoss::MAPE; return true;
    case LossKind::MSLE: *out = PairLoss::MSLE; return true;
    case LossKind::Huber: *out = PairLoss::Huber; return true;
    case LossKind::LogCosh: *out = PairLoss::LogCosh; return true;
    case LossKind::Hinge: *out = PairLoss::Hinge; return true;
    case LossKind::SquaredHinge: *out = PairLoss::SquaredHinge; return true;
    case LossKind::CategoricalHinge: *out = PairLoss::CategoricalHinge; return true;
    case LossKind::KLD: *out = PairLoss::KLD; return true;
    case LossKind::Poisson: *out = PairLoss::Poisson; return true;
    case LossKind::CosineSimilarity: *out = PairLoss::CosineSimilarity; return true;
    default: return false;
  }
}

// State arenas the optimizer keeps (SGD: velocity only with momentum; Adam/AdamW: m and v; the
// rules' as math/optim.h's rule_states), then the EMA of the weights with use_ema.
inline int optimizer_state_count(const OptimSpec& spec) {
  return optmath::rule_states(optim_rule(spec)) + (spec.use_ema ? 1 : 0);
}

// One optimizer pass over an arena of n parameters with a device's step kernels (kernels/cpu.h,
// kernels/cuda.h signatures): SGD with its velocity when it keeps one, Adam/AdamW at step
// t = step + 1 (decoupled weight decay for AdamW).
template <typename SgdStep, typename AdamStep>
void optimizer_update(const OptimSpec& o, float* param, const float* grad, float* state0,
                      float* state1, index_t n, std::int64_t step, double lr, SgdStep sgd_step,
                      AdamStep adam_step) {
  switch (o.kind) {
    case OptimKind::SGD:
      sgd_step(param, grad, optimizer_state_count(o) ? state0 : nullptr, n, lr, o.momentum,
               o.nesterov, o.weight_decay);
      break;
    case OptimKind::Adam:
    case OptimKind::AdamW:
      adam_step(param, grad, state0, state1, n, step + 1, lr, o.beta1, o.beta2, o.eps,
                o.weight_decay, o.kind == OptimKind::AdamW);
      break;
    default: break;  // the other kinds run the rule kernel (KernelBackend::optimizer_step)
  }
}

// The part of a net that its specs determine, and the state that is the same on every device.
class NetSpec {
 public:
  // Checks the specs (ValueError naming the layer) and lays out the arena (Keras order: kernel
  // (in, units) row-major, then bias (units,), per layer).
  NetSpec(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed);

  index_t num_layers() const { return static_cast<index_t>(layers_.size()); }
  const DenseSpec& layer(index_t i) const { return layers_[static_cast<size_t>(i)]; }
  const std::vector<DenseSpec>& layers() const { return layers_; }
  float input_dropout() const { return input_dropout_; }
  index_t input_width() const { return layers_.front().in; }
  const DenseSpec& output_layer() const { return layers_.back(); }
  index_t output_width() const { return layers_.back().units; }
  index_t num_params() const { return num_params_; }
  // Offsets of layer i's parameters in the arena: Dense kernel / bias, BatchNorm / LayerNorm
  // gamma / beta (-1: none).
  index_t kernel_offset(index_t i) const;
  index_t bias_offset(index_t i) const;  // -1: no bias
  // The non-trainable statistics (LayerKind): their arena's size and layer i's offset in it
  // (-1: none; mean at the offset, variance right after).
  index_t num_stats() const { return num_stats_; }
  index_t stats_offset(index_t i) const;
  bool has_batch_norm() const;
  std::uint64_t seed() const { return seed_; }
  void reseed(std::uint64_t seed) { seed_ = seed; }  // data-parallel ranks take rank 0's

  // Counters that make training reproducible across save/load: training forwards run (dropout
  // masks) and epochs shuffled (permutations).
  std::int64_t train_forwards = 0;
  std::int64_t epochs_shuffled = 0;

  bool has_optimizer() const { return has_optim_; }
  const OptimSpec& optimizer() const { return optim_; }
  int num_optimizer_states() const { return has_optim_ ? optimizer_state_count(optim_) : 0; }
  std::int64_t step = 0;  // optimizer updates applied (Adam's t after the update)

  // The loss and metrics of whole-data-set calls (train_epoch, evaluate, fit), set at compile.
  void compile(const LossSpec& loss, std::vector<MetricSpec> metrics);
  bool compiled() const { return compiled_; }
  const LossSpec& loss_spec() const { return loss_; }
  const std::vector<MetricSpec>& metrics() const { return metrics_; }
  // Doubles of all metrics' per-batch states, and of all their results.
  index_t metric_state_total() const;
  index_t metric_result_total() const;

  // The loss is computed from the output layer's pre-activation (see loss_fused_with_output).
  bool fused(const LossSpec& spec) const {
    return loss_fused_with_output(spec, layers_.back().act);
  }

 protected:
  bool needs_z(index_t i) const { return layer_needs_z(layers_, i); }

  std::vector<DenseSpec> layers_;
  float input_dropout_ = 0.f;
  std::uint64_t seed_ = 0;
  std::vector<index_t> w_off_, b_off_;
  std::vector<index_t> p_off_;  // layer i's parameters: [p_off_[i], p_off_[i + 1])
  std::vector<index_t> s_off_;  // layer i's statistics (-1: none)
  index_t num_params_ = 0;
  index_t num_stats_ = 0;
  bool has_optim_ = false;
  OptimSpec optim_;
  bool compiled_ = false;
  LossSpec loss_;
  std::vector<MetricSpec> metrics_;
};

// order[0, n) = the Fisher-Yates permutation of epoch `epoch` of a net seeded `seed`.
void shuffle_order(std::uint64_t seed, std::int64_t epoch, std::int64_t* order, index_t n);

}  // namespace fusednet
