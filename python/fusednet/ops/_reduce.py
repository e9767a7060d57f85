"""Reductions (kernels in csrc/kernels/cpu/reduce.cpp and cuda/reduce.cu): the bias gradient and
row-wise argmax."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._checks import F32, as_f32_contiguous, check_out, direct_out, require_ndim
from ._device import CPU, device_arg


def bias_grad(dy: ArrayLike, out: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """Column sums of a 2-D dy (rows, cols) -> (cols,), rows added in order (so the result is
    bit-identical whatever the thread count), accumulated in double."""
    dev = CPU if device == "cpu" else device_arg(device)
    dy = as_f32_contiguous(dy, "dy")
    require_ndim(dy, 2, "dy")
    shape = (dy.shape[1],)
    if out is None:
        db = np.empty(shape, dtype=F32)
        _core.bias_grad(dy, db, dev)
        return db
    check_out(out, shape, "out")
    if direct_out(out) and not np.may_share_memory(out, dy):
        _core.bias_grad(dy, out, dev)
        return out
    db = np.empty(shape, dtype=F32)
    _core.bias_grad(dy, db, dev)
    out[...] = db
    return out


def argmax(x: ArrayLike, *, device: str = "cpu") -> np.ndarray:
    """Index (int64) of the first maximum of each row of a 2-D x; a NaN counts as the maximum."""
    dev = CPU if device == "cpu" else device_arg(device)
    x = as_f32_contiguous(x, "x")
    require_ndim(x, 2, "x")
    if x.shape[1] == 0 and x.shape[0] > 0:
        raise ValueError(f"x: expected at least one column, got shape {x.shape}")
    return _core.argmax_rows(x, dev)
