#include "runtime/precision.h"

#include <atomic>

#include "runtime/isa.h"

namespace fusednet {

namespace {
std::atomic<int> g_matmul_precision{0};
std::atomic<bool> g_bf16_emulation{false};
}  // namespace

void set_float32_matmul_precision(MatmulPrecision p) { g_matmul_precision = static_cast<int>(p); }
MatmulPrecision float32_matmul_precision() {
  return static_cast<MatmulPrecision>(g_matmul_precision.load(std::memory_order_relaxed));
}

bool cpu_has_avx512_bf16() {
#if defined(FUSEDNET_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return has;
#else
  return false;
#endif
}

void set_cpu_bf16_emulation(bool on) { g_bf16_emulation = on; }
bool cpu_bf16_emulation() { return g_bf16_emulation.load(std::memory_order_relaxed); }

CpuBf16Kernel cpu_gemm_bf16_kernel() {
  if (float32_matmul_precision() != MatmulPrecision::Medium) return CpuBf16Kernel::None;
  if (cpu_bf16_emulation()) return CpuBf16Kernel::Emulated;
  if (cpu_has_avx512_bf16() && active_cpu_isa() == CpuIsa::Avx512) return CpuBf16Kernel::Hardware;
  return CpuBf16Kernel::None;
}

}  // namespace fusednet
