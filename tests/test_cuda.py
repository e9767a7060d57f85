"""CUDA backend tests.

Two groups:
- tests that run everywhere: without a usable device every CUDA op raises a clear RuntimeError
  (never a crash), backends() says why, the precision setting works, the GPU check script parses;
- device tests (fixture `gpu`): every kernel against the float64 references in reference_cuda.py.
  They skip with backends()["cuda"]["reason"] when there is no device.
"""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import fusednet as fnet
from fusednet import cuda

import reference_cuda as ref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cuda_info():
    return fnet.backends()["cuda"]


@pytest.fixture
def gpu():
    info = _cuda_info()
    if not info["available"]:
        pytest.skip(f"CUDA not available: {info['reason']}")
    yield
    cuda.set_float32_matmul_precision("highest")


def assert_close(got, want, rtol, atol, what=""):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if got.size == 0:
        return
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    bad = ~(err <= tol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err - tol, -np.inf)), got.shape)
        rel = err / np.maximum(np.abs(want), 1e-30)
        pytest.fail(f"{what}: max abs err {err.max():.3e}, max rel err {rel.max():.3e}; "
                    f"worst at {i}: got {got[i]!r} want {want[i]!r} ({bad.sum()} bad of {got.size})")


# ==== tests that run without a device ============================================================
def test_backends_reports_cuda_state():
    info = _cuda_info()
    assert isinstance(info["compiled"], bool) and isinstance(info["available"], bool)
    assert cuda.is_available() == info["available"]
    if info["available"]:
        assert info["reason"] == "" and len(info["devices"]) >= 1
    else:
        assert info["reason"].split(":")[0] in ("not compiled", "no driver", "driver too old",
                                                 "no device")
        assert cuda.reason() == info["reason"]


def _every_op_call():
    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 2), np.float32)
    v = np.ones(5, np.float32)
    z = np.zeros((3, 4), np.float32)
    return {
        "matmul": lambda: cuda.matmul(a, b),
        "linear": lambda: cuda.linear(a, b, np.zeros(2, np.float32), activation="relu"),
        "relu": lambda: cuda.relu(v),
        "relu_backward": lambda: cuda.relu_backward(v, v),
        "gelu": lambda: cuda.gelu(v, approximate=True),
        "softmax": lambda: cuda.softmax(a),
        "log_softmax_backward": lambda: cuda.log_softmax_backward(a, a),
        "bias_grad": lambda: cuda.bias_grad(a),
        "argmax": lambda: cuda.argmax(a),
        "mse": lambda: cuda.mse(a, z),
        "binary_cross_entropy": lambda: cuda.binary_cross_entropy(a, z),
        "softmax_cross_entropy": lambda: cuda.softmax_cross_entropy(a, np.array([0, 1, 3])),
        "sgd_": lambda: cuda.sgd_(v.copy(), v, lr=0.1),
        "adam_": lambda: cuda.adam_(v.copy(), v, v.copy(), v.copy(), step=1),
        "synchronize": cuda.synchronize,
        "memory_info": cuda.memory_info,
    }


@pytest.mark.parametrize("name", sorted(_every_op_call()))
def test_without_device_every_op_raises_runtime_error(name):
    info = _cuda_info()
    if info["available"]:
        pytest.skip("a CUDA device is available here")
    with pytest.raises(RuntimeError, match="CUDA not available: " + info["reason"].split(":")[0]):
        _every_op_call()[name]()


_CORE_NAMES = ["cuda_gemm", "cuda_activation_forward", "cuda_activation_backward",
               "cuda_softmax_forward", "cuda_softmax_backward", "cuda_bias_grad", "cuda_argmax",
               "cuda_pair_loss", "cuda_softmax_ce", "cuda_sgd", "cuda_adam", "cuda_try_alloc",
               "cuda_memory_info", "cuda_synchronize", "cuda_gather_rows", "cuda_count_correct",
               "cuda_bench_gemm", "cuda_bench_adam", "cuda_bench_copy", "cuda_peak_bandwidth"]


@pytest.mark.parametrize("name", _CORE_NAMES)
def test_core_bindings_exist_and_fail_cleanly(name):
    fn = getattr(fnet._core, name)
    info = _cuda_info()
    if not info["compiled"]:
        with pytest.raises(RuntimeError, match="CUDA not compiled"):
            fn()
    elif not info["available"] and name in ("cuda_try_alloc", "cuda_memory_info",
                                            "cuda_synchronize"):
        args = (1,) if name == "cuda_try_alloc" else ()
        with pytest.raises(RuntimeError, match="CUDA not available"):
            fn(*args)


