"""matmul and linear on the gemm kernels (csrc/kernels/cpu/gemm.cpp, cuda/gemm.cu): any layout,
no copies of float32 input on the CPU.

The binding validates shapes and layouts (messages name the argument); this layer only converts
non-float32 inputs once, so the common float32 call stays a single C++ call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._activations import ELEMENTWISE, elementwise_code
from .._checks import as_f32
from ._device import CPU, device_arg

_F32 = np.dtype(np.float32)
_gemm = _core.gemm


def _misaligned(out) -> bool:
    """A float32 out= at an address that is not a multiple of 4: the kernels write aligned floats
    only, so it gets the result through an aligned copy (see _via_copy)."""
    return isinstance(out, np.ndarray) and out.dtype == _F32 and not out.flags.aligned


def _via_copy(out, run):
    """run(aligned copy of out) (beta != 0 reads it as C), then the result copied into out."""
    tmp = out.copy()
    run(tmp)
    out[...] = tmp
    return out


_linear = _core.linear
# (activation, param) the binding takes for each elementwise name and None; other spellings and
# bad names go through elementwise_code, which also words the errors.
_EPILOGUE = {name: elementwise_code(name) for name in (None, *ELEMENTWISE)}

__all__ = ["matmul", "linear"]


def matmul(
    a: ArrayLike,
    b: ArrayLike,
    *,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
    out: np.ndarray | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """``alpha * op(a) @ op(b) + beta * out`` with ``op(x) = x.T`` when ``trans_x``.

    a and b are 2-D; other real dtypes are converted to float32 once. ``out`` (float32, shape
    (M, N), any layout) receives the result; with ``beta != 0`` it is required and is read as C.
    With beta == 0, out's old contents are never read (NaN there does not propagate).
    ``device="cuda"`` runs it on the GPU (copies in and out).
    """
    dev = CPU if device == "cpu" else device_arg(device)
    if type(a) is not np.ndarray or a.dtype != _F32 or not a.flags.aligned:
        a = as_f32(a, "a")
    if type(b) is not np.ndarray or b.dtype != _F32 or not b.flags.aligned:
        b = as_f32(b, "b")
    if _misaligned(out):
        return _via_copy(
            out,
            lambda o: _gemm(a, b, o, bool(trans_a), bool(trans_b), float(alpha), float(beta), dev),
        )
    return _gemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), float(beta), dev)


def linear(
    x: ArrayLike,
    w: ArrayLike,
    b: ArrayLike | None = None,
    *,
    activation: str | None = None,
    out: np.ndarray | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """``activation(x @ w + b)`` in one pass over the output; w is (in, out), b is (out,).

    The bias and relu / leaky_relu are applied while each tile is in registers, the other
    activations right after each block is computed, while it is in cache.
    ``device="cuda"`` runs it on the GPU (copies in and out).
    """
    dev = CPU if device == "cpu" else device_arg(device)
    try:
        act, param = _EPILOGUE[activation]
    except (KeyError, TypeError):  # another spelling ("ReLU"), or an error to word
        act, param = elementwise_code(activation)
    if type(x) is not np.ndarray or x.dtype != _F32 or not x.flags.aligned:
        x = as_f32(x, "x")
    if type(w) is not np.ndarray or w.dtype != _F32 or not w.flags.aligned:
        w = as_f32(w, "w")
    if b is not None and (type(b) is not np.ndarray or b.dtype != _F32 or not b.flags.aligned):
        b = as_f32(b, "b")
    if _misaligned(out):
        return _via_copy(out, lambda o: _linear(x, w, b, o, act, param, dev))
    return _linear(x, w, b, out, act, param, dev)
