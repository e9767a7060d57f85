// NetCuda: Net's forward / loss / backward / optimizer step on device arenas. See net_cuda.h.
//
// Every method mirrors the Net method of the same name line for line (net.cpp), with each CPU
// kernel replaced by its CUDA launcher (cuda_kernels.h) on device pointers. Kept deliberately
// plain: no streams besides the default one, no overlap, no clever kernels -- the speed comes from
// the launchers and from never synchronising with the host inside an epoch.
#ifdef FUSEDNET_WITH_CUDA

#include "net/net_cuda.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "runtime/cuda_device.h"
#include "runtime/isa.h"
#include "runtime/precision.h"
#include "net/spec.h"
#include "kernels/math/hash.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

using nethash::stream_key;

// The constructor's first check: a usable device (RuntimeError) before the specs' ValueErrors.
std::vector<DenseSpec> on_cuda_device(std::vector<DenseSpec> layers) {
  require_cuda_device();
  return layers;
}

template <typename T>
DeviceBuffer zeroed(index_t n) {
  if (n <= 0) return DeviceBuffer();
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(n);
  DeviceBuffer b(bytes);
  memset_device(b.data(), 0, bytes);
  return b;
}

// Uploads n elements (nothing when n == 0 or src is null).
template <typename T>
DeviceBuffer uploaded(const T* src, index_t n) {
  if (n <= 0 || !src) return DeviceBuffer();
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(n);
  DeviceBuffer b(bytes);
  copy_host_to_device(b.data(), src, bytes);
  return b;
}

// C = A @ B (+ epilogue) with C contiguous (ldc = N); A, B through strides.
void gemm(index_t M, index_t N, index_t K, const float* A, index_t rs_a, index_t cs_a,
          const float* B, index_t rs_b, index_t cs_b, float* C, const Epilogue& ep) {
  gemm_cuda(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, 0.f, C, N, 1, ep,
            float32_matmul_precision_high(), nullptr);
}

void download_doubles(std::vector<double>* host, const DeviceBuffer& src, index_t first,
                      index_t count) {
  host->assign(static_cast<size_t>(count), 0.0);
  if (count <= 0) return;
  copy_device_to_host(host->data(), src.as<double>() + first,
                      sizeof(double) * static_cast<size_t>(count));
  stream_synchronize();
}

}  // namespace

NetCuda::NetCuda(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed)
    : NetSpec(on_cuda_device(std::move(layers)), input_dropout, seed) {
  params_ = zeroed<float>(num_params_);
  grads_ = zeroed<float>(num_params_);
  z_.resize(layers_.size());
  a_.resize(layers_.size());
  dz_.resize(layers_.size());
  drop_.resize(layers_.size());
  inputs_.assign(layers_.size(), nullptr);
}

// ---- host copies of the arenas -------------------------------------------------------------------

namespace {
void to_host(float* host, const DeviceBuffer& b, index_t n) {
  if (n <= 0) return;
  copy_device_to_host(host, b.data(), sizeof(float) * static_cast<size_t>(n));
  stream_synchronize();
}
void to_device(DeviceBuffer& b, const float* host, index_t n) {
  if (n <= 0) return;
  copy_host_to_device(b.data(), host, sizeof(float) * static_cast<size_t>(n));
}
}  // namespace

void NetCuda::get_params(float* host) const { to_host(host, params_, num_params_); }
void NetCuda::set_params(const float* host) { to_device(params_, host, num_params_); }
void NetCuda::get_grads(float* host) const { to_host(host, grads_, num_params_); }
void NetCuda::set_grads(const float* host) { to_device(grads_, host, num_params_); }

void NetCuda::get_optimizer_state(int i, float* host) const {
  FN_CHECK(i >= 0 && i < num_optimizer_states(), "optimizer state ", i, " does not exist");
  to_host(host, i == 0 ? state0_ : state1_, num_params_);
}
void NetCuda::set_optimizer_state(int i, const float* host) {
  FN_CHECK(i >= 0 && i < num_optimizer_states(), "optimizer state ", i, " does not exist");
  to_device(i == 0 ? state0_ : state1_, host, num_params_);
}

// ---- optimizer -----------------------------------------------------------------------------------

void NetCuda::set_optimizer(const OptimSpec& spec) {
  optim_ = spec;
  has_optim_ = true;
  step = 0;
  state0_ = DeviceBuffer();
  state1_ = DeviceBuffer();
  const int states = num_optimizer_states();
  if (states >= 1) state0_ = zeroed<float>(num_params_);
  if (states >= 2) state1_ = zeroed<float>(num_params_);
}

