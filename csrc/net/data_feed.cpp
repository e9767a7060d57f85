// DataFeed: resident, held and streamed data sets, and one pass over a set in batches.
// See data_feed.h.
#include "net/data_feed.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#ifdef FUSEDNET_WITH_CUDA
#include "runtime/cuda_memory.h"
#include "runtime/thread_pool.h"
#endif

namespace fusednet {

namespace {

// A new backend buffer holding n elements of src (empty when n == 0 or src is null).
template <typename T>
Buffer uploaded(Backend& backend, const T* src, index_t n) {
  if (n <= 0 || !src) return Buffer();
  const std::size_t bytes = sizeof(T) * static_cast<std::size_t>(n);
  Buffer b = backend.alloc(bytes);
  backend.upload(b.data(), src, bytes);
  return b;
}

std::size_t set_bytes(const HostData& h, index_t in_width) {
  index_t bytes = h.n * in_width * static_cast<index_t>(sizeof(float));
  if (h.y.labels) bytes += h.n * static_cast<index_t>(sizeof(std::int64_t));
  if (h.y.values) bytes += h.n * h.y.cols * static_cast<index_t>(sizeof(float));
  if (h.sw) bytes += h.n * static_cast<index_t>(sizeof(float));
  return static_cast<std::size_t>(bytes);
}

bool same_arrays(const HostData& a, const HostData& b) {
  return a.X == b.X && a.n == b.n && a.y.labels == b.y.labels && a.y.values == b.y.values &&
         a.y.cols == b.y.cols && a.sw == b.sw;
}

}  // namespace

// ---- the streamed fallback ------------------------------------------------------------------

#ifdef FUSEDNET_WITH_CUDA
// Two slots, each the page-locked host rows and the device rows of one chunk. A slot's copy runs
// on `copy` (a stream that does not wait for the default one); `copied` orders it before the
// chunk's batches, `consumed` orders the slot's next copy after them, and the host waits for
// `copied` before refilling the host rows. A prediction brings each chunk's outputs back through
// the slot (`out`, `host_out`, `downloaded`).
struct DataFeed::Staging {
  struct Slot {
    HostBuffer x, labels, values, sw, host_out;
    Buffer dx, dlabels, dvalues, dsw, out;
    CudaEventHandle copied, consumed, downloaded;
    bool used = false;  // the events have been recorded
    index_t first = 0, rows = 0;
  };
  CudaStreamHandle copy;
  Slot slot[2];
  int cur = 1;
  // What the buffers were sized for.
  index_t cap = 0, in = 0, cols = 0, out_cols = 0;
  bool labels = false, values = false, sw = false;

  // Sizes the buffers for chunks of whole batches; returns the rows per chunk.
  index_t begin(Backend& backend, const HostData& h, index_t in_width, index_t batch_size,
                index_t out_width, std::int64_t chunk_bytes) {
    const index_t c = h.y.cols;
    index_t row_bytes = in_width * 4 + out_width * 4;
    if (h.y.labels) row_bytes += 8;
    if (h.y.values) row_bytes += c * 4;
    if (h.sw) row_bytes += 4;
    const index_t batches = std::max<index_t>(1, chunk_bytes / (row_bytes * batch_size));
    const index_t chunk = std::min(h.n, batches * batch_size);
    const bool fits = chunk <= cap && in_width == in && c == cols && out_width == out_cols &&
                      (h.y.labels != nullptr) == labels && (h.y.values != nullptr) == values &&
                      (h.sw != nullptr) == sw;
    if (!copy.get()) copy = CudaStreamHandle(stream_create_nonblocking());
    if (fits) return chunk;
    // Nothing in flight may still use the buffers being replaced.
    stream_synchronize(copy.get());
    stream_synchronize();
    const std::size_t rows = static_cast<std::size_t>(chunk);
    for (Slot& sl : slot) {
      sl = Slot{};
      sl.x = HostBuffer(rows * in_width * sizeof(float));
      sl.dx = backend.alloc(rows * in_width * sizeof(float));
      if (h.y.labels) {
        sl.labels = HostBuffer(rows * sizeof(std::int64_t));
        sl.dlabels = backend.alloc(rows * sizeof(std::int64_t));
      }
      if (h.y.values) {
        sl.values = HostBuffer(rows * c * sizeof(float));
        sl.dvalues = backend.alloc(rows * c * sizeof(float));
      }
      if (h.sw) {
        sl.sw = HostBuffer(rows * sizeof(float));
        sl.dsw = backend.alloc(rows * sizeof(float));
      }
      if (out_width) {
        sl.host_out = HostBuffer(rows * out_width * sizeof(float));
        sl.out = backend.alloc(rows * out_width * sizeof(float));
      }
      sl.copied = CudaEventHandle(event_create());
      sl.consumed = CudaEventHandle(event_create());
      sl.downloaded = CudaEventHandle(event_create());
    }
    cap = chunk;
    in = in_width;
    cols = c;
    out_cols = out_width;
    labels = h.y.labels != nullptr;
    values = h.y.values != nullptr;
    sw = h.sw != nullptr;
    cur = 1;
    return chunk;
  }

