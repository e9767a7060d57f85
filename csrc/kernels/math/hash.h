// The counter-based hash behind the net's dropout masks and shuffles, usable from host C++ and
// from CUDA kernels, so a net on the GPU draws exactly the masks and permutations it draws on the
// CPU. The one definition: net/net.cpp (mask keys), net/spec.cpp (the shuffle), the CPU backend's
// and the CUDA dropout kernels (net/backend_cpu.cpp, kernels/cuda/net_kernels.cu) include it;
// tools/netcuda_mock and tests/test_net.py check CPU and CUDA training agree.
#pragma once

#include <cstdint>

#include "kernels/math/host_device.h"

namespace fusednet {
namespace nethash {

// splitmix64 finaliser.
FN_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
FN_HOST_DEVICE inline std::uint64_t stream_key(std::uint64_t seed, std::uint64_t purpose,
                                               std::uint64_t counter, std::uint64_t site) {
  return mix64(mix64(mix64(seed ^ (purpose * 0xD1B54A32D192ED03ull)) + counter) + site);
}
// Uniform in [0, 1) with 24 random bits (exact in float). Index i enters as key + i * step, so
// uniform01(key, j + i) == uniform01(key + j * step, i) (the Net's data-parallel dropout).
constexpr std::uint64_t kIndexStep = 0x9E3779B97F4A7C15ull;
FN_HOST_DEVICE inline float uniform01(std::uint64_t key, std::uint64_t i) {
  return static_cast<float>(mix64(key + i * kIndexStep) >> 40) * (1.0f / 16777216.0f);
}
// r mapped to [0, n) (host only: the permutation is drawn on the host).
inline std::uint64_t below(std::uint64_t r, std::uint64_t n) {
#if defined(__SIZEOF_INT128__)
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(r) * n) >> 64);
#else
  return r % n;
#endif
}

constexpr std::uint64_t kPurposeDropout = 1, kPurposeShuffle = 2;

}  // namespace nethash
}  // namespace fusednet
