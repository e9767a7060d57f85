// The C++ enums as Python types (fusednet._core.Activation, ...), registered once before any
// binding that takes them, so Python names values instead of mirroring integer codes.
#include "bind/util.h"
#include "kernels/types.h"
#include "net/spec.h"
#include "runtime/cuda_device.h"

namespace fusednet {

void bind_types(py::module_& m) {
  py::enum_<Device>(m, "Device", "Where arrays live and kernels run.")
      .value("cpu", Device::Cpu)
      .value("cuda", Device::Cuda);
  py::enum_<Activation>(m, "Activation",
                        "Activation codes; softmax is row-wise (a Net layer's activation only).")
      .value("linear", Activation::Linear)
      .value("relu", Activation::ReLU)
      .value("leaky_relu", Activation::LeakyReLU)
      .value("sigmoid", Activation::Sigmoid)
      .value("tanh", Activation::Tanh)
      .value("gelu", Activation::GELU)
      .value("gelu_tanh", Activation::GELUTanh)
      .value("softmax", Activation::Softmax);
  py::enum_<Reduction>(m, "Reduction", "How a loss reduces its per-sample values.")
      .value("mean", Reduction::Mean)
      .value("sum", Reduction::Sum);
  py::enum_<LossKind>(m, "LossKind", "The losses a Net computes.")
      .value("mean_squared_error", LossKind::MSE)
      .value("binary_crossentropy", LossKind::BCE)
      .value("sparse_categorical_crossentropy", LossKind::SparseCE)
      .value("categorical_crossentropy", LossKind::CategoricalCE);
  py::enum_<MetricKind>(m, "MetricKind", "The metrics a Net computes.")
      .value("binary_accuracy", MetricKind::BinaryAccuracy)
      .value("sparse_categorical_accuracy", MetricKind::SparseAccuracy)
      .value("categorical_accuracy", MetricKind::CategoricalAccuracy)
      .value("mean_absolute_error", MetricKind::MAE)
      .value("mean_squared_error", MetricKind::MSE);
  py::enum_<OptimKind>(m, "OptimKind", "The optimizers a Net steps.")
      .value("sgd", OptimKind::SGD)
      .value("adam", OptimKind::Adam)
      .value("adamw", OptimKind::AdamW);
}

}  // namespace fusednet
