// HOST stand-ins for everything the .cu files define: the CUDA device facts and runtime calls
// (runtime/cuda_device.h, cuda_memory.h) and the launchers (kernels/cuda.h). "Device" memory is
// host memory and every launcher calls the CPU kernel of the same op (kernels/cpu.h), with the
// launcher's own edge cases (sizes of 0, flagged labels) kept. Linked instead of the .cu files and
// cudart by tools/netcuda_mock (the CUDA net vs the CPU net, bit for bit) and by the module of
// FUSEDNET_MOCK_CUDA (the test suite's CUDA cases, run_module.sh): they test the CUDA side's host
// logic -- offsets, strides, uploads, batching, slots, shuffles, streamed fallback, the bindings'
// CUDA column -- and prove nothing about the .cu kernels themselves.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.h"
#include "kernels/cpu.h"
#include "kernels/cuda.h"
#include "kernels/math/hash.h"
#include "kernels/math/metric.h"
#include "runtime/cuda_device.h"
#include "runtime/cuda_memory.h"

namespace fusednet {

// ---- device facts: one device, named so that tests can tell it from a GPU ---------------------
namespace {
constexpr std::size_t kMockMemory = std::size_t(16) << 30;  // what the mock device "has"
}  // namespace

CudaStatus cuda_status() {
  CudaStatus s;
  s.compiled = true;
  s.available = true;
  CudaDeviceInfo d;
  d.name = "host mock (tools/netcuda_mock), not a GPU";
  d.major = 9;  // sm_90, a built architecture: TF32 requests are accepted (and computed in FP32)
  d.total_memory = kMockMemory;
  d.multiprocessors = 1;
  s.devices.push_back(d);
  return s;
}
void require_cuda_device() {}

// ---- device memory: host blocks, registered so that every pointer can be checked --------------
// A launcher or the device side of a copy must get [p, p + bytes) inside one live device block,
// the host side of a copy must not touch one: host memory handed to a kernel, a freed block or a
// range past a block's end (an illegal address or a silent overrun on a GPU) fails here instead of
// quietly working on the host memory that the mock's "device" memory really is.
namespace {
std::mutex g_mu;
std::map<std::uintptr_t, std::size_t> g_blocks;  // live device blocks: start -> bytes
std::size_t g_in_use = 0;

std::string mib(std::size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// The block containing address a (g_mu held), or end().
std::map<std::uintptr_t, std::size_t>::iterator block_of(std::uintptr_t a) {
  auto it = g_blocks.upper_bound(a);
  if (it == g_blocks.begin() || a >= std::prev(it)->first + std::prev(it)->second)
    return g_blocks.end();
  return std::prev(it);
}

[[noreturn]] void misuse(const char* fn, const char* arg, const void* p, std::size_t bytes,
                         const char* what) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " (%p, %zu bytes) ", p, bytes);
  throw std::logic_error(std::string("mock_cuda: ") + fn + ": " + arg + buf + what);
}

void device_span(const char* fn, const char* arg, const void* p, std::size_t bytes) {
  if (bytes == 0) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  const auto it = block_of(a);
  if (it == g_blocks.end() || a + bytes > it->first + it->second)
    misuse(fn, arg, p, bytes, "is not inside one live device allocation");
}

void host_span(const char* fn, const char* arg, const void* p, std::size_t bytes) {
  if (bytes == 0) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  const auto it = g_blocks.lower_bound(a);  // the first block starting at or after p
  if (block_of(a) != g_blocks.end() || (it != g_blocks.end() && it->first < a + bytes))
    misuse(fn, arg, p, bytes, "is device memory where host memory was expected");
}

std::size_t floats(index_t n) { return static_cast<std::size_t>(std::max<index_t>(n, 0)) * 4; }
std::size_t int64s(index_t n) { return static_cast<std::size_t>(std::max<index_t>(n, 0)) * 8; }
std::size_t doubles(index_t n) { return static_cast<std::size_t>(std::max<index_t>(n, 0)) * 8; }

void run_every_stream();  // below: what cudaFree's implicit device-wide synchronisation runs
}  // namespace

