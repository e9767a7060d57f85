// Private to the optimizer family (optim.cpp, optim_avx2.cpp, optim_avx512.cpp): the range
// kernels each ISA registers (kernel_table.h). The math is kernels/math/optim.h.
#pragma once

#include <type_traits>

#include "common.h"
#include "kernels/cpu/kernel_table.h"
#include "kernels/math/optim.h"

namespace fusednet {

// Each updates elements [0, n) of the given pointers (already offset by the caller), in place.
struct OptimKernels {
  void (*adam)(float* p, const float* g, float* m, float* v, index_t n,
               const optmath::AdamCoeffs& c);
  void (*sgd)(float* p, const float* g, float* vel, index_t n, const optmath::SgdCoeffs& c);
  // The rule kernel (math/optim.h's rule_update): s0..s2 as the rule uses them (rule_states).
  void (*rule)(const optmath::RuleCoeffs& c, float* p, const float* g, float* s0, float* s1,
               float* s2, index_t n);
};

const OptimKernels& optim_kernels_generic();
const OptimKernels& optim_kernels_avx2();
const OptimKernels& optim_kernels_avx512();
const OptimKernels& optim_kernels(CpuIsa isa);

// f(UseDecay, UseMomentum, Nesterov) as std::bool_constant: one SGD loop per variant, picked once.
template <class F>
void with_sgd_variant(const optmath::SgdCoeffs& c, F&& f) {
  using T = std::true_type;
  using N = std::false_type;
  if (!c.use_momentum) {
    if (c.use_decay) f(T{}, N{}, N{});
    else f(N{}, N{}, N{});
  } else if (c.nesterov) {
    if (c.use_decay) f(T{}, T{}, T{});
    else f(N{}, T{}, T{});
  } else {
    if (c.use_decay) f(T{}, T{}, N{});
    else f(N{}, T{}, N{});
  }
}

}  // namespace fusednet
