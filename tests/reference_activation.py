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


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _hard_sigmoid(x):
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)


def _inside(x, lo, hi):
    """[lo < x < hi] as 1.0 / 0.0, NaN -> NaN."""
    return np.where(np.isnan(x), x, ((x > lo) & (x < hi)).astype(np.float64))


def forward(name, x, negative_slope=0.01, alpha=1.0):
    x = _f64(x)
    with np.errstate(all="ignore"):
        if name == "elu":
            return np.where(x >= 0, x, alpha * np.expm1(x))
        if name == "selu":
            return SELU_SCALE * np.where(x >= 0, x, SELU_ALPHA * np.expm1(x))
        if name in ("silu", "swish"):
            return np.where(np.isneginf(x), 0.0, x * _sigmoid(x))
        if name == "softplus":
            return np.logaddexp(x, 0.0)
        if name == "softsign":
            return np.where(np.isinf(x), np.sign(x), x / (1.0 + np.abs(x)))
        if name == "relu6":
            return np.where(np.isnan(x), x, np.clip(x, 0.0, 6.0))
        if name == "mish":
            return np.where(np.isneginf(x), 0.0, x * np.tanh(np.logaddexp(x, 0.0)))
        if name == "hard_sigmoid":
            return _hard_sigmoid(x)
        if name in ("hard_silu", "hard_swish"):
            return np.where(np.isneginf(x), 0.0, x * _hard_sigmoid(x))
        if name == "exponential":
            return np.exp(x)
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


def derivative(name, x, negative_slope=0.01, alpha=1.0):
    """d act / dx, elementwise (not for softmax)."""
    x = _f64(x)
    with np.errstate(all="ignore"):
        if name == "elu":
            return np.where(x > 0, 1.0, alpha * np.exp(x))
        if name == "selu":
            return SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x))
        if name in ("silu", "swish"):
            s = _sigmoid(x)
            d = s * (1.0 + x * (1.0 - s))
            return np.where(np.isinf(x), (x > 0).astype(np.float64), d)
        if name == "softplus":
            return _sigmoid(x)
        if name == "softsign":
            return 1.0 / (1.0 + np.abs(x)) ** 2
        if name == "relu6":
            return _inside(x, 0.0, 6.0)
        if name == "mish":
            t = np.tanh(np.logaddexp(x, 0.0))
            d = t + x * (1.0 - t * t) * _sigmoid(x)
            return np.where(np.isinf(x), (x > 0).astype(np.float64), d)
        if name == "hard_sigmoid":
            return _inside(x, -3.0, 3.0) / 6.0
        if name in ("hard_silu", "hard_swish"):
            mid = np.where((x > -3) & (x < 3), x / 3.0 + 0.5, (x >= 3).astype(np.float64))
            return np.where(np.isnan(x), x, mid)
        if name == "exponential":
            return np.exp(x)
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


def backward(name, dy, x, negative_slope=0.01, alpha=1.0):
    if name == "softmax":
        return softmax_backward(dy, x)
    if name == "log_softmax":
        return log_softmax_backward(dy, x)
    return _f64(dy) * derivative(name, x, negative_slope, alpha)


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
