// Bindings of Net (fusednet._core.Net): check arguments, release the GIL, call Net. The arenas are
// exposed as NumPy views whose base keeps the Net alive, so Python variables are windows into them.
#include <cstring>

#include "bind/bind_net_common.h"
#include "net/net.h"

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

namespace bindnet {
// Net takes a data set as pointers; fit is its epochs (and validations) one after another.
template <>
struct DataSetRunner<Net> {
  static EpochStats train_epoch(Net& net, const HostData& h, index_t batch_size, bool shuffle,
                                const float* lrs, float lr, const LossSpec& spec,
                                const std::vector<MetricKind>& metrics, const BatchHook& hook) {
    return net.train_epoch(h.X, h.y, h.sw, h.n, batch_size, shuffle, lrs, lr, spec, metrics, hook);
  }
  static EpochStats evaluate(Net& net, const HostData& h, index_t batch_size, const LossSpec& spec,
                             const std::vector<MetricKind>& metrics) {
    return net.evaluate(h.X, h.y, h.sw, h.n, batch_size, spec, metrics);
  }
  static void fit(Net& net, const HostData& h, index_t batch_size, index_t epochs, bool shuffle,
                  const float* lrs, float lr, const LossSpec& spec,
                  const std::vector<MetricKind>& metrics, const HostData* val,
                  index_t val_batch_size, std::vector<EpochStats>* train_out,
                  std::vector<EpochStats>* val_out) {
    const index_t steps = ceil_div(h.n, batch_size);
    for (index_t e = 0; e < epochs; ++e) {
      train_out->push_back(train_epoch(net, h, batch_size, shuffle, lrs ? lrs + e * steps : nullptr,
                                       lr, spec, metrics, BatchHook{}));
      if (val) val_out->push_back(evaluate(net, *val, val_batch_size, spec, metrics));
    }
  }
};
}  // namespace bindnet

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
      }, "The output delta of the last loss (a writable view into the workspace).");
}

}  // namespace fusednet
