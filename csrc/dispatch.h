// Run-time choices: which CPU ISA the micro-kernels use, how many threads, whether CUDA is there.
// The only place that may test FUSEDNET_WITH_CUDA.
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

// Threads used by every parallel kernel. Results never depend on it (fixed reduction orders).
int num_threads();
void set_num_threads(int n);

bool cuda_compiled();

}  // namespace fusednet
