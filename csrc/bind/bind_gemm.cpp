// Bindings of the gemm family: check arguments, allocate the output, release the GIL, call.
//   gemm(a, b, out, trans_a, trans_b, alpha, beta)      -> out   (ops.matmul)
//   linear(x, w, b, out, act, act_param)                -> out   (ops.linear, w is (in, out))
//   gemm_ref(...)                                       the naive reference, same arguments as gemm
//   fp32_peak_gflops(threads, isa=None), gemm_blocking(isa=None), _gemm_tuning(...)
#include <pybind11/stl.h>

#include <algorithm>
#include <string>

#include "bind/util.h"
#include "kernels/cpu/gemm_kernels.h"
#include "runtime/isa.h"
#include "kernels/cpu.h"

namespace fusednet {
namespace {

using GemmFn = void (*)(index_t, index_t, index_t, float, const float*, index_t, index_t,
                        const float*, index_t, index_t, float, float*, index_t, index_t,
                        const Epilogue&);

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

// Validates and runs C = act(alpha op(a) op(b) + beta C + bias); returns C (allocated when out
// is None). An input that overlaps out is copied first, so in-place calls are still correct.
py::object run_gemm(GemmFn fn, const Names& names, py::object a_obj, py::object b_obj,
                    py::object out_obj, bool trans_a, bool trans_b, float alpha, float beta,
                    py::object bias_obj, int act, float act_param) {
  F32View a = f32_view(a_obj, names.a);
  F32View b = f32_view(b_obj, names.b);
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
  if (act < 0 || act > static_cast<int>(Activation::GELUTanh))
    throw py::value_error("activation: unknown code " + std::to_string(act));

  F32View bias;
  if (!bias_obj.is_none()) {
    bias = f32_view(bias_obj, names.bias);
    require_ndim(bias, 1, names.bias);
    require_shape(bias, {N}, names.bias);
  }

  F32View c;
  if (out_obj.is_none()) {
    if (beta != 0.0f)
      throw py::value_error("out: required when beta != 0 (out holds C), got None");
    out_obj = py::array_t<float>({M, N});
    c = f32_view(out_obj, "out", true);
  } else {
    c = f32_view(out_obj, "out", true);
    require_ndim(c, 2, "out");
    require_shape(c, {M, N}, "out");
    // Inputs that share memory with out are read from a copy.
    auto copy = [](py::object& obj, F32View& v, const char* name) {
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

  const index_t rs_a = trans_a ? a.stride(1) : a.stride(0), cs_a = trans_a ? a.stride(0) : a.stride(1);
  const index_t rs_b = trans_b ? b.stride(1) : b.stride(0), cs_b = trans_b ? b.stride(0) : b.stride(1);
  Epilogue ep;
  ep.bias = bias.data;
  ep.act = static_cast<Activation>(act);
  ep.act_param = act_param;
  {
    py::gil_scoped_release release;
    fn(M, N, K, alpha, a.data, rs_a, cs_a, b.data, rs_b, cs_b, beta, c.data, c.stride(0),
       c.stride(1), ep);
  }
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

}  // namespace

void bind_gemm(py::module_& m) {
  const Names ab{"a", "b", "bias"};
  m.def(
      "gemm",
      [ab](py::object a, py::object b, py::object out, bool trans_a, bool trans_b, float alpha,
           float beta) {
        return run_gemm(&gemm_cpu, ab, a, b, out, trans_a, trans_b, alpha, beta, py::none(), 0,
                        0.0f);
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a"), py::arg("trans_b"),
      py::arg("alpha"), py::arg("beta"),
      "C = alpha op(a) @ op(b) + beta out; out=None allocates (then beta must be 0).");
  m.def(
      "gemm_ref",
      [ab](py::object a, py::object b, py::object out, bool trans_a, bool trans_b, float alpha,
           float beta, py::object bias, int act, float act_param) {
        return run_gemm(&gemm_ref_cpu, ab, a, b, out, trans_a, trans_b, alpha, beta, bias, act,
                        act_param);
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("bias") = py::none(), py::arg("act") = 0, py::arg("act_param") = 0.0f,
      "The naive double-accumulating reference, for tests.");
  m.def(
      "gemm_ex",
      [ab](py::object a, py::object b, py::object out, bool trans_a, bool trans_b, float alpha,
           float beta, py::object bias, int act, float act_param) {
        return run_gemm(&gemm_cpu, ab, a, b, out, trans_a, trans_b, alpha, beta, bias, act,
                        act_param);
      },
      py::arg("a"), py::arg("b"), py::arg("out"), py::arg("trans_a") = false,
      py::arg("trans_b") = false, py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("bias") = py::none(), py::arg("act") = 0, py::arg("act_param") = 0.0f,
      "The full gemm_cpu: act(alpha op(a) op(b) + beta out + bias).");
  const Names xw{"x", "w", "b"};
  m.def(
      "linear",
      [xw](py::object x, py::object w, py::object b, py::object out, int act, float act_param) {
        return run_gemm(&gemm_cpu, xw, x, w, out, false, false, 1.0f, 0.0f, b, act, act_param);
      },
      py::arg("x"), py::arg("w"), py::arg("b"), py::arg("out"), py::arg("act"),
      py::arg("act_param"), "act(x @ w + b) with the epilogue fused into the gemm.");

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
      py::arg("cs_b"),
      py::arg("rs_c"), py::arg("cs_c"), py::arg("bias"), py::arg("isa") = py::none(),
      "Element strides of op(A), op(B), C -> the small-kernel orientation gemm takes: -1 none "
      "(blocked path), 0 C, 1 C^T.");
  m.def(
      "_gemm_tuning",
      [](double parallel_min_work, index_t pack_a_min_n, index_t direct_b_max_m,
         double small_max_work) {
        double w, s;
        index_t n, m;
        gemm_detail::get_gemm_tuning(&w, &n, &m, &s);
        gemm_detail::set_gemm_tuning(parallel_min_work, pack_a_min_n, direct_b_max_m,
                                     small_max_work);
        return py::make_tuple(w, n, m, s);
      },
      py::arg("parallel_min_work") = -1.0, py::arg("pack_a_min_n") = -1,
      py::arg("direct_b_max_m") = -1, py::arg("small_max_work") = -1.0,
      "Sets the gemm path thresholds (negative keeps one); returns the previous ones.");
}

}  // namespace fusednet