void* cuda_malloc(std::size_t bytes) {
  if (bytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  const std::size_t free_b = kMockMemory - g_in_use;
  if (bytes > free_b)  // as cuda_memory.cu
    throw std::runtime_error("CUDA out of memory: tried to allocate " + mib(bytes) + " MiB, " +
                             mib(free_b) + " MiB free of " + mib(kMockMemory) + " MiB");
  // 256-byte aligned as cudaMalloc's (the kernels' float4 paths rely on it).
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0xA5, bytes);  // garbage, as cudaMalloc: nothing may rely on zeroes
  g_blocks[reinterpret_cast<std::uintptr_t>(p)] = bytes;
  g_in_use += bytes;
  return p;
}
void cuda_free(void* p) noexcept {
  if (!p) return;
  run_every_stream();
  std::lock_guard<std::mutex> lock(g_mu);
  const auto it = g_blocks.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g_blocks.end()) {  // cudaFree would fail (and it cannot throw from a destructor)
    std::fprintf(stderr, "mock_cuda: cuda_free(%p): not a live device allocation\n", p);
    std::abort();
  }
  g_in_use -= it->second;
  g_blocks.erase(it);
  std::free(p);
}
void device_memory_info(std::size_t* f, std::size_t* t) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (f) *f = kMockMemory - g_in_use;
  if (t) *t = kMockMemory;
}

// ---- streams and events -------------------------------------------------------------------------
// The legacy default stream (nullptr) runs everything at once. A stream of stream_create_nonblocking
// DEFERS its copies until an event recorded after them is waited on (by the host or by the default
// stream), and a copy reads its source only when it runs: so a batch that does not wait for its
// chunk's copy reads stale rows, and a host buffer refilled before its copy has run is copied
// with the new contents -- both show up as a mismatch with the CPU. Freeing memory waits for
// every stream first, as cudaFree and cudaFreeHost do.
namespace {
struct MockStream {
  std::deque<std::function<void()>> pending;
  std::uint64_t enqueued = 0, done = 0;
};
struct MockEvent {
  MockStream* stream = nullptr;  // nullptr: recorded on the default stream (already complete)
  std::uint64_t upto = 0;
};
// Every stream's queue is guarded by one lock (a free in one thread runs every stream's work).
std::mutex g_stream_mu;
std::set<MockStream*> g_streams;  // the live nonblocking streams

void run_until(MockStream* s, std::uint64_t upto) {  // g_stream_mu held
  while (s && s->done < upto) {
    auto op = std::move(s->pending.front());
    s->pending.pop_front();
    ++s->done;
    op();
  }
}
void run_every_stream() {
  std::lock_guard<std::mutex> lock(g_stream_mu);
  for (MockStream* s : g_streams) run_until(s, s->enqueued);
}
void enqueue(CudaStream stream, std::function<void()> op) {
  if (!stream) return op();
  auto* s = reinterpret_cast<MockStream*>(stream);
  std::lock_guard<std::mutex> lock(g_stream_mu);
  s->pending.push_back(std::move(op));
  ++s->enqueued;
}
}  // namespace

