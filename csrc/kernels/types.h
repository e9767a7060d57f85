// Types every kernel family shares, whatever the device: the activation codes, the loss
// reduction and the gemm epilogue. Plain C++ (no CUDA headers), so the CPU kernels, the CUDA
// launchers, the net and the bindings all name them from here.
#pragma once

#include "common.h"

namespace fusednet {

enum class Activation : int {
  Linear = 0,
  ReLU = 1,
  LeakyReLU = 2,  // param = negative_slope
  Sigmoid = 3,
  Tanh = 4,
  GELU = 5,       // exact: 0.5 x (1 + erf(x / sqrt 2))
  GELUTanh = 6,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Softmax = 7,    // row-wise, not elementwise: a Net layer's activation, never a kernel code
};

// The codes the elementwise kernels and the gemm epilogue take (all but Softmax).
inline bool is_elementwise(Activation act) {
  return static_cast<int>(act) >= 0 &&
         static_cast<int>(act) <= static_cast<int>(Activation::GELUTanh);
}

// Losses reduce per-sample values by a weighted sum, or that sum divided by the row count.
enum class Reduction : int { Mean = 0, Sum = 1 };

// What a gemm applies to each output element before storing it:
// C = act(alpha * A @ B + beta * C + bias); bias (length N) may be nullptr.
struct Epilogue {
  const float* bias = nullptr;
  Activation act = Activation::Linear;
  float act_param = 0.0f;
};

}  // namespace fusednet
