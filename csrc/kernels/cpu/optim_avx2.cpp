// The optimizer's vector range kernels (optim_impl.h) on VecAvx2: 8 floats per vector, FMA.
#include "kernels/cpu/optim_impl.h"

namespace fusednet {
const OptimKernels& optim_kernels_avx2() { return FN_SIMD_NS::optim::table<FN_SIMD_NS::VecAvx2>(); }
}  // namespace fusednet
