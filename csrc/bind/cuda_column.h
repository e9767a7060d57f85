// The CUDA column of the op bindings: each bind_<family>.cpp checks its arguments once, then calls
// the CPU kernel or, for Device::Cuda, runs a body that uploads the arrays, launches the CUDA
// launcher and downloads the results. A convenience for ops(device="cuda") and the tests, not a
// fast path (a Net keeps its data on the device).
//
// CUDA DLPack arrays (F32View::on_device) are used where they are: upload and alloc_like hand out
// their pointer, download leaves them; device_args() checks a call's views first (all on the
// device or none, C-contiguous, never on the CPU column). Kernels that work in place on an uploaded
// copy write a device view's output through out_ptr(), never over an input.
//
// on_cuda(body) releases the GIL, checks for a usable device and calls body(0), then waits for the
// legacy default stream (results in another library's memory are complete on return). The body is a
// generic lambda ([&](auto) { ... }), so without CUDA compiled in it is never instantiated: nothing
// it calls needs linking, and on_cuda throws "CUDA not compiled: ..." instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bind/util.h"
#include "runtime/cuda_device.h"
#include "runtime/cuda_memory.h"

namespace fusednet {

template <typename Body>
void on_cuda(Body&& body) {
#ifdef FUSEDNET_WITH_CUDA
  py::gil_scoped_release release;
  require_cuda_device();  // "CUDA not available: <reason>"
  body(0);
  stream_synchronize();
#else
  throw_cuda_not_compiled();
#endif
}

// For the process-wide CUDA settings (kernel choices), which need CUDA compiled in but no device.
template <typename Body>
void cuda_setting(Body&& body) {
#ifdef FUSEDNET_WITH_CUDA
  body(0);
#else
  throw_cuda_not_compiled();
#endif
}

// misalign: a CUDA test hook. cudaMalloc aligns to 256 bytes, so every upload takes the kernels'
// float4 paths; misalign = 1..3 starts the data that many floats later, through their scalar paths.
inline void check_misalign(int misalign, Device device) {
  FN_CHECK(misalign >= 0 && misalign <= 3, "misalign: expected 0..3 floats, got ", misalign);
  FN_CHECK(misalign == 0 || device == Device::Cuda,
           "misalign: a CUDA test hook, expected 0 on the CPU, got ", misalign);
}

// ---- host <-> device copies of F32Views ---------------------------------------------------------

inline std::size_t nbytes(const F32View& v) {
  return static_cast<std::size_t>(v.size) * sizeof(float);
}

// Copies between a view of any strides and a dense buffer holding its elements in C order.
inline void strided_copy(const F32View& v, float* dense, bool to_dense) {
  std::vector<index_t> idx(static_cast<std::size_t>(v.ndim()), 0);
  index_t off = 0;  // of the current element, in floats from v.data
  for (index_t i = 0; i < v.size; ++i) {
    if (to_dense) dense[i] = v.data[off];
    else v.data[off] = dense[i];
    for (int d = v.ndim() - 1; d >= 0; --d) {  // the next index, last axis fastest
      off += v.stride(d);
      if (++idx[static_cast<std::size_t>(d)] < v.dim(d)) break;
      off -= v.stride(d) * v.dim(d);
      idx[static_cast<std::size_t>(d)] = 0;
    }
  }
}

// A device copy of a view's elements in C order (dense), `misalign` floats into its allocation.
// An absent optional (data == nullptr) gives ptr == nullptr.
struct DeviceArray {
  DeviceBuffer buf;
  float* ptr = nullptr;
};

// A call's array views: (name, view) pairs, absent optionals (data == nullptr) skipped. True when
// they are CUDA DLPack arrays, which must then all be, C-contiguous, on the CUDA column.
inline bool device_args(Device device,
                        std::initializer_list<std::pair<const char*, const F32View*>> views) {
  const char* dev_name = nullptr;
  const char* host_name = nullptr;
  for (const auto& [name, v] : views) {
    if (!v->data && !v->on_device) continue;  // an absent optional
    const char*& first = v->on_device ? dev_name : host_name;
    if (!first) first = name;
    if (v->on_device && !v->contiguous)
      throw py::value_error(std::string(name) +
                            ": expected a C-contiguous CUDA array (used in place), got strides " +
                            shape_str(v->strides) + " for shape " + shape_str(v->shape));
  }
  if (!dev_name) return false;
  if (device == Device::Cpu)
    throw py::value_error(std::string(dev_name) +
                          ": a CUDA array, expected host memory with device=cpu");
  if (host_name)
    throw py::value_error(std::string(host_name) + ": expected a CUDA array like " + dev_name +
                          ", got host memory");
  return true;
}

inline DeviceArray alloc_like(const F32View& v, int misalign = 0) {
  DeviceArray d;
  if (v.on_device) {  // the caller's device memory, not ours to free
    d.ptr = v.data;
    return d;
  }
  if (!v.data) return d;
  d.buf = DeviceBuffer(nbytes(v) + static_cast<std::size_t>(misalign) * sizeof(float));
  d.ptr = d.buf.as<float>() ? d.buf.as<float>() + misalign : nullptr;
  return d;
}

inline DeviceArray upload(const F32View& v, int misalign = 0) {
  DeviceArray d = alloc_like(v, misalign);
  if (!d.ptr || v.on_device) return d;
  if (v.contiguous) {
    copy_host_to_device(d.ptr, v.data, nbytes(v));
  } else {
    std::vector<float> host(static_cast<std::size_t>(v.size));
    strided_copy(v, host.data(), true);
    copy_host_to_device(d.ptr, host.data(), nbytes(v));
  }
  return d;
}

// Where a kernel that would write over the uploaded copy `scratch` writes `out` instead: out's own
// memory when it is a device view (the caller's input is never written), else scratch.
inline float* out_ptr(const F32View& out, const DeviceArray& scratch) {
  return out.on_device ? out.data : scratch.ptr;
}

inline void download(const F32View& v, const DeviceArray& d) {
  if (!d.ptr || v.on_device) return;
  if (v.contiguous) {
    copy_device_to_host(v.data, d.ptr, nbytes(v));
  } else {
    std::vector<float> host(static_cast<std::size_t>(v.size));
    copy_device_to_host(host.data(), d.ptr, nbytes(v));
    strided_copy(v, host.data(), false);
  }
}

// n elements of T on the device (labels, indices, per-row doubles), uploaded from host when given.
template <typename T>
DeviceBuffer device_buffer(index_t n, const T* host = nullptr) {
  DeviceBuffer d(static_cast<std::size_t>(n) * sizeof(T));
  if (host && n > 0) copy_host_to_device(d.data(), host, d.bytes());
  return d;
}

}  // namespace fusednet
