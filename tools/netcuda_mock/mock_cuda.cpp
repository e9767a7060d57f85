// A HOST stand-in for the CUDA runtime calls (runtime/cuda_memory.h, cuda_device.h) and launchers
// (kernels/cuda.h), so the net's CUDA backend and data feed (csrc/net/backend_cuda.cpp,
// data_feed.cpp) run on a machine without a GPU: "device" memory is host memory and every launcher
// calls the CPU kernel of the same op. Used only by tools/netcuda_mock to check the CUDA side's
// own logic (offsets, strides, batching, slots, shuffles, dropout, streamed fallback) against the
// CPU net bit for bit. It proves nothing about the .cu kernels themselves.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <new>

#include "kernels/cpu.h"
#include "kernels/cuda.h"
#include "runtime/cuda_device.h"
#include "kernels/math/metric.h"
#include "runtime/cuda_memory.h"
#include "kernels/math/hash.h"

namespace fusednet {

void require_cuda_device() {}
void* cuda_malloc(std::size_t bytes) {
  void* p = std::aligned_alloc(64, (bytes + 127) / 64 * 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0xA5, bytes);  // garbage, as cudaMalloc: the backend must not rely on zeroes
  return p;
}
void cuda_free(void* p) noexcept { std::free(p); }
// The legacy default stream (nullptr) runs everything at once. A stream of stream_create_nonblocking
// DEFERS its copies until an event recorded after them is waited on (by the host or by the default
// stream), and a copy reads its source only when it runs: so a batch that does not wait for its
// chunk's copy reads stale rows, and a host buffer refilled before its copy has run is copied
// with the new contents -- both show up as a mismatch with Net.
namespace {
struct MockStream {
  std::deque<std::function<void()>> pending;
  std::uint64_t enqueued = 0, done = 0;
};
struct MockEvent {
  MockStream* stream = nullptr;  // nullptr: recorded on the default stream (already complete)
  std::uint64_t upto = 0;
};
void run_until(MockStream* s, std::uint64_t upto) {
  while (s && s->done < upto) {
    auto op = std::move(s->pending.front());
    s->pending.pop_front();
    ++s->done;
    op();
  }
}
void enqueue(CudaStream stream, std::function<void()> op) {
  if (!stream) return op();
  auto* s = reinterpret_cast<MockStream*>(stream);
  s->pending.push_back(std::move(op));
  ++s->enqueued;
}
}  // namespace

void stream_synchronize(CudaStream stream) {
  auto* s = reinterpret_cast<MockStream*>(stream);
  if (s) run_until(s, s->enqueued);
}
CudaStream stream_create_nonblocking() { return reinterpret_cast<CudaStream>(new MockStream); }
void stream_destroy(CudaStream stream) noexcept {
  auto* s = reinterpret_cast<MockStream*>(stream);
  if (!s) return;
  run_until(s, s->enqueued);
  delete s;
}
CudaEvent event_create() { return reinterpret_cast<CudaEvent>(new MockEvent); }
void event_destroy(CudaEvent e) noexcept { delete reinterpret_cast<MockEvent*>(e); }
void event_record(CudaEvent event, CudaStream stream) {
  auto* e = reinterpret_cast<MockEvent*>(event);
  e->stream = reinterpret_cast<MockStream*>(stream);
  e->upto = e->stream ? e->stream->enqueued : 0;
}
void event_synchronize(CudaEvent event) {
  auto* e = reinterpret_cast<MockEvent*>(event);
  run_until(e->stream, e->upto);
}
void stream_wait_event(CudaStream stream, CudaEvent event) {
  // Only the default stream's waits matter here: it runs at once, so what it waits for runs now.
  if (!stream) event_synchronize(event);
}
void* host_alloc(std::size_t bytes, bool* pinned) {
  *pinned = true;
  return cuda_malloc(bytes);
}
void host_free_pinned(void* p) noexcept { std::free(p); }
void host_free_pageable(void* p) noexcept { std::free(p); }
void copy_host_to_device(void* d, const void* s, std::size_t b, CudaStream stream) {
  enqueue(stream, [=] { std::memcpy(d, s, b); });
}
void copy_device_to_host(void* d, const void* s, std::size_t b, CudaStream stream) {
  enqueue(stream, [=] { std::memcpy(d, s, b); });
  stream_synchronize(stream);
}
void copy_device_to_host_async(void* d, const void* s, std::size_t b, CudaStream stream) {
  enqueue(stream, [=] { std::memcpy(d, s, b); });
}
void copy_device_to_device(void* d, const void* s, std::size_t b, CudaStream) { std::memcpy(d, s, b); }
void memset_device(void* d, int v, std::size_t b, CudaStream) { std::memset(d, v, b); }
void device_memory_info(std::size_t* f, std::size_t* t) { *f = *t = std::size_t(1) << 34; }


void gather_rows_cuda(const float* src, const std::int64_t* index, float* dst, index_t rows,
                      index_t cols, CudaStream) {
  for (index_t i = 0; i < rows; ++i) std::memcpy(dst + i * cols, src + index[i] * cols, 4 * cols);
}
void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& ep, bool, CudaStream) {
  gemm_cpu(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, ep);
}
void activation_forward_cuda(Activation a, float p, const float* x, float* y, index_t n, CudaStream) {
  activation_forward_cpu(a, p, x, y, n);
}
void activation_backward_cuda(Activation a, float p, const float* dy, const float* x, float* dx,
                              index_t n, CudaStream) {
  activation_backward_cpu(a, p, dy, x, dx, n);
}
void activation_backward_from_output_cuda(Activation a, float p, const float* dy, const float* y,
                                          float* dx, index_t n, CudaStream) {
  activation_backward_from_output_cpu(a, p, dy, y, dx, n);
}
void softmax_forward_cuda(const float* x, float* y, index_t r, index_t c, bool log, CudaStream) {
  softmax_forward_cpu(x, y, r, c, log);
}
void softmax_backward_cuda(const float* dy, const float* x, float* dx, index_t r, index_t c,
                           bool log, CudaStream) {
  softmax_backward_cpu(dy, x, dx, r, c, log);
}
void bias_grad_cuda(const float* dy, float* db, index_t r, index_t c, CudaStream) {
  bias_grad_cpu(dy, db, r, c);
}
void sum_doubles_cuda(const double* v, index_t n, double scale, double* out, CudaStream) {
  double s = 0;
  for (index_t i = 0; i < n; ++i) s += v[i];
  *out = scale * s;
}
void mse_cuda(const float* p, const float* t, const float* w, float* d, index_t r, index_t c,
              Reduction red, double* rl, double* loss, CudaStream) {
  *loss = mse_cpu(p, t, w, d, r, c, red, rl);
}
void binary_cross_entropy_cuda(const float* p, const float* t, const float* w, float* d,
                               index_t r, index_t c, Reduction red, double* rl, double* loss,
                               CudaStream) {
  *loss = binary_cross_entropy_cpu(p, t, w, d, r, c, red, rl);
}
void softmax_cross_entropy_cuda(const float* p, const std::int64_t* l, const float* w, float* d,
                                index_t r, index_t c, Reduction red, double* rl, double* loss,
                                int*, CudaStream) {
  *loss = softmax_cross_entropy_cpu(p, l, w, d, r, c, red, rl);
}
void softmax_cross_entropy_soft_cuda(const float* p, const float* t, const float* w, float* d,
                                     index_t r, index_t c, Reduction red, double* rl,
                                     double* loss, CudaStream) {
  *loss = softmax_cross_entropy_soft_cpu(p, t, w, d, r, c, red, rl);
}
void sgd_step_cuda(float* p, const float* g, float* v, index_t n, float lr, float mom, bool nest,
                   float wd, CudaStream) {
  sgd_step_cpu(p, g, v, n, lr, mom, nest, wd);
}
void adam_step_cuda(float* p, const float* g, float* m, float* v, index_t n, std::int64_t step,
                    float lr, float b1, float b2, float eps, float wd, bool dec, CudaStream) {
  adam_step_cpu(p, g, m, v, n, step, lr, b1, b2, eps, wd, dec);
}

// ---- net_kernels.cu, on the host (same math) ----
void dropout_mask_cuda(const float* src, float* dst, index_t n, float rate, std::uint64_t key,
                       CudaStream) {
  const float scale = 1.0f / (1.0f - rate);
  for (index_t i = 0; i < n; ++i)
    dst[i] = nethash::uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale : 0.f;
}
void gather_labels_cuda(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                        index_t rows, CudaStream) {
  for (index_t i = 0; i < rows; ++i) dst[i] = src[index[i]];
}
void metric_rows_cuda(int kind, const float* pred, float thr, const std::int64_t* labels,
                      const float* targets, double* out, index_t rows, index_t cols, CudaStream) {
  for (index_t i = 0; i < rows; ++i)
    out[i] = metricmath::metric_row(kind, pred + i * cols, thr, labels ? labels[i] : 0,
                                    targets ? targets + i * cols : nullptr, cols);
}

}  // namespace fusednet
