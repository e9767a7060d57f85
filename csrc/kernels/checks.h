// The argument checks of the kernel entry points, shared by the CPU (*_cpu) and the CUDA (*_cuda)
// launchers so that both raise the same ValueError, with the same message, for the same bad
// input. Host code only; plain C++.
#pragma once

#include <cstdint>

#include "common.h"
#include "kernels/math/optim.h"
#include "kernels/types.h"

namespace fusednet {

// The Keras name of an activation code, for messages.
inline const char* activation_name(Activation act) {
  static const char* const kNames[] = {"linear",       "relu",      "leaky_relu", "sigmoid", "tanh",
                                       "gelu",         "gelu_tanh", "softmax",    "elu",     "selu",
                                       "silu",         "softplus",  "softsign",   "relu6",   "mish",
                                       "hard_sigmoid", "hard_silu", "exponential"};
  const int a = static_cast<int>(act);
  return a >= 0 && a <= kLastActivation ? kNames[a] : "unknown";
}

// The name a from-output refusal gives: both gelus are "gelu".
inline const char* from_output_name(Activation act) {
  return act == Activation::GELUTanh ? "gelu" : activation_name(act);
}

// The elementwise activation codes: every one but the row-wise Softmax.
inline void check_elementwise(Activation act) {
  FN_CHECK(is_elementwise(act), "act: expected an elementwise activation code (0-6, 8-",
           kLastActivation, "), got ", static_cast<int>(act));
}

// A backward pass from the forward output: most derivatives need the input, and leaky_relu a
// positive slope to recover the sign of x from y.
inline void check_derivative_from_output(Activation act, float param) {
  check_elementwise(act);
  FN_CHECK(act != Activation::LeakyReLU || param > 0.0f,
           "param: leaky_relu needs negative_slope > 0 to recover the sign of x from y, got ",
           param);
  FN_CHECK(has_derivative_from_output(act, param), "act: ", from_output_name(act),
           "'s derivative needs the forward input, not its output");
}

// A row-wise op with nothing in a row (argmax, cross-entropy).
inline void check_has_columns(const char* name, index_t rows, index_t cols) {
  FN_CHECK(rows == 0 || cols > 0, name, ": expected at least one column, got shape (", rows, ", ",
           cols, ")");
}

// A pair loss's code, shape and parameter (huber's delta must be > 0, as Keras requires).
inline void check_pair_loss(PairLoss kind, float param, index_t rows, index_t cols) {
  const int k = static_cast<int>(kind);
  FN_CHECK(k >= 0 && k <= kLastPairLoss, "kind: expected a pair loss code in [0, ", kLastPairLoss,
           "], got ", k);
  check_has_columns("pred", rows, cols);
  FN_CHECK(kind != PairLoss::Huber || param > 0.0f, "delta: expected a number > 0, got ", param);
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

// A rule's state arrays: each one it uses is given.
inline void check_rule_args(const optmath::RuleCoeffs& c, index_t n, const float* s0,
                            const float* s1, const float* s2) {
  FN_CHECK(n >= 0, "n: expected >= 0, got ", n);
  const int states = optmath::rule_states(c.rule);
  const float* s[3] = {s0, s1, s2};
  for (int i = 0; i < states; ++i)
    FN_CHECK(n == 0 || s[i] != nullptr, "state ", i, ": required by this optimizer (it keeps ",
             states, " state arrays)");
}

}  // namespace fusednet
