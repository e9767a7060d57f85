// KernelBackend<K>: the Backend primitives that are the same calls on every device, written once
// over K, one device's kernel entry points under device-independent names (static callables:
// activation_forward, activation_backward, activation_backward_from_output, softmax_forward,
// softmax_backward, bias_grad, batch_norm_forward, batch_norm_backward, batch_norm_stat_sums,
// batch_norm_grad_sums, layer_norm_forward, layer_norm_backward, sgd_step, adam_step, with the
// signatures of kernels/cpu.h). Each device's backend file derives from it and adds memory, gemm,
// losses, metrics, masks, gathers.
#pragma once

#include <cmath>

#include "net/backend.h"

namespace fusednet {

template <class K>
class KernelBackend : public Backend {
 public:
  void activate(Activation act, float param, const float* x, float* y, index_t rows,
                index_t cols) override {
    if (act == Activation::Softmax) K::softmax_forward(x, y, rows, cols, false);
    else K::activation_forward(act, param, x, y, rows * cols);
  }
  void activation_grad(Activation act, float param, const float* dy, const float* x, float* dx,
                       index_t rows, index_t cols, bool from_output) override {
    if (act == Activation::Softmax) K::softmax_backward(dy, x, dx, rows, cols, false);
    else if (from_output) K::activation_backward_from_output(act, param, dy, x, dx, rows * cols);
    else K::activation_backward(act, param, dy, x, dx, rows * cols);
  }
  void bias_grad(const float* dy, float* db, index_t rows, index_t cols) override {
    K::bias_grad(dy, db, rows, cols);
  }
  void batch_norm(const float* x, float* y, index_t rows, index_t cols,
                  const BatchNormArgs& a) override {
    K::batch_norm_forward(x, y, rows, cols, a);
  }
  void batch_norm_grad(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                       const BatchNormArgs& a, float* dgamma, float* dbeta) override {
    K::batch_norm_backward(dy, x, dx, rows, cols, a, dgamma, dbeta);
  }
  void batch_norm_stat_sums(const float* x, index_t rows, index_t cols, const double* sum,
                            double count, double* out) override {
    K::batch_norm_stat_sums(x, rows, cols, sum, count, out);
  }
  void batch_norm_grad_sums(const float* dy, const float* x, index_t rows, index_t cols,
                            const BatchNormArgs& a, double* out) override {
    K::batch_norm_grad_sums(dy, x, rows, cols, a, out);
  }
  void layer_norm(const float* x, float* y, index_t rows, index_t cols, const float* gamma,
                  const float* beta, float eps, float* mean, float* rstd) override {
    K::layer_norm_forward(x, y, rows, cols, gamma, beta, eps, mean, rstd);
  }
  void layer_norm_grad(const float* dy, const float* x, float* dx, index_t rows, index_t cols,
                       const float* gamma, const float* mean, const float* rstd, float* dgamma,
                       float* dbeta) override {
    K::layer_norm_backward(dy, x, dx, rows, cols, gamma, mean, rstd, dgamma, dbeta);
  }
  void optimizer_step(const OptimSpec& spec, float* param, const float* grad, float* const* states,
                      index_t n, std::int64_t step, double lr, double clip_mul, double clip_div,
                      double clip_value) override {
    const optmath::Rule rule = optim_rule(spec);
    const bool plain = clip_mul == 1.0 && clip_div == 1.0 && std::isinf(clip_value) &&
                       rule != optmath::Rule::AdamAmsgrad &&
                       (spec.kind == OptimKind::SGD || spec.kind == OptimKind::Adam ||
                        spec.kind == OptimKind::AdamW);
    if (plain) {  // the dedicated SGD / Adam kernels
      optimizer_update(spec, param, grad, states[0], states[1], n, step, lr, K::sgd_step,
                       K::adam_step);
      return;
    }
    optmath::RuleArgs a;
    a.rule = rule;
    a.step = step + 1;
    a.lr = lr;
    a.beta1 =
        spec.kind == OptimKind::RMSprop || spec.kind == OptimKind::Adadelta ? spec.rho : spec.beta1;
    a.beta2 = spec.beta2;
    a.momentum = spec.momentum;
    a.eps = spec.eps;
    a.weight_decay = spec.weight_decay;
    a.decoupled = spec.kind == OptimKind::AdamW;
    a.clip_mul = clip_mul;
    a.clip_div = clip_div;
    a.clip_value = clip_value;
    const optmath::RuleCoeffs c = optmath::rule_coeffs(a);
    const int used = optmath::rule_states(rule);
    K::optim_rule_step(c, param, grad, used > 0 ? states[0] : nullptr,
                       used > 1 ? states[1] : nullptr, used > 2 ? states[2] : nullptr, n);
  }
  void ema_update(float* avg, const float* p, index_t n, double momentum) override {
    K::ema_update(avg, p, n, momentum);
  }
  void penalty_grad(const float* w, float* g, index_t n, float l1, float l2) override {
    K::penalty_grad(w, g, n, l1, l2);
  }
  void constrain(int kind, float* w, index_t rows, index_t cols, float min_value, float max_value,
                 float rate) override {
    K::constrain(kind, w, rows, cols, min_value, max_value, rate);
  }
};

}  // namespace fusednet
