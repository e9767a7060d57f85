// One row's contribution to a training metric, for the CPU backend, the CUDA metric kernel and the
// host mock alike, so every device counts the same matches and sums the same errors:
//   binary accuracy (0):       matches of (pred > threshold) with the 0/1 targets of the row
//   sparse accuracy (1):       1 when the row's first argmax equals its integer label
//   categorical accuracy (2):  1 when the row's first argmax equals the targets' first argmax
//   MAE (3) / MSE (4):         sum over the row of |pred - t| / (pred - t)^2, in double
//   top-k categorical (5) / sparse top-k (6): 1 when the true class (the targets' first argmax /
//                              the label) is in the row's top k: fewer than k predictions are
//                              strictly greater than its own (Keras's in_top_k: ties count in)
//   RMSE (7):                  as MSE (the square root is taken of the mean, spec.cpp)
//   MAPE (8):                  sum over the row of |t - pred| / max(|t|, 1e-7) (x 100 in the mean)
// Metrics whose state is not one sum (AUC, Precision, Recall: confusion counts per threshold;
// F1: per-class counts; R2: per-column sums) add into a small vector per batch, element by element,
// with the functions after metric_row (their layout: metric_state_width in net/spec.h).
// Codes are MetricKind's (net/spec.h). A NaN counts as the maximum in an argmax (NumPy's rule).
#pragma once

#include <cmath>
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
                                        double sum = 0.0, int k = 5) {
  double s = sum;
  if (kind == 5 || kind == 6) {
    const index_t truth = kind == 6 ? static_cast<index_t>(label) : argmax_row(target, cols);
    if (truth < 0 || truth >= cols) return s;  // an out-of-range label is never in the top k
    const float v = pred[truth];
    index_t greater = 0;
    for (index_t j = 0; j < cols; ++j) greater += pred[j] > v ? 1 : 0;
    s += (greater < k && !is_nan(v)) ? 1.0 : 0.0;
  } else if (kind == 8) {
    for (index_t j = 0; j < cols; ++j) {
      const double t = static_cast<double>(target[j]);
      const double a = t < 0 ? -t : t, eps = static_cast<double>(1e-7f);
      const double e = t - static_cast<double>(pred[j]);
      s += (e < 0 ? -e : e) / (a > eps ? a : eps);
    }
  } else if (kind == 0) {
    for (index_t j = 0; j < cols; ++j) s += (pred[j] > threshold ? 1.f : 0.f) == target[j] ? 1 : 0;
  } else if (kind == 1 || kind == 2) {
    const index_t truth = kind == 1 ? static_cast<index_t>(label) : argmax_row(target, cols);
    s += argmax_row(pred, cols) == truth ? 1.0 : 0.0;
  } else {
    for (index_t j = 0; j < cols; ++j) {
      const double e = static_cast<double>(pred[j]) - static_cast<double>(target[j]);
      s += kind == 4 || kind == 7 ? e * e : (e < 0 ? -e : e);
    }
  }
  return s;
}

// ---- metrics with a vector state ----------------------------------------------------------------
// What the kernels need of such a metric (plain data, passed by value to a device kernel).
// Confusion metrics (AUC 9, Precision 10, Recall 11) compare each considered prediction p with
// thresholds t_0 < ... < t_{T-1} (backend memory); considered are: column class_id of each row
// (class_id >= 0), else every element. Labels: multi_label AUC keeps one set per column, else one.
// State: tp[T * L] then fp[T * L] then pos[L] then neg[L] (L labels). With `evenly` (Keras's
// optimized path for evenly spaced thresholds) tp/fp hold a histogram of buckets
// ceil(p (T - 1)) - 1 (clipped p; bucket -1 dropped, or counted in 0 with `with_epsilon`) that the
// host turns into counts by a reverse cumulative sum; otherwise tp[i] counts p > t_i directly.
// F1 (12): per column tp, fp, fn, support (4 cols). R2 (13): per column sum(y), sum(y^2),
// sum((y - p)^2), count, then the number of samples (4 cols + 1).
struct MetricParams {
  int kind = 0;
  int top_k = 0;  // Precision / Recall: only each row's top k predictions can be positive
  int class_id = -1;  // Precision / Recall: only this column
  int num_thresholds = 0;
  const float* thresholds = nullptr;
  bool evenly = false, with_epsilon = false;
  bool multi_label = false;
  bool from_logits = false;  // AUC: sigmoid first
  bool has_threshold = false;  // F1: pred > threshold, else the row's maxima (> 1e-9 in size)
  float threshold = 0.5f;
};