def test_core_binding_without_device_raises_after_argument_checks():
    info = _cuda_info()
    if not info["compiled"] or info["available"]:
        pytest.skip("needs CUDA compiled in and no device")
    a = np.ones((2, 3), np.float32)
    out = np.empty((2, 2), np.float32)
    with pytest.raises(ValueError, match="b: expected 3 rows"):
        fnet._core.cuda_gemm(a, np.ones((2, 2), np.float32), out, False, False, 1.0, 0.0, None,
                             0, 0.0, False)
    with pytest.raises(RuntimeError, match="CUDA not available"):
        fnet._core.cuda_gemm(a, np.ones((3, 2), np.float32), out, False, False, 1.0, 0.0, None,
                             0, 0.0, False)
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 3\), got 7"):
        fnet._core.cuda_softmax_ce(a, np.array([0, 7], np.int64), None, a.copy(), "mean")


def test_float32_matmul_precision_roundtrip():
    before = cuda.get_float32_matmul_precision()
    assert before in ("highest", "high")
    try:
        cuda.set_float32_matmul_precision("high")
        assert cuda.get_float32_matmul_precision() == "high"
        cuda.set_float32_matmul_precision("highest")
        assert cuda.get_float32_matmul_precision() == "highest"
        with pytest.raises(ValueError, match="precision: expected 'highest' or 'high', got 'medium'"):
            cuda.set_float32_matmul_precision("medium")
        with pytest.raises(TypeError, match="precision: expected"):
            cuda.set_float32_matmul_precision(3)
    finally:
        cuda.set_float32_matmul_precision(before)


