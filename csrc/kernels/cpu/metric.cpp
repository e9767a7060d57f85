// The CPU metric kernels (kernels/cpu.h): sequential loops over the per-element math of
// kernels/math/metric.h, shared with the CUDA kernels and the host mock. A batch's metric is a
// small fraction of a training step's work, so no SIMD variants: the same code on every ISA.
#include <algorithm>

#include "kernels/cpu.h"

namespace fusednet {

double metric_sum_cpu(int kind, const float* pred, float threshold, const std::int64_t* labels,
                      const float* targets, const float* weights, index_t rows, index_t cols,
                      int k) {
  double s = 0.0;
  if (!weights) {  // the net's order: one running sum over every element
    for (index_t i = 0; i < rows; ++i)
      s = metricmath::metric_row(kind, pred + i * cols, threshold, labels ? labels[i] : 0,
                                 targets ? targets + i * cols : nullptr, cols, s, k);
    return s;
  }
  for (index_t i = 0; i < rows; ++i) {
    const double r =
        metricmath::metric_row(kind, pred + i * cols, threshold, labels ? labels[i] : 0,
                               targets ? targets + i * cols : nullptr, cols, 0.0, k);
    s += r * static_cast<double>(weights[i]);
  }
  return s;
}

void metric_state_cpu(const metricmath::MetricParams& p, const float* pred, const float* targets,
                      const float* weights, index_t rows, index_t cols, double* out,
                      index_t width) {
  std::fill(out, out + width, 0.0);
  auto add = [out](index_t at, double v) { out[at] += v; };
  for (index_t i = 0; i < rows; ++i) {
    const float* r = pred + i * cols;
    const float* t = targets + i * cols;
    const double w = weights ? static_cast<double>(weights[i]) : 1.0;
    if (p.kind == 12 || p.kind == 13) {
      const float m = p.kind == 12 ? metricmath::row_max(r, cols) : 0.f;
      double e[4];
      for (index_t j = 0; j < cols; ++j) {
        if (p.kind == 12) metricmath::f1_element(p, r[j], m, t[j], w, e);
        else metricmath::r2_element(r[j], t[j], w, e);
        for (int q = 0; q < 4; ++q) out[4 * j + q] += e[q];
      }
      if (p.kind == 13 && w != 0.0) out[4 * cols] += 1.0;  // samples with a nonzero weight
    } else {
      metricmath::confusion_row(p, r, t, cols, w, add);
    }
  }
}

}  // namespace fusednet
