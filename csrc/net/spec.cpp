// The device-independent part of a net. See spec.h.
#include "net/spec.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/math/hash.h"

namespace fusednet {

namespace {
// a + b * c for the arena layout, or ValueError: sizes near 2^63 would wrap around to a small or
// negative count and build a net of nonsense. The result is also kept addressable in bytes.
index_t checked_extent(index_t a, index_t b, index_t c, size_t layer) {
  const index_t max_floats = INT64_MAX / static_cast<index_t>(sizeof(double));
  // a, b, c >= 0 here (widths are checked positive first); no product is formed before it fits.
  FN_CHECK(c == 0 || (b <= max_floats / c && a <= max_floats - b * c), "layer ", layer,
           ": too many parameters (in=", b, " x units=", c, " on top of ", a,
           " overflows a 64-bit size); expected at most ", max_floats, " in all");
  return a + b * c;
}
}  // namespace

NetSpec::NetSpec(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed)
    : layers_(std::move(layers)), input_dropout_(input_dropout), seed_(seed) {
  FN_CHECK(!layers_.empty(), "layers: expected at least one layer");
  index_t off = 0, stats = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseSpec& L = layers_[i];
    const int kind = static_cast<int>(L.kind);
    FN_CHECK(kind >= 0 && kind <= static_cast<int>(LayerKind::Normalization), "layer ", i,
             ": unknown layer kind ", kind);
    FN_CHECK(L.in >= 1 && L.units >= 1, "layer ", i, ": expected positive widths, got in=", L.in,
             " units=", L.units);
    FN_CHECK(i == 0 || L.in == layers_[i - 1].units, "layer ", i, ": input width ", L.in,
             " != previous units ", layers_[i - 1].units);
    FN_CHECK(L.kind == LayerKind::Dense || L.units == L.in, "layer ", i,
             ": this layer keeps its width: expected units == in (", L.in, "), got ", L.units);
    FN_CHECK(is_elementwise(L.act) || L.act == Activation::Softmax, "layer ", i,
             ": activation code ", static_cast<int>(L.act), " not supported");
    FN_CHECK(L.dropout_after >= 0.f && L.dropout_after < 1.f, "layer ", i,
             ": dropout rate must be in [0, 1), got ", L.dropout_after);
    const bool last = i + 1 == layers_.size();
    FN_CHECK(!last || L.dropout_after == 0.f, "Dropout after the output layer is not supported");
    const bool norm = L.kind == LayerKind::BatchNorm || L.kind == LayerKind::LayerNorm ||
                      L.kind == LayerKind::Normalization;
    FN_CHECK(!norm || (std::isfinite(L.epsilon) && L.epsilon > 0.f), "layer ", i,
             ": epsilon: expected a number > 0, got ", L.epsilon);
    FN_CHECK(L.kind != LayerKind::BatchNorm || (L.momentum >= 0.f && L.momentum <= 1.f), "layer ",
             i, ": momentum: expected a number in [0, 1], got ", L.momentum);
    p_off_.push_back(off);
    index_t w = -1, b = -1, st = -1;
    switch (L.kind) {
      case LayerKind::Dense:
        w = off;
        off = checked_extent(off, L.in, L.units, i);
        if (L.use_bias) {
          b = off;
          off = checked_extent(off, L.units, 1, i);
        }
        break;
      case LayerKind::BatchNorm:
      case LayerKind::LayerNorm:
        if (L.scale) {
          w = off;
          off = checked_extent(off, L.units, 1, i);
        }
        if (L.center) {
          b = off;
          off = checked_extent(off, L.units, 1, i);
        }
        if (L.kind == LayerKind::BatchNorm) st = stats;
        break;
      case LayerKind::Normalization: st = stats; break;
      case LayerKind::Activation: break;
    }
    if (st >= 0) stats = checked_extent(stats, 2, L.units, i);
    w_off_.push_back(w);
    b_off_.push_back(b);
    s_off_.push_back(st);
  }
  p_off_.push_back(off);
  FN_CHECK(input_dropout_ >= 0.f && input_dropout_ < 1.f,
           "input dropout rate must be in [0, 1), got ", input_dropout_);
  num_params_ = off;
  num_stats_ = stats;
}

index_t NetSpec::stats_offset(index_t i) const {
  FN_CHECK(i >= 0 && i < num_layers(), "layer: expected an index in [0, ", num_layers(), "), got ",
           i);
  return s_off_[static_cast<size_t>(i)];
}

