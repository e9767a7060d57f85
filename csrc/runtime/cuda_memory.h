// Device memory, streams, events and page-locked host memory of the CUDA backend, as plain C++
// (no CUDA headers), so the net, its data feed and the bindings can hold them. Implemented in
// runtime/cuda_memory.cu; only linked when FUSEDNET_WITH_CUDA is defined (tools/netcuda_mock
// supplies host stand-ins). Every call is checked: a CUDA error throws std::runtime_error with
// CUDA's message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "runtime/buffer.h"

struct CUstream_st;  // what cudaStream_t points to
struct CUevent_st;   // what cudaEvent_t points to

namespace fusednet {

using CudaStream = CUstream_st*;
using CudaEvent = CUevent_st*;

// ---- device memory ------------------------------------------------------------------------------
// cudaMalloc that fails with "CUDA out of memory: tried to allocate X MiB, Y MiB free of Z MiB".
void* cuda_malloc(std::size_t bytes);
void cuda_free(void* ptr) noexcept;
void copy_host_to_device(void* dst, const void* src, std::size_t bytes,
                         CudaStream stream = nullptr);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes,
                         CudaStream stream = nullptr);
void copy_device_to_device(void* dst, const void* src, std::size_t bytes,
                           CudaStream stream = nullptr);
void memset_device(void* dst, int value, std::size_t bytes, CudaStream stream = nullptr);
void stream_synchronize(CudaStream stream = nullptr);
// Free and total device memory in bytes (cudaMemGetInfo).
void device_memory_info(std::size_t* free_bytes, std::size_t* total_bytes);

// Average milliseconds per call of body() over `iters` calls, timed with CUDA events on `stream`
// after one untimed warm-up call. For benchmarks.
double cuda_time_ms(void (*body)(void* ctx), void* ctx, int iters, CudaStream stream = nullptr);
// Peak DRAM bandwidth of the current device in GB/s from its memory clock and bus width
// (2 transfers per clock), or 0 when the driver does not report them.
double device_peak_bandwidth_gbs();

// A cudaMalloc'ed block; empty for 0 bytes.
class DeviceBuffer : public Buffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes)
      : Buffer(bytes ? cuda_malloc(bytes) : nullptr, bytes, cuda_free) {}
};

// ---- streams, events, page-locked host memory --------------------------------------------------
// For overlapping host-to-device copies with compute: a copy stream that does not synchronise
// with the legacy default stream, events to order the two, and pinned staging memory.
CudaStream stream_create_nonblocking();
void stream_destroy(CudaStream stream) noexcept;
CudaEvent event_create();  // timing disabled (cheaper to record and wait on)
void event_destroy(CudaEvent event) noexcept;
void event_record(CudaEvent event, CudaStream stream = nullptr);
void event_synchronize(CudaEvent event);                 // the host waits
void stream_wait_event(CudaStream stream, CudaEvent event);  // the stream waits, the host does not
// Page-locked host memory, or plain host memory when the driver refuses it (*pinned = false):
// copies from it are then staged by the driver, slower but still correct.
void* host_alloc(std::size_t bytes, bool* pinned);
void host_free_pinned(void* ptr) noexcept;
void host_free_pageable(void* ptr) noexcept;
// Device to host without waiting (dst should be page-locked for the copy to be asynchronous).
void copy_device_to_host_async(void* dst, const void* src, std::size_t bytes, CudaStream stream);

// Owner of one handle made by the functions above (a stream or an event); move-only.
template <typename Handle, void (*Destroy)(Handle) noexcept>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle h) : h_(h) {}
  ~UniqueHandle() { Destroy(h_); }
  UniqueHandle(UniqueHandle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  Handle get() const { return h_; }

 private:
  Handle h_ = nullptr;
};
using CudaStreamHandle = UniqueHandle<CudaStream, stream_destroy>;
using CudaEventHandle = UniqueHandle<CudaEvent, event_destroy>;

// Page-locked host memory when the driver allows (host_alloc), else plain host memory.
class HostBuffer : public Buffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(std::size_t bytes) : Buffer(make(bytes)) {}

 private:
  static Buffer make(std::size_t bytes) {
    bool pinned = false;
    void* p = host_alloc(bytes, &pinned);
    return Buffer(p, bytes, pinned ? host_free_pinned : host_free_pageable);
  }
};

}  // namespace fusednet