def test_gpu_check_script_parses_and_dry_runs(tmp_path):
    script = os.path.join(ROOT, "bench", "gpu_check.sh")
    subprocess.run(["bash", "-n", script], check=True)
    out = subprocess.run(["bash", script, "--dry-run", str(tmp_path / "report")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step: build" in out.stdout and "step: bench" in out.stdout


def test_gpu_bench_dry_run(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_bench.py"),
                          "--dry-run", "--out", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dry run" in out.stdout


# ==== device tests ===============================================================================
GEMM_SHAPES = [(1, 1, 1), (1, 7, 1), (7, 1, 13), (13, 17, 19), (64, 64, 64), (127, 129, 33),
               (128, 128, 8), (131, 67, 257), (1000, 3, 5), (3, 1001, 7), (257, 263, 1031),
               (5, 4, 0)]


def _operand(rng, rows, cols, trans, layout):
    """A float32 operand whose op() is (rows, cols), stored per `layout`."""
    base = rng.standard_normal((cols, rows) if trans else (rows, cols)).astype(np.float32)
    if layout == "F":
        return np.asfortranarray(base)
    if layout == "strided":
        big = np.zeros((base.shape[0], base.shape[1] * 2), np.float32)
        big[:, ::2] = base
        return big[:, ::2]
    if layout == "negative":
        return np.ascontiguousarray(base[::-1, ::-1])[::-1, ::-1]
    return base


@pytest.mark.parametrize("M,N,K", GEMM_SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_matmul_matches_float64(gpu, rng, M, N, K, trans_a, trans_b):
    a = _operand(rng, M, K, trans_a, "C")
    b = _operand(rng, K, N, trans_b, "C")
    got = cuda.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    want = ref.gemm(a, b, trans_a, trans_b)
    assert_close(got, want, 1e-4, 1e-4 * max(1, K) ** 0.5, f"matmul {M}x{N}x{K}")


@pytest.mark.parametrize("layout", ["F", "strided", "negative"])
def test_matmul_any_layout(gpu, rng, layout):
    a = _operand(rng, 67, 45, False, layout)
    b = _operand(rng, 45, 131, False, layout)
    out_base = np.full((131, 67), np.nan, np.float32)
    out = out_base.T  # a non-contiguous out=
    got = cuda.matmul(a, b, out=out)
    assert got is out
    assert_close(out, ref.gemm(a, b), 1e-4, 1e-3, f"matmul {layout}")


def test_matmul_alpha_beta_and_beta_zero_ignores_nan(gpu, rng):
    a = rng.standard_normal((70, 90)).astype(np.float32)
    b = rng.standard_normal((90, 150)).astype(np.float32)
    c = rng.standard_normal((70, 150)).astype(np.float32)
    want = ref.gemm(a, b, alpha=0.5, beta=-2.0, c=c)
    got = cuda.matmul(a, b, alpha=0.5, beta=-2.0, out=c.copy())
    assert_close(got, want, 1e-4, 1e-3, "alpha/beta")
    nan_out = np.full((70, 150), np.nan, np.float32)
    got = cuda.matmul(a, b, beta=0.0, out=nan_out)
    assert np.isfinite(got).all()
    assert_close(got, ref.gemm(a, b), 1e-4, 1e-3, "beta=0")


@pytest.mark.parametrize("act", ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu",
                                 "gelu_tanh"])
def test_linear_bias_activation_epilogue(gpu, rng, act):
    x = rng.standard_normal((257, 100)).astype(np.float32)
    w = (rng.standard_normal((100, 129)) * 0.1).astype(np.float32)
    b = rng.standard_normal(129).astype(np.float32)
    got = cuda.linear(x, w, b, activation=act)
    assert_close(got, ref.gemm(x, w, bias=b, act=act), 1e-4, 1e-4, f"linear {act}")


def test_matmul_large_and_deterministic(gpu, rng):
    a = rng.standard_normal((1024, 1536)).astype(np.float32)
    b = rng.standard_normal((1536, 1100)).astype(np.float32)
    got = cuda.matmul(a, b)
    assert_close(got, ref.gemm(a, b), 1e-4, 2e-3, "matmul 1024x1100x1536")
    assert np.array_equal(got, cuda.matmul(a, b)), "two runs differ"


@pytest.mark.parametrize("M,N,K", [(256, 128, 1024), (130, 67, 1000), (784, 256, 1024),
                                   (5, 3, 4099), (64, 10, 1024)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_matmul_split_k_shapes(gpu, rng, M, N, K, trans_a, trans_b):
    # Few output tiles and a long K (a training step's dW = x^T dz): gemm splits K into slices,
    # one slab each, summed in slice order with the epilogue after. Odd K and N % 4 != 0 reach
    # the scalar edges of both passes; the result must also repeat bit for bit.
    a = _operand(rng, M, K, trans_a, "C")
    b = _operand(rng, K, N, trans_b, "C")
    c = rng.standard_normal((M, N)).astype(np.float32)
    got = cuda.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=-1.5, out=c.copy())
    want = 0.5 * ref.gemm(a, b, trans_a, trans_b) - 1.5 * c.astype(np.float64)
    tol = 1e-4 * max(1, K) ** 0.5
    assert_close(got, want, 1e-4, tol, f"split-K {M}x{N}x{K}")
    again = cuda.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=-1.5, out=c.copy())
    assert np.array_equal(got, again), "split-K runs differ"
    if not trans_a and not trans_b:
        bias = rng.standard_normal(N).astype(np.float32)
        got = cuda.linear(a, b, bias, activation="tanh")
        assert_close(got, ref.gemm(a, b, bias=bias, act="tanh"), 1e-4, tol, "split-K linear")


def test_split_k_knob(gpu, rng):
    a = rng.standard_normal((64, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 10)).astype(np.float32)
    before = fnet._core._gemm_cuda_split_k(0)
    try:
        unsplit = cuda.matmul(a, b)
    finally:
        assert fnet._core._gemm_cuda_split_k(before) == 0
    assert fnet._core._gemm_cuda_split_k() == before == 1
    split = cuda.matmul(a, b)
    want = ref.gemm(a, b)
    assert_close(unsplit, want, 1e-4, 3e-3, "unsplit")
    assert_close(split, want, 1e-4, 3e-3, "split")
    with pytest.raises(ValueError, match="split_k"):
        fnet._core._gemm_cuda_split_k(2)


@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (127, 129, 33), (257, 263, 1031), (1024, 1024, 512)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (False, True)])
def test_matmul_tf32(gpu, rng, M, N, K, trans_a, trans_b):
    major = min(d["compute_capability"][0] for d in _cuda_info()["devices"])
    a = _operand(rng, M, K, trans_a, "C")
    b = _operand(rng, K, N, trans_b, "C")
    cuda.set_float32_matmul_precision("high")
    got = cuda.matmul(a, b, trans_a=trans_a, trans_b=trans_b)
    want = ref.gemm(a, b, trans_a, trans_b)
    # TF32 keeps 10 mantissa bits: error ~ 2^-11 * sqrt(K) * |a||b| per output.
    tol = 3e-3 * max(1, K) ** 0.5 if major >= 8 else 1e-4 * max(1, K) ** 0.5
    assert_close(got, want, 1e-2, tol, f"tf32 {M}x{N}x{K}")


def test_tf32_path_is_really_taken(gpu):
    # 1 + 2^-20 needs 20 mantissa bits: exact in FP32, rounded to 1.0 in TF32 (10 bits).
    major = min(d["compute_capability"][0] for d in _cuda_info()["devices"])
    a = np.full((130, 3), 1.0 + 2.0 ** -20, np.float32)
    b = np.ones((3, 70), np.float32)
    exact = cuda.matmul(a, b)
    assert (exact == np.float32(3 * (1 + 2.0 ** -20))).all()
    cuda.set_float32_matmul_precision("high")
    fast = cuda.matmul(a, b)
    if major >= 8:
        assert (fast == 3.0).all(), "TF32 kernel not used on sm_80+"
    else:
        assert np.array_equal(fast, exact), "pre-sm_80 must fall back to exact FP32"


def test_matmul_zero_size_and_bad_shapes(gpu):
    out = cuda.matmul(np.zeros((0, 5), np.float32), np.zeros((5, 3), np.float32))
    assert out.shape == (0, 3)
    out = cuda.matmul(np.zeros((4, 0), np.float32), np.zeros((0, 3), np.float32))
    assert out.shape == (4, 3) and (out == 0).all()
    with pytest.raises(ValueError, match="b: expected op"):
        cuda.matmul(np.zeros((4, 5), np.float32), np.zeros((4, 3), np.float32))
    with pytest.raises(TypeError, match="out: expected dtype float32"):
        cuda.matmul(np.zeros((4, 5), np.float32), np.zeros((5, 3), np.float32),
                    out=np.zeros((4, 3), np.float64))


ACTS = [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("sigmoid", {}), ("tanh", {}),
        ("gelu", {}), ("gelu_tanh", {})]


def _fwd(name, kw):
    if name == "gelu_tanh":
        return lambda x, **o: cuda.gelu(x, approximate=True, **o)
    return lambda x, **o: getattr(cuda, name)(x, **kw, **o)


def _bwd(name, kw):
    if name == "gelu_tanh":
        return lambda dy, x, **o: cuda.gelu_backward(dy, x, approximate=True, **o)
    return lambda dy, x, **o: getattr(cuda, name + "_backward")(dy, x, **kw, **o)


@pytest.mark.parametrize("name,kw", ACTS)
@pytest.mark.parametrize("n", [1, 3, 4, 1001, 4099])
def test_activation_forward_backward(gpu, rng, name, kw, n):
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    slope = kw.get("negative_slope", 0.01)
    assert_close(_fwd(name, kw)(x), ref.activation(x, name, slope), 2e-6, 2e-6, f"{name} fwd")
    assert_close(_bwd(name, kw)(dy, x), ref.activation_grad(dy, x, name, slope), 1e-5, 1e-6,
                 f"{name} bwd")


@pytest.mark.parametrize("name,code,slope", [("linear", 0, 0.0), ("relu", 1, 0.0),
                                             ("leaky_relu", 2, 0.1), ("sigmoid", 3, 0.0),
                                             ("tanh", 4, 0.0)])
def test_activation_backward_from_output(gpu, rng, name, code, slope):
    x = (rng.standard_normal(1001) * 2).astype(np.float32)
    y = ref.activation(x, name, slope).astype(np.float32)
    dy = rng.standard_normal(1001).astype(np.float32)
    out = np.empty_like(dy)
    fnet._core.cuda_activation_backward(dy, y, out, code, slope, True)
    assert_close(out, ref.activation_grad(dy, x, name, slope), 1e-5, 1e-6, f"{name} from output")


def test_activation_backward_from_output_rejects_gelu(gpu):
    z = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="backward from the output"):
        fnet._core.cuda_activation_backward(z, z, z.copy(), 5, 0.0, True)