  // Gathers rows order[first .. first + rows) (identity without order) into the next slot and
  // starts its copy.
  void next(const HostData& h, const std::int64_t* order_host, index_t first, index_t rows) {
    cur ^= 1;
    Slot& sl = slot[cur];
    // The host rows are refilled only once the slot's previous copy has read them.
    if (sl.used) event_synchronize(sl.copied.get());
    const index_t c = h.y.cols;
    float* x = sl.x.as<float>();
    std::int64_t* lab = sl.labels.as<std::int64_t>();
    float* val = sl.values.as<float>();
    float* w = sl.sw.as<float>();
    // Host-side gather; it runs while the device works through the other slot's batches.
    const index_t grain = std::max<index_t>(1, (index_t{64} << 10) / (in * 4 + 1));
    parallel_for(rows, grain, num_threads(), [&](index_t r0, index_t r1) {
      for (index_t r = r0; r < r1; ++r) {
        const index_t src = order_host ? order_host[first + r] : first + r;
        std::memcpy(x + r * in, h.X + src * in, sizeof(float) * static_cast<size_t>(in));
        if (lab) lab[r] = h.y.labels[src];
        if (val)
          std::memcpy(val + r * c, h.y.values + src * c, sizeof(float) * static_cast<size_t>(c));
        if (w) w[r] = h.sw[src];
      }
    });
    CudaStream s = copy.get();
    if (sl.used) stream_wait_event(s, sl.consumed.get());  // the slot's last batches are done
    copy_host_to_device(sl.dx.data(), x, sizeof(float) * static_cast<size_t>(rows * in), s);
    if (lab)
      copy_host_to_device(sl.dlabels.data(), lab, sizeof(std::int64_t) * static_cast<size_t>(rows),
                          s);
    if (val)
      copy_host_to_device(sl.dvalues.data(), val, sizeof(float) * static_cast<size_t>(rows * c), s);
    if (w) copy_host_to_device(sl.dsw.data(), w, sizeof(float) * static_cast<size_t>(rows), s);
    event_record(sl.copied.get(), s);
    stream_wait_event(nullptr, sl.copied.get());  // this chunk's batches start after its copy
    sl.used = true;
    sl.first = first;
    sl.rows = rows;
  }

  Batch batch(const HostData& h, index_t start) const {
    const Slot& sl = slot[cur];
    const index_t off = start - sl.first, c = h.y.cols;
    Batch b;
    b.y.cols = c;
    b.x = sl.dx.as<float>() + off * in;
    if (h.y.labels) b.y.labels = sl.dlabels.as<std::int64_t>() + off;
    if (h.y.values) b.y.values = sl.dvalues.as<float>() + off * c;
    if (h.sw) b.sw = sl.dsw.as<float>() + off;
    if (out_cols) b.out = sl.out.as<float>() + off * out_cols;
    return b;
  }

