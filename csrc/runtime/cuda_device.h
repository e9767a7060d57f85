// Lazy facts about the CUDA device: whether CUDA was compiled in, and (on first ask) the driver,
// runtime and devices. cuda_status() is implemented in cuda_device.cu and linked only with
// FUSEDNET_WITH_CUDA. Plain C++ types here, so csrc/ never includes CUDA headers outside .cu files.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fusednet {

// Where arrays live and kernels run.
enum class Device : int { Cpu = 0, Cuda = 1 };

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  std::size_t total_memory = 0;
  int multiprocessors = 0;
};

struct CudaStatus {
  bool compiled = false;
  bool available = false;
  std::string
      reason;  // why not available: "not compiled", "no driver", "driver too old", "no device"
  int driver_version = 0;
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Whether this build has the CUDA backend (FUSEDNET_WITH_CUDA).
bool cuda_compiled();
// Why a build without it cannot use CUDA (backends()' reason), and the error every CUDA entry
// point raises then: RuntimeError("CUDA not compiled: ...; rebuild with FUSEDNET_CUDA=ON ...").
extern const char* const kCudaNotCompiledReason;
[[noreturn]] void throw_cuda_not_compiled();

// Queries the driver on first call only (import never touches CUDA); cached afterwards.
CudaStatus cuda_status();

// Throws std::runtime_error("CUDA not available: <reason>") when there is no usable device.
void require_cuda_device();

}  // namespace fusednet
