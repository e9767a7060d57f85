// NetCuda: the device-resident twin of Net (net.h). Same layers, same arena layout (Keras order:
// kernel (in, units) row-major, then bias, per layer), same optimizer math, same dropout masks and
// shuffles (the hash of net_hash.h), so weights copy 1:1 between a Net and a NetCuda and both
// train to the same result up to float rounding of the kernels.
//
// Everything lives in device memory (plain cudaMalloc through DeviceBuffer): ONE arena each for
// parameters, gradients and each optimizer state; a workspace sized for the largest batch; the
// data set of a fit/evaluate/predict call, uploaded once when it fits in free device memory (else
// streamed: chunks of whole batches are gathered on the host into page-locked buffers and copied
// on a second stream while the previous chunk's batches run; see Streaming). Shuffling uses a
// permutation drawn on the host exactly as Net draws it, uploaded once per epoch and applied with
// gather_rows_cuda. A training batch never synchronises with the host: each batch's mean loss and
// metric sums are written to per-batch device doubles that come back once per epoch (or after
// every batch when a batch hook is given), and are summed on the host in batch order as Net does.
//
// The header is plain C++ (no CUDA headers); the definitions are compiled only with
// FUSEDNET_WITH_CUDA. All launches go to the legacy default stream, so they run in order.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/cuda.h"
#include "net/net.h"
#include "net/spec.h"

namespace fusednet {

class NetCuda : public NetSpec {
 public:
  NetCuda(std::vector<DenseSpec> layers, float input_dropout, std::uint64_t seed);

  // Largest data set (bytes) kept resident on the device; -1: decided from free memory. Tests set
  // 0 to exercise the streamed fallback.
  std::int64_t max_resident_bytes = -1;
  // Host bytes per chunk of the streamed fallback (rounded to whole batches, at least one).
  std::int64_t stream_chunk_bytes = std::int64_t{8} << 20;
  // While held, the data sets given to train_epoch / evaluate stay on the device between calls
  // (a fit with callbacks calls them once per epoch); they are recognised by the addresses and
  // sizes of their host arrays, which must not change meanwhile. Releasing frees them.
  void hold_data(bool hold);

  // ---- host copies of the arenas (n = num_params floats each) ----
  void get_params(float* host) const;
  void set_params(const float* host);
  void get_grads(float* host) const;
  void set_grads(const float* host);
  void get_optimizer_state(int i, float* host) const;
  void set_optimizer_state(int i, const float* host);

  void set_optimizer(const OptimSpec& spec);  // zeroes state, step = 0
  void apply_update(float lr);

  // ---- one batch at a time; host inputs ----
  void forward(const float* x_host, index_t rows, bool training);
  index_t last_rows() const { return last_rows_; }
  void output(float* host);  // (last_rows, units)
  double loss(const Targets& t_host, const float* sw_host, const LossSpec& spec);
  void get_output_grad(float* host) const;  // (last_rows, units)
  void set_output_grad(const float* host);
  void backward(const LossSpec& spec);

  // ---- whole data sets ----
  // A data set of one call: on the device when it fits (resident), else read from the host
  // batch by batch (the streamed fallback).
  struct Data {
    HostData host;
    bool resident = false;
    DeviceBuffer X, labels, values, sw;
  };
  EpochStats train_epoch(const HostData& d, index_t batch_size, bool shuffle, const float* lrs,
                         float lr, const LossSpec& loss, const std::vector<MetricKind>& metrics,
                         const BatchHook& hook);
  // Several epochs on one upload (one row per epoch of the returned stats, then validation).
  void fit(const HostData& d, index_t batch_size, index_t epochs, bool shuffle, const float* lrs,
           float lr, const LossSpec& loss, const std::vector<MetricKind>& metrics,
           const HostData* val, index_t val_batch_size, std::vector<EpochStats>* train_out,
           std::vector<EpochStats>* val_out);
  EpochStats evaluate(const HostData& d, index_t batch_size, const LossSpec& loss,
                      const std::vector<MetricKind>& metrics);
  void predict(const float* X, index_t n, index_t batch_size, float* out_host);