void NetCuda::apply_update(float lr) {
  FN_CHECK(has_optim_, "no optimizer: compile the model or call an optimizer first");
  // The launchers take a trailing stream argument (defaulted), hence the forwarding lambdas.
  optimizer_update(
      optim_, params_.as<float>(), grads_.as<float>(), state0_.as<float>(), state1_.as<float>(),
      num_params_, step, lr, [](auto... a) { sgd_step_cuda(a...); },
      [](auto... a) { adam_step_cuda(a...); });
  ++step;
}

// ---- workspace -----------------------------------------------------------------------------------

void NetCuda::reserve(index_t rows) {
  if (rows <= cap_) return;
  for (index_t i = 0; i < num_layers(); ++i) {
    const LayerWorkspace w = layer_workspace(layers_, i, rows);
    const size_t k = static_cast<size_t>(i);
    z_[k] = zeroed<float>(w.z);
    a_[k] = zeroed<float>(w.a);
    drop_[k] = zeroed<float>(w.drop);
    dz_[k] = zeroed<float>(w.dz);
  }
  const index_t in = input_width(), out = output_width();
  xin_ = zeroed<float>(rows * in);
  yvals_ = zeroed<float>(rows * out);
  out_ = zeroed<float>(rows * out);
  sw_ = zeroed<float>(rows);
  ylabels_ = zeroed<std::int64_t>(rows);
  row_loss_ = zeroed<double>(rows);
  row_metric_ = zeroed<double>(rows);
  if (!loss_scalar_.data()) loss_scalar_ = zeroed<double>(1);
  cap_ = rows;
  out_valid_ = false;
  last_rows_ = 0;
}

// Device doubles for an epoch's per-batch loss and metric sums (count = batches * (1 + metrics)).
double* NetCuda::reserve_slots(index_t count) {
  const std::size_t bytes = sizeof(double) * static_cast<size_t>(count);
  if (slots_.bytes() < bytes) slots_ = DeviceBuffer(bytes);
  return slots_.as<double>();
}

// ---- forward -------------------------------------------------------------------------------------

void NetCuda::dropout(const float* src, float* dst, index_t rows, index_t cols, float rate,
                      index_t site, std::int64_t counter) {
  const std::uint64_t key = stream_key(seed_, nethash::kPurposeDropout,
                                       static_cast<std::uint64_t>(counter),
                                       static_cast<std::uint64_t>(site));
  dropout_mask_cuda(src, dst, rows * cols, rate, key);
}

void NetCuda::forward_into(const float* x, index_t rows, bool training, float* out_final) {
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
    ep.bias = L.use_bias ? params_.as<float>() + b_off_[k] : nullptr;
    const float* W = params_.as<float>() + w_off_[k];
    if (last && out_final) {
      if (L.act == kActSoftmax) {
        gemm(rows, L.units, L.in, in, L.in, 1, W, L.units, 1, z_[k].as<float>(), ep);
        softmax_forward_cuda(z_[k].as<float>(), out_final, rows, L.units, false);
      } else {
        ep.act = static_cast<Activation>(L.act);
        ep.act_param = L.act_param;
        gemm(rows, L.units, L.in, in, L.in, 1, W, L.units, 1, out_final, ep);
      }
    } else if (needs_z(i)) {
      gemm(rows, L.units, L.in, in, L.in, 1, W, L.units, 1, z_[k].as<float>(), ep);
      if (!last)
        activation_forward_cuda(static_cast<Activation>(L.act), L.act_param, z_[k].as<float>(),
                                a_[k].as<float>(), rows * L.units);
    } else {
      ep.act = static_cast<Activation>(L.act);
      ep.act_param = L.act_param;
      gemm(rows, L.units, L.in, in, L.in, 1, W, L.units, 1, a_[k].as<float>(), ep);
    }
    if (!last) {
      in = a_[k].as<float>();
      if (training && L.dropout_after > 0.f) {
        dropout(a_[k].as<float>(), drop_[k].as<float>(), rows, L.units, L.dropout_after, i + 1,
                counter);
        in = drop_[k].as<float>();
      }
    }
  }
  last_rows_ = rows;
  last_training_ = training;
  last_counter_ = counter;
  out_valid_ = false;
}

