// Bindings of the losses, CPU and CUDA side by side: check shapes and layout once, allocate the
// gradient, then run the CPU kernel with the GIL released, or (device=Device.cuda) upload, launch,
// download. Each returns (loss, gradient of the loss w.r.t. the first argument).
//   mse(pred, target, sample_weight=None, reduction=mean, device=cpu)
//   binary_cross_entropy(logits, targets, sample_weight=None, reduction=mean, device=cpu)
//   softmax_cross_entropy(logits, labels, ...)         int64 labels in [0, cols)
//   softmax_cross_entropy_soft(logits, labels, ...)    probability targets of logits' shape
//   pair_loss(kind, pred, target, sample_weight=None, param=0, reduction=mean, device=cpu)
//                                                      the PairLoss kinds (kernels/math/loss.h)
#include <cstdint>
#include <memory>

#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"

namespace fusednet {
namespace {

// 2-D contiguous float32 input [rows, cols].
F32View matrix_arg(const py::handle& obj, const char* name) {
  F32View v = f32_view(obj, name);
  require_ndim(v, 2, name);
  require_contiguous(v, name);
  return v;
}

// Optional [rows] float32 weights; data == nullptr for None.
F32View weights_arg(const py::handle& obj, index_t rows) {
  if (obj.is_none()) return F32View{};
  F32View w = f32_view(obj, "sample_weight");
  require_shape(w, {rows}, "sample_weight");
  require_contiguous(w, "sample_weight");
  return w;
}

// Runs a loss on `device` and returns (loss, gradient). `second` points to n host elements of T
// (float targets or int64 labels). The CPU column calls cpu(grad, row_loss) with the GIL released;
// the CUDA column uploads x, the second argument and the weights, calls cuda(x, second, weights,
// grad, row_loss, loss) on device pointers, and downloads the gradient and the loss.
template <typename T, typename Cpu, typename Cuda>
py::tuple run_loss(const F32View& x, const T* second, index_t n, const F32View& w, Device device,
                   Cpu cpu, Cuda cuda) {
  const index_t rows = x.dim(0), cols = x.dim(1);
  py::array_t<float> grad({rows, cols});
  const F32View g = f32_view(grad, "out", true);
  double loss = 0.0;
  if (device == Device::Cpu) {
    std::unique_ptr<double[]> row_loss(new double[static_cast<size_t>(rows)]);  // not zeroed
    py::gil_scoped_release release;
    loss = cpu(g.data, row_loss.get());
  } else {
    on_cuda([&](auto) {
      DeviceArray dX = upload(x), dW = upload(w), dG = alloc_like(g);
      DeviceBuffer dS = device_buffer(n, second), row_loss = device_buffer<double>(rows),
                   dLoss = device_buffer<double>(1);
      cuda(dX.ptr, dS.as<T>(), dW.ptr, dG.ptr, row_loss.as<double>(), dLoss.as<double>());
      download(g, dG);
      copy_device_to_host(&loss, dLoss.data(), sizeof(double));
    });
  }
  return py::make_tuple(loss, grad);
}

using CpuDenseLoss = double (*)(const float*, const float*, const float*, float*, index_t, index_t,
                                Reduction, double*);

// A loss whose second argument is a dense [rows, cols] float32 array of the first one's shape.
// (The CUDA launcher is chosen by `kind` inside the CUDA column, so builds without CUDA never
// reference it.)
enum class DenseKind { MSE, BCE, SoftmaxCE };
struct DenseLoss {
  DenseKind kind;
  CpuDenseLoss cpu;
  const char* first;  // argument names, for messages
  const char* second;
};

py::tuple dense_loss(const DenseLoss& k, const py::handle& first, const py::handle& second,
                     const py::handle& sample_weight, Reduction red, Device device) {
  const F32View x = matrix_arg(first, k.first);
  const F32View t = matrix_arg(second, k.second);
  require_shape(t, x.shape, k.second);
  const index_t rows = x.dim(0), cols = x.dim(1);
  const F32View w = weights_arg(sample_weight, rows);
  return run_loss(
      x, t.data, t.size, w, device,
      [&](float* g, double* row_loss) {
        return k.cpu(x.data, t.data, w.data, g, rows, cols, red, row_loss);
      },
      [&](auto dx, auto dt, auto dw, auto dg, auto row_loss, auto loss) {
        const auto launch = k.kind == DenseKind::MSE   ? mse_cuda
                            : k.kind == DenseKind::BCE ? binary_cross_entropy_cuda
                                                       : softmax_cross_entropy_soft_cuda;
        launch(dx, dt, dw, dg, rows, cols, red, row_loss, loss, nullptr);
      });
}

// Softmax cross-entropy with int64 class indices; labels are checked here for both columns (the
// CUDA kernel could only flag a bad one).
py::tuple sparse_softmax_ce(const py::handle& logits, const py::handle& labels,
                            const py::handle& sample_weight, Reduction red, Device device) {
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
  require_aligned(lab, "labels");
  const auto* lp = static_cast<const std::int64_t*>(lab.data());
  for (index_t i = 0; i < rows; ++i)
    FN_CHECK(lp[i] >= 0 && lp[i] < cols, "labels: expected class indices in [0, ", cols, "), got ",
             lp[i], " at row ", i);
  const F32View w = weights_arg(sample_weight, rows);
  return run_loss(
      x, lp, rows, w, device,
      [&](float* g, double* row_loss) {
        return softmax_cross_entropy_cpu(x.data, lp, w.data, g, rows, cols, red, row_loss);
      },
      [&](auto dx, auto dl, auto dw, auto dg, auto row_loss, auto loss) {
        softmax_cross_entropy_cuda(dx, dl, dw, dg, rows, cols, red, row_loss, loss);
      });
}

// One of the pair losses: pred and target dense [rows, cols] of the same shape.
py::tuple pair_loss(PairLoss kind, const py::handle& pred, const py::handle& target,
                    const py::handle& sample_weight, float param, Reduction red, Device device) {
  const F32View x = matrix_arg(pred, "pred");
  const F32View t = matrix_arg(target, "target");
  require_shape(t, x.shape, "target");
  const index_t rows = x.dim(0), cols = x.dim(1);
  const F32View w = weights_arg(sample_weight, rows);
  check_pair_loss(kind, param, rows, cols);  // before any upload
  return run_loss(
      x, t.data, t.size, w, device,
      [&](float* g, double* row_loss) {
        return pair_loss_cpu(kind, param, x.data, t.data, w.data, g, rows, cols, red, row_loss);
      },
      [&](auto dx, auto dt, auto dw, auto dg, auto row_loss, auto loss) {
        pair_loss_cuda(kind, param, dx, dt, dw, dg, rows, cols, red, row_loss, loss);
      });
}

void def_dense_loss(py::module_& m, const char* name, DenseLoss k, const char* doc) {
  using py::arg;
  m.def(
      name,
      [k](py::handle first, py::handle second, py::handle sample_weight, Reduction reduction,
          Device device) { return dense_loss(k, first, second, sample_weight, reduction, device); },
      arg(k.first), arg(k.second), arg("sample_weight") = py::none(),
      py::arg_v("reduction", Reduction::Mean, "Reduction.mean"),
      py::arg_v("device", Device::Cpu, "Device.cpu"), doc);
}

}  // namespace

void bind_loss(py::module_& m) {
  def_dense_loss(m, "mse", {DenseKind::MSE, mse_cpu, "pred", "target"},
                 "(loss, dpred) for 2-D contiguous float32 pred/target; mean over columns per "
                 "row.");
  def_dense_loss(m, "binary_cross_entropy",
                 {DenseKind::BCE, binary_cross_entropy_cpu, "logits", "targets"},
                 "(loss, dlogits) of BCE from logits, 2-D contiguous float32.");
  def_dense_loss(m, "softmax_cross_entropy_soft",
                 {DenseKind::SoftmaxCE, softmax_cross_entropy_soft_cpu, "logits", "labels"},
                 "(loss, dlogits) of softmax cross-entropy with probability targets (2-D, "
                 "logits' shape).");
  using py::arg;
  m.def("softmax_cross_entropy", &sparse_softmax_ce, arg("logits"), arg("labels"),
        arg("sample_weight") = py::none(),
        py::arg_v("reduction", Reduction::Mean, "Reduction.mean"),
        py::arg_v("device", Device::Cpu, "Device.cpu"),
        "(loss, dlogits) of softmax cross-entropy with int64 labels in [0, cols).");
  m.def("pair_loss", &pair_loss, arg("kind"), arg("pred"), arg("target"),
        arg("sample_weight") = py::none(), arg("param") = 0.0f,
        py::arg_v("reduction", Reduction::Mean, "Reduction.mean"),
        py::arg_v("device", Device::Cpu, "Device.cpu"),
        "(loss, dpred) of a PairLoss (param: huber's delta), 2-D contiguous float32 of one shape.");
}

}  // namespace fusednet
