// Bindings of the gemm family, CPU and CUDA side by side: check arguments, allocate the output,
// release the GIL, call gemm_cpu or (device=Device.cuda) upload, gemm_cuda, download.
//   gemm(a, b, out, trans_a, trans_b, alpha, beta, device=cpu) -> out   (ops.matmul)
//   linear(x, w, b, out, act, act_param, device=cpu) -> out   (ops.linear, w is (in, out))
//   gemm_ex(a, b, out, trans_a=False, trans_b=False, alpha=1, beta=0, bias=None, act=linear,
//           act_param=0, device=cpu) -> out       act(alpha op(a) op(b) + beta out + bias)
//   gemm_ref(...)            the naive double-accumulating reference, same arguments as gemm_ex
//   CPU only: fp32_peak_gflops(threads, isa=None), gemm_blocking(isa=None), _gemm_split_n,
//   _gemm_small_plan, _gemm_tuning. CUDA only (tests, bench/gpu_bench.py): _gemm_cuda_tf32_kernel,
//   _gemm_cuda_split_k, _cuda_gemm_raw, cuda_bench_gemm.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "bind/cuda_column.h"
#include "bind/util.h"
#include "kernels/cpu.h"
#include "kernels/cpu/gemm_kernels.h"
#include "kernels/cuda.h"
#include "runtime/isa.h"
#include "runtime/precision.h"