void NetCuda::forward(const float* x_host, index_t rows, bool training) {
  reserve(rows);
  to_device(xin_, x_host, rows * input_width());
  forward_into(xin_.as<float>(), rows, training, nullptr);
}

const float* NetCuda::output_dev() {
  const DenseSpec& L = layers_.back();
  const float* z = z_.back().as<float>();
  if (L.act == static_cast<int>(Activation::Linear)) return z;
  if (!out_valid_) {
    if (L.act == kActSoftmax)
      softmax_forward_cuda(z, out_.as<float>(), last_rows_, L.units, false);
    else
      activation_forward_cuda(static_cast<Activation>(L.act), L.act_param, z, out_.as<float>(),
                              last_rows_ * L.units);
    out_valid_ = true;
  }
  return out_.as<float>();
}

void NetCuda::output(float* host) {
  const index_t n = last_rows_ * output_width();
  if (n <= 0) return;
  const float* src = output_dev();
  copy_device_to_host(host, src, sizeof(float) * static_cast<size_t>(n));
  stream_synchronize();
}

// ---- loss and backward ---------------------------------------------------------------------------

// The batch's mean loss into *loss_slot (a device double); t and sw are device pointers.
void NetCuda::loss_into(const Targets& t, const float* sw, const LossSpec& spec,
                        double* loss_slot) {
  const index_t rows = last_rows_, cols = output_width();
  const float* input = fused(spec) ? z_.back().as<float>() : output_dev();
  float* d = dz_.back().as<float>();
  double* rl = row_loss_.as<double>();
  switch (spec.kind) {
    case LossKind::MSE:
      mse_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean, rl, loss_slot);
      break;
    case LossKind::BCE:
      binary_cross_entropy_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean, rl,
                                loss_slot);
      break;
    case LossKind::SparseCE:
      softmax_cross_entropy_cuda(input, t.labels, sw, d, rows, cols, Reduction::Mean, rl,
                                 loss_slot);
      break;
    case LossKind::CategoricalCE:
      softmax_cross_entropy_soft_cuda(input, t.values, sw, d, rows, cols, Reduction::Mean, rl,
                                      loss_slot);
      break;
  }
}

double NetCuda::loss(const Targets& t_host, const float* sw_host, const LossSpec& spec) {
  const index_t rows = last_rows_;
  Targets t;
  t.cols = t_host.cols;
  if (t_host.labels) {
    copy_host_to_device(ylabels_.data(), t_host.labels, sizeof(std::int64_t) * rows);
    t.labels = ylabels_.as<std::int64_t>();
  }
  if (t_host.values) {
    to_device(yvals_, t_host.values, rows * t_host.cols);
    t.values = yvals_.as<float>();
  }
  const float* sw = nullptr;
  if (sw_host) {
    to_device(sw_, sw_host, rows);
    sw = sw_.as<float>();
  }
  loss_into(t, sw, spec, loss_scalar_.as<double>());
  std::vector<double> l;
  download_doubles(&l, loss_scalar_, 0, 1);
  return l[0];
}

void NetCuda::get_output_grad(float* host) const {
  to_host(host, dz_.back(), last_rows_ * output_width());
}
void NetCuda::set_output_grad(const float* host) {
  to_device(dz_.back(), host, last_rows_ * output_width());
}

void NetCuda::backward(const LossSpec& spec) {
  const index_t rows = last_rows_, nl = num_layers();
  float* params = params_.as<float>();
  float* grads = grads_.as<float>();
  {
    const DenseSpec& L = layers_.back();
    float* d = dz_.back().as<float>();
    if (!fused(spec) && L.act != static_cast<int>(Activation::Linear)) {
      if (L.act == kActSoftmax)
        softmax_backward_cuda(d, z_.back().as<float>(), d, rows, L.units, false);
      else
        activation_backward_cuda(static_cast<Activation>(L.act), L.act_param, d,
                                 z_.back().as<float>(), d, rows * L.units);
    }
  }
  for (index_t i = nl - 1; i >= 0; --i) {
    const DenseSpec& L = layers_[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i);
    const float* dz = dz_[k].as<float>();
    const float* x = inputs_[k];
    // dW = x^T @ dz: x (rows, in) read as (in, rows) through strides (1, in).
    gemm(L.in, L.units, rows, x, 1, L.in, dz, L.units, 1, grads + w_off_[k], Epilogue{});
    if (L.use_bias) bias_grad_cuda(dz, grads + b_off_[k], rows, L.units);
    if (i == 0) break;
    // dx = dz @ W^T: W (in, units) read as (units, in) through strides (1, units).
    const DenseSpec& P = layers_[k - 1];
    float* dprev = dz_[k - 1].as<float>();
    gemm(rows, L.in, L.units, dz, L.units, 1, params + w_off_[k], 1, L.units, dprev, Epilogue{});
    if (last_training_ && P.dropout_after > 0.f)
      dropout(dprev, dprev, rows, P.units, P.dropout_after, i, last_counter_);
    if (backward_from_output(P.act, P.act_param))
      activation_backward_from_output_cuda(static_cast<Activation>(P.act), P.act_param, dprev,
                                           a_[k - 1].as<float>(), dprev, rows * P.units);
    else
      activation_backward_cuda(static_cast<Activation>(P.act), P.act_param, dprev,
                               z_[k - 1].as<float>(), dprev, rows * P.units);
  }
}

