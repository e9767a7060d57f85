// The float32 matmul precision, process-wide like torch.set_float32_matmul_precision:
// "highest" (default) is exact FP32; "high" lets the CUDA gemm use TF32 tensor cores (sm_80+).
// The CPU gemm is always exact FP32. Exists with or without CUDA.
#pragma once

namespace fusednet {

void set_float32_matmul_precision_high(bool high);
bool float32_matmul_precision_high();

}  // namespace fusednet
