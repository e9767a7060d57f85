// The device-independent part of a net. See spec.h.
#include "net/spec.h"

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
  FN_CHECK(!layers_.empty(), "layers: expected at least one Dense layer");
  index_t off = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseSpec& L = layers_[i];
    FN_CHECK(L.in >= 1 && L.units >= 1, "layer ", i, ": expected positive widths, got in=", L.in,
             " units=", L.units);
    FN_CHECK(i == 0 || L.in == layers_[i - 1].units, "layer ", i, ": input width ", L.in,
             " != previous units ", layers_[i - 1].units);
    const bool last = i + 1 == layers_.size();
    FN_CHECK(is_elementwise(L.act) || (L.act == Activation::Softmax && last), "layer ", i,
             ": activation code ", static_cast<int>(L.act),
             " not supported here (softmax only on the output)");
    FN_CHECK(L.dropout_after >= 0.f && L.dropout_after < 1.f, "layer ", i,
             ": dropout rate must be in [0, 1), got ", L.dropout_after);
    FN_CHECK(!last || L.dropout_after == 0.f, "Dropout after the output layer is not supported");
    w_off_.push_back(off);
    off = checked_extent(off, L.in, L.units, i);
    if (L.use_bias) {
      b_off_.push_back(off);
      off = checked_extent(off, L.units, 1, i);
    } else {
      b_off_.push_back(-1);
    }
  }
  FN_CHECK(input_dropout_ >= 0.f && input_dropout_ < 1.f,
           "input dropout rate must be in [0, 1), got ", input_dropout_);
  num_params_ = off;
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

void NetSpec::compile(const LossSpec& loss, std::vector<MetricKind> metrics) {
  loss_ = loss;
  metrics_ = std::move(metrics);
  compiled_ = true;
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

std::vector<double> metric_means(const std::vector<MetricKind>& metrics,
                                 const std::vector<double>& sums, index_t n, index_t cols) {
  std::vector<double> out(metrics.size());
  for (size_t m = 0; m < metrics.size(); ++m) {
    const bool per_row =
        metrics[m] == MetricKind::SparseAccuracy || metrics[m] == MetricKind::CategoricalAccuracy;
    const double denom = static_cast<double>(per_row ? n : n * cols);
    out[m] = denom > 0 ? sums[m] / denom : 0.0;
  }
  return out;
}

}  // namespace fusednet