bool NetSpec::has_batch_norm() const {
  return std::any_of(layers_.begin(), layers_.end(),
                     [](const DenseSpec& L) { return L.kind == LayerKind::BatchNorm; });
}

index_t NetSpec::kernel_offset(index_t i) const {
  FN_CHECK(i >= 0 && i < num_layers(), "layer: expected an index in [0, ", num_layers(), "), got ",
           i);
  return w_off_[static_cast<size_t>(i)];
}

index_t NetSpec::bias_offset(index_t i) const {
  FN_CHECK(i >= 0 && i < num_layers(), "layer: expected an index in [0, ", num_layers(), "), got ",
           i);
  return b_off_[static_cast<size_t>(i)];
}

void NetSpec::compile(const LossSpec& loss, std::vector<MetricSpec> metrics) {
  for (const MetricSpec& m : metrics) {
    const int k = static_cast<int>(m.kind);
    FN_CHECK(k >= 0 && k <= 13, "metrics: unknown metric code ", k);
    const bool confusion = m.kind == MetricKind::AUC || m.kind == MetricKind::Precision ||
                           m.kind == MetricKind::Recall;
    FN_CHECK(!confusion || !m.thresholds.empty(), "metrics: thresholds: expected at least one");
    FN_CHECK(!m.evenly || m.thresholds.size() >= 2,
             "metrics: evenly spaced thresholds need at least 2");
    FN_CHECK(m.k >= 1, "metrics: k: expected >= 1, got ", m.k);
  }
  loss_ = loss;
  metrics_ = std::move(metrics);
  compiled_ = true;
}

index_t NetSpec::metric_state_total() const {
  index_t w = 0;
  for (const MetricSpec& m : metrics_) w += metric_state_width(m, output_width());
  return w;
}

index_t NetSpec::metric_result_total() const {
  index_t w = 0;
  for (const MetricSpec& m : metrics_) w += metric_result_width(m, output_width());
  return w;
}

index_t metric_state_width(const MetricSpec& m, index_t cols) {
  const index_t T = static_cast<index_t>(m.thresholds.size());
  switch (m.kind) {
    case MetricKind::AUC: {
      const index_t L = m.multi_label ? cols : 1;
      return 2 * T * L + 2 * L;
    }
    case MetricKind::Precision:
    case MetricKind::Recall: return 2 * T + 2;
    case MetricKind::F1: return 4 * cols;
    case MetricKind::R2: return 4 * cols + 1;
    default: return 1;
  }
}

index_t metric_result_width(const MetricSpec& m, index_t cols) {
  switch (m.kind) {
    case MetricKind::Precision:
    case MetricKind::Recall: return static_cast<index_t>(m.thresholds.size());
    case MetricKind::F1: return m.average == 0 ? cols : 1;
    case MetricKind::R2: return m.class_aggregation == 0 ? cols : 1;
    default: return 1;
  }
}

