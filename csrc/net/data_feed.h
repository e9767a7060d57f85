// DataFeed: how a Net reads the data set of a call, batch by batch, wherever it lives.
//
// - A host-memory backend (CPU) reads the caller's arrays in place: the set is resident as given.
// - A device backend (CUDA) copies the set to the device once per call when it fits in free
//   memory (resident); while hold(true), sets stay there between calls (a fit with callbacks calls
//   train_epoch and evaluate once per epoch), recognised by the addresses and sizes of the host
//   arrays, which must not change meanwhile.
// - A set that does not fit is streamed: chunks of whole batches are gathered on the host (by the
//   thread pool) into page-locked buffers and copied on a second stream while the other chunk's
//   batches run; events order each copy before its batches and the slot's next copy after them.
//
// A Pass walks one set once in batches: each batch's rows in backend memory -- in place for
// resident sets in order, gathered into the net's workspace when shuffled (the permutation drawn
// on the host, uploaded once per pass), or in the staged chunk when streamed. A prediction pass
// also gives each batch the place for its outputs and brings them back to the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common.h"
#include "net/backend.h"
#include "net/spec.h"

namespace fusednet {

// One data set of a call, as the backend reads it.
struct DeviceData {
  HostData host;
  bool resident = false;  // every row readable by the backend (in place or copied)
  const float* X = nullptr;  // the rows in backend memory when resident
  Targets y;
  const float* sw = nullptr;
  Buffer x_copy, labels_copy, values_copy, sw_copy;  // a device backend's copies
};

// One batch's rows (and, when predicting, where its outputs go), in backend memory.
struct Batch {
  const float* x = nullptr;
  Targets y;
  const float* sw = nullptr;
  float* out = nullptr;
};

// The net's workspace a shuffled resident batch is gathered into (rows of the batch size).
struct GatherSpace {
  float* x = nullptr;
  std::int64_t* labels = nullptr;
  float* values = nullptr;
  float* sw = nullptr;
};

class DataFeed {
 public:
  explicit DataFeed(Backend& backend);
  ~DataFeed();
  DataFeed(const DataFeed&) = delete;
  DataFeed& operator=(const DataFeed&) = delete;

  // Largest data set (bytes) kept resident on a device; -1: decided from free memory. Tests set
  // 0 to exercise the streamed fallback.
  std::int64_t max_resident_bytes = -1;
  // Host bytes per chunk of the streamed fallback (rounded to whole batches, at least one).
  std::int64_t stream_chunk_bytes = std::int64_t{8} << 20;

  void hold(bool on);  // releasing frees the held sets
  bool holding() const { return hold_; }

  // The set `h` (rows of `in_width` floats) as the backend reads it: a held one, or `scratch`
  // filled now.
  const DeviceData& open(const HostData& h, index_t in_width, DeviceData* scratch);

  class Pass;

 private:
  void fill(const HostData& h, index_t in_width, DeviceData* d);
  struct Staging;  // the streamed fallback's double buffer (device backends)

  Backend& backend_;
  bool hold_ = false;
  std::vector<std::unique_ptr<DeviceData>> held_;  // training and validation sets of a held fit
  Buffer order_;                                   // a pass's permutation on the device
  std::unique_ptr<Staging> staging_;
};

// One pass over a set in batches of batch_size rows, in order or by order_host (a permutation
// of [0, n) on the host, or nullptr). out_cols > 0 makes it a prediction pass: each batch gets
// an `out` place for out_cols floats a row, and finish() has them in out_host (n, out_cols).
// The destructor finishes a pass an exception interrupted (its last chunk marked consumed).
class DataFeed::Pass {
 public:
  Pass(DataFeed& feed, const DeviceData& d, index_t in_width, index_t batch_size,
       const std::int64_t* order_host, const GatherSpace& gather, index_t out_cols = 0,
       float* out_host = nullptr);
  ~Pass();
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;

  // Rows [start, start + rows) of the pass (start a multiple of batch_size, in increasing order).
  Batch batch(index_t start, index_t rows);
  void finish();

 private:
  void end_chunk();
  void drain();

  DataFeed& feed_;
  const DeviceData& d_;
  index_t in_, batch_size_, out_cols_;
  const std::int64_t* order_host_;
  const std::int64_t* order_ = nullptr;  // the permutation in backend memory (resident sets)
  GatherSpace gather_;
  float* out_host_;
  Buffer out_;  // a resident prediction's outputs on the device
  bool streamed_ = false, finished_ = false;
  index_t chunk_ = 0, chunk_end_ = 0;
  int pending_ = -1;  // the streamed slot whose outputs are on their way back
};

}  // namespace fusednet
