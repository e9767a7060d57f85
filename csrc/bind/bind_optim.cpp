// Bindings of the optimizer steps, CPU and CUDA side by side: every in-place array float32,
// writable, C-contiguous and of param's shape, checked once; then the CPU kernel with the GIL
// released, or (device=Device.cuda) upload, one launch, download of what the step updated (CUDA
// DLPack arrays: one launch on their memory, updated in place).
//   sgd_step(param, grad, velocity, lr, momentum=0, nesterov=False, weight_decay=0, device=cpu,
//            misalign=0)
//   adam_step(param, grad, m, v, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
//             weight_decay=0, decoupled=False, device=cpu, misalign=0)
//   cuda_bench_adam(n, iters) -> ms per step on the device (bench/gpu_bench.py)
#include <cstdint>
#include <initializer_list>
#include <utility>

#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"

namespace fusednet {
namespace {

F32View inplace_arg(const py::handle& obj, const char* name, const F32View* like) {
  F32View v = any_view(obj, name, /*writable=*/true);
  if (!v.contiguous)
    throw py::value_error(std::string(name) +
                          ": expected a C-contiguous array (it is updated in place, never copied)");
  if (like) require_shape(v, like->shape, name);
  return v;
}

F32View grad_arg(const py::handle& obj, const F32View& param) {
  F32View g = any_dense_view(obj, "grad");
  require_shape(g, param.shape, "grad");
  return g;
}

// The kernels read element i of every array and then write it, in blocks on several threads:
// arrays that share memory would see each other's updates half-done (a view of param shifted by
// one as grad), so any overlap is refused -- except grad being the very same array as another,
// which reads each element before it is written.
void check_no_overlap(std::initializer_list<std::pair<const char*, const F32View*>> arrays) {
  const auto at = [](const F32View& v) { return reinterpret_cast<std::uintptr_t>(v.data); };
  for (auto a = arrays.begin(); a != arrays.end(); ++a) {
    for (auto b = a + 1; b != arrays.end(); ++b) {
      const F32View &x = *a->second, &y = *b->second;
      if (!x.data || !y.data || x.size == 0 || y.size == 0) continue;
      const std::uintptr_t x0 = at(x), y0 = at(y);
      const bool identical_grad =
          (std::string(a->first) == "grad" || std::string(b->first) == "grad") && x0 == y0 &&
          x.size == y.size;
      if (!identical_grad && x0 < y0 + sizeof(float) * static_cast<std::size_t>(y.size) &&
          y0 < x0 + sizeof(float) * static_cast<std::size_t>(x.size))
        throw py::value_error(std::string(a->first) + " and " + b->first +
                              ": expected separate arrays, got overlapping memory");
    }
  }
}

void sgd_step(py::handle param, py::handle grad, py::handle velocity, double lr, double momentum,
              bool nesterov, double weight_decay, Device device, int misalign) {
  const F32View p = inplace_arg(param, "param", nullptr);
  const F32View g = grad_arg(grad, p);
  F32View vel;  // data == nullptr without momentum
  if (!velocity.is_none()) vel = inplace_arg(velocity, "velocity", &p);
  if (static_cast<float>(momentum) != 0.0f && vel.data == nullptr)
    throw py::value_error("velocity: required when momentum != 0");
  check_no_overlap({{"param", &p}, {"grad", &g}, {"velocity", &vel}});
  check_misalign(misalign, device);
  device_args(device, {{"param", &p}, {"grad", &g}, {"velocity", &vel}});
  if (device == Device::Cpu) {
    py::gil_scoped_release release;
    sgd_step_cpu(p.data, g.data, vel.data, p.size, lr, momentum, nesterov, weight_decay);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dP = upload(p, misalign), dG = upload(g, misalign), dV = upload(vel, misalign);
    sgd_step_cuda(dP.ptr, dG.ptr, dV.ptr, p.size, lr, momentum, nesterov, weight_decay);
    download(p, dP);
    download(vel, dV);
  });
}

void adam_step(py::handle param, py::handle grad, py::handle m_, py::handle v_, std::int64_t step,
               double lr, double beta1, double beta2, double eps, double weight_decay,
               bool decoupled, Device device, int misalign) {
  const F32View p = inplace_arg(param, "param", nullptr);
  const F32View g = grad_arg(grad, p);
  const F32View m = inplace_arg(m_, "m", &p);
  const F32View v = inplace_arg(v_, "v", &p);
  if (step < 1)
    throw py::value_error("step: expected an integer >= 1, got " + std::to_string(step));
  check_no_overlap({{"param", &p}, {"grad", &g}, {"m", &m}, {"v", &v}});
  check_misalign(misalign, device);
  device_args(device, {{"param", &p}, {"grad", &g}, {"m", &m}, {"v", &v}});
  if (device == Device::Cpu) {
    py::gil_scoped_release release;
    adam_step_cpu(p.data, g.data, m.data, v.data, p.size, step, lr, beta1, beta2, eps, weight_decay,
                  decoupled);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dP = upload(p, misalign), dG = upload(g, misalign), dM = upload(m, misalign),
                dV = upload(v, misalign);
    adam_step_cuda(dP.ptr, dG.ptr, dM.ptr, dV.ptr, p.size, step, lr, beta1, beta2, eps,
                   weight_decay, decoupled);
    download(p, dP);
    download(m, dM);
    download(v, dV);
  });
}

