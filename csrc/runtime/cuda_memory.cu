// Device memory: plain cudaMalloc (never managed memory), copies, and an out-of-memory error that
// says how much was asked for and how much is free. Every call checked; errors carry CUDA's text.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "runtime/cuda_check.cuh"
#include "runtime/cuda_device.h"
#include "runtime/cuda_memory.h"

namespace fusednet {

namespace {
std::string mib(std::size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}
}  // namespace

void device_memory_info(std::size_t* free_bytes, std::size_t* total_bytes) {
  std::size_t f = 0, t = 0;
  CUDA_CHECK(cudaMemGetInfo(&f, &t));
  if (free_bytes) *free_bytes = f;
  if (total_bytes) *total_bytes = t;
}

void* cuda_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the sticky-free error so later calls work
    std::size_t f = 0, t = 0;
    cudaMemGetInfo(&f, &t);
    throw std::runtime_error("CUDA out of memory: tried to allocate " + mib(bytes) + " MiB, " +
                             mib(f) + " MiB free of " + mib(t) + " MiB");
  }
  if (err != cudaSuccess) throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
  return p;
}

void cuda_free(void* ptr) noexcept {
  if (ptr)
    cudaFree(ptr);  // a destructor must not throw; a failed free is reported by the next call
}

void copy_host_to_device(void* dst, const void* src, std::size_t bytes, CudaStream stream) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, as_stream(stream)));
}

void copy_device_to_host(void* dst, const void* src, std::size_t bytes, CudaStream stream) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
  CUDA_CHECK(cudaStreamSynchronize(as_stream(stream)));  // host memory is pageable: be safe
}

void copy_device_to_device(void* dst, const void* src, std::size_t bytes, CudaStream stream) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)));
}

void memset_device(void* dst, int value, std::size_t bytes, CudaStream stream) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, as_stream(stream)));
}

double cuda_time_ms(void (*body)(void* ctx), void* ctx, int iters, CudaStream stream) {
  cudaStream_t s = as_stream(stream);
  body(ctx);  // warm-up: first-launch costs stay out of the figure
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  float ms = 0.0f;
  try {
    CUDA_CHECK(cudaEventRecord(start, s));
    for (int i = 0; i < iters; ++i) body(ctx);
    CUDA_CHECK(cudaEventRecord(stop, s));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return static_cast<double>(ms) / (iters > 0 ? iters : 1);
}

double device_peak_bandwidth_gbs() {
  int dev = 0, clock_khz = 0, bus_bits = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev) != cudaSuccess ||
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev) != cudaSuccess) {
    cudaGetLastError();
    return 0.0;
  }
  return 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
}

void stream_synchronize(CudaStream stream) { CUDA_CHECK(cudaStreamSynchronize(as_stream(stream))); }

CudaStream stream_create_nonblocking() {
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return reinterpret_cast<CudaStream>(s);
}

void stream_destroy(CudaStream stream) noexcept {
  if (stream) cudaStreamDestroy(as_stream(stream));  // waits for nothing; work already queued runs
}

CudaEvent event_create() {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return reinterpret_cast<CudaEvent>(e);
}

void event_destroy(CudaEvent event) noexcept {
  if (event) cudaEventDestroy(reinterpret_cast<cudaEvent_t>(event));
}

void event_record(CudaEvent event, CudaStream stream) {
  CUDA_CHECK(cudaEventRecord(reinterpret_cast<cudaEvent_t>(event), as_stream(stream)));
}

void event_synchronize(CudaEvent event) {
  CUDA_CHECK(cudaEventSynchronize(reinterpret_cast<cudaEvent_t>(event)));
}

void stream_wait_event(CudaStream stream, CudaEvent event) {
  CUDA_CHECK(cudaStreamWaitEvent(as_stream(stream), reinterpret_cast<cudaEvent_t>(event), 0));
}

void* host_alloc(std::size_t bytes, bool* pinned) {
  *pinned = false;
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) == cudaSuccess) {
    *pinned = true;
    return p;
  }
  cudaGetLastError();  // refused (locked-memory limits): fall back to pageable memory
  p = std::malloc(bytes);
  if (!p) throw std::runtime_error("out of host memory: tried to allocate " + mib(bytes) + " MiB");
  return p;
}

void host_free_pinned(void* ptr) noexcept { cudaFreeHost(ptr); }
void host_free_pageable(void* ptr) noexcept { std::free(ptr); }

void copy_device_to_host_async(void* dst, const void* src, std::size_t bytes, CudaStream stream) {
  if (bytes == 0) return;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, as_stream(stream)));
}

}  // namespace fusednet
