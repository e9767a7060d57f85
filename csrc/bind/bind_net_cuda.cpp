// Bindings of NetCuda (fusednet._core.NetCuda): the same methods as _core.Net, except that the
// arenas live on the GPU, so they are read and written as host copies (get_params / set_params,
// get_grads / set_grads, get/set_optimizer_state, get/set_output_grad) instead of NumPy views.
// Without CUDA compiled in, the class still exists and its constructor raises RuntimeError.
#include <stdexcept>

#include <pybind11/stl.h>

#include "bind/bind_net_common.h"
#include "bind/util.h"
#include "net/net_cuda.h"

namespace fusednet {

#ifdef FUSEDNET_WITH_CUDA

namespace {

using namespace bindnet;
using PyNetCuda = PyModel<NetCuda>;
using Busy = BusyGuard<NetCuda>;

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

namespace bindnet {
// NetCuda uploads a data set once per call and runs all of fit's epochs on that upload.
template <>
struct DataSetRunner<NetCuda> {
  static EpochStats train_epoch(NetCuda& net, const HostData& h, index_t batch_size, bool shuffle,
                                const float* lrs, float lr, const LossSpec& spec,
                                const std::vector<MetricKind>& metrics, const BatchHook& hook) {
    return net.train_epoch(h, batch_size, shuffle, lrs, lr, spec, metrics, hook);
  }
  static EpochStats evaluate(NetCuda& net, const HostData& h, index_t batch_size,
                             const LossSpec& spec, const std::vector<MetricKind>& metrics) {
    return net.evaluate(h, batch_size, spec, metrics);
  }
  static void fit(NetCuda& net, const HostData& h, index_t batch_size, index_t epochs,
                  bool shuffle, const float* lrs, float lr, const LossSpec& spec,
                  const std::vector<MetricKind>& metrics, const HostData* val,
                  index_t val_batch_size, std::vector<EpochStats>* train_out,
                  std::vector<EpochStats>* val_out) {
    net.fit(h, batch_size, epochs, shuffle, lrs, lr, spec, metrics, val, val_batch_size,
            train_out, val_out);
  }
};
}  // namespace bindnet

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
      .def_property("stream_chunk_bytes", [](PyNetCuda& p) { return p.net.stream_chunk_bytes; },
                    [](PyNetCuda& p, std::int64_t b) { p.net.stream_chunk_bytes = b; },
                    "Host bytes per copy of a streamed data set (whole batches, at least one).")
      .def("hold_data", [](PyNetCuda& p, bool hold) {
        Busy g(p);
        p.net.hold_data(hold);
      }, py::arg("hold"),
         "While held, the data sets of train_epoch/evaluate stay on the device between calls "
         "(recognised by their host arrays, which must not change meanwhile).")
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
      }, py::arg("dout"));
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