// The rule kernel (math/optim.h): states s0..s2 as the rule keeps them (None for the others).
void rule_step(int rule, py::handle param, py::handle grad, py::handle s0_, py::handle s1_,
               py::handle s2_, std::int64_t step, double lr, double beta1, double beta2,
               double momentum, double eps, double weight_decay, bool decoupled, double clip_value,
               Device device, int misalign) {
  optmath::RuleArgs a;
  a.rule = static_cast<optmath::Rule>(rule);
  a.step = step;
  a.lr = lr;
  a.beta1 = beta1;
  a.beta2 = beta2;
  a.momentum = momentum;
  a.eps = eps;
  a.weight_decay = weight_decay;
  a.decoupled = decoupled;
  a.clip_value = clip_value;
  const optmath::RuleCoeffs c = optmath::rule_coeffs(a);  // checks the rule and its arguments
  const int used = optmath::rule_states(c.rule);
  const F32View p = inplace_arg(param, "param", nullptr);
  const F32View g = grad_arg(grad, p);
  F32View st[3];
  const py::handle given[3] = {s0_, s1_, s2_};
  const char* names[3] = {"s0", "s1", "s2"};
  for (int k = 0; k < used; ++k) {
    if (given[k].is_none())
      throw py::value_error(std::string(names[k]) + ": required by this optimizer (it keeps " +
                            std::to_string(used) + " state arrays), got None");
    st[k] = inplace_arg(given[k], names[k], &p);
  }
  check_no_overlap({{"param", &p}, {"grad", &g}, {"s0", &st[0]}, {"s1", &st[1]}, {"s2", &st[2]}});
  check_misalign(misalign, device);
  device_args(device,
              {{"param", &p}, {"grad", &g}, {"s0", &st[0]}, {"s1", &st[1]}, {"s2", &st[2]}});
  if (device == Device::Cpu) {
    py::gil_scoped_release release;
    optim_rule_step_cpu(c, p.data, g.data, st[0].data, st[1].data, st[2].data, p.size);
    return;
  }
  on_cuda([&](auto) {
    DeviceArray dP = upload(p, misalign), dG = upload(g, misalign), d0 = upload(st[0], misalign),
                d1 = upload(st[1], misalign), d2 = upload(st[2], misalign);
    optim_rule_step_cuda(c, dP.ptr, dG.ptr, d0.ptr, d1.ptr, d2.ptr, p.size);
    download(p, dP);
    download(st[0], d0);
    download(st[1], d1);
    download(st[2], d2);
  });
}

