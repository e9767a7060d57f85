// The private extension fusednet._core: backend facts, threads, ISA, and each op family's
// functions (registered from bind_<family>.cpp). Boring on purpose: check, release GIL, call.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <vector>

#include "bind/util.h"
#include "runtime/cuda_device.h"
#include "runtime/isa.h"
#include "runtime/thread_pool.h"

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
  m.def("_pool_threads_started", &pool_threads_started,
        "Worker threads the CPU thread pool has started so far (tests).");
  m.def(
      "_pool_check",
      [](index_t n, index_t grain, int threads, index_t throw_at) {
        std::vector<int> seen(static_cast<size_t>(std::max<index_t>(n, 0)), 0);
        {
          py::gil_scoped_release nogil;
          parallel_for(n, grain, threads, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) {
              if (i == throw_at) throw std::runtime_error("pool check: piece failed on purpose");
              seen[static_cast<size_t>(i)] += 1;
            }
          });
        }
        return seen;
      },
      py::arg("n"), py::arg("grain"), py::arg("threads"), py::arg("throw_at") = -1,
      "Runs parallel_for over [0, n) and returns how many times each index ran (tests); "
      "throw_at makes that index throw.");

  bind_types(m);
  bind_gemm(m);
  bind_activation(m);
  bind_loss(m);
  bind_optim(m);
  bind_net(m);
  bind_cuda(m);
  bind_cuda_gemm_tf32(m);
}