// ---- metrics -------------------------------------------------------------------------------------

// Writes each metric's sum over this batch into slots[m] (device doubles), as Net's
// accumulate_metrics computes them.
void NetCuda::metrics_into(const std::vector<MetricKind>& metrics, const Targets& t, index_t rows,
                           bool fused_logits, double* slots) {
  const index_t cols = output_width();
  for (size_t m = 0; m < metrics.size(); ++m) {
    const MetricKind kind = metrics[m];
    const bool accuracy = kind == MetricKind::BinaryAccuracy ||
                          kind == MetricKind::SparseAccuracy ||
                          kind == MetricKind::CategoricalAccuracy;
    // sigmoid(z) > 0.5 <=> z > 0 and argmax(softmax(z)) = argmax(z): accuracies read the logits.
    const float* p = accuracy && fused_logits ? z_.back().as<float>() : output_dev();
    const float thr = fused_logits ? 0.f : 0.5f;
    metric_rows_cuda(static_cast<int>(kind), p, thr, t.labels, t.values, row_metric_.as<double>(),
                     rows, cols);
    sum_doubles_cuda(row_metric_.as<double>(), rows, 1.0, slots + m);
  }
}

// ---- data sets -----------------------------------------------------------------------------------

void NetCuda::upload(const HostData& h, Data* d) {
  d->host = h;
  const index_t n = h.n, in = input_width();
  std::int64_t bytes = n * in * static_cast<index_t>(sizeof(float));
  if (h.y.labels) bytes += n * static_cast<index_t>(sizeof(std::int64_t));
  if (h.y.values) bytes += n * h.y.cols * static_cast<index_t>(sizeof(float));
  if (h.sw) bytes += n * static_cast<index_t>(sizeof(float));
  if (max_resident_bytes >= 0) {
    d->resident = bytes <= max_resident_bytes;
  } else {
    std::size_t free_b = 0, total_b = 0;
    device_memory_info(&free_b, &total_b);
    // Keep an eighth of the free memory for the workspace and other users.
    d->resident = static_cast<std::size_t>(bytes) <= free_b - free_b / 8;
  }
  if (!d->resident || n <= 0) return;
  d->X = uploaded(h.X, n * in);
  d->labels = uploaded(h.y.labels, n);
  d->values = uploaded(h.y.values, n * h.y.cols);
  d->sw = uploaded(h.sw, n);
}

// Points xb / yb / swb at device rows [start, start + rows) of the (optionally permuted) resident
// data set.
void NetCuda::load_batch(const Data& d, const std::int64_t* order_dev, index_t start,
                         index_t rows, const float** xb, Targets* yb, const float** swb) {
  const index_t in = input_width();
  const HostData& h = d.host;
  const index_t cols = h.y.cols;
  *yb = Targets{};
  yb->cols = cols;
  *swb = nullptr;
  if (!order_dev) {
    *xb = d.X.as<float>() + start * in;
    if (h.y.labels) yb->labels = d.labels.as<std::int64_t>() + start;
    if (h.y.values) yb->values = d.values.as<float>() + start * cols;
    if (h.sw) *swb = d.sw.as<float>() + start;
    return;
  }
  const std::int64_t* idx = order_dev + start;  // shuffled: gather the batch's rows
  gather_rows_cuda(d.X.as<float>(), idx, xin_.as<float>(), rows, in);
  *xb = xin_.as<float>();
  if (h.y.labels) {
    gather_labels_cuda(d.labels.as<std::int64_t>(), idx, ylabels_.as<std::int64_t>(), rows);
    yb->labels = ylabels_.as<std::int64_t>();
  }
  if (h.y.values) {
    gather_rows_cuda(d.values.as<float>(), idx, yvals_.as<float>(), rows, cols);
    yb->values = yvals_.as<float>();
  }
  if (h.sw) {
    gather_rows_cuda(d.sw.as<float>(), idx, sw_.as<float>(), rows, 1);
    *swb = sw_.as<float>();
  }
}

