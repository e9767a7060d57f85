// gemm reference: C = act(alpha * A @ B + beta * C + bias), the naive triple loop.
// A [M, K], B [K, N], C [M, N] by element strides (any sign). Sums in double, so it is the ground
// truth the blocked kernels are compared with (tests/reference_gemm.py checks it against NumPy).
// beta == 0 does not read C; alpha == 0 does not read A or B (as in BLAS).
#include "kernels/cpu.h"
#include "kernels/cpu/gemm_kernels.h"

namespace fusednet {

void gemm_ref_cpu(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                  index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                  index_t rs_c, index_t cs_c, const Epilogue& epilogue) {
  for (index_t i = 0; i < M; ++i) {
    for (index_t j = 0; j < N; ++j) {
      double sum = 0.0;
      if (alpha != 0.0f)
        for (index_t k = 0; k < K; ++k)
          sum += static_cast<double>(A[i * rs_a + k * cs_a]) * B[k * rs_b + j * cs_b];
      double v = static_cast<double>(alpha) * sum;
      if (beta != 0.0f) v += static_cast<double>(beta) * C[i * rs_c + j * cs_c];
      if (epilogue.bias) v += epilogue.bias[j];
      C[i * rs_c + j * cs_c] = static_cast<float>(v);
    }
  }
  gemm_detail::apply_activation(epilogue.act, epilogue.act_param, C, M, N, rs_c, cs_c);
}

}  // namespace fusednet
