// The part of the CUDA device facts that exists in every build (see cuda_device.h).
#include "runtime/cuda_device.h"

#include <stdexcept>
#include <string>

namespace fusednet {

const char* const kCudaNotCompiledReason =
    "not compiled: fusednet was built without CUDA (nvcc not found or FUSEDNET_CUDA=OFF)";

void throw_cuda_not_compiled() {
  throw std::runtime_error(std::string("CUDA ") + kCudaNotCompiledReason +
                           "; rebuild with FUSEDNET_CUDA=ON to use device='cuda'");
}

bool cuda_compiled() {
#ifdef FUSEDNET_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace fusednet
