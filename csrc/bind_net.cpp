// Bindings of Net (fusednet._core.Net): check arguments, release the GIL, call Net. The arenas are
// exposed as NumPy views whose base keeps the Net alive, so Python variables are windows into them.
#include <atomic>
#include <cstring>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bind_util.h"
#include "net.h"

namespace fusednet {

namespace {

// A Net plus a guard: one call at a time (the GIL is released while it runs).
struct PyNet {
  Net net;
  std::atomic<bool> busy{false};
  template <typename... A>
  explicit PyNet(A&&... a) : net(std::forward<A>(a)...) {}
};

struct BusyGuard {
  PyNet& p;
  explicit BusyGuard(PyNet& n) : p(n) {
    if (p.busy.exchange(true))
      throw std::runtime_error("this model is already running in another thread");
  }
  ~BusyGuard() { p.busy.store(false); }
};

py::array_t<float> view(PyNet& self, py::handle owner, float* data, std::vector<index_t> shape) {
  std::vector<py::ssize_t> sh(shape.begin(), shape.end()), st(shape.size());
  py::ssize_t s = sizeof(float);
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = s;
    s *= sh[static_cast<size_t>(i)];
  }
  return py::array_t<float>(sh, st, data, owner);
}

// X: C-contiguous float32 (n, input_width).
const float* data_x(PyNet& p, const py::handle& x, const char* name, index_t* n) {
  F32View v = f32_view(x, name);
  require_ndim(v, 2, name);
  require_contiguous(v, name);
  if (v.dim(1) != p.net.input_width())
    throw py::value_error(std::string(name) + ": expected " + std::to_string(p.net.input_width()) +
                          " features per sample (the model's input width), got " +
                          std::to_string(v.dim(1)));
  *n = v.dim(0);
  return v.data;
}

// Targets: int64 labels (n,) for sparse CE, else float32 (n, units), both C-contiguous.
Targets data_y(PyNet& p, const py::handle& y, LossKind kind, index_t n, const char* name) {
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
  require_shape(v, {n, p.net.output_width()}, name);
  t.values = v.data;
  t.cols = p.net.output_width();
  return t;
}

const float* data_sw(const py::object& sw, index_t n, const char* name) {
  if (sw.is_none()) return nullptr;
  F32View v = f32_view(sw, name);
  require_contiguous(v, name);
  require_shape(v, {n}, name);
  return v.data;
}

std::vector<MetricKind> metric_kinds(const std::vector<int>& codes) {
  std::vector<MetricKind> out;
  for (int c : codes) {
    FN_CHECK(c >= 0 && c <= 4, "metric code ", c, " unknown");
    out.push_back(static_cast<MetricKind>(c));
  }
  return out;
}

LossSpec loss_spec(int kind, bool from_logits) {
  FN_CHECK(kind >= 0 && kind <= 3, "loss code ", kind, " unknown");
  return LossSpec{static_cast<LossKind>(kind), from_logits};
}

py::tuple stats_tuple(const EpochStats& s) {
  return py::make_tuple(s.loss, s.metrics, s.batches);
}

}  // namespace

// True when every element of a float32 array is finite (no NaN, no inf); no temporary arrays.
static bool all_finite(const py::handle& arr) {
  F32View v = f32_view(arr, "x");
  if (v.size == 0) return true;
  if (!v.contiguous) throw py::value_error("x: expected a C-contiguous array");
  const std::uint32_t* bits = reinterpret_cast<const std::uint32_t*>(v.data);
  const index_t n = v.size;
  std::uint32_t bad = 0;
  {
    py::gil_scoped_release nogil;
    for (index_t i = 0; i < n; ++i) bad |= ((bits[i] & 0x7f800000u) == 0x7f800000u);
  }
  return bad == 0;
}

