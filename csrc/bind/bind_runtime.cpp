// Bindings of the runtime layer: CPU ISA and threads, the float32 matmul precision, CUDA device
// facts, device memory and synchronisation. No arithmetic here.
//   cpu_isa(), cpu_isa_detected(), set_cpu_isa(isa), get_num_threads(), set_num_threads(n)
//   set_float32_matmul_precision("highest" | "high" | "medium"), get_float32_matmul_precision()
//   cuda_info() -> dict, cuda_synchronize(), cuda_memory_info() -> (free, total)
//   tests and bench/gpu_bench.py: _pool_threads_started, _pool_check, _cuda_try_alloc(nbytes),
//   cuda_bench_copy(nbytes, iters), cuda_peak_bandwidth()
#include <pybind11/stl.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind/cuda_column.h"
#include "bind/util.h"
#include "runtime/cuda_device.h"
#include "runtime/isa.h"
#include "runtime/precision.h"
#include "runtime/thread_pool.h"

namespace fusednet {
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
  d["reason"] = kCudaNotCompiledReason;
  d["devices"] = py::list();
#endif
  return d;
}

std::vector<int> pool_check(index_t n, index_t grain, int threads, index_t throw_at) {
  std::vector<int> seen(static_cast<size_t>(std::max<index_t>(n, 0)), 0);
  py::gil_scoped_release nogil;
  parallel_for(n, grain, threads, [&](index_t begin, index_t end) {
    for (index_t i = begin; i < end; ++i) {
      if (i == throw_at) throw std::runtime_error("pool check: piece failed on purpose");
      seen[static_cast<size_t>(i)] += 1;
    }
  });
  return seen;
}

void set_precision(const std::string& p) {
  if (p == "highest") return set_float32_matmul_precision(MatmulPrecision::Highest);
  if (p == "high") return set_float32_matmul_precision(MatmulPrecision::High);
  if (p == "medium") return set_float32_matmul_precision(MatmulPrecision::Medium);
  throw py::value_error("precision: expected 'highest', 'high' or 'medium', got '" + p + "'");
}

std::string get_precision() {
  switch (float32_matmul_precision()) {
    case MatmulPrecision::High: return "high";
    case MatmulPrecision::Medium: return "medium";
    default: return "highest";
  }
}

py::tuple cuda_memory_info() {
  std::size_t free_bytes = 0, total_bytes = 0;
  on_cuda([&](auto) { device_memory_info(&free_bytes, &total_bytes); });
  return py::make_tuple(free_bytes, total_bytes);
}

struct CopyBench {
  void* dst;
  const void* src;
  std::size_t bytes;
};

// Milliseconds per device-to-device copy of nbytes (reads nbytes and writes nbytes).
double cuda_bench_copy(std::size_t nbytes, int iters) {
  double ms = 0.0;
  on_cuda([&](auto) {
    DeviceBuffer src(nbytes), dst(nbytes);
    memset_device(src.data(), 0, nbytes);
    CopyBench c{dst.data(), src.data(), nbytes};
    ms = cuda_time_ms(
        [](void* ctx) {
          auto* c = static_cast<CopyBench*>(ctx);
          copy_device_to_device(c->dst, c->src, c->bytes);
        },
        &c, iters);
  });
  return ms;
}

}  // namespace

void bind_runtime(py::module_& m) {
  using py::arg;
  m.def(
      "cpu_isa", [] { return std::string(cpu_isa_name(active_cpu_isa())); },
      "The CPU ISA the kernels use now.");
  m.def(
      "cpu_isa_detected", [] { return std::string(cpu_isa_name(detect_cpu_isa())); },
      "The widest CPU ISA this processor supports.");
  m.def(
      "set_cpu_isa", [](const std::string& name) { set_cpu_isa(parse_cpu_isa(name)); }, arg("isa"));
  m.def("get_num_threads", &num_threads);
  m.def("set_num_threads", &set_num_threads, arg("n"));
  m.def("_pool_threads_started", &pool_threads_started,
        "Worker threads the CPU thread pool has started so far (tests).");
  m.def("_pool_check", &pool_check, arg("n"), arg("grain"), arg("threads"), arg("throw_at") = -1,
        "Runs parallel_for over [0, n) and returns how many times each index ran (tests); "
        "throw_at makes that index throw.");

  m.def("set_float32_matmul_precision", &set_precision, arg("precision"),
        "'highest' (exact FP32), 'high' (the CUDA gemm may use TF32 tensor cores; the CPU gemm "
        "stays FP32) or 'medium' (also: the CPU gemm takes bf16-rounded inputs with FP32 sums "
        "where the CPU has AVX512-BF16; cpu_matmul_precision() says).");
  m.def("get_float32_matmul_precision", &get_precision);

  m.def("cuda_info", &cuda_info, "CUDA backend status; queries the driver on first call.");
  m.def(
      "cuda_synchronize", [] { on_cuda([](auto) { stream_synchronize(nullptr); }); },
      "Waits for every queued kernel on the default stream.");
  m.def("cuda_memory_info", &cuda_memory_info, "(free, total) bytes of the current device.");
  m.def(
      "_cuda_try_alloc", [](std::size_t nbytes) { on_cuda([&](auto) { DeviceBuffer d(nbytes); }); },
      arg("nbytes"),
      "Allocates and frees nbytes on the device (tests: the out-of-memory message).");
  m.def("cuda_bench_copy", &cuda_bench_copy, arg("nbytes"), arg("iters"),
        "Milliseconds per device-to-device copy of nbytes (CUDA events).");
  m.def(
      "cuda_peak_bandwidth",
      [] {
        double gbs = 0.0;
        on_cuda([&](auto) { gbs = device_peak_bandwidth_gbs(); });
        return gbs;
      },
      "Peak DRAM bandwidth of the device in GB/s (memory clock x bus width; 0 if unknown).");
}

}  // namespace fusednet
