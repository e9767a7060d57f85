"""matmul and linear on the CPU gemm (csrc/cpu/gemm.cpp): any layout, no copies of float32 input.

The binding validates shapes and layouts (messages name the argument); this layer only converts
non-float32 inputs once, so the common float32 call stays a single C++ call.
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .._activations import elementwise_code
from .._checks import as_f32
from ._device import other_device

_F32 = np.dtype(np.float32)
_gemm = _core.gemm
_linear = _core.linear

__all__ = ["matmul", "linear"]


def matmul(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None, device="cpu"):
    """``alpha * op(a) @ op(b) + beta * out`` with ``op(x) = x.T`` when ``trans_x``.

    a and b are 2-D; other real dtypes are converted to float32 once. ``out`` (float32, shape
    (M, N), any layout) receives the result; with ``beta != 0`` it is required and is read as C.
    With beta == 0, out's old contents are never read (NaN there does not propagate).
    ``device="cuda"`` runs it on the GPU (copies in and out).
    """
    if device != "cpu" and device is not None:
        return other_device("matmul", device)(a, b, trans_a=trans_a, trans_b=trans_b,
                                              alpha=alpha, beta=beta, out=out)
    if type(a) is not np.ndarray or a.dtype != _F32:
        a = as_f32(a, "a")
    if type(b) is not np.ndarray or b.dtype != _F32:
        b = as_f32(b, "b")
    return _gemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), float(beta))


def linear(x, w, b=None, *, activation=None, out=None, device="cpu"):
    """``activation(x @ w + b)`` in one pass over the output; w is (in, out), b is (out,).

    The bias and relu / leaky_relu are applied while each tile is in registers, the other
    activations right after each block is computed, while it is in cache.
    ``device="cuda"`` runs it on the GPU (copies in and out).
    """
    if device != "cpu" and device is not None:
        return other_device("linear", device)(x, w, b, activation=activation, out=out)
    if type(x) is not np.ndarray or x.dtype != _F32:
        x = as_f32(x, "x")
    if type(w) is not np.ndarray or w.dtype != _F32:
        w = as_f32(w, "w")
    if b is not None and (type(b) is not np.ndarray or b.dtype != _F32):
        b = as_f32(b, "b")
    code, param = elementwise_code(activation)
    return _linear(x, w, b, out, code, param)
