"""Backends: CPU ISA and threads, the CUDA device status and the float32 matmul precision; the
device argument every op takes, and what the CUDA column does without a device (every op raises a
clear RuntimeError after the same argument checks as the CPU); the GPU check scripts' dry runs.
The ops themselves are tested per family (test_<family>.py) on every device."""

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

import fusednet as fnet
from checks import assert_close, cuda_only
from fusednet import cuda

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What backends() and the CUDA column report differs where a device is available: all of this
# file runs on the host mock of the CUDA backend too (tools/netcuda_mock/run_module.sh).
pytestmark = pytest.mark.cuda


def test_backends_shape():
    b = fnet.backends()
    assert b["cpu"]["isa"] in ("generic", "avx2", "avx512")
    assert b["cpu"]["threads"] >= 1
    cuda = b["cuda"]
    assert isinstance(cuda["compiled"], bool) and isinstance(cuda["available"], bool)
    if not cuda["available"]:
        assert cuda["reason"].split(":")[0] in (
            "not compiled",
            "no driver",
            "driver too old",
            "no device",
        )


def test_import_does_not_touch_cuda():
    # With CUDA compiled in, import alone must not load the driver library.
    code = (
        "import fusednet, sys\n"
        "maps = open('/proc/self/maps').read() if sys.platform.startswith('linux') else ''\n"
        "print('libcuda.so' in maps)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_set_num_threads_roundtrip(threads):
    threads(1)
    assert fnet.get_num_threads() == 1
    threads(2)
    assert fnet.get_num_threads() == 2


@pytest.mark.parametrize(
    "bad, exc",
    [(0, ValueError), (-3, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
)
def test_set_num_threads_rejects(bad, exc):
    with pytest.raises(exc, match="n: expected"):
        fnet.set_num_threads(bad)


def test_set_cpu_isa_rejects_unknown():
    with pytest.raises(ValueError, match="isa: expected one of"):
        fnet._core.set_cpu_isa("sse9")


# ---- the CUDA column and its status, with or without a device ---------------------------------
def _cuda_info():
    return fnet.backends()["cuda"]


def test_backends_reports_cuda_state():
    info = _cuda_info()
    assert isinstance(info["compiled"], bool) and isinstance(info["available"], bool)
    assert cuda.is_available() == info["available"]
    if info["available"]:
        assert info["reason"] == "" and len(info["devices"]) >= 1
    else:
        assert info["reason"].split(":")[0] in (
            "not compiled",
            "no driver",
            "driver too old",
            "no device",
        )
        assert cuda.reason() == info["reason"]


def test_every_op_takes_device():
    for name in fnet.ops.__all__:
        if name == "ACTIVATIONS":
            continue
        param = inspect.signature(getattr(fnet.ops, name)).parameters.get("device")
        assert param is not None and param.default == "cpu", name
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name


@pytest.mark.parametrize(
    "call",
    [
        lambda x, d: fnet.ops.relu(x, device=d),
        lambda x, d: fnet.ops.matmul(x, x.T, device=d),
        lambda x, d: fnet.ops.linear(x, x.T, activation="relu", device=d),
    ],
)
def test_unknown_device_is_refused(call):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"device: expected one of \('cpu', 'cuda'\), got 'gpu'"):
        call(x, "gpu")


def _every_cuda_call():
    """Every op on device="cuda" and every CUDA-only binding, with valid arguments."""
    ops, core, dev = fnet.ops, fnet._core, fnet._core.Device.cuda
    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 2), np.float32)
    v = np.ones(5, np.float32)
    z = np.zeros((3, 4), np.float32)
    labels = np.array([0, 1, 3])
    calls = {
        "matmul": lambda: ops.matmul(a, b, device="cuda"),
        "linear": lambda: ops.linear(
            a, b, np.zeros(2, np.float32), activation="relu", device="cuda"
        ),
        "relu": lambda: ops.relu(v, device="cuda"),
        "relu_backward": lambda: ops.relu_backward(v, v, device="cuda"),
        "gelu": lambda: ops.gelu(v, approximate=True, device="cuda"),
        "activation": lambda: ops.activation(v, "leaky_relu", device="cuda"),
        "softmax": lambda: ops.softmax(a, device="cuda"),
        "log_softmax_backward": lambda: ops.log_softmax_backward(a, a, device="cuda"),
        "bias_grad": lambda: ops.bias_grad(a, device="cuda"),
        "argmax": lambda: ops.argmax(a, device="cuda"),
        "mse": lambda: ops.mse(a, z, device="cuda"),
        "binary_cross_entropy": lambda: ops.binary_cross_entropy(a, z, device="cuda"),
        "softmax_cross_entropy": lambda: ops.softmax_cross_entropy(a, labels, device="cuda"),
        "softmax_cross_entropy_soft": lambda: ops.softmax_cross_entropy(a, z, device="cuda"),
        "loss": lambda: ops.loss("huber", a, z, device="cuda"),
        "elu": lambda: ops.elu(v, device="cuda"),
        "mish_backward": lambda: ops.mish_backward(v, v, device="cuda"),
        "sgd_": lambda: ops.sgd_(v.copy(), v, lr=0.1, device="cuda"),
        "adam_": lambda: ops.adam_(v.copy(), v, v.copy(), v.copy(), step=1, device="cuda"),
        "synchronize": cuda.synchronize,
        "memory_info": cuda.memory_info,
        "_core.gemm_ex": lambda: core.gemm_ex(a, b, None, device=dev),
        "_core.gemm_ref": lambda: core.gemm_ref(a, b, None, device=dev),
        "_core.activation_backward_from_output": lambda: core.activation_backward_from_output(
            v, v, v.copy(), core.Activation.relu, 0.0, dev
        ),
        "_core.softmax_backward": lambda: core.softmax_backward(a, a, a.copy(), True, dev),
        "_core._cuda_gemm_raw": lambda: core._cuda_gemm_raw(
            a.ravel(),
            0,
            4,
            1,
            b.ravel(),
            0,
            2,
            1,
            np.zeros(6, np.float32),
            0,
            2,
            1,
            3,
            2,
            4,
            1.0,
            0.0,
            None,
            core.Activation.linear,
            0.0,
            False,
        ),
        "_core.cuda_bench_gemm": lambda: core.cuda_bench_gemm(a, b, 1, False),
        "_core.cuda_bench_adam": lambda: core.cuda_bench_adam(10, 1),
        "_core.cuda_bench_copy": lambda: core.cuda_bench_copy(1024, 1),
        "_core.cuda_peak_bandwidth": core.cuda_peak_bandwidth,
        "_core._cuda_gather_rows": lambda: core._cuda_gather_rows(
            a, np.array([2, 0], np.int64), np.empty((2, 4), np.float32)
        ),
        "_core._cuda_count_correct": lambda: core._cuda_count_correct(a, labels),
        "_core._cuda_try_alloc": lambda: core._cuda_try_alloc(1),
    }
    return calls