void stream_synchronize(CudaStream stream) {
  auto* s = reinterpret_cast<MockStream*>(stream);
  std::lock_guard<std::mutex> lock(g_stream_mu);
  if (s) run_until(s, s->enqueued);
}
CudaStream stream_create_nonblocking() {
  auto* s = new MockStream;
  std::lock_guard<std::mutex> lock(g_stream_mu);
  g_streams.insert(s);
  return reinterpret_cast<CudaStream>(s);
}
void stream_destroy(CudaStream stream) noexcept {
  auto* s = reinterpret_cast<MockStream*>(stream);
  if (!s) return;
  std::lock_guard<std::mutex> lock(g_stream_mu);
  run_until(s, s->enqueued);
  g_streams.erase(s);
  delete s;
}
CudaEvent event_create() { return reinterpret_cast<CudaEvent>(new MockEvent); }
void event_destroy(CudaEvent e) noexcept { delete reinterpret_cast<MockEvent*>(e); }
void event_record(CudaEvent event, CudaStream stream) {
  auto* e = reinterpret_cast<MockEvent*>(event);
  std::lock_guard<std::mutex> lock(g_stream_mu);
  e->stream = reinterpret_cast<MockStream*>(stream);
  e->upto = e->stream ? e->stream->enqueued : 0;
}
void event_synchronize(CudaEvent event) {
  auto* e = reinterpret_cast<MockEvent*>(event);
  std::lock_guard<std::mutex> lock(g_stream_mu);
  run_until(e->stream, e->upto);
}
void stream_wait_event(CudaStream stream, CudaEvent event) {
  // Only the default stream's waits matter here: it runs at once, so what it waits for runs now.
  if (!stream) event_synchronize(event);
}

// ---- page-locked host memory and copies ---------------------------------------------------------
void* host_alloc(std::size_t bytes, bool* pinned) {
  *pinned = bytes != 0;
  if (bytes == 0) return nullptr;
  void* p = std::malloc(bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0x5A, bytes);  // garbage, as cudaHostAlloc
  return p;
}
void host_free_pinned(void* p) noexcept {
  run_every_stream();
  std::free(p);
}
void host_free_pageable(void* p) noexcept { std::free(p); }
void copy_host_to_device(void* d, const void* s, std::size_t b, CudaStream stream) {
  device_span("copy_host_to_device", "dst", d, b);
  host_span("copy_host_to_device", "src", s, b);
  enqueue(stream, [=] { std::memcpy(d, s, b); });
}
void copy_device_to_host(void* d, const void* s, std::size_t b, CudaStream stream) {
  host_span("copy_device_to_host", "dst", d, b);
  device_span("copy_device_to_host", "src", s, b);
  enqueue(stream, [=] { std::memcpy(d, s, b); });
  stream_synchronize(stream);
}
void copy_device_to_host_async(void* d, const void* s, std::size_t b, CudaStream stream) {
  host_span("copy_device_to_host_async", "dst", d, b);
  device_span("copy_device_to_host_async", "src", s, b);
  enqueue(stream, [=] { std::memcpy(d, s, b); });
}
void copy_device_to_device(void* d, const void* s, std::size_t b, CudaStream stream) {
  device_span("copy_device_to_device", "dst", d, b);
  device_span("copy_device_to_device", "src", s, b);
  enqueue(stream, [=] { std::memcpy(d, s, b); });
}
void memset_device(void* d, int v, std::size_t b, CudaStream stream) {
  device_span("memset_device", "dst", d, b);
  enqueue(stream, [=] { std::memset(d, v, b); });
}

// ---- timing -------------------------------------------------------------------------------------
// Host time of the stand-ins after one untimed call, as the CUDA-event timing: an honest figure of
// this machine, not of any GPU.
double cuda_time_ms(void (*body)(void*), void* ctx, int iters, CudaStream stream) {
  body(ctx);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) body(ctx);
  stream_synchronize(stream);
  const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
  return ms.count() / (iters > 0 ? iters : 1);
}
double device_peak_bandwidth_gbs() { return 0.0; }  // "the driver does not report it"

