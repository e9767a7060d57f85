// Net: forward / loss / backward / optimizer step of a Dense MLP over arenas. See net.h.
//
// Shapes, for layer i with input width I and output width U, on a batch of R rows:
//   forward   z = x @ W + b            gemm (R, U, I) with the bias (+ activation) epilogue
//             h = act(z)               in the epilogue, or a separate pass when backward needs z
//   backward  dW = x^T @ dz            gemm (I, U, R): x read through strides as its transpose
//             db = column sums of dz   bias_grad
//             dx = dz @ W^T            gemm (R, I, U): W read through strides as its transpose
//             dz_prev = act'(..) dx    activation backward from the output h when possible
// The loss of a sigmoid (softmax) output with binary (softmax) cross-entropy is computed from z,
// so its gradient is the stable p - y and the output activation is never differentiated.
#include "net/net.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "net/spec.h"
#include "kernels/math/hash.h"

namespace fusednet {

template <typename T>
void AlignedArray<T>::resize(index_t n) {
  ptr_.reset();
  n_ = 0;
  if (n <= 0) return;
  // C++17 aligned new: portable (MSVC has no std::aligned_alloc); throws bad_alloc.
  const size_t bytes = static_cast<size_t>(round_up(static_cast<index_t>(n * sizeof(T)), 64));
  void* p = ::operator new(bytes, std::align_val_t{64});
  std::memset(p, 0, bytes);
  ptr_.reset(static_cast<T*>(p));
  n_ = n;
}
template class AlignedArray<float>;
template class AlignedArray<double>;
template class AlignedArray<std::int64_t>;

namespace {

// The counter-based hash of net_hash.h, shared with NetCuda's dropout masks.
using nethash::kPurposeDropout;
using nethash::stream_key;
using nethash::uniform01;

}  // namespace

Net::Net(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed)
    : NetSpec(std::move(layers), input_dropout, seed) {
  params_.resize(num_params_);
  grads_.resize(num_params_);
  z_.resize(layers_.size());
  a_.resize(layers_.size());
  dz_.resize(layers_.size());
  drop_.resize(layers_.size());
  inputs_.assign(layers_.size(), nullptr);
}

// ---- optimizer --------------------------------------------------------------------------------

float* Net::optimizer_state(int i) {
  FN_CHECK(i >= 0 && i < num_optimizer_states(), "optimizer state ", i, " does not exist");
  return i == 0 ? state0_.data() : state1_.data();
}

void Net::set_optimizer(const OptimSpec& spec) {
  optim_ = spec;
  has_optim_ = true;
  step = 0;
  state0_.resize(0);
  state1_.resize(0);
  int states = num_optimizer_states();
  if (states >= 1) state0_.resize(num_params());
  if (states >= 2) state1_.resize(num_params());
}

void Net::apply_update(float lr) {
  FN_CHECK(has_optim_, "no optimizer: compile the model or call an optimizer first");
  optimizer_update(optim_, params_.data(), grads_.data(), state0_.data(), state1_.data(),
                   num_params(), step, lr, sgd_step_cpu, adam_step_cpu);
  ++step;
}

// ---- workspace --------------------------------------------------------------------------------

void Net::reserve(index_t rows) {
  if (rows <= cap_) return;
  for (index_t i = 0; i < num_layers(); ++i) {
    const LayerWorkspace w = layer_workspace(layers_, i, rows);
    const size_t k = static_cast<size_t>(i);
    z_[k].resize(w.z);
    a_[k].resize(w.a);
    drop_[k].resize(w.drop);
    dz_[k].resize(w.dz);
  }
  const index_t in = input_width(), out = output_width();
  xin_.resize(rows * in);
  yvals_.resize(rows * out);
  out_.resize(rows * out);
  sw_.resize(rows);
  ylabels_.resize(rows);
  row_loss_.resize(rows);
  cap_ = rows;
  out_valid_ = false;
  last_rows_ = 0;
}

// ---- forward ----------------------------------------------------------------------------------

void Net::dropout(const float* src, float* dst, index_t rows, index_t cols, float rate,
                  index_t site, std::int64_t counter) {
  const std::uint64_t key = stream_key(seed_, kPurposeDropout, static_cast<std::uint64_t>(counter),
                                       static_cast<std::uint64_t>(site));
  const float scale = 1.0f / (1.0f - rate);
  const index_t n = rows * cols;
  for (index_t i = 0; i < n; ++i)
    dst[i] = uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale : 0.0f;
}

// Runs every layer on `rows` contiguous input rows. out_final != nullptr (inference): the output
// activation is written there directly; else the last layer's z stays in the workspace.
void Net::forward_into(const float* x, index_t rows, bool training, float* out_final) {
  const std::int64_t counter = training ? train_forwards++ : 0;
  const float* in = x;
  if (training && input_dropout_ > 0.f) {
    dropout(x, xin_.data(), rows, input_width(), input_dropout_, 0, counter);
    in = xin_.data();
  }
  const index_t nl = num_layers();
  for (index_t i = 0; i < nl; ++i) {
    const DenseSpec& L = layers_[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i);
    const bool last = i + 1 == nl;
    inputs_[k] = in;
    Epilogue ep;
    ep.bias = L.use_bias ? params_.data() + b_off_[k] : nullptr;
    const float* W = params_.data() + w_off_[k];
    if (last && out_final) {
      if (L.act == kActSoftmax) {
        gemm_cpu(rows, L.units, L.in, 1.f, in, L.in, 1, W, L.units, 1, 0.f, out_final, L.units, 1, ep);
        softmax_forward_cpu(out_final, out_final, rows, L.units, false);
      } else {
        ep.act = static_cast<Activation>(L.act);
        ep.act_param = L.act_param;
        gemm_cpu(rows, L.units, L.in, 1.f, in, L.in, 1, W, L.units, 1, 0.f, out_final, L.units, 1, ep);
      }
    } else if (needs_z(i)) {
      gemm_cpu(rows, L.units, L.in, 1.f, in, L.in, 1, W, L.units, 1, 0.f, z_[k].data(), L.units, 1, ep);
      if (!last)
        activation_forward_cpu(static_cast<Activation>(L.act), L.act_param, z_[k].data(),
                               a_[k].data(), rows * L.units);
    } else {
      ep.act = static_cast<Activation>(L.act);
      ep.act_param = L.act_param;
      gemm_cpu(rows, L.units, L.in, 1.f, in, L.in, 1, W, L.units, 1, 0.f, a_[k].data(), L.units, 1, ep);
    }
    if (!last) {
      in = a_[k].data();
      if (training && L.dropout_after > 0.f) {
        dropout(a_[k].data(), drop_[k].data(), rows, L.units, L.dropout_after, i + 1, counter);
        in = drop_[k].data();
      }
    }
  }
  last_rows_ = rows;
  last_training_ = training;
  last_counter_ = counter;
  out_valid_ = false;
}

void Net::forward(const float* x, index_t rows, bool training) {
  reserve(rows);
  if (rows > 0) std::memcpy(xin_.data(), x, sizeof(float) * static_cast<size_t>(rows * input_width()));
  forward_into(xin_.data(), rows, training, nullptr);
}

const float* Net::output() {
  const DenseSpec& L = layers_.back();
  const float* z = z_.back().data();
  if (L.act == static_cast<int>(Activation::Linear)) return z;
  if (!out_valid_) {
    if (L.act == kActSoftmax)
      softmax_forward_cpu(z, out_.data(), last_rows_, L.units, false);
    else
      activation_forward_cpu(static_cast<Activation>(L.act), L.act_param, z, out_.data(),
                             last_rows_ * L.units);
    out_valid_ = true;
  }
  return out_.data();
}

// ---- loss and backward ------------------------------------------------------------------------

double Net::loss(const Targets& t, const float* sw, const LossSpec& spec) {
  const index_t rows = last_rows_, cols = output_width();
  const float* input = fused(spec) ? z_.back().data() : output();
  float* d = dz_.back().data();
  double* rl = row_loss_.data();
  switch (spec.kind) {
    case LossKind::MSE:
      return mse_cpu(input, t.values, sw, d, rows, cols, Reduction::Mean, rl);
    case LossKind::BCE:
      return binary_cross_entropy_cpu(input, t.values, sw, d, rows, cols, Reduction::Mean, rl);
    case LossKind::SparseCE:
      return softmax_cross_entropy_cpu(input, t.labels, sw, d, rows, cols, Reduction::Mean, rl);
    case LossKind::CategoricalCE:
      return softmax_cross_entropy_soft_cpu(input, t.values, sw, d, rows, cols, Reduction::Mean, rl);
  }
  return 0.0;
}

void Net::backward(const LossSpec& spec) {
  const index_t rows = last_rows_, nl = num_layers();
  // The output delta is w.r.t. the loss input: the logits when fused, else the output h.
  {
    const DenseSpec& L = layers_.back();
    float* d = dz_.back().data();
    if (!fused(spec) && L.act != static_cast<int>(Activation::Linear)) {
      if (L.act == kActSoftmax)
        softmax_backward_cpu(d, z_.back().data(), d, rows, L.units, false);
      else
        activation_backward_cpu(static_cast<Activation>(L.act), L.act_param, d, z_.back().data(),
                                d, rows * L.units);
    }
  }
  for (index_t i = nl - 1; i >= 0; --i) {
    const DenseSpec& L = layers_[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i);
    const float* dz = dz_[k].data();
    const float* x = inputs_[k];
    // dW = x^T @ dz: x (rows, in) read as (in, rows) through strides (1, in).
    gemm_cpu(L.in, L.units, rows, 1.f, x, 1, L.in, dz, L.units, 1, 0.f,
             grads_.data() + w_off_[k], L.units, 1, Epilogue{});
    if (L.use_bias) bias_grad_cpu(dz, grads_.data() + b_off_[k], rows, L.units);
    if (i == 0) break;
    // dx = dz @ W^T: W (in, units) read as (units, in) through strides (1, units).
    const DenseSpec& P = layers_[k - 1];
    float* dprev = dz_[k - 1].data();
    gemm_cpu(rows, L.in, L.units, 1.f, dz, L.units, 1, params_.data() + w_off_[k], 1, L.units, 0.f,
             dprev, L.in, 1, Epilogue{});
    if (last_training_ && P.dropout_after > 0.f)
      dropout(dprev, dprev, rows, P.units, P.dropout_after, i, last_counter_);
    if (backward_from_output(P.act, P.act_param))
      activation_backward_from_output_cpu(static_cast<Activation>(P.act), P.act_param, dprev,
                                          a_[k - 1].data(), dprev, rows * P.units);
    else
      activation_backward_cpu(static_cast<Activation>(P.act), P.act_param, dprev, z_[k - 1].data(),
                              dprev, rows * P.units);
  }
}

// ---- metrics ----------------------------------------------------------------------------------

namespace {
inline index_t argmax_row(const float* r, index_t n) {
  index_t best = 0;
  for (index_t j = 1; j < n; ++j)
    if (r[j] > r[best] || (std::isnan(r[j]) && !std::isnan(r[best]))) best = j;
  return best;
}
}  // namespace

// Adds this batch's per-metric sums (matches, absolute or squared errors) to `sums`.
void Net::accumulate_metrics(const std::vector<MetricKind>& metrics, const Targets& t,
                             index_t rows, bool fused_logits, std::vector<double>& sums) {
  const index_t cols = output_width();
  for (size_t m = 0; m < metrics.size(); ++m) {
    double s = 0.0;
    switch (metrics[m]) {
      case MetricKind::BinaryAccuracy: {
        // sigmoid(z) > 0.5 <=> z > 0, so the fused case needs no sigmoid pass.
        const float* p = fused_logits ? z_.back().data() : output();
        const float thr = fused_logits ? 0.f : 0.5f;
        for (index_t i = 0; i < rows * cols; ++i)
          s += (p[i] > thr ? 1.f : 0.f) == t.values[i] ? 1.0 : 0.0;
        break;
      }
      case MetricKind::SparseAccuracy:
      case MetricKind::CategoricalAccuracy: {
        const float* p = fused_logits ? z_.back().data() : output();
        for (index_t i = 0; i < rows; ++i) {
          const index_t pred = argmax_row(p + i * cols, cols);
          const index_t truth = metrics[m] == MetricKind::SparseAccuracy
                                    ? static_cast<index_t>(t.labels[i])
                                    : argmax_row(t.values + i * cols, cols);
          s += pred == truth ? 1.0 : 0.0;
        }
        break;
      }
      case MetricKind::MAE:
      case MetricKind::MSE: {
        const float* p = output();
        const bool sq = metrics[m] == MetricKind::MSE;
        for (index_t i = 0; i < rows * cols; ++i) {
          const double e = static_cast<double>(p[i]) - static_cast<double>(t.values[i]);
          s += sq ? e * e : std::fabs(e);
        }
        break;
      }
    }
    sums[m] += s;
  }
}

// ---- data sets --------------------------------------------------------------------------------

// Points `xb`, `yb`, `swb` at rows [start, start + rows) of the (optionally permuted) data set,
// gathering into the workspace when permuted.
const float* Net::gather_batch(const float* X, const Targets& y, const float* sw,
                               const std::int64_t* order, index_t start, index_t rows,
                               Targets* yb, const float** swb) {
  const index_t in = input_width();
  *yb = y;
  if (!order) {
    if (y.labels) yb->labels = y.labels + start;
    if (y.values) yb->values = y.values + start * y.cols;
    *swb = sw ? sw + start : nullptr;
    return X + start * in;
  }
  float* xb = xin_.data();
  for (index_t r = 0; r < rows; ++r) {
    const index_t src = order[start + r];
    std::copy_n(X + src * in, in, xb + r * in);
    if (y.labels) ylabels_.data()[r] = y.labels[src];
    if (y.values)
      std::memcpy(yvals_.data() + r * y.cols, y.values + src * y.cols,
                  sizeof(float) * static_cast<size_t>(y.cols));
    if (sw) sw_.data()[r] = sw[src];
  }
  if (y.labels) yb->labels = ylabels_.data();
  if (y.values) yb->values = yvals_.data();
  *swb = sw ? sw_.data() : nullptr;
  return xb;
}

EpochStats Net::train_epoch(const float* X, const Targets& y, const float* sw, index_t n,
                            index_t batch_size, bool shuffle, const float* lrs, float lr,
                            const LossSpec& spec, const std::vector<MetricKind>& metrics,
                            const BatchHook& hook) {
  FN_CHECK(has_optim_, "no optimizer: compile the model first");
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  EpochStats st;
  st.metrics.assign(metrics.size(), 0.0);
  if (n <= 0) return st;
  reserve(std::min(batch_size, n));
  const std::int64_t* order = nullptr;
  const index_t steps = ceil_div(n, batch_size);
  // One batch holds every sample whatever the order: no permutation, no gather.
  if (shuffle && steps > 1) {
    // The permutation buffer is per data set size; a Fisher-Yates shuffle from the epoch counter.
    if (order_.size() != n) order_.resize(n);
    std::int64_t* o = order_.data();
    shuffle_order(seed_, epochs_shuffled, o, n);
    order = o;
  }
  ++epochs_shuffled;
  const bool fz = fused(spec);
  std::vector<double> sums(metrics.size(), 0.0);
  double loss_sum = 0.0;
  index_t seen = 0;
  HookSchedule hook_due(hook, steps);
  for (index_t b = 0; b < steps; ++b) {
    const index_t start = b * batch_size, rows = std::min(batch_size, n - start);
    Targets yb;
    const float* swb = nullptr;
    const float* xb = gather_batch(X, y, sw, order, start, rows, &yb, &swb);
    forward_into(xb, rows, true, nullptr);
    const double l = loss(yb, swb, spec);
    if (!metrics.empty()) accumulate_metrics(metrics, yb, rows, fz, sums);
    backward(spec);
    apply_update(lrs ? lrs[b] : lr);
    loss_sum += l * static_cast<double>(rows);
    seen += rows;
    ++st.batches;
    if (hook_due.due(b) && !hook(b, loss_sum / static_cast<double>(seen),
                                 metric_means(metrics, sums, seen, output_width())))
      break;
  }
  st.loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
  st.metrics = metric_means(metrics, sums, seen, output_width());
  return st;
}

EpochStats Net::evaluate(const float* X, const Targets& y, const float* sw, index_t n,
                         index_t batch_size, const LossSpec& spec,
                         const std::vector<MetricKind>& metrics) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  EpochStats st;
  st.metrics.assign(metrics.size(), 0.0);
  if (n <= 0) return st;
  reserve(std::min(batch_size, n));
  const bool fz = fused(spec);
  std::vector<double> sums(metrics.size(), 0.0);
  double loss_sum = 0.0;
  const index_t steps = ceil_div(n, batch_size);
  for (index_t b = 0; b < steps; ++b) {
    const index_t start = b * batch_size, rows = std::min(batch_size, n - start);
    Targets yb;
    const float* swb = nullptr;
    const float* xb = gather_batch(X, y, sw, nullptr, start, rows, &yb, &swb);
    forward_into(xb, rows, false, nullptr);
    loss_sum += loss(yb, swb, spec) * static_cast<double>(rows);
    if (!metrics.empty()) accumulate_metrics(metrics, yb, rows, fz, sums);
    ++st.batches;
  }
  st.loss = loss_sum / static_cast<double>(n);
  st.metrics = metric_means(metrics, sums, n, output_width());
  return st;
}

void Net::predict(const float* X, index_t n, index_t batch_size, float* out) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  if (n <= 0) return;
  reserve(std::min(batch_size, n));
  const index_t in = input_width(), units = output_width();
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t rows = std::min(batch_size, n - start);
    forward_into(X + start * in, rows, false, out + start * units);
  }
  last_rows_ = 0;  // the workspace no longer holds a forward that loss/backward could use
}

}  // namespace fusednet