@pytest.mark.parametrize("name", sorted(_every_cuda_call()))
def test_without_device_every_op_raises_runtime_error(name):
    # The CUDA column of every binding says why it cannot run: "CUDA not compiled: ..." without
    # CUDA in the build, else "CUDA not available: <reason>" as backends() reports it.
    info = _cuda_info()
    if info["available"]:
        pytest.skip("a CUDA device is available here")
    want = (
        "CUDA not available: " + info["reason"].split(":")[0]
        if info["compiled"]
        else "CUDA not compiled: fusednet was built without CUDA"
    )
    with pytest.raises(RuntimeError, match=want):
        _every_cuda_call()[name]()


@pytest.mark.parametrize("name", ["_gemm_cuda_tf32_kernel", "_gemm_cuda_split_k"])
def test_cuda_settings_need_cuda_compiled(name):
    knob = getattr(fnet._core, name)
    if not _cuda_info()["compiled"]:
        with pytest.raises(RuntimeError, match="CUDA not compiled"):
            knob()
    else:
        assert knob(-1) == knob()  # -1 only queries; no device needed


def test_core_binding_without_device_raises_after_argument_checks():
    # The argument checks are the same for both columns and come first.
    if _cuda_info()["available"]:
        pytest.skip("a CUDA device is available here")
    core, dev = fnet._core, fnet._core.Device.cuda
    a = np.ones((2, 3), np.float32)
    out = np.empty((2, 2), np.float32)
    with pytest.raises(ValueError, match="a and b: inner dimensions differ"):
        core.gemm(a, np.ones((2, 2), np.float32), out, False, False, 1.0, 0.0, dev)
    with pytest.raises(RuntimeError, match="CUDA not"):
        core.gemm(a, np.ones((3, 2), np.float32), out, False, False, 1.0, 0.0, dev)
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 3\), got 7"):
        core.softmax_cross_entropy(a, np.array([0, 7], np.int64), None, core.Reduction.mean, dev)


