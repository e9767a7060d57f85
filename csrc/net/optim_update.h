// One optimizer update of a Net's arena, as Keras 3's apply_gradients does it: the gradient
// clipping's reduction pass first (clipnorm: each variable's norm; global_clipnorm: the norm of
// all of them), then the step itself -- one pass over each run of trainable variables that share
// a clip scale (the whole arena in one call when every variable is trainable and no per-variable
// norm is set), the clip and the weight decay fused into the step kernel -- then the EMA of the
// weights (use_ema) and its overwrite every ema_overwrite_frequency updates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "common.h"
#include "net/backend.h"
#include "net/spec.h"

namespace fusednet {

// The trainable ranges (offset, size) of an arena of n parameters: o.variables, or [0, n).
inline std::vector<std::pair<index_t, index_t>> optimizer_ranges(const OptimSpec& o, index_t n) {
  std::vector<std::pair<index_t, index_t>> r;
  if (o.variables.empty()) {
    r.emplace_back(0, n);
    return r;
  }
  for (std::size_t i = 0; i + 1 < o.variables.size(); i += 2)
    r.emplace_back(o.variables[i], o.variables[i + 1]);
  return r;
}

// ValueError unless o.variables are (offset, size) pairs inside an arena of n parameters.
inline void check_optimizer_variables(const OptimSpec& o, index_t n, index_t layers) {
  FN_CHECK(o.variables.size() % 2 == 0,
           "variables: expected (offset, size) pairs, got an odd count ", o.variables.size());
  for (std::size_t i = 0; i < o.variables.size(); i += 2) {
    const index_t off = o.variables[i], size = o.variables[i + 1];
    FN_CHECK(off >= 0 && size >= 0 && off <= n && size <= n - off, "variables: range (", off, ", ",
             size, ") is outside the arena of ", n, " parameters");
  }
  FN_CHECK(!(o.clipnorm > 0 && o.global_clipnorm > 0) && !(o.clipnorm > 0 && o.clipvalue > 0) &&
               !(o.global_clipnorm > 0 && o.clipvalue > 0),
           "clipnorm, global_clipnorm, clipvalue: expected at most one of them set (Keras)");
  FN_CHECK(o.constraints.size() % 7 == 0, "constraints: expected 7 values per constraint");
  for (std::size_t i = 0; i < o.constraints.size(); i += 7) {
    const double* c = &o.constraints[i];
    FN_CHECK(c[0] >= 0 && c[0] <= 3, "constraints: kind ", c[0], " is not a constraint");
    FN_CHECK(c[1] >= 0 && c[2] >= 0 && c[3] >= 0 && c[1] + c[2] * c[3] <= static_cast<double>(n),
             "constraints: variable (", c[1], ", ", c[2], " x ", c[3], ") is outside the arena of ",
             n, " parameters");
  }
  FN_CHECK(o.regularizers.size() % 4 == 0, "regularizers: expected 4 values per regularizer");
  for (std::size_t i = 0; i < o.regularizers.size(); i += 4) {
    const double* r = &o.regularizers[i];
    FN_CHECK(r[0] >= 0 && r[1] >= 0 && r[0] + r[1] <= static_cast<double>(n),
             "regularizers: variable (", r[0], ", ", r[1], ") is outside the arena of ", n,
             " parameters");
    FN_CHECK(r[2] >= 0 && r[3] >= 0 && std::isfinite(r[2]) && std::isfinite(r[3]),
             "regularizers: expected l1, l2 >= 0, got ", r[2], ", ", r[3]);
  }
  FN_CHECK(o.activity_regularizers.size() % 3 == 0,
           "activity_regularizers: expected 3 values per regularizer");
  for (std::size_t i = 0; i < o.activity_regularizers.size(); i += 3) {
    const double* r = &o.activity_regularizers[i];
    FN_CHECK(r[0] >= 0 && r[0] + 1 < static_cast<double>(layers),
             "activity_regularizers: expected a hidden layer's index in [0, ", layers - 1,
             "), got ", r[0]);
    FN_CHECK(r[1] >= 0 && r[2] >= 0 && std::isfinite(r[1]) && std::isfinite(r[2]),
             "activity_regularizers: expected l1, l2 >= 0, got ", r[1], ", ", r[2]);
  }
  FN_CHECK(o.ema_momentum >= 0.0 && o.ema_momentum <= 1.0,
           "ema_momentum: expected a number in [0, 1], got ", o.ema_momentum);
  FN_CHECK(o.ema_overwrite_frequency >= 0,
           "ema_overwrite_frequency: expected an integer >= 0, got ", o.ema_overwrite_frequency);
}

// What every update of one optimizer reuses, set once by make_optimizer_plan (an update then
// allocates nothing): the trainable ranges, the state arenas' pointers, room for the clip scales.
struct OptimizerPlan {
  std::vector<std::pair<index_t, index_t>> ranges;
  std::vector<std::pair<double, double>> scale;  // per range: (mul, div) of g = g * mul / div
  // The rule's state arenas (math/optim.h's rule_states of them), then the EMA arena.
  std::vector<float*> states;
};

inline OptimizerPlan make_optimizer_plan(const OptimSpec& o, index_t n,
                                         std::vector<float*> states) {
  OptimizerPlan plan;
  plan.ranges = optimizer_ranges(o, n);
  plan.scale.resize(plan.ranges.size());
  plan.states = std::move(states);
  return plan;
}

inline void optimizer_apply(Backend& be, const OptimSpec& o, float* params, const float* grads,
                            OptimizerPlan& plan, std::int64_t step, double lr) {
  const auto& ranges = plan.ranges;
  const auto& states = plan.states;
  const double inf = std::numeric_limits<double>::infinity();
  const double clip_value = o.clipvalue > 0 ? o.clipvalue : inf;
  auto& scale = plan.scale;
  std::fill(scale.begin(), scale.end(), std::pair<double, double>{1.0, 1.0});
  if (o.clipnorm > 0) {
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const double l2sum = be.sum_squares(grads + ranges[i].first, ranges[i].second);
      const double norm = l2sum > 0 ? std::sqrt(l2sum) : l2sum;  // NaN stays NaN
      scale[i] = {o.clipnorm, std::isnan(norm) ? norm : std::max(norm, o.clipnorm)};
    }
  } else if (o.global_clipnorm > 0) {
    double total = 0.0;
    for (const auto& r : ranges) total += be.sum_squares(grads + r.first, r.second);
    const double use_norm = std::sqrt(total);
    // Keras: clip_norm * min(1 / norm, 1 / clip_norm), NaN for a norm that is not finite.
    const double s = o.global_clipnorm * std::min(1.0 / use_norm, 1.0 / o.global_clipnorm) +
                     (use_norm - use_norm);
    for (auto& sc : scale) sc = {std::isnan(use_norm) ? use_norm : s, 1.0};
  }
  const int used = static_cast<int>(states.size()) - (o.use_ema ? 1 : 0);
  const auto step_run = [&](index_t off, index_t size, std::pair<double, double> sc) {
    float* st[3] = {nullptr, nullptr, nullptr};
    for (int k = 0; k < used && k < 3; ++k) st[k] = states[static_cast<std::size_t>(k)] + off;
    be.optimizer_step(o, params + off, grads + off, st, size, step, lr, sc.first, sc.second,
                      clip_value);
  };
  // Runs of adjacent ranges with the same scale go in one call.
  std::size_t i = 0;
  while (i < ranges.size()) {
    index_t off = ranges[i].first, end = off + ranges[i].second;
    std::size_t j = i + 1;
    while (j < ranges.size() && ranges[j].first == end && scale[j] == scale[i])
      end += ranges[j++].second;
    if (end > off) step_run(off, end - off, scale[i]);
    i = j;
  }
  if (o.use_ema) {
    // Keras: momentum 0 at the first update (the average starts as the weights).
    float* ema = states.back();
    const double m = step == 0 ? 0.0 : o.ema_momentum;
    const bool overwrite =
        o.ema_overwrite_frequency > 0 && (step + 1) % o.ema_overwrite_frequency == 0;
    for (const auto& r : ranges) {
      be.ema_update(ema + r.first, params + r.first, r.second, m);
      if (overwrite)
        be.copy(params + r.first, ema + r.first,
                sizeof(float) * static_cast<std::size_t>(r.second));
    }
  }
  // Keras's optimizer.apply ends with the constraints, after the EMA.
  for (std::size_t i = 0; i < o.constraints.size(); i += 7) {
    const double* c = &o.constraints[i];
    be.constrain(static_cast<int>(c[0]), params + static_cast<index_t>(c[1]),
                 static_cast<index_t>(c[2]), static_cast<index_t>(c[3]), static_cast<float>(c[4]),
                 static_cast<float>(c[5]), static_cast<float>(c[6]));
  }
}

