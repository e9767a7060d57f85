// Bindings of the normalization kernels, CPU and CUDA side by side (host arrays; the CUDA column
// uploads, launches, downloads). Python (fusednet.ops.batch_norm / layer_norm) allocates the
// outputs and passes C-contiguous float32 arrays; optional ones are None.
//   _batch_norm(x, y, gamma, beta, mean, invstd, moving_mean, moving_var, mode, eps, momentum,
//               device)
//   _batch_norm_backward(dy, x, dx, gamma, mean, invstd, dgamma, dbeta, mode, device)
//   _batch_norm_sums(x, dy, sum, count, mean, invstd, device) -> float64 column sums
//   _layer_norm(x, y, gamma, beta, mean, rstd, eps, device)
//   _layer_norm_backward(dy, x, dx, gamma, mean, rstd, dgamma, dbeta, device)
#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"

namespace fusednet {
namespace {

// A C-contiguous float32 array of `shape`, or an empty view for None.
F32View opt(const py::object& obj, const char* name, std::vector<index_t> shape,
            bool writable = false) {
  if (obj.is_none()) return F32View{};
  F32View v = dense_view(obj, name, writable);
  require_shape(v, shape, name);
  return v;
}

F32View matrix(const py::object& obj, const char* name, bool writable = false) {
  F32View v = dense_view(obj, name, writable);
  require_ndim(v, 2, name);
  return v;
}

NormMode mode_arg(int mode) {
  FN_CHECK(mode >= 0 && mode <= 2, "mode: expected 0 (batch), 1 (moving) or 2 (fixed), got ", mode);
  return static_cast<NormMode>(mode);
}

void batch_norm(const py::object& x, const py::object& y, const py::object& gamma,
                const py::object& beta, const py::object& mean, const py::object& invstd,
                const py::object& moving_mean, const py::object& moving_var, int mode, float eps,
                float momentum, Device device) {
  const F32View xv = matrix(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  const F32View yv = opt(y, "y", {rows, cols}, true), gv = opt(gamma, "gamma", {cols}),
                bv = opt(beta, "beta", {cols}), mv = opt(mean, "mean", {cols}, true),
                iv = opt(invstd, "invstd", {cols}, true),
                mmv = opt(moving_mean, "moving_mean", {cols}, true),
                mvv = opt(moving_var, "moving_variance", {cols}, true);
  BatchNormArgs a;
  a.mode = mode_arg(mode);
  a.eps = eps;
  a.momentum = momentum;
  FN_CHECK(a.mode == NormMode::Batch || (mmv.data && mvv.data),
           "moving_mean, moving_variance: required without batch statistics");
  FN_CHECK(!mmv.data == !mvv.data, "moving_mean, moving_variance: give both or neither");
  if (device == Device::Cpu) {
    a.gamma = gv.data;
    a.beta = bv.data;
    a.mean = mv.data;
    a.invstd = iv.data;
    a.moving_mean = mmv.data;
    a.moving_var = mvv.data;
    py::gil_scoped_release nogil;
    batch_norm_forward_cpu(xv.data, yv.data, rows, cols, a);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dX = upload(xv), dY = alloc_like(yv), dG = upload(gv), dB = upload(bv),
                dM = alloc_like(mv), dI = alloc_like(iv), dMM = upload(mmv), dMV = upload(mvv);
    a.gamma = dG.ptr;
    a.beta = dB.ptr;
    a.mean = dM.ptr;
    a.invstd = dI.ptr;
    a.moving_mean = dMM.ptr;
    a.moving_var = dMV.ptr;
    batch_norm_forward_cuda(dX.ptr, dY.ptr, rows, cols, a);
    download(yv, dY);
    download(mv, dM);
    download(iv, dI);
    download(mmv, dMM);
    download(mvv, dMV);
  });
}

void batch_norm_backward(const py::object& dy, const py::object& x, const py::object& dx,
                         const py::object& gamma, const py::object& mean, const py::object& invstd,
                         const py::object& dgamma, const py::object& dbeta, int mode,
                         Device device) {
  const F32View xv = matrix(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  const F32View dyv = opt(dy, "dy", {rows, cols}), dxv = opt(dx, "dx", {rows, cols}, true),
                gv = opt(gamma, "gamma", {cols}), mv = opt(mean, "mean", {cols}),
                iv = opt(invstd, "invstd", {cols}), dgv = opt(dgamma, "dgamma", {cols}, true),
                dbv = opt(dbeta, "dbeta", {cols}, true);
  BatchNormArgs a;
  a.mode = mode_arg(mode);
  if (device == Device::Cpu) {
    a.gamma = gv.data;
    a.mean = mv.data;
    a.invstd = iv.data;
    py::gil_scoped_release nogil;
    batch_norm_backward_cpu(dyv.data, xv.data, dxv.data, rows, cols, a, dgv.data, dbv.data);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dDY = upload(dyv), dX = upload(xv), dDX = alloc_like(dxv), dG = upload(gv),
                dM = upload(mv), dI = upload(iv), dDG = alloc_like(dgv), dDB = alloc_like(dbv);
    a.gamma = dG.ptr;
    a.mean = dM.ptr;
    a.invstd = dI.ptr;
    batch_norm_backward_cuda(dDY.ptr, dX.ptr, dDX.ptr, rows, cols, a, dDG.ptr, dDB.ptr);
    download(dxv, dDX);
    download(dgv, dDG);
    download(dbv, dDB);
  });
}

// Synchronized batch norm's column sums (kernels/cpu.h batch_norm_stat_sums / _grad_sums): dy
// None: sum x, or sum (x - sum / count)^2 with sum (float64, cols); else sum dy, sum dy * xhat.
py::array_t<double> batch_norm_sums(const py::object& x, const py::object& dy,
                                    const py::object& sum, double count, const py::object& mean,
                                    const py::object& invstd, Device device) {
  const F32View xv = matrix(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  const bool grad = !dy.is_none();
  const F32View dyv = opt(dy, "dy", {rows, cols}), mv = opt(mean, "mean", {cols}),
                iv = opt(invstd, "invstd", {cols});
  FN_CHECK(!grad || (mv.data && iv.data), "mean, invstd: required with dy");
  std::vector<double> c;
  if (!sum.is_none()) {
    FN_CHECK(!grad, "sum: only without dy");
    FN_CHECK(count > 0, "count: expected > 0 with sum, got ", count);
    auto arr = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(sum);
    FN_CHECK(arr && arr.ndim() == 1 && arr.shape(0) == cols, "sum: expected shape (", cols,
             ",) of numbers");
    c.assign(arr.data(), arr.data() + cols);
  }
  const double* cp = c.empty() ? nullptr : c.data();
  const index_t n = grad ? 2 * cols : cols;
  py::array_t<double> out(static_cast<py::ssize_t>(n));
  double* o = out.mutable_data();
  if (device == Device::Cpu) {
    BatchNormArgs a;
    a.mean = mv.data;
    a.invstd = iv.data;
    py::gil_scoped_release nogil;
    if (grad) batch_norm_grad_sums_cpu(dyv.data, xv.data, rows, cols, a, o);
    else batch_norm_stat_sums_cpu(xv.data, rows, cols, cp, count, o);
    return out;
  }
  on_cuda([&](auto) {
    DeviceArray dX = upload(xv), dDY = upload(dyv), dM = upload(mv), dI = upload(iv);
    DeviceBuffer dC = device_buffer<double>(cp ? cols : 0, cp), dO = device_buffer<double>(n);
    BatchNormArgs a;
    a.mean = dM.ptr;
    a.invstd = dI.ptr;
    if (grad) {
      batch_norm_grad_sums_cuda(dDY.ptr, dX.ptr, rows, cols, a, dO.as<double>());
    } else {
      batch_norm_stat_sums_cuda(dX.ptr, rows, cols, cp ? dC.as<double>() : nullptr, count,
                                dO.as<double>());
    }
    if (n > 0) copy_device_to_host(o, dO.data(), dO.bytes());
  });
  return out;
}

void layer_norm(const py::object& x, const py::object& y, const py::object& gamma,
                const py::object& beta, const py::object& mean, const py::object& rstd, float eps,
                Device device) {
  const F32View xv = matrix(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  const F32View yv = opt(y, "y", {rows, cols}, true), gv = opt(gamma, "gamma", {cols}),
                bv = opt(beta, "beta", {cols}), mv = opt(mean, "mean", {rows}, true),
                rv = opt(rstd, "rstd", {rows}, true);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    layer_norm_forward_cpu(xv.data, yv.data, rows, cols, gv.data, bv.data, eps, mv.data, rv.data);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dX = upload(xv), dY = alloc_like(yv), dG = upload(gv), dB = upload(bv),
                dM = alloc_like(mv), dR = alloc_like(rv);
    layer_norm_forward_cuda(dX.ptr, dY.ptr, rows, cols, dG.ptr, dB.ptr, eps, dM.ptr, dR.ptr);
    download(yv, dY);
    download(mv, dM);
    download(rv, dR);
  });
}

void layer_norm_backward(const py::object& dy, const py::object& x, const py::object& dx,
                         const py::object& gamma, const py::object& mean, const py::object& rstd,
                         const py::object& dgamma, const py::object& dbeta, Device device) {
  const F32View xv = matrix(x, "x");
  const index_t rows = xv.dim(0), cols = xv.dim(1);
  const F32View dyv = opt(dy, "dy", {rows, cols}), dxv = opt(dx, "dx", {rows, cols}, true),
                gv = opt(gamma, "gamma", {cols}), mv = opt(mean, "mean", {rows}),
                rv = opt(rstd, "rstd", {rows}), dgv = opt(dgamma, "dgamma", {cols}, true),
                dbv = opt(dbeta, "dbeta", {cols}, true);
  if (device == Device::Cpu) {
    py::gil_scoped_release nogil;
    layer_norm_backward_cpu(dyv.data, xv.data, dxv.data, rows, cols, gv.data, mv.data, rv.data,
                            dgv.data, dbv.data);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dDY = upload(dyv), dX = upload(xv), dDX = alloc_like(dxv), dG = upload(gv),
                dM = upload(mv), dR = upload(rv), dDG = alloc_like(dgv), dDB = alloc_like(dbv);
    layer_norm_backward_cuda(dDY.ptr, dX.ptr, dDX.ptr, rows, cols, dG.ptr, dM.ptr, dR.ptr, dDG.ptr,
                             dDB.ptr);
    download(dxv, dDX);
    download(dgv, dDG);
    download(dbv, dDB);
  });
}

}  // namespace

