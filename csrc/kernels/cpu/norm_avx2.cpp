// The normalization kernels (norm_impl.h) compiled with AVX2 + FMA.
#include "kernels/cpu/norm_impl.h"

namespace fusednet {
const NormKernels& norm_kernels_avx2() { return FN_SIMD_NS::norm::table(); }
}  // namespace fusednet
