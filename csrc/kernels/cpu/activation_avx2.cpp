// The activation span kernels of activation_math.h compiled with AVX2 + FMA (this file's name
// gives it -mavx2 -mfma): 8 floats per instruction, FMA in the polynomials.
#define FN_ACT_NS act_avx2
#include "activation_math.h"

namespace fusednet {
const ActivationKernels& activation_kernels_avx2() { return act_avx2::table(); }
}  // namespace fusednet
