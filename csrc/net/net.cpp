// Net: forward / loss / backward / optimizer step of a layer stack over arenas, on any backend.
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
#include "net/optim_update.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>

#include "kernels/math/hash.h"
#include "runtime/cuda_memory.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

// A CUDA net checks for a usable device (RuntimeError) before its specs (ValueError).
std::vector<DenseSpec> device_checked(Device device, std::vector<DenseSpec> layers) {
  if (device != Device::Cpu) make_backend(device);
  return layers;
}

// The running loss (each batch's mean weighted by its rows) and metric states of a pass, from the
// per-batch slots (1 + the metrics' state doubles a batch), added in batch order. Batch b writes
// slot b % window: a pass with more batches than the window (wide metric states, e.g. a
// multi-label AUC) brings the slots back whenever they are all used (kMaxSlotBytes).
constexpr std::size_t kMaxSlotBytes = std::size_t{64} << 20;

struct SlotSums {
  Backend& backend;
  const Buffer& slots;
  index_t batch_size, n, per, window;
  double loss = 0.0;
  std::vector<double> metrics;
  index_t summed = 0;  // batches added so far
  std::vector<double> got;
  const std::vector<index_t>* rows_of = nullptr;  // each batch's rows (data-parallel plans)
  SlotSums(Backend& be, const Buffer& s, index_t bs, index_t n_rows, index_t state_width,
           index_t window_)
      : backend(be), slots(s), batch_size(bs), n(n_rows), per(1 + state_width), window(window_),
        metrics(static_cast<std::size_t>(state_width), 0.0) {}
  double* slot(index_t b) const { return slots.as<double>() + (b % window) * per; }
  // Brings back the slots of batches [summed, upto) and adds them.
  void add_upto(index_t upto) {
    while (summed < upto) {
      const index_t first = summed % window, count = std::min(upto - summed, window - first);
      got.resize(static_cast<std::size_t>(count * per));
      backend.download(got.data(), slots.as<double>() + first * per, sizeof(double) * got.size());
      for (index_t b = summed; b < summed + count; ++b) {
        const double* s = got.data() + (b - summed) * per;
        const index_t rows = rows_of ? (*rows_of)[static_cast<std::size_t>(b)]
                                     : std::min(batch_size, n - b * batch_size);
        loss += s[0] * static_cast<double>(rows);
        for (std::size_t m = 0; m < metrics.size(); ++m) metrics[m] += s[1 + m];
      }
      summed += count;
    }
  }
};

}  // namespace

Net::Net(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed, Device device)
    : NetSpec(device_checked(device, std::move(layers)), input_dropout, seed),
      backend_(make_backend(device)), feed_(*backend_) {
  params_ = backend_->alloc(sizeof(float) * static_cast<std::size_t>(num_params_));
  grads_ = backend_->alloc(sizeof(float) * static_cast<std::size_t>(num_params_));
  stats_ = backend_->alloc(sizeof(float) * static_cast<std::size_t>(num_stats_));
  size_layer_lists();
}

void Net::size_layer_lists() {
  z_.resize(layers_.size());
  a_.resize(layers_.size());
  dz_.resize(layers_.size());
  drop_.resize(layers_.size());
  norm_.resize(layers_.size());
  inputs_.assign(layers_.size(), nullptr);
}

// ---- readers ------------------------------------------------------------------------------------

Net::Net(Net& owner, ReaderOf)
    : NetSpec(owner), backend_(make_backend(owner.device())), feed_(*backend_) {
  shared_params_ = owner.params();
  shared_stats_ = owner.stats();
  feed_.max_resident_bytes = owner.feed_.max_resident_bytes;
  feed_.stream_chunk_bytes = owner.feed_.stream_chunk_bytes;
  size_layer_lists();
  upload_metric_thresholds();
}

std::unique_ptr<Net> Net::make_reader() { return std::unique_ptr<Net>(new Net(*this, ReaderOf{})); }

// ---- arenas and the optimizer -------------------------------------------------------------------

