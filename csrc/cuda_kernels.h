// The CUDA kernel interface: the device twins of csrc/kernels.h, on DEVICE pointers.
// Plain C++ (no CUDA headers), so bindings and Net can call it; implemented in cuda/*.cu and only
// linked when FUSEDNET_WITH_CUDA is defined.
//
// Conventions shared by every launcher:
// - pointers are device pointers; sizes are 64-bit; a size of 0 launches nothing;
// - `stream` is a cudaStream_t (nullptr = the legacy default stream); launches are asynchronous
//   and checked at once (a bad configuration throws std::runtime_error with CUDA's message);
// - no launcher allocates: scratch space is passed in, so a Net can keep it in its arena (one
//   exception: gemm_cuda's split-K workspace, below);
// - reductions run in a fixed order (no float atomics), so results are bit-reproducible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "common.h"
#include "kernels.h"

struct CUstream_st;  // what cudaStream_t points to
struct CUevent_st;   // what cudaEvent_t points to

namespace fusednet {

using CudaStream = CUstream_st*;
using CudaEvent = CUevent_st*;

// ---- device memory (cuda/memory.cu) --------------------------------------------------------------
// Throws std::runtime_error("CUDA not available: <reason>") when there is no usable device.
void require_cuda_device();
// cudaMalloc that fails with "CUDA out of memory: tried to allocate X MiB, Y MiB free of Z MiB".
void* cuda_malloc(std::size_t bytes);
void cuda_free(void* ptr) noexcept;
void copy_host_to_device(void* dst, const void* src, std::size_t bytes, CudaStream stream = nullptr);
void copy_device_to_host(void* dst, const void* src, std::size_t bytes, CudaStream stream = nullptr);
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

// dst[i, :] = src[index[i], :] for i < rows, rows of `cols` floats (a shuffled mini-batch from a
// data set resident on the device). Indices must be in range (the caller draws them).
void gather_rows_cuda(const float* src, const std::int64_t* index, float* dst, index_t rows,
                      index_t cols, CudaStream stream = nullptr);

// Owns one cudaMalloc'ed block; move-only. An empty buffer (0 bytes) holds nullptr.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes) : ptr_(bytes ? cuda_malloc(bytes) : nullptr), bytes_(bytes) {}
  ~DeviceBuffer() { cuda_free(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
    o.ptr_ = nullptr;
    o.bytes_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      cuda_free(ptr_);
      ptr_ = o.ptr_;
      bytes_ = o.bytes_;
      o.ptr_ = nullptr;
      o.bytes_ = 0;
    }
    return *this;
  }
  void* data() const { return ptr_; }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// ---- streams, events, page-locked host memory (cuda/memory.cu) -------------------------------------
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
void host_free(void* ptr, bool pinned) noexcept;
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

class HostBuffer {  // page-locked when the driver allows (host_alloc)
 public:
  HostBuffer() = default;
  explicit HostBuffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes) ptr_ = host_alloc(bytes, &pinned_);
  }
  ~HostBuffer() { host_free(ptr_, pinned_); }
  HostBuffer(HostBuffer&& o) noexcept { swap(o); }
  HostBuffer& operator=(HostBuffer&& o) noexcept {
    swap(o);
    return *this;
  }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }
  std::size_t bytes() const { return bytes_; }

 private:
  void swap(HostBuffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
    std::swap(pinned_, o.pinned_);
  }
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  bool pinned_ = false;
};

// ---- float32 matmul precision (process-wide, like torch.set_float32_matmul_precision) -----------
// "highest": exact FP32 (default). "high": TF32 tensor cores (sm_80+) for gemm_cuda.
// Defined in bind_cuda.cpp, so it exists with or without CUDA.
void set_float32_matmul_precision_high(bool high);
bool float32_matmul_precision_high();

// ---- gemm (cuda/gemm.cu) ----------------------------------------------------------------------------
// C = act(alpha * A @ B + beta * C + bias), strides in elements as in gemm_cpu (A [M, K] with
// (rs_a, cs_a), ...). beta == 0 never reads C. Fast paths need one unit stride per operand (any
// of the four transpose forms); other strides take a correct, slower path. allow_tf32 selects the
// tensor-core kernel on sm_80+ (10-bit mantissa inputs, FP32 accumulation).
// An exact-FP32 product with too few output tiles for the device and a long K (a training step's
// dW = x^T dz) on the legacy default stream splits K: slices into slabs of a per-device workspace
// that gemm_cuda allocates on first need and keeps (at most 64 MiB), summed in slice order by a
// second kernel -- deterministic, and equal to the unsplit product up to rounding.
void gemm_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
               index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
               index_t rs_c, index_t cs_c, const Epilogue& epilogue, bool allow_tf32 = false,
               CudaStream stream = nullptr);
