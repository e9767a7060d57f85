"""Losses: the reduced value and the gradient w.r.t. the first argument, in one fused pass.

Per-sample loss L_i (mean over the columns for mse / binary_cross_entropy, the row's cross-entropy
for softmax_cross_entropy), weighted by ``sample_weight[i]``; ``reduction="sum"`` gives
``sum_i w_i L_i``, ``"mean"`` that sum divided by the number of rows (0.0 for no rows). The
gradient returned is that of the reduced value and has the first argument's shape.
Every loss takes ``device="cpu"`` or ``"cuda"`` (host arrays copied to the GPU and back; losses take
host arrays only: NumPy, DLPack tensors in host memory, buffers). The gradient comes back in the
kind of the inputs (fusednet._arrays).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._arrays import host_array, like_inputs
from .._checks import as_f32_contiguous
from ._device import CPU, device_arg

REDUCTIONS = ("mean", "sum")
_P = _core.PairLoss
# The losses of ``loss``: Keras 3's names (csrc/kernels/math/loss.h has the formulas).
PAIR_LOSSES = {
    "mean_absolute_error": _P.mean_absolute_error,
    "mean_absolute_percentage_error": _P.mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": _P.mean_squared_logarithmic_error,
    "huber": _P.huber,
    "log_cosh": _P.log_cosh,
    "hinge": _P.hinge,
    "squared_hinge": _P.squared_hinge,
    "categorical_hinge": _P.categorical_hinge,
    "kl_divergence": _P.kl_divergence,
    "poisson": _P.poisson,
    "cosine_similarity": _P.cosine_similarity,
    "binary_crossentropy_probs": _P.binary_crossentropy_probs,
}
del _P
_REDUCTION = {"mean": _core.Reduction.mean, "sum": _core.Reduction.sum}


def _reduction(reduction) -> _core.Reduction:
    if not isinstance(reduction, str) or reduction not in _REDUCTION:
        raise ValueError(f"reduction: expected one of 'mean', 'sum', got {reduction!r}")
    return _REDUCTION[reduction]


def _matrix(x, name: str) -> np.ndarray:
    """float32, C-contiguous, 1-D (as one column) or 2-D, as a 2-D array."""
    if np.ndim(x) not in (1, 2):
        raise ValueError(
            f"{name}: expected a 1-D or 2-D array, got {np.ndim(x)}-D with shape {np.shape(x)}"
        )
    arr = as_f32_contiguous(x, name)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def _weights(sample_weight, rows: int):
    if sample_weight is None:
        return None
    sample_weight = host_array(sample_weight, "sample_weight")
    if np.shape(sample_weight) != (rows,):
        raise ValueError(
            f"sample_weight: expected shape ({rows},) (one weight per row), "
            f"got {np.shape(sample_weight)}"
        )
    return as_f32_contiguous(sample_weight, "sample_weight")


def _same_shape(a_shape, b_shape, name: str, what: str) -> None:
    if tuple(a_shape) != tuple(b_shape):
        raise ValueError(f"{name}: expected shape {tuple(a_shape)} ({what}), got {tuple(b_shape)}")


def mse(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    reduction: str = "mean",
    device: str = "cpu",
) -> tuple[float, np.ndarray]:
    """Mean squared error: ``(loss, dpred)``; pred and target 1-D or 2-D of the same shape."""
    dev = CPU if device == "cpu" else device_arg(device)
    reduction = _reduction(reduction)
    kind_of = (pred, target)
    pred, target = host_array(pred, "pred"), host_array(target, "target")
    p = _matrix(pred, "pred")
    _same_shape(np.shape(pred), np.shape(target), "target", "the shape of pred")
    t = as_f32_contiguous(target, "target").reshape(p.shape)
    w = _weights(sample_weight, p.shape[0])
    loss, grad = _core.mse(p, t, w, reduction, dev)
    return loss, like_inputs(grad.reshape(np.shape(pred)), *kind_of)


def binary_cross_entropy(
    logits: ArrayLike,
    targets: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    reduction: str = "mean",
    device: str = "cpu",
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy from logits (stable softplus form): ``(loss, dlogits)``.

    targets are 0/1 or probabilities, of logits' shape; ``(n,)`` targets also go with ``(n, 1)``
    logits (and the other way round).
    """
    dev = CPU if device == "cpu" else device_arg(device)
    reduction = _reduction(reduction)
    kind_of = (logits, targets)
    logits, targets = host_array(logits, "logits"), host_array(targets, "targets")
    z = _matrix(logits, "logits")
    z_shape, t_shape = np.shape(logits), np.shape(targets)
    column_pair = z.shape[1] == 1 and t_shape in ((z.shape[0],), (z.shape[0], 1))
    if t_shape != z_shape and not column_pair:
        raise ValueError(f"targets: expected shape {z_shape} (the shape of logits), got {t_shape}")
    t = as_f32_contiguous(targets, "targets").reshape(z.shape)
    w = _weights(sample_weight, z.shape[0])
    loss, grad = _core.binary_cross_entropy(z, t, w, reduction, dev)
    return loss, like_inputs(grad.reshape(z_shape), *kind_of)


