// One row's contribution to a training metric, for the CPU backend, the CUDA metric kernel and the
// host mock alike, so every device counts the same matches and sums the same errors:
//   binary accuracy (0):       matches of (pred > threshold) with the 0/1 targets of the row
//   sparse accuracy (1):       1 when the row's first argmax equals its integer label
//   categorical accuracy (2):  1 when the row's first argmax equals the targets' first argmax
//   MAE (3) / MSE (4):         sum over the row of |pred - t| / (pred - t)^2, in double
// Codes are MetricKind's (net/spec.h). A NaN counts as the maximum in an argmax (NumPy's rule).
#pragma once

#include <cstdint>

#include "common.h"
#include "kernels/math/host_device.h"

namespace fusednet {
namespace metricmath {

FN_HOST_DEVICE inline bool is_nan(float x) { return x != x; }

// First index of the row's maximum.
FN_HOST_DEVICE inline index_t argmax_row(const float* r, index_t n) {
  index_t best = 0;
  for (index_t j = 1; j < n; ++j)
    if (r[j] > r[best] || (is_nan(r[j]) && !is_nan(r[best]))) best = j;
  return best;
}

// sum + the row's contribution, added element by element (so a caller that passes its running
// sum adds every element in order). pred and target point at the row (cols values); label is the
// row's class id (sparse accuracy).
FN_HOST_DEVICE inline double metric_row(int kind, const float* pred, float threshold,
                                        std::int64_t label, const float* target, index_t cols,
                                        double sum = 0.0) {
  double s = sum;
  if (kind == 0) {
    for (index_t j = 0; j < cols; ++j) s += (pred[j] > threshold ? 1.f : 0.f) == target[j] ? 1 : 0;
  } else if (kind == 1 || kind == 2) {
    const index_t truth = kind == 1 ? static_cast<index_t>(label) : argmax_row(target, cols);
    s += argmax_row(pred, cols) == truth ? 1.0 : 0.0;
  } else {
    for (index_t j = 0; j < cols; ++j) {
      const double e = static_cast<double>(pred[j]) - static_cast<double>(target[j]);
      s += kind == 4 ? e * e : (e < 0 ? -e : e);
    }
  }
  return s;
}

}  // namespace metricmath
}  // namespace fusednet