@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_backward_finite_difference(gpu, rng, name, kw):
    x = (rng.standard_normal(257) * 2).astype(np.float32)
    x = x[np.abs(x) > 1e-2]  # away from the relu kink
    slope = kw.get("negative_slope", 0.01)
    h = 1e-4
    fd = (ref.activation(x.astype(np.float64) + h, name, slope)
          - ref.activation(x.astype(np.float64) - h, name, slope)) / (2 * h)
    got = _bwd(name, kw)(np.ones_like(x), x)
    assert_close(got, fd, 1e-4, 1e-5, f"{name} bwd vs finite difference")


def test_activation_layouts_and_out(gpu, rng):
    base = rng.standard_normal((40, 30)).astype(np.float32)
    view = base[::-2, 1::3]
    assert_close(cuda.relu(view), ref.activation(view, "relu"), 0, 0, "relu view")
    out = np.empty((10, 20), np.float32).T
    assert cuda.tanh(view, out=out) is out
    assert_close(out, np.tanh(view.astype(np.float64)), 2e-6, 2e-6, "tanh out=")
    unaligned = rng.standard_normal(1027).astype(np.float32)[1:]  # odd length: scalar tail
    assert_close(cuda.sigmoid(unaligned), ref.activation(unaligned, "sigmoid"), 2e-6, 2e-6, "sig")
    assert cuda.relu(np.zeros((0, 3), np.float32)).shape == (0, 3)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 10), (17, 33), (64, 1000), (2, 4099)])
def test_softmax_forward_backward(gpu, rng, log, rows, cols):
    x = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    f = cuda.log_softmax if log else cuda.softmax
    b = cuda.log_softmax_backward if log else cuda.softmax_backward
    assert_close(f(x), ref.softmax(x, log), 1e-5, 1e-6, "softmax fwd")
    assert_close(b(dy, x), ref.softmax_grad(dy, x, log), 1e-4, 1e-5, "softmax bwd")
    # finite difference of sum(dy * f(x)) w.r.t. x, on the float64 reference
    h = 1e-5
    xd = x.astype(np.float64)
    j = cols // 2
    xp, xm = xd.copy(), xd.copy()
    xp[:, j] += h
    xm[:, j] -= h
    fd = ((dy * ref.softmax(xp, log)).sum(1) - (dy * ref.softmax(xm, log)).sum(1)) / (2 * h)
    assert_close(b(dy, x)[:, j], fd, 1e-3, 1e-4, "softmax bwd vs finite difference")


