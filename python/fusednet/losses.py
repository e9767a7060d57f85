"""Losses with Keras's names and semantics. Inside a model they only describe the loss: the C++
Net computes value and gradient in one pass (a sigmoid / softmax output with its cross-entropy is
fused and computed from the logits). Called standalone, ``loss_fn(y_true, y_pred)`` evaluates in
NumPy like Keras (probabilities clipped to [1e-7, 1 - 1e-7] when ``from_logits=False``); inside
a ``GradientTape`` on a model's output it returns a loss the tape can differentiate.

Reduction: Keras's "sum_over_batch_size": the (weighted) per-sample losses summed and divided by
the number of samples.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import numpy.typing as npt

from . import _core, _recorded
from ._registry import Registry

__all__ = [
    "Loss",
    "MeanSquaredError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "get",
    "LossValue",
]

_K = _core.LossKind
MSE, BCE, SPARSE_CE, CATEGORICAL_CE = (
    _K.mean_squared_error,
    _K.binary_crossentropy,
    _K.sparse_categorical_crossentropy,
    _K.categorical_crossentropy,
)
del _K
EPSILON = 1e-7


class LossValue(float):
    """A loss value: a float that also answers ``.numpy()`` (as a Keras tensor does)."""

    def numpy(self) -> float:
        return np.float32(self)


class Loss:
    kind = MSE
    name = "loss"

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: Optional[str] = None,
    ) -> None:
        if reduction not in ("sum_over_batch_size", "auto", None):
            raise ValueError(
                f"reduction: only 'sum_over_batch_size' is supported, got {reduction!r}"
            )
        self.from_logits = bool(from_logits)
        if name is not None:
            self.name = str(name)

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits, "name": self.name}

    def spec(self):
        """The loss as the C++ net takes it."""
        return _core.LossSpec(self.kind, self.from_logits)

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __call__(
        self,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: Optional[npt.ArrayLike] = None,
    ) -> LossValue:
        rec = _recorded.lookup_output(y_pred)  # an output of model(x) inside a GradientTape
        if rec is not None:
            return rec.loss(self, y_true, sample_weight)
        y_pred = np.asarray(y_pred, dtype=np.float64)
        if y_pred.ndim == 1:
            y_pred = y_pred[:, None]
        per_sample = self._per_sample(y_true, y_pred)
        if sample_weight is not None:
            per_sample = per_sample * np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        return LossValue(per_sample.sum() / max(len(per_sample), 1))

    def _per_sample(self, y_true, y_pred):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(from_logits={self.from_logits})"


def _values(y_true, y_pred):
    t = np.asarray(y_true, dtype=np.float64)
    return t.reshape(y_pred.shape)


class MeanSquaredError(Loss):
    """mean over the last axis of (y_true - y_pred)^2."""

    kind = MSE
    name = "mean_squared_error"

    def __init__(self, reduction: str = "sum_over_batch_size", name: Optional[str] = None) -> None:
        super().__init__(False, reduction, name)

    def get_config(self) -> dict:
        return {"name": self.name}

    def _per_sample(self, y_true, y_pred):
        return ((_values(y_true, y_pred) - y_pred) ** 2).mean(axis=-1)


class BinaryCrossentropy(Loss):
    """mean over the last axis of -(y log p + (1 - y) log(1 - p)); p = sigmoid(y_pred) when
    ``from_logits``."""

    kind = BCE
    name = "binary_crossentropy"

    def _per_sample(self, y_true, y_pred):
        t = _values(y_true, y_pred)
        if self.from_logits:
            z = y_pred
            return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return (-(t * np.log(p) + (1 - t) * np.log(1 - p))).mean(axis=-1)


class CategoricalCrossentropy(Loss):
    """-sum y log p over classes, y one-hot or probabilities; p = softmax(y_pred) when
    ``from_logits``, else y_pred normalised to sum 1 and clipped."""

    kind = CATEGORICAL_CE
    name = "categorical_crossentropy"

    def _log_probs(self, y_pred):
        if self.from_logits:
            z = y_pred - y_pred.max(axis=-1, keepdims=True)
            return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return np.log(np.clip(p, EPSILON, 1 - EPSILON))

    def _per_sample(self, y_true, y_pred):
        return -(_values(y_true, y_pred) * self._log_probs(y_pred)).sum(axis=-1)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class labels."""

    kind = SPARSE_CE
    name = "sparse_categorical_crossentropy"

    def _per_sample(self, y_true, y_pred):
        labels = np.asarray(y_true).reshape(-1).astype(np.int64)
        lp = self._log_probs(y_pred)
        if labels.size and (labels.min() < 0 or labels.max() >= lp.shape[-1]):
            raise ValueError(
                f"y_true: labels must be in [0, {lp.shape[-1]}), got "
                f"[{labels.min()}, {labels.max()}]"
            )
        return -lp[np.arange(len(labels)), labels]


_CLASSES = (
    MeanSquaredError,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
_REGISTRY: Registry[Loss] = Registry(
    "loss",
    Loss,
    _CLASSES,
    names={"mse": MeanSquaredError, **{c.name: c for c in _CLASSES}},
    expected="a fusednet.losses.Loss",
)
get = _REGISTRY.get  # a Loss from "mse", "binary_crossentropy", ..., a class name, or a Loss
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize
