// The pair-loss row loops (pair_loss_impl.h) compiled with AVX2 + FMA (-mavx2 -mfma): 8 floats per
// instruction.
#include "kernels/cpu/pair_loss_impl.h"

namespace fusednet {
const PairLossKernels& pair_loss_kernels_avx2() { return FN_SIMD_NS::pair_loss::table(); }
}  // namespace fusednet