void bind_norm(py::module_& m) {
  using py::arg;
  const auto dev = py::arg_v("device", Device::Cpu, "Device.cpu");
  m.def("_batch_norm", &batch_norm, arg("x"), arg("y"), arg("gamma"), arg("beta"), arg("mean"),
        arg("invstd"), arg("moving_mean"), arg("moving_variance"), arg("mode"), arg("epsilon"),
        arg("momentum"), dev, "Batch normalization (fusednet.ops.batch_norm).");
  m.def("_batch_norm_backward", &batch_norm_backward, arg("dy"), arg("x"), arg("dx"), arg("gamma"),
        arg("mean"), arg("invstd"), arg("dgamma"), arg("dbeta"), arg("mode"), dev,
        "Batch normalization's backward (fusednet.ops.batch_norm_backward).");
  m.def("_batch_norm_sums", &batch_norm_sums, arg("x"), arg("dy"), arg("sum"), arg("count"),
        arg("mean"), arg("invstd"), dev,
        "Synchronized batch norm's float64 column sums: of x, of (x - sum / count)^2, or of dy "
        "and dy * xhat (the data-parallel Net's pieces).");
  m.def("_layer_norm", &layer_norm, arg("x"), arg("y"), arg("gamma"), arg("beta"), arg("mean"),
        arg("rstd"), arg("epsilon"), dev, "Layer normalization (fusednet.ops.layer_norm).");
  m.def("_layer_norm_backward", &layer_norm_backward, arg("dy"), arg("x"), arg("dx"), arg("gamma"),
        arg("mean"), arg("rstd"), arg("dgamma"), arg("dbeta"), dev,
        "Layer normalization's backward (fusednet.ops.layer_norm_backward).");
}

}  // namespace fusednet