FN_HOST_DEVICE inline float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }

// Whether element j of a row counts as predicted (Precision / Recall top_k: among the row's top k,
// ties broken by the lower index as top_k does; Keras then compares x with the threshold,
// non-top-k elements with -1e10).
FN_HOST_DEVICE inline float topk_filtered(const float* row, index_t cols, index_t j, int k) {
  index_t rank = 0;
  const float v = row[j];
  for (index_t c = 0; c < cols; ++c) rank += (row[c] > v || (row[c] == v && c < j)) ? 1 : 0;
  return rank < k ? v : -1e10f;
}

// One considered prediction p with truth `positive` (weight w) into the confusion state of label
// `lab` of L. add(index, value) adds into the state (sequential on the CPU, atomic on CUDA: the
// net's counts are whole numbers, exact in double in any order).
template <class Add>
FN_HOST_DEVICE inline void confusion_element(const MetricParams& p, float x, bool positive,
                                             double w, index_t lab, index_t L, Add add) {
  const index_t T = p.num_thresholds;
  const index_t base = positive ? 0 : T * L;
  if (p.evenly) {
    float c = x < 0.f ? 0.f : (x > 1.f ? 1.f : x);
    float b = ceilf(c * static_cast<float>(T - 1)) - 1.f;
    if (p.with_epsilon && b < 0.f) b = 0.f;
    if (b >= 0.f) add(base + static_cast<index_t>(b) * L + lab, w);
  } else {
    for (index_t i = 0; i < T; ++i)
      if (x > p.thresholds[i]) add(base + i * L + lab, w);
  }
  add(2 * T * L + (positive ? 0 : L) + lab, w);
}

// Row i of a confusion metric (AUC, Precision, Recall) into the state.
template <class Add>
FN_HOST_DEVICE inline void confusion_row(const MetricParams& p, const float* pred,
                                         const float* target, index_t cols, double w, Add add) {
  if (p.kind == 9) {
    const index_t L = p.multi_label ? cols : 1;
    for (index_t j = 0; j < cols; ++j) {
      const float x = p.from_logits ? sigmoid_f(pred[j]) : pred[j];
      confusion_element(p, x, target[j] != 0.f, w, p.multi_label ? j : 0, L, add);
    }
    return;
  }
  for (index_t j = 0; j < cols; ++j) {
    if (p.class_id >= 0 && j != p.class_id) continue;
    const float x = p.top_k > 0 ? topk_filtered(pred, cols, j, p.top_k) : pred[j];
    confusion_element(p, x, target[j] != 0.f, w, 0, 1, add);
  }
}

// F1's per-column counts for element (row, column j): y_pred is 1 when pred > threshold, or
// (no threshold) when pred is the row's maximum `rowmax` and |pred| > 1e-9.
FN_HOST_DEVICE inline void f1_element(const MetricParams& p, float x, float rowmax, float t,
                                      double w, double out[4]) {
  const bool on = p.has_threshold ? x > p.threshold : (x >= rowmax && fabsf(x) > 1e-9f);
  const double yp = on ? 1.0 : 0.0, yt = static_cast<double>(t);
  out[0] = yp * yt * w;
  out[1] = yp * (1.0 - yt) * w;
  out[2] = (1.0 - yp) * yt * w;
  out[3] = yt * w;
}

FN_HOST_DEVICE inline float row_max(const float* r, index_t n) {
  float m = r[0];
  for (index_t j = 1; j < n; ++j) m = r[j] > m ? r[j] : m;
  return m;
}

// R2's per-column sums for element (row, column j) with sample weight w.
FN_HOST_DEVICE inline void r2_element(float x, float t, double w, double out[4]) {
  const double y = static_cast<double>(t), e = y - static_cast<double>(x);
  out[0] = y * w;
  out[1] = y * y * w;
  out[2] = e * e * w;
  out[3] = w;
}

}  // namespace metricmath
}  // namespace fusednet