// ---- launchers: the CPU kernel of the same op, with the launcher's own edge cases ---------------
// Each runs at once (the legacy default stream's order) after checking the device ranges it reads
// and writes; an empty launch returns first, touching nothing, as the real launchers do.
namespace {
struct Span {
  const char* arg;
  const void* p;
  std::size_t bytes;  // 0: not touched (an absent optional argument)
};
void launch(const char* fn, CudaStream s, const std::vector<Span>& spans) {
  // fusednet launches nothing on another stream; a stand-in for that would have to defer it as
  // the copies above are.
  if (s) throw std::logic_error(std::string("mock_cuda: ") + fn + " on a non-default stream");
  for (const Span& sp : spans) device_span(fn, sp.arg, sp.p, sp.bytes);
}
// A matrix's span from its lowest element (element strides may be negative).
Span matrix(const char* arg, const float* p, index_t rows, index_t cols, index_t rs, index_t cs) {
  if (rows <= 0 || cols <= 0) return {arg, p, 0};
  const index_t r = (rows - 1) * rs, c = (cols - 1) * cs;
  const index_t lo = std::min<index_t>(r, 0) + std::min<index_t>(c, 0);
  const index_t hi = std::max<index_t>(r, 0) + std::max<index_t>(c, 0);
  return {arg, p + lo, floats(hi - lo + 1)};
}
}  // namespace

void gather_rows_cuda(const float* src, const std::int64_t* index, float* dst, index_t rows,
                      index_t cols, CudaStream s) {
  if (rows <= 0 || cols <= 0) return;
  launch(__func__, s, {{"index", index, int64s(rows)}, {"dst", dst, floats(rows * cols)}});
  for (index_t i = 0; i < rows; ++i) {
    device_span(__func__, "src row", src + index[i] * cols, floats(cols));
    std::memcpy(dst + i * cols, src + index[i] * cols, floats(cols));
  }
}

// A gemm launch on the stand-ins: its operands must lie in live device memory, then the CPU
// function of the same arguments computes it.
template <typename CpuGemm>
void mock_gemm(const char* name, CpuGemm cpu, index_t M, index_t N, index_t K, float alpha,
               const float* A, index_t rs_a, index_t cs_a, const float* B, index_t rs_b,
               index_t cs_b, float beta, float* C, index_t rs_c, index_t cs_c, const Epilogue& ep,
               CudaStream s) {
  if (M <= 0 || N <= 0) return;
  launch(name, s,
         {matrix("A", A, M, K, rs_a, cs_a),
          matrix("B", B, K, N, rs_b, cs_b),
          matrix("C", C, M, N, rs_c, cs_c),
          {"bias", ep.bias, ep.bias ? floats(N) : 0}});
  cpu(M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c, ep);
}

// Exact FP32 whatever allow_tf32 asks: TF32 rounding is the GPU's (tests of it need one).
void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& ep, bool, CudaStream s) {
  mock_gemm(__func__, gemm_cpu, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c, cs_c,
            ep, s);
}
void gemm_ref_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& ep, CudaStream s) {
  mock_gemm(__func__, gemm_ref_cpu, M, N, K, alpha, A, rs_a, cs_a, B, rs_b, cs_b, beta, C, rs_c,
            cs_c, ep, s);
}
// The process-wide kernel choices, checked and recorded as in gemm.cu (the stand-in gemm has one
// path, so they change no result).
int set_gemm_cuda_tf32_kernel(int kernel) {
  static std::atomic<int> knob{0};
  FN_CHECK(kernel >= -1 && kernel <= 3,
           "tf32 kernel: expected 0 (auto), 1 (v1), 2 (v2 128x128), 3 (v2 128x256) or -1 "
           "(query), got ",
           kernel);
  return kernel < 0 ? knob.load() : knob.exchange(kernel);
}
int set_gemm_cuda_split_k(int enabled) {
  static std::atomic<int> knob{1};
  FN_CHECK(enabled >= -1 && enabled <= 1, "split_k: expected 0 (off), 1 (on) or -1 (query), got ",
           enabled);
  return enabled < 0 ? knob.load() : knob.exchange(enabled);
}