namespace {

double div_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// Confusion counts per threshold and label from a confusion state (kernels/math/metric.h).
struct Confusion {
  index_t T, L;
  std::vector<double> tp, fp, fn, tn;  // [T * L], threshold-major
  Confusion(const MetricSpec& m, const double* s, index_t L_)
      : T(static_cast<index_t>(m.thresholds.size())), L(L_) {
    const std::size_t n = static_cast<std::size_t>(T * L);
    tp.assign(s, s + n);
    fp.assign(s + n, s + 2 * n);
    if (m.evenly)  // bucket histograms: counts at threshold i are the buckets >= i
      for (index_t i = T - 2; i >= 0; --i)
        for (index_t l = 0; l < L; ++l) {
          tp[i * L + l] += tp[(i + 1) * L + l];
          fp[i * L + l] += fp[(i + 1) * L + l];
        }
    fn.resize(n);
    tn.resize(n);
    for (index_t i = 0; i < T; ++i)
      for (index_t l = 0; l < L; ++l) {
        fn[i * L + l] = s[2 * n + l] - tp[i * L + l];
        tn[i * L + l] = s[2 * n + L + l] - fp[i * L + l];
      }
  }
  double at(const std::vector<double>& v, index_t i, index_t l) const { return v[i * L + l]; }
};

// Keras's AUC.interpolate_pr_auc for label l.
double pr_auc_interpolated(const Confusion& c, index_t l) {
  double sum = 0.0;
  for (index_t i = 0; i + 1 < c.T; ++i) {
    const double tp0 = c.at(c.tp, i, l), tp1 = c.at(c.tp, i + 1, l);
    const double p0 = tp0 + c.at(c.fp, i, l), p1 = tp1 + c.at(c.fp, i + 1, l);
    const double dtp = tp0 - tp1, dp = p0 - p1;
    const double slope = div_no_nan(dtp, std::max(dp, 0.0));
    const double intercept = tp1 - slope * p1;
    const double ratio = (p0 > 0 && p1 > 0) ? div_no_nan(p0, std::max(p1, 0.0)) : 1.0;
    sum += div_no_nan(slope * (dtp + intercept * std::log(ratio)),
                      std::max(tp1 + c.at(c.fn, i + 1, l), 0.0));
  }
  return sum;
}

// Keras's AUC.result for label l: a Riemann sum over the thresholds.
double auc_label(const MetricSpec& m, const Confusion& c, index_t l) {
  if (m.curve == 1 && m.summation == 0) return pr_auc_interpolated(c, l);
  std::vector<double> x(static_cast<std::size_t>(c.T)), y(x.size());
  for (index_t i = 0; i < c.T; ++i) {
    const double tp = c.at(c.tp, i, l), fp = c.at(c.fp, i, l), fn = c.at(c.fn, i, l),
                 tn = c.at(c.tn, i, l);
    const double recall = div_no_nan(tp, tp + fn);
    if (m.curve == 0) {
      x[i] = div_no_nan(fp, fp + tn);
      y[i] = recall;
    } else if (m.curve == 1) {
      x[i] = recall;
      y[i] = div_no_nan(tp, tp + fp);
    } else {  // PRGAIN
      const double scale = div_no_nan(tp + fn, tn + fp);
      double rg = 1.0 - scale * div_no_nan(fn, tp), pg = 1.0 - scale * div_no_nan(fp, tp);
      if (tp == 0.0) {
        rg = 0.0;
        pg = 1.0;
      }
      x[i] = std::max(rg, 0.0);
      y[i] = pg;
    }
  }
  double sum = 0.0;
  for (std::size_t i = 0; i + 1 < x.size(); ++i) {
    const double h = m.summation == 0   ? (y[i] + y[i + 1]) / 2.0
                     : m.summation == 1 ? std::min(y[i], y[i + 1])
                                        : std::max(y[i], y[i + 1]);
    sum += (x[i] - x[i + 1]) * h;
  }
  return sum;
}

void auc_result(const MetricSpec& m, const double* s, index_t cols, std::vector<double>& out) {
  const index_t L = m.multi_label ? cols : 1;
  const Confusion c(m, s, L);
  if (!m.multi_label) {
    out.push_back(auc_label(m, c, 0));
    return;
  }
  double sum = 0.0, wsum = 0.0;
  for (index_t l = 0; l < L; ++l) {
    const double a = auc_label(m, c, l);
    const double w = m.label_weights.empty() ? 1.0 : m.label_weights[static_cast<std::size_t>(l)];
    sum += a * w;
    wsum += w;
  }
  out.push_back(m.label_weights.empty() ? sum / static_cast<double>(L) : div_no_nan(sum, wsum));
}

constexpr double kEps = 1e-7;  // Keras's backend.epsilon()

void f1_result(const MetricSpec& m, const double* s, index_t cols, std::vector<double>& out) {
  std::vector<double> tp(static_cast<std::size_t>(cols)), fp(tp.size()), fn(tp.size()),
      support(tp.size());
  for (index_t j = 0; j < cols; ++j) {
    tp[j] = s[4 * j];
    fp[j] = s[4 * j + 1];
    fn[j] = s[4 * j + 2];
    support[j] = s[4 * j + 3];
  }
  if (m.average == 1) {  // micro: the counts over every element
    double a = 0, b = 0, c = 0, d = 0;
    for (index_t j = 0; j < cols; ++j) a += tp[j], b += fp[j], c += fn[j], d += support[j];
    tp.assign(1, a);
    fp.assign(1, b);
    fn.assign(1, c);
    support.assign(1, d);
  }
  const double b2 = static_cast<double>(m.beta) * static_cast<double>(m.beta);
  std::vector<double> f(tp.size());
  double support_sum = 0.0;
  for (std::size_t j = 0; j < tp.size(); ++j) {
    const double prec = tp[j] / (tp[j] + fp[j] + kEps), rec = tp[j] / (tp[j] + fn[j] + kEps);
    f[j] = prec * rec / (b2 * prec + rec + kEps) * (1.0 + b2);
    support_sum += support[j];
  }
  if (m.average == 0) {
    out.insert(out.end(), f.begin(), f.end());
  } else if (m.average == 3) {
    double w = 0.0;
    for (std::size_t j = 0; j < f.size(); ++j) w += f[j] * (support[j] / (support_sum + kEps));
    out.push_back(w);
  } else {
    double mean = 0.0;
    for (double v : f) mean += v;
    out.push_back(mean / static_cast<double>(f.size()));
  }
}

void r2_result(const MetricSpec& m, const double* s, index_t cols, std::vector<double>& out) {
  std::vector<double> raw(static_cast<std::size_t>(cols)), total(raw.size());
  for (index_t j = 0; j < cols; ++j) {
    const double sum = s[4 * j], sq = s[4 * j + 1], resid = s[4 * j + 2], count = s[4 * j + 3];
    const double mean = sum / count;
    total[j] = sq - sum * mean;
    raw[j] = 1.0 - resid / total[j];
    if (std::isinf(raw[j])) raw[j] = 0.0;
  }
  std::vector<double> r2;
  if (m.class_aggregation == 0) {
    r2 = raw;
  } else if (m.class_aggregation == 1) {
    double a = 0.0;
    for (double v : raw) a += v;
    r2.push_back(a / static_cast<double>(cols));
  } else {
    double a = 0.0, b = 0.0;
    for (index_t j = 0; j < cols; ++j) a += total[j] * raw[j], b += total[j];
    r2.push_back(a / b);
  }
  const double n = s[4 * cols], p = static_cast<double>(m.num_regressors);
  // Adjusted R2 (Keras falls back to the plain score, with a warning, when n - 1 <= p).
  if (m.num_regressors != 0 && p < n - 1)
    for (double& v : r2) v = 1.0 - (1.0 - v) * (n - 1.0) / (n - p - 1.0);
  out.insert(out.end(), r2.begin(), r2.end());
}

}  // namespace

