// Net: a compiled multi-layer perceptron that trains a whole epoch in one call, written once over
// a Backend (backend.h): the same code runs on the CPU and on a CUDA device.
//
// Layers (spec.h LayerKind) are Dense (x @ W + b, then an activation fused into the gemm's
// epilogue), Activation, BatchNorm, LayerNorm and Normalization, each y = act(f(x)) with any
// activation (softmax anywhere), with an optional Dropout after each (and one on the input).
// BatchNorm's moving statistics and Normalization's live in a third arena, the statistics, that
// the optimizer never touches. Parameters live in ONE contiguous
// float32 arena in Keras order (kernel (in, units) row-major, then bias (units,) per layer);
// gradients in ONE arena of the same layout; each optimizer state (Adam m and v, SGD velocity) in
// ONE arena, so an optimizer step is one kernel call over all parameters. The arenas and the
// workspace (activations, deltas, gathered batch rows) are backend memory; the workspace is sized
// for the largest batch seen and reused, so nothing is allocated per batch. The data set of a call
// reaches the net through its DataFeed (data_feed.h).
//
// A training batch never waits for the device: each batch's mean loss and metric sums go to
// per-batch slots in backend memory that come back once per pass (or when a batch hook is due)
// and are added on the host in batch order. Results never depend on the thread count: the kernels
// reduce in a fixed order and everything else is sequential or elementwise. Dropout masks and
// shuffles come from a counter-based hash of (seed, counter, index), the same on every device,
// so a net's weights copy 1:1 between devices and train to the same result.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common.h"
#include "net/backend.h"
#include "net/data_feed.h"
#include "net/optim_update.h"
#include "net/spec.h"

namespace fusednet {

// Data-parallel training (python/fusednet/distributed): every rank runs the same Net on its share
// of each global batch, and the gradient arena is summed over the ranks before every optimizer
// step. The Net only calls these hooks; the communication (MPI) and its fixed summation order live
// in Python. Each hook is called on every rank in the same sequence, so the collectives match.
struct DataParallel {
  index_t rank = 0;
  // Per layer as soon as its gradients exist (last layer first), overlapping the reduction with
  // the rest of backward; else one call for the whole arena after backward.
  bool overlap = true;
  // The rows of a pass over n local samples in batches of batch_size: per step, the start (in the
  // pass's order) and count of this rank's rows, and the rows of the global batch (all ranks).
  // The same number of steps on every rank; a rank may have 0 rows in a step.
  // first: where this rank's rows begin in the global batch (the ranks' rows in rank order), so
  // that dropout masks follow the global row as in one process.
  struct Plan {
    std::vector<index_t> start, rows, global_rows, first;
  };
  std::function<Plan(index_t n, index_t batch_size)> plan;
  // Starts summing host floats [p, p + count) (arena offset `offset`) over the ranks, after
  // scaling this rank's values by `scale` (its rows / the global rows; 0: none, the slice is
  // garbage and counts as zeros). The sum must be in place when wait() returns.
  std::function<void(float* p, index_t offset, index_t count, double scale)> reduce;
  std::function<void()> wait;
  std::function<void(double* p, index_t count)> sum;  // in place, over the ranks
  // Whether any rank stops after this batch (stop: this one does); empty: none can.
  std::function<bool(bool stop)> any_stop;
};

class Net : public NetSpec {
 public:
  Net(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed,
      Device device = Device::Cpu);

  Device device() const { return backend_->device(); }
  // Arenas in host memory: params(), grads(), optimizer_state() and output_grad() may be read and
  // written in place (the CPU); otherwise use the host copies below.
  bool host_memory() const { return backend_->host_memory(); }
  float* params() { return shared_params_ ? shared_params_ : params_.as<float>(); }
  float* grads() { return grads_.as<float>(); }
  float* optimizer_state(int i);
  float* output_grad() { return dz_.back().as<float>(); }  // (last_rows, units)
  // The non-trainable statistics (spec.h LayerKind: moving mean / variance of BatchNorm, the
  // statistics of Normalization): num_stats() floats, read and written as params().
  float* stats() { return shared_stats_ ? shared_stats_ : stats_.as<float>(); }

  // ---- host copies of the arenas (num_params floats) and of the output delta ----
  void get_params(float* host);
  void set_params(const float* host);
  void get_grads(float* host);
  void set_grads(const float* host);
  void get_optimizer_state(int i, float* host);
  void set_optimizer_state(int i, const float* host);
  void get_stats(float* host);
  void set_stats(const float* host);
  void get_output_grad(float* host);  // (last_rows, units)
  void set_output_grad(const float* host);

  // ---- optimizer: its state arenas live here, next to the parameters ----
  void set_optimizer(const OptimSpec& spec);  // zeroes state, step = 0
  void apply_update(double lr);  // one optimizer pass over the arena with the gradient arena