void activation_forward_cuda(Activation a, float p, const float* x, float* y, index_t n,
                             CudaStream s) {
  launch(__func__, s, {{"x", x, floats(n)}, {"y", y, floats(n)}});
  activation_forward_cpu(a, p, x, y, n);
}
void activation_backward_cuda(Activation a, float p, const float* dy, const float* x, float* dx,
                              index_t n, CudaStream s) {
  launch(__func__, s, {{"dy", dy, floats(n)}, {"x", x, floats(n)}, {"dx", dx, floats(n)}});
  activation_backward_cpu(a, p, dy, x, dx, n);
}
void activation_backward_from_output_cuda(Activation a, float p, const float* dy, const float* y,
                                          float* dx, index_t n, CudaStream s) {
  launch(__func__, s, {{"dy", dy, floats(n)}, {"y", y, floats(n)}, {"dx", dx, floats(n)}});
  activation_backward_from_output_cpu(a, p, dy, y, dx, n);
}
void softmax_forward_cuda(const float* x, float* y, index_t r, index_t c, bool log, CudaStream s) {
  if (r <= 0 || c <= 0) return;
  launch(__func__, s, {{"x", x, floats(r * c)}, {"y", y, floats(r * c)}});
  softmax_forward_cpu(x, y, r, c, log);
}
void softmax_backward_cuda(const float* dy, const float* x, float* dx, index_t r, index_t c,
                           bool log, CudaStream s) {
  if (r <= 0 || c <= 0) return;
  launch(__func__, s,
         {{"dy", dy, floats(r * c)}, {"x", x, floats(r * c)}, {"dx", dx, floats(r * c)}});
  softmax_backward_cpu(dy, x, dx, r, c, log);
}

