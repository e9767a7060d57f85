// Private to the normalization family: the kernels of norm.cpp (baseline target), norm_avx2.cpp
// and norm_avx512.cpp, one source compiled once per ISA: plain loops the compiler vectorizes for
// the flags of the including file. Every sum is in double in a fixed order that no ISA changes:
// a column's over its rows in row order (the rows are streamed, the columns of a block side by
// side, as bias_grad), a row's in 8 interleaved lanes added in lane order at the end.
#pragma once

#include <algorithm>
#include <cmath>

#include "kernels/cpu/norm_kernels.h"
#include "kernels/cpu/simd.h"

FN_SIMD_NO_TRAPPING_MATH_BEGIN

namespace fusednet {
namespace FN_SIMD_NS {
namespace norm {

constexpr index_t kBlock = 256;  // columns whose double accumulators stay in L1
constexpr int kLanes = 8;

// The column sums every BatchNorm path shares (one process, the data-parallel sums over ranks),
// for the w columns of a block from jb, each in row order in double:
// s[k] = sum_i x(i, jb + k).
inline void column_sums_block(const float* x, index_t rows, index_t cols, index_t jb, index_t w,
                              double* s) {
  for (index_t k = 0; k < w; ++k) s[k] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const float* r = x + i * cols + jb;
#pragma omp simd
    for (index_t k = 0; k < w; ++k) s[k] += static_cast<double>(r[k]);
  }
}

// q[k] = sum_i (x(i, jb + k) - mean[k])^2.
inline void centered_squares_block(const float* x, index_t rows, index_t cols, index_t jb,
                                   index_t w, const double* mean, double* q) {
  for (index_t k = 0; k < w; ++k) q[k] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const float* r = x + i * cols + jb;
#pragma omp simd
    for (index_t k = 0; k < w; ++k) {
      const double d = static_cast<double>(r[k]) - mean[k];
      q[k] += d * d;
    }
  }
}

// s1[k] = sum_i dy(i, jb + k), s2[k] = sum_i dy(i, jb + k) xhat(i, jb + k).
inline void grad_sums_block(const float* dy, const float* x, index_t rows, index_t cols, index_t jb,
                            index_t w, const float* mean, const float* invstd, double* s1,
                            double* s2) {
  for (index_t k = 0; k < w; ++k) s1[k] = s2[k] = 0.0;
  for (index_t i = 0; i < rows; ++i) {
    const float* d = dy + i * cols + jb;
    const float* xr = x + i * cols + jb;
#pragma omp simd
    for (index_t k = 0; k < w; ++k) {
      const float xh = (xr[k] - mean[jb + k]) * invstd[jb + k];
      s1[k] += static_cast<double>(d[k]);
      s2[k] += static_cast<double>(d[k]) * static_cast<double>(xh);
    }
  }
}

// The statistics of columns [j0, j1) into a.mean / a.invstd (and the moving ones in Batch mode).
inline void bn_stats(const float* x, index_t rows, index_t cols, index_t j0, index_t j1,
                     const BatchNormArgs& a) {
  if (a.mode != NormMode::Batch) {
    for (index_t j = j0; j < j1; ++j) {
      const double v = a.moving_var[j];
      const double sd = a.mode == NormMode::Moving ? std::sqrt(v + static_cast<double>(a.eps))
                                                   : std::max(std::sqrt(v), double{a.eps});
      a.mean[j] = a.moving_mean[j];
      a.invstd[j] = static_cast<float>(1.0 / sd);
    }
    return;
  }
  double s[kBlock], q[kBlock];
  const double* given = a.batch_stats;  // every rank's sums: the same arithmetic on them
  const double inv_n = 1.0 / (given ? a.batch_count : static_cast<double>(rows));
  for (index_t jb = j0; jb < j1; jb += kBlock) {
    const index_t w = std::min(kBlock, j1 - jb);
    if (given) {
      for (index_t k = 0; k < w; ++k) {
        s[k] = given[jb + k];
        q[k] = given[cols + jb + k];
      }
      for (index_t k = 0; k < w; ++k) s[k] *= inv_n;  // the mean
    } else {
      column_sums_block(x, rows, cols, jb, w, s);
      for (index_t k = 0; k < w; ++k) s[k] *= inv_n;  // the mean
      centered_squares_block(x, rows, cols, jb, w, s, q);
    }
    const double m = a.momentum;
    for (index_t k = 0; k < w; ++k) {
      const double var = q[k] * inv_n;
      const index_t j = jb + k;
      a.mean[j] = static_cast<float>(s[k]);
      a.invstd[j] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(a.eps)));
      if (a.moving_mean) {
        a.moving_mean[j] = static_cast<float>(a.moving_mean[j] * m + s[k] * (1.0 - m));
        a.moving_var[j] = static_cast<float>(a.moving_var[j] * m + var * (1.0 - m));
      }
    }
  }
}