float* Net::optimizer_state(int i) {
  FN_CHECK(i >= 0 && i < num_optimizer_states(), "optimizer state ", i, " does not exist");
  return states_[static_cast<std::size_t>(i)].as<float>();
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
void Net::get_stats(float* host) {
  backend_->download(host, stats(), sizeof(float) * static_cast<std::size_t>(num_stats_));
}
void Net::set_stats(const float* host) {
  backend_->upload(stats(), host, sizeof(float) * static_cast<std::size_t>(num_stats_));
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
  check_optimizer_variables(spec, num_params_, num_layers());
  optimizer_state_count(spec);  // a kind that is not an OptimKind raises here
  optim_ = spec;
  has_optim_ = true;
  step = 0;
  states_.clear();
  std::vector<float*> arenas;
  for (int i = 0; i < num_optimizer_states(); ++i) {
    states_.push_back(backend_->alloc(params_.bytes()));
    arenas.push_back(states_.back().as<float>());
  }
  optim_plan_ = make_optimizer_plan(spec, num_params_, std::move(arenas));
  if (spec.kind == OptimKind::Adagrad && num_params_ > 0) {  // Keras's initial accumulator
    std::vector<float> init(
        static_cast<std::size_t>(num_params_),
        optmath::f32_coeff(spec.initial_accumulator, "initial_accumulator_value"));
    backend_->upload(states_[0].data(), init.data(), params_.bytes());
  }
}

void Net::apply_update(double lr) {
  FN_CHECK(!shared_params_, "a reader net does not train");
  FN_CHECK(has_optim_, "no optimizer: compile the model or call an optimizer first");
  optimizer_apply(*backend_, optim_, params(), grads(), optim_plan_, step, lr);
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
    norm_[k] = floats(w.norm);
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
  std::uint64_t key =
      nethash::stream_key(seed_, nethash::kPurposeDropout, static_cast<std::uint64_t>(counter),
                          static_cast<std::uint64_t>(site));
  // A data-parallel rank's rows start at row dp_first_row_ of the global batch: the mask of
  // element i is one process's mask of element first * cols + i, and uniform01(key, j + i) is
  // uniform01(key + j * step, i) (kernels/math/hash.h), so the offset folds into the key.
  if (dp_)
    key += static_cast<std::uint64_t>(dp_first_row_) * static_cast<std::uint64_t>(cols) *
           nethash::kIndexStep;
  backend_->dropout(src, dst, rows * cols, rate, key);
}

BatchNormArgs Net::norm_args(index_t i, bool training) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  BatchNormArgs a;
  a.mode = L.kind == LayerKind::Normalization ? NormMode::Fixed
                                              : (training ? NormMode::Batch : NormMode::Moving);
  a.gamma = w_off_[k] >= 0 ? params() + w_off_[k] : nullptr;
  a.beta = b_off_[k] >= 0 ? params() + b_off_[k] : nullptr;
  a.eps = L.epsilon;
  a.momentum = L.momentum;
  a.mean = norm_[k].as<float>();
  a.invstd = a.mean + L.units;
  a.moving_mean = stats() + s_off_[k];
  a.moving_var = a.moving_mean + L.units;
  return a;
}

void Net::normalize(index_t i, const float* in, float* dst, index_t rows, bool training) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  if (L.kind == LayerKind::LayerNorm) {
    float* mean = norm_[k].as<float>();
    backend_->layer_norm(in, dst, rows, L.units, w_off_[k] >= 0 ? params() + w_off_[k] : nullptr,
                         b_off_[k] >= 0 ? params() + b_off_[k] : nullptr, L.epsilon, mean,
                         mean + cap_);
  } else {
    BatchNormArgs a = norm_args(i, training);
    if (training && syncs_batch_norm(i)) {
      a.batch_stats = sync_batch_stats(i, in, rows);
      a.batch_count = static_cast<double>(sync_rows_);
    }
    backend_->batch_norm(in, dst, rows, L.units, a);
  }
}

const float* Net::pre_activation(index_t i) const {
  const size_t k = static_cast<size_t>(i);
  return layers_[k].kind == LayerKind::Activation ? inputs_[k] : z_[k].as<float>();
}

namespace {
std::atomic<int> g_forward_side_by_side{1};
// Fewer rows than this per half and the hand-over costs more than the second thread saves.
constexpr index_t kSplitMinRows = 16;
}  // namespace

int Net::set_forward_side_by_side(int mode) {
  FN_CHECK(mode >= 0 && mode <= 2, "mode: expected 0, 1 or 2, got ", mode);
  return g_forward_side_by_side.exchange(mode);
}

// A step small enough for the two backward lanes runs its forward as two halves of the rows,
// each through every layer on its own: no layer mixes rows (Dense and Activation only, no
// dropout), so the halves never wait for each other, and every kernel's arithmetic per element
// is the same for any rows (the gemm's paths and the elementwise passes), so the bits are those
// of the whole batch.
bool Net::forward_side_by_side(index_t rows, bool training) const {
  const int mode = g_forward_side_by_side.load(std::memory_order_relaxed);
  if (mode == 0 || rows < 2 * kSplitMinRows || dp_ || !host_memory()) return false;
  if (training && input_dropout_ > 0.f) return false;
  for (const DenseSpec& L : layers_) {
    if (L.kind != LayerKind::Dense && L.kind != LayerKind::Activation) return false;
    if (training && L.dropout_after > 0.f) return false;
  }
  return mode == 2 || backward_side_by_side(rows);
}

