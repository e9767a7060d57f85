// Runs a CPU Net and a CUDA Net (whose backend calls the host launchers of mock_cuda.cpp) side by
// side on the same data and checks they agree: parameters and losses bit for bit, accuracies
// exactly, MAE/MSE to 1e-12.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "net/net.h"

using namespace fusednet;

static int failures = 0;
#define CHECK(cond, ...)                               \
  do {                                                 \
    if (!(cond)) {                                     \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      std::printf(__VA_ARGS__);                        \
      std::printf("\n");                               \
      ++failures;                                      \
    }                                                  \
  } while (0)

struct Case {
  const char* name;
  std::vector<DenseSpec> layers;
  float input_dropout;
  LossSpec loss;
  OptimSpec opt;
  std::vector<MetricSpec> metrics;
  bool shuffle;
  bool weighted;
};

static DenseSpec D(index_t in, index_t units, Activation act, float drop = 0.f, bool bias = true,
                   float param = 0.f) {
  DenseSpec s;
  s.in = in;
  s.units = units;
  s.act = act;
  s.dropout_after = drop;
  s.use_bias = bias;
  s.act_param = param;
  return s;
}

// A layer of another kind (units == in): an Activation, a normalization.
static DenseSpec K(LayerKind kind, index_t width, Activation act = Activation::Linear,
                   float drop = 0.f) {
  DenseSpec s = D(width, width, act, drop);
  s.kind = kind;
  s.momentum = 0.9f;
  return s;
}

// How the CUDA net gets its data: resident, or streamed in chunks of 1 batch / about 2 batches / all
// at once; with hold_data on for the HELD modes.
enum Mode { kResident, kStream1, kStream2, kStreamAll, kHeldResident, kHeldStream2, kModes };
static const char* mode_name(int m) {
  static const char* names[] = {"resident",     "streamed 1",    "streamed 2",
                                "streamed all", "held resident", "held streamed 2"};
  return names[m];
}