def test_float32_matmul_precision_roundtrip():
    before = fnet.get_float32_matmul_precision()
    assert before in ("highest", "high", "medium") and cuda.get_float32_matmul_precision() == before
    try:
        fnet.set_float32_matmul_precision("high")
        assert fnet.get_float32_matmul_precision() == "high"
        fnet.set_float32_matmul_precision("highest")
        assert fnet.get_float32_matmul_precision() == "highest"
        fnet.set_float32_matmul_precision("medium")
        assert fnet.get_float32_matmul_precision() == "medium"
        with pytest.raises(
            ValueError, match="precision: expected 'highest', 'high' or 'medium', got 'low'"
        ):
            fnet.set_float32_matmul_precision("low")
        assert fnet.get_float32_matmul_precision() == "medium"
        with pytest.raises(TypeError, match="precision: expected"):
            fnet.set_float32_matmul_precision(3)
    finally:
        fnet.set_float32_matmul_precision(before)


def test_ops_agree_across_devices(device, rng):
    a = rng.standard_normal((37, 19)).astype(np.float32)
    w = rng.standard_normal((19, 23)).astype(np.float32)
    b = rng.standard_normal(23).astype(np.float32)
    want = np.maximum(a.astype(np.float64) @ w + b, 0)
    got = fnet.ops.linear(a, w, b, activation="relu", device=device)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    labels = rng.integers(0, 23, 37)
    loss_cpu, grad_cpu = fnet.ops.softmax_cross_entropy(got, labels)
    loss_dev, grad_dev = fnet.ops.softmax_cross_entropy(got, labels, device=device)
    assert loss_dev == pytest.approx(loss_cpu, rel=1e-5)
    np.testing.assert_allclose(grad_dev, grad_cpu, rtol=1e-5, atol=1e-7)


def test_device_agrees_with_cpu_ops(device, rng):
    ops = fnet.ops
    x = rng.standard_normal((300, 70)).astype(np.float32)
    w = (rng.standard_normal((70, 33)) * 0.2).astype(np.float32)
    b = rng.standard_normal(33).astype(np.float32)
    labels = rng.integers(0, 33, 300)
    assert_close(
        ops.linear(x, w, b, activation="tanh", device=device),
        ops.linear(x, w, b, activation="tanh"),
        1e-5,
        1e-5,
        "linear",
    )
    assert_close(ops.gelu(x, device=device), ops.gelu(x), 1e-5, 1e-6, "gelu")
    assert_close(ops.bias_grad(x, device=device), ops.bias_grad(x), 1e-5, 1e-4, "bias_grad")
    z = ops.linear(x, w, b)
    (l_dev, g_dev), (l_cpu, g_cpu) = (
        ops.softmax_cross_entropy(z, labels, device=device),
        ops.softmax_cross_entropy(z, labels),
    )
    assert abs(l_dev - l_cpu) <= 1e-5 * abs(l_cpu)
    assert_close(g_dev, g_cpu, 1e-4, 1e-7, "softmax CE grad")
    p1, p2 = x[0].copy(), x[0].copy()
    g = x[1].copy()
    m1, v1, m2, v2 = (np.zeros(70, np.float32) for _ in range(4))
    ops.adam_(p1, g, m1, v1, step=1, lr=0.1, device=device)
    ops.adam_(p2, g, m2, v2, step=1, lr=0.1)
    assert_close(p1, p2, 1e-5, 1e-6, "adam")


@cuda_only
def test_out_of_memory_message(device):
    free, total = cuda.memory_info()
    with pytest.raises(
        RuntimeError,
        match=r"CUDA out of memory: tried to allocate [0-9.]+ MiB, "
        r"[0-9.]+ MiB free of [0-9.]+ MiB",
    ):
        fnet._core._cuda_try_alloc(total * 4)
    fnet._core._cuda_try_alloc(1 << 20)  # the device still works afterwards


# ---- the GPU check and benchmark scripts -------------------------------------------------------
def test_gpu_check_script_parses_and_dry_runs(tmp_path):
    script = os.path.join(ROOT, "bench", "gpu_check.sh")
    subprocess.run(["bash", "-n", script], check=True)
    out = subprocess.run(
        ["bash", script, "--dry-run", str(tmp_path / "report")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "step: build" in out.stdout and "step: bench" in out.stdout


def test_gpu_bench_dry_run(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "bench", "gpu_bench.py"),
            "--dry-run",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python")),
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "dry run" in out.stdout
