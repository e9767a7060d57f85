// sgemm micro-kernel in portable C++: sgemm_kernel_generic_4x16, gemm_impl.h on VecGeneric.
// The fallback for CPUs without AVX2 (and for ARM): 4-wide vectors through GCC/Clang vector
// extensions (SSE2 / NEON code), or plain loops elsewhere. A 4 x 16 tile is 16 accumulators.
#include "kernels/cpu/gemm_impl.h"

namespace fusednet {

const GemmKernels& gemm_kernels_generic() {
  return FN_SIMD_NS::gemm::table<FN_SIMD_NS::VecGeneric, 4, 4, 8>("sgemm_kernel_generic_4x16", 128,
                                                                  256, 4096);
}

}  // namespace fusednet
