"""Activations and softmax on every device (the `device` fixture; the CUDA column copies in and
out), with the tolerances of the former CUDA tests (checks.assert_close), against the float64
references in reference_activation.py."""

from __future__ import annotations

import numpy as np
import pytest

import checks
import reference_activation as ref
from activation_cases import KERAS, away_from_kinks, bwd, fwd, ref_bwd, ref_fwd
from fusednet import _core, ops

DEVICE_ACTS = ["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"] + KERAS


@pytest.mark.parametrize("name", DEVICE_ACTS)
@pytest.mark.parametrize("n", [1, 3, 4, 1001, 4099])
def test_forward_backward_on_device(device, rng, name, n):
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    checks.assert_close(fwd(name, x, device=device), ref_fwd(name, x), 2e-6, 2e-6, f"{name} fwd")
    checks.assert_close(
        bwd(name, dy, x, device=device), ref_bwd(name, dy, x), 1e-5, 1e-6, f"{name} bwd"
    )


@pytest.mark.parametrize(
    "name,slope",
    [("linear", 0.0), ("relu", 0.0), ("leaky_relu", 0.1), ("sigmoid", 0.0), ("tanh", 0.0)],
)
def test_backward_from_output_on_device(device, rng, name, slope):
    x = (rng.standard_normal(1001) * 2).astype(np.float32)
    y = ref.forward(name, x, slope).astype(np.float32)
    dy = rng.standard_normal(1001).astype(np.float32)
    out = np.empty_like(dy)
    _core.activation_backward_from_output(
        dy, y, out, _core.Activation.__members__[name], slope, _core.Device.__members__[device]
    )
    checks.assert_close(out, ref.backward(name, dy, x, slope), 1e-5, 1e-6, f"{name} from output")


@pytest.mark.parametrize("name", DEVICE_ACTS)
def test_backward_finite_difference_on_device(device, rng, name):
    x = (rng.standard_normal(257) * 2).astype(np.float32)
    x = away_from_kinks(name, x[np.abs(x) > 1e-2], 1e-2)  # away from the relu kink (and others)
    h = 1e-4
    fd = (ref_fwd(name, x.astype(np.float64) + h) - ref_fwd(name, x.astype(np.float64) - h)) / (
        2 * h
    )
    got = bwd(name, np.ones_like(x), x, device=device)
    checks.assert_close(got, fd, 1e-4, 1e-5, f"{name} bwd vs finite difference")


def test_layouts_and_out_on_device(device, rng):
    base = rng.standard_normal((40, 30)).astype(np.float32)
    view = base[::-2, 1::3]
    checks.assert_close(ops.relu(view, device=device), ref.forward("relu", view), 0, 0, "view")
    out = np.empty((10, 20), np.float32).T
    assert ops.tanh(view, out=out, device=device) is out
    checks.assert_close(out, np.tanh(view.astype(np.float64)), 2e-6, 2e-6, "tanh out=")
    unaligned = rng.standard_normal(1027).astype(np.float32)[1:]  # odd length: scalar tail
    checks.assert_close(
        ops.sigmoid(unaligned, device=device),
        ref.forward("sigmoid", unaligned),
        2e-6,
        2e-6,
        "sigmoid",
    )
    assert ops.relu(np.zeros((0, 3), np.float32), device=device).shape == (0, 3)
    assert ops.softmax(np.zeros(0, np.float32), device=device).shape == (0,)
    assert ops.log_softmax(np.zeros((2, 0, 3), np.float32), device=device).shape == (2, 0, 3)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("rows,cols", [(1, 1), (3, 10), (17, 33), (64, 1000), (2, 4099)])
def test_softmax_on_device(device, rng, log, rows, cols):
    name = "log_softmax" if log else "softmax"
    x = (rng.standard_normal((rows, cols)) * 4).astype(np.float32)
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    checks.assert_close(fwd(name, x, device=device), ref.forward(name, x), 1e-5, 1e-6, "fwd")
    got = bwd(name, dy, x, device=device)
    checks.assert_close(got, ref.backward(name, dy, x), 1e-4, 1e-5, "softmax bwd")
    # finite difference of sum(dy * f(x)) w.r.t. x[:, j], on the float64 reference
    h, j = 1e-5, cols // 2
    xp, xm = x.astype(np.float64), x.astype(np.float64)
    xp[:, j] += h
    xm[:, j] -= h
    fd = ((dy * ref.forward(name, xp)).sum(1) - (dy * ref.forward(name, xm)).sum(1)) / (2 * h)
    checks.assert_close(got[:, j], fd, 1e-3, 1e-4, "softmax bwd vs finite difference")


