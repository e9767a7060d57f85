// Bindings of the activation family (elementwise activations and row-wise softmax), CPU and CUDA
// side by side: check dtype / size / contiguity once, then run the CPU kernel with the GIL
// released, or (device=Device.cuda) upload, launch, download (CUDA DLPack arrays: their memory,
// outputs written to out, never over an input). The Python layer
// (ops/_activation.py) makes inputs contiguous and allocates outputs; these functions write into
// the arrays they are given (out may be the input: in place).
//   activation_forward(x, out, act, param=0, device=cpu, misalign=0)
//   activation_backward(dy, x, out, act, param=0, device=cpu, misalign=0)      x: forward input
//   activation_backward_from_output(dy, y, out, act, param=0, device=cpu, misalign=0)
//   softmax_forward(x, out, log=False, device=cpu), softmax_backward(dy, x, out, log, device)
#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"

namespace fusednet {

namespace {

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
    throw py::value_error(std::string(name) +
                          ": expected an array with at least 1 dimension, "
                          "got a 0-D array");
  cols = v.dim(v.ndim() - 1);
  rows = 1;
  for (int i = 0; i + 1 < v.ndim(); ++i) rows *= v.dim(i);
}

// What from the forward pass a backward reads: its input x, or (cheaper) its output y.
enum class Saved { Input, Output };

// Only some derivatives can be had from the output; checked here so both devices say the same.
void check_from_output(Activation act, float param) {
  if (act == Activation::LeakyReLU && !(param > 0.0f))
    throw py::value_error(
        "act: leaky_relu needs negative_slope > 0 to recover the sign of x "
        "from y (backward from the output), got " +
        std::to_string(param));
  if (!has_derivative_from_output(act, param))
    throw py::value_error(std::string("act: ") + from_output_name(act) +
                          "'s derivative needs the forward input, not its output (backward from "
                          "the output works for linear, relu, leaky_relu with negative_slope > 0, "
                          "sigmoid and tanh)");
}

void forward(py::handle x, py::handle y, Activation act, float param, Device device, int misalign) {
  const F32View xv = any_dense_view(x, "x"), yv = any_dense_view(y, "out", true);
  require_same_size(yv, xv, "out", "x");
  require_elementwise(act, "act");
  check_misalign(misalign, device);
  device_args(device, {{"x", &xv}, {"out", &yv}});
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    activation_forward_cpu(act, param, xv.data, yv.data, xv.size);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray d = upload(xv, misalign);  // in place on the uploaded copy
    activation_forward_cuda(act, param, d.ptr, out_ptr(yv, d), xv.size);
    download(yv, d);
  });
}

// dx = dy * act'(x), from the forward input x or (Saved::Output) the forward output y.
void backward(Saved saved, py::handle dy, py::handle x, py::handle dx, Activation act, float param,
              Device device, int misalign) {
  const char* x_name = saved == Saved::Input ? "x" : "y";
  const F32View dyv = any_dense_view(dy, "dy"), xv = any_dense_view(x, x_name),
                dxv = any_dense_view(dx, "out", true);
  device_args(device, {{"dy", &dyv}, {x_name, &xv}, {"out", &dxv}});
  require_same_size(dyv, xv, "dy", x_name);
  require_same_size(dxv, xv, "out", x_name);
  require_elementwise(act, "act");
  if (saved == Saved::Output) check_from_output(act, param);
  check_misalign(misalign, device);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    (saved == Saved::Input ? activation_backward_cpu : activation_backward_from_output_cpu)(
        act, param, dyv.data, xv.data, dxv.data, xv.size);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dG = upload(dyv, misalign), dX = upload(xv, misalign);  // dx over dy's copy
    float* dxp = out_ptr(dxv, dG);
    if (saved == Saved::Input) activation_backward_cuda(act, param, dG.ptr, dX.ptr, dxp, xv.size);
    else activation_backward_from_output_cuda(act, param, dG.ptr, dX.ptr, dxp, xv.size);
    download(dxv, dG);
  });
}

void softmax_fwd(py::handle x, py::handle y, bool log, Device device) {
  const F32View xv = any_dense_view(x, "x"), yv = any_dense_view(y, "out", true);
  require_same_size(yv, xv, "out", "x");
  device_args(device, {{"x", &xv}, {"out", &yv}});
  index_t rows, cols;
  rows_cols(xv, "x", rows, cols);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    softmax_forward_cpu(xv.data, yv.data, rows, cols, log);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray d = upload(xv);
    softmax_forward_cuda(d.ptr, out_ptr(yv, d), rows, cols, log);
    download(yv, d);
  });
}

void softmax_bwd(py::handle dy, py::handle x, py::handle dx, bool log, Device device) {
  const F32View dyv = any_dense_view(dy, "dy"), xv = any_dense_view(x, "x"),
                dxv = any_dense_view(dx, "out", true);
  device_args(device, {{"dy", &dyv}, {"x", &xv}, {"out", &dxv}});
  require_same_size(dyv, xv, "dy", "x");
  require_same_size(dxv, xv, "out", "x");
  index_t rows, cols;
  rows_cols(xv, "x", rows, cols);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    softmax_backward_cpu(dyv.data, xv.data, dxv.data, rows, cols, log);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dG = upload(dyv), dX = upload(xv);
    softmax_backward_cuda(dG.ptr, dX.ptr, out_ptr(dxv, dG), rows, cols, log);
    download(dxv, dG);
  });
}

}  // namespace

void bind_activation(py::module_& m) {
  using py::arg;
  m.def("activation_forward", &forward, arg("x"), arg("out"), arg("act"), arg("param") = 0.0f,
        py::arg_v("device", Device::Cpu, "Device.cpu"), arg("misalign") = 0,
        "out = act(x) elementwise; contiguous float32 arrays of equal size (out may be x).");
  for (const Saved saved : {Saved::Input, Saved::Output}) {
    const bool in = saved == Saved::Input;
    m.def(
        in ? "activation_backward" : "activation_backward_from_output",
        [saved](py::handle dy, py::handle x, py::handle dx, Activation act, float param,
                Device device,
                int misalign) { backward(saved, dy, x, dx, act, param, device, misalign); },
        arg("dy"), arg(in ? "x" : "y"), arg("out"), arg("act"), arg("param") = 0.0f,
        py::arg_v("device", Device::Cpu, "Device.cpu"), arg("misalign") = 0,
        in ? "out = dy * act'(x), x the forward input (out may be dy)."
           : "out = dy * act'(x) computed from the forward output y (not for the gelus).");
  }
  m.def("softmax_forward", &softmax_fwd, arg("x"), arg("out"), arg("log") = false,
        py::arg_v("device", Device::Cpu, "Device.cpu"),
        "Row-wise (last axis) softmax or log_softmax of a contiguous array into out.");
  m.def("softmax_backward", &softmax_bwd, arg("dy"), arg("x"), arg("out"), arg("log") = false,
        py::arg_v("device", Device::Cpu, "Device.cpu"),
        "Gradient of row-wise softmax / log_softmax from dy and the forward input x.");
}

}  // namespace fusednet