def _sparse_labels(labels: np.ndarray, rows: int, cols: int) -> np.ndarray:
    if labels.shape != (rows,):
        raise ValueError(
            f"labels: expected shape ({rows},) (one class index per row of logits) "
            f"or the shape of logits, got {labels.shape}"
        )
    kind = labels.dtype.kind
    if kind in "iu":
        if labels.dtype == np.uint64 and labels.size and labels.max() >= cols:  # would wrap
            row = int(np.argmax(labels >= cols))
            raise ValueError(
                f"labels: expected class indices in [0, {cols}), got "
                f"{labels[row].item()} at row {row}"
            )
        out = labels.astype(np.int64, copy=False)
        return out if out.flags.aligned else out.copy()  # kernels read aligned int64 only
    if kind == "f":
        bad = ~np.isfinite(labels) | (labels != np.floor(labels)) | (labels < 0) | (labels >= cols)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"labels: expected whole-number class indices in [0, {cols}), got "
                f"{labels[row].item()!r} at row {row}"
            )
        return labels.astype(np.int64)
    raise ValueError(
        f"labels: expected integer class indices (or whole-number floats), got dtype {labels.dtype}"
    )


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    sample_weight: ArrayLike | None = None,
    reduction: str = "mean",
    device: str = "cpu",
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy from logits (stable log-sum-exp): ``(loss, dlogits)``.

    labels: 1-D class indices in ``[0, C)`` (any integer dtype, or floats holding whole numbers),
    or an array of logits' shape with probability / one-hot targets per row.
    """
    dev = CPU if device == "cpu" else device_arg(device)
    reduction = _reduction(reduction)
    logits_in = logits  # the gradient comes back in its kind
    logits = host_array(logits, "logits")
    z = _matrix(logits, "logits")
    rows, cols = z.shape
    if cols == 0 and rows > 0:
        raise ValueError(f"logits: expected at least one column (class), got shape {z.shape}")
    w = _weights(sample_weight, rows)
    lab = host_array(labels, "labels")
    if lab.ndim == 2:
        _same_shape(
            np.shape(logits), lab.shape, "labels", "the shape of logits for probability targets"
        )
        t = as_f32_contiguous(lab, "labels").reshape(z.shape)
        loss, grad = _core.softmax_cross_entropy_soft(z, t, w, reduction, dev)
    elif lab.ndim == 1:
        loss, grad = _core.softmax_cross_entropy(
            z, np.ascontiguousarray(_sparse_labels(lab, rows, cols)), w, reduction, dev
        )
    else:
        raise ValueError(
            f"labels: expected a 1-D array of class indices of shape ({rows},) or "
            f"probability targets of shape {tuple(np.shape(logits))}, got "
            f"{lab.ndim}-D with shape {lab.shape}"
        )
    return loss, like_inputs(grad.reshape(np.shape(logits)), logits_in)


def loss(
    name: str,
    pred: ArrayLike,
    target: ArrayLike,
    *,
    delta: float = 1.0,
    sample_weight: ArrayLike | None = None,
    reduction: str = "mean",
    device: str = "cpu",
) -> tuple[float, np.ndarray]:
    """One of PAIR_LOSSES' names (Keras 3's formulas and clipping epsilons): ``(loss, dpred)``;
    pred and target 1-D or 2-D of the same shape, a row per sample. The row loss is the mean
    over the row (kl_divergence, categorical_hinge, cosine_similarity: a sum or a row-wise
    value). ``delta`` is huber's. hinge / squared_hinge take -1/1 targets as given (the Loss
    classes convert 0/1 labels); binary_crossentropy_probs is BCE of probabilities clipped to
    [1e-7, 1 - 1e-7]."""
    dev = CPU if device == "cpu" else device_arg(device)
    red = _reduction(reduction)
    if not isinstance(name, str) or name not in PAIR_LOSSES:
        raise ValueError(
            f"name: expected one of {', '.join(repr(k) for k in PAIR_LOSSES)}, got {name!r}"
        )
    p = _matrix(pred, "pred")
    _same_shape(np.shape(pred), np.shape(target), "target", "the shape of pred")
    t = as_f32_contiguous(target, "target").reshape(p.shape)
    w = _weights(sample_weight, p.shape[0])
    param = float(delta) if name == "huber" else 0.0
    value, grad = _core.pair_loss(PAIR_LOSSES[name], p, t, w, param, red, dev)
    return value, like_inputs(grad.reshape(np.shape(pred)), pred)