def test_by_name_and_parameters_on_device(device, rng):
    x = rng.standard_normal((17, 9)).astype(np.float32)
    dy = rng.standard_normal((17, 9)).astype(np.float32)
    # exact: float32(0.3) * x, as test_relu_and_leaky_are_exact (the float64 0.3 x is not a float32)
    np.testing.assert_array_equal(
        ops.activation(x, "leaky_relu", negative_slope=0.3, device=device),
        np.where(x > 0, x, np.float32(0.3) * x),
    )
    checks.assert_close(
        ops.activation(x, "gelu", approximate=True, device=device),
        ref.forward("gelu_tanh", x),
        2e-6,
        2e-6,
        "gelu approximate by name",
    )
    checks.assert_close(
        ops.activation_backward(dy, x, "log_softmax", device=device),
        ref.backward("log_softmax", dy, x),
        1e-4,
        1e-5,
        "log_softmax bwd by name",
    )
    with pytest.raises(ValueError, match="name: unknown activation 'swishy'"):
        ops.activation(x, "swishy", device=device)
    with pytest.raises(TypeError, match="relu: unexpected parameter 'negative_slope'"):
        ops.activation(x, "relu", negative_slope=0.1, device=device)


def test_softmax_extreme_logits_finite_on_device(device):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], np.float32)
    assert np.isfinite(ops.softmax(x, device=device)).all()
    assert np.isfinite(ops.log_softmax(x, device=device)).all()


def test_grad_accurate_where_saturated_on_device(device):
    # s (1 - s) and 1 - tanh^2 lose most digits or round to 0 in float32 here, though the true
    # derivatives are normal floats (and still exact enough in the float64 reference).
    for name, x in (("sigmoid", [12.0, 16.0, -40.0]), ("tanh", [6.0, 9.0, -9.0])):
        x = np.array(x, np.float32)
        checks.assert_close(
            bwd(name, np.ones_like(x), x, device=device),
            ref.backward(name, np.ones(3), x),
            1e-5,
            0,
            f"{name}'",
        )


# NaN, +-inf, signed zeros, and +-v for tiny, moderate, saturating and huge magnitudes.
SPECIAL = np.array(
    [np.nan, np.inf, -np.inf, 0.0, -0.0]
    + [s * v for v in (1e-30, 3.0, 15.0, 30.0, 88.0, 1e20) for s in (1.0, -1.0)],
    np.float32,
)


@checks.cuda_only
@pytest.mark.parametrize("misalign", [0, 1])
@pytest.mark.parametrize(
    "name,slope",
    [
        ("relu", 0.0),
        ("leaky_relu", 0.2),
        ("sigmoid", 0.0),
        ("tanh", 0.0),
        ("gelu", 0.0),
        ("gelu_tanh", 0.0),
    ]
    + [(name, 1.0 if name == "elu" else 0.0) for name in KERAS],
)
def test_special_values_and_scalar_paths_on_cuda(device, name, slope, misalign):
    # NaN passes through, +-inf and huge |x| saturate as on the CPU, and derivatives stay accurate
    # where the function has saturated (sigmoid' at 30 is 9e-14, not 0). misalign=1 starts every
    # device buffer 4 bytes past 16-byte alignment: the scalar kernels.
    x = np.tile(SPECIAL, 70)  # 1190 elements: the float4 body and a scalar tail, or all scalar
    dy = np.full_like(x, 1.5)
    act, dev = _core.Activation.__members__[name], _core.Device.cuda
    y = np.empty_like(x)
    _core.activation_forward(x, y, act, slope, dev, misalign=misalign)
    checks.assert_same_special(y, ref.forward(name, x, slope), 1e-5, 1e-6, f"{name} fwd")
    dx = np.empty_like(x)
    _core.activation_backward(dy, x, dx, act, slope, dev, misalign=misalign)
    checks.assert_same_special(dx, ref.backward(name, dy, x, slope), 1e-5, 1e-6, f"{name} bwd")
