"""Reductions (kernels in csrc/kernels/cpu/reduce.cpp and cuda/reduce.cu): the bias gradient and
row-wise argmax."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._arrays import like_inputs
from .._checks import F32, as_f32_contiguous, check_out, direct_out, require_ndim
from ._device import CPU, CUDA, any_cuda, cuda_empty, cuda_view, device_arg


def bias_grad(dy: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """Column sums of a 2-D dy (rows, cols) -> (cols,), accumulated in double in one fixed
    order: 32 row groups (rows g, g + 32, ... added in order), then the group sums in order.
    The result is bit-identical whatever the ISA or the thread count, and on the GPU."""
    dev = CPU if device == "cpu" else device_arg(device)
    if dev is CUDA and any_cuda(dy, out):
        dy_ = cuda_view(dy, "dy", ndim=2)
        if out is None:
            out = cuda_empty((dy_.shape[1],), dy)
        _core.bias_grad(dy_, cuda_view(out, "out"), dev)
        return out
    dya = as_f32_contiguous(dy, "dy")
    require_ndim(dya, 2, "dy")
    shape = (dya.shape[1],)
    if out is None:
        db = np.empty(shape, dtype=F32)
        _core.bias_grad(dya, db, dev)
        return like_inputs(db, dy)
    o = check_out(out, shape, "out")
    if direct_out(o) and not np.may_share_memory(o, dya):
        _core.bias_grad(dya, o, dev)
        return out
    db = np.empty(shape, dtype=F32)
    _core.bias_grad(dya, db, dev)
    o[...] = db
    return out


def argmax(x: ArrayLike, *, device: str = "cpu") -> np.ndarray:
    """Index (int64) of the first maximum of each row of a 2-D x; a NaN counts as the maximum."""
    dev = CPU if device == "cpu" else device_arg(device)
    xa = as_f32_contiguous(x, "x")
    require_ndim(xa, 2, "x")
    if xa.shape[1] == 0 and xa.shape[0] > 0:
        raise ValueError(f"x: expected at least one column, got shape {xa.shape}")
    return like_inputs(_core.argmax_rows(xa, dev), x)
