"""Metric names accepted by ``compile(metrics=[...])``, resolved to the C++ Net's metric codes.

"accuracy" picks the kind from the loss as Keras does: binary accuracy (threshold 0.5) for binary
cross-entropy, sparse categorical for sparse labels, categorical for one-hot targets; with mse,
binary for a 1-unit output, else categorical. Metrics are unweighted (Keras's ``metrics``, not
``weighted_metrics``) and averaged over the samples of the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Union

from . import _core
from . import losses as _losses

__all__ = ["resolve", "KNOWN"]

_M = _core.MetricKind
BINARY_ACCURACY, SPARSE_ACCURACY, CATEGORICAL_ACCURACY, MAE, MSE = (
    _M.binary_accuracy,
    _M.sparse_categorical_accuracy,
    _M.categorical_accuracy,
    _M.mean_absolute_error,
    _M.mean_squared_error,
)
del _M

_FIXED = {
    "binary_accuracy": BINARY_ACCURACY,
    "sparse_categorical_accuracy": SPARSE_ACCURACY,
    "categorical_accuracy": CATEGORICAL_ACCURACY,
    "mae": MAE,
    "mean_absolute_error": MAE,
    "mse": MSE,
    "mean_squared_error": MSE,
}
KNOWN = ("accuracy", "acc") + tuple(_FIXED)


def _accuracy_kind(loss: _losses.Loss, units: int) -> _core.MetricKind:
    if loss.kind == _losses.BCE:
        return BINARY_ACCURACY
    if loss.kind == _losses.SPARSE_CE:
        return SPARSE_ACCURACY
    if loss.kind == _losses.CATEGORICAL_CE:
        return CATEGORICAL_ACCURACY
    return BINARY_ACCURACY if units == 1 else CATEGORICAL_ACCURACY


def check_names(metrics: Optional[Union[str, Iterable[str]]]) -> list[str]:
    """The metric names as a list, validated (before the model is built)."""
    if metrics is None:
        return []
    if isinstance(metrics, str):
        metrics = [metrics]
    out = []
    for m in metrics:
        if not isinstance(m, str):
            raise TypeError(f"metrics: expected metric names (str), got {type(m).__name__}")
        if m.lower() not in KNOWN:
            raise ValueError(
                f"metrics: unknown metric '{m}'; expected one of "
                f"{', '.join(repr(k) for k in KNOWN)}"
            )
        out.append(m)
    return out


def resolve(names: Iterable[str], loss: _losses.Loss, units: int) -> list[_core.MetricKind]:
    """The C++ net's metric kinds, in the order of `names`."""
    codes = []
    for m in names:
        key = m.lower()
        code = _accuracy_kind(loss, units) if key in ("accuracy", "acc") else _FIXED[key]
        if code == SPARSE_ACCURACY and loss.kind != _losses.SPARSE_CE:
            raise ValueError(
                f"metrics: '{m}' needs integer labels, i.e. sparse_categorical_crossentropy"
            )
        if code != SPARSE_ACCURACY and loss.kind == _losses.SPARSE_CE:
            raise ValueError(
                f"metrics: '{m}' compares one value per output unit, but "
                f"sparse_categorical_crossentropy has integer labels; use 'accuracy'"
            )
        codes.append(code)
    return codes
