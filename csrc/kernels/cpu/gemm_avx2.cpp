// sgemm micro-kernel for AVX2 + FMA: sgemm_kernel_avx2_6x16, gemm_impl.h on VecAvx2.
// Register tile 6 x 16: 12 ymm accumulators, 2 ymm of B and 1 broadcast of A per k (15 of 16
// registers); 12 FMAs per 8 loads keeps both FMA pipes busy on Haswell..Zen 4.
#include "kernels/cpu/gemm_impl.h"

namespace fusednet {

// mc x kc of A (144 x 384 floats = 216 KiB) sits in half of a 512 KiB L2; a kc x 16 panel of B
// (24 KiB) stays in the 32 KiB L1 while the A block streams past it (measured best of
// mc in 72..240, kc in 256..512 on Zen 3, tools/gemm_bench.py).
#ifndef FN_AVX2_BLOCKS  // overridable for tuning builds
#define FN_AVX2_BLOCKS 144, 384, 4080
#endif
const GemmKernels& gemm_kernels_avx2() {
  return FN_SIMD_NS::gemm::table<FN_SIMD_NS::VecAvx2, 6, 2, 12>("sgemm_kernel_avx2_6x16",
                                                                FN_AVX2_BLOCKS);
}

}  // namespace fusednet
