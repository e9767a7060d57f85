// The pair losses (kernels/types.h's PairLoss: mae, mape, msle, huber, log_cosh, hinge,
// squared_hinge, poisson, kld, bce from probabilities, categorical_hinge, cosine_similarity):
// the reduced value and its gradient w.r.t. the prediction, in one pass per row.
//
// Shapes: pred / target / dpred contiguous [rows, cols]; sample_weight [rows] or nullptr. Row
// loss L_i = mean_j term(p_ij, t_ij) (kld and the row-wise two: a sum), weighted by w_i; Sum:
// sum_i w_i L_i; Mean: that / rows (0 for no rows). Formulas: kernels/math/loss.h; the same
// header is CUDA's (cuda/loss.cu), so both devices compute the same terms.
//
// Rows are independent and split over threads in fixed pieces; each row's loss goes (in double)
// into row_loss, summed afterwards in a fixed order (loss_kernels.h's reduce_rows): the value
// and the gradient do not depend on the thread count. pair_loss_impl.h holds the row loops, this
// file compiles them for the baseline target and holds the launcher.
#include <algorithm>

#include "kernels/checks.h"
#include "kernels/cpu.h"
#include "kernels/cpu/loss_kernels.h"
#include "kernels/cpu/pair_loss_impl.h"
#include "runtime/thread_pool.h"

namespace fusednet {

const PairLossKernels& pair_loss_kernels_generic() { return FN_SIMD_NS::pair_loss::table(); }

const PairLossKernels& pair_loss_kernels(CpuIsa isa) {
  return pick_kernels(isa, &pair_loss_kernels_generic, FN_X86_KERNELS(pair_loss_kernels_avx2),
                      FN_X86_KERNELS(pair_loss_kernels_avx512));
}

double pair_loss_cpu(PairLoss kind, float param, const float* pred, const float* target,
                     const float* sample_weight, float* dpred, index_t rows, index_t cols,
                     Reduction reduction, double* row_loss) {
  check_pair_loss(kind, param, rows, cols);
  if (rows == 0) return 0.0;
  double base = lossmath::sums_row(kind) ? 1.0 : 1.0 / static_cast<double>(cols);
  if (reduction == Reduction::Mean) base /= static_cast<double>(rows);
  const PairLossKernels& k = pair_loss_kernels(active_cpu_isa());
  // Pieces of ~16K elements of whole rows: the split never changes a row's arithmetic.
  const index_t per = std::max<index_t>(1, (index_t{1} << 14) / cols);
  const index_t pieces = ceil_div(rows, per);
  const int threads = pieces >= 2 ? num_threads() : 1;
  parallel_for(pieces, 1, threads, [&](index_t b0, index_t b1) {
    for (index_t b = b0; b < b1; ++b)
      k.rows(kind, param, pred, target, sample_weight, dpred, b * per,
             std::min(rows, (b + 1) * per), cols, base, row_loss);
  });
  return reduce_rows(row_loss, rows, reduction);
}

}  // namespace fusednet
