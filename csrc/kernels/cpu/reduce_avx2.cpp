// The reduction kernels (reduce_impl.h) compiled with AVX2 + FMA: 8 floats per instruction.
#include "kernels/cpu/reduce_impl.h"

namespace fusednet {
const ReduceKernels& reduce_kernels_avx2() { return FN_SIMD_NS::reduce::table(); }
}  // namespace fusednet
