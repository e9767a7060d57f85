"""float64 NumPy references for the CUDA tests: the textbook formulas, written independently of
the kernels (no shared code with fusednet)."""
import math

import numpy as np


def f64(x):
    return np.asarray(x, dtype=np.float64)


# ---- gemm ---------------------------------------------------------------------------------------
def gemm(a, b, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, c=None, bias=None, act=None,
         slope=0.01):
    a, b = f64(a), f64(b)
    if trans_a:
        a = a.T
    if trans_b:
        b = b.T
    y = alpha * (a @ b)
    if beta != 0.0:
        y = y + beta * f64(c)
    if bias is not None:
        y = y + f64(bias)
    return activation(y, act, slope) if act else y


# ---- activations --------------------------------------------------------------------------------
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    x = f64(x)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def activation(x, name, slope=0.01):
    x = f64(x)
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.where(x > 0, x, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, x, slope * x)
    if name == "sigmoid":
        return _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    raise ValueError(name)


def activation_grad(dy, x, name, slope=0.01):
    """dy * f'(x), analytically."""
    dy, x = f64(dy), f64(x)
    if name == "relu":
        return np.where(x > 0, dy, 0.0)
    if name == "leaky_relu":
        return np.where(x > 0, dy, slope * dy)
    if name == "sigmoid":
        s = _sigmoid(x)
        return dy * s * (1 - s)
    if name == "tanh":
        return dy * (1 - np.tanh(x) ** 2)
    if name == "gelu":
        return dy * (0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi))
    if name == "gelu_tanh":
        c = math.sqrt(2 / math.pi)
        u = c * (x + 0.044715 * x ** 3)
        t = np.tanh(u)
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x))
    return dy


def softmax(x, log=False):
    x = f64(x)
    z = x - x.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return z - lse if log else np.exp(z - lse)


def softmax_grad(dy, x, log=False):
    dy = f64(dy)
    p = softmax(x)
    if log:
        return dy - p * dy.sum(axis=-1, keepdims=True)
    return p * (dy - (dy * p).sum(axis=-1, keepdims=True))


# ---- losses (value, gradient) -------------------------------------------------------------------
def _reduce(per_row, w, reduction):
    if w is not None:
        per_row = per_row * f64(w)
    total = per_row.sum()
    return total / per_row.shape[0] if reduction == "mean" else total


def _grad_scale(rows, w, reduction):
    s = np.ones((rows, 1)) if w is None else f64(w).reshape(-1, 1)
    return s / rows if reduction == "mean" else s


def mse(p, t, w=None, reduction="mean"):
    p, t = f64(p), f64(t)
    d = p - t
    loss = _reduce((d * d).mean(axis=1), w, reduction)
    return loss, _grad_scale(p.shape[0], w, reduction) * 2 * d / p.shape[1]


def bce(z, t, w=None, reduction="mean"):
    z, t = f64(z), f64(t)
    term = np.maximum(z, 0) - t * z + np.log1p(np.exp(-np.abs(z)))
    loss = _reduce(term.mean(axis=1), w, reduction)
    return loss, _grad_scale(z.shape[0], w, reduction) * (_sigmoid(z) - t) / z.shape[1]


def softmax_ce(z, labels, w=None, reduction="mean"):
    z = f64(z)
    logp = softmax(z, log=True)
    rows = z.shape[0]
    loss = _reduce(-logp[np.arange(rows), labels], w, reduction)
    g = np.exp(logp)
    g[np.arange(rows), labels] -= 1.0
    return loss, _grad_scale(rows, w, reduction) * g


def softmax_ce_soft(z, t, w=None, reduction="mean"):
    z, t = f64(z), f64(t)
    logp = softmax(z, log=True)
    loss = _reduce(-(t * logp).sum(axis=1), w, reduction)
    g = np.exp(logp) * t.sum(axis=1, keepdims=True) - t
    return loss, _grad_scale(z.shape[0], w, reduction) * g


# ---- optimizers (return new arrays) -------------------------------------------------------------
def sgd(p, g, v, lr, momentum=0.0, nesterov=False, wd=0.0):
    p, g = f64(p), f64(g)
    g = g + wd * p
    if momentum == 0.0:
        return p - lr * g, v
    v = momentum * f64(v) + g
    return p - lr * (g + momentum * v if nesterov else v), v


def adam(p, g, m, v, step, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7, wd=0.0, decoupled=False):
    p, g, m, v = f64(p), f64(g), f64(m), f64(v)
    if decoupled:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    mh = m / (1 - b1 ** step)
    vh = v / (1 - b2 ** step)
    return p - lr * mh / (np.sqrt(vh) + eps), m, v
