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
    DEFAULT_ALPHA,
    DEFAULT_NEGATIVE_SLOPE,
    ELEMENTWISE,
    ELU,
    EXPONENTIAL,
    GELU,
    GELU_TANH,
    HARD_SIGMOID,
    HARD_SILU,
    LEAKY_RELU,
    MISH,
    RELU,
    RELU6,
    SELU,
    SIGMOID,
    SILU,
    SOFTPLUS,
    SOFTSIGN,
    TANH,
)
from .._arrays import like_inputs
from .._checks import F32, as_f32, check_out, direct_out
from ._device import CPU, CUDA, any_cuda, cuda_empty, cuda_view, device_arg

ACTIVATIONS = (
    "linear",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "softmax",
    "log_softmax",
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
)
_ALIASES = ("gelu_tanh", "swish", "hard_swish")  # gelu(approximate=True), silu, hard_silu
_KNOWN = ACTIVATIONS + _ALIASES


# ---- plumbing ------------------------------------------------------------------------------------
def _dense_out(out, shape, inputs):
    """(array the kernel writes, array to return): out itself when it is C-contiguous, aligned
    and does not partially overlap an input, else a fresh buffer copied into out afterwards."""
    if out is None:
        buf = np.empty(shape, dtype=F32)
        return buf, buf
    out = check_out(out, shape, "out")  # a NumPy view of a DLPack / buffer out
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


def _on_cuda(binding, inputs, names, out, *args):
    """CUDA DLPack arrays: the binding runs on their device memory; out allocated like them."""
    views = [cuda_view(a, n) for a, n in zip(inputs, names)]
    for v, n in zip(views[:-1], names[:-1]):  # dy against x
        if v.shape != views[-1].shape:
            raise ValueError(f"{n}: expected the shape of x {views[-1].shape}, got {v.shape}")
    if out is None:
        out = cuda_empty(views[-1].shape, inputs[-1])
    binding(*views, cuda_view(out, "out"), *args)
    return out


def _result(buf, result, out, *inputs):
    """out as given, else the result in the inputs' kind (fusednet._arrays)."""
    res = _finish(buf, result)
    return out if out is not None else like_inputs(res, *inputs)


def _forward(x, act, param, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    if dev is CUDA and any_cuda(x, out):
        return _on_cuda(_core.activation_forward, (x,), ("x",), out, act, param, dev)
    xa = _dense(x, "x")
    buf, result = _dense_out(out, xa.shape, (xa,))
    _core.activation_forward(xa, buf, act, param, dev)
    return _result(buf, result, out, x)


def _backward(dy, x, act, param, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    if dev is CUDA and any_cuda(dy, x, out):
        return _on_cuda(_core.activation_backward, (dy, x), ("dy", "x"), out, act, param, dev)
    dya, xa = _pair(dy, x)
    buf, result = _dense_out(out, xa.shape, (dya, xa))
    _core.activation_backward(dya, xa, buf, act, param, dev)
    return _result(buf, result, out, dy, x)


def _slope(negative_slope):
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.number)):
        raise TypeError(
            f"negative_slope: expected a real number, got {type(negative_slope).__name__}"
        )
    slope = float(negative_slope)
    if not abs(slope) <= float(np.finfo(np.float32).max):  # also catches NaN
        raise ValueError(f"negative_slope: expected a finite float32 number, got {slope}")
    return slope


def _alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"alpha: expected a real number, got {type(alpha).__name__}")
    a = float(alpha)
    if not abs(a) <= float(np.finfo(np.float32).max):
        raise ValueError(f"alpha: expected a finite float32 number, got {a}")
    return a


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


