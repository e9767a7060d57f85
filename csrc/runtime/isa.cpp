// CPU ISA detection and the override. See isa.h.
#include "runtime/isa.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "common.h"

namespace fusednet {

CpuIsa detect_cpu_isa() {
#if defined(FUSEDNET_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return CpuIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuIsa::Avx2;
#endif
  return CpuIsa::Generic;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    default: return "generic";
  }
}

CpuIsa parse_cpu_isa(const std::string& name) {
  if (name == "avx512") return CpuIsa::Avx512;
  if (name == "avx2") return CpuIsa::Avx2;
  if (name == "generic") return CpuIsa::Generic;
  throw_value_error("isa: expected one of 'avx512', 'avx2', 'generic', got '", name, "'");
}

namespace {
std::atomic<int> g_isa{-1};
std::once_flag g_isa_once;

void check_supported(CpuIsa isa) {
  if (static_cast<int>(isa) > static_cast<int>(detect_cpu_isa()))
    throw_value_error("isa: this CPU does not support '", cpu_isa_name(isa), "' (best available: '",
                      cpu_isa_name(detect_cpu_isa()), "')");
}
}  // namespace

CpuIsa active_cpu_isa() {
  std::call_once(g_isa_once, [] {
    if (g_isa.load() >= 0) return;  // set_cpu_isa() came first
    CpuIsa isa = detect_cpu_isa();
    if (const char* env = std::getenv("FUSEDNET_ISA"); env && *env) {
      isa = parse_cpu_isa(env);
      check_supported(isa);
    }
    g_isa.store(static_cast<int>(isa));
  });
  return static_cast<CpuIsa>(g_isa.load());
}

void set_cpu_isa(CpuIsa isa) {
  check_supported(isa);
  g_isa.store(static_cast<int>(isa));
}

}  // namespace fusednet
