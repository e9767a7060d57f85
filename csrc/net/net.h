// Net: a compiled multi-layer perceptron that trains a whole epoch in one call.
//
// Layers are Dense (x @ W + b, then an elementwise activation; the last one may end in softmax)
// with an optional Dropout after each (and one on the input). Parameters live in ONE contiguous
// float32 arena in Keras order (kernel (in, units) row-major, then bias (units,) per layer);
// gradients in ONE arena of the same layout; each optimizer state (Adam m and v, SGD velocity) in
// ONE arena, so an optimizer step is one kernel call over all parameters. The workspace
// (activations, deltas, gathered batch rows) is sized for the largest batch seen and reused, so
// nothing is allocated per batch.
//
// All arithmetic on arenas goes through the kernels of kernels.h (gemm with its bias+activation
// epilogue, bias_grad, activation backward, fused losses, optimizer steps); a device backend adds
// the same calls on device memory. Results never depend on the thread count: the kernels reduce in
// a fixed order and everything Net does itself (gathers, dropout masks, metrics) is sequential or
// elementwise. Dropout masks and shuffles come from a counter-based hash of (seed, counter, index).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "common.h"
#include "kernels/cpu.h"
#include "net/spec.h"

namespace fusednet {

// Float storage aligned to 64 bytes (one cache line / one AVX-512 vector).
template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(index_t n) { resize(n); }
  void resize(index_t n);  // contents zeroed
  T* data() { return ptr_.get(); }
  const T* data() const { return ptr_.get(); }
  index_t size() const { return n_; }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete(static_cast<void*>(p), std::align_val_t{64}); }
  };
  std::unique_ptr<T, Free> ptr_;
  index_t n_ = 0;
};

class Net : public NetSpec {
 public:
  Net(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed);

  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }

  // ---- optimizer: its state arenas live here, next to the parameters ----
  void set_optimizer(const OptimSpec& spec);  // zeroes state, step = 0
  float* optimizer_state(int i);
  void apply_update(float lr);  // one optimizer pass over the arena with the gradient arena

  // ---- one batch at a time (explicit loop, tape, tests); x is contiguous (rows, in) ----
  void forward(const float* x, index_t rows, bool training);
  index_t last_rows() const { return last_rows_; }
  // The model output (after the output activation) of the last forward: (rows, units).
  const float* output();
  // Loss of the last forward against `targets` rows [0, rows); writes the gradient w.r.t. the
  // output layer's pre-activation when the loss is fused with the output activation, else w.r.t.
  // the output, into the delta buffer (read it with output_grad()).
  double loss(const Targets& t, const float* sample_weight, const LossSpec& spec);
  float* output_grad() { return dz_.back().data(); }
  // Gradients of all parameters from the output delta (as written by loss(), or set by the user).
  void backward(const LossSpec& spec);

  // ---- whole data sets: X contiguous (n, in) ----
  // Shuffles (when asked) with this net's epoch counter, then forward/loss/backward/update for
  // every batch. lrs: one learning rate per batch (nullptr: `lr` for all).
  EpochStats train_epoch(const float* X, const Targets& y, const float* sample_weight, index_t n,
                         index_t batch_size, bool shuffle, const float* lrs, float lr,
                         const LossSpec& loss, const std::vector<MetricKind>& metrics,
                         const BatchHook& hook);
  EpochStats evaluate(const float* X, const Targets& y, const float* sample_weight, index_t n,
                      index_t batch_size, const LossSpec& loss,
                      const std::vector<MetricKind>& metrics);
  void predict(const float* X, index_t n, index_t batch_size, float* out);

 private:
  void reserve(index_t rows);
  const float* gather_batch(const float* X, const Targets& y, const float* sw,
                            const std::int64_t* order, index_t start, index_t rows, Targets* yb,
                            const float** swb);
  void forward_into(const float* x, index_t rows, bool training, float* out_final);
  void output_from_logits(index_t rows, float* out);
  void accumulate_metrics(const std::vector<MetricKind>& metrics, const Targets& t, index_t rows,
                          bool fused_logits, std::vector<double>& sums);
  // dst = src * mask / (1 - rate), the mask a function of (seed, counter, site, element).
  void dropout(const float* src, float* dst, index_t rows, index_t cols, float rate, index_t site,
               std::int64_t counter);

  AlignedArray<float> params_, grads_;
  AlignedArray<float> state0_, state1_;

  // Workspace for `cap_` rows: per layer, the pre-activation z (last layer, and activations whose
  // derivative needs it), the output a, the dropped-out output and the delta dz; gathered inputs,
  // targets and sample weights; the output activation; per-row losses.
  index_t cap_ = 0;
  std::vector<AlignedArray<float>> z_, a_, drop_, dz_;
  std::vector<const float*> inputs_;  // each layer's input rows in the last forward
  AlignedArray<float> xin_, yvals_, sw_, out_;
  AlignedArray<std::int64_t> ylabels_, order_;
  AlignedArray<double> row_loss_;
  index_t last_rows_ = 0;
  bool last_training_ = false;
  std::int64_t last_counter_ = 0;  // dropout counter of the last training forward
  bool out_valid_ = false;        // out_ holds the output activation of the last forward
};

}  // namespace fusednet