def test_activation_by_name_and_parameters(gpu, rng):
    x = rng.standard_normal((17, 9)).astype(np.float32)
    dy = rng.standard_normal((17, 9)).astype(np.float32)
    assert_close(cuda.activation(x, "leaky_relu", negative_slope=0.3),
                 ref.activation(x, "leaky_relu", 0.3), 0, 0, "leaky by name")
    assert_close(cuda.activation(x, "gelu", approximate=True), ref.activation(x, "gelu_tanh"),
                 2e-6, 2e-6, "gelu approximate by name")
    assert_close(cuda.activation_backward(dy, x, "log_softmax"),
                 ref.softmax_grad(dy, x, log=True), 1e-4, 1e-5, "log_softmax bwd by name")
    with pytest.raises(ValueError, match="name: unknown activation 'swish'"):
        cuda.activation(x, "swish")
    with pytest.raises(TypeError, match="relu: unexpected parameter 'negative_slope'"):
        cuda.activation(x, "relu", negative_slope=0.1)


def test_cuda_agrees_with_cpu_ops(gpu, rng):
    x = rng.standard_normal((300, 70)).astype(np.float32)
    w = (rng.standard_normal((70, 33)) * 0.2).astype(np.float32)
    b = rng.standard_normal(33).astype(np.float32)
    labels = rng.integers(0, 33, 300)
    assert_close(cuda.linear(x, w, b, activation="tanh"),
                 fnet.ops.linear(x, w, b, activation="tanh"), 1e-5, 1e-5, "linear")
    assert_close(cuda.gelu(x), fnet.ops.gelu(x), 1e-5, 1e-6, "gelu")
    assert_close(cuda.bias_grad(x), fnet.ops.bias_grad(x), 1e-5, 1e-4, "bias_grad")
    z = fnet.ops.linear(x, w, b)
    (l_gpu, g_gpu), (l_cpu, g_cpu) = (cuda.softmax_cross_entropy(z, labels),
                                      fnet.ops.softmax_cross_entropy(z, labels))
    assert abs(l_gpu - l_cpu) <= 1e-5 * abs(l_cpu)
    assert_close(g_gpu, g_cpu, 1e-4, 1e-7, "softmax CE grad")
    p1, p2 = x[0].copy(), x[0].copy()
    g = x[1].copy()
    m1, v1, m2, v2 = (np.zeros(70, np.float32) for _ in range(4))
    cuda.adam_(p1, g, m1, v1, step=1, lr=0.1)
    fnet.ops.adam_(p2, g, m2, v2, step=1, lr=0.1)
    assert_close(p1, p2, 1e-5, 1e-6, "adam")


def test_softmax_extreme_logits_finite(gpu):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    assert np.isfinite(cuda.softmax(x)).all() and np.isfinite(cuda.log_softmax(x)).all()


@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 3), (1000, 1), (33, 130), (4097, 10)])
def test_bias_grad_and_argmax(gpu, rng, rows, cols):
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    got = cuda.bias_grad(dy)
    assert_close(got, dy.astype(np.float64).sum(0), 1e-5, 1e-3, "bias_grad")
    assert np.array_equal(got, cuda.bias_grad(dy)), "bias_grad not reproducible"
    out = np.empty((2, cols), np.float32)[0]
    assert cuda.bias_grad(dy, out) is out and np.array_equal(out, got)
    assert np.array_equal(cuda.argmax(dy), dy.argmax(axis=1))


def test_argmax_ties_and_nan(gpu):
    x = np.array([[1, 3, 3, 0], [np.nan, 5, np.nan, 1], [-np.inf, -np.inf, -np.inf, -np.inf]],
                 np.float32)
    assert cuda.argmax(x).tolist() == [1, 0, 0]


