// Bindings of Net (fusednet._core.Net) and its spec types: check arguments, release the GIL, call
// Net. One class for every device (the `device` argument picks the backend). On a host-memory
// backend the arenas are also exposed as NumPy views whose base keeps the Net alive, so Python
// variables are windows into them; every backend has host copies (get_/set_ methods).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bind/util.h"
#include "net/net.h"
#include "runtime/thread_pool.h"

namespace fusednet {

namespace {

// One model, many threads: a reader-writer lock that prefers writers. Readers (predict,
// evaluate) run at once, each on its own workspace (a reader Net from the pool below) with the
// weights shared read-only; a writer (training, updates, forward/loss/backward, setting arenas,
// compile) waits until the running readers are done and new readers wait for it, so a fit
// started while predictions run waits for them rather than failing. The thread that holds the
// write lock (a fit calling a batch hook) may read (its hook may predict) but not write again.
class RwLock {
 public:
  // false: this thread holds the write lock, so its read goes ahead without taking anything.
  bool lock_shared() {
    std::unique_lock<std::mutex> l(m_);
    if (writing_ && writer_ == std::this_thread::get_id()) return false;
    cv_.wait(l, [&] { return !writing_ && writers_waiting_ == 0; });
    ++readers_;
    return true;
  }
  void unlock_shared() {
    std::lock_guard<std::mutex> l(m_);
    if (--readers_ == 0) cv_.notify_all();
  }
  void lock() {
    std::unique_lock<std::mutex> l(m_);
    if (writing_ && writer_ == std::this_thread::get_id())
      throw std::runtime_error(
          "this model is being trained or updated by this very thread (a callback of fit?); "
          "it cannot be changed from inside that call");
    ++writers_waiting_;
    cv_.wait(l, [&] { return !writing_ && readers_ == 0; });
    --writers_waiting_;
    writing_ = true;
    writer_ = std::this_thread::get_id();
  }
  void unlock() {
    std::lock_guard<std::mutex> l(m_);
    writing_ = false;
    writer_ = std::thread::id();
    cv_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int readers_ = 0, writers_waiting_ = 0;
  bool writing_ = false;
  std::thread::id writer_;
};

// A net, its lock, and the pool of reader nets (each a workspace for one running prediction).
struct PyNet {
  Net net;
  RwLock lock;
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Net>> readers;  // idle; every one made for the current specs
  std::unique_ptr<DataParallel> dp;  // the hooks of set_data_parallel (they hold Python objects)
  // Each thread's metric state of its last evaluate / train_epoch (an evaluate may run on a
  // reader net, so the owner's own state is not the caller's).
  std::mutex state_mutex;
  std::map<std::thread::id, std::pair<std::vector<double>, index_t>> last_states;
  void remember_state(const Net& from) {
    std::lock_guard<std::mutex> l(state_mutex);
    last_states[std::this_thread::get_id()] = {from.last_metric_state(), from.last_metric_rows()};
  }
  template <typename... A>
  explicit PyNet(A&&... a) : net(std::forward<A>(a)...) {}
};

// Holds the write lock of a net for a scope; waits with the GIL released (the holder may need
// the GIL: a batch hook), so it is made with the GIL held.
class Exclusive {
 public:
  explicit Exclusive(PyNet& n) : p_(n) {
    py::gil_scoped_release nogil;
    p_.lock.lock();
  }
  ~Exclusive() { p_.lock.unlock(); }
  Exclusive(const Exclusive&) = delete;
  Exclusive& operator=(const Exclusive&) = delete;

 private:
  PyNet& p_;
};

// A read of a net for a scope: the read lock and a reader net from the pool (made on demand,
// given back after), whose workspace is this call's alone. Made with the GIL held.
class Reading {
 public:
  explicit Reading(PyNet& n) : p_(n) {
    py::gil_scoped_release nogil;
    held_ = p_.lock.lock_shared();
    try {
      {
        std::lock_guard<std::mutex> l(p_.pool_mutex);
        if (!p_.readers.empty()) {
          reader_ = std::move(p_.readers.back());
          p_.readers.pop_back();
        }
      }
      if (!reader_) reader_ = p_.net.make_reader();
      reader_->data().max_resident_bytes = p_.net.data().max_resident_bytes;
      reader_->data().stream_chunk_bytes = p_.net.data().stream_chunk_bytes;
    } catch (...) {
      if (held_) p_.lock.unlock_shared();
      throw;
    }
  }
  ~Reading() {
    {
      std::lock_guard<std::mutex> l(p_.pool_mutex);
      p_.readers.push_back(std::move(reader_));
    }
    if (held_) p_.lock.unlock_shared();
  }
  Reading(const Reading&) = delete;
  Reading& operator=(const Reading&) = delete;
  Net& net() { return *reader_; }

