"""Normalization (kernels in csrc/kernels/cpu/norm.cpp and cuda/norm.cu): batch norm over the
rows of each column and layer norm over the columns of each row, forward and backward, with the
semantics of Keras's BatchNormalization / LayerNormalization (biased variance). Sums are in
double in a fixed order, so results are bit-identical whatever the thread count."""

from __future__ import annotations

import math
import numbers
from typing import Optional

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._checks import F32, as_f32_contiguous, require_f32_inplace, require_ndim, require_shape
from ._device import device_arg

_BATCH, _MOVING = 0, 1


def _matrix(x, name):
    a = as_f32_contiguous(x, name)
    require_ndim(a, 2, name)
    return a


def _vector(v, cols, name):
    if v is None:
        return None
    a = as_f32_contiguous(v, name)
    require_shape(a, (cols,), name)
    return a


def _inplace(v, cols, name):
    """A moving statistic updated in place: float32, (cols,), C-contiguous."""
    a = require_f32_inplace(v, name)
    require_shape(a, (cols,), name)
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array (updated in place)")
    return a


def _positive(v, name):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a number > 0, got {v!r}")
    return float(v)


def batch_norm(
    x: ArrayLike,
    gamma: Optional[ArrayLike] = None,
    beta: Optional[ArrayLike] = None,
    moving_mean: Optional[np.ndarray] = None,
    moving_variance: Optional[np.ndarray] = None,
    *,
    training: bool = True,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch normalization of a 2-D x (rows, features): ``(x - mean) * invstd * gamma + beta``.

    training: mean / biased variance of this batch, ``invstd = 1 / sqrt(var + epsilon)``; the
    moving statistics, when given (float32, updated IN PLACE), become ``moving * momentum +
    batch * (1 - momentum)`` (Keras's rule). Otherwise the moving statistics (required) are
    used. Returns (y, mean, invstd): the last two are what ``batch_norm_backward`` needs."""
    dev = device_arg(device)
    xa = _matrix(x, "x")
    cols = xa.shape[1]
    g, b = _vector(gamma, cols, "gamma"), _vector(beta, cols, "beta")
    eps = _positive(epsilon, "epsilon")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, numbers.Real)
        or not (0 <= momentum <= 1)
    ):
        raise ValueError(f"momentum: expected a number in [0, 1], got {momentum!r}")
    if (moving_mean is None) != (moving_variance is None):
        raise ValueError("moving_mean, moving_variance: give both or neither")
    if not training and moving_mean is None:
        raise ValueError("moving_mean, moving_variance: required with training=False")
    mm = None if moving_mean is None else _inplace(moving_mean, cols, "moving_mean")
    mv = None if moving_variance is None else _inplace(moving_variance, cols, "moving_variance")
    if training and xa.shape[0] == 0 and cols:
        raise ValueError("x: batch statistics need at least one row, got 0")
    y = np.empty(xa.shape, F32)
    mean, invstd = np.empty(cols, F32), np.empty(cols, F32)
    mode = _BATCH if training else _MOVING
    _core._batch_norm(xa, y, g, b, mean, invstd, mm, mv, mode, eps, float(momentum), dev)
    return y, mean, invstd


def batch_norm_backward(
    dy: ArrayLike,
    x: ArrayLike,
    mean: ArrayLike,
    invstd: ArrayLike,
    gamma: Optional[ArrayLike] = None,
    *,
    training: bool = True,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) of ``batch_norm`` from its input x and the (mean, invstd) it
    returned; training differentiates through the batch statistics."""
    dev = device_arg(device)
    xa = _matrix(x, "x")
    cols = xa.shape[1]
    dya = _matrix(dy, "dy")
    require_shape(dya, xa.shape, "dy")
    m, s = _vector(mean, cols, "mean"), _vector(invstd, cols, "invstd")
    g = _vector(gamma, cols, "gamma")
    dx = np.empty(xa.shape, F32)
    dgamma, dbeta = np.empty(cols, F32), np.empty(cols, F32)
    mode = _BATCH if training else _MOVING
    _core._batch_norm_backward(dya, xa, dx, g, m, s, dgamma, dbeta, mode, dev)
    return dx, dgamma, dbeta


def layer_norm(
    x: ArrayLike,
    gamma: Optional[ArrayLike] = None,
    beta: Optional[ArrayLike] = None,
    *,
    epsilon: float = 1e-3,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layer normalization of each row of a 2-D x: ``(x - mean_r) * rstd_r * gamma + beta``,
    ``rstd_r = 1 / sqrt(var_r + epsilon)`` (biased). Returns (y, mean, rstd)."""
    dev = device_arg(device)
    xa = _matrix(x, "x")
    rows, cols = xa.shape
    if cols == 0 and rows:
        raise ValueError(f"x: expected at least one column, got shape {xa.shape}")
    g, b = _vector(gamma, cols, "gamma"), _vector(beta, cols, "beta")
    eps = _positive(epsilon, "epsilon")
    y = np.empty(xa.shape, F32)
    mean, rstd = np.empty(rows, F32), np.empty(rows, F32)
    _core._layer_norm(xa, y, g, b, mean, rstd, eps, dev)
    return y, mean, rstd


def layer_norm_backward(
    dy: ArrayLike,
    x: ArrayLike,
    mean: ArrayLike,
    rstd: ArrayLike,
    gamma: Optional[ArrayLike] = None,
    *,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dx, dgamma, dbeta) of ``layer_norm`` from its input x and the (mean, rstd) it returned."""
    dev = device_arg(device)
    xa = _matrix(x, "x")
    rows, cols = xa.shape
    dya = _matrix(dy, "dy")
    require_shape(dya, xa.shape, "dy")
    m, s = _vector(mean, rows, "mean"), _vector(rstd, rows, "rstd")
    g = _vector(gamma, cols, "gamma")
    dx = np.empty(xa.shape, F32)
    dgamma, dbeta = np.empty(cols, F32), np.empty(cols, F32)
    _core._layer_norm_backward(dya, xa, dx, g, m, s, dgamma, dbeta, dev)
    return dx, dgamma, dbeta
