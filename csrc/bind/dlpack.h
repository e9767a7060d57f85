// CUDA arrays from other libraries (PyTorch, CuPy, JAX) through DLPack, so ops(device="cuda") run
// on their device memory: no host round trip. Host arrays never come here: the Python layer views
// them as NumPy arrays (np.from_dlpack), which the bindings already take.
//
// DLPackArray(obj, name) calls obj.__dlpack__(stream=1, max_version=(1, 0)) (stream 1: the legacy
// default stream, the one the CUDA column launches on, so the producer orders its pending work
// before ours) and keeps the capsule for the call: the capsule is not consumed, so the producer's
// capsule destructor releases the export when the DLPackArray is collected. f32_view takes it like
// a NumPy array (F32View::on_device), and bind/cuda_column.h then uses the pointer in place.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace fusednet {
namespace py = pybind11;

// The DLPack ABI (dlpack.h, v0.8 and v1.0), the parts read here.
namespace dl {
struct Device {
  std::int32_t device_type;
  std::int32_t device_id;
};
struct DataType {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};
struct Tensor {
  void* data;
  Device device;
  std::int32_t ndim;
  DataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;  // in elements; null for compact row-major
  std::uint64_t byte_offset;
};
struct ManagedTensor {
  Tensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(ManagedTensor*);
};
struct Version {
  std::uint32_t major;
  std::uint32_t minor;
};
struct ManagedTensorVersioned {
  Version version;
  void* manager_ctx;
  void (*deleter)(ManagedTensorVersioned*);
  std::uint64_t flags;
  Tensor dl_tensor;
};
constexpr std::int32_t kCPU = 1, kCUDA = 2, kCUDAManaged = 13;
constexpr std::uint8_t kFloat = 2;
constexpr std::uint64_t kFlagReadOnly = 1;
}  // namespace dl

// A CUDA DLPack export held for one call: pointer, shape, element strides, read-only flag.
struct DLPackArray {
  py::object capsule;
  float* data = nullptr;
  std::vector<index_t> shape, strides;
  bool read_only = false;
  int device_type = 0, device_id = 0;

  DLPackArray(const py::object& obj, const std::string& name);
  py::tuple shape_tuple() const;
};

void bind_dlpack(py::module_& m);

}  // namespace fusednet
