// CUDA-side helpers shared by every .cu file: error checks that throw with CUDA's message, and
// the runtime's view of a CudaStream.
#pragma once

#include <cuda_runtime.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "runtime/cuda_memory.h"

namespace fusednet {

// runtime/cuda_memory.h names the stream without CUDA's headers; this is the cudaStream_t the
// runtime API takes (nullptr: the legacy default stream).
inline cudaStream_t as_stream(CudaStream s) { return reinterpret_cast<cudaStream_t>(s); }

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file,
                                          int line) {
  std::ostringstream os;
  os << "CUDA error in " << what << " (" << file << ":" << line << "): " << cudaGetErrorName(err)
     << ": " << cudaGetErrorString(err);
  throw std::runtime_error(os.str());
}

}  // namespace fusednet

// Any CUDA error becomes a std::runtime_error (RuntimeError in Python) carrying CUDA's message.
#define CUDA_CHECK(expr)                                                                          \
  do {                                                                                            \
    cudaError_t fn_err_ = (expr);                                                                 \
    if (fn_err_ != cudaSuccess) ::fusednet::throw_cuda_error(fn_err_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a launch: catches bad configurations at once (asynchronous faults surface at the next sync).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
