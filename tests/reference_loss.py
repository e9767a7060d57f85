"""Float64 NumPy references for the losses: straightforward formulas, no shared code with the
kernels. Each returns (reduced loss, gradient of the reduced loss w.r.t. the first argument)."""

from __future__ import annotations

import numpy as np


def _as2d(x):
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x


def _reduce(per_row, grad, w, reduction):
    rows = per_row.shape[0]
    w = np.ones(rows) if w is None else np.asarray(w, dtype=np.float64)
    scale = (1.0 / rows if rows else 0.0) if reduction == "mean" else 1.0
    return float((w * per_row).sum() * scale), grad * (w * scale)[:, None]


def mse(pred, target, sample_weight=None, reduction="mean"):
    p, t = _as2d(pred), _as2d(target).reshape(_as2d(pred).shape)
    cols = p.shape[1]
    per_row = ((p - t) ** 2).mean(axis=1) if cols else np.zeros(p.shape[0])
    grad = 2.0 * (p - t) / max(cols, 1)
    loss, grad = _reduce(per_row, grad, sample_weight, reduction)
    return loss, grad.reshape(np.shape(pred))


def sigmoid_minus(z, t):
    """sigmoid(z) - t without cancellation: for z >= 0 it is (1 - t) - sigmoid(-z)."""
    small = np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z)))  # sigmoid(-|z|), no overflow
    return np.where(z >= 0, (1.0 - t) - small, small - t)


def binary_cross_entropy(logits, targets, sample_weight=None, reduction="mean"):
    z = _as2d(logits)
    t = np.asarray(targets, dtype=np.float64).reshape(z.shape)
    cols = z.shape[1]
    # softplus(z) - t z without the cancellation of log(1 + e^z) - z for large z (t = 1)
    per_elem = np.maximum(z, 0.0) - t * z + np.log1p(np.exp(-np.abs(z)))
    per_row = per_elem.mean(axis=1) if cols else np.zeros(z.shape[0])
    grad = sigmoid_minus(z, t) / max(cols, 1)
    loss, grad = _reduce(per_row, grad, sample_weight, reduction)
    return loss, grad.reshape(np.shape(logits))


def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits, labels, sample_weight=None, reduction="mean"):
    z = _as2d(logits)
    logp = _log_softmax(z)
    labels = np.asarray(labels)
    if labels.ndim == 1:
        t = np.zeros_like(z)
        t[np.arange(z.shape[0]), labels.astype(np.int64)] = 1.0
    else:
        t = labels.astype(np.float64)
    per_row = -(t * logp).sum(axis=1)
    grad = t.sum(axis=1, keepdims=True) * np.exp(logp) - t
    loss, grad = _reduce(per_row, grad, sample_weight, reduction)
    return loss, grad.reshape(np.shape(logits))


# ---- the pair losses (Keras 3's formulas, keras/src/losses/losses.py) ----------------------------
# Row values per loss, in float64 from the textbook forms (log cosh through np.cosh); the
# gradient references are central differences of these (pair_loss_value_and_fd_grad).
EPS = 1e-7


def _pair_rows(name, p, t, delta=1.0):
    with np.errstate(all="ignore"):
        if name == "mean_absolute_error":
            return np.abs(p - t).mean(axis=1)
        if name == "mean_absolute_percentage_error":
            return 100.0 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(axis=1)
        if name == "mean_squared_logarithmic_error":
            return ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(1)
        if name == "huber":
            e = p - t
            return np.where(
                np.abs(e) <= delta, 0.5 * e**2, delta * np.abs(e) - 0.5 * delta**2
            ).mean(axis=1)
        if name == "log_cosh":
            return np.log(np.cosh(p - t)).mean(axis=1)
        if name == "hinge":
            return np.maximum(1 - t * p, 0).mean(axis=1)
        if name == "squared_hinge":
            return (np.maximum(1 - t * p, 0) ** 2).mean(axis=1)
        if name == "categorical_hinge":
            return np.maximum(((1 - t) * p).max(axis=1) - (t * p).sum(axis=1) + 1, 0)
        if name == "kl_divergence":
            tc, pc = np.clip(t, EPS, 1), np.clip(p, EPS, 1)
            return (tc * np.log(tc / pc)).sum(axis=1)
        if name == "poisson":
            return (p - t * np.log(p + EPS)).mean(axis=1)
        if name == "cosine_similarity":
            nt = np.maximum(np.linalg.norm(t, axis=1), EPS)
            np_ = np.maximum(np.linalg.norm(p, axis=1), EPS)
            return -(t * p).sum(axis=1) / (nt * np_)
        if name == "binary_crossentropy_probs":
            # Keras clips float32 tensors: 1 - 1e-7 is float32(1 - 1e-7) = 1 - 2^-23 there
            pc = np.clip(p, EPS, float(np.float32(1 - EPS)))
            return -(t * np.log(pc) + (1 - t) * np.log(1 - pc)).mean(axis=1)
    raise KeyError(name)


def pair_loss(name, pred, target, sample_weight=None, reduction="mean", delta=1.0):
    """(reduced loss, gradient) with the gradient from central differences of the float64 value
    (h relative to the element), so it is independent of any derivative written by hand."""
    p, t = _as2d(pred), _as2d(target).reshape(_as2d(pred).shape)
    rows = _pair_rows(name, p, t, delta)
    grad = np.zeros_like(p)
    for j in range(p.shape[1]):
        h = 1e-6 * np.maximum(1.0, np.abs(p[:, j]))
        up, down = p.copy(), p.copy()
        up[:, j] += h
        down[:, j] -= h
        grad[:, j] = (_pair_rows(name, up, t, delta) - _pair_rows(name, down, t, delta)) / (2 * h)
    loss, grad = _reduce(rows, grad, sample_weight, reduction)
    return loss, grad.reshape(np.shape(pred))
