// Activations, forward and backward, elementwise over n contiguous floats, and row-wise softmax.
//
//   linear      y = x                                   y' = 1
//   relu        y = max(x, 0)                           y' = [x > 0]
//   leaky_relu  y = x > 0 ? x : a x                     y' = x > 0 ? 1 : a
//   sigmoid     y = 1 / (1 + e^-x)                      y' = y (1 - y)
//   tanh        y = tanh x                              y' = 1 - y^2
//   gelu        y = x Phi(x) = x/2 (1 + erf(x/sqrt2))   y' = Phi(x) + x phi(x)
//   gelu_tanh   y = x/2 (1 + tanh u), u = sqrt(2/pi) (x + 0.044715 x^3)
//               y' = (1 + t)/2 + x/2 (1 - t^2) du/dx,  du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//   softmax     y_ij = e^(x_ij - m_i) / Z_i,  m_i = max_j x_ij,  Z_i = sum_j e^(x_ij - m_i)
//               dx_ij = y_ij (dy_ij - sum_k dy_ik y_ik)
//   log_softmax y_ij = x_ij - m_i - log Z_i,   dx_ij = dy_ij - softmax_ij sum_k dy_ik
//
// NaN in gives NaN out; the derivative at a relu kink (x = 0) is 0.
// Work is split into static chunks of whole cache lines over threads; an element's value never
// depends on the split, so the result is bit-identical whatever the thread count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "dispatch.h"
#include "kernels.h"

namespace fusednet {

namespace {

constexpr index_t kParallelMin = index_t{1} << 15;  // below this, threads cost more than they save
constexpr index_t kChunkAlign = 64;                 // elements: chunk starts on a 256-byte line

// f(lo, hi) over [0, n) in one static chunk per thread (whole chunks: good streaming per core).
template <class F>
void parallel_chunks(index_t n, F&& f) {
  const int nt = num_threads();
  if (n < kParallelMin || nt <= 1) {
    f(index_t{0}, n);
    return;
  }
  const index_t per = round_up(ceil_div(n, nt), kChunkAlign);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int c = 0; c < nt; ++c) {
    const index_t lo = std::min(n, c * per), hi = std::min(n, lo + per);
    if (lo < hi) f(lo, hi);
  }
}

// Rows split over threads when the whole matrix is large enough.
template <class F>
void parallel_rows(index_t rows, index_t cols, F&& f) {
  const int nt = num_threads();
  if (rows * cols < kParallelMin || nt <= 1 || rows < 2) {
    for (index_t r = 0; r < rows; ++r) f(r);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (index_t r = 0; r < rows; ++r) f(r);
}

inline float sigmoid_ref(float x) {
  // Two branches: e^-|x| never overflows.
  const float e = std::exp(-std::fabs(x));
  const float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

constexpr float kSqrtHalf = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;
constexpr float kSqrt2OverPi = 0.79788456080286536f;
constexpr float kGeluC = 0.044715f;

inline float forward_one(Activation act, float a, float x) {
  switch (act) {
    case Activation::Linear: return x;
    case Activation::ReLU: return x < 0.0f ? 0.0f : x;  // NaN passes through
    case Activation::LeakyReLU: return x < 0.0f ? a * x : x;
    case Activation::Sigmoid: return sigmoid_ref(x);
    case Activation::Tanh: return std::tanh(x);
    case Activation::GELU: return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
    case Activation::GELUTanh: {
      const float u = kSqrt2OverPi * (x + kGeluC * x * x * x);
      return 0.5f * x * (1.0f + std::tanh(u));
    }
  }
  return x;
}

inline float derivative_one(Activation act, float a, float x) {
  switch (act) {
    case Activation::Linear: return 1.0f;
    case Activation::ReLU: return x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x);  // NaN -> NaN
    case Activation::LeakyReLU: return x > 0.0f ? 1.0f : (x <= 0.0f ? a : x);
    case Activation::Sigmoid: {
      const float s = sigmoid_ref(x);
      return s * (1.0f - s);
    }
    case Activation::Tanh: {
      const float t = std::tanh(x);
      return 1.0f - t * t;
    }
    case Activation::GELU:
      return 0.5f * (1.0f + std::erf(x * kSqrtHalf)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
    case Activation::GELUTanh: {
      const float x2 = x * x;
      const float t = std::tanh(kSqrt2OverPi * (x + kGeluC * x2 * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x2);
    }
  }
  return 1.0f;
}

// Derivative from the forward output y (only where y determines it).
inline float derivative_from_output_one(Activation act, float a, float y) {
  switch (act) {
    case Activation::ReLU: return y > 0.0f ? 1.0f : (y <= 0.0f ? 0.0f : y);
    case Activation::LeakyReLU: return y > 0.0f ? 1.0f : (y <= 0.0f ? a : y);
    case Activation::Sigmoid: return y * (1.0f - y);
    case Activation::Tanh: return 1.0f - y * y;
    default: return 1.0f;
  }
}

void check_activation(Activation act, const char* what) {
  const int c = static_cast<int>(act);
  FN_CHECK(c >= 0 && c <= static_cast<int>(Activation::GELUTanh), what,
           ": activation code must be in [0, 6], got ", c);
}

// One softmax row: max, then sum of exponentials in double (fixed order within the row).
inline void softmax_row(const float* x, float* y, index_t cols, bool log) {
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (index_t j = 0; j < cols; ++j) {
    m = x[j] > m ? x[j] : m;
    nan |= std::isnan(x[j]);
  }
  if (nan) m = std::numeric_limits<float>::quiet_NaN();
  double z = 0.0;
  for (index_t j = 0; j < cols; ++j) z += std::exp(static_cast<double>(x[j] - m));
  if (log) {
    const float lz = static_cast<float>(std::log(z));
    for (index_t j = 0; j < cols; ++j) y[j] = (x[j] - m) - lz;
  } else {
    const float inv = static_cast<float>(1.0 / z);
    for (index_t j = 0; j < cols; ++j) y[j] = std::exp(x[j] - m) * inv;
  }
}

inline void softmax_backward_row(const float* dy, const float* x, float* dx, index_t cols,
                                 bool log) {
  float m = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (index_t j = 0; j < cols; ++j) {
    m = x[j] > m ? x[j] : m;
    nan |= std::isnan(x[j]);
  }
  if (nan) m = std::numeric_limits<float>::quiet_NaN();
  double z = 0.0;
  for (index_t j = 0; j < cols; ++j) z += std::exp(static_cast<double>(x[j] - m));
  const double inv = 1.0 / z;
  if (log) {
    double sum_dy = 0.0;
    for (index_t j = 0; j < cols; ++j) sum_dy += dy[j];
    const float s = static_cast<float>(sum_dy);
    for (index_t j = 0; j < cols; ++j)
      dx[j] = dy[j] - static_cast<float>(std::exp(static_cast<double>(x[j] - m)) * inv) * s;
  } else {
    double dot = 0.0;
    for (index_t j = 0; j < cols; ++j) dot += dy[j] * std::exp(static_cast<double>(x[j] - m));
    const float d = static_cast<float>(dot * inv);
    for (index_t j = 0; j < cols; ++j) {
      const float p = static_cast<float>(std::exp(static_cast<double>(x[j] - m)) * inv);
      dx[j] = p * (dy[j] - d);
    }
  }
}

}  // namespace

void activation_forward_cpu(Activation act, float param, const float* x, float* y, index_t n) {
  check_activation(act, "activation_forward_cpu");
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) y[i] = forward_one(act, param, x[i]);
  });
}

