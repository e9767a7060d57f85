// Bindings of NetCuda (fusednet._core.NetCuda): the same methods as _core.Net, except that the
// arenas live on the GPU, so they are read and written as host copies (get_params / set_params,
// get_grads / set_grads, get/set_optimizer_state, get/set_output_grad) instead of NumPy views.
// Without CUDA compiled in, the class still exists and its constructor raises RuntimeError.
#include <atomic>
#include <cstring>
#include <stdexcept>

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bind_util.h"
#include "net_cuda.h"

namespace fusednet {

#ifdef FUSEDNET_WITH_CUDA

namespace {

struct PyNetCuda {
  NetCuda net;
  std::atomic<bool> busy{false};
  template <typename... A>
  explicit PyNetCuda(A&&... a) : net(std::forward<A>(a)...) {}
};

struct Busy {
  PyNetCuda& p;
  explicit Busy(PyNetCuda& n) : p(n) {
    if (p.busy.exchange(true))
      throw std::runtime_error("this model is already running in another thread");
  }
  ~Busy() { p.busy.store(false); }
};

// X: C-contiguous float32 (n, input_width).
const float* data_x(PyNetCuda& p, const py::handle& x, const char* name, index_t* n) {
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
Targets data_y(PyNetCuda& p, const py::handle& y, LossKind kind, index_t n, const char* name) {
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

HostData host_data(PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
                   LossKind kind, const char* xn, const char* yn, const char* swn) {
  HostData h;
  h.X = data_x(p, x, xn, &h.n);
  h.y = data_y(p, y, kind, h.n, yn);
  h.sw = data_sw(sw, h.n, swn);
  return h;
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

// A host array of n floats from the device.
py::array_t<float> host_copy(PyNetCuda& p, void (NetCuda::*get)(float*) const, index_t n) {
  py::array_t<float> out(n);
  float* dst = out.mutable_data();
  Busy g(p);
  py::gil_scoped_release nogil;
  (p.net.*get)(dst);
  return out;
}

// An arena-sized float32 (n,) array checked and uploaded.
const float* arena_arg(PyNetCuda& p, const py::handle& a, const char* name) {
  F32View v = f32_view(a, name);
  require_contiguous(v, name);
  require_shape(v, {p.net.num_params()}, name);
  return v.data;
}

}  // namespace

void bind_net_cuda(py::module_& m) {
  py::class_<PyNetCuda>(m, "NetCuda",
                        "A compiled MLP whose arenas, workspace and data live on the GPU "
                        "(see csrc/net_cuda.h). Arenas are read/written as host copies.")
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
             return new PyNetCuda(std::move(specs), input_dropout, seed);
           }),
           py::arg("layers"), py::arg("input_dropout"), py::arg("seed"))
      .def_property_readonly("num_params", [](PyNetCuda& p) { return p.net.num_params(); })
      .def_property_readonly("input_width", [](PyNetCuda& p) { return p.net.input_width(); })
      .def_property_readonly("output_width", [](PyNetCuda& p) { return p.net.output_width(); })
      .def_property_readonly("seed", [](PyNetCuda& p) { return p.net.seed(); })
      .def("kernel_offset", [](PyNetCuda& p, index_t i) { return p.net.kernel_offset(i); })
      .def("bias_offset", [](PyNetCuda& p, index_t i) { return p.net.bias_offset(i); })
      .def("get_params", [](PyNetCuda& p) {
        return host_copy(p, &NetCuda::get_params, p.net.num_params());
      }, "A host copy of the parameter arena.")
      .def("set_params", [](PyNetCuda& p, const py::handle& a) {
        const float* src = arena_arg(p, a, "params");
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.set_params(src);
      }, py::arg("params"))
      .def("get_grads", [](PyNetCuda& p) {
        return host_copy(p, &NetCuda::get_grads, p.net.num_params());
      }, "A host copy of the gradient arena.")
      .def("set_grads", [](PyNetCuda& p, const py::handle& a) {
        const float* src = arena_arg(p, a, "grads");
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.set_grads(src);
      }, py::arg("grads"))
      .def_property("step", [](PyNetCuda& p) { return p.net.step; },
                    [](PyNetCuda& p, std::int64_t s) { p.net.step = s; })
      .def_property("train_forwards", [](PyNetCuda& p) { return p.net.train_forwards; },
                    [](PyNetCuda& p, std::int64_t s) { p.net.train_forwards = s; })
      .def_property("epochs_shuffled", [](PyNetCuda& p) { return p.net.epochs_shuffled; },
                    [](PyNetCuda& p, std::int64_t s) { p.net.epochs_shuffled = s; })
      .def_property("max_resident_bytes", [](PyNetCuda& p) { return p.net.max_resident_bytes; },
                    [](PyNetCuda& p, std::int64_t b) { p.net.max_resident_bytes = b; },
                    "Largest data set kept on the device (-1: from free memory; 0: always "
                    "stream batches from the host).")
      .def("set_optimizer",
           [](PyNetCuda& p, int kind, float momentum, bool nesterov, float weight_decay,
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
             Busy g(p);
             p.net.set_optimizer(s);
           },
           py::arg("kind"), py::arg("momentum"), py::arg("nesterov"), py::arg("weight_decay"),
           py::arg("beta1"), py::arg("beta2"), py::arg("eps"))
      .def_property_readonly("has_optimizer", [](PyNetCuda& p) { return p.net.has_optimizer(); })
      .def_property_readonly("num_optimizer_states",
                             [](PyNetCuda& p) { return p.net.num_optimizer_states(); })
      .def("get_optimizer_state", [](PyNetCuda& p, int i) {
        FN_CHECK(i >= 0 && i < p.net.num_optimizer_states(), "optimizer state ", i,
                 " does not exist");
        py::array_t<float> out(p.net.num_params());
        float* dst = out.mutable_data();
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.get_optimizer_state(i, dst);
        return out;
      }, py::arg("i"))
      .def("set_optimizer_state", [](PyNetCuda& p, int i, const py::handle& a) {
        const float* src = arena_arg(p, a, "state");
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.set_optimizer_state(i, src);
      }, py::arg("i"), py::arg("state"))
      .def("apply_update", [](PyNetCuda& p, float lr) {
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.apply_update(lr);
      }, py::arg("lr"))
      .def("forward", [](PyNetCuda& p, const py::handle& x, bool training) {
        index_t n;
        const float* X = data_x(p, x, "x", &n);
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.forward(X, n, training);
      }, py::arg("x"), py::arg("training"))
      .def_property_readonly("last_rows", [](PyNetCuda& p) { return p.net.last_rows(); })
      .def("output", [](PyNetCuda& p) {
        const index_t rows = p.net.last_rows(), cols = p.net.output_width();
        py::array_t<float> out({rows, cols});
        float* dst = out.mutable_data();
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.output(dst);
        return out;
      }, "A copy of the last forward's output (after the output activation).")
      .def("loss", [](PyNetCuda& p, const py::handle& y, const py::object& sw, int kind,
                      bool from_logits) {
        const index_t rows = p.net.last_rows();
        FN_CHECK(rows > 0, "loss: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        Targets t = data_y(p, y, spec.kind, rows, "y");
        const float* w = data_sw(sw, rows, "sample_weight");
        Busy g(p);
        py::gil_scoped_release nogil;
        return p.net.loss(t, w, spec);
      }, py::arg("y"), py::arg("sample_weight"), py::arg("kind"), py::arg("from_logits"))
      .def("fused", [](PyNetCuda& p, int kind, bool from_logits) {
        return p.net.fused(loss_spec(kind, from_logits));
      })
      .def("get_output_grad", [](PyNetCuda& p) {
        const index_t rows = p.net.last_rows(), cols = p.net.output_width();
        py::array_t<float> out({rows, cols});
        float* dst = out.mutable_data();
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.get_output_grad(dst);
        return out;
      }, "A host copy of the output delta of the last loss.")
      .def("set_output_grad", [](PyNetCuda& p, const py::handle& a) {
        F32View v = f32_view(a, "dout");
        require_contiguous(v, "dout");
        require_shape(v, {p.net.last_rows(), p.net.output_width()}, "dout");
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.set_output_grad(v.data);
      }, py::arg("dout"))
      .def("backward", [](PyNetCuda& p, int kind, bool from_logits) {
        FN_CHECK(p.net.last_rows() > 0, "backward: run forward first");
        LossSpec spec = loss_spec(kind, from_logits);
        Busy g(p);
        py::gil_scoped_release nogil;
        p.net.backward(spec);
      }, py::arg("kind"), py::arg("from_logits"))
      .def("train_epoch",
           [](PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, bool shuffle, const py::object& lrs, float lr, int kind,
              bool from_logits, const std::vector<int>& metrics, const py::object& hook) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p, x, y, sw, spec.kind, "x", "y", "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             const float* lr_per_batch = nullptr;
             if (!lrs.is_none()) {
               F32View v = f32_view(lrs, "lrs");
               require_contiguous(v, "lrs");
               require_shape(v, {ceil_div(h.n, batch_size)}, "lrs");
               lr_per_batch = v.data;
             }
             auto mk = metric_kinds(metrics);
             BatchHook hk;
             if (!hook.is_none()) {
               hk = [&hook](index_t b, double l, const std::vector<double>& m) {
                 py::gil_scoped_acquire gil;
                 py::object r = hook(b, l, m);
                 return r.is_none() || r.cast<bool>();
               };
             }
             Busy g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = p.net.train_epoch(h, batch_size, shuffle, lr_per_batch, lr, spec, mk, hk);
             }
             return py::make_tuple(s.loss, s.metrics, s.batches);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("hook"))
      .def("fit",
           [](PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, index_t epochs, bool shuffle, const py::object& lrs, float lr,
              int kind, bool from_logits, const std::vector<int>& metrics, const py::object& xv,
              const py::object& yv, const py::object& swv, index_t val_batch_size) {
             // Several epochs on one upload (no callbacks): one row per epoch of
             // [loss, metrics..., (val_loss, val_metrics...)], as _core.Net.fit.
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p, x, y, sw, spec.kind, "x", "y", "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             FN_CHECK(val_batch_size >= 1, "batch_size: expected >= 1, got ", val_batch_size);
             FN_CHECK(epochs >= 0, "epochs: expected >= 0, got ", epochs);
             const index_t steps = ceil_div(h.n, batch_size);
             const float* lr_all = nullptr;
             if (!lrs.is_none()) {
               F32View v = f32_view(lrs, "lrs");
               require_contiguous(v, "lrs");
               require_shape(v, {steps * epochs}, "lrs");
               lr_all = v.data;
             }
             const bool has_val = !xv.is_none();
             HostData hv;
             if (has_val)
               hv = host_data(p, xv, yv, swv, spec.kind, "validation x", "validation y",
                              "validation sample_weight");
             auto mk = metric_kinds(metrics);
             const index_t per = 1 + static_cast<index_t>(mk.size());
             const index_t width = has_val ? 2 * per : per;
             std::vector<EpochStats> tr, va;
             {
               Busy g(p);
               py::gil_scoped_release nogil;
               p.net.fit(h, batch_size, epochs, shuffle, lr_all, lr, spec, mk,
                         has_val ? &hv : nullptr, val_batch_size, &tr, &va);
             }
             py::array_t<double> out({epochs, width});
             double* o = out.mutable_data();
             for (index_t e = 0; e < epochs; ++e) {
               double* row = o + e * width;
               const EpochStats& s = tr[static_cast<size_t>(e)];
               row[0] = s.loss;
               for (size_t k = 0; k < mk.size(); ++k) row[1 + k] = s.metrics[k];
               if (has_val) {
                 const EpochStats& v = va[static_cast<size_t>(e)];
                 row[per] = v.loss;
                 for (size_t k = 0; k < mk.size(); ++k) row[per + 1 + k] = v.metrics[k];
               }
             }
             return out;
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("epochs"), py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("kind"),
           py::arg("from_logits"), py::arg("metrics"), py::arg("val_x"), py::arg("val_y"),
           py::arg("val_sample_weight"), py::arg("val_batch_size"))
      .def("evaluate",
           [](PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, int kind, bool from_logits, const std::vector<int>& metrics) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p, x, y, sw, spec.kind, "x", "y", "sample_weight");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             auto mk = metric_kinds(metrics);
             Busy g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = p.net.evaluate(h, batch_size, spec, mk);
             }
             return py::make_tuple(s.loss, s.metrics, s.batches);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("kind"), py::arg("from_logits"), py::arg("metrics"))
      .def("predict",
           [](PyNetCuda& p, const py::handle& x, index_t batch_size, const py::handle& out) {
             index_t n;
             const float* X = data_x(p, x, "x", &n);
             F32View o = f32_view(out, "out", true);
             require_contiguous(o, "out");
             require_shape(o, {n, p.net.output_width()}, "out");
             FN_CHECK(batch_size >= 1, "batch_size: expected >= 1, got ", batch_size);
             Busy g(p);
             py::gil_scoped_release nogil;
             p.net.predict(X, n, batch_size, o.data);
           },
           py::arg("x"), py::arg("batch_size"), py::arg("out"));
}

#else  // no CUDA compiled in: the class exists so code can name it, and says why it cannot work

namespace {
struct NoNetCuda {};
}  // namespace

void bind_net_cuda(py::module_& m) {
  py::class_<NoNetCuda>(m, "NetCuda", "Unavailable: this fusednet was built without CUDA.")
      .def(py::init([](py::args, py::kwargs) -> NoNetCuda* {
        throw std::runtime_error(
            "CUDA not compiled: this fusednet build has no CUDA support (built with "
            "FUSEDNET_CUDA=OFF or without nvcc); use device='cpu'");
      }));
}

#endif  // FUSEDNET_WITH_CUDA

}  // namespace fusednet