REDUCTIONS = ["mean", "sum"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("rows,cols", [(1, 1), (5, 3), (129, 10), (64, 1000)])
def test_losses_match_float64(gpu, rng, reduction, weighted, rows, cols):
    z = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    t = rng.standard_normal((rows, cols)).astype(np.float32)
    p01 = (rng.random((rows, cols)) < 0.5).astype(np.float32)
    labels = rng.integers(0, cols, rows)
    soft = rng.random((rows, cols)).astype(np.float32)
    soft /= soft.sum(1, keepdims=True)
    w = rng.random(rows).astype(np.float32) if weighted else None
    cases = [
        ("mse", cuda.mse(z, t, sample_weight=w, reduction=reduction),
         ref.mse(z, t, w, reduction)),
        ("bce", cuda.binary_cross_entropy(z, p01, sample_weight=w, reduction=reduction),
         ref.bce(z, p01, w, reduction)),
        ("ce", cuda.softmax_cross_entropy(z, labels, sample_weight=w, reduction=reduction),
         ref.softmax_ce(z, labels, w, reduction)),
        ("ce soft", cuda.softmax_cross_entropy(z, soft, sample_weight=w, reduction=reduction),
         ref.softmax_ce_soft(z, soft, w, reduction)),
    ]
    for name, (loss, grad), (want_loss, want_grad) in cases:
        assert isinstance(loss, float)
        assert_close(loss, want_loss, 1e-5, 1e-6, f"{name} loss")
        assert_close(grad, want_grad, 1e-4, 1e-7, f"{name} grad")


@pytest.mark.parametrize("which", ["mse", "bce", "ce", "ce soft"])
def test_loss_gradient_finite_difference(gpu, rng, which):
    rows, cols = 6, 5
    z = rng.standard_normal((rows, cols)).astype(np.float32)
    t = rng.random((rows, cols)).astype(np.float32)
    labels = rng.integers(0, cols, rows)

    def f(zz):
        if which == "mse":
            return cuda.mse(zz, t)
        if which == "bce":
            return cuda.binary_cross_entropy(zz, t)
        if which == "ce":
            return cuda.softmax_cross_entropy(zz, labels)
        return cuda.softmax_cross_entropy(zz, t / t.sum(1, keepdims=True))

    _, grad = f(z)
    h = 1e-2
    for i, j in [(0, 0), (3, 2), (5, 4)]:
        zp, zm = z.copy(), z.copy()
        zp[i, j] += h
        zm[i, j] -= h
        fd = (f(zp)[0] - f(zm)[0]) / (2 * h)
        assert abs(fd - grad[i, j]) <= 2e-3 * max(1.0, abs(fd)) + 1e-4, (which, i, j, fd, grad[i, j])


def test_losses_extreme_logits_and_errors(gpu):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    loss, g = cuda.softmax_cross_entropy(z, np.array([1, 1]))
    assert np.isfinite(loss) and np.isfinite(g).all()
    loss, g = cuda.binary_cross_entropy(z, np.array([[0, 1], [1, 0]], np.float32))
    assert np.isfinite(loss) and np.isfinite(g).all()
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 2\), got 2"):
        cuda.softmax_cross_entropy(z, np.array([0, 2]))
    with pytest.raises(ValueError, match="reduction: expected 'mean' or 'sum'"):
        cuda.mse(z, z, reduction="max")
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(2,\)"):
        cuda.mse(z, z, sample_weight=np.ones(3, np.float32))


def test_losses_deterministic(gpu, rng):
    z = rng.standard_normal((4096, 100)).astype(np.float32)
    labels = rng.integers(0, 100, 4096)
    l1, g1 = cuda.softmax_cross_entropy(z, labels)
    l2, g2 = cuda.softmax_cross_entropy(z, labels)
    assert l1 == l2 and np.array_equal(g1, g2)


@pytest.mark.parametrize("n", [1, 3, 4, 1001, 100003])
@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_matches_float64(gpu, rng, n, decoupled):
    p = rng.standard_normal(n).astype(np.float32)
    m = np.zeros(n, np.float32)
    v = np.zeros(n, np.float32)
    rp, rm, rv = p.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for step in range(1, 4):
        g = rng.standard_normal(n).astype(np.float32)
        cuda.adam_(p, g, m, v, step=step, lr=1e-2, weight_decay=0.1, decoupled=decoupled)
        rp, rm, rv = ref.adam(rp, g, rm, rv, step, lr=1e-2, wd=0.1, decoupled=decoupled)
    assert_close(p, rp, 1e-5, 1e-6, "adam param")
    assert_close(m, rm, 1e-5, 1e-7, "adam m")
    assert_close(v, rv, 1e-5, 1e-7, "adam v")


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("n", [1, 5, 1003])
def test_sgd_matches_float64(gpu, rng, momentum, nesterov, n):
    p = rng.standard_normal(n).astype(np.float32)
    vel = np.zeros(n, np.float32) if momentum else None
    rp, rv = p.astype(np.float64), np.zeros(n)
    for _ in range(3):
        g = rng.standard_normal(n).astype(np.float32)
        cuda.sgd_(p, g, vel, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=0.01)
        rp, rv = ref.sgd(rp, g, rv, 0.1, momentum, nesterov, 0.01)
    assert_close(p, rp, 1e-5, 1e-6, "sgd param")


def test_optimizers_noncontiguous_and_errors(gpu, rng):
    base = rng.standard_normal(2002).astype(np.float32)
    p = base[::2]  # a strided view updated in place
    g = rng.standard_normal(1001).astype(np.float32)
    want = p.astype(np.float64) - 0.5 * g
    cuda.sgd_(p, g, lr=0.5)
    assert_close(base[::2], want, 1e-6, 1e-6, "sgd strided")
    with pytest.raises(TypeError, match="param: expected dtype float32"):
        cuda.adam_(np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), step=1)
    z = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="step: expected an int >= 1, got 0"):
        cuda.adam_(z, z, z.copy(), z.copy(), step=0)
    with pytest.raises(ValueError, match="velocity: expected"):
        cuda.sgd_(z, z, lr=0.1, momentum=0.9)
    e = np.zeros(0, np.float32)
    cuda.sgd_(e, e, e.copy(), lr=0.1, momentum=0.9)
    cuda.adam_(e, e, e.copy(), e.copy(), step=1)


