// Which CPU ISA the micro-kernels use: detected from cpuid, overridable (FUSEDNET_ISA, set_cpu_isa)
// so tests run every path the CPU supports.
#pragma once

#include <string>

namespace fusednet {

enum class CpuIsa : int { Generic = 0, Avx2 = 1, Avx512 = 2 };

// What the CPU supports (cpuid), ignoring any override.
CpuIsa detect_cpu_isa();
// The ISA in use: FUSEDNET_ISA (avx512|avx2|generic) at first use, else the best detected; a
// forced ISA the CPU lacks raises. set_cpu_isa() changes it at run time (tests run every path).
CpuIsa active_cpu_isa();
void set_cpu_isa(CpuIsa isa);
const char* cpu_isa_name(CpuIsa isa);
CpuIsa parse_cpu_isa(const std::string& name);  // throws ValueError naming the known ones

}  // namespace fusednet
