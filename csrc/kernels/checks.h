// The argument checks of the kernel entry points, shared by the CPU (*_cpu) and the CUDA (*_cuda)
// launchers so that both raise the same ValueError, with the same message, for the same bad
// input. Host code only; plain C++.
#pragma once

#include <cstdint>

#include "common.h"
#include "kernels/types.h"

namespace fusednet {

// The elementwise activation codes: every one but the row-wise Softmax.
inline void check_elementwise(Activation act) {
  FN_CHECK(is_elementwise(act), "act: expected an activation code in [0, 6], got ",
           static_cast<int>(act));
}

// A backward pass from the forward output: the GELUs need the input, and leaky_relu a positive
// slope to recover the sign of x from y.
inline void check_derivative_from_output(Activation act, float param) {
  check_elementwise(act);
  FN_CHECK(act != Activation::GELU && act != Activation::GELUTanh,
           "act: gelu's derivative needs the forward input, not its output");
  FN_CHECK(act != Activation::LeakyReLU || param > 0.0f,
           "param: leaky_relu needs negative_slope > 0 to recover the sign of x from y, got ",
           param);
}

// A row-wise op with nothing in a row (argmax, cross-entropy).
inline void check_has_columns(const char* name, index_t rows, index_t cols) {
  FN_CHECK(rows == 0 || cols > 0, name, ": expected at least one column, got shape (", rows, ", ",
           cols, ")");
}

// An empty span needs no velocity (a device copy of an empty array may be nullptr).
inline void check_sgd_args(index_t n, double momentum, const float* velocity) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  FN_CHECK(n == 0 || static_cast<float>(momentum) == 0.0f || velocity != nullptr,
           "velocity: required when momentum != 0 (got momentum=", momentum, ")");
}

inline void check_adam_args(index_t n, std::int64_t step) {
  FN_CHECK(step >= 1, "step: expected an integer >= 1, got ", step);
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
}

}  // namespace fusednet
