"""Losses with Keras 3's names, defaults and formulas (keras/src/losses/losses.py). Inside a model
they only describe the loss: the C++ Net computes value and gradient in one pass (a sigmoid /
softmax output with its cross-entropy is fused and computed from the logits; every other loss is
one native kernel too). Called standalone, ``loss_fn(y_true, y_pred)`` evaluates in NumPy float64
like Keras (probabilities clipped to [1e-7, 1 - 1e-7] when ``from_logits=False``); inside a
``GradientTape`` on a model's output it returns a loss the tape can differentiate.

Reduction (Keras's): ``"sum_over_batch_size"`` (default; ``"mean"`` and ``"auto"`` are the same):
the (weighted) per-sample losses summed and divided by the number of samples; ``"sum"``: summed;
``None`` / ``"none"``: the per-sample losses (standalone calls; in a model's fit they are
averaged, as Keras's compile does); ``"mean_with_sample_weight"``: divided by the sum of the
weights (standalone calls only).

Targets a loss transforms before the kernel sees them (once per fit / evaluate call, in NumPy):
``label_smoothing`` (binary: ``y (1 - s) + s / 2``; categorical: ``y (1 - s) + s / classes``), and
hinge / squared_hinge's 0/1 labels to -1/1, which Keras decides per batch and fusednet per call
(the same unless one call's labels mix 0/1 batches with other values).

A Python function ``loss(y_true, y_pred)`` is accepted as well (``LossFunctionWrapper``): it runs
per batch in Python with NumPy arrays. See ``LossFunctionWrapper`` for how its gradient is had.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

from . import _core, _recorded
from ._registry import Registry

__all__ = [
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Huber",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "KLDivergence",
    "Poisson",
    "CosineSimilarity",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "LossFunctionWrapper",
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
_REDUCTIONS = ("sum_over_batch_size", "auto", "mean", "sum", "none", "mean_with_sample_weight")


def _check_reduction(reduction: Optional[str]) -> Optional[str]:
    if reduction is not None and reduction not in _REDUCTIONS:
        raise ValueError(
            f"reduction: expected one of {', '.join(repr(r) for r in _REDUCTIONS)} or None, "
            f"got {reduction!r}"
        )
    return reduction


class LossValue(float):
    """A loss value: a float that also answers ``.numpy()`` (as a Keras tensor does)."""

    def numpy(self) -> float:
        return np.float32(self)


class Loss:
    kind = MSE
    name = "loss"
    _param = 0.0  # the Net's LossSpec.param (huber's delta)

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: Optional[str] = None,
    ) -> None:
        self.reduction = _check_reduction(reduction)
        self.from_logits = bool(from_logits)
        if name is not None:
            self.name = str(name)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "name": self.name, "reduction": self.reduction}

    def spec(self) -> _core.LossSpec:
        """The loss as the C++ net takes it."""
        if self.reduction == "mean_with_sample_weight":
            raise ValueError(
                f"{self.name}: reduction='mean_with_sample_weight' is supported in standalone "
                f"calls only, not in a model (use 'sum_over_batch_size' or 'sum')"
            )
        red = _core.Reduction.sum if self.reduction == "sum" else _core.Reduction.mean
        return _core.LossSpec(self.kind, self.from_logits, float(self._param), red)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def _native_targets(self, y: np.ndarray) -> np.ndarray:
        """The float32 targets (n, units) as the Net's kernel takes them (see the module doc)."""
        return y

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
        return self._reduce(per_sample, sample_weight)

    def _reduce(self, per_sample: np.ndarray, sample_weight: Optional[npt.ArrayLike]) -> Any:
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
            per_sample = per_sample * w
        if self.reduction in (None, "none"):
            return per_sample.astype(np.float32)
        total = per_sample.sum()
        if self.reduction == "sum":
            return LossValue(total)
        if self.reduction == "mean_with_sample_weight" and w is not None:
            return LossValue(total / w.sum() if w.sum() != 0 else 0.0)
        return LossValue(total / max(len(per_sample), 1))

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


