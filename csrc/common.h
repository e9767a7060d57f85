// Shared basics for every layer: the index type, checks that throw, small integer helpers.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fusednet {

// 64-bit everywhere: sizes over 2^31 elements must not overflow.
using index_t = std::int64_t;

inline constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
inline constexpr index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

// Thrown for bad arguments; pybind11 turns std::invalid_argument into ValueError.
template <typename... Parts>
[[noreturn]] void throw_value_error(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  throw std::invalid_argument(os.str());
}

}  // namespace fusednet

// FN_CHECK(cond, "argument 'x': expected ..., got ", n) -> ValueError when cond is false.
#define FN_CHECK(cond, ...)                                  \
  do {                                                       \
    if (!(cond)) ::fusednet::throw_value_error(__VA_ARGS__); \
  } while (0)

#if defined(__GNUC__) || defined(__clang__)
#define FN_RESTRICT __restrict__
#define FN_INLINE inline __attribute__((always_inline))
#else
#define FN_RESTRICT __restrict
#define FN_INLINE __forceinline
#endif