  // The current slot's batches are enqueued: its next copy waits for them. A prediction's
  // outputs start on their way back first.
  void end(bool outputs) {
    Slot& sl = slot[cur];
    if (!sl.used) return;
    if (outputs) {
      copy_device_to_host_async(sl.host_out.as<void>(), sl.out.data(),
                                sizeof(float) * static_cast<size_t>(sl.rows * out_cols), nullptr);
      event_record(sl.downloaded.get());
    }
    event_record(sl.consumed.get());
  }

  // Waits for slot i's outputs and copies them into out_host (n, out_cols).
  void drain(int i, float* out_host) {
    const Slot& sl = slot[i];
    event_synchronize(sl.downloaded.get());
    std::memcpy(out_host + sl.first * out_cols, sl.host_out.as<float>(),
                sizeof(float) * static_cast<size_t>(sl.rows * out_cols));
  }
};
#else
struct DataFeed::Staging {};  // device backends exist only with CUDA compiled in
#endif

// ---- data sets ------------------------------------------------------------------------------

DataFeed::DataFeed(Backend& backend) : backend_(backend) {}
DataFeed::~DataFeed() = default;

void DataFeed::hold(bool on) {
  hold_ = on;
  if (!on) held_.clear();
}

void DataFeed::fill(const HostData& h, index_t in_width, DeviceData* d) {
  d->host = h;
  if (backend_.host_memory()) {
    d->resident = true;
    d->X = h.X;
    d->y = h.y;
    d->sw = h.sw;
    return;
  }
  const std::size_t bytes = set_bytes(h, in_width);
  if (max_resident_bytes >= 0) {
    d->resident = bytes <= static_cast<std::size_t>(max_resident_bytes);
  } else {
    // Keep an eighth of the free memory for the workspace and other users.
    const std::size_t free_b = backend_.free_memory();
    d->resident = bytes <= free_b - free_b / 8;
  }
  d->y.cols = h.y.cols;
  if (!d->resident || h.n <= 0) return;
  d->x_copy = uploaded(backend_, h.X, h.n * in_width);
  d->labels_copy = uploaded(backend_, h.y.labels, h.n);
  d->values_copy = uploaded(backend_, h.y.values, h.n * h.y.cols);
  d->sw_copy = uploaded(backend_, h.sw, h.n);
  d->X = d->x_copy.as<float>();
  d->y.labels = d->labels_copy.as<std::int64_t>();
  d->y.values = d->values_copy.as<float>();
  d->sw = d->sw_copy.as<float>();
}

const DeviceData& DataFeed::open(const HostData& h, index_t in_width, DeviceData* scratch) {
  if (!hold_) {
    fill(h, in_width, scratch);
    return *scratch;
  }
  for (const auto& d : held_)
    if (same_arrays(d->host, h)) return *d;
  if (held_.size() >= 2) held_.erase(held_.begin());  // a fit holds at most training + validation
  held_.push_back(std::make_unique<DeviceData>());
  fill(h, in_width, held_.back().get());
  return *held_.back();
}

// ---- one pass -------------------------------------------------------------------------------

DataFeed::Pass::Pass(DataFeed& feed, const DeviceData& d, index_t in_width, index_t batch_size,
                     const std::int64_t* order_host, const GatherSpace& gather, index_t out_cols,
                     float* out_host)
    : feed_(feed), d_(d), in_(in_width), batch_size_(batch_size), out_cols_(out_cols),
      order_host_(order_host), gather_(gather), out_host_(out_host) {
  Backend& be = feed_.backend_;
  streamed_ = !d.resident && d.host.n > 0;
  if (streamed_) {
#ifdef FUSEDNET_WITH_CUDA
    if (!feed_.staging_) feed_.staging_ = std::make_unique<Staging>();
    chunk_ =
        feed_.staging_->begin(be, d.host, in_, batch_size_, out_cols_, feed_.stream_chunk_bytes);
#else
    throw std::logic_error("a streamed data set needs a device backend");
#endif
    return;
  }
  if (order_host_) {  // the permutation where the gathers read it
    if (be.host_memory()) {
      order_ = order_host_;
    } else {
      const std::size_t bytes = sizeof(std::int64_t) * static_cast<std::size_t>(d.host.n);
      if (feed_.order_.bytes() < bytes) feed_.order_ = be.alloc(bytes);
      be.upload(feed_.order_.data(), order_host_, bytes);
      order_ = feed_.order_.as<std::int64_t>();
    }
  }
  if (out_cols_ && !be.host_memory())
    out_ = be.alloc(sizeof(float) * static_cast<std::size_t>(d.host.n * out_cols_));
}

DataFeed::Pass::~Pass() {
  if (finished_) return;
  finished_ = true;
#ifdef FUSEDNET_WITH_CUDA
  try {  // unwinding from an error: the slot's next copy must still wait for what was enqueued
    if (streamed_ && chunk_end_ > 0) feed_.staging_->end(false);
  } catch (...) {  // the next CUDA call reports any fault
  }
#endif
}

Batch DataFeed::Pass::batch(index_t start, index_t rows) {
  if (streamed_) {
#ifdef FUSEDNET_WITH_CUDA
    Staging& st = *feed_.staging_;
    if (start + rows > chunk_end_) {  // (a data-parallel rank's batch may start mid-chunk)
      if (chunk_end_ > 0) end_chunk();
      const index_t chunk_rows = std::min(chunk_, d_.host.n - start);
      st.next(d_.host, order_host_, start, chunk_rows);
      chunk_end_ = start + chunk_rows;
    }
    return st.batch(d_.host, start);
#endif
  }
  Batch b;
  b.y.cols = d_.y.cols;
  if (out_cols_) b.out = (out_.data() ? out_.as<float>() : out_host_) + start * out_cols_;
  if (!order_) {
    b.x = d_.X + start * in_;
    if (d_.y.labels) b.y.labels = d_.y.labels + start;
    if (d_.y.values) b.y.values = d_.y.values + start * d_.y.cols;
    if (d_.sw) b.sw = d_.sw + start;
    return b;
  }
  Backend& be = feed_.backend_;
  const std::int64_t* idx = order_ + start;  // shuffled: gather the batch's rows
  be.gather_rows(d_.X, idx, gather_.x, rows, in_);
  b.x = gather_.x;
  if (d_.y.labels) {
    be.gather_labels(d_.y.labels, idx, gather_.labels, rows);
    b.y.labels = gather_.labels;
  }
  if (d_.y.values) {
    be.gather_rows(d_.y.values, idx, gather_.values, rows, d_.y.cols);
    b.y.values = gather_.values;
  }
  if (d_.sw) {
    be.gather_rows(d_.sw, idx, gather_.sw, rows, 1);
    b.sw = gather_.sw;
  }
  return b;
}

void DataFeed::Pass::end_chunk() {
#ifdef FUSEDNET_WITH_CUDA
  Staging& st = *feed_.staging_;
  st.end(out_cols_ > 0);
  drain();
  if (out_cols_) pending_ = st.cur;
#endif
}

void DataFeed::Pass::drain() {
#ifdef FUSEDNET_WITH_CUDA
  if (pending_ < 0) return;
  feed_.staging_->drain(pending_, out_host_);
  pending_ = -1;
#endif
}

void DataFeed::Pass::finish() {
  if (finished_) return;
  finished_ = true;
  if (streamed_) {
    if (chunk_end_ > 0) end_chunk();
    drain();
  } else if (out_.data()) {
    feed_.backend_.download(out_host_, out_.data(),
                            sizeof(float) * static_cast<std::size_t>(d_.host.n * out_cols_));
  }
}

}  // namespace fusednet
