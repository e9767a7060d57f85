// The activation span kernels (activation_impl.h) compiled with AVX2 + FMA (this file's name
// gives it -mavx2 -mfma): 8 floats per instruction, FMA in the polynomials.
#include "kernels/cpu/activation_impl.h"

namespace fusednet {
const ActivationKernels& activation_kernels_avx2() { return FN_SIMD_NS::activation::table(); }
}  // namespace fusednet