 private:
  PyNet& p_;
  bool held_ = false;
  std::unique_ptr<Net> reader_;
};

// ---- arguments ----------------------------------------------------------------------------------

// X: C-contiguous float32 (n, input_width).
const float* data_x(const Net& net, const py::handle& x, const char* name, index_t* n) {
  F32View v = f32_view(x, name);
  require_ndim(v, 2, name);
  require_contiguous(v, name);
  if (v.dim(1) != net.input_width())
    throw py::value_error(std::string(name) + ": expected " + std::to_string(net.input_width()) +
                          " features per sample (the model's input width), got " +
                          std::to_string(v.dim(1)));
  *n = v.dim(0);
  return v.data;
}

// Targets: int64 labels (n,) for sparse CE, else float32 (n, units), both C-contiguous.
Targets data_y(const Net& net, const py::handle& y, LossKind kind, index_t n, const char* name) {
  Targets t;
  if (kind == LossKind::SparseCE) {
    auto a = py::reinterpret_borrow<py::array>(y);
    if (!py::isinstance<py::array>(y) || !a.dtype().is(py::dtype::of<std::int64_t>()) ||
        a.ndim() != 1 || !(a.flags() & py::array::c_style))
      throw py::type_error(std::string(name) + ": expected a contiguous int64 (n,) label array");
    if (a.shape(0) != n)
      throw py::value_error(std::string(name) + ": expected " + std::to_string(n) +
                            " labels, got " + std::to_string(a.shape(0)));
    require_aligned(a, name);
    t.labels = static_cast<const std::int64_t*>(a.data());
    return t;
  }
  F32View v = f32_view(y, name);
  require_contiguous(v, name);
  require_shape(v, {n, net.output_width()}, name);
  t.values = v.data;
  t.cols = net.output_width();
  return t;
}

// Sample weights: None, or C-contiguous float32 (n,).
const float* data_sw(const py::object& sw, index_t n, const char* name) {
  if (sw.is_none()) return nullptr;
  F32View v = f32_view(sw, name);
  require_contiguous(v, name);
  require_shape(v, {n}, name);
  return v.data;
}

// A data set (x, y, sample_weight) checked against the net's widths and its compiled loss.
HostData host_data(const Net& net, const py::handle& x, const py::handle& y, const py::object& sw,
                   const char* prefix = "") {
  FN_CHECK(net.compiled(), "no loss: compile the model first");
  const std::string p(prefix);
  HostData h;
  h.X = data_x(net, x, (p + "x").c_str(), &h.n);
  h.y = data_y(net, y, net.loss_spec().kind, h.n, (p + "y").c_str());
  h.sw = data_sw(sw, h.n, (p + "sample_weight").c_str());
  return h;
}

// Per-batch learning rates: None (nullptr), or C-contiguous float32 (count,).
const float* data_lrs(const py::object& lrs, index_t count) {
  if (lrs.is_none()) return nullptr;
  F32View v = f32_view(lrs, "lrs");
  require_contiguous(v, "lrs");
  require_shape(v, {count}, "lrs");
  return v.data;
}

NanWatch nan_watch_arg(int v) {
  FN_CHECK(v >= 0 && v <= 2, "nan_watch: expected 0 (off), 1 (stop) or 2 (restore), got ", v);
  return static_cast<NanWatch>(v);
}

void check_batch_size(index_t batch_size, const char* name = "batch_size") {
  FN_CHECK(batch_size >= 1, name, ": expected >= 1, got ", batch_size);
}

// An arena-sized float32 (num_params,) host array.
const float* arena_arg(const Net& net, const py::handle& a, const char* name) {
  F32View v = f32_view(a, name);
  require_contiguous(v, name);
  require_shape(v, {net.num_params()}, name);
  return v.data;
}

// The batch callback: takes the GIL, calls hook(batch, loss, metrics); None or truthy goes on.
// `hook` must outlive the returned function (it is the caller's argument).
BatchHook batch_hook(const py::object& hook, double interval_s) {
  FN_CHECK(interval_s >= 0.0, "hook_interval: expected >= 0 seconds, got ", interval_s);
  if (hook.is_none()) return BatchHook{};
  return BatchHook(
      [&hook](index_t b, double l, const std::vector<double>& m) {
        py::gil_scoped_acquire gil;
        py::object r = hook(b, l, m);
        return r.is_none() || r.cast<bool>();
      },
      interval_s);
}

// (loss, metrics, batches).
py::tuple stats_tuple(const EpochStats& s) { return py::make_tuple(s.loss, s.metrics, s.batches); }

// A NumPy view of backend memory of a host-memory net, kept alive by `self`; RuntimeError naming
// the host copies otherwise.
py::array_t<float> arena_view(py::object self, const char* what, float* data,
                              std::vector<index_t> shape) {
  if (!self.cast<PyNet&>().net.host_memory())
    throw std::runtime_error(std::string(what) + ": this net's arenas live on the device; use " +
                             "the host copies (get_params/set_params, get_grads/set_grads, ...)");
  std::vector<py::ssize_t> sh(shape.begin(), shape.end()), st(shape.size());
  py::ssize_t s = sizeof(float);
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    st[static_cast<size_t>(d)] = s;
    s *= sh[static_cast<size_t>(d)];
  }
  return py::array_t<float>(sh, st, data, self);
}

// A view of a whole arena (num_params floats): pick(net) finds it.
template <typename Pick>
auto arena_property(const char* what, Pick pick) {
  return [what, pick](py::object self) {
    Net& n = self.cast<PyNet&>().net;
    return arena_view(self, what, pick(n), {n.num_params()});
  };
}

// Read-write properties for a spec's fields, each a (name, member pointer) pair.
template <typename Spec, typename... Fields>
void def_fields(py::class_<Spec>& c, Fields... fields) {
  (c.def_readwrite(fields.first, fields.second), ...);
}

// A host array of `n` floats filled by get(net) with the GIL released.
template <typename Get>
py::array_t<float> host_copy(PyNet& p, std::vector<index_t> shape, Get get) {
  std::vector<py::ssize_t> sh(shape.begin(), shape.end());
  py::array_t<float> out(sh);
  float* dst = out.mutable_data();
  Exclusive g(p);
  py::gil_scoped_release nogil;
  get(p.net, dst);
  return out;
}

// get_<arena>(): a host copy of an arena of num_params floats.
template <typename Get>
auto arena_getter(Get get) {
  return [get](PyNet& p) { return host_copy(p, {p.net.num_params()}, get); };
}

// set_<arena>(a): a checked (num_params,) float32 host array copied into the arena.
template <typename Set>
auto arena_setter(const char* name, Set set) {
  return [name, set](PyNet& p, const py::handle& a) {
    const float* src = arena_arg(p.net, a, name);
    Exclusive g(p);
    py::gil_scoped_release nogil;
    set(p.net, src);
  };
}

// True when every element of a float32 array is finite (no NaN, no inf); no temporary arrays.
bool all_finite(const py::handle& arr) {
  F32View v = f32_view(arr, "x");
  if (v.size == 0) return true;
  if (!v.contiguous) throw py::value_error("x: expected a C-contiguous array");
  const std::uint32_t* bits = reinterpret_cast<const std::uint32_t*>(v.data);
  const index_t n = v.size;
  // A fit checks its whole data set on every call: the threads share the scan (memory-bound).
  std::atomic<std::uint32_t> bad{0};
  {
    py::gil_scoped_release nogil;
    const index_t grain = index_t{1} << 18;
    const int threads = n >= 2 * grain ? num_threads() : 1;
    parallel_for(n, grain, threads, [&](index_t begin, index_t end) {
      std::uint32_t b = 0;
      for (index_t i = begin; i < end; ++i) b |= ((bits[i] & 0x7f800000u) == 0x7f800000u);
      if (b) bad.store(1, std::memory_order_relaxed);
    });
  }
  return bad.load() == 0;
}

// ---- the spec types -----------------------------------------------------------------------------

void bind_specs(py::module_& m) {
  using std::pair;
  py::enum_<LayerKind>(m, "LayerKind", "The kinds of layer a Net holds (net/spec.h).")
      .value("dense", LayerKind::Dense)
      .value("activation", LayerKind::Activation)
      .value("batch_norm", LayerKind::BatchNorm)
      .value("layer_norm", LayerKind::LayerNorm)
      .value("normalization", LayerKind::Normalization);
  py::class_<DenseSpec> dense(
      m, "DenseSpec",
      "One layer of a Net (and the Dropout after it): Dense by default, or another LayerKind "
      "(units == in_width for all but Dense).");
  dense.def(py::init([](index_t in_width, index_t units, Activation activation,
                        float activation_param, bool use_bias, float dropout_after, LayerKind kind,
                        float epsilon, float momentum, bool scale, bool center) {
              DenseSpec d;
              d.in = in_width;
              d.units = units;
              d.act = activation;
              d.act_param = activation_param;
              d.use_bias = use_bias;
              d.dropout_after = dropout_after;
              d.kind = kind;
              d.epsilon = epsilon;
              d.momentum = momentum;
              d.scale = scale;
              d.center = center;
              return d;
            }),
            py::arg("in_width"), py::arg("units"),
            py::arg_v("activation", Activation::Linear, "Activation.linear"),
            py::arg("activation_param") = 0.f, py::arg("use_bias") = true,
            py::arg("dropout_after") = 0.f, py::arg_v("kind", LayerKind::Dense, "LayerKind.dense"),
            py::arg("epsilon") = 1e-3f, py::arg("momentum") = 0.99f, py::arg("scale") = true,
            py::arg("center") = true);
  def_fields(dense, pair{"in_width", &DenseSpec::in}, pair{"units", &DenseSpec::units},
             pair{"activation", &DenseSpec::act}, pair{"activation_param", &DenseSpec::act_param},
             pair{"use_bias", &DenseSpec::use_bias},
             pair{"dropout_after", &DenseSpec::dropout_after}, pair{"kind", &DenseSpec::kind},
             pair{"epsilon", &DenseSpec::epsilon}, pair{"momentum", &DenseSpec::momentum},
             pair{"scale", &DenseSpec::scale}, pair{"center", &DenseSpec::center});
  py::class_<LossSpec> loss(
      m, "LossSpec",
      "A Net's loss: its kind, whether outputs are logits, huber's delta, the batch reduction.");
  loss.def(py::init([](LossKind kind, bool from_logits, float param, Reduction reduction) {
             return LossSpec{kind, from_logits, param, reduction};
           }),
           py::arg("kind"), py::arg("from_logits") = false, py::arg("param") = 0.f,
           py::arg_v("reduction", Reduction::Mean, "Reduction.mean"));
  def_fields(loss, pair{"kind", &LossSpec::kind}, pair{"from_logits", &LossSpec::from_logits},
             pair{"param", &LossSpec::param}, pair{"reduction", &LossSpec::reduction});
  py::class_<OptimSpec> optim(m, "OptimSpec", "A Net's optimizer and its hyperparameters.");
  optim.def(py::init([](OptimKind kind, double momentum, bool nesterov, double weight_decay,
                        double beta1, double beta2, double eps) {
              OptimSpec o;
              o.kind = kind;
              o.momentum = momentum;
              o.nesterov = nesterov;
              o.weight_decay = weight_decay;
              o.beta1 = beta1;
              o.beta2 = beta2;
              o.eps = eps;
              return o;
            }),
            py::arg("kind"), py::arg("momentum") = 0.0, py::arg("nesterov") = false,
            py::arg("weight_decay") = 0.0, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
            py::arg("eps") = 1e-7);
  def_fields(optim, pair{"kind", &OptimSpec::kind}, pair{"momentum", &OptimSpec::momentum},
             pair{"nesterov", &OptimSpec::nesterov}, pair{"weight_decay", &OptimSpec::weight_decay},
             pair{"beta1", &OptimSpec::beta1}, pair{"beta2", &OptimSpec::beta2},
             pair{"eps", &OptimSpec::eps});
  // Keras's other optimizers, clipping, EMA and the trainable variables (net/optim_update.h).
  def_fields(optim, pair{"rho", &OptimSpec::rho}, pair{"centered", &OptimSpec::centered},
             pair{"amsgrad", &OptimSpec::amsgrad},
             pair{"initial_accumulator", &OptimSpec::initial_accumulator},
             pair{"clipnorm", &OptimSpec::clipnorm},
             pair{"global_clipnorm", &OptimSpec::global_clipnorm},
             pair{"clipvalue", &OptimSpec::clipvalue}, pair{"use_ema", &OptimSpec::use_ema},
             pair{"ema_momentum", &OptimSpec::ema_momentum},
             pair{"ema_overwrite_frequency", &OptimSpec::ema_overwrite_frequency},
             pair{"variables", &OptimSpec::variables}, pair{"constraints", &OptimSpec::constraints},
             pair{"regularizers", &OptimSpec::regularizers},
             pair{"activity_regularizers", &OptimSpec::activity_regularizers});
}

// ---- Net ----------------------------------------------------------------------------------------

void def_layout(py::class_<PyNet>& c) {
  c.def(py::init([](const std::vector<DenseSpec>& layers, float input_dropout, std::uint64_t seed,
                    Device device) { return new PyNet(layers, input_dropout, seed, device); }),
        py::arg("layers"), py::arg("input_dropout"), py::arg("seed"),
        py::arg_v("device", Device::Cpu, "Device.cpu"))
      .def_property_readonly("device", [](PyNet& p) { return p.net.device(); })
      .def_property_readonly(
          "host_memory", [](PyNet& p) { return p.net.host_memory(); },
          "True when the arenas are host memory (params/grads views exist).")
      .def_property_readonly("num_params", [](PyNet& p) { return p.net.num_params(); })
      .def_property_readonly("input_width", [](PyNet& p) { return p.net.input_width(); })
      .def_property_readonly("output_width", [](PyNet& p) { return p.net.output_width(); })
      .def_property(
          "seed", [](PyNet& p) { return p.net.seed(); },
          [](PyNet& p, std::uint64_t s) { p.net.reseed(s); },
          "Shuffles and dropout masks follow it (the initial weights were drawn from it).")
      .def(
          "kernel_offset", [](PyNet& p, index_t i) { return p.net.kernel_offset(i); },
          py::arg("layer"))
      .def(
          "bias_offset", [](PyNet& p, index_t i) { return p.net.bias_offset(i); }, py::arg("layer"))
      .def_property_readonly("num_stats", [](PyNet& p) { return p.net.num_stats(); })
      .def(
          "stats_offset", [](PyNet& p, index_t i) { return p.net.stats_offset(i); },
          py::arg("layer"),
          "Layer i's offset in the statistics (-1: none): mean, then variance right after.")
      .def_property(
          "step", [](PyNet& p) { return p.net.step; },
          [](PyNet& p, std::int64_t s) { p.net.step = s; })
      .def_property(
          "train_forwards", [](PyNet& p) { return p.net.train_forwards; },
          [](PyNet& p, std::int64_t s) { p.net.train_forwards = s; })
      .def_property(
          "epochs_shuffled", [](PyNet& p) { return p.net.epochs_shuffled; },
          [](PyNet& p, std::int64_t s) { p.net.epochs_shuffled = s; })
      .def_property_readonly("last_rows", [](PyNet& p) { return p.net.last_rows(); })
      .def_property(
          "max_resident_bytes", [](PyNet& p) { return p.net.data().max_resident_bytes; },
          [](PyNet& p, std::int64_t b) { p.net.data().max_resident_bytes = b; },
          "Largest data set kept on a device (-1: from free memory; 0: always stream batches "
          "from the host). Host-memory nets read data in place.")
      .def_property(
          "stream_chunk_bytes", [](PyNet& p) { return p.net.data().stream_chunk_bytes; },
          [](PyNet& p, std::int64_t b) { p.net.data().stream_chunk_bytes = b; },
          "Host bytes per copy of a streamed data set (whole batches, at least one).")
      .def(
          "hold_data",
          [](PyNet& p, bool hold) {
            Exclusive g(p);
            p.net.data().hold(hold);
          },
          py::arg("hold"),
          "While held, the data sets of train_epoch/evaluate stay on the device between calls "
          "(recognised by their host arrays, which must not change meanwhile).");
}

void def_arenas(py::class_<PyNet>& c) {
  c.def_property_readonly("params", arena_property("params", [](Net& n) { return n.params(); }),
                          "The parameter arena as a writable float32 view (host-memory nets).")
      .def_property_readonly("grads", arena_property("grads", [](Net& n) { return n.grads(); }),
                             "The gradient arena as a writable float32 view (host-memory nets).")
      .def_property_readonly(
          "stats",
          [](py::object self) {
            Net& n = self.cast<PyNet&>().net;
            return arena_view(self, "stats", n.stats(), {n.num_stats()});
          },
          "The non-trainable statistics (BatchNormalization's moving mean / variance, "
          "Normalization's) as a writable float32 view (host-memory nets).")
      .def("get_stats",
           [](PyNet& p) {
             return host_copy(p, {p.net.num_stats()}, [](Net& n, float* d) { n.get_stats(d); });
           })
      .def(
          "set_stats",
          [](PyNet& p, const py::handle& a) {
            F32View v = f32_view(a, "stats");
            require_contiguous(v, "stats");
            require_shape(v, {p.net.num_stats()}, "stats");
            Exclusive g(p);
            py::gil_scoped_release nogil;
            p.net.set_stats(v.data);
          },
          py::arg("stats"))
      .def(
          "optimizer_state",
          [](py::object self, int i) {
            // ValueError first for a state that does not exist.
            float* state = self.cast<PyNet&>().net.optimizer_state(i);
            return arena_property("optimizer_state", [state](Net&) { return state; })(self);
          },
          py::arg("i"))
      .def(
          "output_grad",
          [](py::object self) {
            Net& n = self.cast<PyNet&>().net;
            return arena_view(self, "output_grad", n.output_grad(),
                              {n.last_rows(), n.output_width()});
          },
          "The output delta of the last loss (a writable view into the workspace).")
      .def("get_params", arena_getter([](Net& n, float* dst) { n.get_params(dst); }),
           "A host copy of the parameter arena.")
      .def("get_grads", arena_getter([](Net& n, float* dst) { n.get_grads(dst); }),
           "A host copy of the gradient arena.")
      .def(
          "get_optimizer_state",
          [](PyNet& p, int i) {
            p.net.optimizer_state(i);
            return host_copy(p, {p.net.num_params()},
                             [i](Net& n, float* dst) { n.get_optimizer_state(i, dst); });
          },
          py::arg("i"))
      .def("get_output_grad",
           [](PyNet& p) {
             return host_copy(p, {p.net.last_rows(), p.net.output_width()},
                              [](Net& n, float* dst) { n.get_output_grad(dst); });
           })
      .def("set_params", arena_setter("params", [](Net& n, const float* s) { n.set_params(s); }),
           py::arg("params"))
      .def("set_grads", arena_setter("grads", [](Net& n, const float* s) { n.set_grads(s); }),
           py::arg("grads"))
      .def(
          "set_optimizer_state",
          [](PyNet& p, int i, const py::handle& a) {
            p.net.optimizer_state(i);
            arena_setter("state", [i](Net& n, const float* s) { n.set_optimizer_state(i, s); })(p,
                                                                                                a);
          },
          py::arg("i"), py::arg("state"))
      .def(
          "set_output_grad",
          [](PyNet& p, const py::handle& a) {
            F32View v = f32_view(a, "dout");
            require_contiguous(v, "dout");
            require_shape(v, {p.net.last_rows(), p.net.output_width()}, "dout");
            Exclusive g(p);
            py::gil_scoped_release nogil;
            p.net.set_output_grad(v.data);
          },
          py::arg("dout"));
}

void def_one_batch(py::class_<PyNet>& c) {
  c.def(
       "set_optimizer",
       [](PyNet& p, const OptimSpec& spec) {
         Exclusive g(p);
         p.net.set_optimizer(spec);
       },
       py::arg("spec"))
      .def_property_readonly("has_optimizer", [](PyNet& p) { return p.net.has_optimizer(); })
      .def_property_readonly("num_optimizer_states",
                             [](PyNet& p) { return p.net.num_optimizer_states(); })
      .def(
          "compile",
          [](PyNet& p, const LossSpec& loss, std::vector<MetricSpec> metrics) {
            Exclusive g(p);
            p.net.compile(loss, std::move(metrics));
            std::lock_guard<std::mutex> l(p.pool_mutex);
            p.readers.clear();  // made with the old loss and metrics
          },
          py::arg("loss"), py::arg("metrics"),
          "The loss and metrics (MetricSpec, or MetricKind for the defaults) of train_epoch, "
          "evaluate and fit.")
      .def(
          "last_metric_state",
          [](PyNet& p) {
            std::vector<double> s = p.net.last_metric_state();
            index_t rows = p.net.last_metric_rows();
            {
              std::lock_guard<std::mutex> l(p.state_mutex);
              auto it = p.last_states.find(std::this_thread::get_id());
              if (it != p.last_states.end()) std::tie(s, rows) = it->second;
            }
            py::array_t<double> a(static_cast<py::ssize_t>(s.size()));
            std::copy(s.begin(), s.end(), a.mutable_data());
            return py::make_tuple(a, rows);
          },
          "(state, rows) of this thread's last train_epoch / evaluate: the metrics' states summed "
          "over its "
          "batches (metric_results turns sums of them into metrics).")
      .def_property_readonly("compiled", [](PyNet& p) { return p.net.compiled(); })
      .def(
          "apply_update",
          [](PyNet& p, double lr) {
            Exclusive g(p);
            py::gil_scoped_release nogil;
            p.net.apply_update(lr);
          },
          py::arg("lr"))
      .def(
          "forward",
          [](PyNet& p, const py::handle& x, bool training) {
            index_t n;
            const float* X = data_x(p.net, x, "x", &n);
            Exclusive g(p);
            py::gil_scoped_release nogil;
            p.net.forward(X, n, training);
          },
          py::arg("x"), py::arg("training"))
      .def(
          "forward_output",
          [](PyNet& p, const py::handle& x, bool training) {
            index_t n;
            const float* X = data_x(p.net, x, "x", &n);
            py::array_t<float> out(std::vector<py::ssize_t>{n, p.net.output_width()});
            float* dst = out.mutable_data();
            {
              Exclusive g(p);
              py::gil_scoped_release nogil;
              p.net.forward(X, n, training);
              p.net.output(dst);
            }
            return out;
          },
          py::arg("x"), py::arg("training"),
          "forward, then a copy of its output, in one call: no other thread's forward comes "
          "between them.")
      .def(
          "output",
          [](PyNet& p) {
            return host_copy(p, {p.net.last_rows(), p.net.output_width()},
                             [](Net& n, float* dst) { n.output(dst); });
          },
          "A copy of the last forward's output (after the output activation).")
      .def(
          "loss",
          [](PyNet& p, const py::handle& y, const py::object& sw, const LossSpec* spec) {
            const index_t rows = p.net.last_rows();
            FN_CHECK(rows > 0, "loss: run forward first");
            FN_CHECK(spec || p.net.compiled(), "loss: no spec given and no compiled loss");
            const LossSpec s = spec ? *spec : p.net.loss_spec();
            Targets t = data_y(p.net, y, s.kind, rows, "y");
            const float* w = data_sw(sw, rows, "sample_weight");
            Exclusive g(p);
            py::gil_scoped_release nogil;
            return p.net.loss(t, w, s);
          },
          py::arg("y"), py::arg("sample_weight") = py::none(), py::arg("spec") = py::none(),
          "Loss of the last forward (spec None: the compiled loss); writes the output delta.")
      .def(
          "fused",
          [](PyNet& p, const LossSpec* spec) {
            return p.net.fused(spec ? *spec : p.net.loss_spec());
          },
          py::arg("spec") = py::none())
      .def(
          "backward",
          [](PyNet& p, const LossSpec* spec) {
            FN_CHECK(p.net.last_rows() > 0, "backward: run forward first");
            FN_CHECK(spec || p.net.compiled(), "backward: no spec given and no compiled loss");
            const LossSpec s = spec ? *spec : p.net.loss_spec();
            Exclusive g(p);
            py::gil_scoped_release nogil;
            p.net.backward(s);
          },
          py::arg("spec") = py::none());
}

void def_data_sets(py::class_<PyNet>& c) {
  c.def(
       "train_epoch",
       [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
          index_t batch_size, bool shuffle, const py::object& lrs, double lr,
          const py::object& hook, double hook_interval, int nan_watch) {
         const HostData h = host_data(p.net, x, y, sw);
         check_batch_size(batch_size);
         const float* lr_per_batch = data_lrs(lrs, ceil_div(h.n, batch_size));
         const BatchHook hk = batch_hook(hook, hook_interval);
         const NanWatch watch = nan_watch_arg(nan_watch);
         Exclusive g(p);
         EpochStats s;
         {
           py::gil_scoped_release nogil;
           p.net.nan_watch = watch;
           s = p.net.train_epoch(h, batch_size, shuffle, lr_per_batch, lr, hk);
         }
         p.remember_state(p.net);
         return stats_tuple(s);
       },
       py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
       py::arg("shuffle"), py::arg("lrs"), py::arg("lr"), py::arg("hook") = py::none(),
       py::arg("hook_interval") = 0.0, py::arg("nan_watch") = 0,
       "One epoch: (loss, metrics, batches). hook(batch, loss, metrics) after batches; falsy "
       "stops the epoch. nan_watch: 0 off, 1 stop after the batch whose loss is not finite, 2 "
       "stop before its update, keeping the last finite weights.")
      .def(
          "fit",
          [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
             index_t batch_size, index_t epochs, bool shuffle, const py::object& lrs, double lr,
             const py::object& xv, const py::object& yv, const py::object& swv,
             const py::object& val_batch_size, int nan_watch) {
            const HostData h = host_data(p.net, x, y, sw);
            check_batch_size(batch_size);
            FN_CHECK(epochs >= 0, "epochs: expected >= 0, got ", epochs);
            const float* lr_all = data_lrs(lrs, ceil_div(h.n, batch_size) * epochs);
            const bool has_val = !xv.is_none();
            HostData hv;
            if (has_val) hv = host_data(p.net, xv, yv, swv, "validation ");
            const index_t vbs =
                val_batch_size.is_none() ? batch_size : val_batch_size.cast<index_t>();
            check_batch_size(vbs, "val_batch_size");
            const index_t per = 1 + p.net.metric_result_total();
            const index_t width = has_val ? 2 * per : per;
            const NanWatch watch = nan_watch_arg(nan_watch);
            std::vector<EpochStats> tr, va;
            {
              Exclusive g(p);
              py::gil_scoped_release nogil;
              p.net.nan_watch = watch;
              p.net.fit(h, batch_size, epochs, shuffle, lr_all, lr, has_val ? &hv : nullptr, vbs,
                        &tr, &va);
              p.remember_state(p.net);
            }
            // One row per epoch run (fewer than epochs after a stop on a non-finite loss):
            // [loss, metrics..., (val_loss, val_metrics...)].
            const index_t ran = static_cast<index_t>(tr.size());
            py::array_t<double> out({ran, width});
            double* o = out.mutable_data();
            for (index_t e = 0; e < ran; ++e) {
              const auto put = [&](const EpochStats& s, index_t at) {
                o[e * width + at] = s.loss;
                for (size_t k = 0; k < s.metrics.size(); ++k)
                  o[e * width + at + 1 + static_cast<index_t>(k)] = s.metrics[k];
              };
              put(tr[static_cast<size_t>(e)], 0);
              if (has_val) put(va[static_cast<size_t>(e)], per);
            }
            return out;
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          py::arg("epochs"), py::arg("shuffle"), py::arg("lrs"), py::arg("lr"),
          py::arg("val_x") = py::none(), py::arg("val_y") = py::none(),
          py::arg("val_sample_weight") = py::none(), py::arg("val_batch_size") = py::none(),
          py::arg("nan_watch") = 0,
          "Several epochs in one call (no callbacks): one row per epoch of [loss, metrics..., "
          "(val_loss, val_metrics...)], a metric taking metric_result_width columns; nan_watch as "
          "train_epoch's (a stop ends the fit after that epoch's validation).")
      .def(
          "evaluate",
          [](PyNet& p, const py::handle& x, const py::handle& y, const py::object& sw,
             index_t batch_size) {
            const HostData h = host_data(p.net, x, y, sw);
            check_batch_size(batch_size);
            EpochStats s;
            // A fit's held sets live in the net's own feed; a data-parallel evaluate reduces
            // through the owner's hooks.
            if (p.net.data().holding() || p.dp) {
              Exclusive g(p);
              {
                py::gil_scoped_release nogil;
                s = p.net.evaluate(h, batch_size);
              }
              p.remember_state(p.net);
            } else {
              Reading r(p);
              {
                py::gil_scoped_release nogil;
                s = r.net().evaluate(h, batch_size);
              }
              p.remember_state(r.net());
            }
            return stats_tuple(s);
          },
          py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"),
          "(loss, metrics, batches) over a data set.")
      .def(
          "predict",
          [](PyNet& p, const py::handle& x, index_t batch_size, const py::handle& out) {
            index_t n;
            const float* X = data_x(p.net, x, "x", &n);
            F32View o = f32_view(out, "out", true);
            require_contiguous(o, "out");
            require_shape(o, {n, p.net.output_width()}, "out");
            check_batch_size(batch_size);
            Reading r(p);
            py::gil_scoped_release nogil;
            r.net().predict(X, n, batch_size, o.data);
          },
          py::arg("x"), py::arg("batch_size"), py::arg("out"),
          "Outputs of x into out. Runs on a workspace of its own: several threads may predict "
          "and evaluate at once; training and updates wait for them (and they for those).");
}

// Data-parallel hooks (net.h DataParallel) calling Python functions; each takes the GIL.
std::unique_ptr<DataParallel> data_parallel(index_t rank, bool overlap, py::object plan,
                                            py::object reduce, py::object wait, py::object sum,
                                            py::object any_stop) {
  auto dp = std::make_unique<DataParallel>();
  dp->rank = rank;
  dp->overlap = overlap;
  dp->plan = [plan](index_t n, index_t batch_size) {
    py::gil_scoped_acquire gil;
    using V = std::vector<index_t>;
    auto t = plan(n, batch_size).cast<std::tuple<V, V, V, V>>();
    DataParallel::Plan p{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)};
    FN_CHECK(p.rows.size() == p.start.size() && p.global_rows.size() == p.start.size() &&
                 p.first.size() == p.start.size(),
             "data-parallel plan: start, rows, global_rows and first differ in length");
    for (std::size_t b = 0; b < p.rows.size(); ++b)
      FN_CHECK(p.rows[b] >= 0 && p.start[b] >= 0 && p.start[b] + p.rows[b] <= n &&
                   p.global_rows[b] >= std::max<index_t>(p.rows[b], 1) && p.first[b] >= 0 &&
                   p.first[b] + p.rows[b] <= p.global_rows[b],
               "data-parallel plan: step ", b, " is outside the ", n, " samples");
    return p;
  };
  dp->reduce = [reduce](float* p, index_t offset, index_t count, double scale) {
    py::gil_scoped_acquire gil;
    // A view of the host floats: they outlive the reduction (the arena or the net's staging).
    py::array_t<float> view({count}, {static_cast<py::ssize_t>(sizeof(float))}, p, py::none());
    reduce(view, offset, scale);
  };
  dp->wait = [wait]() {
    py::gil_scoped_acquire gil;
    wait();
  };
  dp->sum = [sum](double* p, index_t count) {
    py::gil_scoped_acquire gil;
    py::array_t<double> view({count}, {static_cast<py::ssize_t>(sizeof(double))}, p, py::none());
    sum(view);
  };
  if (!any_stop.is_none())
    dp->any_stop = [any_stop](bool stop) {
      py::gil_scoped_acquire gil;
      return any_stop(stop).cast<bool>();
    };
  return dp;
}

void def_data_parallel(py::class_<PyNet>& c) {
  c.def(
       "set_data_parallel",
       [](PyNet& p, index_t rank, bool overlap, py::object plan, py::object reduce, py::object wait,
          py::object sum, py::object any_stop) {
         Exclusive g(p);
         p.dp = data_parallel(rank, overlap, std::move(plan), std::move(reduce), std::move(wait),
                              std::move(sum), std::move(any_stop));
         p.net.set_data_parallel(p.dp.get());
       },
       py::arg("rank"), py::arg("overlap"), py::arg("plan"), py::arg("reduce"), py::arg("wait"),
       py::arg("sum"), py::arg("any_stop") = py::none(),
       "Passes (train_epoch, evaluate, fit) run data-parallel until clear_data_parallel(): "
       "plan(n, batch_size) -> (start, rows, global_rows, first) per step; reduce(floats, offset, "
       "scale) "
       "starts summing gradients over the ranks, in place by wait(); sum(doubles) in place; "
       "any_stop(stop) -> bool after every training batch (None: nobody stops mid-epoch).")
      .def("clear_data_parallel", [](PyNet& p) {
        Exclusive g(p);
        p.net.set_data_parallel(nullptr);
        p.dp.reset();
      });
}

}  // namespace

void bind_net(py::module_& m) {
  m.def("all_finite", &all_finite, py::arg("x"),
        "True when a C-contiguous float32 array holds no NaN or inf.");
  m.def("_set_backward_side_by_side", &Net::set_backward_side_by_side, py::arg("mode"),
        "When backward computes the Dense layers' parameter gradients on a second thread beside "
        "the deltas: 0 never, 1 when faster (default), 2 always on the CPU. Returns the previous "
        "mode; results never depend on it.");
  m.def("_set_forward_side_by_side", &Net::set_forward_side_by_side, py::arg("mode"),
        "When the forward of a small step runs as two halves of the rows side by side: 0 never, "
        "1 when the backward lanes run (default), 2 always where the layers allow it. Returns "
        "the previous mode; results never depend on it.");
  m.def("_set_narrow_dense_grads", &Net::set_narrow_dense_grads, py::arg("mode"),
        "How narrow Dense layers take their gradients: 0 by gemm, 1 dW in one pass, 2 (default) "
        "also the input's delta in that pass (same bits as 1). Returns the previous mode.");
  bind_specs(m);
  py::class_<PyNet> c(m, "Net",
                      "A compiled MLP whose epochs run in C++ on one device (see csrc/net/net.h).");
  def_layout(c);
  def_arenas(c);
  def_one_batch(c);
  def_data_sets(c);
  def_data_parallel(c);
}

}  // namespace fusednet
