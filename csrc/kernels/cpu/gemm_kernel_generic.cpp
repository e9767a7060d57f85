// sgemm micro-kernel in portable C++: sgemm_kernel_generic_4x16.
// The fallback for CPUs without AVX2 (and for ARM): 4-wide vectors through GCC/Clang vector
// extensions (SSE2 / NEON code), or plain loops elsewhere. A 4 x 16 tile is 16 accumulators.
#include <cmath>

#include "gemm_kernel_impl.h"

namespace fusednet {
namespace gemm_detail {
namespace {

#if defined(__GNUC__) || defined(__clang__)
typedef float v4f __attribute__((vector_size(16)));
struct VecGeneric {
  using reg = v4f;
  static constexpr int width = 4;
  static FN_INLINE reg zero() { return reg{0.0f, 0.0f, 0.0f, 0.0f}; }
  static FN_INLINE reg load(const float* p) {
    reg r;
    std::memcpy(&r, p, sizeof(r));
    return r;
  }
  static FN_INLINE void store(float* p, reg v) { std::memcpy(p, &v, sizeof(v)); }
  static FN_INLINE reg bcast(const float* p) { return set1(*p); }
  static FN_INLINE reg set1(float x) { return reg{x, x, x, x}; }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) { return a * b + c; }
  static FN_INLINE reg mul(reg a, reg b) { return a * b; }
  static FN_INLINE reg add(reg a, reg b) { return a + b; }
  // b when either is NaN, like the x86 max instruction the other kernels use.
  static FN_INLINE reg max(reg a, reg b) {
    reg r;
    for (int i = 0; i < 4; ++i) r[i] = a[i] > b[i] ? a[i] : b[i];
    return r;
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    reg r;
    for (int i = 0; i < 4; ++i) r[i] = v[i] < 0.0f ? v[i] * slope[i] : v[i];
    return r;
  }
  using mask = int;  // lanes in use
  static FN_INLINE mask make_mask(index_t n) { return static_cast<int>(n); }
  static FN_INLINE reg maskload(const float* p, mask m) {
    reg r = zero();
    for (int i = 0; i < m; ++i) r[i] = p[i];
    return r;
  }
  static FN_INLINE void store_partial(float* p, reg v, index_t n) {
    for (index_t i = 0; i < n; ++i) p[i] = v[i];
  }
  static FN_INLINE void prefetch(const void* p) { __builtin_prefetch(p); }
  static constexpr bool kTranspose = false;
  static FN_INLINE void transpose(reg (&)[4]) {}
};
#else
struct VecGeneric {
  struct reg {
    float v[4];
  };
  static constexpr int width = 4;
  static FN_INLINE reg zero() { return set1(0.0f); }
  static FN_INLINE reg load(const float* p) {
    reg r;
    std::memcpy(r.v, p, sizeof(r.v));
    return r;
  }
  static FN_INLINE void store(float* p, reg v) { std::memcpy(p, v.v, sizeof(v.v)); }
  static FN_INLINE reg bcast(const float* p) { return set1(*p); }
  static FN_INLINE reg set1(float x) { return reg{{x, x, x, x}}; }
  static FN_INLINE reg fmadd(reg a, reg b, reg c) {
    for (int i = 0; i < 4; ++i) c.v[i] = a.v[i] * b.v[i] + c.v[i];
    return c;
  }
  static FN_INLINE reg mul(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static FN_INLINE reg add(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
    return a;
  }
  static FN_INLINE reg max(reg a, reg b) {
    for (int i = 0; i < 4; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
    return a;
  }
  static FN_INLINE reg leaky(reg v, reg slope) {
    for (int i = 0; i < 4; ++i) v.v[i] = v.v[i] < 0.0f ? v.v[i] * slope.v[i] : v.v[i];
    return v;
  }
  using mask = int;  // lanes in use
  static FN_INLINE mask make_mask(index_t n) { return static_cast<int>(n); }
  static FN_INLINE reg maskload(const float* p, mask m) {
    reg r = zero();
    for (int i = 0; i < m; ++i) r.v[i] = p[i];
    return r;
  }
  static FN_INLINE void store_partial(float* p, reg v, index_t n) {
    for (index_t i = 0; i < n; ++i) p[i] = v.v[i];
  }
  static FN_INLINE void prefetch(const void*) {}
  static constexpr bool kTranspose = false;
  static FN_INLINE void transpose(reg (&)[4]) {}
};
#endif

}  // namespace

const KernelSet& kernels_generic() {
  static const KernelSet set =
      make_kernel_set<VecGeneric, 4, 4, 8>("sgemm_kernel_generic_4x16", 128, 256, 4096);
  return set;
}

}  // namespace gemm_detail
}  // namespace fusednet