// ---- the streamed fallback ------------------------------------------------------------------------

index_t NetCuda::stream_begin(const Data& d, index_t batch_size, index_t out_cols) {
  const HostData& h = d.host;
  const index_t in = input_width(), cols = h.y.cols;
  index_t row_bytes = in * 4 + out_cols * 4;
  if (h.y.labels) row_bytes += 8;
  if (h.y.values) row_bytes += cols * 4;
  if (h.sw) row_bytes += 4;
  const index_t batches = std::max<index_t>(1, stream_chunk_bytes / (row_bytes * batch_size));
  const index_t chunk = std::min(h.n, batches * batch_size);
  Streaming& st = stream_;
  const bool fits = chunk <= st.cap && in == st.in && cols == st.cols && out_cols == st.out_cols &&
                    (h.y.labels != nullptr) == st.labels &&
                    (h.y.values != nullptr) == st.values && (h.sw != nullptr) == st.sw;
  if (!st.copy.get()) st.copy = CudaStreamHandle(stream_create_nonblocking());
  if (fits) return chunk;
  // Nothing in flight may still use the buffers being replaced.
  stream_synchronize(st.copy.get());
  stream_synchronize();
  for (StreamSlot& sl : st.slot) {
    sl = StreamSlot{};
    const std::size_t rows = static_cast<std::size_t>(chunk);
    sl.x = HostBuffer(rows * in * sizeof(float));
    sl.dx = DeviceBuffer(rows * in * sizeof(float));
    if (h.y.labels) {
      sl.labels = HostBuffer(rows * sizeof(std::int64_t));
      sl.dlabels = DeviceBuffer(rows * sizeof(std::int64_t));
    }
    if (h.y.values) {
      sl.values = HostBuffer(rows * cols * sizeof(float));
      sl.dvalues = DeviceBuffer(rows * cols * sizeof(float));
    }
    if (h.sw) {
      sl.sw = HostBuffer(rows * sizeof(float));
      sl.dsw = DeviceBuffer(rows * sizeof(float));
    }
    if (out_cols) {
      sl.host_out = HostBuffer(rows * out_cols * sizeof(float));
      sl.out = DeviceBuffer(rows * out_cols * sizeof(float));
    }
    sl.copied = CudaEventHandle(event_create());
    sl.consumed = CudaEventHandle(event_create());
    sl.downloaded = CudaEventHandle(event_create());
  }
  st.cap = chunk;
  st.in = in;
  st.cols = cols;
  st.out_cols = out_cols;
  st.labels = h.y.labels != nullptr;
  st.values = h.y.values != nullptr;
  st.sw = h.sw != nullptr;
  st.cur = 1;
  return chunk;
}

void NetCuda::stream_next(const Data& d, const std::int64_t* order_host, index_t first,
                          index_t rows) {
  Streaming& st = stream_;
  st.cur ^= 1;
  StreamSlot& sl = st.slot[st.cur];
  // The host rows are refilled only once the slot's previous copy has read them.
  if (sl.used) event_synchronize(sl.copied.get());
  const HostData& h = d.host;
  const index_t in = input_width(), cols = h.y.cols;
  float* x = sl.x.as<float>();
  std::int64_t* labels = sl.labels.as<std::int64_t>();
  float* values = sl.values.as<float>();
  float* sw = sl.sw.as<float>();
  // Host-side gather; it runs while the device works through the other slot's batches.
  const index_t grain = std::max<index_t>(1, (index_t{64} << 10) / (in * 4 + 1));
  parallel_for(rows, grain, num_threads(), [&](index_t r0, index_t r1) {
    for (index_t r = r0; r < r1; ++r) {
      const index_t src = order_host ? order_host[first + r] : first + r;
      std::memcpy(x + r * in, h.X + src * in, sizeof(float) * static_cast<size_t>(in));
      if (labels) labels[r] = h.y.labels[src];
      if (values)
        std::memcpy(values + r * cols, h.y.values + src * cols,
                    sizeof(float) * static_cast<size_t>(cols));
      if (sw) sw[r] = h.sw[src];
    }
  });
  CudaStream copy = st.copy.get();
  if (sl.used) stream_wait_event(copy, sl.consumed.get());  // the slot's last batches are done
  copy_host_to_device(sl.dx.data(), x, sizeof(float) * static_cast<size_t>(rows * in), copy);
  if (labels)
    copy_host_to_device(sl.dlabels.data(), labels, sizeof(std::int64_t) * static_cast<size_t>(rows),
                        copy);
  if (values)
    copy_host_to_device(sl.dvalues.data(), values, sizeof(float) * static_cast<size_t>(rows * cols),
                        copy);
  if (sw) copy_host_to_device(sl.dsw.data(), sw, sizeof(float) * static_cast<size_t>(rows), copy);
  event_record(sl.copied.get(), copy);
  stream_wait_event(nullptr, sl.copied.get());  // this chunk's batches start after its copy
  sl.used = true;
  sl.first = first;
  sl.rows = rows;
}