def _values(y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
    t = np.asarray(y_true, dtype=np.float64)
    return t.reshape(y_pred.shape)


class _NoLogits(Loss):
    """A loss of values (no from_logits argument)."""

    def __init__(self, reduction: str = "sum_over_batch_size", name: Optional[str] = None) -> None:
        super().__init__(False, reduction, name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(_NoLogits):
    """mean over the last axis of (y_true - y_pred)^2."""

    kind = MSE
    name = "mean_squared_error"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        return ((_values(y_true, y_pred) - y_pred) ** 2).mean(axis=-1)


def _smoothing(label_smoothing: float) -> float:
    s = float(label_smoothing)
    if not 0.0 <= s <= 1.0:
        raise ValueError(f"label_smoothing: expected a number in [0, 1], got {label_smoothing!r}")
    return s


def _last_axis(axis: int) -> int:
    if axis != -1:
        raise ValueError(f"axis: only the last axis (-1) is supported, got {axis!r}")
    return axis


class _SmoothedCrossentropy(Loss):
    """The arguments shared by the two cross-entropies, and their label smoothing
    y -> y (1 - s) + s / classes, with 2 classes for the binary one."""

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str = "sum_over_batch_size",
        name: Optional[str] = None,
    ) -> None:
        super().__init__(from_logits, reduction, name)
        self.label_smoothing = _smoothing(label_smoothing)
        self.axis = _last_axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "axis": self.axis}

    def _smoothing_classes(self, t: np.ndarray) -> int:
        raise NotImplementedError

    def _smooth(self, t: np.ndarray) -> np.ndarray:
        s = self.label_smoothing
        return t * (1.0 - s) + s / self._smoothing_classes(t) if s else t

    def _native_targets(self, y: np.ndarray) -> np.ndarray:
        return self._smooth(y).astype(np.float32) if self.label_smoothing else y