std::vector<double> metric_results(const std::vector<MetricSpec>& metrics, const double* state,
                                   double count, index_t cols) {
  std::vector<double> out;
  const double c = count, ccols = count * static_cast<double>(cols);
  for (const MetricSpec& m : metrics) {
    const double* s = state;
    state += metric_state_width(m, cols);
    switch (m.kind) {
      case MetricKind::SparseAccuracy:
      case MetricKind::CategoricalAccuracy:
      case MetricKind::TopKCategorical:
      case MetricKind::SparseTopK:  // one figure per row
        out.push_back(div_no_nan(s[0], c));
        break;
      case MetricKind::RMSE: out.push_back(std::sqrt(div_no_nan(s[0], ccols))); break;
      case MetricKind::MAPE: out.push_back(100.0 * div_no_nan(s[0], ccols)); break;
      case MetricKind::AUC: auc_result(m, s, cols, out); break;
      case MetricKind::Precision:
      case MetricKind::Recall: {
        const Confusion cf(m, s, 1);
        for (index_t i = 0; i < cf.T; ++i)
          out.push_back(m.kind == MetricKind::Precision
                            ? div_no_nan(cf.tp[i], cf.tp[i] + cf.fp[i])
                            : div_no_nan(cf.tp[i], cf.tp[i] + cf.fn[i]));
        break;
      }
      case MetricKind::F1: f1_result(m, s, cols, out); break;
      case MetricKind::R2: r2_result(m, s, cols, out); break;
      default:  // binary accuracy, MAE, MSE: one figure per element
        out.push_back(div_no_nan(s[0], ccols));
    }
  }
  return out;
}

void shuffle_order(std::uint64_t seed, std::int64_t epoch, std::int64_t* o, index_t n) {
  using nethash::below;
  using nethash::mix64;
  for (index_t i = 0; i < n; ++i) o[i] = i;
  const std::uint64_t key =
      nethash::stream_key(seed, nethash::kPurposeShuffle, static_cast<std::uint64_t>(epoch), 0);
  for (index_t i = n - 1; i > 0; --i) {
    const index_t j = static_cast<index_t>(
        below(mix64(key + static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(i + 1)));
    std::swap(o[i], o[j]);
  }
}

}  // namespace fusednet