// Where layer i's f(x) goes. A Dense gemm's epilogue (or a normalization) applies the
// activation, except where backward needs the pre-activation z (kept, and activated into a by a
// pass after it unless it is the output layer's) and for a row-wise softmax (a pass).
Net::LayerOutput Net::layer_output(index_t i, float* out_final) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  const bool last = i + 1 == num_layers();
  if (last && out_final) {
    const bool fuse = is_elementwise(L.act);
    return {out_final, fuse ? nullptr : out_final, fuse};
  }
  if (needs_z(i)) return {z_[k].as<float>(), last ? nullptr : a_[k].as<float>(), false};
  return {a_[k].as<float>(), nullptr, true};
}

// Rows [r0, r0 + rows) of layer i (Dense or Activation) from its input `in` (all rows).
void Net::forward_rows(index_t i, const float* in, index_t r0, index_t rows, float* out_final) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  const bool last = i + 1 == num_layers();
  const index_t width = L.kind == LayerKind::Dense ? L.in : L.units;
  in += r0 * width;
  const auto rows_of = [&](float* base) { return base ? base + r0 * L.units : nullptr; };
  if (L.kind == LayerKind::Activation) {
    // f is the identity: z is the input itself (pre_activation), nothing to keep.
    float* out = rows_of(last ? out_final : a_[k].as<float>());
    if (!out) return;
    if (L.act == Activation::Linear) {
      backend_->copy(out, in, sizeof(float) * static_cast<std::size_t>(rows * L.units));
    } else {
      backend_->activate(L.act, L.act_param, in, out, rows, L.units);
    }
    return;
  }
  const LayerOutput o = layer_output(i, out_final);
  float* dst = rows_of(o.dst);
  float* activated = rows_of(o.activated);
  Epilogue ep;
  ep.bias = L.use_bias ? params() + b_off_[k] : nullptr;
  if (o.fuse) {
    ep.act = L.act;
    ep.act_param = L.act_param;
  }
  backend_->gemm(rows, L.units, L.in, in, L.in, 1, params() + w_off_[k], L.units, 1, dst, ep);
  if (activated) backend_->activate(L.act, L.act_param, dst, activated, rows, L.units);
}