void NetCuda::stream_batch(const Data& d, index_t start, const float** xb, Targets* yb,
                           const float** swb) const {
  const StreamSlot& sl = stream_.slot[stream_.cur];
  const index_t off = start - sl.first, in = input_width(), cols = d.host.y.cols;
  *yb = Targets{};
  yb->cols = cols;
  *xb = sl.dx.as<float>() + off * in;
  if (d.host.y.labels) yb->labels = sl.dlabels.as<std::int64_t>() + off;
  if (d.host.y.values) yb->values = sl.dvalues.as<float>() + off * cols;
  *swb = d.host.sw ? sl.dsw.as<float>() + off : nullptr;
}

void NetCuda::stream_end() {
  StreamSlot& sl = stream_.slot[stream_.cur];
  if (sl.used) event_record(sl.consumed.get());
}

// One pass over a data set in batches: points each batch at its device rows -- in the resident
// set (gathered when shuffled), or, when the set is streamed, in the chunk staged as the batches
// reach it; then marks the last chunk's batches as enqueued (also on an exception, so the slot's
// next copy still waits for whatever was enqueued).
struct NetCuda::BatchFeed {
  NetCuda* net;
  const Data& d;
  bool on;
  index_t chunk = 0, chunk_end = 0;
  BatchFeed(NetCuda* n, const Data& data, index_t batch_size, index_t out_cols)
      : net(n), d(data), on(!data.resident && data.host.n > 0) {
    if (on) chunk = net->stream_begin(d, batch_size, out_cols);
  }
  // order_host / order_dev: the pass's permutation on the host and, for a resident set, on the
  // device (nullptr: in order).
  void batch(const std::int64_t* order_host, const std::int64_t* order_dev, index_t start,
             index_t rows, const float** xb, Targets* yb, const float** swb) {
    if (!on) {
      net->load_batch(d, order_dev, start, rows, xb, yb, swb);
      return;
    }
    if (start >= chunk_end) {
      if (chunk_end > 0) net->stream_end();
      const index_t rows = std::min(chunk, d.host.n - start);
      net->stream_next(d, order_host, start, rows);
      chunk_end = start + rows;
    }
    net->stream_batch(d, start, xb, yb, swb);
  }
  void finish() {
    if (on && chunk_end > 0) net->stream_end();
    on = false;
  }
  ~BatchFeed() {
    try {
      finish();
    } catch (...) {  // already unwinding from an error; the next CUDA call reports any fault
    }
  }
};

void NetCuda::hold_data(bool hold) {
  hold_ = hold;
  if (!hold) held_.clear();
}

const NetCuda::Data& NetCuda::data_for(const HostData& h, Data* scratch) {
  if (!hold_) {
    upload(h, scratch);
    return *scratch;
  }
  for (const auto& d : held_) {
    const HostData& k = d->host;
    if (k.X == h.X && k.n == h.n && k.y.labels == h.y.labels && k.y.values == h.y.values &&
        k.y.cols == h.y.cols && k.sw == h.sw)
      return *d;
  }
  if (held_.size() >= 2) held_.erase(held_.begin());  // a fit holds at most training + validation
  held_.push_back(std::make_unique<Data>());
  upload(h, held_.back().get());
  return *held_.back();
}

