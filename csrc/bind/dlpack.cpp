// DLPack for the CUDA column (bind/dlpack.h): DLPackArray reads a CUDA export from another library;
// CudaArray is a float32 device buffer of our own that exports itself, for tests (on the host
// mock, whose "device" memory only our allocator hands out) and the GPU checks.
#include "bind/dlpack.h"

#include <pybind11/stl.h>

#include <cstring>

#include "bind/cuda_column.h"
#include "bind/util.h"

namespace fusednet {

namespace {

std::string dtype_str(const dl::DataType& t) {
  return "DLPack dtype (code " + std::to_string(t.code) + ", bits " + std::to_string(t.bits) +
         ", lanes " + std::to_string(t.lanes) + ")";
}

// obj.__dlpack__ on the legacy default stream, as a v1.0 export when the producer has it.
py::object export_capsule(const py::object& obj) {
  try {
    return obj.attr("__dlpack__")(py::arg("stream") = 1,
                                  py::arg("max_version") = py::make_tuple(1, 0));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;  // a producer from before max_version
  }
  return obj.attr("__dlpack__")(py::arg("stream") = 1);
}

}  // namespace

DLPackArray::DLPackArray(const py::object& obj, const std::string& name) {
  if (!py::hasattr(obj, "__dlpack__") || !py::hasattr(obj, "__dlpack_device__"))
    throw py::type_error(name + ": expected a CUDA array with __dlpack__, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  const py::tuple dev = obj.attr("__dlpack_device__")();
  device_type = py::int_(dev[0]).cast<int>();
  device_id = py::int_(dev[1]).cast<int>();
  if (device_type != dl::kCUDA && device_type != dl::kCUDAManaged)
    throw py::value_error(name +
                          ": expected a CUDA array (DLPack device type 2 or 13), got "
                          "device type " +
                          std::to_string(device_type));
  capsule = export_capsule(obj);
  const char* cname = PyCapsule_GetName(capsule.ptr());
  const dl::Tensor* t = nullptr;
  if (cname && std::strcmp(cname, "dltensor_versioned") == 0) {
    auto* mt = static_cast<dl::ManagedTensorVersioned*>(PyCapsule_GetPointer(capsule.ptr(), cname));
    if (!mt) throw py::error_already_set();
    if (mt->version.major != 1)
      throw py::value_error(name + ": expected a DLPack 1.x export, got version " +
                            std::to_string(mt->version.major));
    read_only = (mt->flags & dl::kFlagReadOnly) != 0;
    t = &mt->dl_tensor;
  } else if (cname && std::strcmp(cname, "dltensor") == 0) {
    auto* mt = static_cast<dl::ManagedTensor*>(PyCapsule_GetPointer(capsule.ptr(), cname));
    if (!mt) throw py::error_already_set();
    t = &mt->dl_tensor;
  } else {
    throw py::type_error(name + ": __dlpack__ returned a capsule named '" +
                         std::string(cname ? cname : "") + "', expected 'dltensor'");
  }
  if (t->dtype.code != dl::kFloat || t->dtype.bits != 32 || t->dtype.lanes != 1)
    throw py::type_error(name + ": expected dtype float32, got " + dtype_str(t->dtype));
  if (t->device.device_type != device_type)
    throw py::value_error(name + ": the export's device differs from __dlpack_device__");
  data = reinterpret_cast<float*>(static_cast<char*>(t->data) + t->byte_offset);
  shape.assign(t->shape, t->shape + t->ndim);
  strides.resize(static_cast<size_t>(t->ndim));
  index_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; --i) {
    strides[static_cast<size_t>(i)] = t->strides ? t->strides[i] : expect;
    expect *= shape[static_cast<size_t>(i)];
  }
}

py::tuple DLPackArray::shape_tuple() const {
  py::tuple s(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) s[i] = py::int_(shape[i]);
  return s;
}

namespace {

// A C-contiguous float32 buffer in device memory that exports itself through DLPack; every export
// keeps the Python object (and so the buffer) alive until the consumer deletes it.
struct CudaArray {
  std::vector<index_t> shape;
  index_t size = 1;
  bool read_only = false;
  DeviceBuffer buf;