static void run(const Case& c, int mode) {
  const bool streamed = mode != kResident && mode != kHeldResident;
  const index_t n = 203, d = 12, bs = 16;
  std::mt19937 gen(42);
  std::normal_distribution<float> nd;
  std::uniform_real_distribution<float> ud(0.5f, 1.5f);
  std::vector<float> X(n * d), sw(n);
  for (auto& v : X) v = nd(gen);
  for (auto& v : sw) v = ud(gen);
  const index_t out = c.layers.back().units;
  std::vector<std::int64_t> labels(n);
  std::vector<float> values(n * out);
  for (index_t i = 0; i < n; ++i) {
    labels[i] = static_cast<std::int64_t>(gen() % out);
    for (index_t j = 0; j < out; ++j)
      values[i * out + j] =
          c.loss.kind == LossKind::MSE || c.loss.kind == LossKind::Huber ? nd(gen)
          : c.loss.kind == LossKind::CategoricalCE || c.loss.kind == LossKind::CategoricalHinge
              ? (j == labels[i] ? 1.f : 0.f)
              : float(gen() % 2);
  }
  Targets t;
  if (c.loss.kind == LossKind::SparseCE) t.labels = labels.data();
  else {
    t.values = values.data();
    t.cols = out;
  }
  const float* w = c.weighted ? sw.data() : nullptr;

  Net cpu(c.layers, c.input_dropout, 99, Device::Cpu);
  Net gpu(c.layers, c.input_dropout, 99, Device::Cuda);
  cpu.compile(c.loss, c.metrics);
  gpu.compile(c.loss, c.metrics);
  if (streamed) gpu.data().max_resident_bytes = 0;
  if (mode == kStream1) gpu.data().stream_chunk_bytes = 1;
  if (mode == kStream2 || mode == kHeldStream2) gpu.data().stream_chunk_bytes = 2500;
  if (mode == kHeldResident || mode == kHeldStream2) gpu.data().hold(true);
  const index_t np = cpu.num_params();
  CHECK(np == gpu.num_params(), "num_params");
  for (index_t i = 0; i < np; ++i) cpu.params()[i] = 0.3f * nd(gen);
  gpu.set_params(cpu.params());
  const index_t ns = cpu.num_stats();
  for (index_t i = 0; i < ns; ++i) cpu.stats()[i] = 0.5f + 0.1f * float(i % 7);  // variances > 0
  gpu.set_stats(cpu.stats());
  std::vector<float> stats(ns);
  cpu.set_optimizer(c.opt);
  gpu.set_optimizer(c.opt);
  std::vector<float> p(np), g(np), st(np);
  auto same_params = [&](const char* when) {
    gpu.get_params(p.data());
    for (index_t i = 0; i < np; ++i)
      if (p[i] != cpu.params()[i]) {
        CHECK(false, "%s (%s) %s: param %ld: %g vs %g", c.name, mode_name(mode), when, long(i),
              cpu.params()[i], p[i]);
        return;
      }
    gpu.get_stats(stats.data());
    for (index_t i = 0; i < ns; ++i)
      if (stats[i] != cpu.stats()[i]) {
        CHECK(false, "%s (%s) %s: statistic %ld differs", c.name, mode_name(mode), when, long(i));
        return;
      }
    gpu.get_grads(g.data());
    for (index_t i = 0; i < np; ++i)
      if (g[i] != cpu.grads()[i]) {
        CHECK(false, "%s %s: grad %ld differs", c.name, when, long(i));
        return;
      }
    for (int s = 0; s < cpu.num_optimizer_states(); ++s) {
      gpu.get_optimizer_state(s, st.data());
      for (index_t i = 0; i < np; ++i)
        if (st[i] != cpu.optimizer_state(s)[i]) {
          CHECK(false, "%s %s: state %d[%ld] differs", c.name, when, s, long(i));
          return;
        }
    }
  };
  auto same_stats = [&](const EpochStats& a, const EpochStats& b, const char* when) {
    CHECK(a.loss == b.loss, "%s (%s) %s: loss %.17g vs %.17g", c.name, mode_name(mode), when,
          a.loss, b.loss);
    CHECK(a.batches == b.batches, "%s %s: batches", c.name, when);
    for (size_t m = 0; m < a.metrics.size(); ++m)  // MAE/MSE: summed per row on the device
      CHECK(std::fabs(a.metrics[m] - b.metrics[m]) <= 1e-12 * std::fabs(a.metrics[m]),
            "%s %s: metric %zu %.17g vs %.17g", c.name, when, m, a.metrics[m], b.metrics[m]);
  };
  std::vector<float> lrs(ceil_div(n, bs));
  for (size_t i = 0; i < lrs.size(); ++i) lrs[i] = 0.01f / (1 + i);
  HostData h;
  h.X = X.data();
  h.y = t;
  h.sw = w;
  h.n = n;
  for (int e = 0; e < 2; ++e) {
    EpochStats a = cpu.train_epoch(h, bs, c.shuffle, e ? lrs.data() : nullptr, 0.01f, BatchHook{});
    EpochStats b = gpu.train_epoch(h, bs, c.shuffle, e ? lrs.data() : nullptr, 0.01f, BatchHook{});
    same_stats(a, b, "train_epoch");
    same_params("after train_epoch");
  }
  {  // fit (two epochs, validation) and a hooked epoch that stops after 3 batches
    std::vector<EpochStats> tr, va;
    HostData hv = h;
    hv.n = 50;
    gpu.fit(h, bs, 2, c.shuffle, nullptr, 0.01f, &hv, 32, &tr, &va);
    for (int e = 0; e < 2; ++e) {
      same_stats(cpu.train_epoch(h, bs, c.shuffle, nullptr, 0.01f, BatchHook{}), tr[e], "fit");
      same_stats(cpu.evaluate(hv, 32), va[e], "fit val");
    }
    same_params("after fit");
    std::vector<double> la, lb;
    auto stop3a = [&](index_t b, double l, const std::vector<double>&) {
      la.push_back(l);
      return b < 2;
    };
    auto stop3b = [&](index_t b, double l, const std::vector<double>&) {
      lb.push_back(l);
      return b < 2;
    };
    same_stats(cpu.train_epoch(h, bs, c.shuffle, nullptr, 0.01f, stop3a),
               gpu.train_epoch(h, bs, c.shuffle, nullptr, 0.01f, stop3b), "hooked epoch");
    CHECK(la == lb && la.size() == 3, "%s: hook losses", c.name);
    same_params("after hooked epoch");
    // A progress-display hook (an interval longer than the epoch): called for the last batch only.
    std::vector<index_t> ba, bb;
    la.clear();
    lb.clear();
    BatchHook slow_a(
        [&](index_t b, double l, const std::vector<double>&) {
          ba.push_back(b);
          la.push_back(l);
          return true;
        },
        1e9);
    BatchHook slow_b(
        [&](index_t b, double l, const std::vector<double>&) {
          bb.push_back(b);
          lb.push_back(l);
          return true;
        },
        1e9);
    same_stats(cpu.train_epoch(h, bs, c.shuffle, nullptr, 0.01f, slow_a),
               gpu.train_epoch(h, bs, c.shuffle, nullptr, 0.01f, slow_b), "throttled hook epoch");
    CHECK(ba == bb && bb.size() == 1 && bb[0] == ceil_div(n, bs) - 1 && la == lb,
          "%s: throttled hook", c.name);
    same_params("after throttled hook epoch");
  }
  same_stats(cpu.evaluate(h, 37), gpu.evaluate(h, 37), "evaluate");
  std::vector<float> pa(n * out), pb(n * out, -1.f);
  cpu.predict(X.data(), n, 29, pa.data());
  gpu.predict(X.data(), n, 29, pb.data());
  CHECK(pa == pb, "%s (%s): predict", c.name, mode_name(mode));
  gpu.data().hold(false);
  // Explicit loop: forward / output / loss / output grad / backward / update.
  cpu.forward(X.data(), 40, true);
  gpu.forward(X.data(), 40, true);
  std::vector<float> oa(40 * out), ob(40 * out);
  cpu.output(oa.data());
  gpu.output(ob.data());
  CHECK(oa == ob, "%s: output", c.name);
  Targets t40 = t;
  const double la = cpu.loss(t40, w, c.loss), lb = gpu.loss(t40, w, c.loss);
  CHECK(la == lb, "%s: loss %.17g vs %.17g", c.name, la, lb);
  std::vector<float> da(cpu.output_grad(), cpu.output_grad() + 40 * out), db(40 * out);
  gpu.get_output_grad(db.data());
  CHECK(da == db, "%s: output grad", c.name);
  for (auto& v : da) v *= 0.5f;
  std::copy(da.begin(), da.end(), cpu.output_grad());
  gpu.set_output_grad(da.data());
  cpu.backward(c.loss);
  gpu.backward(c.loss);
  cpu.apply_update(0.02f);
  gpu.apply_update(0.02f);
  same_params("after explicit step");
  CHECK(cpu.step == gpu.step && cpu.train_forwards == gpu.train_forwards &&
            cpu.epochs_shuffled == gpu.epochs_shuffled,
        "%s: counters", c.name);
}