class BinaryCrossentropy(_SmoothedCrossentropy):
    """mean over the last axis of -(y log p + (1 - y) log(1 - p)); p = sigmoid(y_pred) when
    ``from_logits`` (a linear output then trains on the stable logits form), else y_pred clipped
    to [1e-7, 1 - 1e-7]. ``label_smoothing`` s: y -> y (1 - s) + s / 2."""

    kind = BCE
    name = "binary_crossentropy"

    def _smoothing_classes(self, t: np.ndarray) -> int:
        return 2

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = self._smooth(_values(y_true, y_pred))
        if self.from_logits:
            z = y_pred
            return (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return (-(t * np.log(p) + (1 - t) * np.log(1 - p))).mean(axis=-1)


class CategoricalCrossentropy(_SmoothedCrossentropy):
    """-sum y log p over classes, y one-hot or probabilities; p = softmax(y_pred) when
    ``from_logits``, else y_pred normalised to sum 1 and clipped. ``label_smoothing`` s:
    y -> y (1 - s) + s / classes."""

    kind = CATEGORICAL_CE
    name = "categorical_crossentropy"

    def _smoothing_classes(self, t: np.ndarray) -> int:
        return t.shape[-1]

    def _log_probs(self, y_pred: np.ndarray) -> np.ndarray:
        if self.from_logits:
            z = y_pred - y_pred.max(axis=-1, keepdims=True)
            return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        p = y_pred / y_pred.sum(axis=-1, keepdims=True)
        return np.log(np.clip(p, EPSILON, 1 - EPSILON))

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        return -(self._smooth(_values(y_true, y_pred)) * self._log_probs(y_pred)).sum(axis=-1)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Categorical cross-entropy with integer class labels."""

    kind = SPARSE_CE
    name = "sparse_categorical_crossentropy"

    def __init__(
        self,
        from_logits: bool = False,
        reduction: str = "sum_over_batch_size",
        name: Optional[str] = None,
        axis: int = -1,
    ) -> None:
        super().__init__(from_logits, 0.0, axis, reduction, name)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "name": self.name, "reduction": self.reduction}

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        labels = np.asarray(y_true).reshape(-1).astype(np.int64)
        lp = self._log_probs(y_pred)
        if labels.size and (labels.min() < 0 or labels.max() >= lp.shape[-1]):
            raise ValueError(
                f"y_true: labels must be in [0, {lp.shape[-1]}), got "
                f"[{labels.min()}, {labels.max()}]"
            )
        return -lp[np.arange(len(labels)), labels]


# ---- the pair losses: one native kernel (csrc/kernels/math/loss.h) ------------------------------
_K = _core.LossKind


def _hinge_labels(t: np.ndarray) -> np.ndarray:
    """Keras's convert_binary_labels_to_hinge: 0/1 labels to -1/1, others unchanged."""
    return 2.0 * t - 1.0 if np.isin(t, (0.0, 1.0)).all() else t


class MeanAbsoluteError(_NoLogits):
    """mean over the last axis of |y_true - y_pred|."""

    kind = _K.mean_absolute_error
    name = "mean_absolute_error"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        return np.abs(_values(y_true, y_pred) - y_pred).mean(axis=-1)


class MeanAbsolutePercentageError(_NoLogits):
    """100 * mean over the last axis of |y_true - y_pred| / max(|y_true|, 1e-7)."""

    kind = _K.mean_absolute_percentage_error
    name = "mean_absolute_percentage_error"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _values(y_true, y_pred)
        return 100.0 * (np.abs(t - y_pred) / np.maximum(np.abs(t), EPSILON)).mean(axis=-1)


class MeanSquaredLogarithmicError(_NoLogits):
    """mean over the last axis of (log(max(y_pred, 1e-7) + 1) - log(max(y_true, 1e-7) + 1))^2."""

    kind = _K.mean_squared_logarithmic_error
    name = "mean_squared_logarithmic_error"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _values(y_true, y_pred)
        d = np.log1p(np.maximum(y_pred, EPSILON)) - np.log1p(np.maximum(t, EPSILON))
        return (d * d).mean(axis=-1)


class Huber(_NoLogits):
    """mean over the last axis of e^2 / 2 where |e| <= delta, else delta |e| - delta^2 / 2,
    e = y_pred - y_true."""

    kind = _K.huber
    name = "huber_loss"

    def __init__(
        self, delta: float = 1.0, reduction: str = "sum_over_batch_size", name: Optional[str] = None
    ) -> None:
        super().__init__(reduction, name)
        d = float(delta)
        if not d > 0 or not np.isfinite(d):
            raise ValueError(f"delta: expected a finite number > 0, got {delta!r}")
        self.delta = d
        self._param = d

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        e = y_pred - _values(y_true, y_pred)
        a, d = np.abs(e), self.delta
        return np.where(a <= d, 0.5 * e * e, d * a - 0.5 * d * d).mean(axis=-1)


class LogCosh(_NoLogits):
    """mean over the last axis of log(cosh(y_pred - y_true)) (computed without overflow)."""

    kind = _K.log_cosh
    name = "log_cosh"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        e = np.abs(y_pred - _values(y_true, y_pred))
        return (e + np.log1p(np.exp(-2.0 * e)) - np.log(2.0)).mean(axis=-1)


class Hinge(_NoLogits):
    """mean over the last axis of max(1 - y_true y_pred, 0); 0/1 labels become -1/1."""

    kind = _K.hinge
    name = "hinge"

    def _native_targets(self, y: np.ndarray) -> np.ndarray:
        return _hinge_labels(y).astype(np.float32)

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _hinge_labels(_values(y_true, y_pred))
        return np.maximum(1.0 - t * y_pred, 0.0).mean(axis=-1)


class SquaredHinge(Hinge):
    """mean over the last axis of max(1 - y_true y_pred, 0)^2; 0/1 labels become -1/1."""

    kind = _K.squared_hinge
    name = "squared_hinge"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _hinge_labels(_values(y_true, y_pred))
        return (np.maximum(1.0 - t * y_pred, 0.0) ** 2).mean(axis=-1)


class CategoricalHinge(_NoLogits):
    """max(neg - pos + 1, 0), pos = sum(y_true y_pred), neg = max((1 - y_true) y_pred)."""

    kind = _K.categorical_hinge
    name = "categorical_hinge"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _values(y_true, y_pred)
        pos = (t * y_pred).sum(axis=-1)
        neg = ((1.0 - t) * y_pred).max(axis=-1)
        return np.maximum(neg - pos + 1.0, 0.0)


class KLDivergence(_NoLogits):
    """sum over the last axis of y_true log(y_true / y_pred), both clipped to [1e-7, 1]."""

    kind = _K.kl_divergence
    name = "kl_divergence"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = np.clip(_values(y_true, y_pred), EPSILON, 1.0)
        p = np.clip(y_pred, EPSILON, 1.0)
        return (t * np.log(t / p)).sum(axis=-1)


class Poisson(_NoLogits):
    """mean over the last axis of y_pred - y_true log(y_pred + 1e-7)."""

    kind = _K.poisson
    name = "poisson"

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _values(y_true, y_pred)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (y_pred - t * np.log(y_pred + EPSILON)).mean(axis=-1)


class CosineSimilarity(_NoLogits):
    """-sum over the last axis of l2_normalize(y_true) * l2_normalize(y_pred) (a norm below
    1e-7 counts as 1e-7, as Keras's normalize clamps it)."""

    kind = _K.cosine_similarity
    name = "cosine_similarity"

    def __init__(
        self, axis: int = -1, reduction: str = "sum_over_batch_size", name: Optional[str] = None
    ) -> None:
        super().__init__(reduction, name)
        self.axis = _last_axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

    def _per_sample(self, y_true: npt.ArrayLike, y_pred: np.ndarray) -> np.ndarray:
        t = _values(y_true, y_pred)

        def unit(v: np.ndarray) -> np.ndarray:
            return v / np.sqrt(np.maximum((v * v).sum(axis=-1, keepdims=True), EPSILON**2))

        return -(unit(t) * unit(y_pred)).sum(axis=-1)


del _K


# ---- a Python function as the loss ---------------------------------------------------------------
class LossFunctionWrapper(Loss):
    """A Python function ``fn(y_true, y_pred, **kwargs)`` as a loss (Keras's wrapper, and what
    ``compile(loss=fn)`` makes of a function). It runs per batch in Python on NumPy float32
    arrays of shape (batch, units), y_true and y_pred (a model checks and converts y as for
    the other non-sparse losses), so a model trained with it steps batch by batch from Python
    instead of running whole epochs in C++.

    ``fn`` returns the per-sample losses (shape (batch,) or (batch, ...), reduced like a Keras
    loss) or a scalar. fusednet does not trace NumPy code, so training needs the gradient from
    ``fn`` too: it returns ``(values, grad)``, grad = d sum(values) / d y_pred with y_pred's
    shape (the weights and the reduction are applied to it here). A function that returns values
    only can evaluate (``model.evaluate``, standalone calls) but not train: ``fit`` raises
    TypeError then. Metrics in fit are the Net's, computed from an inference pass of each batch.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: str = "sum_over_batch_size",
        name: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
        super().__init__(False, reduction, name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self.fn_kwargs = kwargs

    def get_config(self) -> dict[str, Any]:
        return {"fn": self.fn, "reduction": self.reduction, "name": self.name, **self.fn_kwargs}

    def spec(self) -> _core.LossSpec:
        # The Net only runs the metrics for this loss (mse is a stand-in it never reports).
        return _core.LossSpec(MSE)

    def _evaluate(
        self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike
    ) -> tuple[np.ndarray, Optional[np.ndarray]]:
        out = self.fn(y_true, y_pred, **self.fn_kwargs)
        if isinstance(out, tuple):
            if len(out) != 2:
                raise TypeError(
                    f"{self.name}: expected the loss values or (values, grad), got a tuple of "
                    f"{len(out)}"
                )
            return np.asarray(out[0], np.float64), np.asarray(out[1], np.float64)
        return np.asarray(out, np.float64), None

    def __call__(
        self,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: Optional[npt.ArrayLike] = None,
    ) -> LossValue:
        rec = _recorded.lookup_output(y_pred)  # a GradientTape's model output: value and grad
        if rec is not None:
            return rec.loss(self, y_true, sample_weight)
        values, _ = self._evaluate(y_true, y_pred)
        return self._reduce_any(values, sample_weight)[0]

    def _reduce_any(
        self, values: np.ndarray, sample_weight: Optional[npt.ArrayLike]
    ) -> tuple[Any, np.ndarray]:
        """(reduced value, factor per element of values that its gradient gets)."""
        if values.ndim == 0:
            return LossValue(float(values)), np.ones(())
        w = np.ones(len(values))
        if sample_weight is not None:
            w = np.asarray(sample_weight, np.float64).reshape(-1)
        wv = w.reshape((-1,) + (1,) * (values.ndim - 1)) * np.ones_like(values)
        total = (values * wv).sum()
        if self.reduction in (None, "none"):
            return (values * wv).astype(np.float32), wv
        if self.reduction == "sum":
            return LossValue(total), wv
        denom = wv.sum() if self.reduction == "mean_with_sample_weight" else values.size
        denom = denom if denom else 1.0
        return LossValue(total / denom), wv / denom

    def value_and_grad(
        self,
        y_true: npt.ArrayLike,
        y_pred: npt.ArrayLike,
        sample_weight: Optional[npt.ArrayLike] = None,
    ) -> tuple[LossValue, np.ndarray]:
        """(reduced loss, float32 gradient w.r.t. y_pred) of one batch, for the training loop."""
        values, grad = self._evaluate(y_true, y_pred)
        if grad is None:
            raise TypeError(
                f"{self.name}: training with a Python loss needs its gradient: return "
                f"(values, d sum(values) / d y_pred) from the function (see "
                f"fusednet.losses.LossFunctionWrapper)"
            )
        if grad.shape != np.shape(y_pred):
            raise ValueError(
                f"{self.name}: expected the gradient in y_pred's shape {np.shape(y_pred)}, "
                f"got {grad.shape}"
            )
        value, factor = self._reduce_any(values, sample_weight)
        if self.reduction in (None, "none"):  # a model averages unreduced losses, as Keras
            value = LossValue(float(np.sum(value)) / max(np.size(value), 1))
            factor = factor / max(np.size(values), 1)
        if values.ndim >= 1:  # every value of row i carries w_i / denominator, and so its gradient
            factor = factor.reshape(len(values), -1)[:, :1]
        return value, (grad * factor).astype(np.float32)

    def __repr__(self) -> str:
        return f"LossFunctionWrapper({self.name})"


_CLASSES = (
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Huber,
    LogCosh,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    KLDivergence,
    Poisson,
    CosineSimilarity,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
_ALIASES = {
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError,
    "huber": Huber,
    "logcosh": LogCosh,
    "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
}
_REGISTRY: Registry[Loss] = Registry(
    "loss",
    Loss,
    _CLASSES,
    names={**_ALIASES, **{c.name: c for c in _CLASSES}},
    expected="a fusednet.losses.Loss",
)
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize


def get(identifier: Any, name_of_arg: Optional[str] = None) -> Loss:
    """A Loss from "mse", "mae", "binary_crossentropy", ..., a class name, a Loss, or a Python
    function (wrapped in a LossFunctionWrapper)."""
    if (
        callable(identifier)
        and not isinstance(identifier, (Loss, type))
        and not isinstance(identifier, str)
    ):
        return LossFunctionWrapper(identifier)
    return _REGISTRY.get(identifier, name_of_arg)
