#include "kernels/cpu/dense_grad_impl.h"

namespace fusednet {

const DenseGradKernels& dense_grad_kernels_avx2() {
  static const DenseGradKernels k{&FN_SIMD_NS::dense_grad::narrow<FN_SIMD_NS::VecAvx2>};
  return k;
}

}  // namespace fusednet
