// Bindings of Net (fusednet._core.Net): check arguments, release the GIL, call Net. The arenas are
// exposed as NumPy views whose base keeps the Net alive, so Python variables are windows into them.
#include <cstring>

#include "bind_net_common.h"
#include "net.h"

namespace fusednet {

namespace {

using namespace bindnet;
using PyNet = PyModel<Net>;
using Guard = BusyGuard<Net>;

py::array_t<float> view(py::handle owner, float* data, std::vector<index_t> shape) {
  std::vector<py::ssize_t> sh(shape.begin(), shape.end()), st(shape.size());
  py::ssize_t s = sizeof(float);
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    st[static_cast<size_t>(i)] = s;
    s *= sh[static_cast<size_t>(i)];
  }
  return py::array_t<float>(sh, st, data, owner);
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

  py::class_<PyNet> c(m, "Net", "A compiled MLP whose epochs run in C++ (see csrc/net.h).");
  def_common(c);
  c.def_property_readonly("params", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(self, p.net.params(), {p.net.num_params()});
      }, "The parameter arena as a writable float32 view.")
      .def_property_readonly("grads", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(self, p.net.grads(), {p.net.num_params()});
      }, "The gradient arena as a writable float32 view.")
      .def("optimizer_state", [](py::object self, int i) {
        PyNet& p = self.cast<PyNet&>();
        return view(self, p.net.optimizer_state(i), {p.net.num_params()});
      })
      .def("output", [](PyNet& p) {
        Guard g(p);
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
      .def("output_grad", [](py::object self) {
        PyNet& p = self.cast<PyNet&>();
        return view(self, p.net.output_grad(), {p.net.last_rows(), p.net.output_width()});
      }, "The output delta of the last loss (a writable view into the workspace).")
      .def("train_epoch",
           [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, bool shuffle, const py::object& lrs, float lr, int kind,
              bool from_logits, const std::vector<int>& metrics, const py::object& hook) {
             index_t n;
             const float* X = data_x(p.net.input_width(), x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p.net.output_width(), y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             check_batch_size(batch_size);
             const float* lr_per_batch = data_lrs(lrs, ceil_div(n, batch_size));
             auto mk = metric_kinds(metrics);
             BatchHook h = batch_hook(hook);
             Guard g(p);
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
             const float* X = data_x(p.net.input_width(), x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p.net.output_width(), y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             check_batch_size(batch_size);
             check_batch_size(val_batch_size);
             const index_t steps = ceil_div(n, batch_size);
             const float* lr_all = data_lrs(lrs, steps * epochs);
             const bool has_val = !xv.is_none();
             index_t nv = 0;
             const float* XV = nullptr;
             Targets tv;
             const float* wv = nullptr;
             if (has_val) {
               XV = data_x(p.net.input_width(), xv, "validation x", &nv);
               tv = data_y(p.net.output_width(), yv, spec.kind, nv, "validation y");
               wv = data_sw(swv, nv, "validation sample_weight");
             }
             auto mk = metric_kinds(metrics);
             const index_t per = 1 + static_cast<index_t>(mk.size());
             const index_t width = has_val ? 2 * per : per;
             py::array_t<double> out({epochs, width});
             double* o = out.mutable_data();
             Guard g(p);
             py::gil_scoped_release nogil;
             for (index_t e = 0; e < epochs; ++e) {
               EpochStats s = p.net.train_epoch(X, t, w, n, batch_size, shuffle,
                                                lr_all ? lr_all + e * steps : nullptr, lr, spec,
                                                mk, BatchHook{});
               EpochStats v;
               if (has_val) v = p.net.evaluate(XV, tv, wv, nv, val_batch_size, spec, mk);
               fit_row(o + e * width, per, s, has_val ? &v : nullptr);
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
             const float* X = data_x(p.net.input_width(), x, "x", &n);
             LossSpec spec = loss_spec(kind, from_logits);
             Targets t = data_y(p.net.output_width(), y, spec.kind, n, "y");
             const float* w = data_sw(sw, n, "sample_weight");
             check_batch_size(batch_size);
             auto mk = metric_kinds(metrics);
             Guard g(p);
             py::gil_scoped_release nogil;
             EpochStats s = p.net.evaluate(X, t, w, n, batch_size, spec, mk);
             py::gil_scoped_acquire gil;
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("kind"), py::arg("from_logits"), py::arg("metrics"));
}

}  // namespace fusednet