  // ---- one batch at a time (explicit loop, tape, tests); host x is contiguous (rows, in) ----
  void forward(const float* x, index_t rows, bool training);
  index_t last_rows() const { return last_rows_; }
  // The model output (after the output activation) of the last forward, into host (rows, units).
  void output(float* host);
  // Loss of the last forward against host `targets` rows [0, rows); writes the gradient w.r.t.
  // the output layer's pre-activation when the loss is fused with the output activation, else
  // w.r.t. the output, into the output delta.
  double loss(const Targets& t, const float* sample_weight, const LossSpec& spec);
  // Gradients of all parameters from the output delta (as written by loss(), or set by the user).
  void backward(const LossSpec& spec);
  // When backward runs the Dense layers' parameter gradients on a second thread beside the
  // deltas: 0 never, 1 when the backend finds it faster (the default), 2 always on the CPU
  // (tests). Results never depend on it. Returns the previous mode.
  static int set_backward_side_by_side(int mode);
  // 0: the forward on the caller's thread; 1: small steps' forward as two halves of the rows
  // side by side (the default); 2: always where the layers allow it (tests). Returns the old mode.
  static int set_forward_side_by_side(int mode);
  // How narrow Dense layers (kernels/cpu.h dense_grad_narrow_fits) take their gradients on a
  // backend that has the one-pass kernel: 0 by gemm (and activation_grad), 1 dW in one pass,
  // 2 (the default) also the input's delta and the previous layer's derivative in that pass.
  // 1 and 2 give the same bits. Returns the previous mode (tests).
  static int set_narrow_dense_grads(int mode);

  // ---- whole data sets, with the compiled loss and metrics ----
  // NetSpec::compile, and the metrics' thresholds into backend memory for the metric kernels.
  void compile(const LossSpec& loss, std::vector<MetricSpec> metrics);
  // The metric states of the last train_epoch / evaluate summed over its batches (all metrics'
  // states, metric_state_total() doubles) and its rows: what a caller that feeds batches one call
  // at a time adds up to get the metrics of them all (metric_results).
  const std::vector<double>& last_metric_state() const { return last_state_; }
  index_t last_metric_rows() const { return last_rows_seen_; }
  DataFeed& data() { return feed_; }  // residency, held sets, streaming (data_feed.h)
  // Shuffles (when asked) with this net's epoch counter, then forward/loss/backward/update for
  // every batch. lrs: one learning rate per batch (nullptr: `lr` for all).
  EpochStats train_epoch(const HostData& d, index_t batch_size, bool shuffle, const float* lrs,
                         double lr, const BatchHook& hook);
  EpochStats evaluate(const HostData& d, index_t batch_size);
  // Several epochs (each followed by a validation when val is given) on one upload of each set;
  // lrs: steps * epochs rates, or nullptr.
  void fit(const HostData& d, index_t batch_size, index_t epochs, bool shuffle, const float* lrs,
           double lr, const HostData* val, index_t val_batch_size, std::vector<EpochStats>* train,
           std::vector<EpochStats>* val_out);
  void predict(const float* X, index_t n, index_t batch_size, float* out_host);
  // Passes (train_epoch, evaluate, fit) run data-parallel while set (nullptr: alone). The hooks
  // must outlive the setting.
  void set_data_parallel(const DataParallel* dp) { dp_ = dp; }

  // The training passes' watch for a non-finite batch loss (train_epoch, fit: fit then also
  // stops after that epoch's validation).
  NanWatch nan_watch = NanWatch::Off;

  // A reader of this net, for inference from several threads at once (predict, evaluate): the
  // same specs, compiled loss and metrics and data-feed settings, its own backend and workspace,
  // and this net's parameter arena read in place. The caller keeps this net alive and its
  // parameters unchanged while a reader runs (bind_net.cpp's reader-writer lock). Readers do not
  // train.
  std::unique_ptr<Net> make_reader();

