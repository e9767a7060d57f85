// Argument conversion and checks shared by the bindings of Net (bind_net.cpp) and NetCuda
// (bind_net_cuda.cpp), and the members both classes bind the same way: the two expose one Python
// API, so their arguments are read, checked and reported by the same code.
#pragma once

#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bind/util.h"
#include "net/net.h"
#include "net/spec.h"

namespace fusednet {
namespace bindnet {

// A net plus a guard: one call at a time (the GIL is released while it runs).
template <typename NetT>
struct PyModel {
  NetT net;
  std::atomic<bool> busy{false};
  template <typename... A>
  explicit PyModel(A&&... a) : net(std::forward<A>(a)...) {}
};

template <typename NetT>
struct BusyGuard {
  PyModel<NetT>& p;
  explicit BusyGuard(PyModel<NetT>& n) : p(n) {
    if (p.busy.exchange(true))
      throw std::runtime_error("this model is already running in another thread");
  }
  ~BusyGuard() { p.busy.store(false); }
};

// Layer specs from Python tuples (in, units, activation code, activation param, use_bias,
// dropout after).
inline std::vector<DenseSpec> dense_specs(const std::vector<py::tuple>& layers) {
  std::vector<DenseSpec> specs;
  for (const auto& t : layers) {
    DenseSpec s;
    s.in = t[0].cast<index_t>();
    s.units = t[1].cast<index_t>();
    s.act = t[2].cast<int>();
    s.act_param = t[3].cast<float>();
    s.use_bias = t[4].cast<bool>();
    s.dropout_after = t[5].cast<float>();
    specs.push_back(s);
  }
  return specs;
}

inline OptimSpec optim_spec(int kind, float momentum, bool nesterov, float weight_decay,
                            float beta1, float beta2, float eps) {
  FN_CHECK(kind >= 0 && kind <= 2, "optimizer code ", kind, " unknown");
  OptimSpec s;
  s.kind = static_cast<OptimKind>(kind);
  s.momentum = momentum;
  s.nesterov = nesterov;
  s.weight_decay = weight_decay;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  return s;
}

inline LossSpec loss_spec(int kind, bool from_logits) {
  FN_CHECK(kind >= 0 && kind <= 3, "loss code ", kind, " unknown");
  return LossSpec{static_cast<LossKind>(kind), from_logits};
}

inline std::vector<MetricKind> metric_kinds(const std::vector<int>& codes) {
  std::vector<MetricKind> out;
  for (int c : codes) {
    FN_CHECK(c >= 0 && c <= 4, "metric code ", c, " unknown");
    out.push_back(static_cast<MetricKind>(c));
  }
  return out;
}

// X: C-contiguous float32 (n, input_width).
inline const float* data_x(index_t input_width, const py::handle& x, const char* name,
                           index_t* n) {
  F32View v = f32_view(x, name);
  require_ndim(v, 2, name);
  require_contiguous(v, name);
  if (v.dim(1) != input_width)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(input_width) +
                          " features per sample (the model's input width), got " +
                          std::to_string(v.dim(1)));
  *n = v.dim(0);
  return v.data;
}

// Targets: int64 labels (n,) for sparse CE, else float32 (n, units), both C-contiguous.
inline Targets data_y(index_t output_width, const py::handle& y, LossKind kind, index_t n,
                      const char* name) {
  Targets t;
  if (kind == LossKind::SparseCE) {
    auto a = py::reinterpret_borrow<py::array>(y);
    if (!py::isinstance<py::array>(y) || !a.dtype().is(py::dtype::of<std::int64_t>()) ||
        a.ndim() != 1 || !(a.flags() & py::array::c_style))
      throw py::type_error(std::string(name) + ": expected a contiguous int64 (n,) label array");
    if (a.shape(0) != n)
      throw py::value_error(std::string(name) + ": expected " + std::to_string(n) +
                            " labels, got " + std::to_string(a.shape(0)));
    t.labels = static_cast<const std::int64_t*>(a.data());
    return t;
  }
  F32View v = f32_view(y, name);
  require_contiguous(v, name);
  require_shape(v, {n, output_width}, name);
  t.values = v.data;
  t.cols = output_width;
  return t;
}

// Sample weights: None, or C-contiguous float32 (n,).
inline const float* data_sw(const py::object& sw, index_t n, const char* name) {
  if (sw.is_none()) return nullptr;
  F32View v = f32_view(sw, name);
  require_contiguous(v, name);
  require_shape(v, {n}, name);
  return v.data;
}

// A data set (x, y, sample_weight) checked against the net's widths; names for the messages.
template <typename NetT>
HostData host_data(const NetT& net, const py::handle& x, const py::handle& y, const py::object& sw,
                   LossKind kind, const char* xn, const char* yn, const char* swn) {
  HostData h;
  h.X = data_x(net.input_width(), x, xn, &h.n);
  h.y = data_y(net.output_width(), y, kind, h.n, yn);
  h.sw = data_sw(sw, h.n, swn);
  return h;
}

// Per-batch learning rates: None (nullptr), or C-contiguous float32 (count,).
inline const float* data_lrs(const py::object& lrs, index_t count) {
  if (lrs.is_none()) return nullptr;
  F32View v = f32_view(lrs, "lrs");
  require_contiguous(v, "lrs");
  require_shape(v, {count}, "lrs");
  return v.data;
}

inline void check_batch_size(index_t batch_size) {
  FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
}

// The batch callback: takes the GIL, calls hook(batch, loss, metrics); None or truthy goes on.
// Called after every batch, or at most once per interval_s seconds (see BatchHook). `hook` must
// outlive the returned function (it is the caller's argument).
inline BatchHook batch_hook(const py::object& hook, double interval_s) {
  FN_CHECK(interval_s >= 0.0, "hook_interval: expected >= 0 seconds, got ", interval_s);
  BatchHook h;
  if (!hook.is_none()) {
    h = BatchHook(
        [&hook](index_t b, double l, const std::vector<double>& m) {
          py::gil_scoped_acquire gil;
          py::object r = hook(b, l, m);
          return r.is_none() || r.cast<bool>();
        },
        interval_s);
  }
  return h;
}

// (loss, metrics, batches); typed as such in the stubs (make_tuple's own return type).
inline auto stats_tuple(const EpochStats& s) {
  return py::make_tuple(s.loss, s.metrics, s.batches);
}

// One row of fit's result: [loss, metrics..., (val_loss, val_metrics...)]; per = 1 + metrics.
inline void fit_row(double* row, index_t per, const EpochStats& train, const EpochStats* val) {
  const size_t metrics = static_cast<size_t>(per - 1);
  row[0] = train.loss;
  for (size_t k = 0; k < metrics; ++k) row[1 + k] = train.metrics[k];
  if (val) {
    row[per] = val->loss;
    for (size_t k = 0; k < metrics; ++k) row[per + 1 + k] = val->metrics[k];
  }
}

// How a backend runs whole data sets; each binding file specialises it before def_common:
//   static EpochStats train_epoch(NetT&, const HostData&, index_t batch_size, bool shuffle,
//                                 const float* lrs, float lr, const LossSpec&,
//                                 const std::vector<MetricKind>&, const BatchHook&);
//   static void fit(NetT&, const HostData&, index_t batch_size, index_t epochs, bool shuffle,
//                   const float* lrs, float lr, const LossSpec&, const std::vector<MetricKind>&,
//                   const HostData* val, index_t val_batch_size, std::vector<EpochStats>* train,
//                   std::vector<EpochStats>* val_out);
//   static EpochStats evaluate(NetT&, const HostData&, index_t batch_size, const LossSpec&,
//                              const std::vector<MetricKind>&);
template <typename NetT>
struct DataSetRunner;

// The members whose binding is the same for Net and NetCuda: sizes, layout, counters, optimizer
// choice and update, the one-batch forward / loss / backward, the whole-data-set calls
// (train_epoch, fit, evaluate through DataSetRunner<NetT>) and predict.
template <typename NetT>
void def_common(py::class_<PyModel<NetT>>& c) {
  using P = PyModel<NetT>;
  using Guard = BusyGuard<NetT>;
  c.def(py::init([](const std::vector<py::tuple>& layers, float input_dropout,
                    std::uint64_t seed) {
         return new P(dense_specs(layers), input_dropout, seed);
       }),
       py::arg("layers"), py::arg("input_dropout"), py::arg("seed"))
      .def_property_readonly("num_params", [](P& p) { return p.net.num_params(); })
      .def_property_readonly("input_width", [](P& p) { return p.net.input_width(); })
      .def_property_readonly("output_width", [](P& p) { return p.net.output_width(); })
      .def_property_readonly("seed", [](P& p) { return p.net.seed(); })
      .def("kernel_offset", [](P& p, index_t i) { return p.net.kernel_offset(i); })
      .def("bias_offset", [](P& p, index_t i) { return p.net.bias_offset(i); })
      .def_property("step", [](P& p) { return p.net.step; },
                    [](P& p, std::int64_t s) { p.net.step = s; })
      .def_property("train_forwards", [](P& p) { return p.net.train_forwards; },
                    [](P& p, std::int64_t s) { p.net.train_forwards = s; })
      .def_property("epochs_shuffled", [](P& p) { return p.net.epochs_shuffled; },
                    [](P& p, std::int64_t s) { p.net.epochs_shuffled = s; })
      .def("set_optimizer",
           [](P& p, int kind, float momentum, bool nesterov, float weight_decay, float beta1,
              float beta2, float eps) {
             OptimSpec s = optim_spec(kind, momentum, nesterov, weight_decay, beta1, beta2, eps);
             Guard g(p);
             p.net.set_optimizer(s);
           },
           py::arg("kind"), py::arg("momentum"), py::arg("nesterov"), py::arg("weight_decay"),
           py::arg("beta1"), py::arg("beta2"), py::arg("eps"))
      .def_property_readonly("has_optimizer", [](P& p) { return p.net.has_optimizer(); })
      .def_property_readonly("num_optimizer_states",
                             [](P& p) { return p.net.num_optimizer_states(); })
      .def("apply_update", [](P& p, float lr) {
        Guard g(p);
        py::gil_scoped_release nogil;
        p.net.apply_update(lr);
      }, py::arg("lr"))
      .def("forward", [](P& p, const py::handle& x, bool training) {
        index_t n;
        const float* X = data_x(p.net.input_width(), x, "x", &n);
        Guard g(p);
        py::gil_scoped_release nogil;
        p.net.forward(X, n, training);
      }, py::arg("x"), py::arg("training"))
      .def("loss", [](P& p, const py::handle& y, const py::object& sw, int kind,
                      bool from_logits) {
        const index_t rows = p.net.last_rows();
        FN_CHECK(rows > 0, "loss: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        Targets t = data_y(p.net.output_width(), y, spec.kind, rows, "y");
        const float* w = data_sw(sw, rows, "sample_weight");
        Guard g(p);
        py::gil_scoped_release nogil;
        return p.net.loss(t, w, spec);
      }, py::arg("y"), py::arg("sample_weight"), py::arg("kind"), py::arg("from_logits"))
      .def("fused", [](P& p, int kind, bool from_logits) {
        return p.net.fused(loss_spec(kind, from_logits));
      })
      .def("backward", [](P& p, int kind, bool from_logits) {
        FN_CHECK(p.net.last_rows() > 0, "backward: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        Guard g(p);
        py::gil_scoped_release nogil;
        p.net.backward(spec);
      }, py::arg("kind"), py::arg("from_logits"))
      .def("train_epoch",
           [](P& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, bool shuffle, const py::object& lrs, float lr, int kind,
              bool from_logits, const std::vector<int>& metrics, const py::object& hook,
              double hook_interval) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p.net, x, y, sw, spec.kind, "x", "y", "sample_weight");
             check_batch_size(batch_size);
             const float* lr_per_batch = data_lrs(lrs, ceil_div(h.n, batch_size));
             auto mk = metric_kinds(metrics);
             BatchHook hk = batch_hook(hook, hook_interval);
             Guard g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = DataSetRunner<NetT>::train_epoch(p.net, h, batch_size, shuffle, lr_per_batch,
                                                    lr, spec, mk, hk);
             }
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("hook"),
           py::arg("hook_interval") = 0.0)
      .def("fit",
           [](P& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, index_t epochs, bool shuffle, const py::object& lrs, float lr,
              int kind, bool from_logits, const std::vector<int>& metrics, const py::object& xv,
              const py::object& yv, const py::object& swv, index_t val_batch_size) {
             // Several epochs in one call (no callbacks): one row per epoch of
             // [loss, metrics..., (val_loss, val_metrics...)].
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p.net, x, y, sw, spec.kind, "x", "y", "sample_weight");
             check_batch_size(batch_size);
             check_batch_size(val_batch_size);
             FN_CHECK(epochs >= 0, "epochs: expected >= 0, got ", epochs);
             const float* lr_all = data_lrs(lrs, ceil_div(h.n, batch_size) * epochs);
             const bool has_val = !xv.is_none();
             HostData hv;
             if (has_val)
               hv = host_data(p.net, xv, yv, swv, spec.kind, "validation x", "validation y",
                              "validation sample_weight");
             auto mk = metric_kinds(metrics);
             const index_t per = 1 + static_cast<index_t>(mk.size());
             const index_t width = has_val ? 2 * per : per;
             std::vector<EpochStats> tr, va;
             {
               Guard g(p);
               py::gil_scoped_release nogil;
               DataSetRunner<NetT>::fit(p.net, h, batch_size, epochs, shuffle, lr_all, lr, spec,
                                        mk, has_val ? &hv : nullptr, val_batch_size, &tr, &va);
             }
             py::array_t<double> out({epochs, width});
             double* o = out.mutable_data();
             for (index_t e = 0; e < epochs; ++e)
               fit_row(o + e * width, per, tr[static_cast<size_t>(e)],
                       has_val ? &va[static_cast<size_t>(e)] : nullptr);
             return out;
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("epochs"), py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("val_x"), py::arg("val_y"),
           py::arg("val_sample_weight"), py::arg("val_batch_size"))
      .def("evaluate",
           [](P& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, int kind, bool from_logits, const std::vector<int>& metrics) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p.net, x, y, sw, spec.kind, "x", "y", "sample_weight");
             check_batch_size(batch_size);
             auto mk = metric_kinds(metrics);
             Guard g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = DataSetRunner<NetT>::evaluate(p.net, h, batch_size, spec, mk);
             }
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("kind"), py::arg("from_logits"), py::arg("metrics"))
      .def("predict",
           [](P& p, const py::handle& x, index_t batch_size, const py::handle& out) {
             index_t n;
             const float* X = data_x(p.net.input_width(), x, "x", &n);
             F32View o = f32_view(out, "out", true);
             require_contiguous(o, "out");
             require_shape(o, {n, p.net.output_width()}, "out");
             check_batch_size(batch_size);
             Guard g(p);
             py::gil_scoped_release nogil;
             p.net.predict(X, n, batch_size, o.data);
           },
           py::arg("x"), py::arg("batch_size"), py::arg("out"));
}

}  // namespace bindnet
}  // namespace fusednet
