"""Argument checks shared by the Python layer. Messages name the argument, what was expected and
what came; bindings check again, so these exist for clear messages and cheap conversions."""

from __future__ import annotations

import numpy as np

from ._arrays import host_array, host_inplace

F32 = np.dtype(np.float32)


def as_f32(x, name: str) -> np.ndarray:
    """Any array-like of real numbers (NumPy, a DLPack tensor in host memory, a buffer, a list)
    as float32 NumPy: no copy when it already is float32 and aligned (see _arrays for what
    copies; a float32 array at an odd byte address is copied once, so kernels only read aligned
    floats)."""
    if isinstance(x, np.ndarray) and x.dtype == F32:
        return x if x.flags.aligned else x.copy()
    arr = host_array(x, name)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float32, copy=False)


def as_f32_contiguous(x, name: str) -> np.ndarray:
    """float32 and C-contiguous: at most one copy, for kernels that read dense memory."""
    arr = as_f32(x, name)
    # ascontiguousarray turns 0-d into 1-D; keep the shape.
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr).reshape(arr.shape)


def direct_out(out: np.ndarray) -> bool:
    """An out= (or in-place) array the kernels may write where it is: C-contiguous and aligned
    (float32 at an address that is a multiple of 4). Otherwise the result goes through a fresh
    buffer, copied into it afterwards."""
    return out.flags.c_contiguous and out.flags.aligned


def require_f32_inplace(x, name: str) -> np.ndarray:
    """For in-place arguments and out=: a writable float32 NumPy view of x's memory (x a NumPy
    array, a host DLPack tensor or a writable buffer), or TypeError/ValueError."""
    return host_inplace(x, name)


def require_ndim(x: np.ndarray, ndim: int, name: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got {x.ndim}-D with shape {x.shape}")


def require_shape(x: np.ndarray, shape: tuple, name: str) -> None:
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(x.shape)}")


def check_out(out, shape: tuple, name: str = "out") -> np.ndarray:
    """An out= array: float32, writable, exactly `shape` (any layout); returns its NumPy view."""
    arr = require_f32_inplace(out, name)
    require_shape(arr, shape, name)
    return arr
