// What Net (net.h) and its device twin NetCuda (net_cuda.h) share on the host: the checks of the
// layer specs and the arena layout they imply, which activations backward can take from the
// output, the epoch's shuffle permutation, the optimizer's state count and the metric means.
// One definition here keeps both backends drawing the same permutations and laying out the same
// arenas, so weights copy 1:1 between them.
#pragma once

#include <cstdint>
#include <vector>

#include "common.h"
#include "kernels.h"
#include "net.h"

namespace fusednet {

// A data set as the caller holds it on the host.
struct HostData {
  const float* X = nullptr;
  Targets y;               // labels (int64) or values (float, y.cols per row); may be empty
  const float* sw = nullptr;
  index_t n = 0;
};

// Where each layer's kernel and bias start in the parameter arena (Keras order: kernel (in, units)
// row-major, then bias (units,), per layer).
struct ArenaLayout {
  std::vector<index_t> w_off, b_off;  // b_off -1: the layer has no bias
  index_t num_params = 0;
};

// Checks the layer specs and the input dropout rate (ValueError naming the layer) and returns
// their arena layout.
ArenaLayout arena_layout(const std::vector<DenseSpec>& layers, float input_dropout);

inline bool is_elementwise(int act) { return act >= 0 && act <= 6; }

// Activations whose derivative is a function of the output (no need to keep z).
inline bool backward_from_output(int act, float param) {
  auto a = static_cast<Activation>(act);
  return a == Activation::Linear || a == Activation::ReLU || a == Activation::Sigmoid ||
         a == Activation::Tanh || (a == Activation::LeakyReLU && param > 0.f);
}

// Layer i must keep its pre-activation z for backward: the output layer (losses read it), and
// activations whose derivative needs z.
inline bool layer_needs_z(const std::vector<DenseSpec>& layers, index_t i) {
  const DenseSpec& L = layers[static_cast<size_t>(i)];
  return i + 1 == static_cast<index_t>(layers.size()) || !backward_from_output(L.act, L.act_param);
}

// Floats of layer i's workspace buffers for `rows` rows: the pre-activation z (when kept), the
// output a (hidden layers; the output layer's lives in z / the output buffer), the dropped-out
// output (with Dropout after the layer) and the delta dz.
struct LayerWorkspace {
  index_t z = 0, a = 0, drop = 0, dz = 0;
};
inline LayerWorkspace layer_workspace(const std::vector<DenseSpec>& layers, index_t i,
                                      index_t rows) {
  const DenseSpec& L = layers[static_cast<size_t>(i)];
  const bool last = i + 1 == static_cast<index_t>(layers.size());
  LayerWorkspace w;
  w.z = layer_needs_z(layers, i) ? rows * L.units : 0;
  w.a = last ? 0 : rows * L.units;
  w.drop = L.dropout_after > 0.f ? rows * L.units : 0;
  w.dz = rows * L.units;
  return w;
}

// The loss is computed from the output layer's pre-activation (fused with its activation):
// binary cross-entropy after a sigmoid, softmax cross-entropy after a softmax, unless the
// user says the output already is logits.
inline bool loss_fused_with_output(const LossSpec& spec, int output_act) {
  if (spec.from_logits) return false;
  if (spec.kind == LossKind::BCE) return output_act == static_cast<int>(Activation::Sigmoid);
  if (spec.kind == LossKind::SparseCE || spec.kind == LossKind::CategoricalCE)
    return output_act == kActSoftmax;
  return false;
}

// State arenas the optimizer keeps (SGD: velocity only with momentum; Adam/AdamW: m and v).
inline int optimizer_state_count(const OptimSpec& spec) {
  if (spec.kind == OptimKind::SGD) return spec.momentum != 0.f ? 1 : 0;
  return 2;
}

// One optimizer pass over an arena of n parameters with the backend's step kernels
// (kernels.h / cuda_kernels.h signatures): SGD with its velocity when it keeps one, Adam/AdamW
// at step t = step + 1 (decoupled weight decay for AdamW).
template <typename SgdStep, typename AdamStep>
void optimizer_update(const OptimSpec& o, float* param, const float* grad, float* state0,
                      float* state1, index_t n, std::int64_t step, float lr, SgdStep sgd_step,
                      AdamStep adam_step) {
  switch (o.kind) {
    case OptimKind::SGD:
      sgd_step(param, grad, optimizer_state_count(o) ? state0 : nullptr, n, lr, o.momentum,
               o.nesterov, o.weight_decay);
      break;
    case OptimKind::Adam:
    case OptimKind::AdamW:
      adam_step(param, grad, state0, state1, n, step + 1, lr, o.beta1, o.beta2, o.eps,
                o.weight_decay, o.kind == OptimKind::AdamW);
      break;
  }
}

// order[0, n) = the Fisher-Yates permutation of epoch `epoch` of a net seeded `seed`.
void shuffle_order(std::uint64_t seed, std::int64_t epoch, std::int64_t* order, index_t n);

// Each metric's mean from its sum over n rows of `cols` outputs (accuracies count rows).
std::vector<double> metric_means(const std::vector<MetricKind>& metrics,
                                 const std::vector<double>& sums, index_t n, index_t cols);

}  // namespace fusednet
