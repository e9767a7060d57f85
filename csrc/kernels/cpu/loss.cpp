// Losses: the reduced value and its gradient w.r.t. the first argument, in one pass per row.
//
// Shapes: pred / logits / targets / dlogits are contiguous [rows, cols]; labels [rows] int64;
// sample_weight [rows] or nullptr. Per-row loss L_i, weighted by w_i:
//   mse:          L_i = mean_j (p_ij - t_ij)^2             dL/dp_ij = 2 (p_ij - t_ij) / cols
//   bce (logits): L_i = mean_j softplus(z_ij) - t_ij z_ij  dL/dz_ij = (sigmoid(z_ij) - t_ij) / cols
//                 with softplus(z) = max(z, 0) + log1p(exp(-|z|)) (never overflows)
//   softmax CE:   L_i = lse(z_i) - z_i,label               dL/dz_ij = softmax(z_i)_j - [j == label]
//   soft targets: L_i = sum_j t_ij (lse(z_i) - z_ij)       dL/dz_ij = (sum_j t_ij) softmax_j - t_ij
//                 lse(z) = m + log sum_j exp(z_j - m), m = max_j z_j (never overflows)
// Reduction: Sum = sum_i w_i L_i; Mean = that / rows (0 for rows == 0, like Keras). The gradient
// is that of the reduced value, so it carries w_i and 1/rows.
//
// Rows are independent: the thread pool splits them; each row's loss goes (in double) into the
// caller's row_loss workspace, which is then summed in a fixed order, so the value does not depend
// on the thread count. Within a row the arithmetic is the same whoever computes it. With one
// column a row is one element, so those paths take rows in blocks instead of one call per row.
//
// Layout: the per-row reference kernels below (the generic table), loss_avx2.cpp's vector rows
// (the table of AVX2 and AVX-512 machines), then the launchers.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cpu/loss_kernels.h"
#include "runtime/thread_pool.h"

namespace fusednet {
namespace {

// Below this many elements a fork/join costs more than the loss itself.
constexpr index_t kParallelMin = 1 << 15;

// The factor every gradient element of row i carries: w_i, 1/rows for Mean, and `per_row`
// (1/cols for the column means), computed in double and rounded once.
struct RowScale {
  double base;  // 1 or 1/rows, times per_row
  const float* weight;
  double weight_of(index_t i) const { return weight ? static_cast<double>(weight[i]) : 1.0; }
};

RowScale make_scale(const float* sample_weight, index_t rows, Reduction reduction, double per_row) {
  double base = per_row;
  if (reduction == Reduction::Mean && rows > 0) base /= static_cast<double>(rows);
  return RowScale{base, sample_weight};
}

// The one-column paths, where a row is one element: block_sum(begin, count) returns the weighted
// loss of fixed blocks of rows; the block sums go into row_loss[0, blocks) and are summed in
// block order (thread-independent), and Mean still divides by rows.
template <typename BlockSum>
double sum_row_blocks(index_t rows, Reduction reduction, double* row_loss, BlockSum block_sum) {
  constexpr index_t kBlock = 4096;
  const index_t blocks = ceil_div(rows, kBlock);
  const int threads = rows >= kParallelMin ? num_threads() : 1;
  parallel_for(blocks, 1, threads, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b) {
      const index_t begin = b * kBlock;
      row_loss[b] = block_sum(begin, std::min(kBlock, rows - begin));
    }
  });
  const double total = reduce_rows(row_loss, blocks, Reduction::Sum);
  return reduction == Reduction::Mean && rows > 0 ? total / static_cast<double>(rows) : total;
}

// Runs row_fn(i) for every row, split across threads when the work is large enough.
template <typename RowFn>
void for_each_row(index_t rows, index_t cols, RowFn row_fn) {
  const bool big = rows > 1 && rows * std::max<index_t>(cols, 1) >= kParallelMin;
  const int threads = big ? num_threads() : 1;
  // Pieces of about 4 per thread: few enough to cost nothing, enough to even out a slow core.
  parallel_for(rows, ceil_div(rows, 4 * static_cast<index_t>(threads)), threads,
               [&](index_t i0, index_t i1) {
                 for (index_t i = i0; i < i1; ++i) row_fn(i);
               });
}

// ---- per-row kernels ---------------------------------------------------------------------------

// sum_j (p - t)^2 over the row; writes dp_j = coef (p_j - t_j).
double mse_row(const float* FN_RESTRICT p, const float* FN_RESTRICT t, float* FN_RESTRICT dp,
               index_t cols, float coef) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (index_t j = 0; j < cols; ++j) {
    const float d = p[j] - t[j];
    sum += static_cast<double>(d) * static_cast<double>(d);
    dp[j] = coef * d;
  }
  return sum;
}

