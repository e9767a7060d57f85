// Bindings of the reductions, CPU and CUDA side by side: check once, then the CPU kernel with the
// GIL released, or (device=Device.cuda) upload, launch, download.
//   bias_grad(dy, out, device=cpu)          out[j] = sum_i dy[i, j] in double, 32 row groups
//   argmax_rows(x, device=cpu) -> int64     first index of each row's maximum
// CUDA only, building blocks of device-resident training bound for the tests:
//   _cuda_gather_rows(src, index, out), _cuda_count_correct(logits, labels) -> float
#include <cstdint>

#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"

namespace fusednet {
namespace {

using Int64Array = py::array_t<std::int64_t, py::array::c_style>;

void bias_grad(py::handle dy, py::handle db, Device device) {
  const F32View dyv = any_dense_view(dy, "dy"), dbv = any_dense_view(db, "out", true);
  require_ndim(dyv, 2, "dy");
  require_shape(dbv, {dyv.dim(1)}, "out");
  device_args(device, {{"dy", &dyv}, {"out", &dbv}});
  const index_t rows = dyv.dim(0), cols = dyv.dim(1);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    bias_grad_cpu(dyv.data, dbv.data, rows, cols);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dG = upload(dyv), dB = alloc_like(dbv);
    bias_grad_cuda(dG.ptr, dB.ptr, rows, cols);
    download(dbv, dB);
  });
}

// An [rows, cols] float32 matrix with at least one column unless it has no rows.
F32View rows_with_columns(const py::handle& obj, const char* name) {
  const F32View v = dense_view(obj, name);
  require_ndim(v, 2, name);
  if (v.dim(1) == 0 && v.dim(0) > 0)
    throw py::value_error(std::string(name) + ": expected at least one column, got shape " +
                          shape_str(v.shape));
  return v;
}

Int64Array argmax_rows(py::array x, Device device) {
  const F32View xv = rows_with_columns(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  Int64Array out(static_cast<py::ssize_t>(rows));
  std::int64_t* o = out.mutable_data();
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    argmax_rows_cpu(xv.data, o, rows, cols);
  } else {
    on_cuda([&](auto) {
      DeviceArray dX = upload(xv);
      DeviceBuffer dO = device_buffer<std::int64_t>(rows);
      argmax_rows_cuda(dX.ptr, dO.as<std::int64_t>(), rows, cols);
      copy_device_to_host(o, dO.data(), dO.bytes());
    });
  }
  return out;
}

void cuda_gather_rows(const py::handle& src, Int64Array index, const py::handle& out) {
  const F32View S = dense_view(src, "src"), O = dense_view(out, "out", true);
  require_ndim(S, 2, "src");
  FN_CHECK(index.ndim() == 1, "index: expected a 1-D array, got ndim ", index.ndim());
  const index_t rows = index.shape(0), cols = S.dim(1);
  require_shape(O, {rows, cols}, "out");
  const std::int64_t* idx = index.data();
  for (index_t i = 0; i < rows; ++i)
    FN_CHECK(idx[i] >= 0 && idx[i] < S.dim(0), "index: expected row indices in [0, ", S.dim(0),
             "), got ", idx[i], " at position ", i);
  on_cuda([&](auto) {
    DeviceArray dS = upload(S), dO = alloc_like(O);
    DeviceBuffer dI = device_buffer(rows, idx);
    gather_rows_cuda(dS.ptr, dI.as<std::int64_t>(), dO.ptr, rows, cols);
    download(O, dO);
  });
}

double cuda_count_correct(const py::handle& logits, Int64Array labels) {
  const F32View Z = rows_with_columns(logits, "logits");
  const index_t rows = Z.dim(0);
  FN_CHECK(labels.ndim() == 1 && labels.shape(0) == rows, "labels: expected shape (", rows, ",)");
  const std::int64_t* lab = labels.data();
  double count = 0.0;
  on_cuda([&](auto) {
    DeviceArray dZ = upload(Z);
    DeviceBuffer dL = device_buffer(rows, lab), dC = device_buffer<double>(rows),
                 dSum = device_buffer<double>(1);
    correct_rows_cuda(dZ.ptr, dL.as<std::int64_t>(), dC.as<double>(), rows, Z.dim(1));
    sum_doubles_cuda(dC.as<double>(), rows, 1.0, dSum.as<double>());
    copy_device_to_host(&count, dSum.data(), sizeof(double));
  });
  return count;
}

// (dw, dx or None) of dense_grad_narrow_cpu, or of its reference (any shape); None where the
// kernel declines the shape (or the active ISA has none).
py::object dense_grad_narrow(py::handle x, py::handle dz, py::handle w, Activation act,
                             float act_param, bool with_dx, bool reference) {
  const F32View X = dense_view(x, "x"), D = dense_view(dz, "dz"), Wv = dense_view(w, "w");
  require_ndim(X, 2, "x");
  require_ndim(D, 2, "dz");
  const index_t rows = X.dim(0), in = X.dim(1), units = D.dim(1);
  require_shape(D, {rows, units}, "dz");
  require_shape(Wv, {in, units}, "w");
  FN_CHECK(in >= 1 && units >= 1, "x, dz: expected at least one column");
  py::array_t<float> dw({in, units});
  py::object dx = py::none();
  float* dx_ptr = nullptr;
  if (with_dx) {
    py::array_t<float> a({rows, in});
    dx_ptr = a.mutable_data();
    dx = a;
  }
  bool done = true;
  {
    py::gil_scoped_release nogil;
    if (reference)
      dense_grad_narrow_reference(X.data, D.data, Wv.data, dw.mutable_data(), dx_ptr, act,
                                  act_param, rows, in, units);
    else
      done = dense_grad_narrow_cpu(X.data, D.data, Wv.data, dw.mutable_data(), dx_ptr, act,
                                   act_param, rows, in, units);
  }
  if (!done) return py::none();
  return py::make_tuple(dw, dx);
}

}  // namespace

void bind_reduce(py::module_& m) {
  using py::arg;
  m.def("bias_grad", &bias_grad, arg("dy"), arg("out"),
        py::arg_v("device", Device::Cpu, "Device.cpu"),
        "out[j] = sum_i dy[i, j] in double: 32 row groups (rows g, g + 32, ...), then the groups.");
  m.def("argmax_rows", &argmax_rows, arg("x"), py::arg_v("device", Device::Cpu, "Device.cpu"),
        "Index of the first maximum of each row (a NaN counts as the maximum).");
  m.def(
      "_dense_grad_narrow", &dense_grad_narrow, arg("x"), arg("dz"), arg("w"), arg("act"),
      arg("act_param"), arg("with_dx"), arg("reference") = false,
      "A narrow Dense layer's (dw, dx or None) in one pass (kernels/cpu.h dense_grad_narrow_cpu), "
      "or None where it declines; reference=True: the arithmetic written out (tests).");
  m.def("_cuda_gather_rows", &cuda_gather_rows, arg("src"), arg("index"), arg("out"),
        "out[i] = src[index[i]] on the device (tests).");
  m.def("_cuda_count_correct", &cuda_count_correct, arg("logits"), arg("labels"),
        "Rows whose first argmax equals the label, summed on the device (tests).");
}

}  // namespace fusednet
