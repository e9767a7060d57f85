// The activation span kernels (activation_impl.h) compiled with AVX-512 (this file's name gives
// it -mavx512f/bw/vl/dq): 16 floats per instruction, masked loop tails.
#include "kernels/cpu/activation_impl.h"

namespace fusednet {
const ActivationKernels& activation_kernels_avx512() { return FN_SIMD_NS::activation::table(); }
}  // namespace fusednet
