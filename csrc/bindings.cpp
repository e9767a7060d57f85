// The private extension fusednet._core: backend facts, threads, ISA, and each op family's
// functions (registered from bind_<family>.cpp). Boring on purpose: check, release GIL, call.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bind_util.h"
#include "cuda_api.h"
#include "dispatch.h"

namespace py = pybind11;
using namespace fusednet;

namespace {
py::dict cuda_info() {
  py::dict d;
  d["compiled"] = cuda_compiled();
#ifdef FUSEDNET_WITH_CUDA
  CudaStatus s = cuda_status();
  d["available"] = s.available;
  d["reason"] = s.reason;
  d["driver_version"] = s.driver_version;
  d["runtime_version"] = s.runtime_version;
  py::list devs;
  for (const auto& dev : s.devices) {
    py::dict x;
    x["index"] = dev.index;
    x["name"] = dev.name;
    x["compute_capability"] = py::make_tuple(dev.major, dev.minor);
    x["total_memory"] = dev.total_memory;
    x["multiprocessors"] = dev.multiprocessors;
    devs.append(x);
  }
  d["devices"] = devs;
#else
  d["available"] = false;
  d["reason"] = "not compiled: fusednet was built without CUDA (nvcc not found or FUSEDNET_CUDA=OFF)";
  d["devices"] = py::list();
#endif
  return d;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "fusednet private extension: CPU and CUDA kernels";

  m.def("cpu_isa", [] { return std::string(cpu_isa_name(active_cpu_isa())); },
        "The CPU ISA the kernels use now.");
  m.def("cpu_isa_detected", [] { return std::string(cpu_isa_name(detect_cpu_isa())); },
        "The widest CPU ISA this processor supports.");
  m.def("set_cpu_isa", [](const std::string& name) { set_cpu_isa(parse_cpu_isa(name)); },
        py::arg("isa"));
  m.def("get_num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("cuda_info", &cuda_info, "CUDA backend status; queries the driver on first call.");
  m.attr("openmp") =
#ifdef FUSEDNET_WITH_OPENMP
      true;
#else
      false;
#endif

  bind_gemm(m);
  bind_activation(m);
  bind_loss(m);
  bind_optim(m);
  bind_net(m);
  bind_cuda(m);
  bind_net_cuda(m);
}