  CudaArray(const std::vector<index_t>& shape_, bool read_only_)
      : shape(shape_), read_only(read_only_) {
    for (index_t n : shape) {
      FN_CHECK(n >= 0, "shape: expected sizes >= 0, got ", n);
      size *= n;
    }
    on_cuda([&](auto) { buf = DeviceBuffer(static_cast<std::size_t>(size) * sizeof(float)); });
  }
  float* data() const { return buf.as<float>(); }
};

struct Export {
  std::vector<std::int64_t> shape;
  PyObject* owner;
};

template <typename Managed>
void delete_export(Managed* mt) {
  auto* ex = static_cast<Export*>(mt->manager_ctx);
  {
    py::gil_scoped_acquire gil;
    Py_DECREF(ex->owner);
  }
  delete ex;
  delete mt;
}

template <typename Managed>
void capsule_destructor(PyObject* cap) {  // an export nobody consumed
  const char* name =
      std::is_same<Managed, dl::ManagedTensor>::value ? "dltensor" : "dltensor_versioned";
  if (!PyCapsule_IsValid(cap, name)) return;  // consumed: renamed "used_dltensor..."
  auto* mt = static_cast<Managed*>(PyCapsule_GetPointer(cap, name));
  mt->deleter(mt);
}

template <typename Managed>
py::capsule make_export(const py::object& self, const CudaArray& a) {
  auto* mt = new Managed{};
  auto* ex = new Export{{a.shape.begin(), a.shape.end()}, self.ptr()};
  Py_INCREF(self.ptr());
  mt->manager_ctx = ex;
  mt->deleter = &delete_export<Managed>;
  dl::Tensor& t = mt->dl_tensor;
  t.data = a.data();
  t.device = {dl::kCUDA, 0};
  t.ndim = static_cast<std::int32_t>(a.shape.size());
  t.dtype = {dl::kFloat, 32, 1};
  t.shape = ex->shape.data();
  t.strides = nullptr;
  t.byte_offset = 0;
  if constexpr (std::is_same<Managed, dl::ManagedTensorVersioned>::value) {
    mt->version = {1, 0};
    mt->flags = a.read_only ? dl::kFlagReadOnly : 0;
    return py::capsule(mt, "dltensor_versioned", &capsule_destructor<Managed>);
  } else {
    return py::capsule(mt, "dltensor", &capsule_destructor<Managed>);
  }
}

}  // namespace

void bind_dlpack(py::module_& m) {
  using py::arg;
  py::class_<DLPackArray>(m, "DLPackArray",
                          "A CUDA array's DLPack export held for one call (ops, device='cuda').")
      .def(py::init<const py::object&, const std::string&>(), arg("obj"), arg("name") = "array")
      .def_property_readonly("shape", &DLPackArray::shape_tuple)
      .def_readonly("read_only", &DLPackArray::read_only)
      .def_readonly("device_id", &DLPackArray::device_id);

  py::class_<CudaArray>(m, "CudaArray",
                        "A float32 C-contiguous device buffer exported through DLPack (tests).")
      .def(py::init<const std::vector<index_t>&, bool>(), arg("shape"), arg("read_only") = false)
      .def_property_readonly("shape",
                             [](const CudaArray& a) {
                               py::tuple s(a.shape.size());
                               for (size_t i = 0; i < a.shape.size(); ++i)
                                 s[i] = py::int_(a.shape[i]);
                               return s;
                             })
      .def(
          "copy_from",
          [](CudaArray& a, py::handle host) {
            const F32View v = dense_view(host, "host");
            require_shape(v, a.shape, "host");
            on_cuda([&](auto) { copy_host_to_device(a.data(), v.data, nbytes(v)); });
          },
          arg("host"), "Copies a C-contiguous float32 host array of this shape in.")
      .def(
          "numpy",
          [](const CudaArray& a) {
            py::array_t<float> out(a.shape);
            const F32View v = dense_view(out, "out", true);
            on_cuda([&](auto) { copy_device_to_host(v.data, a.data(), nbytes(v)); });
            return out;
          },
          "A host copy.")
      .def("__dlpack_device__", [](const CudaArray&) { return py::make_tuple(dl::kCUDA, 0); })
      .def(
          "__dlpack__",
          [](py::object self, py::object stream, py::object max_version, py::object dl_device,
             py::object copy) -> py::object {  // (a capsule; object keeps the stub plain)
            const CudaArray& a = self.cast<const CudaArray&>();
            const bool v1 = !max_version.is_none() && py::int_(max_version[py::int_(0)]) >= 1;
            if (v1) return make_export<dl::ManagedTensorVersioned>(self, a);
            if (a.read_only)  // a legacy export cannot say so
              throw py::buffer_error("cannot export a read-only array without DLPack 1.0");
            return make_export<dl::ManagedTensor>(self, a);
          },
          py::kw_only(), arg("stream") = py::none(), arg("max_version") = py::none(),
          arg("dl_device") = py::none(), arg("copy") = py::none());
}

}  // namespace fusednet
