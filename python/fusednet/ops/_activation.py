"""Activations forward/backward on float32 arrays (kernels in csrc/kernels/cpu/activation.cpp and
csrc/kernels/cuda/activation.cu).

Elementwise ops accept any shape and layout (a non-contiguous input costs one contiguous copy);
softmax / log_softmax work row-wise over the LAST axis of an array with ndim >= 1.
``out=`` must be a float32 array of the input's shape (TypeError / ValueError otherwise); a
non-contiguous ``out`` receives the result by copy. Backward functions take the forward INPUT x.
Every op takes ``device="cpu"`` or ``"cuda"`` (arrays copied to the GPU and back).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._activations import (
    DEFAULT_NEGATIVE_SLOPE,
    ELEMENTWISE,
    GELU,
    GELU_TANH,
    LEAKY_RELU,
    RELU,
    SIGMOID,
    TANH,
)
from .._checks import F32, as_f32, check_out, direct_out
from ._device import CPU, device_arg

ACTIVATIONS = ("linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax")
_KNOWN = ACTIVATIONS + ("gelu_tanh",)


# ---- plumbing ------------------------------------------------------------------------------------
def _dense_out(out, shape, inputs):
    """(array the kernel writes, array to return): out itself when it is C-contiguous, aligned
    and does not partially overlap an input, else a fresh buffer copied into out afterwards."""
    if out is None:
        buf = np.empty(shape, dtype=F32)
        return buf, buf
    check_out(out, shape, "out")
    if direct_out(out):
        clash = any(np.may_share_memory(out, a) and not _same_memory(out, a) for a in inputs)
        if not clash:
            return out, out
    return np.empty(shape, dtype=F32), out


def _dense(x, name):
    """float32, C-contiguous, same shape (np.ascontiguousarray would turn 0-D into 1-D)."""
    x = as_f32(x, name)
    return x if x.flags.c_contiguous else np.ascontiguousarray(x).reshape(x.shape)


def _same_memory(a, b):
    return (
        a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
        and a.shape == b.shape
        and a.strides == b.strides
    )


def _finish(buf, result):
    if buf is not result:
        result[...] = buf
    return result


def _require_ndim1(x, name):
    if x.ndim < 1:
        raise ValueError(
            f"{name}: expected an array with at least 1 dimension "
            f"(row-wise over the last axis), got a 0-D array"
        )


def _pair(dy, x):
    """dy and x as contiguous float32 of the same shape; ValueError names both shapes."""
    x = _dense(x, "x")
    dy = _dense(dy, "dy")
    if dy.shape != x.shape:
        raise ValueError(f"dy: expected the shape of x {x.shape}, got {dy.shape}")
    return dy, x


def _forward(x, act, param, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    x = _dense(x, "x")
    buf, result = _dense_out(out, x.shape, (x,))
    _core.activation_forward(x, buf, act, param, dev)
    return _finish(buf, result)


def _backward(dy, x, act, param, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    dy, x = _pair(dy, x)
    buf, result = _dense_out(out, x.shape, (dy, x))
    _core.activation_backward(dy, x, buf, act, param, dev)
    return _finish(buf, result)


def _slope(negative_slope):
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)):
        raise TypeError(
            f"negative_slope: expected a real number, got {type(negative_slope).__name__}"
        )
    slope = float(negative_slope)
    if not abs(slope) <= float(np.finfo(np.float32).max):  # also catches NaN
        raise ValueError(f"negative_slope: expected a finite float32 number, got {slope}")
    return slope


def _gelu_code(approximate):
    if approximate in (False, "none"):
        return GELU
    if approximate in (True, "tanh"):
        return GELU_TANH
    raise ValueError(f"approximate: expected False/True (or 'none'/'tanh'), got {approximate!r}")


# ---- elementwise ---------------------------------------------------------------------------------
def relu(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """max(x, 0) elementwise (NaN stays NaN)."""
    return _forward(x, RELU, 0.0, out, device)


def relu_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    """dy * [x > 0]; the derivative at 0 is taken as 0."""
    return _backward(dy, x, RELU, 0.0, out, device)


def leaky_relu(
    x: ArrayLike,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """x if x > 0 else negative_slope * x."""
    return _forward(x, LEAKY_RELU, _slope(negative_slope), out, device)


def leaky_relu_backward(
    dy: ArrayLike,
    x: ArrayLike,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    return _backward(dy, x, LEAKY_RELU, _slope(negative_slope), out, device)


def sigmoid(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """1 / (1 + exp(-x)), computed without overflow for any x."""
    return _forward(x, SIGMOID, 0.0, out, device)


def sigmoid_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, SIGMOID, 0.0, out, device)


def tanh(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    return _forward(x, TANH, 0.0, out, device)


def tanh_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, TANH, 0.0, out, device)


def gelu(
    x: ArrayLike,
    approximate: bool | str = False,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)); approximate=True (or 'tanh') uses
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _forward(x, _gelu_code(approximate), 0.0, out, device)


def gelu_backward(
    dy: ArrayLike,
    x: ArrayLike,
    approximate: bool | str = False,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    return _backward(dy, x, _gelu_code(approximate), 0.0, out, device)


# ---- row-wise ------------------------------------------------------------------------------------
def _softmax(x, log, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    x = _dense(x, "x")
    _require_ndim1(x, "x")
    buf, result = _dense_out(out, x.shape, (x,))
    _core.softmax_forward(x, buf, log, dev)
    return _finish(buf, result)


def _softmax_backward(dy, x, log, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    dy, x = _pair(dy, x)
    _require_ndim1(x, "x")
    buf, result = _dense_out(out, x.shape, (dy, x))
    _core.softmax_backward(dy, x, buf, log, dev)
    return _finish(buf, result)


def softmax(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)) over the last axis."""
    return _softmax(x, False, out, device)


