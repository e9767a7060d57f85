// CUDA versions of the ops on NumPy arrays: copy in, run the device kernel, copy out. A
// convenience for fusednet.cuda / ops(device="cuda"), not a fast path (Net keeps data on the device).
// Arrays arrive C-contiguous and float32 (python/fusednet/cuda.py makes them so); checks here name
// the argument. Without CUDA compiled in, the same names exist and raise RuntimeError.
#include <atomic>
#include <cstdint>
#include <string>

#include "bind/util.h"
#include "kernels/cuda.h"
#include "runtime/cuda_device.h"
#include "runtime/precision.h"

namespace fusednet {

namespace {
void bind_precision(py::module_& m) {
  m.def("cuda_set_float32_matmul_precision", [](const std::string& p) {
    if (p != "highest" && p != "high")
      throw py::value_error("precision: expected 'highest' or 'high', got '" + p + "'");
    set_float32_matmul_precision_high(p == "high");
  }, py::arg("precision"));
  m.def("cuda_get_float32_matmul_precision",
        [] { return std::string(float32_matmul_precision_high() ? "high" : "highest"); });
}
}  // namespace

#ifdef FUSEDNET_WITH_CUDA
namespace {

F32View dense(const py::handle& obj, const char* name, bool writable = false) {
  F32View v = f32_view(obj, name, writable);
  require_contiguous(v, name);
  return v;
}

std::size_t nbytes(const F32View& v) { return static_cast<std::size_t>(v.size) * sizeof(float); }

// A device copy of v; an absent optional (data == nullptr) gives an empty buffer.
DeviceBuffer upload(const F32View& v) {
  if (!v.data) return DeviceBuffer();
  DeviceBuffer d(nbytes(v));
  copy_host_to_device(d.data(), v.data, nbytes(v));
  return d;
}

void download(const F32View& v, const DeviceBuffer& d) { copy_device_to_host(v.data, d.data(), nbytes(v)); }

// A device copy of v starting `misalign` floats into its allocation. cudaMalloc aligns to 256
// bytes, so every buffer above takes the kernels' float4 paths; misalign = 1 sends the same data
// through their scalar paths instead (the tests reach those this way). Absent v: ptr == nullptr.
struct DevArray {
  DeviceBuffer buf;
  float* ptr = nullptr;
};
DevArray upload_at(const F32View& v, int misalign) {
  DevArray d;
  if (!v.data) return d;
  d.buf = DeviceBuffer(nbytes(v) + static_cast<std::size_t>(misalign) * sizeof(float));
  d.ptr = d.buf.as<float>() ? d.buf.as<float>() + misalign : nullptr;
  copy_host_to_device(d.ptr, v.data, nbytes(v));
  return d;
}
void download_at(const F32View& v, const DevArray& d) {
  copy_device_to_host(v.data, d.ptr, nbytes(v));
}
void check_misalign(int misalign) {
  FN_CHECK(misalign >= 0 && misalign <= 3, "misalign: expected 0..3 floats, got ", misalign);
}

// Optional float32 vector of length n (sample weights, bias); nullptr data when None.
F32View optional_vector(const py::object& obj, index_t n, const char* name) {
  F32View v;
  if (obj.is_none()) return v;
  v = dense(obj, name);
  require_shape(v, {n}, name);
  return v;
}

Reduction parse_reduction(const std::string& r) {
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  throw py::value_error("reduction: expected 'mean' or 'sum', got '" + r + "'");
}

void require_same_shape(const F32View& a, const F32View& b, const char* name_b) {
  require_shape(b, a.shape, name_b);
}

// Rows x cols view of a 2-D array.
void require_matrix(const F32View& v, const char* name) { require_ndim(v, 2, name); }

void cuda_gemm(const py::handle& a, const py::handle& b, const py::handle& c, bool trans_a,
               bool trans_b, float alpha, float beta, const py::object& bias, int act,
               float act_param, bool allow_tf32) {
  F32View A = dense(a, "a"), B = dense(b, "b"), C = dense(c, "out", true);
  require_matrix(A, "a");
  require_matrix(B, "b");
  require_matrix(C, "out");
  const index_t M = trans_a ? A.dim(1) : A.dim(0), K = trans_a ? A.dim(0) : A.dim(1);
  const index_t Kb = trans_b ? B.dim(1) : B.dim(0), N = trans_b ? B.dim(0) : B.dim(1);
  FN_CHECK(Kb == K, "b: expected ", K, " rows in op(b) to match op(a) ", shape_str(A.shape),
           ", got op(b) with ", Kb, " (b has shape ", shape_str(B.shape), ")");
  require_shape(C, {M, N}, "out");
  F32View bias_v = optional_vector(bias, N, "bias");
  // Dense storage: (M, K) row-major, or (K, M) when transposed; likewise B.
  const index_t rs_a = trans_a ? 1 : K, cs_a = trans_a ? M : 1;
  const index_t rs_b = trans_b ? 1 : N, cs_b = trans_b ? K : 1;
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dA = upload(A), dB = upload(B), dBias = upload(bias_v);
  DeviceBuffer dC(nbytes(C));
  if (beta != 0.0f) copy_host_to_device(dC.data(), C.data, nbytes(C));
  Epilogue epi;
  epi.bias = bias_v.data ? dBias.as<float>() : nullptr;
  epi.act = static_cast<Activation>(act);
  epi.act_param = act_param;
  gemm_cuda(M, N, K, alpha, dA.as<float>(), rs_a, cs_a, dB.as<float>(), rs_b, cs_b, beta,
            dC.as<float>(), N, 1, epi, allow_tf32);
  download(C, dC);
}

void cuda_activation_forward(const py::handle& x, const py::handle& y, int act, float param,
                             int misalign) {
  F32View X = dense(x, "x"), Y = dense(y, "out", true);
  require_same_shape(X, Y, "out");
  check_misalign(misalign);
  py::gil_scoped_release release;
  require_cuda_device();
  DevArray d = upload_at(X, misalign);  // in place: y aliases x, as the kernels allow
  activation_forward_cuda(static_cast<Activation>(act), param, d.ptr, d.ptr, X.size);
  download_at(Y, d);
}

void cuda_activation_backward(const py::handle& dy, const py::handle& x, const py::handle& dx,
                              int act, float param, bool from_output, int misalign) {
  F32View G = dense(dy, "dy"), X = dense(x, from_output ? "y" : "x"), D = dense(dx, "out", true);
  require_same_shape(G, X, from_output ? "y" : "x");
  require_same_shape(G, D, "out");
  check_misalign(misalign);
  py::gil_scoped_release release;
  require_cuda_device();
  DevArray dG = upload_at(G, misalign), dX = upload_at(X, misalign);  // dx aliases dy
  if (from_output)
    activation_backward_from_output_cuda(static_cast<Activation>(act), param, dG.ptr, dX.ptr,
                                         dG.ptr, G.size);
  else
    activation_backward_cuda(static_cast<Activation>(act), param, dG.ptr, dX.ptr, dG.ptr, G.size);
  download_at(D, dG);
}

void cuda_softmax_forward(const py::handle& x, const py::handle& y, bool log) {
  F32View X = dense(x, "x"), Y = dense(y, "out", true);
  require_matrix(X, "x");
  require_same_shape(X, Y, "out");
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer d = upload(X);
  softmax_forward_cuda(d.as<float>(), d.as<float>(), X.dim(0), X.dim(1), log);
  download(Y, d);
}

void cuda_softmax_backward(const py::handle& dy, const py::handle& x, const py::handle& dx,
                           bool log) {
  F32View G = dense(dy, "dy"), X = dense(x, "x"), D = dense(dx, "out", true);
  require_matrix(G, "dy");
  require_same_shape(G, X, "x");
  require_same_shape(G, D, "out");
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dG = upload(G), dX = upload(X);
  softmax_backward_cuda(dG.as<float>(), dX.as<float>(), dG.as<float>(), G.dim(0), G.dim(1), log);
  download(D, dG);
}

void cuda_bias_grad(const py::handle& dy, const py::handle& db) {
  F32View G = dense(dy, "dy"), B = dense(db, "out", true);
  require_matrix(G, "dy");
  require_shape(B, {G.dim(1)}, "out");
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dG = upload(G), dB(nbytes(B));
  bias_grad_cuda(dG.as<float>(), dB.as<float>(), G.dim(0), G.dim(1));
  download(B, dB);
}

void cuda_argmax(const py::handle& x, py::array_t<std::int64_t, py::array::c_style> out) {
  F32View X = dense(x, "x");
  require_matrix(X, "x");
  FN_CHECK(out.ndim() == 1 && out.shape(0) == X.dim(0), "out: expected shape (", X.dim(0),
           ",), got ndim ", out.ndim());
  FN_CHECK(X.dim(1) > 0 || X.dim(0) == 0, "x: argmax needs at least one column, got shape ",
           shape_str(X.shape));
  std::int64_t* host_out = out.mutable_data();
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dX = upload(X), dO(static_cast<std::size_t>(X.dim(0)) * sizeof(std::int64_t));
  argmax_rows_cuda(dX.as<float>(), dO.as<std::int64_t>(), X.dim(0), X.dim(1));
  copy_device_to_host(host_out, dO.data(), dO.bytes());
}

// Building blocks of device-resident training, bound for the tests: a gathered mini-batch and the
// number of correct rows (summed on the device).
void cuda_gather_rows(const py::handle& src, py::array_t<std::int64_t, py::array::c_style> index,
                      const py::handle& out) {
  F32View S = dense(src, "src"), O = dense(out, "out", true);
  require_matrix(S, "src");
  FN_CHECK(index.ndim() == 1, "index: expected a 1-D array, got ndim ", index.ndim());
  const index_t rows = index.shape(0), cols = S.dim(1);
  require_shape(O, {rows, cols}, "out");
  const std::int64_t* idx = index.data();
  for (index_t i = 0; i < rows; ++i)
    FN_CHECK(idx[i] >= 0 && idx[i] < S.dim(0), "index: expected row indices in [0, ", S.dim(0),
             "), got ", idx[i], " at position ", i);
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dS = upload(S), dO(nbytes(O));
  DeviceBuffer dI(static_cast<std::size_t>(rows) * sizeof(std::int64_t));
  copy_host_to_device(dI.data(), idx, dI.bytes());
  gather_rows_cuda(dS.as<float>(), dI.as<std::int64_t>(), dO.as<float>(), rows, cols);
  download(O, dO);
}

double cuda_count_correct(const py::handle& logits,
                          py::array_t<std::int64_t, py::array::c_style> labels) {
  F32View Z = dense(logits, "logits");
  require_matrix(Z, "logits");
  const index_t rows = Z.dim(0);
  FN_CHECK(labels.ndim() == 1 && labels.shape(0) == rows, "labels: expected shape (", rows, ",)");
  FN_CHECK(Z.dim(1) > 0 || rows == 0, "logits: expected at least one column");
  const std::int64_t* lab = labels.data();
  double count = 0.0;
  {
    py::gil_scoped_release release;
    require_cuda_device();
    DeviceBuffer dZ = upload(Z), dC(static_cast<std::size_t>(rows) * sizeof(double)),
                 dSum(sizeof(double));
    DeviceBuffer dL(static_cast<std::size_t>(rows) * sizeof(std::int64_t));
    copy_host_to_device(dL.data(), lab, dL.bytes());
    correct_rows_cuda(dZ.as<float>(), dL.as<std::int64_t>(), dC.as<double>(), rows, Z.dim(1));
    sum_doubles_cuda(dC.as<double>(), rows, 1.0, dSum.as<double>());
    copy_device_to_host(&count, dSum.data(), sizeof(double));
  }
  return count;
}

// Shared tail of the losses: the reduced value comes back as a Python float.
double fetch_loss(const DeviceBuffer& loss) {
  double v = 0.0;
  copy_device_to_host(&v, loss.data(), sizeof(double));
  return v;
}

double cuda_pair_loss(int which, const py::handle& a, const py::handle& t, const py::object& w,
                      const py::handle& grad, const std::string& reduction) {
  const char* a_name = which == 0 ? "pred" : "logits";
  const char* t_name = which == 0 ? "target" : "targets";
  F32View A = dense(a, a_name), T = dense(t, t_name), G = dense(grad, "out", true);
  require_matrix(A, a_name);
  require_same_shape(A, T, t_name);
  require_same_shape(A, G, "out");
  const index_t rows = A.dim(0), cols = A.dim(1);
  F32View W = optional_vector(w, rows, "sample_weight");
  const Reduction red = parse_reduction(reduction);
  FN_CHECK(cols > 0 || rows == 0, a_name, ": expected at least one column, got shape ",
           shape_str(A.shape));
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dA = upload(A), dT = upload(T), dW = upload(W), dG(nbytes(G));
  DeviceBuffer rows_buf(static_cast<std::size_t>(rows) * sizeof(double)), loss(sizeof(double));
  const float* wp = W.data ? dW.as<float>() : nullptr;
  if (which == 0)
    mse_cuda(dA.as<float>(), dT.as<float>(), wp, dG.as<float>(), rows, cols, red,
             rows_buf.as<double>(), loss.as<double>());
  else if (which == 1)
    binary_cross_entropy_cuda(dA.as<float>(), dT.as<float>(), wp, dG.as<float>(), rows, cols, red,
                              rows_buf.as<double>(), loss.as<double>());
  else
    softmax_cross_entropy_soft_cuda(dA.as<float>(), dT.as<float>(), wp, dG.as<float>(), rows,
                                    cols, red, rows_buf.as<double>(), loss.as<double>());
  download(G, dG);
  return fetch_loss(loss);
}

double cuda_softmax_ce(const py::handle& logits, py::array_t<std::int64_t, py::array::c_style> labels,
                       const py::object& w, const py::handle& grad, const std::string& reduction) {
  F32View Z = dense(logits, "logits"), G = dense(grad, "out", true);
  require_matrix(Z, "logits");
  require_same_shape(Z, G, "out");
  const index_t rows = Z.dim(0), cols = Z.dim(1);
  FN_CHECK(labels.ndim() == 1 && labels.shape(0) == rows, "labels: expected shape (", rows,
           ",), got ndim ", labels.ndim(), (labels.ndim() == 1 ? " with length " : ""),
           (labels.ndim() == 1 ? std::to_string(labels.shape(0)) : std::string()));
  FN_CHECK(cols > 0 || rows == 0, "logits: expected at least one column, got shape ",
           shape_str(Z.shape));
  const std::int64_t* lab = labels.data();
  for (index_t i = 0; i < rows; ++i)
    FN_CHECK(lab[i] >= 0 && lab[i] < cols, "labels: expected class indices in [0, ", cols,
             "), got ", lab[i], " at index ", i);
  F32View W = optional_vector(w, rows, "sample_weight");
  const Reduction red = parse_reduction(reduction);
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer dZ = upload(Z), dW = upload(W), dG(nbytes(G));
  DeviceBuffer dL(static_cast<std::size_t>(rows) * sizeof(std::int64_t));
  copy_host_to_device(dL.data(), lab, dL.bytes());
  DeviceBuffer rows_buf(static_cast<std::size_t>(rows) * sizeof(double)), loss(sizeof(double));
  softmax_cross_entropy_cuda(dZ.as<float>(), dL.as<std::int64_t>(),
                             W.data ? dW.as<float>() : nullptr, dG.as<float>(), rows, cols, red,
                             rows_buf.as<double>(), loss.as<double>());
  download(G, dG);
  return fetch_loss(loss);
}

void cuda_sgd(const py::handle& param, const py::handle& grad, const py::object& velocity,
              float lr, float momentum, bool nesterov, float weight_decay, int misalign) {
  F32View P = dense(param, "param", true), G = dense(grad, "grad");
  require_same_shape(P, G, "grad");
  F32View V;
  if (!velocity.is_none()) {
    V = dense(velocity, "velocity", true);
    require_same_shape(P, V, "velocity");
  }
  FN_CHECK(momentum == 0.0f || V.data != nullptr || P.size == 0,
           "velocity: required when momentum != 0, got None");
  check_misalign(misalign);
  py::gil_scoped_release release;
  require_cuda_device();
  DevArray dP = upload_at(P, misalign), dG = upload_at(G, misalign), dV = upload_at(V, misalign);
  sgd_step_cuda(dP.ptr, dG.ptr, dV.ptr, P.size, lr, momentum, nesterov, weight_decay);
  download_at(P, dP);
  if (V.data) download_at(V, dV);
}

void cuda_adam(const py::handle& param, const py::handle& grad, const py::handle& m,
               const py::handle& v, std::int64_t step, float lr, float beta1, float beta2,
               float eps, float weight_decay, bool decoupled, int misalign) {
  F32View P = dense(param, "param", true), G = dense(grad, "grad"), Mv = dense(m, "m", true),
          Vv = dense(v, "v", true);
  require_same_shape(P, G, "grad");
  require_same_shape(P, Mv, "m");
  require_same_shape(P, Vv, "v");
  FN_CHECK(step >= 1, "step: expected an int >= 1, got ", step);
  check_misalign(misalign);
  py::gil_scoped_release release;
  require_cuda_device();
  DevArray dP = upload_at(P, misalign), dG = upload_at(G, misalign), dM = upload_at(Mv, misalign),
           dV = upload_at(Vv, misalign);
  adam_step_cuda(dP.ptr, dG.ptr, dM.ptr, dV.ptr, P.size, step, lr, beta1, beta2, eps,
                 weight_decay, decoupled);
  download_at(P, dP);
  download_at(Mv, dM);
  download_at(Vv, dV);
}

// Allocates and frees `bytes` on the device: exercises the out-of-memory message in tests.
void cuda_try_alloc(std::size_t bytes) {
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer d(bytes);
}

py::tuple cuda_memory_info() {
  std::size_t f = 0, t = 0;
  {
    py::gil_scoped_release release;
    require_cuda_device();
    device_memory_info(&f, &t);
  }
  return py::make_tuple(f, t);
}

void cuda_synchronize() {
  py::gil_scoped_release release;
  require_cuda_device();
  stream_synchronize(nullptr);
}

// ---- benchmark helpers: data stays on the device, time by CUDA events ---------------------------
struct GemmBench {
  index_t M, N, K;
  const float *A, *B;
  float* C;
  bool tf32;
};

// (milliseconds per call, C) for C = A @ B with row-major A [M, K], B [K, N] on the device.
py::tuple cuda_bench_gemm(const py::handle& a, const py::handle& b, int iters, bool tf32) {
  F32View A = dense(a, "a"), B = dense(b, "b");
  require_matrix(A, "a");
  require_matrix(B, "b");
  FN_CHECK(A.dim(1) == B.dim(0), "b: expected ", A.dim(1), " rows, got ", B.dim(0));
  py::array_t<float> out({A.dim(0), B.dim(1)});
  F32View C = dense(out, "out", true);
  double ms = 0.0;
  {
    py::gil_scoped_release release;
    require_cuda_device();
    DeviceBuffer dA = upload(A), dB = upload(B), dC(nbytes(C));
    GemmBench g{A.dim(0), B.dim(1), A.dim(1), dA.as<float>(), dB.as<float>(), dC.as<float>(), tf32};
    ms = cuda_time_ms(
        [](void* p) {
          auto* g = static_cast<GemmBench*>(p);
          gemm_cuda(g->M, g->N, g->K, 1.0f, g->A, g->K, 1, g->B, g->N, 1, 0.0f, g->C, g->N, 1,
                    Epilogue{}, g->tf32);
        },
        &g, iters);
    download(C, dC);
  }
  return py::make_tuple(ms, out);
}

struct AdamBench {
  index_t n;
  float *p, *g, *m, *v;
};

// Milliseconds per Adam step over n parameters (arena of 4 n floats on the device).
double cuda_bench_adam(index_t n, int iters) {
  FN_CHECK(n > 0, "n: expected a positive parameter count, got ", n);
  py::gil_scoped_release release;
  require_cuda_device();
  const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
  DeviceBuffer p(bytes), g(bytes), m(bytes), v(bytes);
  // Every float 0x3c3c3c3c (about 0.0115): not zeros, which can time faster than real data.
  for (DeviceBuffer* b : {&p, &g, &m, &v}) memset_device(b->data(), 0x3c, bytes);
  AdamBench b{n, p.as<float>(), g.as<float>(), m.as<float>(), v.as<float>()};
  return cuda_time_ms(
      [](void* ctx) {
        auto* b = static_cast<AdamBench*>(ctx);
        adam_step_cuda(b->p, b->g, b->m, b->v, b->n, 10, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.0f, false);
      },
      &b, iters);
}

struct CopyBench {
  void* dst;
  const void* src;
  std::size_t bytes;
};

// Milliseconds per device-to-device copy of nbytes (reads nbytes and writes nbytes).
double cuda_bench_copy(std::size_t nbytes, int iters) {
  py::gil_scoped_release release;
  require_cuda_device();
  DeviceBuffer src(nbytes), dst(nbytes);
  memset_device(src.data(), 0, nbytes);
  CopyBench c{dst.data(), src.data(), nbytes};
  return cuda_time_ms(
      [](void* ctx) {
        auto* c = static_cast<CopyBench*>(ctx);
        copy_device_to_device(c->dst, c->src, c->bytes);
      },
      &c, iters);
}

double cuda_peak_bandwidth() {
  py::gil_scoped_release release;
  require_cuda_device();
  return device_peak_bandwidth_gbs();
}

}  // namespace

void bind_cuda(py::module_& m) {
  bind_precision(m);
  using py::arg;
  m.def("cuda_bench_gemm", &cuda_bench_gemm, arg("a"), arg("b"), arg("iters"), arg("tf32"));
  m.def("cuda_bench_adam", &cuda_bench_adam, arg("n"), arg("iters"));
  m.def("cuda_bench_copy", &cuda_bench_copy, arg("nbytes"), arg("iters"));
  m.def("cuda_peak_bandwidth", &cuda_peak_bandwidth);
  m.def("cuda_gemm", &cuda_gemm, arg("a"), arg("b"), arg("out"), arg("trans_a"), arg("trans_b"),
        arg("alpha"), arg("beta"), arg("bias"), arg("act"), arg("act_param"), arg("allow_tf32"));
  m.def("cuda_activation_forward", &cuda_activation_forward, arg("x"), arg("out"), arg("act"),
        arg("param"), arg("misalign") = 0);
  m.def("cuda_activation_backward", &cuda_activation_backward, arg("dy"), arg("x"), arg("out"),
        arg("act"), arg("param"), arg("from_output") = false, arg("misalign") = 0);
  m.def("cuda_softmax_forward", &cuda_softmax_forward, arg("x"), arg("out"), arg("log"));
  m.def("cuda_softmax_backward", &cuda_softmax_backward, arg("dy"), arg("x"), arg("out"),
        arg("log"));
  m.def("cuda_bias_grad", &cuda_bias_grad, arg("dy"), arg("out"));
  m.def("cuda_argmax", &cuda_argmax, arg("x"), arg("out"));
  m.def("cuda_pair_loss", &cuda_pair_loss, arg("kind"), arg("a"), arg("t"), arg("sample_weight"),
        arg("out"), arg("reduction"));
  m.def("cuda_softmax_ce", &cuda_softmax_ce, arg("logits"), arg("labels"), arg("sample_weight"),
        arg("out"), arg("reduction"));
  m.def("cuda_sgd", &cuda_sgd, arg("param"), arg("grad"), arg("velocity"), arg("lr"),
        arg("momentum"), arg("nesterov"), arg("weight_decay"), arg("misalign") = 0);
  m.def("cuda_adam", &cuda_adam, arg("param"), arg("grad"), arg("m"), arg("v"), arg("step"),
        arg("lr"), arg("beta1"), arg("beta2"), arg("eps"), arg("weight_decay"), arg("decoupled"),
        arg("misalign") = 0);
  m.def("cuda_gather_rows", &cuda_gather_rows, arg("src"), arg("index"), arg("out"));
  m.def("cuda_count_correct", &cuda_count_correct, arg("logits"), arg("labels"));
  m.def("cuda_try_alloc", &cuda_try_alloc, arg("nbytes"));
  m.def("cuda_memory_info", &cuda_memory_info);
  m.def("cuda_synchronize", &cuda_synchronize);
}

#else  // no CUDA compiled in: the same names, each a clear RuntimeError

void bind_cuda(py::module_& m) {
  bind_precision(m);
  for (const char* name :
       {"cuda_gemm", "cuda_activation_forward", "cuda_activation_backward",
        "cuda_softmax_forward", "cuda_softmax_backward", "cuda_bias_grad", "cuda_argmax",
        "cuda_pair_loss", "cuda_softmax_ce", "cuda_sgd", "cuda_adam", "cuda_try_alloc",
        "cuda_memory_info", "cuda_synchronize", "cuda_bench_gemm", "cuda_bench_adam",
        "cuda_bench_copy", "cuda_peak_bandwidth", "cuda_gather_rows", "cuda_count_correct"}) {
    m.def(name, [](py::args, py::kwargs) {
      throw std::runtime_error(
          "CUDA not compiled: fusednet was built without CUDA (nvcc not found or "
          "FUSEDNET_CUDA=OFF); rebuild with FUSEDNET_CUDA=ON to use device='cuda'");
    });
  }
}

#endif

// ---- TF32 kernel choice and a raw-pointer gemm, for benchmarks and tests ---------------------------
// _gemm_cuda_tf32_kernel(k): which TF32 kernel gemm_cuda runs (0 auto, 1 v1, 2 / 3 v2 128x128 /
// 128x256; -1 queries); returns the previous value.
// _cuda_gemm_raw(...): gemm_cuda on 1-D buffers with element offsets and strides (>= 0), so tests
// reach strided and misaligned device operands; returns the whole C buffer after the call.
#ifdef FUSEDNET_WITH_CUDA
namespace {
// Offset of the last element of a rows x cols view (0 when empty); checks it lies in the buffer.
void require_in_buffer(const F32View& buf, index_t off, index_t rows, index_t cols, index_t rs,
                       index_t cs, const char* name) {
  FN_CHECK(off >= 0 && rs >= 0 && cs >= 0, name, ": expected offset and strides >= 0, got ", off,
           ", ", rs, ", ", cs);
  if (rows == 0 || cols == 0) return;
  const index_t last = off + (rows - 1) * rs + (cols - 1) * cs;
  FN_CHECK(last < buf.size, name, ": view ends at element ", last, ", past the buffer's ",
           buf.size);
}

py::array_t<float> cuda_gemm_raw(const py::handle& a, index_t off_a, index_t rs_a, index_t cs_a,
                                 const py::handle& b, index_t off_b, index_t rs_b, index_t cs_b,
                                 const py::handle& c, index_t off_c, index_t rs_c, index_t cs_c,
                                 index_t M, index_t N, index_t K, float alpha, float beta,
                                 const py::object& bias, int act, float act_param,
                                 bool allow_tf32) {
  F32View A = dense(a, "a"), B = dense(b, "b"), C0 = dense(c, "c");
  FN_CHECK(M >= 0 && N >= 0 && K >= 0, "M, N, K: expected >= 0");
  require_in_buffer(A, off_a, M, K, rs_a, cs_a, "a");
  require_in_buffer(B, off_b, K, N, rs_b, cs_b, "b");
  require_in_buffer(C0, off_c, M, N, rs_c, cs_c, "c");
  F32View bias_v = optional_vector(bias, N, "bias");
  py::array_t<float> out(C0.size);
  F32View C = dense(out, "out", true);
  {
    py::gil_scoped_release release;
    require_cuda_device();
    DeviceBuffer dA = upload(A), dB = upload(B), dC = upload(C0), dBias = upload(bias_v);
    Epilogue epi;
    epi.bias = bias_v.data ? dBias.as<float>() : nullptr;
    epi.act = static_cast<Activation>(act);
    epi.act_param = act_param;
    gemm_cuda(M, N, K, alpha, dA.as<float>() + off_a, rs_a, cs_a, dB.as<float>() + off_b, rs_b,
              cs_b, beta, dC.as<float>() + off_c, rs_c, cs_c, epi, allow_tf32);
    download(C, dC);
  }
  return out;
}
}  // namespace

void bind_cuda_gemm_tf32(py::module_& m) {
  m.def("_gemm_cuda_tf32_kernel", &set_gemm_cuda_tf32_kernel, py::arg("kernel") = -1,
        "TF32 kernel of gemm_cuda: 0 auto (v2 when both operands are 16-byte aligned with a unit "
        "stride), 1 v1, 2 v2 128x128, 3 v2 128x256; -1 keeps it. Returns the previous value.");
  m.def("_gemm_cuda_split_k", &set_gemm_cuda_split_k, py::arg("enabled") = -1,
        "Whether exact-FP32 gemm_cuda may split K on small grids: 1 on (default), 0 off; -1 "
        "keeps it. Returns the previous value.");
  using py::arg;
  m.def("_cuda_gemm_raw", &cuda_gemm_raw, arg("a"), arg("off_a"), arg("rs_a"), arg("cs_a"),
        arg("b"), arg("off_b"), arg("rs_b"), arg("cs_b"), arg("c"), arg("off_c"), arg("rs_c"),
        arg("cs_c"), arg("M"), arg("N"), arg("K"), arg("alpha"), arg("beta"), arg("bias"),
        arg("act"), arg("act_param"), arg("allow_tf32"));
}
#else
void bind_cuda_gemm_tf32(py::module_& m) {
  for (const char* name : {"_gemm_cuda_tf32_kernel", "_gemm_cuda_split_k", "_cuda_gemm_raw"})
    m.def(name, [](py::args, py::kwargs) {
      throw std::runtime_error(
          "CUDA not compiled: fusednet was built without CUDA (nvcc not found or "
          "FUSEDNET_CUDA=OFF); rebuild with FUSEDNET_CUDA=ON to use device='cuda'");
    });
}
#endif

}  // namespace fusednet
