// CUDA-side helpers shared by every kernel file: error checks that throw with CUDA's message.
#pragma once

#include <cuda_runtime.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace fusednet {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file,
                                          int line) {
  std::ostringstream os;
  os << "CUDA error in " << what << " (" << file << ":" << line << "): " << cudaGetErrorName(err)
     << ": " << cudaGetErrorString(err);
  throw std::runtime_error(os.str());
}

}  // namespace fusednet

// Any CUDA error becomes a std::runtime_error (RuntimeError in Python) carrying CUDA's message.
#define CUDA_CHECK(expr)                                                        \
  do {                                                                          \
    cudaError_t fn_err_ = (expr);                                               \
    if (fn_err_ != cudaSuccess) ::fusednet::throw_cuda_error(fn_err_, #expr, __FILE__, __LINE__); \
  } while (0)

// After a launch: catches bad configurations at once (asynchronous faults surface at the next sync).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
