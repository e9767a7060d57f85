// The part of the CUDA device facts that exists in every build (see cuda_device.h).
#include "runtime/cuda_device.h"

namespace fusednet {

bool cuda_compiled() {
#ifdef FUSEDNET_WITH_CUDA
  return true;
#else
  return false;
#endif
}

}  // namespace fusednet