namespace fusednet {
namespace {

// [lowest, highest] byte touched by a view (empty for zero-size).
bool overlaps(const F32View& x, const F32View& y) {
  if (x.size == 0 || y.size == 0) return false;
  auto extent = [](const F32View& v, const char*& lo, const char*& hi) {
    index_t l = 0, h = 0;
    for (int d = 0; d < v.ndim(); ++d) {
      const index_t span = (v.dim(d) - 1) * v.stride(d);
      (span < 0 ? l : h) += span;
    }
    const char* base = reinterpret_cast<const char*>(v.data);
    lo = base + l * static_cast<index_t>(sizeof(float));
    hi = base + (h + 1) * static_cast<index_t>(sizeof(float));
  };
  const char *xl, *xh, *yl, *yh;
  extent(x, xl, xh);
  extent(y, yl, yh);
  return xl < yh && yl < xh;
}

struct Names {
  const char* a;
  const char* b;
  const char* bias;
};

// Optional 1-D float32 bias of length n; an absent one has data == nullptr.
F32View optional_bias(const py::object& obj, index_t n, const char* name) {
  F32View v;
  if (obj.is_none()) return v;
  v = any_view(obj, name);
  require_ndim(v, 1, name);
  require_shape(v, {n}, name);
  return v;
}

// (row stride, column stride) of op(x) for x uploaded densely (C order, shape rows x cols).
std::pair<index_t, index_t> dense_op_strides(const F32View& x, bool trans) {
  return trans ? std::make_pair(index_t{1}, x.dim(1)) : std::make_pair(x.dim(1), index_t{1});
}

// Validates and runs C = act(alpha op(a) op(b) + beta C + bias) on `device`, with the fast kernel
// or (reference) the naive one; returns C (allocated when out is None). An input that overlaps
// out is copied first, so in-place calls are still correct.
py::object run_gemm(bool reference, const Names& names, py::object a_obj, py::object b_obj,
                    py::object out_obj, bool trans_a, bool trans_b, float alpha, float beta,
                    py::object bias_obj, Activation act, float act_param, Device device) {
  F32View a = any_view(a_obj, names.a);
  F32View b = any_view(b_obj, names.b);
  require_ndim(a, 2, names.a);
  require_ndim(b, 2, names.b);
  const int ak = trans_a ? 0 : 1, bk = trans_b ? 1 : 0;
  const index_t M = a.dim(1 - ak), K = a.dim(ak), K2 = b.dim(bk), N = b.dim(1 - bk);
  if (K != K2)
    throw py::value_error(std::string(names.a) + " and " + names.b +
                          ": inner dimensions differ: " + names.a + (trans_a ? ".T" : "") +
                          " has shape " + shape_str({M, K}) + " (from " + shape_str(a.shape) +
                          "), " + names.b + (trans_b ? ".T" : "") + " has shape " +
                          shape_str({K2, N}) + " (from " + shape_str(b.shape) + ")");
  require_elementwise(act, "activation");
  F32View bias = optional_bias(bias_obj, N, names.bias);

  F32View c;
  const bool out_given = !out_obj.is_none();
  if (!out_given) {
    if (beta != 0.0f) throw py::value_error("out: required when beta != 0 (out holds C), got None");
    out_obj = py::array_t<float>({M, N});
    c = f32_view(out_obj, "out", true);
  } else {
    c = any_view(out_obj, "out", true);
    require_ndim(c, 2, "out");
    require_shape(c, {M, N}, "out");
  }
  const bool on_device =
      device_args(device, {{names.a, &a}, {names.b, &b}, {names.bias, &bias}, {"out", &c}});
  if (out_given) {
    // Inputs that share memory with out are read from a copy (a host copy: CUDA arrays refuse).
    auto copy = [on_device](py::object& obj, F32View& v, const char* name) {
      if (on_device)
        throw py::value_error(std::string(name) +
                              ": overlaps out (CUDA arrays): expected a separate out");
      obj = py::module_::import("numpy").attr("array")(obj);
      v = f32_view(obj, name);
    };
    if (overlaps(a, c)) copy(a_obj, a, names.a);
    if (overlaps(b, c)) copy(b_obj, b, names.b);
    if (bias.data && overlaps(bias, c)) copy(bias_obj, bias, names.bias);
  }
  if (bias.data && bias.stride(0) != 1) {  // the epilogue reads a contiguous bias
    bias_obj = py::module_::import("numpy").attr("ascontiguousarray")(bias_obj);
    bias = f32_view(bias_obj, names.bias);
  }
  Epilogue ep;
  ep.bias = bias.data;
  ep.act = act;
  ep.act_param = act_param;

  if (device == Device::Cpu) {
    const index_t rs_a = trans_a ? a.stride(1) : a.stride(0);
    const index_t cs_a = trans_a ? a.stride(0) : a.stride(1);
    const index_t rs_b = trans_b ? b.stride(1) : b.stride(0);
    const index_t cs_b = trans_b ? b.stride(0) : b.stride(1);
    {
      py::gil_scoped_release release;
      (reference ? gemm_ref_cpu : gemm_cpu)(M, N, K, alpha, a.data, rs_a, cs_a, b.data, rs_b, cs_b,
                                            beta, c.data, c.stride(0), c.stride(1), ep);
    }
    return out_obj;
  }
  on_cuda([&](auto) {  // every operand uploaded densely, so op(x)'s strides follow from trans
    DeviceArray dA = upload(a), dB = upload(b), dBias = upload(bias);
    DeviceArray dC = beta != 0.0f ? upload(c) : alloc_like(c);
    const auto [rs_a, cs_a] = dense_op_strides(a, trans_a);
    const auto [rs_b, cs_b] = dense_op_strides(b, trans_b);
    ep.bias = dBias.ptr;
    if (reference)
      gemm_ref_cuda(M, N, K, alpha, dA.ptr, rs_a, cs_a, dB.ptr, rs_b, cs_b, beta, dC.ptr, N, 1, ep);
    else
      gemm_cuda(M, N, K, alpha, dA.ptr, rs_a, cs_a, dB.ptr, rs_b, cs_b, beta, dC.ptr, N, 1, ep,
                float32_matmul_precision_high());
    download(c, dC);
  });
  return out_obj;
}

CpuIsa isa_arg(const py::object& isa) {
  if (isa.is_none()) return active_cpu_isa();
  const CpuIsa parsed = parse_cpu_isa(py::cast<std::string>(isa));
  if (static_cast<int>(parsed) > static_cast<int>(detect_cpu_isa()))
    throw py::value_error("isa: this CPU does not support '" + std::string(cpu_isa_name(parsed)) +
                          "'");
  return parsed;
}

// ---- CUDA-only helpers: a raw-pointer gemm (tests) and a timed gemm (bench/gpu_bench.py) --------

// Offset of the last element of a rows x cols view (0 when empty); checks it lies in the buffer.
void require_in_buffer(const F32View& buf, index_t off, index_t rows, index_t cols, index_t rs,
                       index_t cs, const char* name) {
  FN_CHECK(off >= 0 && rs >= 0 && cs >= 0, name, ": expected offset and strides >= 0, got ", off,
           ", ", rs, ", ", cs);
  if (rows == 0 || cols == 0) return;
  const index_t last = off + (rows - 1) * rs + (cols - 1) * cs;
  FN_CHECK(last < buf.size, name, ": view ends at element ", last, ", past the buffer's ",
           buf.size);
}

// gemm_cuda on 1-D buffers with element offsets and strides (>= 0), so tests reach strided and
// misaligned device operands; returns the whole C buffer after the call.
py::array_t<float> cuda_gemm_raw(const py::handle& a, index_t off_a, index_t rs_a, index_t cs_a,
                                 const py::handle& b, index_t off_b, index_t rs_b, index_t cs_b,
                                 const py::handle& c, index_t off_c, index_t rs_c, index_t cs_c,
                                 index_t M, index_t N, index_t K, float alpha, float beta,
                                 const py::object& bias, Activation act, float act_param,
                                 bool allow_tf32) {
  F32View A = dense_view(a, "a"), B = dense_view(b, "b"), C0 = dense_view(c, "c");
  FN_CHECK(M >= 0 && N >= 0 && K >= 0, "M, N, K: expected >= 0");
  require_in_buffer(A, off_a, M, K, rs_a, cs_a, "a");
  require_in_buffer(B, off_b, K, N, rs_b, cs_b, "b");
  require_in_buffer(C0, off_c, M, N, rs_c, cs_c, "c");
  const F32View bias_v = optional_bias(bias, N, "bias");
  Epilogue ep;
  ep.act = require_elementwise(act, "act");
  ep.act_param = act_param;
  py::array_t<float> out(C0.size);
  const F32View C = f32_view(out, "out", true);
  on_cuda([&](auto) {
    DeviceArray dA = upload(A), dB = upload(B), dC = upload(C0), dBias = upload(bias_v);
    ep.bias = dBias.ptr;
    gemm_cuda(M, N, K, alpha, dA.ptr + off_a, rs_a, cs_a, dB.ptr + off_b, rs_b, cs_b, beta,
              dC.ptr + off_c, rs_c, cs_c, ep, allow_tf32);
    download(C, dC);
  });
  return out;
}

struct GemmBench {
  index_t M, N, K;
  const float *A, *B;
  float* C;
  bool tf32;
};

// (milliseconds per call, C) for C = A @ B with row-major A [M, K], B [K, N] on the device.
py::tuple cuda_bench_gemm(const py::handle& a, const py::handle& b, int iters, bool tf32) {
  F32View A = dense_view(a, "a"), B = dense_view(b, "b");
  require_ndim(A, 2, "a");
  require_ndim(B, 2, "b");
  FN_CHECK(A.dim(1) == B.dim(0), "b: expected ", A.dim(1), " rows, got ", B.dim(0));
  py::array_t<float> out({A.dim(0), B.dim(1)});
  const F32View C = f32_view(out, "out", true);
  double ms = 0.0;
  on_cuda([&](auto) {
    DeviceArray dA = upload(A), dB = upload(B), dC = alloc_like(C);
    GemmBench g{A.dim(0), B.dim(1), A.dim(1), dA.ptr, dB.ptr, dC.ptr, tf32};
    ms = cuda_time_ms(
        [](void* p) {
          auto* g = static_cast<GemmBench*>(p);
          gemm_cuda(g->M, g->N, g->K, 1.0f, g->A, g->K, 1, g->B, g->N, 1, 0.0f, g->C, g->N, 1,
                    Epilogue{}, g->tf32);
        },
        &g, iters);
    download(C, dC);
  });
  return py::make_tuple(ms, out);
}

// gemm_ex and gemm_ref: the same arguments, the fast kernel or the naive one.
void def_gemm(py::module_& m, const char* name, bool reference, const char* doc) {
  using py::arg;
  m.def(
      name,
      [reference](py::object a, py::object b, py::object out, bool trans_a, bool trans_b,
                  float alpha, float beta, py::object bias, Activation act, float act_param,
                  Device device) {
        return run_gemm(reference, {"a", "b", "bias"}, a, b, out, trans_a, trans_b, alpha, beta,
                        bias, act, act_param, device);
      },
      arg("a"), arg("b"), arg("out"), arg("trans_a") = false, arg("trans_b") = false,
      arg("alpha") = 1.0f, arg("beta") = 0.0f, arg("bias") = py::none(),
      py::arg_v("act", Activation::Linear, "Activation.linear"), arg("act_param") = 0.0f,
      py::arg_v("device", Device::Cpu, "Device.cpu"), doc);
}

// ---- ops.matmul's fast path ---------------------------------------------------------------------

// The byte range [lo, hi) a 2-D array touches (empty when it has no elements).
void byte_extent(const py::detail::PyArray_Proxy* x, const char*& lo, const char*& hi) {
  lo = hi = x->data;
  if (x->dimensions[0] == 0 || x->dimensions[1] == 0) return;
  for (int d = 0; d < 2; ++d) {
    const Py_ssize_t span = (x->dimensions[d] - 1) * x->strides[d];
    (span < 0 ? lo : hi) += span;
  }
  hi += sizeof(float);
}

// An aligned native float32 2-D ndarray (exactly that type), or nullptr.
const py::detail::PyArray_Proxy* plain_f32_2d(PyObject* obj, PyObject* f32) {
  auto& api = py::detail::npy_api::get();
  if (Py_TYPE(obj) != api.PyArray_Type_) return nullptr;
  const auto* x = py::detail::array_proxy(obj);
  if (x->nd != 2 || !api.PyArray_EquivTypes_(x->descr, f32)) return nullptr;
  if (reinterpret_cast<std::uintptr_t>(x->data) % sizeof(float) != 0) return nullptr;
  if (x->strides[0] % 4 != 0 || x->strides[1] % 4 != 0) return nullptr;
  return x;
}

// matmul_fast(a, b, out, trans_a, trans_b, alpha, beta): ops.matmul on plain float32 NumPy arrays
// (2-D, aligned; out None or a writable one of the right shape apart from a and b) as one C call,
// without pybind11's dispatch and the view objects (about 1 us, most of a 32^3 product's time).
// Anything else returns NotImplemented, and ops.matmul takes the general path, which words the
// errors.
PyObject* matmul_fast(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 7) {
    PyErr_SetString(PyExc_TypeError, "_matmul_fast: expected 7 arguments");
    return nullptr;
  }
  static PyObject* f32 = py::detail::npy_api::get().PyArray_DescrFromType_(
      py::detail::npy_api::constants::NPY_FLOAT_);  // kept for the process
  const auto* a = plain_f32_2d(args[0], f32);
  const auto* b = plain_f32_2d(args[1], f32);
  if (!a || !b) Py_RETURN_NOTIMPLEMENTED;
  const int ta = PyObject_IsTrue(args[3]), tb = PyObject_IsTrue(args[4]);
  const double alpha = PyFloat_AsDouble(args[5]), beta = PyFloat_AsDouble(args[6]);
  if (ta < 0 || tb < 0 || PyErr_Occurred()) {
    PyErr_Clear();
    Py_RETURN_NOTIMPLEMENTED;
  }
  const index_t M = a->dimensions[ta ? 1 : 0], K = a->dimensions[ta ? 0 : 1];
  const index_t N = b->dimensions[tb ? 0 : 1];
  if (b->dimensions[tb ? 1 : 0] != K) Py_RETURN_NOTIMPLEMENTED;
  PyObject* out = args[2];
  if (out == Py_None) {
    if (beta != 0.0) Py_RETURN_NOTIMPLEMENTED;
    Py_ssize_t dims[2] = {M, N};
    Py_INCREF(f32);  // NewFromDescr steals it
    auto& api = py::detail::npy_api::get();
    out = api.PyArray_NewFromDescr_(api.PyArray_Type_, f32, 2, dims, nullptr, nullptr, 0, nullptr);
    if (!out) return nullptr;
  } else {
    const auto* c = plain_f32_2d(out, f32);
    if (!c || !(c->flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_) || c->dimensions[0] != M ||
        c->dimensions[1] != N)
      Py_RETURN_NOTIMPLEMENTED;
    const char *cl, *ch, *xl, *xh;
    byte_extent(c, cl, ch);
    for (const auto* x : {a, b}) {
      byte_extent(x, xl, xh);
      if (xl < ch && cl < xh) Py_RETURN_NOTIMPLEMENTED;  // the general path copies the input
    }
    Py_INCREF(out);
  }
  const auto* c = py::detail::array_proxy(out);
  const auto st = [](const py::detail::PyArray_Proxy* x, int d) {
    return static_cast<index_t>(x->strides[d] / static_cast<Py_ssize_t>(sizeof(float)));
  };
  bool failed = false;
  PyThreadState* released = PyEval_SaveThread();
  try {  // gemm_cpu throws only bad_alloc (its packing buffers)
    gemm_cpu(M, N, K, static_cast<float>(alpha), reinterpret_cast<const float*>(a->data),
             st(a, ta ? 1 : 0), st(a, ta ? 0 : 1), reinterpret_cast<const float*>(b->data),
             st(b, tb ? 1 : 0), st(b, tb ? 0 : 1), static_cast<float>(beta),
             reinterpret_cast<float*>(c->data), st(c, 0), st(c, 1), Epilogue{});
  } catch (...) {
    failed = true;
  }
  PyEval_RestoreThread(released);
  if (failed) {
    Py_DECREF(out);
    return PyErr_NoMemory();
  }
  return out;
}

}  // namespace

