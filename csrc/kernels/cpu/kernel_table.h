// How every CPU kernel family exposes its per-ISA kernels (flame/blis's registration tables):
//
//   struct <Family>Kernels { ...function pointers... };            <family>_kernels.h
//   const <Family>Kernels& <family>_kernels_generic();             <family>.cpp
//   const <Family>Kernels& <family>_kernels_avx2();                <family>_avx2.cpp (x86 builds)
//   const <Family>Kernels& <family>_kernels_avx512();              <family>_avx512.cpp (x86 builds)
//   const <Family>Kernels& <family>_kernels(CpuIsa isa);           <family>.cpp, via pick_kernels
//
// The portable loops (thread split, blocking, the reference arithmetic) are the family's driver,
// <family>.cpp; only the tables differ per ISA, one registration function per ISA file. The driver
// calls <family>_kernels(active_cpu_isa()) once per call; a family without kernels for an ISA
// runs those of the next ISA below it.
#pragma once

#include "runtime/isa.h"

// A registration function of an x86 ISA, or nullptr in builds without the x86 kernels (where
// the *_avx2.cpp / *_avx512.cpp files are not compiled).
#if defined(FUSEDNET_X86_KERNELS)
#define FN_X86_KERNELS(fn) &fn
#else
#define FN_X86_KERNELS(fn) nullptr
#endif

namespace fusednet {

template <class Kernels>
struct KernelsOf {
  using Registration = const Kernels& (*)();
};

// The table for `isa`: avx512, else avx2, else generic, skipping the ones a family lacks (nullptr).
template <class Kernels>
const Kernels& pick_kernels(CpuIsa isa, const Kernels& (*generic)(),
                            typename KernelsOf<Kernels>::Registration avx2,
                            typename KernelsOf<Kernels>::Registration avx512) {
  if (isa == CpuIsa::Avx512 && avx512) return avx512();
  if (isa != CpuIsa::Generic && avx2) return avx2();
  return generic();
}

}  // namespace fusednet