void bias_grad_cuda(const float* dy, float* db, index_t r, index_t c, CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s, {{"dy", dy, floats(r * c)}, {"db", db, floats(c)}});
  bias_grad_cpu(dy, db, r, c);
}
void batch_norm_forward_cuda(const float* x, float* y, index_t r, index_t c, const BatchNormArgs& a,
                             CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s,
         {{"x", x, floats(r * c)},
          {"y", y, floats(r * c)},
          {"mean", a.mean, floats(c)},
          {"invstd", a.invstd, floats(c)},
          {"gamma", a.gamma, a.gamma ? floats(c) : 0},
          {"beta", a.beta, a.beta ? floats(c) : 0},
          {"moving_mean", a.moving_mean, a.moving_mean ? floats(c) : 0},
          {"moving_var", a.moving_var, a.moving_var ? floats(c) : 0},
          {"batch_stats", a.batch_stats, a.batch_stats ? doubles(2 * c) : 0}});
  batch_norm_forward_cpu(x, y, r, c, a);
}
void batch_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t r, index_t c,
                              const BatchNormArgs& a, float* dgamma, float* dbeta, CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s,
         {{"dy", dy, floats(r * c)},
          {"x", x, floats(r * c)},
          {"dx", dx, floats(r * c)},
          {"dgamma", dgamma, dgamma ? floats(c) : 0},
          {"dbeta", dbeta, dbeta ? floats(c) : 0},
          {"grad_means", a.grad_means, a.grad_means ? doubles(2 * c) : 0}});
  batch_norm_backward_cpu(dy, x, dx, r, c, a, dgamma, dbeta);
}
void batch_norm_stat_sums_cuda(const float* x, index_t r, index_t c, const double* sum,
                               double count, double* out, CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s,
         {{"x", x, floats(r * c)}, {"sum", sum, sum ? doubles(c) : 0}, {"out", out, doubles(c)}});
  batch_norm_stat_sums_cpu(x, r, c, sum, count, out);
}
void batch_norm_grad_sums_cuda(const float* dy, const float* x, index_t r, index_t c,
                               const BatchNormArgs& a, double* out, CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s,
         {{"dy", dy, floats(r * c)},
          {"x", x, floats(r * c)},
          {"mean", a.mean, floats(c)},
          {"invstd", a.invstd, floats(c)},
          {"out", out, doubles(2 * c)}});
  batch_norm_grad_sums_cpu(dy, x, r, c, a, out);
}
void layer_norm_forward_cuda(const float* x, float* y, index_t r, index_t c, const float* gamma,
                             const float* beta, float eps, float* mean, float* rstd, CudaStream s) {
  if (r <= 0) return;
  launch(__func__, s,
         {{"x", x, floats(r * c)},
          {"y", y, floats(r * c)},
          {"mean", mean, floats(r)},
          {"rstd", rstd, floats(r)},
          {"gamma", gamma, gamma ? floats(c) : 0},
          {"beta", beta, beta ? floats(c) : 0}});
  layer_norm_forward_cpu(x, y, r, c, gamma, beta, eps, mean, rstd);
}
void layer_norm_backward_cuda(const float* dy, const float* x, float* dx, index_t r, index_t c,
                              const float* gamma, const float* mean, const float* rstd,
                              float* dgamma, float* dbeta, CudaStream s) {
  if (c <= 0) return;
  launch(__func__, s,
         {{"dy", dy, floats(r * c)},
          {"x", x, floats(r * c)},
          {"dx", dx, floats(r * c)},
          {"dgamma", dgamma, dgamma ? floats(c) : 0},
          {"dbeta", dbeta, dbeta ? floats(c) : 0}});
  layer_norm_backward_cpu(dy, x, dx, r, c, gamma, mean, rstd, dgamma, dbeta);
}
void argmax_rows_cuda(const float* x, std::int64_t* out, index_t r, index_t c, CudaStream s) {
  FN_CHECK(c > 0 || r == 0, "x: argmax needs at least one column, got 0");
  if (r <= 0) return;
  launch(__func__, s, {{"x", x, floats(r * c)}, {"out", out, int64s(r)}});
  argmax_rows_cpu(x, out, r, c);
}
void correct_rows_cuda(const float* logits, const std::int64_t* labels, double* correct, index_t r,
                       index_t c, CudaStream s) {
  FN_CHECK(c > 0 || r == 0, "logits: accuracy needs at least one column, got 0");
  if (r <= 0) return;
  launch(__func__, s,
         {{"logits", logits, floats(r * c)},
          {"labels", labels, int64s(r)},
          {"correct", correct, doubles(r)}});
  std::vector<std::int64_t> best(static_cast<std::size_t>(r));
  argmax_rows_cpu(logits, best.data(), r, c);
  for (index_t i = 0; i < r; ++i) correct[i] = best[static_cast<std::size_t>(i)] == labels[i];
}
void sum_doubles_cuda(const double* v, index_t n, double scale, double* out, CudaStream s) {
  launch(__func__, s, {{"values", v, doubles(n)}, {"out", out, doubles(1)}});
  double sum = 0;
  for (index_t i = 0; i < n; ++i) sum += v[i];
  *out = scale * sum;
}

