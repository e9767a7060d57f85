// Device query for backends() and device="auto". Lazy: nothing here runs until someone asks,
// so importing fusednet never initialises CUDA.
#include <mutex>

#include <stdexcept>

#include "runtime/cuda_check.cuh"
#include "runtime/cuda_device.h"

namespace fusednet {

namespace {
CudaStatus query_once() {
  CudaStatus s;
  s.compiled = true;
  cudaRuntimeGetVersion(&s.runtime_version);
  cudaError_t err = cudaDriverGetVersion(&s.driver_version);
  if (err != cudaSuccess || s.driver_version == 0) {
    s.reason = "no driver: the NVIDIA driver (libcuda) was not found";
    return s;
  }
  if (s.driver_version < s.runtime_version) {
    s.reason = "driver too old: driver supports CUDA " + std::to_string(s.driver_version / 1000) +
               "." + std::to_string(s.driver_version % 1000 / 10) + ", fusednet was built with " +
               std::to_string(s.runtime_version / 1000) + "." +
               std::to_string(s.runtime_version % 1000 / 10);
    // Minor-version compatibility may still let it run: the device count decides.
  }
  int count = 0;
  err = cudaGetDeviceCount(&count);
  if (err == cudaErrorInsufficientDriver) {
    s.reason = "driver too old: " + std::string(cudaGetErrorString(err));
    cudaGetLastError();
    return s;
  }
  if (err != cudaSuccess || count == 0) {
    s.reason = err == cudaSuccess ? "no device: the driver reports no CUDA device"
                                  : "no device: " + std::string(cudaGetErrorString(err));
    cudaGetLastError();
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.index = i;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    s.devices.push_back(d);
  }
  s.available = !s.devices.empty();
  s.reason = s.available ? "" : "no device: no device could be queried";
  return s;
}
}  // namespace

CudaStatus cuda_status() {
  static std::once_flag once;
  static CudaStatus status;
  std::call_once(once, [] { status = query_once(); });
  return status;
}

void require_cuda_device() {
  CudaStatus s = cuda_status();
  if (!s.available) throw std::runtime_error("CUDA not available: " + s.reason);
}

}  // namespace fusednet
