// The activation span kernels of activation_math.h compiled with AVX-512 (this file's name gives
// it -mavx512f/bw/vl/dq): 16 floats per instruction, masked loop tails.
#define FN_ACT_NS act_avx512
#include "activation_math.h"

namespace fusednet {
const ActivationKernels& activation_kernels_avx512() { return act_avx512::table(); }
}  // namespace fusednet
