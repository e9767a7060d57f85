"""ops.*(..., device=...) routes to the CPU kernels or to fusednet.cuda (copy in, copy out)."""
import inspect

import numpy as np
import pytest

import fusednet as fnet


def test_every_op_takes_device():
    for name in fnet.ops.__all__:
        if name == "ACTIVATIONS":
            continue
        param = inspect.signature(getattr(fnet.ops, name)).parameters.get("device")
        assert param is not None and param.default == "cpu", name
        assert param.kind is inspect.Parameter.KEYWORD_ONLY, name


@pytest.mark.parametrize("call", [
    lambda x, d: fnet.ops.relu(x, device=d),
    lambda x, d: fnet.ops.matmul(x, x.T, device=d),
    lambda x, d: fnet.ops.linear(x, x.T, activation="relu", device=d),
])
def test_unknown_device_is_refused(call):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"device: expected one of \('cpu', 'cuda'\), got 'gpu'"):
        call(x, "gpu")


def test_cuda_without_device_says_why():
    if fnet.backends()["cuda"]["available"]:
        pytest.skip("a CUDA device is present")
    with pytest.raises(RuntimeError, match="CUDA not"):
        fnet.ops.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), device="cuda")


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