namespace {
// The running loss (each batch's mean weighted by its rows) and metric sums of a pass, from the
// per-batch device slots (1 + metrics doubles a batch), added in batch order as Net adds them.
struct SlotSums {
  index_t batch_size, n, per;
  double loss = 0.0;
  std::vector<double> metrics;
  index_t summed = 0;  // batches added so far
  std::vector<double> got;
  SlotSums(index_t bs, index_t n_rows, std::size_t n_metrics)
      : batch_size(bs), n(n_rows), per(1 + static_cast<index_t>(n_metrics)),
        metrics(n_metrics, 0.0) {}
  // Downloads the slots of batches [summed, upto) and adds them.
  void add_upto(const DeviceBuffer& slots, index_t upto) {
    if (upto <= summed) return;
    download_doubles(&got, slots, summed * per, (upto - summed) * per);
    for (index_t b = summed; b < upto; ++b) {
      const double* s = got.data() + (b - summed) * per;
      loss += s[0] * static_cast<double>(std::min(batch_size, n - b * batch_size));
      for (size_t m = 0; m < metrics.size(); ++m) metrics[m] += s[1 + m];
    }
    summed = upto;
  }
};
}  // namespace

EpochStats NetCuda::epoch(const Data& d, index_t batch_size, bool shuffle, const float* lrs,
                          float lr, const LossSpec& spec, const std::vector<MetricKind>& metrics,
                          const BatchHook& hook) {
  FN_CHECK(has_optim_, "no optimizer: compile the model first");
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  const index_t n = d.host.n;
  EpochStats st;
  st.metrics.assign(metrics.size(), 0.0);
  if (n <= 0) return st;
  reserve(std::min(batch_size, n));
  const index_t steps = ceil_div(n, batch_size);
  const std::int64_t* order_dev = nullptr;
  const std::int64_t* order_host = nullptr;
  if (shuffle && steps > 1) {
    // Exactly Net::train_epoch's Fisher-Yates shuffle from the epoch counter.
    order_host_.resize(static_cast<size_t>(n));
    std::int64_t* o = order_host_.data();
    shuffle_order(seed_, epochs_shuffled, o, n);
    order_host = o;
    if (d.resident) {
      const std::size_t bytes = sizeof(std::int64_t) * static_cast<size_t>(n);
      if (order_.bytes() < bytes) order_ = DeviceBuffer(bytes);
      copy_host_to_device(order_.data(), o, bytes);
      order_dev = order_.as<std::int64_t>();
    }
  }
  ++epochs_shuffled;
  const bool fz = fused(spec);
  const index_t per = 1 + static_cast<index_t>(metrics.size());
  double* slots = reserve_slots(steps * per);

  SlotSums sums(batch_size, n, metrics.size());
  index_t seen = 0;
  HookSchedule hook_due(hook, steps);
  BatchFeed feed(this, d, batch_size, 0);
  for (index_t b = 0; b < steps; ++b) {
    const index_t start = b * batch_size, rows = std::min(batch_size, n - start);
    const float* xb = nullptr;
    const float* swb = nullptr;
    Targets yb;
    feed.batch(order_host, order_dev, start, rows, &xb, &yb, &swb);
    forward_into(xb, rows, true, nullptr);
    loss_into(yb, swb, spec, slots + b * per);
    if (!metrics.empty()) metrics_into(metrics, yb, rows, fz, slots + b * per + 1);
    backward(spec);
    apply_update(lrs ? lrs[b] : lr);
    seen += rows;
    ++st.batches;
    if (hook_due.due(b)) {  // logs asked for after this batch: its figures come back now
      sums.add_upto(slots_, b + 1);
      if (!hook(b, sums.loss / static_cast<double>(seen),
                metric_means(metrics, sums.metrics, seen, output_width())))
        break;
    }
  }
  feed.finish();
  sums.add_upto(slots_, st.batches);  // without a hook: one download for the whole epoch
  st.loss = seen ? sums.loss / static_cast<double>(seen) : 0.0;
  st.metrics = metric_means(metrics, sums.metrics, seen, output_width());
  return st;
}

