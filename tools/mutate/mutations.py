"""The curated mutations of tools/mutate/run.py: realistic single-point bugs, each one the
suite must catch. Grow it with each kernel or feature (the kinds of bug it could have).

Each entry: id (unique, stable), area (kernels, net, bind, python), file (from the repository
root), old (an exact snippet occurring once in that file), new (its replacement), tests (the
pytest arguments that must catch it: files, node ids, -k), why (the bug it stands for).
"""

from __future__ import annotations

M = []


def mut(id, area, file, old, new, tests, why):
    M.append(dict(id=id, area=area, file=file, old=old, new=new, tests=tests, why=why))


R_IMPL = "csrc/kernels/cpu/reduce_impl.h"
METRIC = "csrc/kernels/math/metric.h"
OPTIM = "csrc/kernels/math/optim.h"
OPTIM_VEC = "csrc/kernels/cpu/optim_impl.h"
ACT = "csrc/kernels/math/activation.h"
ACT_IMPL = "csrc/kernels/cpu/activation_impl.h"
LOSS = "csrc/kernels/cpu/loss.cpp"
GEMM = "csrc/kernels/cpu/gemm.cpp"
GEMM_IMPL = "csrc/kernels/cpu/gemm_impl.h"
SPEC = "csrc/net/spec.cpp"
SPEC_H = "csrc/net/spec.h"
NET = "csrc/net/net.cpp"
FEED = "csrc/net/data_feed.cpp"
BACKEND = "csrc/net/backend_cpu.cpp"
T_REDUCE = ["tests/test_reduce.py"]
T_OPTIM = ["tests/test_optim.py"]
T_FIT = ["tests/test_fit_invariants.py"]
T_MODEL = ["tests/test_model.py", "tests/test_fit_invariants.py"]

