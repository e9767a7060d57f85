// Bindings of the bf16 CPU gemm's facts and test hooks (kernels/cpu/gemm_bf16.h):
//   cpu_matmul_precision() -> "bf16" | "fp32": what the CPU gemm runs now
//   cpu_has_avx512_bf16(), _set_cpu_bf16_emulation(on) -> previous
//   _bf16_round(x, hardware), _bf16_dot2(acc, a, b, hardware): the conversion and one vdpbf16ps
//   lane per element, emulated (any CPU) or on the instruction itself (AVX512-BF16 CPUs only).
#include <pybind11/numpy.h>

#include <cstdint>
#include <string>

#include "bind/util.h"
#include "kernels/cpu/bf16_math.h"
#include "kernels/cpu/gemm_bf16.h"
#include "runtime/precision.h"

namespace fusednet {
namespace {

using F32In = py::array_t<float, py::array::c_style | py::array::forcecast>;
using U32In = py::array_t<std::uint32_t, py::array::c_style | py::array::forcecast>;

void require_hardware() {
#if defined(FUSEDNET_X86_KERNELS)
  if (cpu_has_avx512_bf16()) return;
#endif
  throw py::value_error("hardware: this CPU has no AVX512-BF16 (expected hardware=False)");
}

py::array_t<std::uint16_t> bf16_round(const F32In& x, bool hardware) {
  const index_t n = static_cast<index_t>(x.size());
  py::array_t<std::uint16_t> out(x.size());
  const float* src = x.data();
  std::uint16_t* dst = out.mutable_data();
  if (hardware) {
    require_hardware();
#if defined(FUSEDNET_X86_KERNELS)
    gemm_bf16_detail::round_hw(src, dst, n);
#endif
  } else {
    for (index_t i = 0; i < n; ++i) dst[i] = bf16math::bf16_round(src[i]);
  }
  return out;
}

py::array_t<float> bf16_dot2(const F32In& acc, const U32In& a, const U32In& b, bool hardware) {
  if (a.size() != acc.size() || b.size() != acc.size())
    throw py::value_error("a, b: expected " + std::to_string(acc.size()) + " pairs each, got " +
                          std::to_string(a.size()) + " and " + std::to_string(b.size()));
  const index_t n = static_cast<index_t>(acc.size());
  py::array_t<float> out(acc.size());
  float* dst = out.mutable_data();
  if (hardware) {
    require_hardware();
#if defined(FUSEDNET_X86_KERNELS)
    gemm_bf16_detail::dot2_hw(acc.data(), a.data(), b.data(), dst, n);
#endif
  } else {
    for (index_t i = 0; i < n; ++i)
      dst[i] = bf16math::bf16_dot2(acc.data()[i], a.data()[i], b.data()[i]);
  }
  return out;
}

}  // namespace

void bind_bf16(py::module_& m) {
  using py::arg;
  m.def(
      "cpu_matmul_precision",
      [] { return std::string(cpu_gemm_bf16_kernel() == CpuBf16Kernel::None ? "fp32" : "bf16"); },
      "What the CPU gemm computes with now: 'bf16' (inputs rounded to bf16, FP32 sums) under the "
      "'medium' precision on a CPU with AVX512-BF16 (or the test emulation), else 'fp32'.");
  m.def(
      "cpu_bf16_kernel",
      [] {
        switch (cpu_gemm_bf16_kernel()) {
          case CpuBf16Kernel::Hardware: return std::string("avx512_bf16");
          case CpuBf16Kernel::Emulated: return std::string("emulated");
          default: return std::string("none");
        }
      },
      "The bf16 gemm kernel in use: 'avx512_bf16', 'emulated' (tests) or 'none'.");
  m.def("cpu_has_avx512_bf16", &cpu_has_avx512_bf16,
        "Whether this CPU executes vdpbf16ps (cpuid AVX512_BF16).");
  m.def(
      "_set_cpu_bf16_emulation",
      [](bool on) {
        const bool before = cpu_bf16_emulation();
        set_cpu_bf16_emulation(on);
        return before;
      },
      arg("on"),
      "Tests: under 'medium', run the bf16 gemm's emulated kernel (same packing and tiles, the "
      "instruction's arithmetic in portable C++) on any CPU. Returns the previous setting.");
  m.def("_bf16_round", &bf16_round, arg("x"), arg("hardware"),
        "float32 -> bf16 bits (uint16) by vcvtne2ps2bf16's rounding, emulated or on the CPU.");
  m.def("_bf16_dot2", &bf16_dot2, arg("acc"), arg("a"), arg("b"), arg("hardware"),
        "One vdpbf16ps lane per element: acc + a.hi b.hi + a.lo b.lo (pairs of bf16 in uint32), "
        "emulated or on the CPU.");
}

}  // namespace fusednet