def test_gather_rows_and_count_correct(gpu, rng):
    src = rng.standard_normal((1000, 37)).astype(np.float32)
    idx = rng.permutation(1000)[:257].astype(np.int64)
    out = np.empty((257, 37), np.float32)
    fnet._core.cuda_gather_rows(src, idx, out)
    assert np.array_equal(out, src[idx])
    with pytest.raises(ValueError, match=r"index: expected row indices in \[0, 1000\), got 1000"):
        fnet._core.cuda_gather_rows(src, np.array([1000], np.int64), np.empty((1, 37), np.float32))
    logits = rng.standard_normal((4099, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 4099)
    assert fnet._core.cuda_count_correct(logits, labels) == float((logits.argmax(1) == labels).sum())


def test_out_of_memory_message(gpu):
    free, total = cuda.memory_info()
    with pytest.raises(RuntimeError, match=r"CUDA out of memory: tried to allocate [0-9.]+ MiB, "
                                           r"[0-9.]+ MiB free of [0-9.]+ MiB"):
        fnet._core.cuda_try_alloc(total * 4)
    fnet._core.cuda_try_alloc(1 << 20)  # the device still works afterwards


# ==== special values, scalar paths, confident rows: the CPU kernels' semantics on the GPU ========
def assert_same_special(got, want, rtol, atol, what):
    """NaN where want is NaN, +-inf equal, the rest within tolerance."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{what}: NaN at {np.isnan(got)}, want {np.isnan(want)}"
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), f"{what}: got {got[inf]} where want {want[inf]}"
    ok = ~np.isnan(want) & ~inf
    assert_close(got[ok], want[ok], rtol, atol, what)


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 3.0, -3.0, 15.0, -15.0,
                    30.0, -30.0, 88.0, -88.0, 1e20, -1e20], np.float32)
ACT_CODES = [("relu", 1, 0.0), ("leaky_relu", 2, 0.2), ("sigmoid", 3, 0.0), ("tanh", 4, 0.0),
             ("gelu", 5, 0.0), ("gelu_tanh", 6, 0.0)]


@pytest.mark.parametrize("misalign", [0, 1])
@pytest.mark.parametrize("name,code,slope", ACT_CODES)
def test_activation_special_values(gpu, name, code, slope, misalign):
    # NaN passes through, +-inf and huge |x| saturate as on the CPU (reference_activation), and
    # derivatives stay accurate where the function has saturated (sigmoid' at 30 is 9e-14, not 0).
    import reference_activation as ract
    x = np.tile(SPECIAL, 70)  # 1190 elements: the float4 body and a scalar tail, or all scalar
    dy = np.full_like(x, 1.5)
    y = np.empty_like(x)
    fnet._core.cuda_activation_forward(x, y, code, slope, misalign=misalign)
    assert_same_special(y, ract.forward(name, x, slope), 1e-5, 1e-6, f"{name} fwd")
    dx = np.empty_like(x)
    fnet._core.cuda_activation_backward(dy, x, dx, code, slope, misalign=misalign)
    assert_same_special(dx, ract.backward(name, dy, x, slope), 1e-5, 1e-6, f"{name} bwd")


def test_activation_grad_accurate_where_saturated(gpu):
    # s (1 - s) and 1 - tanh^2 lose most digits or round to 0 in float32 here, though the true
    # derivatives are normal floats (and still exact enough in the float64 reference).
    x = np.array([12.0, 16.0, -40.0], np.float32)
    assert_close(cuda.sigmoid_backward(np.ones_like(x), x), ref.activation_grad(np.ones(3), x, "sigmoid"),
                 1e-5, 0, "sigmoid'")
    x = np.array([6.0, 9.0, -9.0], np.float32)
    assert_close(cuda.tanh_backward(np.ones_like(x), x), ref.activation_grad(np.ones(3), x, "tanh"),
                 1e-5, 0, "tanh'")


@pytest.mark.parametrize("n", [3, 1001])
def test_optimizers_scalar_path_matches_float64(gpu, rng, n):
    # misalign=1 puts every device buffer 4 bytes past 16-byte alignment: the scalar kernels.
    for decoupled, wd in [(False, 0.0), (False, 0.1), (True, 0.1)]:
        p = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        m = (rng.standard_normal(n) * 0.1).astype(np.float32)
        v = rng.random(n).astype(np.float32)
        want = ref.adam(p, g, m, v, 3, lr=1e-2, wd=wd, decoupled=decoupled)
        for misalign in (0, 1):
            pp, mm, vv = p.copy(), m.copy(), v.copy()
            fnet._core.cuda_adam(pp, g, mm, vv, 3, 1e-2, 0.9, 0.999, 1e-7, wd, decoupled,
                                 misalign=misalign)
            for got, w, what in zip((pp, mm, vv), want, "pmv"):
                assert_close(got, w, 1e-5, 1e-6, f"adam {what} misalign={misalign} wd={wd}")
    for momentum, nesterov in [(0.0, False), (0.9, True)]:
        p = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        vel = rng.standard_normal(n).astype(np.float32)
        want_p, want_v = ref.sgd(p, g, vel, 0.1, momentum, nesterov, 0.01)
        for misalign in (0, 1):
            pp, vv = p.copy(), vel.copy()
            fnet._core.cuda_sgd(pp, g, vv if momentum else None, 0.1, momentum, nesterov, 0.01,
                                misalign=misalign)
            assert_close(pp, want_p, 1e-5, 1e-6, f"sgd p misalign={misalign}")
            if momentum:
                assert_close(vv, want_v, 1e-5, 1e-6, f"sgd v misalign={misalign}")


def test_optimizers_without_weight_decay_keep_infinite_params(gpu):
    # weight_decay=0 adds no 0 * p term (as the CPU): an infinite parameter stays infinite, not NaN.
    p = np.array([np.inf, -np.inf, 0.5, 1.0, 2.0], np.float32)
    g = np.array([0.1, -0.2, 0.3, 0.4, 0.5], np.float32)
    for fn in (lambda q, s: cuda.adam_(q, g, *s, step=1), lambda q, s: fnet.ops.adam_(q, g, *s, step=1)):
        q = p.copy()
        fn(q, (np.zeros(5, np.float32), np.zeros(5, np.float32)))
        assert np.isinf(q[:2]).all() and np.isfinite(q[2:]).all(), q
    q1, q2 = p.copy(), p.copy()
    cuda.sgd_(q1, g, lr=0.1)
    fnet.ops.sgd_(q2, g, lr=0.1)
    assert_same_special(q1, q2, 1e-6, 1e-7, "sgd")


def test_optimizer_argument_checks_as_cpu(gpu):
    z = np.zeros(4, np.float32)
    m = z.copy()
    with pytest.raises(ValueError, match="m and v: expected separate arrays"):
        cuda.adam_(z.copy(), z, m, m, step=1)
    with pytest.raises(ValueError, match="beta1: expected a finite number"):
        cuda.adam_(z.copy(), z, z.copy(), z.copy(), step=1, beta1=1.0)
    with pytest.raises(ValueError, match="lr: expected a finite number"):
        cuda.sgd_(z.copy(), z, lr=-1.0)
    with pytest.raises(ValueError, match="nesterov: expected momentum > 0"):
        cuda.sgd_(z.copy(), z, lr=0.1, nesterov=True)


def test_losses_keep_tiny_values_of_confident_rows(gpu):
    # A confident right answer: the loss and gradient are ~e^-25, not rounded to 0 through 1 + e.
    t = math.exp(-25.0)
    z = np.array([[25.0, 0.0]], np.float32)
    for loss, grad in (cuda.softmax_cross_entropy(z, np.array([0])),
                       cuda.softmax_cross_entropy(z, np.array([[1.0, 0.0]], np.float32))):
        assert_close(loss, math.log1p(t), 1e-5, 0, "CE loss")
        assert_close(grad, [[-t / (1 + t), t / (1 + t)]], 1e-5, 0, "CE grad")
    t = math.exp(-20.0)
    loss, grad = cuda.binary_cross_entropy(np.array([[20.0]], np.float32), np.ones((1, 1), np.float32))
    assert_close(loss, math.log1p(t), 1e-5, 0, "BCE loss")
    assert_close(grad, [[-t / (1 + t)]], 1e-5, 0, "BCE grad")


def test_losses_empty_batch_and_empty_rows(gpu):
    e = np.zeros((0, 3), np.float32)
    for got, want in ((cuda.mse(e, e), fnet.ops.mse(e, e)),
                      (cuda.binary_cross_entropy(e, e), fnet.ops.binary_cross_entropy(e, e)),
                      (cuda.softmax_cross_entropy(e, np.zeros(0, np.int64)),
                       fnet.ops.softmax_cross_entropy(e, np.zeros(0, np.int64)))):
        assert got[0] == want[0] == 0.0 and got[1].shape == (0, 3)
    assert cuda.softmax(np.zeros(0, np.float32)).shape == (0,)
    assert cuda.log_softmax(np.zeros((2, 0, 3), np.float32)).shape == (2, 0, 3)


def test_bias_grad_is_the_rounded_exact_sum(gpu, rng):
    # Summed in double like bias_grad_cpu: within 1 ulp of float32(exact sum) even over 1e5 rows of
    # large values, where a float accumulator drifts by many ulps.
    dy = (1000.0 + rng.standard_normal((100003, 37))).astype(np.float32)
    want = dy.astype(np.float64).sum(0).astype(np.float32)
    got = cuda.bias_grad(dy)
    np.testing.assert_array_max_ulp(got, want, maxulp=1)
    np.testing.assert_array_max_ulp(got, fnet.ops.bias_grad(dy), maxulp=1)
