// Host logic shared by Net and NetCuda. See net_common.h.
#include "net/spec.h"

#include <utility>

#include "kernels/math/hash.h"

namespace fusednet {

ArenaLayout arena_layout(const std::vector<DenseSpec>& layers, float input_dropout) {
  FN_CHECK(!layers.empty(), "layers: expected at least one Dense layer");
  ArenaLayout lay;
  index_t off = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseSpec& L = layers[i];
    FN_CHECK(L.in >= 1 && L.units >= 1, "layer ", i, ": expected positive widths, got in=", L.in,
             " units=", L.units);
    FN_CHECK(i == 0 || L.in == layers[i - 1].units, "layer ", i, ": input width ", L.in,
             " != previous units ", layers[i - 1].units);
    bool last = i + 1 == layers.size();
    FN_CHECK(is_elementwise(L.act) || (L.act == kActSoftmax && last), "layer ", i,
             ": activation code ", L.act, " not supported here (softmax only on the output)");
    FN_CHECK(L.dropout_after >= 0.f && L.dropout_after < 1.f, "layer ", i,
             ": dropout rate must be in [0, 1), got ", L.dropout_after);
    FN_CHECK(!last || L.dropout_after == 0.f, "Dropout after the output layer is not supported");
    lay.w_off.push_back(off);
    off += L.in * L.units;
    if (L.use_bias) {
      lay.b_off.push_back(off);
      off += L.units;
    } else {
      lay.b_off.push_back(-1);
    }
  }
  FN_CHECK(input_dropout >= 0.f && input_dropout < 1.f,
           "input dropout rate must be in [0, 1), got ", input_dropout);
  lay.num_params = off;
  return lay;
}

NetSpec::NetSpec(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed)
    : layers_(std::move(layers)), input_dropout_(input_dropout), seed_(seed) {
  ArenaLayout lay = arena_layout(layers_, input_dropout_);
  w_off_ = std::move(lay.w_off);
  b_off_ = std::move(lay.b_off);
  num_params_ = lay.num_params;
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
