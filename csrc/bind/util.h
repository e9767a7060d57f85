// Argument checks shared by the bindings: dtype, rank, shape, layout. Messages name the argument,
// what was expected and what came. No arithmetic here.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bind/dlpack.h"
#include "common.h"
#include "kernels/types.h"

namespace fusednet {
namespace py = pybind11;

// A float32 NumPy array (or a CUDA DLPack export: on_device) seen as pointer + shape + element
// strides (any layout, no copy).
struct F32View {
  float* data = nullptr;
  std::vector<index_t> shape;
  std::vector<index_t> strides;  // in elements
  index_t size = 1;
  bool contiguous = true;        // C-contiguous
  bool on_device = false;        // CUDA memory (bind/dlpack.h): used in place by the CUDA column
  index_t dim(int i) const { return shape[static_cast<size_t>(i)]; }
  index_t stride(int i) const { return strides[static_cast<size_t>(i)]; }
  int ndim() const { return static_cast<int>(shape.size()); }
};

inline std::string shape_str(const std::vector<index_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) s += ",";
    if (i + 1 < shape.size()) s += " ";
  }
  return s + ")";
}

// A CUDA DLPack export's view; `writable` refuses a read-only export.
inline F32View dlpack_view(const DLPackArray& d, const char* name, bool writable) {
  if (writable && d.read_only)
    throw py::value_error(std::string(name) +
                          ": expected a writable array, got a read-only DLPack export");
  F32View v;
  v.data = d.data;
  v.shape = d.shape;
  v.strides = d.strides;
  v.on_device = true;
  index_t expect = 1;
  for (int i = v.ndim() - 1; i >= 0; --i) {
    if (v.dim(i) != 1 && v.stride(i) != expect) v.contiguous = false;
    expect *= v.dim(i);
  }
  v.size = expect;
  if (v.size == 0) v.contiguous = true;
  return v;
}

// The kernels read and write floats (int64 labels) at addresses that are multiples of their size:
// an array at an odd byte offset (a view into a uint8 buffer) is refused here, and the Python
// layer (fusednet.ops, the model) passes an aligned copy of it instead.
inline void require_aligned(const py::array& a, const char* name) {
  const auto addr = reinterpret_cast<std::uintptr_t>(a.data());
  const auto item = static_cast<std::uintptr_t>(a.itemsize());
  if (a.size() > 0 && item > 0 && addr % item != 0)
    throw py::value_error(std::string(name) +
                          ": expected an aligned array (data at a multiple of " +
                          std::to_string(item) + " bytes), got one offset by " +
                          std::to_string(addr % item) + " bytes; pass a copy (numpy.array(x))");
}

// TypeError unless `a` is a float32 ndarray; ValueError for a byte stride that is not a whole
// number of floats; `writable` also demands a writable array.
inline F32View f32_view(const py::handle& obj, const char* name, bool writable = false) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy.ndarray of float32, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>()))
    throw py::type_error(std::string(name) + ": expected dtype float32, got " +
                         std::string(py::str(a.dtype())));
  if (writable && !a.writeable())
    throw py::value_error(std::string(name) + ": expected a writable array, got a read-only one");
  F32View v;
  v.data = static_cast<float*>(const_cast<void*>(a.data()));
  require_aligned(a, name);
  index_t expect = 1;
  for (int i = a.ndim() - 1; i >= 0; --i) {
    index_t n = static_cast<index_t>(a.shape(i));
    index_t sb = static_cast<index_t>(a.strides(i));
    if (sb % static_cast<index_t>(sizeof(float)) != 0)
      throw py::value_error(std::string(name) + ": byte stride " + std::to_string(sb) +
                            " is not a multiple of 4");
    index_t s = sb / static_cast<index_t>(sizeof(float));
    if (n != 1 && s != expect) v.contiguous = false;
    expect *= n;
    v.size *= n;
    v.shape.insert(v.shape.begin(), n);
    v.strides.insert(v.strides.begin(), s);
  }
  if (v.size == 0) v.contiguous = true;  // NumPy gives empty arrays arbitrary (often 0) strides
  return v;
}

// f32_view, or a CUDA DLPackArray's (on_device), for the bindings whose CUDA column takes device
// memory in place (they check with device_args, bind/cuda_column.h); the others take NumPy only.
inline F32View any_view(const py::handle& obj, const char* name, bool writable = false) {
  if (py::isinstance<DLPackArray>(obj))
    return dlpack_view(obj.cast<const DLPackArray&>(), name, writable);
  return f32_view(obj, name, writable);
}

inline void require_ndim(const F32View& v, int ndim, const char* name) {
  if (v.ndim() != ndim)
    throw py::value_error(std::string(name) + ": expected a " + std::to_string(ndim) +
                          "-D array, got " + std::to_string(v.ndim()) + "-D with shape " +
                          shape_str(v.shape));
}

inline void require_contiguous(const F32View& v, const char* name) {
  if (!v.contiguous) throw py::value_error(std::string(name) + ": expected a C-contiguous array");
}

inline void require_shape(const F32View& v, const std::vector<index_t>& shape, const char* name) {
  if (v.shape != shape)
    throw py::value_error(std::string(name) + ": expected shape " + shape_str(shape) + ", got " +
                          shape_str(v.shape));
}

// A C-contiguous float32 array, for the kernels that read dense memory (writable for outputs).
inline F32View dense_view(const py::handle& obj, const char* name, bool writable = false) {
  F32View v = f32_view(obj, name, writable);
  require_contiguous(v, name);
  return v;
}

inline F32View any_dense_view(const py::handle& obj, const char* name, bool writable = false) {
  F32View v = any_view(obj, name, writable);
  require_contiguous(v, name);
  return v;
}

// The activations a kernel applies elementwise: all but the row-wise softmax.
inline Activation require_elementwise(Activation act, const char* name) {
  if (!is_elementwise(act))
    throw py::value_error(std::string(name) +
                          ": expected an elementwise activation (any but softmax), got "
                          "softmax (row-wise)");
  return act;
}

// One registration function per op family, each in its own bind_<family>.cpp; an op family binds
// its CPU and CUDA entry points side by side (bind/cuda_column.h).
void bind_types(py::module_& m);  // the enums; registered first
void bind_runtime(py::module_& m);  // ISA, threads, precision, CUDA device facts and memory
void bind_gemm(py::module_& m);
void bind_bf16(py::module_& m);  // the bf16 CPU gemm: precision report, test hooks
void bind_activation(py::module_& m);  // elementwise activations and softmax
void bind_reduce(py::module_& m);      // bias_grad, argmax_rows
void bind_norm(py::module_& m);        // batch / layer normalization
void bind_loss(py::module_& m);
void bind_optim(py::module_& m);
void bind_metric(py::module_& m);  // MetricSpec and the metric objects' kernels
void bind_net(py::module_& m);
void bind_dist(py::module_& m);  // fusednet.distributed's shared-memory sum and barrier
// bind_dlpack (bind/dlpack.h): DLPackArray, CudaArray

}  // namespace fusednet