void bind_gemm(py::module_& m) {
  using py::arg;
  // ops.matmul's binding: the common call, without the epilogue's arguments to convert.
  m.def(
      "gemm",
      [](py::object a, py::object b, py::object out, bool trans_a, bool trans_b, float alpha,
         float beta, Device device) {
        return run_gemm(false, {"a", "b", "bias"}, a, b, out, trans_a, trans_b, alpha, beta,
                        py::none(), Activation::Linear, 0.0f, device);
      },
      arg("a"), arg("b"), arg("out"), arg("trans_a"), arg("trans_b"), arg("alpha"), arg("beta"),
      py::arg_v("device", Device::Cpu, "Device.cpu"),
      "out = alpha op(a) @ op(b) + beta out; out=None allocates (then beta must be 0). Any "
      "layout; on CUDA the operands are copied in and out.");
  def_gemm(m, "gemm_ex", false, "The full gemm: act(alpha op(a) @ op(b) + beta out + bias).");
  def_gemm(m, "gemm_ref", true, "The naive double-accumulating reference, for tests.");
  // A plain CPython function (METH_FASTCALL): see matmul_fast.
  static PyMethodDef matmul_fast_def = {
      "_matmul_fast", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&matmul_fast)),
      METH_FASTCALL,
      "_matmul_fast(a, b, out, trans_a, trans_b, alpha, beta)\n--\n\nops.matmul on plain float32 "
      "NumPy arrays in one C call; NotImplemented for anything else (the general path)."};
  PyObject* fast = PyCFunction_NewEx(&matmul_fast_def, nullptr, m.attr("__name__").ptr());
  if (!fast) throw py::error_already_set();
  m.add_object("_matmul_fast", py::reinterpret_steal<py::object>(fast));
  m.def(
      "linear",
      [](py::object x, py::object w, py::object b, py::object out, Activation act, float act_param,
         Device device) {
        return run_gemm(false, {"x", "w", "b"}, x, w, out, false, false, 1.0f, 0.0f, b, act,
                        act_param, device);
      },
      arg("x"), arg("w"), arg("b"), arg("out"), arg("act"), arg("act_param"),
      py::arg_v("device", Device::Cpu, "Device.cpu"),
      "act(x @ w + b) with the epilogue fused into the gemm.");

  m.def(
      "fp32_peak_gflops",
      [](int threads, py::object isa) {
        if (threads < 1)
          throw py::value_error("threads: expected >= 1, got " + std::to_string(threads));
        const CpuIsa i = isa_arg(isa);
        py::gil_scoped_release release;
        return gemm_detail::fp32_peak_gflops_cpu(threads, i);
      },
      py::arg("threads"), py::arg("isa") = py::none(),
      "FP32 peak in GFLOP/s, measured: `threads` threads each run independent FMA chains on the "
      "ISA's vector registers for 5 chunks of ~10 ms; the best chunk's rate is returned.");
  m.def(
      "gemm_blocking",
      [](py::object isa) {
        const auto& ks = gemm_kernels(isa_arg(isa));
        py::dict d;
        d["kernel"] = ks.name;
        d["mr"] = ks.mr;
        d["nr"] = ks.nr;
        d["mc"] = ks.mc;
        d["kc"] = ks.kc;
        d["nc"] = ks.nc;
        d["simd_width"] = ks.simd_width;
        return d;
      },
      py::arg("isa") = py::none(), "Register tile and cache blocks of the ISA's gemm kernel.");
  m.def(
      "_gemm_split_n",
      [](int mode) {
        const int before = gemm_detail::get_gemm_split_n();
        if (mode >= 0) gemm_detail::set_gemm_split_n(mode);
        return before;
      },
      py::arg("mode") = -1,
      "How threads share a gemm: 0 automatic, 1 one-panel N chunks (the most tasks and "
      "stealing), 2 as 1 without waiting for panels others pack; negative keeps it. Returns the "
      "previous mode.");
  m.def(
      "_gemm_small_plan",
      [](index_t M, index_t N, index_t K, index_t rs_a, index_t cs_a, index_t rs_b, index_t cs_b,
         index_t rs_c, index_t cs_c, bool bias, py::object isa) {
        const auto& ks = gemm_kernels(isa_arg(isa));
        return gemm_detail::small_plan(M, N, K, rs_a, cs_a, rs_b, cs_b, rs_c, cs_c, bias,
                                       ks.simd_width);
      },
      py::arg("M"), py::arg("N"), py::arg("K"), py::arg("rs_a"), py::arg("cs_a"), py::arg("rs_b"),
      py::arg("cs_b"), py::arg("rs_c"), py::arg("cs_c"), py::arg("bias"),
      py::arg("isa") = py::none(),
      "Element strides of op(A), op(B), C -> the small-kernel orientation gemm takes: -1 none "
      "(blocked path), 0 C, 1 C^T.");
  m.def(
      "_gemm_tuning",
      [](double parallel_min_work, index_t pack_a_min_n, index_t direct_b_max_m,
         double small_max_work, double sup_max_work) {
        double w, s, u;
        index_t n, m;
        gemm_detail::get_gemm_tuning(&w, &n, &m, &s, &u);
        gemm_detail::set_gemm_tuning(parallel_min_work, pack_a_min_n, direct_b_max_m,
                                     small_max_work, sup_max_work);
        return py::make_tuple(w, n, m, s, u);
      },
      py::arg("parallel_min_work") = -1.0, py::arg("pack_a_min_n") = -1,
      py::arg("direct_b_max_m") = -1, py::arg("small_max_work") = -1.0,
      py::arg("sup_max_work") = -1.0,
      "Sets the gemm path thresholds (negative keeps one); returns the previous ones.");

  // The process-wide CUDA gemm settings: need CUDA compiled in, not a device; -1 only queries.
  for (const bool tf32 : {true, false}) {
    m.def(
        tf32 ? "_gemm_cuda_tf32_kernel" : "_gemm_cuda_split_k",
        [tf32](int value) {
          int before = 0;
          cuda_setting([&](auto) {
            before = tf32 ? set_gemm_cuda_tf32_kernel(value) : set_gemm_cuda_split_k(value);
          });
          return before;
        },
        arg(tf32 ? "kernel" : "enabled") = -1,
        tf32 ? "TF32 kernel of gemm_cuda: 0 auto (v2 when both operands are 16-byte aligned with "
               "a unit stride), 1 v1, 2 v2 128x128, 3 v2 128x256; -1 keeps it. Returns the "
               "previous value."
             : "Whether exact-FP32 gemm_cuda may split K on small grids: 1 on (default), 0 off; "
               "-1 keeps it. Returns the previous value.");
  }
  m.def("_cuda_gemm_raw", &cuda_gemm_raw, arg("a"), arg("off_a"), arg("rs_a"), arg("cs_a"),
        arg("b"), arg("off_b"), arg("rs_b"), arg("cs_b"), arg("c"), arg("off_c"), arg("rs_c"),
        arg("cs_c"), arg("M"), arg("N"), arg("K"), arg("alpha"), arg("beta"), arg("bias"),
        arg("act"), arg("act_param"), arg("allow_tf32"),
        "gemm_cuda on 1-D buffers with offsets and strides (tests); returns the C buffer.");
  m.def("cuda_bench_gemm", &cuda_bench_gemm, arg("a"), arg("b"), arg("iters"), arg("tf32"),
        "(ms per call, C) of C = a @ b with the data on the device, timed by CUDA events.");
}

}  // namespace fusednet