EpochStats NetCuda::eval(const Data& d, index_t batch_size, const LossSpec& spec,
                         const std::vector<MetricKind>& metrics) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  const index_t n = d.host.n;
  EpochStats st;
  st.metrics.assign(metrics.size(), 0.0);
  if (n <= 0) return st;
  reserve(std::min(batch_size, n));
  const bool fz = fused(spec);
  const index_t steps = ceil_div(n, batch_size);
  const index_t per = 1 + static_cast<index_t>(metrics.size());
  double* slots = reserve_slots(steps * per);
  BatchFeed feed(this, d, batch_size, 0);
  for (index_t b = 0; b < steps; ++b) {
    const index_t start = b * batch_size, rows = std::min(batch_size, n - start);
    const float* xb = nullptr;
    const float* swb = nullptr;
    Targets yb;
    feed.batch(nullptr, nullptr, start, rows, &xb, &yb, &swb);
    forward_into(xb, rows, false, nullptr);
    loss_into(yb, swb, spec, slots + b * per);
    if (!metrics.empty()) metrics_into(metrics, yb, rows, fz, slots + b * per + 1);
    ++st.batches;
  }
  feed.finish();
  SlotSums sums(batch_size, n, metrics.size());
  sums.add_upto(slots_, steps);
  st.loss = sums.loss / static_cast<double>(n);
  st.metrics = metric_means(metrics, sums.metrics, n, output_width());
  return st;
}

EpochStats NetCuda::train_epoch(const HostData& h, index_t batch_size, bool shuffle,
                                const float* lrs, float lr, const LossSpec& spec,
                                const std::vector<MetricKind>& metrics, const BatchHook& hook) {
  Data scratch;
  return epoch(data_for(h, &scratch), batch_size, shuffle, lrs, lr, spec, metrics, hook);
}

void NetCuda::fit(const HostData& h, index_t batch_size, index_t epochs, bool shuffle,
                  const float* lrs, float lr, const LossSpec& spec,
                  const std::vector<MetricKind>& metrics, const HostData* val,
                  index_t val_batch_size, std::vector<EpochStats>* train_out,
                  std::vector<EpochStats>* val_out) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  Data d, dv;
  upload(h, &d);
  if (val) upload(*val, &dv);
  const index_t steps = ceil_div(h.n, batch_size);
  for (index_t e = 0; e < epochs; ++e) {
    train_out->push_back(epoch(d, batch_size, shuffle, lrs ? lrs + e * steps : nullptr, lr, spec,
                               metrics, BatchHook{}));
    if (val) val_out->push_back(eval(dv, val_batch_size, spec, metrics));
  }
}

EpochStats NetCuda::evaluate(const HostData& h, index_t batch_size, const LossSpec& spec,
                             const std::vector<MetricKind>& metrics) {
  Data scratch;
  return eval(data_for(h, &scratch), batch_size, spec, metrics);
}

void NetCuda::predict(const float* X, index_t n, index_t batch_size, float* out_host) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
  if (n <= 0) return;
  reserve(std::min(batch_size, n));
  const index_t in = input_width(), units = output_width();
  HostData h;
  h.X = X;
  h.n = n;
  Data scratch;
  const Data& d = data_for(h, &scratch);
  if (d.resident) {  // all outputs on the device, one download
    DeviceBuffer out(sizeof(float) * static_cast<size_t>(n * units));
    for (index_t start = 0; start < n; start += batch_size) {
      const index_t rows = std::min(batch_size, n - start);
      forward_into(d.X.as<float>() + start * in, rows, false, out.as<float>() + start * units);
    }
    to_host(out_host, out, n * units);
  } else {  // streamed: a chunk's outputs come back while the next chunk runs
    const index_t chunk = stream_begin(d, batch_size, units);
    const StreamSlot* pending = nullptr;  // the previous chunk, outputs on their way back
    auto drain = [&] {
      if (!pending) return;
      event_synchronize(pending->downloaded.get());
      std::memcpy(out_host + pending->first * units, pending->host_out.as<float>(),
                  sizeof(float) * static_cast<size_t>(pending->rows * units));
      pending = nullptr;
    };
    for (index_t first = 0; first < n; first += chunk) {
      stream_next(d, nullptr, first, std::min(chunk, n - first));
      const StreamSlot& sl = stream_.slot[stream_.cur];
      for (index_t off = 0; off < sl.rows; off += batch_size) {
        const index_t rows = std::min(batch_size, sl.rows - off);
        forward_into(sl.dx.as<float>() + off * in, rows, false, sl.out.as<float>() + off * units);
      }
      copy_device_to_host_async(sl.host_out.as<void>(), sl.out.data(),
                                sizeof(float) * static_cast<size_t>(sl.rows * units), nullptr);
      event_record(sl.downloaded.get());
      stream_end();
      drain();
      pending = &sl;
    }
    drain();
  }
  last_rows_ = 0;  // the workspace no longer holds a forward that loss/backward could use
}

}  // namespace fusednet

#endif  // FUSEDNET_WITH_CUDA
