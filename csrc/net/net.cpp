// Net: forward / loss / backward / optimizer step of a Dense MLP over arenas, on any backend.
// See net.h.
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
#include <utility>

#include "kernels/math/hash.h"

namespace fusednet {

namespace {

// A CUDA net checks for a usable device (RuntimeError) before its specs (ValueError).
std::vector<DenseSpec> device_checked(Device device, std::vector<DenseSpec> layers) {
  if (device != Device::Cpu) make_backend(device);
  return layers;
}

// The running loss (each batch's mean weighted by its rows) and metric sums of a pass, from the
// per-batch slots (1 + metrics doubles a batch), added in batch order.
struct SlotSums {
  Backend& backend;
  const Buffer& slots;
  index_t batch_size, n, per;
  double loss = 0.0;
  std::vector<double> metrics;
  index_t summed = 0;  // batches added so far
  std::vector<double> got;
  SlotSums(Backend& be, const Buffer& s, index_t bs, index_t n_rows, std::size_t n_metrics)
      : backend(be), slots(s), batch_size(bs), n(n_rows), per(1 + static_cast<index_t>(n_metrics)),
        metrics(n_metrics, 0.0) {}
  // Brings back the slots of batches [summed, upto) and adds them.
  void add_upto(index_t upto) {
    if (upto <= summed) return;
    got.resize(static_cast<std::size_t>((upto - summed) * per));
    backend.download(got.data(), slots.as<double>() + summed * per, sizeof(double) * got.size());
    for (index_t b = summed; b < upto; ++b) {
      const double* s = got.data() + (b - summed) * per;
      loss += s[0] * static_cast<double>(std::min(batch_size, n - b * batch_size));
      for (std::size_t m = 0; m < metrics.size(); ++m) metrics[m] += s[1 + m];
    }
    summed = upto;
  }
};

}  // namespace

Net::Net(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed, Device device)
    : NetSpec(device_checked(device, std::move(layers)), input_dropout, seed),
      backend_(make_backend(device)), feed_(*backend_) {
  params_ = backend_->alloc(sizeof(float) * static_cast<std::size_t>(num_params_));
  grads_ = backend_->alloc(sizeof(float) * static_cast<std::size_t>(num_params_));
  size_layer_lists();
}

void Net::size_layer_lists() {
  z_.resize(layers_.size());
  a_.resize(layers_.size());
  dz_.resize(layers_.size());
  drop_.resize(layers_.size());
  inputs_.assign(layers_.size(), nullptr);
}

// ---- readers ------------------------------------------------------------------------------------

Net::Net(Net& owner, ReaderOf)
    : NetSpec(owner), backend_(make_backend(owner.device())), feed_(*backend_) {
  shared_params_ = owner.params();
  feed_.max_resident_bytes = owner.feed_.max_resident_bytes;
  feed_.stream_chunk_bytes = owner.feed_.stream_chunk_bytes;
  size_layer_lists();
}

std::unique_ptr<Net> Net::make_reader() { return std::unique_ptr<Net>(new Net(*this, ReaderOf{})); }

// ---- arenas and the optimizer -------------------------------------------------------------------

float* Net::optimizer_state(int i) {
  FN_CHECK(i >= 0 && i < num_optimizer_states(), "optimizer state ", i, " does not exist");
  return i == 0 ? state0_.as<float>() : state1_.as<float>();
}

void Net::get_params(float* host) { backend_->download(host, params_.data(), params_.bytes()); }
void Net::set_params(const float* host) { backend_->upload(params_.data(), host, params_.bytes()); }
void Net::get_grads(float* host) { backend_->download(host, grads_.data(), grads_.bytes()); }
void Net::set_grads(const float* host) { backend_->upload(grads_.data(), host, grads_.bytes()); }
void Net::get_optimizer_state(int i, float* host) {
  backend_->download(host, optimizer_state(i), params_.bytes());
}
void Net::set_optimizer_state(int i, const float* host) {
  backend_->upload(optimizer_state(i), host, params_.bytes());
}
void Net::get_output_grad(float* host) {
  backend_->download(host, output_grad(),
                     sizeof(float) * static_cast<std::size_t>(last_rows_ * output_width()));
}
void Net::set_output_grad(const float* host) {
  backend_->upload(output_grad(), host,
                   sizeof(float) * static_cast<std::size_t>(last_rows_ * output_width()));
}

void Net::set_optimizer(const OptimSpec& spec) {
  optim_ = spec;
  has_optim_ = true;
  step = 0;
  state0_ = Buffer();
  state1_ = Buffer();
  const int states = num_optimizer_states();
  if (states >= 1) state0_ = backend_->alloc(params_.bytes());
  if (states >= 2) state1_ = backend_->alloc(params_.bytes());
}

void Net::apply_update(double lr) {
  FN_CHECK(!shared_params_, "a reader net does not train");
  FN_CHECK(has_optim_, "no optimizer: compile the model or call an optimizer first");
  backend_->optimizer_step(optim_, params(), grads(), state0_.as<float>(), state1_.as<float>(),
                           num_params_, step, lr);
  ++step;
}

// ---- workspace ----------------------------------------------------------------------------------

void Net::reserve(index_t rows) {
  if (rows <= cap_) return;
  auto floats = [&](index_t n) { return backend_->alloc(sizeof(float) * static_cast<size_t>(n)); };
  auto doubles = [&](index_t n) {
    return backend_->alloc(sizeof(double) * static_cast<size_t>(n));
  };
  for (index_t i = 0; i < num_layers(); ++i) {
    const LayerWorkspace w = layer_workspace(layers_, i, rows);
    const size_t k = static_cast<size_t>(i);
    z_[k] = floats(w.z);
    a_[k] = floats(w.a);
    drop_[k] = floats(w.drop);
    dz_[k] = floats(w.dz);
  }
  const index_t in = input_width(), out = output_width();
  xin_ = floats(rows * in);
  yvals_ = floats(rows * out);
  out_ = floats(rows * out);
  sw_ = floats(rows);
  ylabels_ = backend_->alloc(sizeof(std::int64_t) * static_cast<size_t>(rows));
  row_loss_ = doubles(rows);
  row_metric_ = doubles(rows);
  if (!loss_scalar_.data()) loss_scalar_ = doubles(1);
  cap_ = rows;
  out_valid_ = false;
  last_rows_ = 0;
}

// Backend doubles for a pass's per-batch loss and metric sums (count = batches * (1 + metrics)).
double* Net::reserve_slots(index_t count) {
  const std::size_t bytes = sizeof(double) * static_cast<std::size_t>(count);
  if (slots_.bytes() < bytes) slots_ = backend_->alloc(bytes);
  return slots_.as<double>();
}

GatherSpace Net::gather_space() {
  return GatherSpace{xin_.as<float>(), ylabels_.as<std::int64_t>(), yvals_.as<float>(),
                     sw_.as<float>()};
}

// ---- forward ------------------------------------------------------------------------------------

void Net::dropout(const float* src, float* dst, index_t rows, index_t cols, float rate,
                  index_t site, std::int64_t counter) {
  const std::uint64_t key =
      nethash::stream_key(seed_, nethash::kPurposeDropout, static_cast<std::uint64_t>(counter),
                          static_cast<std::uint64_t>(site));
  backend_->dropout(src, dst, rows * cols, rate, key);
}

void Net::forward_into(const float* x, index_t rows, bool training, float* out_final) {
  const std::int64_t counter = training ? train_forwards++ : 0;
  const float* in = x;
  if (training && input_dropout_ > 0.f) {
    dropout(x, xin_.as<float>(), rows, input_width(), input_dropout_, 0, counter);
    in = xin_.as<float>();
  }
  const index_t nl = num_layers();
  for (index_t i = 0; i < nl; ++i) {
    const DenseSpec& L = layers_[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i);
    const bool last = i + 1 == nl;
    inputs_[k] = in;
    Epilogue ep;
    ep.bias = L.use_bias ? params() + b_off_[k] : nullptr;
    const float* W = params() + w_off_[k];
    // Where the gemm writes. Its epilogue applies the activation, except where backward needs
    // the pre-activation z (kept, and activated into a by a pass after the gemm unless it is the
    // output layer's) and for the output's row-wise softmax (a pass in place).
    float* dst = a_[k].as<float>();
    float* activated = nullptr;  // where that pass writes
    bool fuse = true;
    if (last && out_final) {
      dst = out_final;
      fuse = is_elementwise(L.act);
      if (!fuse) activated = out_final;
    } else if (needs_z(i)) {
      dst = z_[k].as<float>();
      fuse = false;
      if (!last) activated = a_[k].as<float>();
    }
    if (fuse) {
      ep.act = L.act;
      ep.act_param = L.act_param;
    }
    backend_->gemm(rows, L.units, L.in, in, L.in, 1, W, L.units, 1, dst, ep);
    if (activated) backend_->activate(L.act, L.act_param, dst, activated, rows, L.units);
    if (!last) {
      in = a_[k].as<float>();
      if (training && L.dropout_after > 0.f) {
        dropout(in, drop_[k].as<float>(), rows, L.units, L.dropout_after, i + 1, counter);
        in = drop_[k].as<float>();
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
  backend_->upload(xin_.data(), x, sizeof(float) * static_cast<size_t>(rows * input_width()));
  forward_into(xin_.as<float>(), rows, training, nullptr);
}

const float* Net::output_activation() {
  const DenseSpec& L = layers_.back();
  const float* z = z_.back().as<float>();
  if (L.act == Activation::Linear) return z;
  if (!out_valid_) {
    backend_->activate(L.act, L.act_param, z, out_.as<float>(), last_rows_, L.units);
    out_valid_ = true;
  }
  return out_.as<float>();
}

void Net::output(float* host) {
  const index_t n = last_rows_ * output_width();
  if (n <= 0) return;
  backend_->download(host, output_activation(), sizeof(float) * static_cast<size_t>(n));
}

// ---- loss and backward --------------------------------------------------------------------------

void Net::loss_into(const Targets& t, const float* sw, const LossSpec& spec, double* slot) {
  const float* input = fused(spec) ? z_.back().as<float>() : output_activation();
  backend_->loss(spec.kind, input, t, sw, output_grad(), last_rows_, output_width(),
                 row_loss_.as<double>(), slot);
}

double Net::loss(const Targets& t_host, const float* sw_host, const LossSpec& spec) {
  const index_t rows = last_rows_;
  Targets t = t_host;
  const float* sw = sw_host;
  if (!host_memory()) {  // the targets to the device first
    if (t_host.labels) {
      backend_->upload(ylabels_.data(), t_host.labels, sizeof(std::int64_t) * rows);
      t.labels = ylabels_.as<std::int64_t>();
    }
    if (t_host.values) {
      backend_->upload(yvals_.data(), t_host.values, sizeof(float) * rows * t_host.cols);
      t.values = yvals_.as<float>();
    }
    if (sw_host) {
      backend_->upload(sw_.data(), sw_host, sizeof(float) * rows);
      sw = sw_.as<float>();
    }
  }
  loss_into(t, sw, spec, loss_scalar_.as<double>());
  double value = 0.0;
  backend_->download(&value, loss_scalar_.data(), sizeof(double));
  return value;
}

void Net::backward(const LossSpec& spec) {
  const index_t rows = last_rows_, nl = num_layers();
  // The output delta is w.r.t. the loss input: the logits when fused, else the output h.
  const DenseSpec& out = layers_.back();
  if (!fused(spec) && out.act != Activation::Linear)
    backend_->activation_grad(out.act, out.act_param, output_grad(), z_.back().as<float>(),
                              output_grad(), rows, out.units, false);
  for (index_t i = nl - 1; i >= 0; --i) {
    const DenseSpec& L = layers_[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i);
    const float* dz = dz_[k].as<float>();
    // dW = x^T @ dz: x (rows, in) read as (in, rows) through strides (1, in).
    backend_->gemm(L.in, L.units, rows, inputs_[k], 1, L.in, dz, L.units, 1, grads() + w_off_[k],
                   Epilogue{});
    if (L.use_bias) backend_->bias_grad(dz, grads() + b_off_[k], rows, L.units);
    if (i == 0) break;
    // dx = dz @ W^T: W (in, units) read as (units, in) through strides (1, units).
    const DenseSpec& P = layers_[k - 1];
    float* dprev = dz_[k - 1].as<float>();
    backend_->gemm(rows, L.in, L.units, dz, L.units, 1, params() + w_off_[k], 1, L.units, dprev,
                   Epilogue{});
    if (last_training_ && P.dropout_after > 0.f)
      dropout(dprev, dprev, rows, P.units, P.dropout_after, i, last_counter_);
    const bool from_output = backward_from_output(P.act, P.act_param);
    backend_->activation_grad(P.act, P.act_param, dprev, (from_output ? a_ : z_)[k - 1].as<float>(),
                              dprev, rows, P.units, from_output);
  }
}

// ---- metrics ------------------------------------------------------------------------------------

// Each compiled metric's sum over this batch into slots[m].
void Net::metrics_into(const Targets& t, index_t rows, bool fused_logits, double* slots) {
  for (size_t m = 0; m < metrics_.size(); ++m) {
    const MetricKind kind = metrics_[m];
    const bool accuracy = kind == MetricKind::BinaryAccuracy ||
                          kind == MetricKind::SparseAccuracy ||
                          kind == MetricKind::CategoricalAccuracy;
    // sigmoid(z) > 0.5 <=> z > 0 and argmax(softmax(z)) = argmax(z): accuracies read the logits.
    const float* p = accuracy && fused_logits ? z_.back().as<float>() : output_activation();
    const float threshold = fused_logits ? 0.f : 0.5f;
    backend_->metric(kind, p, threshold, t, rows, output_width(), row_metric_.as<double>(),
                     slots + m);
  }
}

// ---- data sets ----------------------------------------------------------------------------------

// Forward, loss and metrics of one batch; its loss and metric sums into slots[0 .. metrics].
void Net::score_batch(const Batch& b, index_t rows, bool training, bool fused_logits,
                      double* slots) {
  forward_into(b.x, rows, training, nullptr);
  loss_into(b.y, b.sw, loss_, slots);
  if (!metrics_.empty()) metrics_into(b.y, rows, fused_logits, slots + 1);
}

void Net::require_compiled() const { FN_CHECK(compiled_, "no loss: compile the model first"); }

bool Net::batch_loss_finite(const double* slot) {
  double loss = 0.0;
  backend_->download(&loss, slot, sizeof(double));
  return std::isfinite(loss);
}

void Net::keep_params() {
  if (!params_kept_.data()) params_kept_ = backend_->alloc(params_.bytes());
  backend_->copy(params_kept_.data(), params_.data(), params_.bytes());
  kept_ = true;
}

void Net::restore_finite_params() {
  std::vector<float> host(static_cast<std::size_t>(num_params_));
  get_params(host.data());
  const bool finite =
      std::all_of(host.begin(), host.end(), [](float v) { return std::isfinite(v); });
  if (!finite && kept_) backend_->copy(params_.data(), params_kept_.data(), params_.bytes());
}

EpochStats Net::run_pass(const DeviceData& d, index_t batch_size, const Training* train) {
  if (train) FN_CHECK(has_optim_, "no optimizer: compile the model first");
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  require_compiled();
  const index_t n = d.host.n;
  EpochStats st;
  st.metrics.assign(metrics_.size(), 0.0);
  if (n <= 0) return st;
  reserve(std::min(batch_size, n));
  const index_t steps = ceil_div(n, batch_size);
  const std::int64_t* order = nullptr;
  if (train) {
    // One batch holds every sample whatever the order: no permutation, no gather.
    if (train->shuffle && steps > 1) {
      order_.resize(static_cast<size_t>(n));
      shuffle_order(seed_, epochs_shuffled, order_.data(), n);
      order = order_.data();
    }
    ++epochs_shuffled;
  }
  const bool fz = fused(loss_);
  const index_t per = 1 + static_cast<index_t>(metrics_.size());
  double* slots = reserve_slots(steps * per);
  SlotSums sums(*backend_, slots_, batch_size, n, metrics_.size());
  index_t seen = 0;
  static const BatchHook no_hook;
  HookSchedule hook_due(train ? train->hook : no_hook, steps);
  DataFeed::Pass pass(feed_, d, input_width(), batch_size, order, gather_space());
  const NanWatch watch = train ? nan_watch : NanWatch::Off;
  for (index_t b = 0; b < steps; ++b) {
    const index_t start = b * batch_size, rows = std::min(batch_size, n - start);
    score_batch(pass.batch(start, rows), rows, train != nullptr, fz, slots + b * per);
    const bool bad = watch != NanWatch::Off && !batch_loss_finite(slots + b * per);
    if (train && !(bad && watch == NanWatch::Restore)) {
      if (watch == NanWatch::Restore) keep_params();
      backward(loss_);
      apply_update(train->lrs ? train->lrs[b] : train->lr);
    }
    seen += rows;
    ++st.batches;
    if (bad) {
      st.stopped_on_nan = true;
      if (watch == NanWatch::Restore) restore_finite_params();
    }
    // The batch that stops the pass is reported to the hook too (TerminateOnNaN's message).
    if (hook_due.due(b) || (bad && train->hook)) {  // logs asked for: figures come back now
      sums.add_upto(b + 1);
      if (!train->hook(b, sums.loss / static_cast<double>(seen),
                       metric_means(metrics_, sums.metrics, seen, output_width())))
        break;
    }
    if (bad) break;
  }
  pass.finish();
  sums.add_upto(st.batches);  // without a hook: one download for the whole pass
  st.loss = seen ? sums.loss / static_cast<double>(seen) : 0.0;
  st.metrics = metric_means(metrics_, sums.metrics, seen, output_width());
  return st;
}

EpochStats Net::train_epoch(const HostData& h, index_t batch_size, bool shuffle, const float* lrs,
                            double lr, const BatchHook& hook) {
  DeviceData scratch;
  const Training train{shuffle, lrs, lr, hook};
  return run_pass(feed_.open(h, input_width(), &scratch), batch_size, &train);
}

EpochStats Net::evaluate(const HostData& h, index_t batch_size) {
  DeviceData scratch;
  return run_pass(feed_.open(h, input_width(), &scratch), batch_size, nullptr);
}

void Net::fit(const HostData& h, index_t batch_size, index_t epochs, bool shuffle, const float* lrs,
              double lr, const HostData* val, index_t val_batch_size,
              std::vector<EpochStats>* train_out, std::vector<EpochStats>* val_out) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  DeviceData scratch, val_scratch;
  const DeviceData& d = feed_.open(h, input_width(), &scratch);
  const DeviceData* dv = val ? &feed_.open(*val, input_width(), &val_scratch) : nullptr;
  const index_t steps = ceil_div(h.n, batch_size);
  for (index_t e = 0; e < epochs; ++e) {
    const Training train{shuffle, lrs ? lrs + e * steps : nullptr, lr, BatchHook{}};
    train_out->push_back(run_pass(d, batch_size, &train));
    if (dv) val_out->push_back(run_pass(*dv, val_batch_size, nullptr));
    if (train_out->back().stopped_on_nan) break;  // after the epoch's validation, as Keras
  }
}

void Net::predict(const float* X, index_t n, index_t batch_size, float* out_host) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  if (n <= 0) return;
  reserve(std::min(batch_size, n));
  HostData h;
  h.X = X;
  h.n = n;
  DeviceData scratch;
  const DeviceData& d = feed_.open(h, input_width(), &scratch);
  DataFeed::Pass pass(feed_, d, input_width(), batch_size, nullptr, gather_space(), output_width(),
                      out_host);
  for (index_t start = 0; start < n; start += batch_size) {
    const index_t rows = std::min(batch_size, n - start);
    const Batch batch = pass.batch(start, rows);
    forward_into(batch.x, rows, false, batch.out);
  }
  pass.finish();
  last_rows_ = 0;  // the workspace no longer holds a forward that loss/backward could use
}

}  // namespace fusednet