// The regularizers' penalty at the current weights added to a batch's loss slot (backend
// memory), as Keras adds the layers' losses to the loss it reports (training and evaluation).
// outputs: each layer's output (rows x units[i], backend memory) for the activity regularizers.
inline void add_regularization_loss(Backend& be, const OptimSpec& o, const float* params,
                                    double* slot, const std::vector<Buffer>& outputs,
                                    const std::vector<DenseSpec>& layers, index_t rows) {
  if (o.regularizers.empty() && o.activity_regularizers.empty()) return;
  double penalty = 0.0;
  for (std::size_t i = 0; i < o.regularizers.size(); i += 4) {
    const double* r = &o.regularizers[i];
    penalty +=
        be.penalty_sum(params + static_cast<index_t>(r[0]), static_cast<index_t>(r[1]), r[2], r[3]);
  }
  for (std::size_t i = 0; i < o.activity_regularizers.size() && rows > 0; i += 3) {
    const double* r = &o.activity_regularizers[i];
    const std::size_t k = static_cast<std::size_t>(r[0]);
    penalty += be.penalty_sum(outputs[k].as<float>(), rows * layers[k].units, r[1], r[2]) /
               static_cast<double>(rows);
  }
  double loss = 0.0;
  be.download(&loss, slot, sizeof(double));
  loss += penalty;
  be.upload(slot, &loss, sizeof(double));
}

// Layer k's activity regularizer's gradient (l1 sign(a) + 2 l2 a) / rows added to the delta of
// its output a (rows x units), in backward.
inline void add_activity_grad(Backend& be, const OptimSpec& o, index_t k, const float* a,
                              float* delta, index_t rows, index_t units) {
  for (std::size_t i = 0; i < o.activity_regularizers.size() && rows > 0; i += 3) {
    const double* r = &o.activity_regularizers[i];
    if (static_cast<index_t>(r[0]) != k) continue;
    be.penalty_grad(a, delta, rows * units, static_cast<float>(r[1] / static_cast<double>(rows)),
                    static_cast<float>(r[2] / static_cast<double>(rows)));
  }
}

// The regularizers' gradient added to the gradient arena (before a training update).
inline void add_regularization_grad(Backend& be, const OptimSpec& o, const float* params,
                                    float* grads) {
  for (std::size_t i = 0; i < o.regularizers.size(); i += 4) {
    const double* r = &o.regularizers[i];
    const index_t off = static_cast<index_t>(r[0]);
    be.penalty_grad(params + off, grads + off, static_cast<index_t>(r[1]), static_cast<float>(r[2]),
                    static_cast<float>(r[3]));
  }
}

}  // namespace fusednet