inline void bn_forward_cols(const float* x, float* y, index_t rows, index_t cols, index_t j0,
                            index_t j1, const BatchNormArgs& a) {
  bn_stats(x, rows, cols, j0, j1, a);
  const float* mean = a.mean;
  const float* invstd = a.invstd;
  const float* g = a.gamma;
  const float* b = a.beta;
  for (index_t i = 0; i < rows; ++i) {
    const float* xr = x + i * cols;
    float* yr = y + i * cols;
#pragma omp simd
    for (index_t j = j0; j < j1; ++j) {
      const float xh = (xr[j] - mean[j]) * invstd[j];
      yr[j] = (g ? xh * g[j] : xh) + (b ? b[j] : 0.f);
    }
  }
}

inline void bn_backward_cols(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                             index_t j0, index_t j1, const BatchNormArgs& a, float* dgamma,
                             float* dbeta) {
  const float* mean = a.mean;
  const float* invstd = a.invstd;
  const float* g = a.gamma;
  double s1[kBlock], s2[kBlock];
  float c1[kBlock], c2[kBlock], scale[kBlock];
  const bool batch = a.mode == NormMode::Batch;
  for (index_t jb = j0; jb < j1; jb += kBlock) {
    const index_t w = std::min(kBlock, j1 - jb);
    const double* given = batch ? a.grad_means : nullptr;
    grad_sums_block(dy, x, rows, cols, jb, w, mean, invstd, s1, s2);
    const double inv_n = 1.0 / static_cast<double>(std::max<index_t>(rows, 1));
    for (index_t k = 0; k < w; ++k) {
      const index_t j = jb + k;
      if (dbeta) dbeta[j] = static_cast<float>(s1[k]);
      if (dgamma) dgamma[j] = static_cast<float>(s2[k]);
      scale[k] = (g ? g[j] : 1.f) * invstd[j];
      c1[k] = given   ? static_cast<float>(given[j])
              : batch ? static_cast<float>(s1[k] * inv_n)
                      : 0.f;
      c2[k] = given   ? static_cast<float>(given[cols + j])
              : batch ? static_cast<float>(s2[k] * inv_n)
                      : 0.f;
    }
    for (index_t i = 0; i < rows; ++i) {
      const float* d = dy + i * cols + jb;
      const float* xr = x + i * cols + jb;
      float* o = dx + i * cols + jb;
#pragma omp simd
      for (index_t k = 0; k < w; ++k) {
        const float xh = (xr[k] - mean[jb + k]) * invstd[jb + k];
        o[k] = scale[k] * (d[k] - c1[k] - xh * c2[k]);
      }
    }
  }
}

inline void bn_stat_sums_cols(const float* x, index_t rows, index_t cols, index_t j0, index_t j1,
                              const double* sum, double count, double* out) {
  double c[kBlock];
  const double inv_n = 1.0 / count;
  for (index_t jb = j0; jb < j1; jb += kBlock) {
    const index_t w = std::min(kBlock, j1 - jb);
    if (sum) {  // bn_stats's second pass, about the global mean
      for (index_t k = 0; k < w; ++k) c[k] = sum[jb + k];
      for (index_t k = 0; k < w; ++k) c[k] *= inv_n;
      centered_squares_block(x, rows, cols, jb, w, c, out + jb);
    } else {
      column_sums_block(x, rows, cols, jb, w, out + jb);
    }
  }
}