void activation_backward_cpu(Activation act, float param, const float* dy, const float* x,
                             float* dx, index_t n) {
  check_activation(act, "activation_backward_cpu");
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) dx[i] = dy[i] * derivative_one(act, param, x[i]);
  });
}

void activation_backward_from_output_cpu(Activation act, float param, const float* dy,
                                         const float* y, float* dx, index_t n) {
  check_activation(act, "activation_backward_from_output_cpu");
  FN_CHECK(act != Activation::GELU && act != Activation::GELUTanh,
           "activation_backward_from_output_cpu: gelu's derivative needs the forward input, "
           "not its output");
  FN_CHECK(act != Activation::LeakyReLU || param > 0.0f,
           "activation_backward_from_output_cpu: leaky_relu needs negative_slope > 0 to recover "
           "the sign of x from y, got ", param);
  if (act == Activation::Linear) {
    parallel_chunks(n, [&](index_t lo, index_t hi) {
      if (dx != dy) std::copy(dy + lo, dy + hi, dx + lo);
    });
    return;
  }
  parallel_chunks(n, [&](index_t lo, index_t hi) {
    for (index_t i = lo; i < hi; ++i) dx[i] = dy[i] * derivative_from_output_one(act, param, y[i]);
  });
}

void softmax_forward_cpu(const float* x, float* y, index_t rows, index_t cols, bool log) {
  parallel_rows(rows, cols, [&](index_t r) { softmax_row(x + r * cols, y + r * cols, cols, log); });
}

void softmax_backward_cpu(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                          bool log) {
  parallel_rows(rows, cols, [&](index_t r) {
    softmax_backward_row(dy + r * cols, x + r * cols, dx + r * cols, cols, log);
  });
}

}  // namespace fusednet