 private:
  void reserve(index_t rows);
  double* reserve_slots(index_t count);
  void upload(const HostData& h, Data* d);
  // The device copy of h: a held one, or `scratch` filled by upload.
  const Data& data_for(const HostData& h, Data* scratch);
  // Streamed fallback: stream_begin sizes the buffers for chunks of whole batches and returns the
  // rows per chunk; stream_next gathers rows order[first .. first + rows) (identity without order)
  // into the next slot and starts its copy; stream_batch points a batch at the current slot;
  // stream_end marks the current slot's batches as enqueued (its next copy waits for them).
  index_t stream_begin(const Data& d, index_t batch_size, index_t out_cols);
  void stream_next(const Data& d, const std::int64_t* order_host, index_t first, index_t rows);
  void stream_batch(const Data& d, index_t start, const float** xb, Targets* yb,
                    const float** swb) const;
  void stream_end();
  void load_batch(const Data& d, const std::int64_t* order_dev, index_t start, index_t rows,
                  const float** xb, Targets* yb, const float** swb);
  struct BatchFeed;
  void forward_into(const float* x_dev, index_t rows, bool training, float* out_final);
  const float* output_dev();
  void loss_into(const Targets& t, const float* sw, const LossSpec& spec, double* loss_slot);
  void metrics_into(const std::vector<MetricKind>& metrics, const Targets& t, index_t rows,
                    bool fused_logits, double* slots);
  void dropout(const float* src, float* dst, index_t rows, index_t cols, float rate, index_t site,
               std::int64_t counter);
  EpochStats epoch(const Data& d, index_t batch_size, bool shuffle, const float* lrs, float lr,
                   const LossSpec& spec, const std::vector<MetricKind>& metrics,
                   const BatchHook& hook);
  EpochStats eval(const Data& d, index_t batch_size, const LossSpec& spec,
                  const std::vector<MetricKind>& metrics);

  DeviceBuffer params_, grads_;
  DeviceBuffer state0_, state1_;

  // Workspace for cap_ rows, as in Net.
  index_t cap_ = 0;
  std::vector<DeviceBuffer> z_, a_, drop_, dz_;
  std::vector<const float*> inputs_;
  DeviceBuffer xin_, yvals_, sw_, out_, ylabels_, row_loss_, row_metric_, loss_scalar_;
  DeviceBuffer slots_;   // per-batch loss and metric sums of one epoch (doubles)
  DeviceBuffer order_;   // the epoch's permutation (int64)
  std::vector<std::int64_t> order_host_;
  bool hold_ = false;
  std::vector<std::unique_ptr<Data>> held_;  // training and validation sets of a held fit

  // The streamed fallback's double buffer. Per slot: page-locked host rows and device rows of one
  // chunk. A slot's copy runs on `copy` (a stream that does not wait for the default one);
  // `copied` orders it before the chunk's batches, `consumed` orders the slot's next copy after
  // them, and the host waits for `copied` before refilling the host rows. predict also brings
  // each chunk's outputs back through the slot (`out`, `host_out`, `downloaded`).
  struct StreamSlot {
    HostBuffer x, labels, values, sw, host_out;
    DeviceBuffer dx, dlabels, dvalues, dsw, out;
    CudaEventHandle copied, consumed, downloaded;
    bool used = false;  // the events have been recorded
    index_t first = 0, rows = 0;
  };
  struct Streaming {
    CudaStreamHandle copy;
    StreamSlot slot[2];
    int cur = 1;
    // What the buffers were sized for.
    index_t cap = 0, in = 0, cols = 0, out_cols = 0;
    bool labels = false, values = false, sw = false;
  };
  Streaming stream_;
  index_t last_rows_ = 0;
  bool last_training_ = false;
  std::int64_t last_counter_ = 0;
  bool out_valid_ = false;
};

}  // namespace fusednet