int main() {
  using A = Activation;
  OptimSpec adam;
  OptimSpec sgd;
  sgd.kind = OptimKind::SGD;
  sgd.momentum = 0.9f;
  sgd.nesterov = true;
  OptimSpec plain;
  plain.kind = OptimKind::SGD;
  OptimSpec adamw;
  adamw.kind = OptimKind::AdamW;
  adamw.weight_decay = 0.01f;
  // Keras's other optimizers through the rule kernel, with the clip norms' reduction pass, the
  // EMA arena, a regularizer and a constraint on the first kernel (offset 0, 12 x 7).
  OptimSpec nadam;
  nadam.kind = OptimKind::Nadam;
  nadam.global_clipnorm = 0.5;
  nadam.weight_decay = 0.01;
  nadam.use_ema = true;
  nadam.ema_overwrite_frequency = 3;
  nadam.regularizers = {0, 84, 0.01, 0.02};
  nadam.constraints = {1, 0, 12, 7, 0, 0.5, 1};
  nadam.activity_regularizers = {0, 0.01, 0.02};
  OptimSpec rms;
  rms.kind = OptimKind::RMSprop;
  rms.momentum = 0.5;
  rms.centered = true;
  rms.clipnorm = 0.3;
  rms.constraints = {0, 0, 12, 7, 0, 0, 1};
  // The vector-state metrics (AUC's buckets, thresholds compared one by one, F1, R2) and the
  // top-k / RMSE / MAPE row sums.
  auto spec = [](MetricKind k) { return MetricSpec(k); };
  MetricSpec auc = spec(MetricKind::AUC);
  auc.thresholds.push_back(-1e-7f);
  for (int i = 1; i < 199; ++i) auc.thresholds.push_back(static_cast<float>(i / 199.0));
  auc.thresholds.push_back(1.0000001f);
  auc.evenly = auc.with_epsilon = true;
  MetricSpec auc_pr_ml = auc;
  auc_pr_ml.curve = 1;
  auc_pr_ml.multi_label = true;
  MetricSpec prec = spec(MetricKind::Precision);
  prec.thresholds = {0.2f, 0.5f, 0.9f};
  MetricSpec rec_topk = spec(MetricKind::Recall);
  rec_topk.thresholds = {-1e10f};
  rec_topk.top_k = 2;
  MetricSpec f1 = spec(MetricKind::F1);
  MetricSpec f1_thr = spec(MetricKind::F1);
  f1_thr.has_threshold = true;
  f1_thr.average = 3;
  MetricSpec r2 = spec(MetricKind::R2);
  r2.class_aggregation = 0;
  MetricSpec topk = spec(MetricKind::TopKCategorical);
  topk.k = 2;
  MetricSpec sparse_topk = spec(MetricKind::SparseTopK);
  sparse_topk.k = 3;
  std::vector<Case> cases = {
      {"softmax+sparseCE",
       {D(12, 16, A::ReLU, 0.3f), D(16, 8, A::Tanh), D(8, 5, A::Softmax)},
       0.1f,
       {LossKind::SparseCE, false},
       adam,
       {MetricKind::SparseAccuracy, sparse_topk},
       true,
       true},
      {"gelu+mse",
       {D(12, 7, A::GELU), D(7, 5, A::Linear)},
       0.f,
       {LossKind::MSE, false},
       sgd,
       {MetricKind::MAE, MetricKind::MSE, r2, spec(MetricKind::RMSE), spec(MetricKind::MAPE)},
       false,
       false},
      {"sigmoid+bce",
       {D(12, 9, A::LeakyReLU, 0.2f, true, 0.1f), D(9, 5, A::Sigmoid)},
       0.f,
       {LossKind::BCE, false},
       adamw,
       {MetricKind::BinaryAccuracy, MetricKind::MSE, auc, auc_pr_ml, prec, rec_topk, f1_thr},
       true,
       true},
      {"logits+cce",
       {D(12, 5, A::Linear, 0.f, false)},
       0.f,
       {LossKind::CategoricalCE, true},
       plain,
       {MetricKind::CategoricalAccuracy, topk, f1},
       true,
       false},
      {"tanh out+mse",
       {D(12, 6, A::GELUTanh), D(6, 5, A::Tanh)},
       0.2f,
       {LossKind::MSE, false},
       adam,
       {MetricKind::MAE},
       true,
       true},
      {"elu/mish+huber (sum)",
       {D(12, 7, A::ELU, 0.f, true, 0.7f), D(7, 6, A::Mish, 0.1f), D(6, 5, A::Linear)},
       0.f,
       {LossKind::Huber, false, 0.8f, Reduction::Sum},
       sgd,
       {MetricKind::MAE},
       true,
       false},
      {"batch/layer norm, hidden softmax, activation layers",
       {D(12, 10, A::Linear), K(LayerKind::BatchNorm, 10, A::ReLU, 0.2f), D(10, 8, A::Softmax),
        K(LayerKind::LayerNorm, 8), K(LayerKind::Activation, 8, A::Tanh), D(8, 5, A::Linear),
        K(LayerKind::Activation, 5, A::Softmax)},
       0.f,
       {LossKind::SparseCE, false},
       adam,
       {MetricKind::SparseAccuracy},
       true,
       true},
      {"normalization first, activation-layer output",
       {K(LayerKind::Normalization, 12), D(12, 6, A::Linear), K(LayerKind::BatchNorm, 6),
        K(LayerKind::Activation, 6, A::Sigmoid)},
       0.1f,
       {LossKind::MSE, false},
       sgd,
       {MetricKind::MAE},
       false,
       false},
      {"swish+categorical hinge",
       {D(12, 6, A::SiLU), D(6, 5, A::HardSigmoid)},
       0.f,
       {LossKind::CategoricalHinge, false},
       adam,
       {MetricKind::MSE},
       false,
       true},
      {"nadam clip/ema/reg/constraint",
       {D(12, 7, A::ReLU), D(7, 5, A::Linear)},
       0.f,
       {LossKind::MSE, false},
       nadam,
       {MetricKind::MAE},
       true,
       true},
      {"rmsprop centered clipnorm",
       {D(12, 7, A::Tanh), D(7, 5, A::Linear)},
       0.f,
       {LossKind::MSE, false},
       rms,
       {MetricKind::MAE},
       false,
       false},
  };
  for (const Case& c : cases)
    for (int mode = 0; mode < kModes; ++mode) run(c, mode);
  std::printf("%s (%d failures)\n", failures ? "FAILED" : "all CUDA Net == CPU Net checks passed",
              failures);
  return failures ? 1 : 0;
}
