// Bindings of NetCuda (fusednet._core.NetCuda): the same methods as _core.Net, except that the
// arenas live on the GPU, so they are read and written as host copies (get_params / set_params,
// get_grads / set_grads, get/set_optimizer_state, get/set_output_grad) instead of NumPy views.
// Without CUDA compiled in, the class still exists and its constructor raises RuntimeError.
#include <stdexcept>

#include <pybind11/stl.h>

#include "bind_net_common.h"
#include "bind_util.h"
#include "net_cuda.h"

namespace fusednet {

#ifdef FUSEDNET_WITH_CUDA

namespace {

using namespace bindnet;
using PyNetCuda = PyModel<NetCuda>;
using Busy = BusyGuard<NetCuda>;

HostData host_data(PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
                   LossKind kind, const char* xn, const char* yn, const char* swn) {
  HostData h;
  h.X = data_x(p.net.input_width(), x, xn, &h.n);
  h.y = data_y(p.net.output_width(), y, kind, h.n, yn);
  h.sw = data_sw(sw, h.n, swn);
  return h;
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
  py::class_<PyNetCuda> c(m, "NetCuda",
                          "A compiled MLP whose arenas, workspace and data live on the GPU "
                          "(see csrc/net_cuda.h). Arenas are read/written as host copies.");
  def_common(c);
  c.def("get_params", [](PyNetCuda& p) {
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
      .def_property("max_resident_bytes", [](PyNetCuda& p) { return p.net.max_resident_bytes; },
                    [](PyNetCuda& p, std::int64_t b) { p.net.max_resident_bytes = b; },
                    "Largest data set kept on the device (-1: from free memory; 0: always "
                    "stream batches from the host).")
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
      .def("train_epoch",
           [](PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, bool shuffle, const py::object& lrs, float lr, int kind,
              bool from_logits, const std::vector<int>& metrics, const py::object& hook) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p, x, y, sw, spec.kind, "x", "y", "sample_weight");
             check_batch_size(batch_size);
             const float* lr_per_batch = data_lrs(lrs, ceil_div(h.n, batch_size));
             auto mk = metric_kinds(metrics);
             BatchHook hk = batch_hook(hook);
             Busy g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = p.net.train_epoch(h, batch_size, shuffle, lr_per_batch, lr, spec, mk, hk);
             }
             return stats_tuple(s);
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
             check_batch_size(batch_size);
             check_batch_size(val_batch_size);
             FN_CHECK(epochs >= 0, "epochs: expected >= 0, got ", epochs);
             const float* lr_all = data_lrs(lrs, ceil_div(h.n, batch_size) * epochs);
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
           [](PyNetCuda& p, const py::handle& x, const py::handle& y, const py::object& sw,
              index_t batch_size, int kind, bool from_logits, const std::vector<int>& metrics) {
             LossSpec spec = loss_spec(kind, from_logits);
             HostData h = host_data(p, x, y, sw, spec.kind, "x", "y", "sample_weight");
             check_batch_size(batch_size);
             auto mk = metric_kinds(metrics);
             Busy g(p);
             EpochStats s;
             {
               py::gil_scoped_release nogil;
               s = p.net.evaluate(h, batch_size, spec, mk);
             }
             return stats_tuple(s);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
           py::arg("kind"), py::arg("from_logits"), py::arg("metrics"));
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
