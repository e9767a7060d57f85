"""Independent float64 NumPy references for the activations and softmax.

Written from the textbook formulas (stable forms only where float64 itself would overflow), with
no code shared with fusednet. erf comes from math.erf, vectorized (fine for test-sized arrays).
"""

from __future__ import annotations

import math

import numpy as np

SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_C = 0.044715

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def forward(name, x, negative_slope=0.01):
    x = _f64(x)
    with np.errstate(all="ignore"):
        if name == "linear":
            return x.copy()
        if name == "relu":
            return np.where(x > 0, x, np.where(np.isnan(x), x, 0.0))
        if name == "leaky_relu":
            return np.where(x > 0, x, negative_slope * x)
        if name == "sigmoid":
            return _sigmoid(x)
        if name == "tanh":
            return np.tanh(x)
        if name == "gelu":
            y = 0.5 * x * (1.0 + _erf(x / SQRT2))
            return np.where(np.isneginf(x), 0.0, y)  # the limit x Phi(x) -> 0
        if name == "gelu_tanh":
            u = SQRT_2_OVER_PI * (x + GELU_C * x**3)
            y = 0.5 * x * (1.0 + np.tanh(u))
            return np.where(np.isneginf(x), 0.0, y)
        if name == "softmax":
            return softmax(x)
        if name == "log_softmax":
            return log_softmax(x)
    raise KeyError(name)


def derivative(name, x, negative_slope=0.01):
    """d act / dx, elementwise (not for softmax)."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        if name == "linear":
            return np.ones_like(x)
        if name == "relu":
            return np.where(np.isnan(x), x, (x > 0).astype(np.float64))
        if name == "leaky_relu":
            return np.where(np.isnan(x), x, np.where(x > 0, 1.0, negative_slope))
        if name == "sigmoid":
            s = _sigmoid(x)
            return s * (1.0 - s)
        if name == "tanh":
            return 1.0 / np.cosh(x) ** 2
        if name == "gelu":
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
            d = 0.5 * (1.0 + _erf(x / SQRT2)) + x * pdf
            return np.where(np.isinf(x), (x > 0).astype(np.float64), d)
        if name == "gelu_tanh":
            u = SQRT_2_OVER_PI * (x + GELU_C * x**3)
            t = np.tanh(u)
            sech2 = 1.0 / np.cosh(u) ** 2
            d = 0.5 * (1.0 + t) + 0.5 * x * sech2 * SQRT_2_OVER_PI * (1.0 + 3 * GELU_C * x * x)
            return np.where(np.abs(x) > 20, (x > 0).astype(np.float64), d)
    raise KeyError(name)


def backward(name, dy, x, negative_slope=0.01):
    if name == "softmax":
        return softmax_backward(dy, x)
    if name == "log_softmax":
        return log_softmax_backward(dy, x)
    return _f64(dy) * derivative(name, x, negative_slope)


def softmax(x):
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(x):
    x = _f64(x)
    if x.size == 0:
        return x.copy()
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax_backward(dy, x):
    p = softmax(x)
    dy = _f64(dy)
    return p * (dy - (dy * p).sum(axis=-1, keepdims=True))


def log_softmax_backward(dy, x):
    p = softmax(x)
    dy = _f64(dy)
    return dy - p * dy.sum(axis=-1, keepdims=True)