inline void bn_grad_sums_cols(const float* dy, const float* x, index_t rows, index_t cols,
                              index_t j0, index_t j1, const BatchNormArgs& a, double* out) {
  for (index_t jb = j0; jb < j1; jb += kBlock) {
    const index_t w = std::min(kBlock, j1 - jb);
    grad_sums_block(dy, x, rows, cols, jb, w, a.mean, a.invstd, out + jb, out + cols + jb);
  }
}

// sum_j f(j) over a row in kLanes interleaved double lanes, added in lane order.
template <class F>
inline double lane_sum(index_t cols, F f) {
  double acc[kLanes] = {};
  index_t j = 0;
  for (; j + kLanes <= cols; j += kLanes) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) acc[l] += f(j + l);
  }
  for (int l = 0; j < cols; ++j, ++l) acc[l] += f(j);
  double s = 0.0;
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

inline void ln_forward_rows(const float* x, float* y, index_t cols, index_t r0, index_t r1,
                            const float* gamma, const float* beta, float eps, float* mean,
                            float* rstd) {
  const double inv_n = 1.0 / static_cast<double>(cols);
  for (index_t r = r0; r < r1; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    const double mu = lane_sum(cols, [&](index_t j) { return double{xr[j]}; }) * inv_n;
    const double var = lane_sum(cols,
                                [&](index_t j) {
                                  const double d = double{xr[j]} - mu;
                                  return d * d;
                                }) *
                       inv_n;
    const float m = static_cast<float>(mu);
    const float rs = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    mean[r] = m;
    rstd[r] = rs;
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) {
      const float xh = (xr[j] - m) * rs;
      yr[j] = (gamma ? xh * gamma[j] : xh) + (beta ? beta[j] : 0.f);
    }
  }
}

inline void ln_backward_rows(const float* dy, const float* x, float* dx, index_t cols, index_t r0,
                             index_t r1, const float* gamma, const float* mean, const float* rstd) {
  const double inv_n = 1.0 / static_cast<double>(cols);
  for (index_t r = r0; r < r1; ++r) {
    const float* d = dy + r * cols;
    const float* xr = x + r * cols;
    float* o = dx + r * cols;
    const float m = mean[r], rs = rstd[r];
    auto gdy = [&](index_t j) { return gamma ? d[j] * gamma[j] : d[j]; };
    const float c1 =
        static_cast<float>(lane_sum(cols, [&](index_t j) { return double{gdy(j)}; }) * inv_n);
    const float c2 = static_cast<float>(
        lane_sum(cols, [&](index_t j) { return double{gdy(j)} * double{(xr[j] - m) * rs}; }) *
        inv_n);
#pragma omp simd
    for (index_t j = 0; j < cols; ++j) {
      const float xh = (xr[j] - m) * rs;
      o[j] = rs * (gdy(j) - c1 - xh * c2);
    }
  }
}

inline void ln_param_grad_cols(const float* dy, const float* x, index_t rows, index_t cols,
                               index_t j0, index_t j1, const float* mean, const float* rstd,
                               float* dgamma, float* dbeta) {
  double s1[kBlock], s2[kBlock];
  for (index_t jb = j0; jb < j1; jb += kBlock) {
    const index_t w = std::min(kBlock, j1 - jb);
    for (index_t k = 0; k < w; ++k) s1[k] = s2[k] = 0.0;
    for (index_t i = 0; i < rows; ++i) {
      const float* d = dy + i * cols + jb;
      const float* xr = x + i * cols + jb;
      const float m = mean[i], rs = rstd[i];
#pragma omp simd
      for (index_t k = 0; k < w; ++k) {
        s1[k] += static_cast<double>(d[k]);
        s2[k] += static_cast<double>(d[k]) * static_cast<double>((xr[k] - m) * rs);
      }
    }
    for (index_t k = 0; k < w; ++k) {
      if (dbeta) dbeta[jb + k] = static_cast<float>(s1[k]);
      if (dgamma) dgamma[jb + k] = static_cast<float>(s2[k]);
    }
  }
}

inline const NormKernels& table() {
  static const NormKernels k{bn_forward_cols,   bn_backward_cols, bn_stat_sums_cols,
                             bn_grad_sums_cols, ln_forward_rows,  ln_backward_rows,
                             ln_param_grad_cols};
  return k;
}

}  // namespace norm
}  // namespace FN_SIMD_NS
}  // namespace fusednet

FN_SIMD_NO_TRAPPING_MATH_END
