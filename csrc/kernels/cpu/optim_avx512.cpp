// The optimizer's vector range kernels (optim_impl.h) on VecAvx512: 16 floats per vector.
#include "kernels/cpu/optim_impl.h"

namespace fusednet {
const OptimKernels& optim_kernels_avx512() {
  return FN_SIMD_NS::optim::table<FN_SIMD_NS::VecAvx512>();
}
}  // namespace fusednet