# ---- kernels: reductions, metrics ----------------------------------------------------------------
mut(
    "bias-narrow-offset",
    "kernels",
    R_IMPL,
    "case 4: return bias_grad_narrow<4>(dy + j0, db + j0, rows, cols);",
    "case 4: return bias_grad_narrow<4>(dy + j0, db, rows, cols);",
    T_REDUCE,
    "the narrow kernel of a last 4-column slab writes at the slab's start, not at j0",
)
mut(
    "bias-narrow-stride",
    "kernels",
    R_IMPL,
    "for (index_t i = 0; i < rows; ++i, dy += cols) {",
    "for (index_t i = 0; i < rows; ++i, dy += kCols) {",
    T_REDUCE,
    "the narrow kernel steps by its own width, not the row stride",
)
mut(
    "bias-block-tail",
    "kernels",
    R_IMPL,
    "const index_t w = std::min(kBiasWidth, j1 - jb);",
    "const index_t w = std::min(kBiasWidth, j1 - j0);",
    T_REDUCE,
    "the last 2048-column block of a wide slab takes the slab's width",
)
mut(
    "bias-grad-accumulates",
    "kernels",
    R_IMPL,
    "for (index_t k = 0; k < w; ++k) db[jb + k] = static_cast<float>(acc[k]);",
    "for (index_t k = 0; k < w; ++k) db[jb + k] += static_cast<float>(acc[k]);",
    T_FIT + T_REDUCE,
    "the bias gradient adds to the previous step's instead of replacing it",
)
mut(
    "argmax-nan",
    "kernels",
    R_IMPL,
    "nan |= xr[j] != xr[j];",
    "nan |= 0;",
    T_REDUCE,
    "argmax forgets that a NaN counts as the maximum",
)
mut(
    "metric-tie-last",
    "kernels",
    METRIC,
    "if (r[j] > r[best] || (is_nan(r[j]) && !is_nan(r[best]))) best = j;",
    "if (r[j] >= r[best] || (is_nan(r[j]) && !is_nan(r[best]))) best = j;",
    T_MODEL,
    "accuracy's argmax gives a tie to the last maximum",
)
mut(
    "metric-threshold",
    "kernels",
    METRIC,
    "s += (pred[j] > threshold ? 1.f : 0.f) == target[j] ? 1 : 0;",
    "s += (pred[j] >= threshold ? 1.f : 0.f) == target[j] ? 1 : 0;",
    T_MODEL,
    "binary accuracy counts an output exactly on the threshold as class 1",
)
mut(
    "metric-mae-sign",
    "kernels",
    METRIC,
    "s += kind == 4 || kind == 7 ? e * e : (e < 0 ? -e : e);",
    "s += kind == 4 || kind == 7 ? e * e : e;",
    ["tests/test_model.py"],
    "MAE sums signed errors",
)
# ---- kernels: optimizers -------------------------------------------------------------------------
mut(
    "adam-bias-correction-1",
    "kernels",
    OPTIM,
    'c.step_size = f32_coeff(lr / bc1, "lr / (1 - beta1**step) (Adam\'s step size)");',
    'c.step_size = f32_coeff(lr, "lr / (1 - beta1**step) (Adam\'s step size)");',
    T_OPTIM,
    "Adam without the first moment's bias correction",
)
mut(
    "adam-vector-bias-correction-2",
    "kernels",
    OPTIM_VEC,
    "const typename V::reg denom = V::fmadd(V::sqrt(v), k.inv_sqrt_bc2, k.eps);",
    "const typename V::reg denom = V::add(V::sqrt(v), k.eps);",
    T_OPTIM,
    "the vector Adam without the second moment's bias correction",
)
mut(
    "adamw-decay-factor",
    "kernels",
    OPTIM,
    'c.decay_factor = f32_coeff(1.0 - lr * weight_decay, "1 - lr * weight_decay");',
    'c.decay_factor = f32_coeff(1.0 - weight_decay, "1 - lr * weight_decay");',
    T_OPTIM,
    "AdamW's decoupled decay not scaled by the learning rate",
)
mut(
    "sgd-nesterov-scalar",
    "kernels",
    OPTIM,
    "update = nesterov ? g + c.momentum * vn : vn;",
    "update = nesterov ? vn + c.momentum * g : vn;",
    T_OPTIM,
    "Nesterov's look-ahead with the roles of g and velocity swapped (generic ISA)",
)
mut(
    "sgd-nesterov-vector",
    "kernels",
    OPTIM_VEC,
    "update = Nesterov ? V::fmadd(k.momentum, vel, g) : vel;",
    "update = Nesterov ? V::fmadd(k.momentum, g, vel) : vel;",
    T_OPTIM,
    "the same in the vector kernels (AVX2, AVX-512)",
)
mut(
    "adam-vector-tail",
    "kernels",
    OPTIM_VEC,
    "    V::masked_store(m + i, t, mv);\n    V::masked_store(v + i, t, vv);",
    "    V::masked_store(v + i, t, vv);",
    T_OPTIM,
    "the vector tail does not save the first moment (state not saved)",
)
mut(
    "sgd-vector-decay-sign",
    "kernels",
    OPTIM_VEC,
    "if (UseDecay) g = V::fmadd(k.wd, p, g);",
    "if (UseDecay) g = V::fnmadd(k.wd, p, g);",
    T_OPTIM,
    "the vector SGD's L2 decay pushes the weights outwards",
)
# ---- kernels: activations, losses, gemm ----------------------------------------------------------
mut(
    "leaky-grad-slope",
    "kernels",
    ACT,
    "return x > 0.0f ? 1.0f : (x <= 0.0f ? a : x);",
    "return x > 0.0f ? 1.0f : (x <= 0.0f ? 0.0f : x);",
    ["tests/test_activation.py"],
    "leaky_relu's derivative is 0 on the left, as relu's",
)
mut(
    "tanh-grad-from-output",
    "kernels",
    ACT,
    "return (1.0f - y) * (1.0f + y);  // = 1 - y^2",
    "return (1.0f - y) * (1.0f - y);  // = 1 - y^2",
    ["tests/test_activation.py", "tests/test_model.py"],
    "tanh's derivative from the output with a wrong factor",
)
mut(
    "softmax-tail-sum",
    "kernels",
    ACT_IMPL,
    "      for (; j < cols; ++j) z += exp_f(xr[j] - m);",
    "      for (; j + 1 < cols; ++j) z += exp_f(xr[j] - m);",
    ["tests/test_activation.py"],
    "log_softmax's normaliser misses the last column past the lanes",
)
mut(
    "softmax-grad-center",
    "kernels",
    ACT_IMPL,
    "for (index_t i = 0; i < cols; ++i) dxr[i] = exp_f(xr[i] - m) * inv * (dyr[i] - c);",
    "for (index_t i = 0; i < cols; ++i) dxr[i] = exp_f(xr[i] - m) * inv * dyr[i];",
    ["tests/test_activation.py"],
    "softmax's backward without the <dy, p> term",
)
mut(
    "loss-reduce-tail",
    "kernels",
    "csrc/kernels/cpu/loss_kernels.h",
    "for (; i < rows; ++i) s0 += row_loss[i];",
    "for (; i + 1 < rows; ++i) s0 += row_loss[i];",
    ["tests/test_loss.py"],
    "the fixed-order sum drops the last row when rows is not a multiple of 4",
)
mut(
    "loss-mean-divides",
    "kernels",
    LOSS,
    "  if (reduction == Reduction::Mean && rows > 0) base /= static_cast<double>(rows);",
    "",
    ["tests/test_loss.py"],
    "the gradient of a mean loss is not divided by the row count",
)
mut(
    "loss-column-block",
    "kernels",
    LOSS,
    "row_loss[b] = block_sum(begin, std::min(kBlock, rows - begin));",
    "row_loss[b] = block_sum(begin, kBlock);",
    ["tests/test_loss.py"],
    "the one-column path's last block runs past the rows",
)
mut(
    "ce-confident-gradient",
    "kernels",
    LOSS,
    "if (z[label] == r.max) dz[label] = -coef * (r.rest / r.sum);",
    "if (z[label] == r.max) dz[label] = coef * (1.0f / r.sum - 1.0f);",
    ["tests/test_loss.py"],
    "the cancelling form: a confident right answer's tiny gradient rounds to 0",
)
mut(
    "gemm-beta0-reads-c",
    "kernels",
    GEMM,
    "float v = p.beta == 0.0f ? 0.0f : p.beta * c;",
    "float v = p.beta * c;",
    ["tests/test_gemm.py", "tests/test_gemm_cpu.py"],
    "K == 0 with beta == 0 reads C (NaN in C propagates)",
)
mut(
    "gemm-edge-bias",
    "kernels",
    GEMM_IMPL,
    "for (index_t j = 0; j < n; ++j) bias_pad[j] = ep.bias[j];",
    "for (index_t j = 0; j + 1 < n; ++j) bias_pad[j] = ep.bias[j];",
    ["tests/test_gemm.py", "tests/test_gemm_cpu.py"],
    "an edge tile's last column gets no bias",
)
mut(
    "gemm-edge-store",
    "kernels",
    GEMM_IMPL,
    "        for (index_t j = 0; j < n; ++j) c[i * rs_c + j * cs_c] = tmp[i * NR + j];",
    "        for (index_t j = 0; j + 1 < n; ++j) c[i * rs_c + j * cs_c] = tmp[i * NR + j];",
    ["tests/test_gemm.py", "tests/test_gemm_cpu.py"],
    "an edge tile's last column is never stored",
)
mut(
    "gemm-full-row-blocks",
    "kernels",
    GEMM_IMPL,
    "    for (; i + MR <= mc; i += MR)\n      packed<MR>(",
    "    for (; i + MR < mc; i += MR)\n      packed<MR>(",
    ["tests/test_gemm.py", "tests/test_gemm_cpu.py"],
    "off by one: a last full block of MR rows goes to the tail, which has no MR-row case",
)
mut(
    "gemm-edge-relu",
    "kernels",
    GEMM_IMPL,
    "        if (ep.act == kTileReLU) v = V::max(zero, v);\n        else if",
    "        if (ep.act == kTileReLU && direct) v = V::max(zero, v);\n        else if",
    ["tests/test_gemm.py", "tests/test_gemm_cpu.py"],
    "the relu epilogue skipped on edge tiles",
)
# ---- net -----------------------------------------------------------------------------------------
mut(
    "shuffle-same-every-epoch",
    "net",
    SPEC,
    "nethash::stream_key(seed, nethash::kPurposeShuffle, static_cast<std::uint64_t>(epoch), 0);",
    "nethash::stream_key(seed, nethash::kPurposeShuffle, 0, 0);",
    T_FIT,
    "every epoch repeats epoch 0's order",
)
mut(
    "shuffle-biased",
    "net",
    SPEC,
    "below(mix64(key + static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(i + 1)));",
    "below(mix64(key + static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(n)));",
    T_FIT,
    "the naive Fisher-Yates (swap with any index): a biased permutation",
)
mut(
    "shuffle-sattolo",
    "net",
    SPEC,
    "below(mix64(key + static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(i + 1)));",
    "below(mix64(key + static_cast<std::uint64_t>(i)), static_cast<std::uint64_t>(i)));",
    T_FIT,
    "off by one (j < i): only cyclic permutations",
)
mut(
    "shuffle-counter",
    "net",
    NET,
    "    ++epochs_shuffled;\n",
    "",
    T_FIT + ["tests/test_io.py"],
    "the epoch counter is never advanced: the same order every epoch",
)
mut(
    "gather-offset",
    "net",
    FEED,
    "const std::int64_t* idx = order_ + start;",
    "const std::int64_t* idx = order_;",
    T_FIT,
    "every shuffled batch gathers the first batch's rows",
)
mut(
    "metric-mean-per-element",
    "net",
    SPEC,
    "default:  // binary accuracy, MAE, MSE: one figure per element\n"
    "        out.push_back(div_no_nan(s[0], ccols));",
    "default:  // binary accuracy, MAE, MSE: one figure per element\n"
    "        out.push_back(div_no_nan(s[0], c));",
    ["tests/test_model.py", "tests/test_fit_invariants.py", "tests/test_net.py"],
    "per-element metrics (binary accuracy, MAE, MSE) averaged per row",
)
mut(
    "fused-threshold",
    "net",
    NET,
    "logits ? 0.f : (kind == MetricKind::BinaryAccuracy ? spec.threshold : 0.5f);",
    "(kind == MetricKind::BinaryAccuracy ? spec.threshold : 0.5f);",
    ["tests/test_model.py", "tests/test_fit_invariants.py"],
    "logits of a fused sigmoid compared with 0.5 instead of 0",
)
mut(
    "bias-grad-skipped",
    "net",
    NET,
    "if (L.use_bias) backend_->bias_grad(dz, grads() + b_off_[k], rows, L.units);",
    "if (L.use_bias && i > 0) backend_->bias_grad(dz, grads() + b_off_[k], rows, L.units);",
    T_MODEL,
    "the first layer's bias gradient is never computed",
)
mut(
    "grads-accumulate",
    "net",
    BACKEND,
    "gemm_cpu(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, 0.f, C, N, 1, ep);",
    "gemm_cpu(M, N, K, 1.f, A, rs_a, cs_a, B, rs_b, cs_b, ep.bias ? 0.f : 1.f, C, N, 1, ep);",
    T_FIT,
    "products without a bias (the weight gradients, dx) accumulate into stale buffers",
)
mut(
    "lr-schedule-index",
    "net",
    NET,
    "apply_update(train->lrs ? train->lrs[b] : train->lr);",
    "apply_update(train->lrs ? train->lrs[0] : train->lr);",
    ["tests/test_schedules.py", "tests/test_model.py"],
    "every batch of an epoch gets the epoch's first scheduled rate",
)
mut(
    "dropout-backward-site",
    "net",
    NET,
    "dropout(dprev, dprev, rows, P.units, P.dropout_after, i, last_counter_);",
    "dropout(dprev, dprev, rows, P.units, P.dropout_after, i + 1, last_counter_);",
    ["tests/test_model.py"],
    "the backward pass draws another layer's dropout mask",
)
mut(
    "step-not-counted",
    "net",
    NET,
    "                           num_params_, step, lr);\n  ++step;",
    "                           num_params_, step, lr);",
    ["tests/test_optimizers_api.py", "tests/test_model.py"],
    "the optimizer step counter never advances (Adam stays at t = 1, schedules stall)",
)
# ---- python --------------------------------------------------------------------------------------
mut(
    "checkpoint-always-saves",
    "python",
    "python/fusednet/callbacks/model_checkpoint.py",
    "            if not improved:\n                if self.verbose > 0:",
    "            if not improved and False:\n                if self.verbose > 0:",
    ["tests/test_model_callbacks.py", "tests/test_callbacks.py"],
    "save_best_only saves every epoch",
)
mut(
    "checkpoint-best-not-kept",
    "python",
    "python/fusednet/callbacks/model_checkpoint.py",
    "            self.best = current\n",
    "",
    ["tests/test_model_callbacks.py", "tests/test_callbacks.py"],
    "the best value is not remembered: every epoch counts as an improvement",
)
mut(
    "early-stopping-patience",
    "python",
    "python/fusednet/callbacks/early_stopping.py",
    "if self.wait >= self.patience and epoch > 0:",
    "if self.wait > self.patience and epoch > 0:",
    ["tests/test_callbacks.py", "tests/test_model_callbacks.py"],
    "off by one: stops one epoch late",
)
mut(
    "early-stopping-min-delta",
    "python",
    "python/fusednet/callbacks/early_stopping.py",
    "return value + self.min_delta < reference",
    "return value - self.min_delta < reference",
    ["tests/test_callbacks.py", "tests/test_model_callbacks.py"],
    "min_delta loosens instead of tightening the improvement test",
)
mut(
    "validation-split-first",
    "python",
    "python/fusednet/model/_inputs.py",
    "(x[split:], y[split:], None if sw is None else sw[split:]),",
    "(x[:n - split], y[:n - split], None if sw is None else sw[:n - split]),",
    ["tests/test_model.py", "tests/test_model_bad_inputs.py"],
    "validation_split takes the first samples, not the last (Keras)",
)
mut(
    "schedule-staircase",
    "python",
    "python/fusednet/schedules.py",
    "p = np.floor(p) if is_array else math.floor(p)",
    "p = p",
    ["tests/test_schedules.py"],
    "staircase decay decays continuously",
)
mut(
    "lrs-off-by-one",
    "python",
    "python/fusednet/optimizers.py",
    "steps = np.arange(start, start + count, dtype=np.float64)",
    "steps = np.arange(start + 1, start + count + 1, dtype=np.float64)",
    ["tests/test_schedules.py", "tests/test_model.py"],
    "the scheduled rates start one step late",
)
mut(
    "save-no-shuffle-counter",
    "python",
    "python/fusednet/io.py",
    '        net.epochs_shuffled = counters["epochs_shuffled"]\n',
    "",
    ["tests/test_io.py"],
    "a loaded model restarts its shuffles from epoch 0 (state not saved)",
)
mut(
    "save-no-optimizer-state",
    "python",
    "python/fusednet/io.py",
    '                arrays["opt_" + name] = arr\n',
    "                pass\n",
    ["tests/test_io.py"],
    "the optimizer's moments are not saved: resumed training differs",
)
mut(
    "accuracy-kind",
    "python",
    "python/fusednet/metrics.py",
    "return BINARY_ACCURACY if units == 1 else CATEGORICAL_ACCURACY",
    "return CATEGORICAL_ACCURACY",
    ["tests/test_model.py", "tests/test_losses_api.py", "tests/test_fit_invariants.py"],
    "accuracy on a 1-unit mse model as an argmax (always 1)",
)
mut(
    "progbar-format",
    "python",
    "python/fusednet/callbacks/progbar.py",
    'return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"',
    'return f"{v:.3f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"',
    ["tests/test_progbar.py", "tests/test_model_callbacks.py"],
    "the progress line rounds to 3 decimals (not Keras's 4)",
)
mut(
    "tape-persistent",
    "python",
    "python/fusednet/tape.py",
    "if self._used and not self.persistent:",
    "if self._used:",
    ["tests/test_tape.py"],
    "a persistent tape refuses a second gradient",
)
mut(
    "optim-empty-skips-checks",
    "python",
    "python/fusednet/ops/_optim.py",
    '        m_ = _inplace(m, "m", p_.shape)\n',
    "        if p_.size == 0:  # nothing to update\n"
    "            return param\n"
    '        m_ = _inplace(m, "m", p_.shape)\n',
    ["tests/test_optim.py"],
    "an early return for empty arrays skips the argument checks",
)
mut(
    "dropout-rate-check",
    "python",
    "python/fusednet/layers.py",
    "not isinstance(rate, numbers.Real) or not 0 <= rate < 1:",
    "not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:",
    ["tests/test_layers.py", "tests/test_model_bad_inputs.py"],
    "Dropout(1.0) accepted: 1 / (1 - rate) divides by zero",
)
# ---- bindings ------------------------------------------------------------------------------------
mut(
    "bind-stride",
    "bind",
    "csrc/bind/util.h",
    "    v.strides.insert(v.strides.begin(), s);",
    "    v.strides.insert(v.strides.begin(), n == 1 ? s : expect / n);",
    ["tests/test_gemm.py", "tests/test_reduce.py", "tests/test_activation.py"],
    "a view's strides taken as those of a C-contiguous array",
)
mut(
    "bind-gemm-overlap",
    "bind",
    "csrc/bind/bind_gemm.cpp",
    "    if (overlaps(a, c)) copy(a_obj, a, names.a);",
    "",
    ["tests/test_gemm.py"],
    "an input aliasing out is read while C is written",
)
