// What the C++ side may ask of the CUDA backend. Implemented in cuda/*.cu; only compiled with
// FUSEDNET_WITH_CUDA. Plain C++ types here, so csrc/ never includes CUDA headers.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fusednet {

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
  std::string reason;  // why not available: "not compiled", "no driver", "driver too old", "no device"
  int driver_version = 0;
  int runtime_version = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Queries the driver on first call only (import never touches CUDA); cached afterwards.
CudaStatus cuda_status();

}  // namespace fusednet
