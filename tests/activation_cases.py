"""The activation ops under test, by name, with the leaky_relu slope the tests use, and their
float64 references: shared by test_activation.py (CPU paths) and test_activation_device.py (every
device)."""

from __future__ import annotations

import numpy as np

import reference_activation as ref
from fusednet import ops

KERAS = [
    "elu",
    "selu",
    "silu",
    "softplus",
    "softsign",
    "relu6",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "exponential",
]
ELEMENTWISE = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"] + KERAS
ROWWISE = ["softmax", "log_softmax"]
SLOPE = 0.2  # leaky_relu slope used throughout (not the default, so the parameter is exercised)
ALPHA = 0.7  # elu's alpha, likewise
# Where a piecewise activation's derivative jumps: finite differences across them are meaningless.
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "relu6": [0.0, 6.0]}
KINKS.update({name: [-3.0, 3.0] for name in ("hard_sigmoid", "hard_silu")})


def away_from_kinks(name, x, margin):
    """x without the elements within `margin` of one of `name`'s kinks."""
    keep = np.ones(np.shape(x), bool)
    for k in KINKS.get(name, []):
        keep &= np.abs(np.asarray(x, np.float64) - k) > margin
    return x[keep]


def fwd(name, x, out=None, device="cpu"):
    if name == "leaky_relu":
        return ops.leaky_relu(x, negative_slope=SLOPE, out=out, device=device)
    if name == "elu":
        return ops.elu(x, alpha=ALPHA, out=out, device=device)
    if name == "gelu_tanh":
        return ops.gelu(x, approximate=True, out=out, device=device)
    if name == "linear":  # ops.linear is the dense layer; the identity is only reachable by name
        return ops.activation(x, "linear", out=out, device=device)
    return getattr(ops, name)(x, out=out, device=device)


def bwd(name, dy, x, out=None, device="cpu"):
    if name == "leaky_relu":
        return ops.leaky_relu_backward(dy, x, negative_slope=SLOPE, out=out, device=device)
    if name == "elu":
        return ops.elu_backward(dy, x, alpha=ALPHA, out=out, device=device)
    if name == "gelu_tanh":
        return ops.gelu_backward(dy, x, approximate=True, out=out, device=device)
    if name == "linear":
        return ops.activation_backward(dy, x, "linear", out=out, device=device)
    return getattr(ops, name + "_backward")(dy, x, out=out, device=device)


def ref_fwd(name, x):
    return ref.forward(name, x, negative_slope=SLOPE, alpha=ALPHA)


def ref_bwd(name, dy, x):
    return ref.backward(name, dy, x, negative_slope=SLOPE, alpha=ALPHA)