// One column, n rows, without a call per element: returns sum_i w_i (p_i - t_i)^2 and writes
// dp_i = float(base w_i) (p_i - t_i).
double mse_column(const float* FN_RESTRICT p, const float* FN_RESTRICT t,
                  const float* FN_RESTRICT w, float* FN_RESTRICT dp, index_t n, double base) {
  double sum = 0.0;
#pragma omp simd reduction(+ : sum)
  for (index_t i = 0; i < n; ++i) {
    const double wi = w ? static_cast<double>(w[i]) : 1.0;
    const float d = p[i] - t[i];
    sum += wi * (static_cast<double>(d) * static_cast<double>(d));
    dp[i] = static_cast<float>(base * wi) * d;
  }
  return sum;
}

// sum_j softplus(z) - t z over the row; writes dz_j = coef (sigmoid(z_j) - t_j).
double bce_row_generic(const float* FN_RESTRICT z, const float* FN_RESTRICT t,
                       float* FN_RESTRICT dz, index_t cols, float coef) {
  double sum = 0.0;
  for (index_t j = 0; j < cols; ++j) {
    const float zj = z[j], tj = t[j];
    const float e = std::exp(-std::fabs(zj));  // in (0, 1]: no overflow on either branch
    const float small = e / (1.0f + e);  // sigmoid(-|z|)
    // sigmoid(z) - t as (1 - t) - sigmoid(-z) for z >= 0: keeps the tiny gradient of a confident
    // right answer (t = 1, z >> 0) instead of rounding 1/(1 + e) to 1 and getting 0.
    const float diff = zj >= 0.0f ? (1.0f - tj) - small : small - tj;
    // max(z,0) - t z first: exact cancellation for t = 1, z >> 0 (instead of (z + tiny) - z).
    const float linear = std::max(zj, 0.0f) - tj * zj;
    sum += static_cast<double>(linear) + static_cast<double>(std::log1p(e));
    dz[j] = coef * diff;
  }
  return sum;
}

// Row max and sum_j exp(z_j - max); stores exp(z_j - max) in e (the gradient row).
RowLse softmax_exp_row_generic(const float* FN_RESTRICT z, float* FN_RESTRICT e, index_t cols) {
  float mx = -std::numeric_limits<float>::infinity();
  for (index_t j = 0; j < cols; ++j) mx = std::max(mx, z[j]);
  float ties = 0.0f, others = 0.0f;  // count of z_j == max (exp = 1), sum of the other terms
  for (index_t j = 0; j < cols; ++j) {
    e[j] = std::exp(z[j] - mx);
    if (z[j] == mx) ties += 1.0f;
    else others += e[j];  // NaN lands here
  }
  return {mx, ties + others, (ties - 1.0f) + others};
}

void scale_row_generic(float* x, index_t cols, float s) {
  for (index_t j = 0; j < cols; ++j) x[j] *= s;
}

double bce_column_generic(const float* z, const float* t, const float* w, float* dz, index_t n,
                          double base) {
  double sum = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const double wi = w ? static_cast<double>(w[i]) : 1.0;
    sum += wi * bce_row_generic(z + i, t + i, dz + i, 1, static_cast<float>(base * wi));
  }
  return sum;
}

}  // namespace

const LossKernels& loss_kernels_generic() {
  static const LossKernels k{softmax_exp_row_generic, scale_row_generic, bce_row_generic,
                             bce_column_generic};
  return k;
}

// AVX-512 machines run the AVX2 rows.
const LossKernels& loss_kernels(CpuIsa isa) {
  return pick_kernels(isa, &loss_kernels_generic, FN_X86_KERNELS(loss_kernels_avx2),
                      FN_X86_KERNELS(loss_kernels_avx512));
}