namespace {
// Every loss reads its input [r, c], targets and optional weights, and writes the gradient [r, c],
// the per-row workspace and the reduced loss.
std::vector<Span> loss_spans(const float* p, Span targets, const float* w, const float* d,
                             index_t r, index_t c, const double* rl, const double* loss) {
  return {{"input", p, floats(r * c)},
          targets,
          {"sample_weight", w, w ? floats(r) : 0},
          {"gradient", d, floats(r * c)},
          {"row_loss", rl, doubles(r)},
          {"loss", loss, doubles(1)}};
}
}  // namespace
void mse_cuda(const float* p, const float* t, const float* w, float* d, index_t r, index_t c,
              Reduction red, double* rl, double* loss, CudaStream s) {
  launch(__func__, s, loss_spans(p, {"targets", t, floats(r * c)}, w, d, r, c, rl, loss));
  *loss = mse_cpu(p, t, w, d, r, c, red, rl);
}
void binary_cross_entropy_cuda(const float* p, const float* t, const float* w, float* d, index_t r,
                               index_t c, Reduction red, double* rl, double* loss, CudaStream s) {
  launch(__func__, s, loss_spans(p, {"targets", t, floats(r * c)}, w, d, r, c, rl, loss));
  *loss = binary_cross_entropy_cpu(p, t, w, d, r, c, red, rl);
}
void softmax_cross_entropy_soft_cuda(const float* p, const float* t, const float* w, float* d,
                                     index_t r, index_t c, Reduction red, double* rl, double* loss,
                                     CudaStream s) {
  launch(__func__, s, loss_spans(p, {"targets", t, floats(r * c)}, w, d, r, c, rl, loss));
  *loss = softmax_cross_entropy_soft_cpu(p, t, w, d, r, c, red, rl);
}
void pair_loss_cuda(PairLoss kind, float param, const float* p, const float* t, const float* w,
                    float* d, index_t r, index_t c, Reduction red, double* rl, double* loss,
                    CudaStream s) {
  launch(__func__, s, loss_spans(p, {"targets", t, floats(r * c)}, w, d, r, c, rl, loss));
  *loss = pair_loss_cpu(kind, param, p, t, w, d, r, c, red, rl);
}
// As loss.cu: a label outside [0, cols) does not throw (a kernel cannot) but flags *bad_label and
// gives its row NaN loss and gradient, so the reduced loss is NaN; the other rows are as usual.
void softmax_cross_entropy_cuda(const float* p, const std::int64_t* l, const float* w, float* d,
                                index_t r, index_t c, Reduction red, double* rl, double* loss,
                                int* bad_label, CudaStream s) {
  launch(__func__, s, loss_spans(p, {"labels", l, int64s(r)}, w, d, r, c, rl, loss));
  std::vector<std::int64_t> safe(l, l + std::max<index_t>(r, 0));
  std::vector<index_t> bad;
  for (index_t i = 0; i < r; ++i) {
    if (l[i] >= 0 && l[i] < c) continue;
    bad.push_back(i);
    safe[static_cast<std::size_t>(i)] = 0;
  }
  *loss = softmax_cross_entropy_cpu(p, safe.data(), w, d, r, c, red, rl);
  if (bad.empty()) return;
  if (bad_label) device_span(__func__, "bad_label", bad_label, sizeof(int));
  for (index_t i : bad) {
    std::fill(d + i * c, d + (i + 1) * c, NAN);
    rl[i] = NAN;
  }
  *loss = NAN;
  if (bad_label) *bad_label = 1;
}

void sgd_step_cuda(float* p, const float* g, float* v, index_t n, double lr, double mom, bool nest,
                   double wd, CudaStream s) {
  if (n <= 0) return;
  launch(__func__, s,
         {{"param", p, floats(n)},
          {"grad", g, floats(n)},
          {"velocity", v, mom != 0.0 && v ? floats(n) : 0}});
  sgd_step_cpu(p, g, v, n, lr, mom, nest, wd);
}
void adam_step_cuda(float* p, const float* g, float* m, float* v, index_t n, std::int64_t step,
                    double lr, double b1, double b2, double eps, double wd, bool dec,
                    CudaStream s) {
  FN_CHECK(step >= 1, "step: expected an int >= 1, got ", step);
  launch(
      __func__, s,
      {{"param", p, floats(n)}, {"grad", g, floats(n)}, {"m", m, floats(n)}, {"v", v, floats(n)}});
  if (n > 0) adam_step_cpu(p, g, m, v, n, step, lr, b1, b2, eps, wd, dec);
}