def elu(
    x: ArrayLike,
    alpha: float = DEFAULT_ALPHA,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """x if x >= 0 else alpha (exp(x) - 1) (Keras's elu; expm1, so small |x| keeps its digits)."""
    return _forward(x, ELU, _alpha(alpha), out, device)


def elu_backward(
    dy: ArrayLike,
    x: ArrayLike,
    alpha: float = DEFAULT_ALPHA,
    out: np.ndarray | None = None,
    *,
    device: str = "cpu",
) -> np.ndarray:
    """dy * (1 if x > 0 else alpha exp(x))."""
    return _backward(dy, x, ELU, _alpha(alpha), out, device)


def selu(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """1.0507009873554805 * elu(x, alpha=1.6732632423543772)."""
    return _forward(x, SELU, 0.0, out, device)


def selu_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, SELU, 0.0, out, device)


def silu(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """x * sigmoid(x) (also called swish); 0 at x = -inf."""
    return _forward(x, SILU, 0.0, out, device)


def silu_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, SILU, 0.0, out, device)


def softplus(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)): no overflow; the derivative is sigmoid."""
    return _forward(x, SOFTPLUS, 0.0, out, device)


def softplus_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, SOFTPLUS, 0.0, out, device)


def softsign(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """x / (1 + |x|)."""
    return _forward(x, SOFTSIGN, 0.0, out, device)


def softsign_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, SOFTSIGN, 0.0, out, device)


def relu6(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """min(max(x, 0), 6); the derivative is 1 on (0, 6), 0 elsewhere."""
    return _forward(x, RELU6, 0.0, out, device)


def relu6_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, RELU6, 0.0, out, device)


def mish(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """x * tanh(softplus(x))."""
    return _forward(x, MISH, 0.0, out, device)


def mish_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, MISH, 0.0, out, device)


def hard_sigmoid(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """Keras 3's (and PyTorch's): clip(x / 6 + 0.5, 0, 1) = relu6(x + 3) / 6. Keras 2's was
    0.2 x + 0.5; this follows Keras 3."""
    return _forward(x, HARD_SIGMOID, 0.0, out, device)


def hard_sigmoid_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, HARD_SIGMOID, 0.0, out, device)


def hard_silu(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return _forward(x, HARD_SILU, 0.0, out, device)


def hard_silu_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    """dy * (hard_sigmoid(x) + x / 6 on (-3, 3); 0 below, 1 above)."""
    return _backward(dy, x, HARD_SILU, 0.0, out, device)


def exponential(x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """exp(x) (overflows to inf above ~88.7)."""
    return _forward(x, EXPONENTIAL, 0.0, out, device)


def exponential_backward(
    dy: ArrayLike, x: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu"
) -> np.ndarray:
    return _backward(dy, x, EXPONENTIAL, 0.0, out, device)


swish = silu
swish_backward = silu_backward
hard_swish = hard_silu
hard_swish_backward = hard_silu_backward


# ---- row-wise ------------------------------------------------------------------------------------
def _softmax(x, log, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    if dev is CUDA and any_cuda(x, out):
        return _on_cuda(_core.softmax_forward, (x,), ("x",), out, log, dev)
    xa = _dense(x, "x")
    _require_ndim1(xa, "x")
    buf, result = _dense_out(out, xa.shape, (xa,))
    _core.softmax_forward(xa, buf, log, dev)
    return _result(buf, result, out, x)


def _softmax_backward(dy, x, log, out, device):
    dev = CPU if device == "cpu" else device_arg(device)
    if dev is CUDA and any_cuda(dy, x, out):
        return _on_cuda(_core.softmax_backward, (dy, x), ("dy", "x"), out, log, dev)
    dya, xa = _pair(dy, x)
    _require_ndim1(xa, "x")
    buf, result = _dense_out(out, xa.shape, (dya, xa))
    _core.softmax_backward(dya, xa, buf, log, dev)
    return _result(buf, result, out, dy, x)


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
_PARAMS = {"leaky_relu": ("negative_slope",), "gelu": ("approximate",), "elu": ("alpha",)}


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
    """Any activation by name: one of ACTIVATIONS (or 'gelu_tanh', 'swish', 'hard_swish'), with
    its parameters (negative_slope for leaky_relu, approximate for gelu, alpha for elu)."""
    key = _lookup(name, params)
    if key in ("softmax", "log_softmax"):
        return _softmax(x, key == "log_softmax", out, device)
    if key == "leaky_relu":
        return leaky_relu(x, out=out, device=device, **params)
    if key == "gelu":
        return gelu(x, out=out, device=device, **params)
    if key == "elu":
        return elu(x, out=out, device=device, **params)
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
    if key == "elu":
        return elu_backward(dy, x, out=out, device=device, **params)
    return _backward(dy, x, ELEMENTWISE[key], 0.0, out, device)
