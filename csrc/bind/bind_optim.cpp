// Bindings for the optimizer steps: every in-place array float32, writable, C-contiguous and of
// param's size; release the GIL; call the kernel. No arithmetic here.
#include "bind/util.h"
#include "kernels/cpu.h"

namespace fusednet {
namespace {

F32View inplace_arg(const py::handle& obj, const char* name, const F32View* like) {
  F32View v = f32_view(obj, name, /*writable=*/true);
  if (!v.contiguous && v.size != 0)  // NumPy may give an empty array zero strides
    throw py::value_error(std::string(name) +
                          ": expected a C-contiguous array (it is updated in place, never copied)");
  if (like) require_shape(v, like->shape, name);
  return v;
}

F32View grad_arg(const py::handle& obj, const F32View& param) {
  F32View g = f32_view(obj, "grad");
  if (g.size != 0) require_contiguous(g, "grad");
  require_shape(g, param.shape, "grad");
  return g;
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def(
      "sgd_step",
      [](py::handle param, py::handle grad, py::handle velocity, float lr, float momentum,
         bool nesterov, float weight_decay) {
        const F32View p = inplace_arg(param, "param", nullptr);
        const F32View g = grad_arg(grad, p);
        float* vel = nullptr;
        if (!velocity.is_none()) vel = inplace_arg(velocity, "velocity", &p).data;
        if (momentum != 0.0f && vel == nullptr)
          throw py::value_error("velocity: required when momentum != 0");
        py::gil_scoped_release release;
        sgd_step_cpu(p.data, g.data, vel, p.size, lr, momentum, nesterov, weight_decay);
      },
      py::arg("param"), py::arg("grad"), py::arg("velocity"), py::arg("lr"),
      py::arg("momentum") = 0.0f, py::arg("nesterov") = false, py::arg("weight_decay") = 0.0f,
      "In-place SGD step (PyTorch form) over contiguous float32 arrays.");
  m.def(
      "adam_step",
      [](py::handle param, py::handle grad, py::handle m_, py::handle v_, std::int64_t step,
         float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled) {
        const F32View p = inplace_arg(param, "param", nullptr);
        const F32View g = grad_arg(grad, p);
        const F32View m = inplace_arg(m_, "m", &p);
        const F32View v = inplace_arg(v_, "v", &p);
        if (step < 1)
          throw py::value_error("step: expected an integer >= 1, got " + std::to_string(step));
        py::gil_scoped_release release;
        adam_step_cpu(p.data, g.data, m.data, v.data, p.size, step, lr, beta1, beta2, eps,
                      weight_decay, decoupled);
      },
      py::arg("param"), py::arg("grad"), py::arg("m"), py::arg("v"), py::arg("step"),
      py::arg("lr") = 1e-3f, py::arg("beta1") = 0.9f, py::arg("beta2") = 0.999f,
      py::arg("eps") = 1e-7f, py::arg("weight_decay") = 0.0f, py::arg("decoupled") = false,
      "In-place Adam / AdamW step (paper form) over contiguous float32 arrays.");
}

}  // namespace fusednet