void bind_net(py::module_& m) {
  m.def("all_finite", &all_finite, py::arg("x"),
        "True when a C-contiguous float32 array holds no NaN or inf.");

  py::class_<PyNet>(m, "Net", "A compiled MLP whose epochs run in C++ (see csrc/net.h).")
      .def(py::init([](const std::vector<py::tuple>& layers, float input_dropout,
                       std::uint64_t seed) {
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
             return new PyNet(std::move(specs), input_dropout, seed);
           }),
           py::arg("layers"), py::arg("input_dropout"), py::arg("seed"))
      .def_property_readonly("num_params", [](PyNet& p) { return p.net.num_params(); })
      .def_property_readonly("input_width", [](PyNet& p) { return p.net.input_width(); })
      .def_property_readonly("output_width", [](PyNet& p) { return p.net.output_width(); })
      .def_property_readonly("seed", [](PyNet& p) { return p.net.seed(); })
      .def("kernel_offset", [](PyNet& p, index_t i) { return p.net.kernel_offset(i); })
      .def("bias_offset", [](PyNet& p, index_t i) { return p.net.bias_offset(i); })
      .def_property_readonly("params", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(p, self, p.net.params(), {p.net.num_params()});
      }, "The parameter arena as a writable float32 view.")
      .def_property_readonly("grads", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(p, self, p.net.grads(), {p.net.num_params()});
      }, "The gradient arena as a writable float32 view.")
      .def_property("step", [](PyNet& p) { return p.net.step; },
                    [](PyNet& p, std::int64_t s) { p.net.step = s; })
      .def_property("train_forwards", [](PyNet& p) { return p.net.train_forwards; },
                    [](PyNet& p, std::int64_t s) { p.net.train_forwards = s; })
      .def_property("epochs_shuffled", [](PyNet& p) { return p.net.epochs_shuffled; },
                    [](PyNet& p, std::int64_t s) { p.net.epochs_shuffled = s; })
      .def("set_optimizer",
           [](PyNet& p, int kind, float momentum, bool nesterov, float weight_decay, float beta1,
              float beta2, float eps) {
             FN_CHECK(kind >= 0 && kind <= 2, "optimizer code ", kind, " unknown");
             OptimSpec s;
             s.kind = static_cast<OptimKind>(kind);
             s.momentum = momentum;
             s.nesterov = nesterov;
             s.weight_decay = weight_decay;
             s.beta1 = beta1;
             s.beta2 = beta2;
             s.eps = eps;
             BusyGuard g(p);
             p.net.set_optimizer(s);
           },
           py::arg("kind"), py::arg("momentum"), py::arg("nesterov"), py::arg("weight_decay"),
           py::arg("beta1"), py::arg("beta2"), py::arg("eps"))
      .def_property_readonly("has_optimizer", [](PyNet& p) { return p.net.has_optimizer(); })
      .def_property_readonly("num_optimizer_states",
                             [](PyNet& p) { return p.net.num_optimizer_states(); })
      .def("optimizer_state", [](py::object self, int i) {
        PyNet& p = self.cast<PyNet&>();
        return view(p, self, p.net.optimizer_state(i), {p.net.num_params()});
      })
      .def("apply_update", [](PyNet& p, float lr) {
        BusyGuard g(p);
        py::gil_scoped_release nogil;
        p.net.apply_update(lr);
      }, py::arg("lr"))
      .def("forward", [](PyNet& p, const py::handle& x, bool training) {
        index_t n;
        const float* X = data_x(p, x, "x", &n);
        BusyGuard g(p);
        py::gil_scoped_release nogil;
        p.net.forward(X, n, training);
      }, py::arg("x"), py::arg("training"))
      .def("output", [](PyNet& p) {
        BusyGuard g(p);
        const index_t rows = p.net.last_rows(), cols = p.net.output_width();
        py::array_t<float> out({rows, cols});
        const float* src;
        {
          py::gil_scoped_release nogil;
          src = p.net.output();
        }
        if (rows) std::memcpy(out.mutable_data(), src, sizeof(float) * rows * cols);
        return out;
      }, "A copy of the last forward's output (after the output activation).")
      .def("loss", [](PyNet& p, const py::handle& y, const py::object& sw, int kind,
                      bool from_logits) {
        const index_t rows = p.net.last_rows();
        FN_CHECK(rows > 0, "loss: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        Targets t = data_y(p, y, spec.kind, rows, "y");
        const float* w = data_sw(sw, rows, "sample_weight");
        BusyGuard g(p);
        py::gil_scoped_release nogil;
        return p.net.loss(t, w, spec);
      }, py::arg("y"), py::arg("sample_weight"), py::arg("kind"), py::arg("from_logits"))
      .def("fused", [](PyNet& p, int kind, bool from_logits) {
        return p.net.fused(loss_spec(kind, from_logits));
      })
      .def("output_grad", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(p, self, p.net.output_grad(), {p.net.last_rows(), p.net.output_width()});
      }, "The output delta of the last loss (a writable view into the workspace).")
      .def("backward", [](PyNet& p, int kind, bool from_logits) {
        FN_CHECK(p.net.last_rows() > 0, "backward: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        BusyGuard g(p);
        py::gil_scoped_release nogil;
        p.net.backward(spec);
      }, py::arg("kind"), py::arg("from_logits"))
      .def("train_epoch",
           [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, bool shuffle, const py::object& lrs, float lr, int kind,
              bool from_logits, const std::vector<int>& metrics, const py::object& hook) {
             index_t n;
             const float* X = data_x(p, x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p, y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             const float* lr_per_batch = nullptr;
             if (!lrs.is_none()) {
               F32View v = f32_view(lrs, "lrs");
               require_contiguous(v, "lrs");
               require_shape(v, {ceil_div(n, batch_size)}, "lrs");
               lr_per_batch = v.data;
             }
             auto mk = metric_kinds(metrics);
             BatchHook h;
             if (!hook.is_none()) {
               h = [&hook](index_t b, double l, const std::vector<double>& m) {
                 py::gil_scoped_acquire gil;
                 py::object r = hook(b, l, m);
                 return r.is_none() || r.cast<bool>();
               };
             }
             BusyGuard g(p);
             py::gil_scoped_release nogil;
             EpochStats s = p.net.train_epoch(X, t, w, n, batch_size, shuffle, lr_per_batch, lr,
                                              spec, mk, h);
             py::gil_scoped_acquire gil;
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("hook"))
      .def("fit",
           [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, index_t epochs, bool shuffle, const py::object& lrs, float lr,
              int kind, bool from_logits, const std::vector<int>& metrics, const py::object& xv,
              const py::object& yv, const py::object& swv, index_t val_batch_size) {
             // Several epochs in one call (no callbacks): one row per epoch of
             // [loss, metrics..., (val_loss, val_metrics...)].
             index_t n;
             const float* X = data_x(p, x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p, y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             FN_CHECK(val_batch_size >= 1, "batch_size: expected >= 1, got ", val_batch_size);
             const index_t steps = ceil_div(n, batch_size);
             const float* lr_all = nullptr;
             if (!lrs.is_none()) {
               F32View v = f32_view(lrs, "lrs");
               require_contiguous(v, "lrs");
               require_shape(v, {steps * epochs}, "lrs");
               lr_all = v.data;
             }
             const bool has_val = !xv.is_none();
             index_t nv = 0;
             const float* XV = nullptr;
             Targets tv;
             const float* wv = nullptr;
             if (has_val) {
               XV = data_x(p, xv, "validation x", &nv);
               tv = data_y(p, yv, spec.kind, nv, "validation y");
               wv = data_sw(swv, nv, "validation sample_weight");
             }
             auto mk = metric_kinds(metrics);
             const index_t per = 1 + static_cast<index_t>(mk.size());
             const index_t width = has_val ? 2 * per : per;
             py::array_t<double> out({epochs, width});
             double* o = out.mutable_data();
             BusyGuard g(p);
             py::gil_scoped_release nogil;
             for (index_t e = 0; e < epochs; ++e) {
               EpochStats s = p.net.train_epoch(X, t, w, n, batch_size, shuffle,
                                                lr_all ? lr_all + e * steps : nullptr, lr, spec,
                                                mk, BatchHook{});
               double* row = o + e * width;
               row[0] = s.loss;
               for (size_t k = 0; k < mk.size(); ++k) row[1 + k] = s.metrics[k];
               if (has_val) {
                 EpochStats v = p.net.evaluate(XV, tv, wv, nv, val_batch_size, spec, mk);
                 row[per] = v.loss;
                 for (size_t k = 0; k < mk.size(); ++k) row[per + 1 + k] = v.metrics[k];
               }
             }
             py::gil_scoped_acquire gil;
             return out;
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("epochs"), py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("val_x"), py::arg("val_y"),
           py::arg("val_sample_weight"), py::arg("val_batch_size"))
      .def("evaluate",
           [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, int kind, bool from_logits, const std::vector<int>& metrics) {
             index_t n;
             const float* X = data_x(p, x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p, y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             auto mk = metric_kinds(metrics);
             BusyGuard g(p);
             py::gil_scoped_release nogil;
             EpochStats s = p.net.evaluate(X, t, w, n, batch_size, spec, mk);
             py::gil_scoped_acquire gil;
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("kind"), py::arg("from_logits"), py::arg("metrics"))
      .def("predict",
           [](PyNet& p, const py::handle& x, index_t batch_size, const py::handle& out) {
             index_t n;
             const float* X = data_x(p, x, "x", &n);
             F32View o = f32_view(out, "out", true);
             require_contiguous(o, "out");
             require_shape(o, {n, p.net.output_width()}, "out");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             BusyGuard g(p);
             py::gil_scoped_release nogil;
             p.net.predict(X, n, batch_size, o.data);
           },
           py::arg("x"), py::arg("batch_size"), py::arg("out"));
}

}  // namespace fusednet