 private:
  // Data-parallel steps: hands gradients [offset, offset + count) (host memory, staged for a
  // device net) to dp_->reduce; reduce_layer: layer i's kernel and bias, as soon as backward has
  // them; data_parallel_backward: backward on this rank's rows, then the summed arena.
  void reduce_range(index_t offset, index_t count, double scale);
  void reduce_layer(index_t i, double scale);
  void data_parallel_backward(index_t rows, index_t global_rows);
  // Synchronized BatchNorm (a data-parallel training step): layer i's batch mean and variance,
  // and in backward the global means of dy and dy * xhat (in this rank's scale), summed over the
  // ranks into backend memory for BatchNormArgs::batch_stats / grad_means. rows 0: this rank
  // joins the sums with zeros. idle_*: every such layer's sums of a step without rows.
  bool syncs_batch_norm(index_t i) const;
  const double* sync_batch_stats(index_t i, const float* in, index_t rows);
  const double* sync_grad_means(index_t i, const float* dz, index_t rows, const BatchNormArgs& a);
  void idle_forward();
  struct ReaderOf {};
  Net(Net& owner, ReaderOf);
  void size_layer_lists();
  void upload_metric_thresholds();
  void reserve(index_t rows);
  double* reserve_slots(index_t count);
  GatherSpace gather_space();
  // Runs every layer on `rows` input rows in backend memory. out_final != nullptr (inference):
  // the output activation is written there directly; else the last layer's z stays in the
  // workspace.
  void forward_into(const float* x, index_t rows, bool training, float* out_final);
  const float* output_activation();  // backend memory
  // Layer i's pre-activation in the last forward (an Activation layer's: its input).
  const float* pre_activation(index_t i) const;
  // Where layer i's forward writes: dst, then (when not fused) the activation pass into activated.
  struct LayerOutput {
    float* dst;
    float* activated;
    bool fuse;
  };
  LayerOutput layer_output(index_t i, float* out_final);
  // Rows [r0, r0 + rows) of a Dense or Activation layer i's forward from its input (all rows).
  void forward_rows(index_t i, const float* in, index_t r0, index_t rows, float* out_final);
  bool forward_side_by_side(index_t rows, bool training) const;
  // Layer i's f(x) (spec.h) of `rows` input rows `in` into dst (a normalization; not Dense).
  void normalize(index_t i, const float* in, float* dst, index_t rows, bool training);
  BatchNormArgs norm_args(index_t i, bool training);
  // Layer i's parameter gradients from its delta, and its input's delta into dx (nullptr: none).
  void layer_backward(index_t i, index_t rows, float* dx);
  // A Dense layer i's dW and db from its delta (half 0 or 1: the first or last in / 2 rows of
  // dW, and db with the first; -1: all); its input's delta into dx.
  void dense_param_grads(index_t i, index_t rows, int half = -1);
  void dense_input_grad(index_t i, index_t rows, float* dx);
  bool dense_backward_fused(index_t i, index_t rows, float* dprev);
  // Layer i's input delta dprev made layer i - 1's output delta: dropout, activity regularizer,
  // the activation's derivative.
  void finish_delta(index_t i, index_t rows, float* dprev);
  bool backward_side_by_side(index_t rows) const;
  void backward_two_lanes(index_t rows);
  void loss_into(const Targets& t, const float* sw, const LossSpec& spec, double* slot);
  void metrics_into(const Targets& t, index_t rows, bool fused_logits, double* slots);
  void score_batch(const Batch& b, index_t rows, bool training, bool fused_logits, double* slots);
  void dropout(const float* src, float* dst, index_t rows, index_t cols, float rate, index_t site,
               std::int64_t counter);
  // What a training pass adds to an evaluation: the shuffle, an update after every batch at
  // lrs[b] (nullptr: lr), the batch hook.
  struct Training {
    bool shuffle;
    const float* lrs;
    double lr;
    const BatchHook& hook;
  };
  // One pass over a set in batches: a training epoch, or an evaluation (train == nullptr).
  EpochStats run_pass(const DeviceData& d, index_t batch_size, const Training* train);
  void require_compiled() const;
  bool batch_loss_finite(const double* slot);
  void keep_params();             // the parameters into params_kept_ (NanWatch::Restore)
  void restore_finite_params();   // params_kept_ back when the parameters are not finite

  std::unique_ptr<Backend> backend_;
  Buffer params_, grads_, stats_;
  std::vector<Buffer> states_;  // the optimizer's state arenas (net/optim_update.h)
  OptimizerPlan optim_plan_;    // ... their pointers and what every update reuses

  // Workspace for `cap_` rows: per layer, the pre-activation z (last layer, and activations whose
  // derivative needs it), the output a, the dropped-out output and the delta dz; gathered inputs,
  // targets and sample weights; the output activation; per-row losses and metrics; per-batch
  // loss and metric slots of a pass; the scalar loss of the one-batch loss().
  index_t cap_ = 0;
  std::vector<Buffer> z_, a_, drop_, dz_, norm_;
  std::vector<const float*> inputs_;  // each layer's input rows in the last forward
  Buffer xin_, yvals_, ylabels_, sw_, out_, row_loss_, row_metric_, loss_scalar_, slots_;
  std::vector<std::int64_t> order_;  // the epoch's permutation (host)
  DataFeed feed_;
  index_t last_rows_ = 0;
  bool last_training_ = false;
  std::int64_t last_counter_ = 0;  // dropout counter of the last training forward
  bool out_valid_ = false;  // out_ holds the output activation of the last forward
  const DataParallel* dp_ = nullptr;
  const DataParallel* reducing_ = nullptr;  // set within a data-parallel training step
  double grad_scale_ = 1.0;  // this rank's rows / the global batch's
  index_t dp_first_row_ = 0;  // this step's Plan::first (dropout masks)
  index_t sync_rows_ = 0;  // a training step's global rows (BatchNorm syncs); 0: none
  Buffer bn_sync_;  // backend doubles, 2 * the widest BatchNorm: the synced sums
  std::vector<double> bn_host_;  // ... their host side
  Buffer stage_;  // host copy of the gradient arena a device net reduces through
  std::vector<Buffer> metric_thresholds_;  // per compiled metric (backend memory; may be empty)
  std::vector<double> last_state_;
  index_t last_rows_seen_ = 0;
  float* shared_params_ = nullptr;  // a reader's: its owner's parameter arena
  float* shared_stats_ = nullptr;  // ... and its statistics
  Buffer params_kept_;  // the parameters before the latest update (NanWatch::Restore)
  bool kept_ = false;
};

}  // namespace fusednet
