// The pair-loss row loops (pair_loss_impl.h) compiled with AVX-512 (-mavx512f ...): 16 floats per
// instruction.
#include "kernels/cpu/pair_loss_impl.h"

namespace fusednet {
const PairLossKernels& pair_loss_kernels_avx512() { return FN_SIMD_NS::pair_loss::table(); }
}  // namespace fusednet
