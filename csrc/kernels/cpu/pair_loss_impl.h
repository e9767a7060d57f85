// Private to the pair-loss kernels (kernels/types.h's PairLoss): the row loops of pair_loss.cpp
// (baseline target), pair_loss_avx2.cpp and pair_loss_avx512.cpp, one source compiled once per
// ISA. The elementwise kinds are `#pragma omp simd` loops over kernels/math/loss.h's terms on
// vmath.h's branch-free primitives, vectorized for the including file's flags; a row's sum is a
// double reduction whose order depends on the vector width only, never on the thread count. The
// two row-wise kinds (categorical_hinge, cosine_similarity) are two short passes over the row.
#pragma once

#include <cmath>

#include "kernels/cpu/pair_loss_kernels.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/vmath.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

#include "kernels/math/loss.h"

namespace fusednet {

namespace FN_SIMD_NS {
namespace pair_loss {

using vmath::CpuMath;

template <PairLoss K>
double row_terms(float a, const float* FN_RESTRICT p, const float* FN_RESTRICT t,
                 float* FN_RESTRICT d, index_t cols, float coef) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (index_t j = 0; j < cols; ++j) {
    float dj;
    const float v = lossmath::term<K, CpuMath>(p[j], t[j], a, &dj);
    d[j] = coef * dj;
    s += static_cast<double>(v);
  }
  return s;
}

// max(neg - pos + 1, 0), pos = sum t p, neg = max_j (1 - t_j) p_j; the max's gradient is shared
// equally by its ties (as TensorFlow and JAX differentiate a max).
inline double categorical_hinge_row(const float* p, const float* t, float* d, index_t cols,
                                    float coef) {
  double pos = 0.0;
  float neg = -INFINITY;
  for (index_t j = 0; j < cols; ++j) {
    pos += static_cast<double>(t[j]) * static_cast<double>(p[j]);
    const float v = (1.0f - t[j]) * p[j];
    neg = v > neg || v != v ? v : neg;  // NaN wins
  }
  const double loss = static_cast<double>(neg) - pos + 1.0;
  float ties = 0.0f;
  for (index_t j = 0; j < cols; ++j) ties += (1.0f - t[j]) * p[j] == neg ? 1.0f : 0.0f;
  const bool active = loss > 0.0;
  const float share = ties > 0.0f ? 1.0f / ties : 0.0f;
  for (index_t j = 0; j < cols; ++j) {
    const float tie = (1.0f - t[j]) * p[j] == neg ? share * (1.0f - t[j]) : 0.0f;
    d[j] = active ? coef * (tie - t[j]) : (loss != loss ? NAN : 0.0f);
  }
  return active || loss != loss ? loss : 0.0;
}

// -<t, p> / (|t|' |p|'), |x|' = sqrt(max(sum x^2, eps^2)) (Keras's l2-normalize); the gradient
// -(t - <t, p> p / |p|^2) / (|t|' |p|'), without the second term where |p| is clamped.
inline double cosine_row(const float* p, const float* t, float* d, index_t cols, float coef) {
  double st = 0.0, sp = 0.0, stp = 0.0;
#pragma omp simd reduction(+ : st, sp, stp)
  for (index_t j = 0; j < cols; ++j) {
    const double pj = static_cast<double>(p[j]), tj = static_cast<double>(t[j]);
    st += tj * tj;
    sp += pj * pj;
    stp += tj * pj;
  }
  constexpr double kEps2 = static_cast<double>(lossmath::kEps) * lossmath::kEps;
  const double it = 1.0 / std::sqrt(st > kEps2 ? st : kEps2);
  const double ip = 1.0 / std::sqrt(sp > kEps2 ? sp : kEps2);
  const double g = sp > kEps2 ? stp * ip * ip : 0.0;
  const double c = -static_cast<double>(coef) * it * ip;
  for (index_t j = 0; j < cols; ++j)
    d[j] = static_cast<float>(c * (static_cast<double>(t[j]) - g * static_cast<double>(p[j])));
  return -stp * it * ip;
}

template <PairLoss K>
void rows_of(float a, const float* p, const float* t, const float* w, float* d, index_t r0,
             index_t r1, index_t cols, double base, double* row_loss) {
  const double per_row = lossmath::sums_row(K) ? 1.0 : 1.0 / static_cast<double>(cols);
  for (index_t i = r0; i < r1; ++i) {
    const double wi = w ? static_cast<double>(w[i]) : 1.0;
    const float coef = static_cast<float>(base * wi);
    const index_t off = i * cols;
    double s;
    if constexpr (K == PairLoss::CategoricalHinge)
      s = categorical_hinge_row(p + off, t + off, d + off, cols, coef);
    else if constexpr (K == PairLoss::CosineSimilarity)
      s = cosine_row(p + off, t + off, d + off, cols, coef);
    else s = row_terms<K>(a, p + off, t + off, d + off, cols, coef);
    row_loss[i] = wi * s * per_row;
  }
}

inline void rows(PairLoss kind, float a, const float* p, const float* t, const float* w, float* d,
                 index_t r0, index_t r1, index_t cols, double base, double* row_loss) {
  if (kind == PairLoss::CategoricalHinge)
    return rows_of<PairLoss::CategoricalHinge>(a, p, t, w, d, r0, r1, cols, base, row_loss);
  if (kind == PairLoss::CosineSimilarity)
    return rows_of<PairLoss::CosineSimilarity>(a, p, t, w, d, r0, r1, cols, base, row_loss);
  lossmath::visit_elementwise(kind, [&](auto K) {
    rows_of<decltype(K)::value>(a, p, t, w, d, r0, r1, cols, base, row_loss);
  });
}

inline const PairLossKernels& table() {
  static const PairLossKernels k{rows};
  return k;
}

}  // namespace pair_loss
}  // namespace FN_SIMD_NS
}  // namespace fusednet

FN_SIMD_NO_TRAPPING_MATH_END
