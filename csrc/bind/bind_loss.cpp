// Bindings for the losses: check shapes and layout, allocate the gradient and the row_loss
// workspace, release the GIL, call the kernel, return (loss, gradient). No arithmetic here.
#include <memory>

#include "bind/util.h"
#include "kernels/cpu.h"

namespace fusednet {
namespace {

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  throw py::value_error("reduction: expected one of 'mean', 'sum', got '" + name + "'");
}

// Like require_contiguous, but an empty array (NumPy may give it zero strides) is dense.
void require_dense(const F32View& v, const char* name) {
  if (v.size != 0) require_contiguous(v, name);
}

// 2-D contiguous float32 input [rows, cols].
F32View matrix_arg(const py::handle& obj, const char* name) {
  F32View v = f32_view(obj, name);
  require_ndim(v, 2, name);
  require_dense(v, name);
  return v;
}

// Optional [rows] float32 weights; nullptr for None.
const float* weights_arg(const py::handle& obj, index_t rows) {
  if (obj.is_none()) return nullptr;
  F32View w = f32_view(obj, "sample_weight");
  require_shape(w, {rows}, "sample_weight");
  require_dense(w, "sample_weight");
  return w.data;
}

using DenseLoss = double (*)(const float*, const float*, const float*, float*, index_t, index_t,
                             Reduction, double*);

// Shared body of the losses whose second argument is a dense [rows, cols] float32 array.
py::tuple dense_loss(DenseLoss kernel, const py::handle& first, const char* first_name,
                     const py::handle& second, const char* second_name,
                     const py::handle& sample_weight, const std::string& reduction) {
  const Reduction red = parse_reduction(reduction);
  const F32View x = matrix_arg(first, first_name);
  const F32View t = matrix_arg(second, second_name);
  require_shape(t, x.shape, second_name);
  const index_t rows = x.dim(0), cols = x.dim(1);
  const float* w = weights_arg(sample_weight, rows);
  py::array_t<float> grad({rows, cols});
  float* g = grad.mutable_data();
  std::unique_ptr<double[]> row_loss(new double[static_cast<size_t>(rows)]);  // not zeroed
  double loss;
  {
    py::gil_scoped_release release;
    loss = kernel(x.data, t.data, w, g, rows, cols, red, row_loss.get());
  }
  return py::make_tuple(loss, grad);
}

}  // namespace

void bind_loss(py::module_& m) {
  m.def(
      "mse",
      [](py::handle pred, py::handle target, py::handle sample_weight,
         const std::string& reduction) {
        return dense_loss(mse_cpu, pred, "pred", target, "target", sample_weight, reduction);
      },
      py::arg("pred"), py::arg("target"), py::arg("sample_weight") = py::none(),
      py::arg("reduction") = "mean",
      "(loss, dpred) for 2-D contiguous float32 pred/target; mean over columns per row.");
  m.def(
      "binary_cross_entropy",
      [](py::handle logits, py::handle targets, py::handle sample_weight,
         const std::string& reduction) {
        return dense_loss(binary_cross_entropy_cpu, logits, "logits", targets, "targets",
                          sample_weight, reduction);
      },
      py::arg("logits"), py::arg("targets"), py::arg("sample_weight") = py::none(),
      py::arg("reduction") = "mean", "(loss, dlogits) of BCE from logits, 2-D contiguous float32.");
  m.def(
      "softmax_cross_entropy_soft",
      [](py::handle logits, py::handle targets, py::handle sample_weight,
         const std::string& reduction) {
        return dense_loss(softmax_cross_entropy_soft_cpu, logits, "logits", targets, "labels",
                          sample_weight, reduction);
      },
      py::arg("logits"), py::arg("targets"), py::arg("sample_weight") = py::none(),
      py::arg("reduction") = "mean",
      "(loss, dlogits) of softmax cross-entropy with probability targets (2-D, logits' shape).");
  m.def(
      "softmax_cross_entropy",
      [](py::handle logits, py::handle labels, py::handle sample_weight,
         const std::string& reduction) {
        const Reduction red = parse_reduction(reduction);
        const F32View x = matrix_arg(logits, "logits");
        const index_t rows = x.dim(0), cols = x.dim(1);
        if (!py::isinstance<py::array>(labels) ||
            !py::reinterpret_borrow<py::array>(labels).dtype().is(py::dtype::of<std::int64_t>()))
          throw py::type_error("labels: expected a numpy.ndarray of int64");
        auto lab = py::reinterpret_borrow<py::array>(labels);
        if (lab.ndim() != 1 || lab.shape(0) != rows)
          throw py::value_error("labels: expected shape (" + std::to_string(rows) +
                                ",) (one label per row of logits)");
        if (rows != 0 && !(lab.flags() & py::array::c_style))
          throw py::value_error("labels: expected a C-contiguous array");
        const auto* lp = static_cast<const std::int64_t*>(lab.data());
        const float* w = weights_arg(sample_weight, rows);
        py::array_t<float> grad({rows, cols});
        float* g = grad.mutable_data();
        std::unique_ptr<double[]> row_loss(new double[static_cast<size_t>(rows)]);  // not zeroed
        double loss;
        {
          py::gil_scoped_release release;
          loss = softmax_cross_entropy_cpu(x.data, lp, w, g, rows, cols, red, row_loss.get());
        }
        return py::make_tuple(loss, grad);
      },
      py::arg("logits"), py::arg("labels"), py::arg("sample_weight") = py::none(),
      py::arg("reduction") = "mean",
      "(loss, dlogits) of softmax cross-entropy with int64 labels in [0, cols).");
}

}  // namespace fusednet