// sum(x**2) in double, in the fixed order the clip norms use.
double sum_squares(py::handle x, Device device) {
  const F32View v = any_dense_view(x, "x");
  device_args(device, {{"x", &v}});
  if (device == Device::Cpu) {
    py::gil_scoped_release release;
    return sum_squares_cpu(v.data, v.size);
  }
  double out = 0.0;
  on_cuda([&](auto) {
    DeviceArray dX = upload(v, 0);
    DeviceBuffer ws(sizeof(double) * static_cast<std::size_t>(sum_squares_partials(v.size) + 1));
    sum_squares_cuda(dX.ptr, v.size, ws.as<double>() + 1, ws.as<double>());
    copy_device_to_host(&out, ws.as<double>(), sizeof(double));
    stream_synchronize();
  });
  return out;
}

struct AdamBench {
  index_t n;
  float *p, *g, *m, *v;
};

// Milliseconds per Adam step over n parameters (arena of 4 n floats on the device).
double cuda_bench_adam(index_t n, int iters) {
  FN_CHECK(n > 0, "n: expected a positive parameter count, got ", n);
  double ms = 0.0;
  on_cuda([&](auto) {
    const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
    DeviceBuffer p(bytes), g(bytes), m(bytes), v(bytes);
    // Every float 0x3c3c3c3c (about 0.0115): not zeros, which can time faster than real data.
    for (DeviceBuffer* b : {&p, &g, &m, &v}) memset_device(b->data(), 0x3c, bytes);
    AdamBench b{n, p.as<float>(), g.as<float>(), m.as<float>(), v.as<float>()};
    ms = cuda_time_ms(
        [](void* ctx) {
          auto* b = static_cast<AdamBench*>(ctx);
          adam_step_cuda(b->p, b->g, b->m, b->v, b->n, 10, 1e-3, 0.9, 0.999, 1e-7, 0.0, false);
        },
        &b, iters);
  });
  return ms;
}

}  // namespace

void bind_optim(py::module_& m) {
  using py::arg;
  m.def("sgd_step", &sgd_step, arg("param"), arg("grad"), arg("velocity"), arg("lr"),
        arg("momentum") = 0.0, arg("nesterov") = false, arg("weight_decay") = 0.0,
        py::arg_v("device", Device::Cpu, "Device.cpu"), arg("misalign") = 0,
        "In-place SGD step (PyTorch form) over contiguous float32 arrays.");
  m.def("adam_step", &adam_step, arg("param"), arg("grad"), arg("m"), arg("v"), arg("step"),
        arg("lr") = 1e-3, arg("beta1") = 0.9, arg("beta2") = 0.999, arg("eps") = 1e-7,
        arg("weight_decay") = 0.0, arg("decoupled") = false,
        py::arg_v("device", Device::Cpu, "Device.cpu"), arg("misalign") = 0,
        "In-place Adam / AdamW step (paper form) over contiguous float32 arrays.");
  m.def("optim_rule_step", &rule_step, arg("rule"), arg("param"), arg("grad"), arg("s0"), arg("s1"),
        arg("s2"), arg("step"), arg("lr"), arg("beta1") = 0.9, arg("beta2") = 0.999,
        arg("momentum") = 0.0, arg("eps") = 1e-7, arg("weight_decay") = 0.0,
        arg("decoupled") = true, arg("clip_value") = INFINITY,
        py::arg_v("device", Device::Cpu, "Device.cpu"), arg("misalign") = 0,
        "In-place step of one optimizer rule (Keras's RMSprop, Adagrad, Adadelta, Adamax, Nadam, "
        "Lion, Adam with AMSGrad) over contiguous float32 arrays.");
  m.def("sum_squares", &sum_squares, arg("x"), py::arg_v("device", Device::Cpu, "Device.cpu"),
        "sum(x**2) in double, in a fixed order (the clip norms' reduction).");
  m.def("cuda_bench_adam", &cuda_bench_adam, arg("n"), arg("iters"),
        "Milliseconds per Adam step over n parameters resident on the device (CUDA events).");
}

}  // namespace fusednet