def softmax_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    """softmax(x) * (dy - sum(dy * softmax(x))) over the last axis, x the forward input."""
    return _softmax_backward(dy, x, False, out, device)


def log_softmax(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """x - max - log(sum(exp(x - max))) over the last axis."""
    return _softmax(x, True, out, device)


def log_softmax_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    """dy - softmax(x) * sum(dy) over the last axis, x the forward input."""
    return _softmax_backward(dy, x, True, out, device)


# ---- by name -------------------------------------------------------------------------------------
_PARAMS = {"leaky_relu": ("negative_slope",), "gelu": ("approximate",)}


def _lookup(name, params):
    if not isinstance(name, str):
        raise TypeError(f"name: expected an activation name (str), got {type(name).__name__}")
    key = name.lower()
    if key not in _KNOWN:
        raise ValueError(
            f"name: unknown activation '{name}'; expected one of "
            f"{', '.join(repr(k) for k in _KNOWN)}"
        )
    allowed = _PARAMS.get(key, ())
    for p in params:
        if p not in allowed:
            raise TypeError(
                f"{key}: unexpected parameter '{p}'"
                + (f"; it takes {', '.join(allowed)}" if allowed else "; it takes none")
            )
    return key


def activation(
    x: ArrayLike, name: str, out: np.ndarray | None = None, *, device: str = "cpu", **params
) -> np.ndarray:
    """Any activation by name: one of ACTIVATIONS (or 'gelu_tanh'), with its parameters
    (negative_slope for leaky_relu, approximate for gelu)."""
    key = _lookup(name, params)
    if key in ("softmax", "log_softmax"):
        return _softmax(x, key == "log_softmax", out, device)
    if key == "leaky_relu":
        return leaky_relu(x, out=out, device=device, **params)
    if key == "gelu":
        return gelu(x, out=out, device=device, **params)
    return _forward(x, ELEMENTWISE[key], 0.0, out, device)


def activation_backward(
    dy: ArrayLike,
    x: ArrayLike,
    name: str,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
    **params,
) -> np.ndarray:
    """dx for the activation `name` from dy and the forward input x."""
    key = _lookup(name, params)
    if key in ("softmax", "log_softmax"):
        return _softmax_backward(dy, x, key == "log_softmax", out, device)
    if key == "leaky_relu":
        return leaky_relu_backward(dy, x, out=out, device=device, **params)
    if key == "gelu":
        return gelu_backward(dy, x, out=out, device=device, **params)
    return _backward(dy, x, ELEMENTWISE[key], 0.0, out, device)
