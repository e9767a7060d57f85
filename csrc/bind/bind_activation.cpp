// Bindings for activations, softmax and reductions: check dtype / size / contiguity, release the
// GIL, call the kernel. The Python layer (ops/_activation.py, ops/_reduce.py) makes inputs
// contiguous and allocates outputs; these functions write into the arrays they are given.
#include "bind/util.h"
#include "kernels/cpu.h"

namespace fusednet {

namespace {

Activation to_activation(int code) {
  if (code < 0 || code > static_cast<int>(Activation::GELUTanh))
    throw py::value_error("act: expected an activation code in [0, 6], got " +
                          std::to_string(code));
  return static_cast<Activation>(code);
}

F32View dense(const py::handle& a, const char* name, bool writable = false) {
  F32View v = f32_view(a, name, writable);
  if (v.size == 0) v.contiguous = true;  // NumPy may give empty arrays any strides, e.g. (0, 0)
  require_contiguous(v, name);
  return v;
}

void require_same_size(const F32View& v, const F32View& ref, const char* name,
                       const char* ref_name) {
  if (v.size != ref.size)
    throw py::value_error(std::string(name) + ": expected " + std::to_string(ref.size) +
                          " elements like " + ref_name + ", got " + std::to_string(v.size) +
                          " (shape " + shape_str(v.shape) + ")");
}

// A contiguous array seen as [rows, cols] over its last axis.
void rows_cols(const F32View& v, const char* name, index_t& rows, index_t& cols) {
  if (v.ndim() < 1)
    throw py::value_error(std::string(name) + ": expected an array with at least 1 dimension, "
                          "got a 0-D array");
  cols = v.dim(v.ndim() - 1);
  rows = 1;
  for (int i = 0; i + 1 < v.ndim(); ++i) rows *= v.dim(i);
}

}  // namespace

void bind_activation(py::module_& m) {
  m.def(
      "activation_forward",
      [](py::array x, py::array y, int act, float param) {
        auto xv = dense(x, "x"), yv = dense(y, "out", true);
        require_same_size(yv, xv, "out", "x");
        const Activation a = to_activation(act);
        py::gil_scoped_release nogil;
        activation_forward_cpu(a, param, xv.data, yv.data, xv.size);
      },
      py::arg("x"), py::arg("out"), py::arg("act"), py::arg("param") = 0.0f,
      "out = act(x) elementwise; contiguous float32 arrays of equal size (out may be x).");

  m.def(
      "activation_backward",
      [](py::array dy, py::array x, py::array dx, int act, float param) {
        auto dyv = dense(dy, "dy"), xv = dense(x, "x"), dxv = dense(dx, "out", true);
        require_same_size(dyv, xv, "dy", "x");
        require_same_size(dxv, xv, "out", "x");
        const Activation a = to_activation(act);
        py::gil_scoped_release nogil;
        activation_backward_cpu(a, param, dyv.data, xv.data, dxv.data, xv.size);
      },
      py::arg("dy"), py::arg("x"), py::arg("out"), py::arg("act"), py::arg("param") = 0.0f,
      "out = dy * act'(x), x the forward input (out may be dy).");

  m.def(
      "activation_backward_from_output",
      [](py::array dy, py::array y, py::array dx, int act, float param) {
        auto dyv = dense(dy, "dy"), yv = dense(y, "y"), dxv = dense(dx, "out", true);
        require_same_size(dyv, yv, "dy", "y");
        require_same_size(dxv, yv, "out", "y");
        const Activation a = to_activation(act);
        py::gil_scoped_release nogil;
        activation_backward_from_output_cpu(a, param, dyv.data, yv.data, dxv.data, yv.size);
      },
      py::arg("dy"), py::arg("y"), py::arg("out"), py::arg("act"), py::arg("param") = 0.0f,
      "out = dy * act'(x) computed from the forward output y (not for the gelus).");

  m.def(
      "softmax_forward",
      [](py::array x, py::array y, bool log) {
        auto xv = dense(x, "x"), yv = dense(y, "out", true);
        require_same_size(yv, xv, "out", "x");
        index_t rows, cols;
        rows_cols(xv, "x", rows, cols);
        py::gil_scoped_release nogil;
        softmax_forward_cpu(xv.data, yv.data, rows, cols, log);
      },
      py::arg("x"), py::arg("out"), py::arg("log") = false,
      "Row-wise (last axis) softmax or log_softmax of a contiguous array into out.");

  m.def(
      "softmax_backward",
      [](py::array dy, py::array x, py::array dx, bool log) {
        auto dyv = dense(dy, "dy"), xv = dense(x, "x"), dxv = dense(dx, "out", true);
        require_same_size(dyv, xv, "dy", "x");
        require_same_size(dxv, xv, "out", "x");
        index_t rows, cols;
        rows_cols(xv, "x", rows, cols);
        py::gil_scoped_release nogil;
        softmax_backward_cpu(dyv.data, xv.data, dxv.data, rows, cols, log);
      },
      py::arg("dy"), py::arg("x"), py::arg("out"), py::arg("log") = false,
      "Gradient of row-wise softmax / log_softmax from dy and the forward input x.");

  m.def(
      "bias_grad",
      [](py::array dy, py::array db) {
        auto dyv = dense(dy, "dy"), dbv = dense(db, "out", true);
        require_ndim(dyv, 2, "dy");
        require_shape(dbv, {dyv.dim(1)}, "out");
        py::gil_scoped_release nogil;
        bias_grad_cpu(dyv.data, dbv.data, dyv.dim(0), dyv.dim(1));
      },
      py::arg("dy"), py::arg("out"), "out[j] = sum_i dy[i, j], rows added in order.");

  m.def(
      "argmax_rows",
      [](py::array x) {
        auto xv = dense(x, "x");
        require_ndim(xv, 2, "x");
        const index_t rows = xv.dim(0), cols = xv.dim(1);
        if (cols == 0 && rows > 0)
          throw py::value_error("x: expected at least one column, got shape " +
                                shape_str(xv.shape));
        py::array_t<std::int64_t> out(static_cast<py::ssize_t>(rows));
        std::int64_t* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          argmax_rows_cpu(xv.data, o, rows, cols);
        }
        return out;
      },
      py::arg("x"), "Index of the first maximum of each row (a NaN counts as the maximum).");
}

}  // namespace fusednet