void optim_rule_step_cuda(const optmath::RuleCoeffs& c, float* p, const float* g, float* s0,
                          float* s1, float* s2, index_t n, CudaStream s) {
  const int states = optmath::rule_states(c.rule);
  launch(__func__, s,
         {{"param", p, floats(n)},
          {"grad", g, floats(n)},
          {"s0", s0, states > 0 ? floats(n) : 0},
          {"s1", s1, states > 1 ? floats(n) : 0},
          {"s2", s2, states > 2 ? floats(n) : 0}});
  optim_rule_step_cpu(c, p, g, s0, s1, s2, n);
}
void ema_update_cuda(float* avg, const float* p, index_t n, double m, CudaStream s) {
  launch(__func__, s, {{"avg", avg, floats(n)}, {"p", p, floats(n)}});
  ema_update_cpu(avg, p, n, m);
}
void penalty_sum_cuda(const float* w, index_t n, double l1, double l2, double* partials,
                      double* out, CudaStream s) {
  launch(__func__, s,
         {{"w", w, floats(n)},
          {"partials", partials, doubles(n == 0 ? 0 : sum_squares_partials(n))},
          {"out", out, doubles(1)}});
  *out = penalty_sum_cpu(w, n, l1, l2);
}
void penalty_grad_cuda(const float* w, float* g, index_t n, float l1, float l2, CudaStream s) {
  launch(__func__, s, {{"w", w, floats(n)}, {"g", g, floats(n)}});
  penalty_grad_cpu(w, g, n, l1, l2);
}
void constrain_cuda(int kind, float* w, index_t rows, index_t cols, float mn, float mx, float rate,
                    CudaStream s) {
  launch(__func__, s, {{"w", w, floats(rows * cols)}});
  constrain_cpu(kind, w, rows, cols, mn, mx, rate);
}
index_t sum_squares_partials(index_t n) { return n <= 0 ? 1 : (n + 8191) / 8192; }
void sum_squares_cuda(const float* x, index_t n, double* partials, double* out, CudaStream s) {
  launch(__func__, s,
         {{"x", x, floats(n)},
          {"partials", partials, doubles(n == 0 ? 0 : sum_squares_partials(n))},
          {"out", out, doubles(1)}});
  *out = sum_squares_cpu(x, n);
}

// net_kernels.cu's own kernels, written out on the host (the same math).
void dropout_mask_cuda(const float* src, float* dst, index_t n, float rate, std::uint64_t key,
                       CudaStream s) {
  launch(__func__, s, {{"src", src, floats(n)}, {"dst", dst, floats(n)}});
  const float scale = 1.0f / (1.0f - rate);
  for (index_t i = 0; i < n; ++i)
    dst[i] = nethash::uniform01(key, static_cast<std::uint64_t>(i)) >= rate ? src[i] * scale : 0.f;
}
void gather_labels_cuda(const std::int64_t* src, const std::int64_t* index, std::int64_t* dst,
                        index_t rows, CudaStream s) {
  launch(__func__, s, {{"index", index, int64s(rows)}, {"dst", dst, int64s(rows)}});
  for (index_t i = 0; i < rows; ++i) {
    device_span(__func__, "src", src + index[i], int64s(1));
    dst[i] = src[index[i]];
  }
}
void metric_rows_cuda(int kind, const float* pred, float thr, const std::int64_t* labels,
                      const float* targets, double* out, index_t rows, index_t cols, int k,
                      CudaStream s) {
  if (rows <= 0) return;
  launch(__func__, s,
         {{"pred", pred, floats(rows * cols)},
          {"labels", labels, labels ? int64s(rows) : 0},
          {"targets", targets, targets ? floats(rows * cols) : 0},
          {"out", out, doubles(rows)}});
  for (index_t i = 0; i < rows; ++i)
    out[i] = metricmath::metric_row(kind, pred + i * cols, thr, labels ? labels[i] : 0,
                                    targets ? targets + i * cols : nullptr, cols, 0.0, k);
}
void metric_state_cuda(const metricmath::MetricParams& p, const float* pred, const float* targets,
                       double* row_ws, double* out, index_t width, index_t rows, index_t cols,
                       CudaStream s) {
  if (width <= 0) return;
  launch(__func__, s,
         {{"pred", pred, floats(rows * cols)},
          {"targets", targets, floats(rows * cols)},
          {"row_ws", row_ws, doubles(rows)},
          {"out", out, doubles(width)},
          {"thresholds", p.thresholds, p.evenly ? 0 : floats(p.num_thresholds)}});
  metric_state_cpu(p, pred, targets, nullptr, rows, cols, out, width);
}

}  // namespace fusednet
