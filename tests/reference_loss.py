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