// Which kernel gemm_cuda runs for TF32 (process-wide, for benchmarks and tests): 0 automatic
// (sgemm_tf32_v2_kernel when both operands are cp.async-able, else sgemm_tf32_kernel), 1 always
// sgemm_tf32_kernel, 2 / 3 v2 with 128x128 / 128x256 tiles where v2 applies. -1 only queries.
// Returns the previous value.
int set_gemm_cuda_tf32_kernel(int kernel);
// Whether gemm_cuda may split K (1, the default; FUSEDNET_GEMM_SPLIT_K=0 starts it off) or not (0);
// -1 only queries. Returns the previous value.
int set_gemm_cuda_split_k(int enabled);
// Naive one-thread-per-output kernel with double accumulation: the device ground truth.
void gemm_ref_cuda(index_t M, index_t N, index_t K, float alpha, const float* A, index_t rs_a,
                   index_t cs_a, const float* B, index_t rs_b, index_t cs_b, float beta, float* C,
                   index_t rs_c, index_t cs_c, const Epilogue& epilogue,
                   CudaStream stream = nullptr);

// ---- activations (cuda/activation.cu) -------------------------------------------------------------
void activation_forward_cuda(Activation act, float param, const float* x, float* y, index_t n,
                             CudaStream stream = nullptr);
void activation_backward_cuda(Activation act, float param, const float* dy, const float* x,
                              float* dx, index_t n, CudaStream stream = nullptr);
void activation_backward_from_output_cuda(Activation act, float param, const float* dy,
                                          const float* y, float* dx, index_t n,
                                          CudaStream stream = nullptr);
void softmax_forward_cuda(const float* x, float* y, index_t rows, index_t cols, bool log,
                          CudaStream stream = nullptr);
void softmax_backward_cuda(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                           bool log, CudaStream stream = nullptr);

// ---- reductions (cuda/reduce.cu) ----------------------------------------------------------------------
// db[j] = sum_i dy[i, j] over contiguous [rows, cols], in a fixed order.
void bias_grad_cuda(const float* dy, float* db, index_t rows, index_t cols,
                    CudaStream stream = nullptr);
void argmax_rows_cuda(const float* x, std::int64_t* out, index_t rows, index_t cols,
                      CudaStream stream = nullptr);
// correct[i] = 1.0 when the first argmax of logits row i equals labels[i], else 0.0 (a Net sums
// them with sum_doubles_cuda for the epoch's accuracy, without a host round trip per batch).
void correct_rows_cuda(const float* logits, const std::int64_t* labels, double* correct,
                       index_t rows, index_t cols, CudaStream stream = nullptr);
// *out = scale * sum_i values[i] (in double), one block, fixed order: the loss mean/sum.
void sum_doubles_cuda(const double* values, index_t n, double scale, double* out,
                      CudaStream stream = nullptr);

// ---- losses (cuda/loss.cu) ---------------------------------------------------------------------------
// Same math as the *_cpu losses. The reduced loss is written to *loss (device double) so a training
// loop never has to synchronise; row_loss is a device workspace of `rows` doubles.
// For the integer-label loss, labels outside [0, cols) set *bad_label (device int, may be nullptr)
// to 1 and give that row a NaN loss; callers validate labels on the host where they can.
void mse_cuda(const float* pred, const float* target, const float* sample_weight, float* dpred,
              index_t rows, index_t cols, Reduction reduction, double* row_loss, double* loss,
              CudaStream stream = nullptr);
void binary_cross_entropy_cuda(const float* logits, const float* targets,
                               const float* sample_weight, float* dlogits, index_t rows,
                               index_t cols, Reduction reduction, double* row_loss, double* loss,
                               CudaStream stream = nullptr);
void softmax_cross_entropy_cuda(const float* logits, const std::int64_t* labels,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss, double* loss,
                                int* bad_label = nullptr, CudaStream stream = nullptr);
void softmax_cross_entropy_soft_cuda(const float* logits, const float* targets,
                                     const float* sample_weight, float* dlogits, index_t rows,
                                     index_t cols, Reduction reduction, double* row_loss,
                                     double* loss, CudaStream stream = nullptr);

// ---- optimizers (cuda/optim.cu): one launch over n contiguous floats -----------------------------------
void sgd_step_cuda(float* param, const float* grad, float* velocity, index_t n, float lr,
                   float momentum, bool nesterov, float weight_decay, CudaStream stream = nullptr);
void adam_step_cuda(float* param, const float* grad, float* m, float* v, index_t n,
                    std::int64_t step, float lr, float beta1, float beta2, float eps,
                    float weight_decay, bool decoupled, CudaStream stream = nullptr);

}  // namespace fusednet
