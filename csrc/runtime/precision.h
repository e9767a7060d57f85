// The float32 matmul precision, process-wide like torch.set_float32_matmul_precision:
// "highest" (default) is exact FP32 everywhere. "high" lets the CUDA gemm use TF32 tensor cores
// (sm_80+); the CPU gemm stays exact FP32 (no bf16x3 split: FP32 is what "high" allows and the
// CPU's FP32 path is the faster of the two). "medium" also lets the CPU gemm round its inputs to
// bf16 (round-to-nearest-even) and accumulate in FP32 with vdpbf16ps, on CPUs with AVX512-BF16
// whose active ISA is avx512; other CPUs keep exact FP32 (cpu_gemm_uses_bf16() says which). The
// CUDA gemm reads "medium" as "high" (TF32). Exists with or without CUDA.
#pragma once

namespace fusednet {

enum class MatmulPrecision : int { Highest = 0, High = 1, Medium = 2 };

void set_float32_matmul_precision(MatmulPrecision p);
MatmulPrecision float32_matmul_precision();
// "high" or "medium": the CUDA gemm may use TF32.
inline bool float32_matmul_precision_high() {
  return float32_matmul_precision() != MatmulPrecision::Highest;
}

// Whether the CPU executes vdpbf16ps (cpuid AVX512_BF16 with AVX-512F/BW/VL).
bool cpu_has_avx512_bf16();

// Which bf16 kernel the CPU gemm runs under "medium": the hardware one where the CPU has it and
// the active ISA is avx512, else none (FP32). Tests force the portable emulation of the
// instruction's arithmetic (same packing and tiles, any CPU) with set_cpu_bf16_emulation(true).
enum class CpuBf16Kernel : int { None = 0, Hardware = 1, Emulated = 2 };
void set_cpu_bf16_emulation(bool on);
bool cpu_bf16_emulation();
// The kernel the CPU gemm uses now: None unless the precision is "medium".
CpuBf16Kernel cpu_gemm_bf16_kernel();

}  // namespace fusednet
