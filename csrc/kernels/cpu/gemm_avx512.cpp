// sgemm micro-kernel for AVX-512F: sgemm_kernel_avx512_12x32, gemm_impl.h on VecAvx512.
// The AVX2 kernel's analogue at twice the width and with the larger register file: a 12 x 32 tile
// is 24 zmm accumulators, 2 zmm of B and 1 broadcast of A per k (27 of 32 registers).
// Selected only when cpuid reports AVX-512F/BW/VL/DQ (runtime/isa.cpp); gemm_impl.h is the same
// code the AVX2 and generic kernels run, so the tests of those paths cover its logic and the
// cpu_isa fixture runs it on AVX-512 machines.
#include "kernels/cpu/gemm_impl.h"

namespace fusednet {

// A block 192 x 256 floats = 192 KiB (Zen 4 L2: 1 MiB); a kc x 32 panel of B is 32 KiB.
const GemmKernels& gemm_kernels_avx512() {
  return FN_SIMD_NS::gemm::table<FN_SIMD_NS::VecAvx512, 12, 2, 24>("sgemm_kernel_avx512_12x32", 192,
                                                                   256, 4096);
}

}  // namespace fusednet