namespace {

// Sparse label: returns lse - z_label; dz = coef (softmax - onehot(label)).
double softmax_ce_row(const LossKernels& k, const float* FN_RESTRICT z, std::int64_t label,
                      float* FN_RESTRICT dz, index_t cols, float coef) {
  const RowLse r = k.softmax_exp(z, dz, cols);
  k.scale(dz, cols, coef / r.sum);
  // softmax_label - 1 = -(sum - e_label) / sum; at the max that is -rest / sum, which keeps the
  // tiny gradient of a confident right answer (1/sum - 1 would round to 0).
  if (z[label] == r.max) dz[label] = -coef * (r.rest / r.sum);
  else dz[label] -= coef;
  return std::log1p(static_cast<double>(r.rest)) +
         (static_cast<double>(r.max) - static_cast<double>(z[label]));
}

// Soft targets: returns sum_j t_j (lse - z_j); dz = coef ((sum_j t_j) softmax - t).
double softmax_ce_soft_row(const LossKernels& k, const float* FN_RESTRICT z,
                           const float* FN_RESTRICT t, float* FN_RESTRICT dz, index_t cols,
                           float coef) {
  const RowLse r = k.softmax_exp(z, dz, cols);
  double t_sum = 0.0, tz_sum = 0.0;  // sum t_j, sum t_j (max - z_j)
#pragma omp simd reduction(+ : t_sum, tz_sum)
  for (index_t j = 0; j < cols; ++j) {
    t_sum += static_cast<double>(t[j]);
    tz_sum += static_cast<double>(t[j]) * (static_cast<double>(r.max) - static_cast<double>(z[j]));
  }
  const float scale = static_cast<float>(static_cast<double>(coef) * t_sum / r.sum);
  for (index_t j = 0; j < cols; ++j) dz[j] = scale * dz[j] - coef * t[j];
  // At the max (e_j = 1): t_sum / sum - t_j = ((t_sum - t_j) - t_j rest) / sum, without the
  // cancellation for a one-hot target on a confident row (as in softmax_ce_row).
  for (index_t j = 0; j < cols; ++j)
    if (z[j] == r.max) {
      const double tj = static_cast<double>(t[j]);
      dz[j] = static_cast<float>(
          static_cast<double>(coef) *
          (((t_sum - tj) - tj * static_cast<double>(r.rest)) / static_cast<double>(r.sum)));
    }
  return t_sum * std::log1p(static_cast<double>(r.rest)) + tz_sum;
}

// The elementwise losses (mse, binary cross-entropy): each row's loss is the mean over its columns
// of an elementwise term, weighted. column(begin, count, weights, base) sums w_i * term over the
// rows [begin, begin + count) of a one-column batch (the blocked fast path); row(offset, coef) is
// one row's sum of terms, writing its gradient scaled by coef. grad_factor: d term / d input's
// constant (2 for mse, 1 for bce).
template <typename Column, typename Row>
double elementwise_loss(const float* sample_weight, index_t rows, index_t cols, Reduction reduction,
                        double* row_loss, double grad_factor, Column column, Row row) {
  const double inv_cols = cols > 0 ? 1.0 / static_cast<double>(cols) : 0.0;
  const RowScale s = make_scale(sample_weight, rows, reduction, grad_factor * inv_cols);
  if (cols == 1)
    return sum_row_blocks(rows, reduction, row_loss, [&](index_t begin, index_t count) {
      return column(begin, count, sample_weight ? sample_weight + begin : nullptr, s.base);
    });
  for_each_row(rows, cols, [&](index_t i) {
    const double w = s.weight_of(i);
    const double sum = row(i * cols, static_cast<float>(s.base * w));
    row_loss[i] = w * sum * inv_cols;
  });
  return reduce_rows(row_loss, rows, reduction);
}

}  // namespace

// ---- launchers ---------------------------------------------------------------------------------

double mse_cpu(const float* pred, const float* target, const float* sample_weight, float* dpred,
               index_t rows, index_t cols, Reduction reduction, double* row_loss) {
  return elementwise_loss(
      sample_weight, rows, cols, reduction, row_loss, 2.0,
      [&](index_t begin, index_t count, const float* w, double base) {
        return mse_column(pred + begin, target + begin, w, dpred + begin, count, base);
      },
      [&](index_t off, float coef) {
        return mse_row(pred + off, target + off, dpred + off, cols, coef);
      });
}

double binary_cross_entropy_cpu(const float* logits, const float* targets,
                                const float* sample_weight, float* dlogits, index_t rows,
                                index_t cols, Reduction reduction, double* row_loss) {
  const LossKernels& k = loss_kernels(active_cpu_isa());
  return elementwise_loss(
      sample_weight, rows, cols, reduction, row_loss, 1.0,
      [&](index_t begin, index_t count, const float* w, double base) {
        return k.bce_column(logits + begin, targets + begin, w, dlogits + begin, count, base);
      },
      [&](index_t off, float coef) {
        return k.bce(logits + off, targets + off, dlogits + off, cols, coef);
      });
}

double softmax_cross_entropy_cpu(const float* logits, const std::int64_t* labels,
                                 const float* sample_weight, float* dlogits, index_t rows,
                                 index_t cols, Reduction reduction, double* row_loss) {
  // Checked up front, before any thread starts on the rows.
  check_has_columns("logits", rows, cols);
  for (index_t i = 0; i < rows; ++i)
    FN_CHECK(labels[i] >= 0 && labels[i] < cols, "labels: expected class indices in [0, ", cols,
             "), got ", labels[i], " at row ", i);
  const RowScale s = make_scale(sample_weight, rows, reduction, 1.0);
  const LossKernels& k = loss_kernels(active_cpu_isa());
  for_each_row(rows, cols, [&](index_t i) {
    const double w = s.weight_of(i);
    const index_t off = i * cols;
    row_loss[i] = w * softmax_ce_row(k, logits + off, labels[i], dlogits + off, cols,
                                     static_cast<float>(s.base * w));
  });
  return reduce_rows(row_loss, rows, reduction);
}

double softmax_cross_entropy_soft_cpu(const float* logits, const float* targets,
                                      const float* sample_weight, float* dlogits, index_t rows,
                                      index_t cols, Reduction reduction, double* row_loss) {
  check_has_columns("logits", rows, cols);
  const RowScale s = make_scale(sample_weight, rows, reduction, 1.0);
  const LossKernels& k = loss_kernels(active_cpu_isa());
  for_each_row(rows, cols, [&](index_t i) {
    const double w = s.weight_of(i);
    const index_t off = i * cols;
    row_loss[i] = w * softmax_ce_soft_row(k, logits + off, targets + off, dlogits + off, cols,
                                          static_cast<float>(s.base * w));
  });
  return reduce_rows(row_loss, rows, reduction);
}

}  // namespace fusednet