void Net::forward_into(const float* x, index_t rows, bool training, float* out_final) {
  const std::int64_t counter = training ? train_forwards++ : 0;
  const index_t nl = num_layers();
  if (forward_side_by_side(rows, training)) {
    const float* in = x;
    for (index_t i = 0; i < nl; ++i) {
      inputs_[static_cast<size_t>(i)] = in;
      in = a_[static_cast<size_t>(i)].as<float>();
    }
    // Two halves, claimed by whichever thread is free (the second may never join).
    parallel_for(rows, ceil_div(rows, index_t{2}), 2, [&](index_t r0, index_t r1) {
      for (index_t i = 0; i < nl; ++i)
        forward_rows(i, inputs_[static_cast<size_t>(i)], r0, r1 - r0, out_final);
    });
  } else {
    const float* in = x;
    if (training && input_dropout_ > 0.f) {
      dropout(x, xin_.as<float>(), rows, input_width(), input_dropout_, 0, counter);
      in = xin_.as<float>();
    }
    for (index_t i = 0; i < nl; ++i) {
      const DenseSpec& L = layers_[static_cast<size_t>(i)];
      const size_t k = static_cast<size_t>(i);
      inputs_[k] = in;
      if (L.kind == LayerKind::Dense || L.kind == LayerKind::Activation) {
        forward_rows(i, in, 0, rows, out_final);
      } else {
        const LayerOutput o = layer_output(i, out_final);
        normalize(i, in, o.dst, rows, training);
        if (L.act != Activation::Linear) {
          float* out = o.activated ? o.activated : o.dst;  // elementwise after a kept z: in place
          if (o.activated || o.fuse)
            backend_->activate(L.act, L.act_param, o.dst, out, rows, L.units);
        }
      }
      if (i + 1 < nl) {
        in = a_[k].as<float>();
        if (training && L.dropout_after > 0.f) {
          dropout(in, drop_[k].as<float>(), rows, L.units, L.dropout_after, i + 1, counter);
          in = drop_[k].as<float>();
        }
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
  const float* z = pre_activation(num_layers() - 1);
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
  const float* input = fused(spec) ? pre_activation(num_layers() - 1) : output_activation();
  backend_->loss(spec, fused(spec), input, t, sw, output_grad(), last_rows_, output_width(),
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

namespace {
// 0: narrow Dense layers' gradients by gemm; 1: their dW in one pass (dense_grad_narrow);
// 2: also their input's delta with the previous layer's derivative in that pass (the default).
std::atomic<int> g_narrow_grads{2};

bool has_activity_regularizer(const OptimSpec& o, index_t layer) {
  for (std::size_t i = 0; i < o.activity_regularizers.size(); i += 3)
    if (static_cast<index_t>(o.activity_regularizers[i]) == layer) return true;
  return false;
}
}  // namespace

int Net::set_narrow_dense_grads(int mode) {
  FN_CHECK(mode >= 0 && mode <= 2, "mode: expected 0, 1 or 2, got ", mode);
  return g_narrow_grads.exchange(mode);
}

void Net::dense_param_grads(index_t i, index_t rows, int half) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  const float* dz = dz_[k].as<float>();
  float* dw = w_off_[k] >= 0 ? grads() + w_off_[k] : nullptr;
  // Half 0 or 1: rows [r0, r1) of dW, each element's arithmetic the whole product's.
  const index_t r0 = half == 1 ? L.in / 2 : 0, r1 = half == 0 ? L.in / 2 : L.in;
  const bool narrow = half < 0 && dw && g_narrow_grads.load(std::memory_order_relaxed) >= 1 &&
                      backend_->dense_grad_narrow(inputs_[k], dz, nullptr, dw, nullptr,
                                                  Activation::Linear, 0.0f, rows, L.in, L.units);
  // dW = x^T @ dz: x (rows, in) read as (in, rows) through strides (1, in).
  if (!narrow && dw)
    backend_->gemm(r1 - r0, L.units, rows, inputs_[k] + r0, 1, L.in, dz, L.units, 1,
                   dw + r0 * L.units, Epilogue{});
  if (half <= 0 && b_off_[k] >= 0) backend_->bias_grad(dz, grads() + b_off_[k], rows, L.units);
}

void Net::dense_input_grad(index_t i, index_t rows, float* dx) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  // dx = dz @ W^T: W (in, units) read as (units, in) through strides (1, units).
  backend_->gemm(rows, L.in, L.units, dz_[k].as<float>(), L.units, 1, params() + w_off_[k], 1,
                 L.units, dx, Epilogue{});
}

// A narrow Dense layer i's dW, its input's delta finished with layer i - 1's derivative (from
// its output, which is this layer's input: no dropout or activity regularizer between) in one
// pass, then db. False, nothing done, where that does not apply.
bool Net::dense_backward_fused(index_t i, index_t rows, float* dprev) {
  if (i == 0 || !dprev || g_narrow_grads.load(std::memory_order_relaxed) < 2) return false;
  const size_t k = static_cast<size_t>(i);
  const DenseSpec& L = layers_[k];
  const DenseSpec& P = layers_[k - 1];
  if (L.kind != LayerKind::Dense || w_off_[k] < 0) return false;
  if ((last_training_ && P.dropout_after > 0.f) || inputs_[k] != a_[k - 1].as<float>())
    return false;
  if (has_optim_ && has_activity_regularizer(optim_, i - 1)) return false;
  if (!backward_from_output(P.act, P.act_param)) return false;  // (Linear's is 1)
  const float* dz = dz_[k].as<float>();
  if (!backend_->dense_grad_narrow(inputs_[k], dz, params() + w_off_[k], grads() + w_off_[k], dprev,
                                   P.act, P.act_param, rows, L.in, L.units))
    return false;
  if (b_off_[k] >= 0) backend_->bias_grad(dz, grads() + b_off_[k], rows, L.units);
  return true;
}

void Net::layer_backward(index_t i, index_t rows, float* dx) {
  const DenseSpec& L = layers_[static_cast<size_t>(i)];
  const size_t k = static_cast<size_t>(i);
  float* dz = dz_[k].as<float>();
  float* dgamma = w_off_[k] >= 0 ? grads() + w_off_[k] : nullptr;
  float* dbeta = b_off_[k] >= 0 ? grads() + b_off_[k] : nullptr;
  switch (L.kind) {
    case LayerKind::Dense:
      dense_param_grads(i, rows);
      if (dx) dense_input_grad(i, rows, dx);
      break;
    case LayerKind::Activation:
      if (dx) backend_->copy(dx, dz, sizeof(float) * static_cast<std::size_t>(rows * L.units));
      break;
    case LayerKind::LayerNorm: {
      const float* mean = norm_[k].as<float>();
      backend_->layer_norm_grad(dz, inputs_[k], dx ? dx : dz, rows, L.units,
                                w_off_[k] >= 0 ? params() + w_off_[k] : nullptr, mean, mean + cap_,
                                dgamma, dbeta);
      break;
    }
    case LayerKind::BatchNorm:
    case LayerKind::Normalization: {
      if (!dx && !dgamma && !dbeta) break;  // (so does a rank without rows: no sync)
      BatchNormArgs a = norm_args(i, last_training_);
      if (last_training_ && syncs_batch_norm(i)) a.grad_means = sync_grad_means(i, dz, rows, a);
      backend_->batch_norm_grad(dz, inputs_[k], dx ? dx : dz, rows, L.units, a, dgamma, dbeta);
      break;
    }
  }
}

void Net::backward(const LossSpec& spec) {
  const index_t rows = last_rows_, nl = num_layers();
  // The output delta is w.r.t. the loss input: the logits when fused, else the output h.
  const DenseSpec& out = layers_.back();
  if (!fused(spec) && out.act != Activation::Linear)
    backend_->activation_grad(out.act, out.act_param, output_grad(), pre_activation(nl - 1),
                              output_grad(), rows, out.units, false);
  if (backward_side_by_side(rows)) {
    backward_two_lanes(rows);
    return;
  }
  for (index_t i = nl - 1; i >= 0; --i) {
    float* dprev = i > 0 ? dz_[static_cast<size_t>(i) - 1].as<float>() : nullptr;
    const bool fused = dense_backward_fused(i, rows, dprev);
    if (!fused) layer_backward(i, rows, dprev);
    if (reducing_) reduce_layer(i, grad_scale_);
    if (i > 0 && !fused) finish_delta(i, rows, dprev);
  }
}

void Net::finish_delta(index_t i, index_t rows, float* dprev) {
  const size_t k = static_cast<size_t>(i);
  const DenseSpec& P = layers_[k - 1];
  if (last_training_ && P.dropout_after > 0.f)
    dropout(dprev, dprev, rows, P.units, P.dropout_after, i, last_counter_);
  if (has_optim_)
    add_activity_grad(*backend_, optim_, i - 1, a_[k - 1].as<float>(), dprev, rows, P.units);
  if (P.act == Activation::Linear) return;  // act' = 1
  const bool from_output = backward_from_output(P.act, P.act_param);
  backend_->activation_grad(P.act, P.act_param, dprev,
                            from_output ? a_[k - 1].as<float>() : pre_activation(i - 1), dprev,
                            rows, P.units, from_output);
}

namespace {
std::atomic<int> g_side_by_side{1};
}  // namespace

int Net::set_backward_side_by_side(int mode) {
  FN_CHECK(mode >= 0 && mode <= 2, "mode: expected 0, 1 or 2, got ", mode);
  return g_side_by_side.exchange(mode);
}

// Small steps on a CPU with two threads: a second thread computes the Dense layers' dW and db
// while the caller runs the chain of deltas (each kernel then runs on one thread, as it would
// anyway). Not in a data-parallel step (its collectives keep the layer order).
bool Net::backward_side_by_side(index_t rows) const {
  const int mode = g_side_by_side.load(std::memory_order_relaxed);
  if (mode == 0 || dp_ || reducing_ || !host_memory() || num_layers() < 2) return false;
  if (mode == 2) return true;
  double work = 0.0;
  index_t elems = 0;
  for (const DenseSpec& L : layers_) {
    work = std::max(
        work, static_cast<double>(rows) * static_cast<double>(L.in) * static_cast<double>(L.units));
    elems = std::max(elems, rows * std::max(L.in, L.units));
  }
  return backend_->side_by_side(work, elems);
}

// Two lanes: worker 0 (always the caller) runs the deltas from the last layer down, layer by
// layer as before; the Dense layers' parameter gradients are tasks in the same layer order,
// each runnable once its delta is final, claimed by whichever worker is free (the caller takes
// the rest once its chain is done, so a worker that never joins costs nothing).
void Net::backward_two_lanes(index_t rows) {
  const index_t nl = num_layers();
  std::atomic<index_t> final_from{nl - 1};  // deltas of layers >= final_from are final
  std::atomic<index_t> next_task{0};
  std::atomic<bool> failed{false};
  run_team(std::min(2, num_threads()), [&](int worker, int) {
    if (worker == 0) {
      try {
        for (index_t i = nl - 1; i > 0; --i) {
          const size_t k = static_cast<size_t>(i);
          float* dprev = dz_[k - 1].as<float>();
          if (layers_[k].kind == LayerKind::Dense) {
            dense_input_grad(i, rows, dprev);
          } else {
            layer_backward(i, rows, dprev);
          }
          finish_delta(i, rows, dprev);
          final_from.store(i - 1, std::memory_order_release);
        }
        if (layers_[0].kind != LayerKind::Dense) layer_backward(0, rows, nullptr);
      } catch (...) {
        failed.store(true, std::memory_order_release);  // frees a worker waiting for a delta
        throw;
      }
    }
    // A task is claimed only once runnable: the caller, its chain done, then takes the first
    // layer's own (its delta and input are in the caller's cache) unless the worker was free.
    // Two tasks per layer: a gemm's dW in halves of its rows, so the first layer's, which waits
    // for the whole chain, ends on both threads (MNIST-1D: 40 x 100 of 100-deep sums).
    for (index_t t = next_task.load(std::memory_order_relaxed); t < 2 * nl;) {
      const index_t i = nl - 1 - t / 2;
      if (final_from.load(std::memory_order_acquire) > i) {
        if (failed.load(std::memory_order_acquire)) return;
        cpu_relax();
        t = next_task.load(std::memory_order_relaxed);
        continue;
      }
      if (!next_task.compare_exchange_weak(t, t + 1, std::memory_order_relaxed)) continue;
      const DenseSpec& L = layers_[static_cast<size_t>(i)];
      // (in * units <= 16 may take dense_grad_narrow's one pass: whole)
      if (L.kind == LayerKind::Dense && L.in >= 2 && L.in * L.units > 16) {
        dense_param_grads(i, rows, static_cast<int>(t % 2));
      } else if (L.kind == LayerKind::Dense && t % 2 == 0) {
        dense_param_grads(i, rows);
      }
      t = next_task.load(std::memory_order_relaxed);
    }
  });
}

// ---- metrics ------------------------------------------------------------------------------------

void Net::compile(const LossSpec& loss, std::vector<MetricSpec> metrics) {
  NetSpec::compile(loss, std::move(metrics));
  upload_metric_thresholds();
}

// The compiled metrics' thresholds in this net's backend memory (a reader net has its own).
void Net::upload_metric_thresholds() {
  metric_thresholds_.clear();
  for (const MetricSpec& m : metrics_) {
    Buffer b;
    if (!m.thresholds.empty() && !metric_is_row_sum(m.kind)) {
      b = backend_->alloc(sizeof(float) * m.thresholds.size());
      backend_->upload(b.data(), m.thresholds.data(), sizeof(float) * m.thresholds.size());
    }
    metric_thresholds_.push_back(std::move(b));
  }
}

// Each compiled metric's state over this batch into its slots (metric_state_width doubles each).
void Net::metrics_into(const Targets& t, index_t rows, bool fused_logits, double* slots) {
  for (size_t m = 0; m < metrics_.size(); ++m) {
    const MetricSpec& spec = metrics_[m];
    const MetricKind kind = spec.kind;
    if (!metric_is_row_sum(kind)) {  // vector states read the model's output, as Keras's
      metricmath::MetricParams p;
      p.kind = static_cast<int>(kind);
      p.top_k = spec.top_k;
      p.class_id = spec.class_id;
      p.num_thresholds = static_cast<int>(spec.thresholds.size());
      p.thresholds = metric_thresholds_[m].as<float>();
      p.evenly = spec.evenly;
      p.with_epsilon = spec.with_epsilon;
      p.multi_label = spec.multi_label;
      p.from_logits = spec.from_logits;
      p.has_threshold = spec.has_threshold;
      p.threshold = spec.threshold;
      const index_t width = metric_state_width(spec, output_width());
      backend_->metric_state(p, output_activation(), t, rows, output_width(),
                             row_metric_.as<double>(), slots, width);
      slots += width;
      continue;
    }
    const bool accuracy = kind == MetricKind::BinaryAccuracy ||
                          kind == MetricKind::SparseAccuracy ||
                          kind == MetricKind::CategoricalAccuracy;
    // sigmoid(z) > 0.5 <=> z > 0 and argmax(softmax(z)) = argmax(z): accuracies read the logits.
    // BinaryAccuracy(threshold != 0.5) compares the probabilities.
    const bool logits =
        accuracy && fused_logits && (kind != MetricKind::BinaryAccuracy || spec.threshold == 0.5f);
    const float* p = logits ? pre_activation(num_layers() - 1) : output_activation();
    const float threshold =
        logits ? 0.f : (kind == MetricKind::BinaryAccuracy ? spec.threshold : 0.5f);
    backend_->metric(kind, p, threshold, t, rows, output_width(), row_metric_.as<double>(), slots,
                     spec.k);
    slots += 1;
  }
}

// ---- data sets ----------------------------------------------------------------------------------

// Forward, loss and metrics of one batch; its loss and metric sums into slots[0 .. metrics].
void Net::score_batch(const Batch& b, index_t rows, bool training, bool fused_logits,
                      double* slots) {
  forward_into(b.x, rows, training, nullptr);
  loss_into(b.y, b.sw, loss_, slots);
  if (has_optim_) add_regularization_loss(*backend_, optim_, params(), slots, a_, layers_, rows);
  if (!metrics_.empty()) metrics_into(b.y, rows, fused_logits, slots + 1);
}

void Net::require_compiled() const { FN_CHECK(compiled_, "no loss: compile the model first"); }

// ---- data-parallel steps ------------------------------------------------------------------------

void Net::reduce_range(index_t offset, index_t count, double scale) {
  float* host = grads() + offset;
  if (!host_memory()) {  // staged through host memory
    if (!stage_.data()) {
#ifdef FUSEDNET_WITH_CUDA
      stage_ = HostBuffer(params_.bytes());
#endif
      FN_CHECK(stage_.data(), "data-parallel: no host staging for this device");
    }
    host = stage_.as<float>() + offset;
    if (scale != 0.0)
      backend_->download(host, grads() + offset, sizeof(float) * static_cast<std::size_t>(count));
  }
  dp_->reduce(host, offset, count, scale);
}

void Net::reduce_layer(index_t i, double scale) {
  const index_t begin = p_off_[static_cast<std::size_t>(i)];
  const index_t end = p_off_[static_cast<std::size_t>(i + 1)];
  if (end > begin) reduce_range(begin, end - begin, scale);  // the same on every rank
}

bool Net::syncs_batch_norm(index_t i) const {
  return dp_ && sync_rows_ > 0 && layers_[static_cast<std::size_t>(i)].kind == LayerKind::BatchNorm;
}

// The two passes of one process's statistics (the sum, then the squares about the mean), each
// summed over the ranks; the kernels do one process's arithmetic on the sums (a.batch_count).
const double* Net::sync_batch_stats(index_t i, const float* in, index_t rows) {
  const index_t c = layers_[static_cast<std::size_t>(i)].units;
  const std::size_t bytes = sizeof(double) * static_cast<std::size_t>(c);
  if (bn_sync_.bytes() < 2 * bytes) bn_sync_ = backend_->alloc(2 * bytes);
  double* dev = bn_sync_.as<double>();
  bn_host_.assign(static_cast<std::size_t>(2 * c), 0.0);
  double* h = bn_host_.data();
  const double count = static_cast<double>(sync_rows_);
  if (rows > 0) {
    backend_->batch_norm_stat_sums(in, rows, c, nullptr, count, dev);
    backend_->download(h, dev, bytes);
  }
  dp_->sum(h, c);
  if (rows > 0) {
    backend_->upload(dev, h, bytes);
    backend_->batch_norm_stat_sums(in, rows, c, dev, count, dev + c);
    backend_->download(h + c, dev + c, bytes);
  }
  dp_->sum(h + c, c);
  backend_->upload(dev, h, 2 * bytes);
  return dev;
}

// This rank's delta is the global batch's divided by grad_scale_ (its loss is a mean over its own
// rows): the sums go over the ranks in the global scale, the means come back in this rank's.
const double* Net::sync_grad_means(index_t i, const float* dz, index_t rows,
                                   const BatchNormArgs& a) {
  const index_t c = layers_[static_cast<std::size_t>(i)].units;
  const std::size_t bytes = sizeof(double) * static_cast<std::size_t>(2 * c);
  if (bn_sync_.bytes() < bytes) bn_sync_ = backend_->alloc(bytes);
  double* dev = bn_sync_.as<double>();
  bn_host_.assign(static_cast<std::size_t>(2 * c), 0.0);
  double* h = bn_host_.data();
  if (rows > 0) {
    backend_->batch_norm_grad_sums(dz, inputs_[static_cast<std::size_t>(i)], rows, c, a, dev);
    backend_->download(h, dev, bytes);
    for (index_t j = 0; j < 2 * c; ++j) h[j] *= grad_scale_;
  }
  if (reducing_) dp_->wait();  // the overlapped gradient sums first: one collective at a time
  dp_->sum(h, 2 * c);
  if (rows > 0) {
    const double inv_n = 1.0 / static_cast<double>(sync_rows_);
    for (index_t j = 0; j < 2 * c; ++j) h[j] = h[j] * inv_n / grad_scale_;
    backend_->upload(dev, h, bytes);
  }
  return dev;
}

// A step without rows of this rank: the BatchNorm layers' forward sums (and the same moving
// statistics as every rank) in layer order.
void Net::idle_forward() {
  for (index_t i = 0; i < num_layers(); ++i) {
    if (!syncs_batch_norm(i)) continue;
    BatchNormArgs a = norm_args(i, true);
    a.batch_stats = sync_batch_stats(i, nullptr, 0);
    a.batch_count = static_cast<double>(sync_rows_);
    backend_->batch_norm(nullptr, nullptr, 0, layers_[static_cast<std::size_t>(i)].units, a);
  }
}

// Backward on this rank's `rows` of a global batch of `global_rows` (0 rows: no gradient of its
// own), then the gradient arena summed over the ranks: the mean over the global batch.
void Net::data_parallel_backward(index_t rows, index_t global_rows) {
  grad_scale_ = rows > 0 ? static_cast<double>(rows) / static_cast<double>(global_rows) : 0.0;
  {
    struct Reducing {  // reset also when a hook raises
      const DataParallel*& r;
      ~Reducing() { r = nullptr; }
    } guard{reducing_ = dp_->overlap ? dp_ : nullptr};
    if (rows > 0) {
      backward(loss_);
    } else {  // backward's collectives in its order, with zeros
      for (index_t i = num_layers() - 1; i >= 0; --i) {
        const std::size_t k = static_cast<std::size_t>(i);
        if (syncs_batch_norm(i) && (i > 0 || w_off_[k] >= 0 || b_off_[k] >= 0))
          sync_grad_means(i, nullptr, 0, BatchNormArgs{});
        if (reducing_) reduce_layer(i, 0.0);
      }
    }
  }
  if (!dp_->overlap) reduce_range(0, num_params_, grad_scale_);
  dp_->wait();
  if (!host_memory()) backend_->upload(grads(), stage_.data(), params_.bytes());
}

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
  last_state_.assign(static_cast<std::size_t>(metric_state_total()), 0.0);
  last_rows_seen_ = 0;
  // Data-parallel: this rank's rows of every global batch (agreed with the other ranks, so even
  // a rank without samples takes part in every step).
  DataParallel::Plan plan;
  if (dp_) {
    plan = dp_->plan(n, batch_size);
    index_t most = 1;
    for (index_t r : plan.rows) most = std::max(most, r);
    batch_size = most;  // the feed's batch (all a step reads is within rows [start, start + most))
  } else if (n <= 0) {
    st.metrics = metric_results(metrics_, last_state_.data(), 0.0, output_width());
    return st;
  }
  reserve(std::min(batch_size, std::max<index_t>(n, 1)));
  const index_t steps = dp_ ? static_cast<index_t>(plan.rows.size()) : ceil_div(n, batch_size);
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
  const index_t per = 1 + metric_state_total();
  const index_t window = std::max<index_t>(
      1, std::min<index_t>(steps, static_cast<index_t>(kMaxSlotBytes / (sizeof(double) * per))));
  reserve_slots(window * per);
  SlotSums sums(*backend_, slots_, batch_size, n, metric_state_total(), window);
  if (dp_) sums.rows_of = &plan.rows;
  const std::vector<double> no_slots(static_cast<std::size_t>(per), 0.0);
  index_t seen = 0;
  static const BatchHook no_hook;
  HookSchedule hook_due(train ? train->hook : no_hook, steps);
  DataFeed::Pass pass(feed_, d, input_width(), batch_size, order, gather_space());
  const NanWatch watch = train ? nan_watch : NanWatch::Off;
  for (index_t b = 0; b < steps; ++b) {
    const std::size_t k = static_cast<std::size_t>(b);
    const index_t start = dp_ ? plan.start[k] : b * batch_size;
    const index_t rows = dp_ ? plan.rows[k] : std::min(batch_size, n - start);
    if (b - sums.summed >= window) sums.add_upto(b);  // every slot in use: bring them back
    if (dp_) {
      dp_first_row_ = plan.first[k];
      sync_rows_ = train && has_batch_norm() ? plan.global_rows[k] : 0;  // BatchNorm syncs
    }
    if (rows > 0) {
      score_batch(pass.batch(start, rows), rows, train != nullptr, fz, sums.slot(b));
    } else {  // a data-parallel rank without rows in this step: it adds nothing
      backend_->upload(sums.slot(b), no_slots.data(), sizeof(double) * no_slots.size());
      if (train) {
        ++train_forwards;  // the counters stay the same on every rank
        if (sync_rows_ > 0) idle_forward();
      }
    }
    const bool bad = watch != NanWatch::Off && !batch_loss_finite(sums.slot(b));
    if (train && !(bad && watch == NanWatch::Restore)) {
      if (watch == NanWatch::Restore) keep_params();
      if (dp_) {
        data_parallel_backward(rows, plan.global_rows[k]);
      } else {
        backward(loss_);
      }
      add_regularization_grad(*backend_, optim_, params(), grads());
      apply_update(train->lrs ? train->lrs[b] : train->lr);
    }
    seen += rows;
    ++st.batches;
    bool stop = bad;
    if (bad) {
      st.stopped_on_nan = true;
      if (watch == NanWatch::Restore) restore_finite_params();
    }
    // The batch that stops the pass is reported to the hook too (TerminateOnNaN's message).
    if (hook_due.due(b) || (bad && train->hook)) {  // logs asked for: figures come back now
      sums.add_upto(b + 1);
      const index_t so_far = std::max<index_t>(seen, 1);  // a rank's own rows so far
      stop = !train->hook(b, sums.loss / static_cast<double>(so_far),
                          metric_results(metrics_, sums.metrics.data(), static_cast<double>(so_far),
                                         output_width())) ||
             bad;
    }
    if (train && dp_ && dp_->any_stop) stop = dp_->any_stop(stop);  // all ranks stop together
    if (stop) break;
  }
  pass.finish();
  sync_rows_ = 0;
  sums.add_upto(st.batches);  // without a hook: one download for the whole pass
  if (dp_) {  // the pass's sums over every rank's rows
    std::vector<double> v{sums.loss};
    v.insert(v.end(), sums.metrics.begin(), sums.metrics.end());
    v.push_back(static_cast<double>(seen));
    dp_->sum(v.data(), static_cast<index_t>(v.size()));
    sums.loss = v[0];
    std::copy(v.begin() + 1, v.end() - 1, sums.metrics.begin());
    seen = static_cast<index_t>(v.back());
  }
  st.loss = seen ? sums.loss / static_cast<double>(seen) : 0.0;
  st.metrics =
      metric_results(metrics_, sums.metrics.data(), static_cast<double>(seen), output_width());
  last_state_ = sums.metrics;
  last_rows_seen_ = seen;
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
