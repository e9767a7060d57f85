"""matmul and linear on the gemm kernels (csrc/kernels/cpu/gemm.cpp, cuda/gemm.cu): any layout,
no copies of float32 input on the CPU.

The binding validates shapes and layouts (messages name the argument); this layer only converts
non-float32 inputs once, so the common float32 NumPy call stays a single C++ call. Other array
kinds (DLPack, buffers) are viewed without a copy and the result comes back in the caller's kind
(fusednet._arrays); CUDA DLPack arrays with device="cuda" are used in place on the device.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._activations import ELEMENTWISE, elementwise_code
from .._arrays import result_kind, to_kind
from .._checks import as_f32, require_f32_inplace
from ._device import CPU, CUDA, any_cuda, cuda_empty, cuda_view, device_arg

_F32 = np.dtype(np.float32)
_gemm = _core.gemm
_matmul_fast = _core._matmul_fast


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
    if device == "cpu":  # plain float32 NumPy arrays: one C call (NotImplemented otherwise)
        res = _matmul_fast(a, b, out, trans_a, trans_b, alpha, beta)
        if res is not NotImplemented:
            return res
    dev = CPU if device == "cpu" else device_arg(device)
    if type(a) is np.ndarray and type(b) is np.ndarray and (out is None or type(out) is np.ndarray):
        if a.dtype != _F32 or not a.flags.aligned:
            a = as_f32(a, "a")
        if b.dtype != _F32 or not b.flags.aligned:
            b = as_f32(b, "b")
        if _misaligned(out):
            return _via_copy(
                out,
                lambda o: _gemm(
                    a, b, o, bool(trans_a), bool(trans_b), float(alpha), float(beta), dev
                ),
            )
        return _gemm(a, b, out, bool(trans_a), bool(trans_b), float(alpha), float(beta), dev)
    if dev is CUDA and any_cuda(a, b, out):
        a_, b_ = cuda_view(a, "a", ndim=2), cuda_view(b, "b", ndim=2)
        if out is None:
            m, n = (
                (a_.shape[1] if trans_a else a_.shape[0]),
                (b_.shape[0] if trans_b else b_.shape[1]),
            )
            out = cuda_empty((m, n), a)
        _gemm(
            a_,
            b_,
            cuda_view(out, "out"),
            bool(trans_a),
            bool(trans_b),
            float(alpha),
            float(beta),
            dev,
        )
        return out
    kind = result_kind(a, b) if out is None else None
    o = None if out is None else require_f32_inplace(out, "out")
    a, b = as_f32(a, "a"), as_f32(b, "b")
    if _misaligned(o):
        _via_copy(
            o,
            lambda t: _gemm(a, b, t, bool(trans_a), bool(trans_b), float(alpha), float(beta), dev),
        )
        return out
    res = _gemm(
        a,
        b,
        o,
        bool(trans_a),
        bool(trans_b),
        float(alpha),
        float(beta),
        dev,
    )
    return out if out is not None else to_kind(res, kind)


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
    if type(x) is np.ndarray and type(w) is np.ndarray and (out is None or type(out) is np.ndarray):
        if x.dtype != _F32 or not x.flags.aligned:
            x = as_f32(x, "x")
        if w.dtype != _F32 or not w.flags.aligned:
            w = as_f32(w, "w")
        if b is not None and (type(b) is not np.ndarray or b.dtype != _F32 or not b.flags.aligned):
            b = as_f32(b, "b")
        if _misaligned(out):
            return _via_copy(out, lambda o: _linear(x, w, b, o, act, param, dev))
        return _linear(x, w, b, out, act, param, dev)
    if dev is CUDA and any_cuda(x, w, b, out):
        x_, w_ = cuda_view(x, "x", ndim=2), cuda_view(w, "w", ndim=2)
        if out is None:
            out = cuda_empty((x_.shape[0], w_.shape[1]), x)
        b_ = None if b is None else cuda_view(b, "b")
        _linear(x_, w_, b_, cuda_view(out, "out"), act, param, dev)
        return out
    kind = result_kind(x, w, b) if out is None else None
    o = None if out is None else require_f32_inplace(out, "out")
    x, w = as_f32(x, "x"), as_f32(w, "w")
    b = None if b is None else as_f32(b, "b")
    if _misaligned(o):
        _via_copy(o, lambda t: _linear(x, w, b, t, act, param, dev))
        return out
    res = _linear(
        x,
        w,
        b,
        o,
        act,
        param,
        dev,
    )
    return out if out is not None else to_kind(res, kind)
