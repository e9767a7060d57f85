"""Keras metrics: names and objects for ``compile(metrics=[...])``, and stateful metric objects.

Every metric is a Keras 3 class with its arguments, defaults and result (``keras.metrics``):
``update_state(y_true, y_pred, sample_weight=None)``, ``result()``, ``reset_state()``, and a call
that does the first two. ``compile`` takes the objects or Keras's string names (``"auc"``,
``"precision"``, ``"mape"``, ``"top_k_categorical_accuracy"``, ...); a string's log key is the
string, an object's its ``name``.

Where they run. A compiled metric runs inside the C++ epoch, per batch, on the batch's model
outputs (after the output activation), on the CPU and on CUDA alike:

- metrics that are a mean over samples (the accuracies, top-k accuracies, MAE, MSE, RMSE, MAPE)
  add one sum per batch;
- AUC, Precision and Recall add confusion counts per threshold, F1Score per-class counts, R2Score
  per-column sums: a small vector per batch (kernels/math/metric.h).

The batches' states are added in batch order and turned into the result once (net/spec.cpp
``metric_results``), so a metric over an epoch is that of all its samples -- also when batches
come from a PyDataset, whose per-batch states are added the same way. The metric objects run
the same kernels on the CPU (``_core.metric_state``), with sample weights, and the same result.

Differences from Keras, on purpose: states are float64 (Keras keeps float32 variables, whose
counts stop being exact past 2**24); compiled metrics are unweighted (Keras's ``metrics``; its
``weighted_metrics`` are not provided). Not provided: AUC ``label_weights`` without
``multi_label`` and ``SparseTopKCategoricalAccuracy(from_sorted_ids=True)``.

"accuracy" picks the kind from the loss as Keras does: binary accuracy (threshold 0.5) for binary
cross-entropy, sparse categorical for sparse labels, categorical for one-hot targets; with mse,
binary for a 1-unit output, else categorical.
"""

from __future__ import annotations

import re

import numpy as np

from . import _core
from . import losses as _losses

__all__ = [
    "Metric",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "RootMeanSquaredError",
    "MeanAbsolutePercentageError",
    "AUC",
    "Precision",
    "Recall",
    "F1Score",
    "FBetaScore",
    "R2Score",
    "get",
    "serialize",
    "deserialize",
    "resolve",
    "KNOWN",
]

_M = _core.MetricKind
BINARY_ACCURACY, SPARSE_ACCURACY, CATEGORICAL_ACCURACY, MAE, MSE = (
    _M.binary_accuracy,
    _M.sparse_categorical_accuracy,
    _M.categorical_accuracy,
    _M.mean_absolute_error,
    _M.mean_squared_error,
)
_SPARSE_KINDS = (_M.sparse_categorical_accuracy, _M.sparse_top_k_categorical_accuracy)
_EPSILON = 1e-7  # Keras's backend.epsilon()
_NEG_INF = -1e10  # Keras's metrics_utils.NEG_INF


def _snake(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _prepare(y_true, y_pred, sample_weight, sparse):
    """Arrays as the kernels take them: y_pred (n, cols) float32; y_true int64 (n,) labels
    (sparse) or float32 like y_pred; sample_weight None or float32 (n,)."""
    p = np.asarray(y_pred, dtype=np.float32)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2:
        raise ValueError(f"y_pred: expected (samples, outputs) or (samples,), got shape {p.shape}")
    n = p.shape[0]
    if sparse:
        t = np.asarray(y_true)
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.shape != (n,):
            raise ValueError(f"y_true: expected {n} integer labels, got shape {t.shape}")
        t = np.ascontiguousarray(t, dtype=np.int64)
    else:
        t = np.asarray(y_true, dtype=np.float32)
        if t.ndim == 1 and p.shape[1] == 1:
            t = t[:, None]
        if t.shape != p.shape:
            raise ValueError(f"y_true: expected shape {p.shape} (as y_pred), got {t.shape}")
        t = np.ascontiguousarray(t)
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float32)
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.ndim == 1 and p.shape[1] > 1 and w.shape == (p.shape[1],) and n == 1:
            w = w[None, :]
        shape = p.shape if w.ndim == 2 else (n,)
        try:
            w = np.ascontiguousarray(np.broadcast_to(w, shape), dtype=np.float32)
        except ValueError:
            raise ValueError(
                f"sample_weight: expected one weight per sample ({n},), got shape {w.shape}"
            ) from None
    return t, np.ascontiguousarray(p), w


class Metric:
    """Keras's stateful metric (``keras.metrics.Metric``): ``update_state`` adds a batch,
    ``result`` gives the metric of every batch since ``reset_state``."""

    _kind = None
    _vector_result = False  # result() is an array (one value per class / threshold)

    def __init__(self, name=None, dtype=None):
        self.name = name if name is not None else _snake(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    # what the kernels need; cols: the outputs per sample
    def _spec(self, cols):
        return _core.MetricSpec(self._kind)

    def _threshold(self):
        return 0.5

    def reset_state(self):
        self._state, self._count, self._cols = None, 0.0, None

    # Keras flattens the inputs of this metric (so per-element sample weights can be taken as
    # one-column rows).
    _flattens = False

    def _rows_of(self, y_pred):
        """Keras reads a 1-D y_pred of a per-row metric (top_k) as one row."""
        return y_pred

    def update_state(self, y_true, y_pred, sample_weight=None):
        sparse = self._kind in _SPARSE_KINDS
        if not sparse and np.ndim(y_pred) == 1 and self._rows_of(y_pred) is not y_pred:
            y_true, y_pred = np.reshape(y_true, (1, -1)), np.reshape(y_pred, (1, -1))
        t, p, w = _prepare(y_true, y_pred, sample_weight, sparse)
        if w is not None and w.ndim == 2:  # one weight per element
            if not self._flattens:
                raise ValueError(
                    f"sample_weight: {type(self).__name__} takes one weight per sample, got "
                    f"shape {w.shape}"
                )
            if self._cols is not None and self._cols != 1:
                raise ValueError("sample_weight: per-element weights after per-sample updates")
            t, p, w = t.reshape(-1, 1), p.reshape(-1, 1), w.reshape(-1)
        elif self._flattens and self._cols == 1 and p.shape[1] != 1:
            t, p = t.reshape(-1, 1), p.reshape(-1, 1)
            w = None if w is None else np.ascontiguousarray(np.repeat(w, p.shape[0] // len(w)))
        cols = p.shape[1]
        if self._cols is not None and cols != self._cols:
            raise ValueError(f"y_pred: expected {self._cols} outputs per sample, got {cols}")
        spec = self._spec(cols)
        state = _core.metric_state(spec, t, p, w, self._threshold())
        self._state = state if self._state is None else self._state + state
        self._count += float(len(p)) if w is None else float(np.sum(w, dtype=np.float64))
        self._cols = cols

    def result(self):
        if self._state is None:
            return np.zeros(0) if self._vector_result else 0.0
        values = _core.metric_results(
            [self._spec(self._cols)], self._state, self._count, self._cols
        )
        return np.asarray(values) if self._vector_result else float(values[0])

    def __call__(self, y_true, y_pred, sample_weight=None):
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class BinaryAccuracy(Metric):
    _kind = _M.binary_accuracy

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def _threshold(self):
        return self.threshold

    def _spec(self, cols):
        s = _core.MetricSpec(self._kind)
        s.threshold = self.threshold
        return s

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    _kind = _M.categorical_accuracy

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class SparseCategoricalAccuracy(Metric):
    _kind = _M.sparse_categorical_accuracy

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name, dtype)


class MeanAbsoluteError(Metric):
    _kind = _M.mean_absolute_error

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(name, dtype)


class MeanSquaredError(Metric):
    _kind = _M.mean_squared_error

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(name, dtype)


class RootMeanSquaredError(Metric):
    """sqrt of the mean of (y_pred - y_true)**2 over every element."""

    _kind = _M.root_mean_squared_error

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name, dtype)


class MeanAbsolutePercentageError(Metric):
    """100 * mean of |y_true - y_pred| / max(|y_true|, 1e-7)."""

    _kind = _M.mean_absolute_percentage_error

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(name, dtype)


def _k_arg(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected an integer >= 1, got {k!r}")
    return int(k)


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot target's class is among the k highest predictions (ties count
    in, as Keras's in_top_k)."""

    _kind = _M.top_k_categorical_accuracy

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        self.k = _k_arg(k)
        super().__init__(name, dtype)

    def _spec(self, cols):
        s = _core.MetricSpec(self._kind)
        s.k = self.k
        return s

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the k highest predictions."""

    _kind = _M.sparse_top_k_categorical_accuracy

    def __init__(
        self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False
    ):
        if from_sorted_ids:
            raise ValueError("from_sorted_ids=True is not supported: give the scores")
        super().__init__(k, name, dtype)

    def get_config(self):
        return {**super().get_config(), "from_sorted_ids": False}


def _evenly(thresholds):
    """Keras's metrics_utils.is_evenly_distributed_thresholds."""
    t = np.asarray(thresholds, dtype=np.float64)
    if len(t) < 3:
        return False
    even = np.arange(len(t), dtype=np.float32) / (len(t) - 1)
    return bool(np.allclose(t, even, atol=_EPSILON))


def _thresholds_arg(thresholds, default):
    if thresholds is None:
        return [float(default)]
    ts = [thresholds] if np.isscalar(thresholds) else list(thresholds)
    bad = [t for t in ts if t is None or not 0 <= t <= 1]
    if bad or not ts:
        raise ValueError(f"thresholds: values must be in [0, 1], got {thresholds!r}")
    return [float(t) for t in ts]


class _PrecisionRecall(Metric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = None if top_k is None else _k_arg(top_k)
        if class_id is not None and (isinstance(class_id, bool) or int(class_id) < 0):
            raise ValueError(f"class_id: expected an integer >= 0, got {class_id!r}")
        self.class_id = None if class_id is None else int(class_id)
        self.thresholds = _thresholds_arg(thresholds, 0.5 if top_k is None else _NEG_INF)
        self._vector_result = len(self.thresholds) > 1
        self._flattens = top_k is None and class_id is None
        super().__init__(name, dtype)

    def _rows_of(self, y_pred):
        return y_pred if self.top_k is None else None

    def _spec(self, cols):
        if self.class_id is not None and self.class_id >= cols:
            raise ValueError(f"class_id: {self.class_id} is not a column of {cols} outputs")
        s = _core.MetricSpec(self._kind)
        s.thresholds = self.thresholds
        s.evenly = _evenly(self.thresholds)
        s.top_k = self.top_k or 0
        s.class_id = -1 if self.class_id is None else self.class_id
        return s

    def get_config(self):
        return {
            **super().get_config(),
            "thresholds": self.init_thresholds,
            "top_k": self.top_k,
            "class_id": self.class_id,
        }


class Precision(_PrecisionRecall):
    """tp / (tp + fp) with predictions > threshold (default 0.5; with top_k, each row's top k);
    a list of thresholds gives one value each."""

    _kind = _M.precision


class Recall(_PrecisionRecall):
    """tp / (tp + fn) with predictions > threshold (default 0.5; with top_k, each row's top k)."""

    _kind = _M.recall


_CURVES = {"ROC": 0, "PR": 1, "PRGAIN": 2}
_SUMMATIONS = {"interpolation": 0, "minoring": 1, "majoring": 2}


class AUC(Metric):
    """Area under the ROC or PR curve by Keras's thresholds: ``num_thresholds`` evenly spaced
    in [0, 1] (the ends nudged to -1e-7 and 1 + 1e-7), or ``thresholds``; predictions bucketed
    as Keras's optimized path does when the thresholds are evenly spaced; Riemann sum by
    ``summation_method`` (PR with 'interpolation': Davis & Goadrich)."""

    _kind = _M.auc

    def __init__(
        self,
        num_thresholds=200,
        curve="ROC",
        summation_method="interpolation",
        name=None,
        dtype=None,
        thresholds=None,
        multi_label=False,
        num_labels=None,
        label_weights=None,
        from_logits=False,
    ):
        curve_key = str(curve).upper()
        if curve_key not in _CURVES:
            raise ValueError(f"curve: expected one of 'ROC', 'PR', 'PRGAIN', got {curve!r}")
        summation_key = str(summation_method).lower()
        if summation_key not in _SUMMATIONS:
            raise ValueError(
                "summation_method: expected one of 'interpolation', 'minoring', 'majoring', "
                f"got {summation_method!r}"
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(_thresholds_arg(thresholds, 0.5))
            self.num_thresholds = len(inner) + 2
            self._evenly = _evenly([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or int(num_thresholds) <= 1:
                raise ValueError(f"num_thresholds: expected an integer > 1, got {num_thresholds!r}")
            self.num_thresholds = int(num_thresholds)
            inner = [
                (i + 1) * 1.0 / (self.num_thresholds - 1) for i in range(self.num_thresholds - 2)
            ]
            self._evenly = True
        self._thresholds = [0.0 - _EPSILON] + inner + [1.0 + _EPSILON]
        self.curve, self.summation_method = curve_key, summation_key
        self.multi_label = bool(multi_label)
        if num_labels is not None and not self.multi_label:
            raise ValueError("num_labels: needed only when multi_label is True")
        self.num_labels = num_labels
        if label_weights is not None and not self.multi_label:
            raise ValueError(
                "label_weights: supported with multi_label=True only (it weights the per-label "
                "areas)"
            )
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        self.from_logits = bool(from_logits)
        self._flattens = not self.multi_label
        super().__init__(name, dtype)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _spec(self, cols):
        if self.num_labels is not None and self.num_labels != cols:
            raise ValueError(f"num_labels: {self.num_labels} given, but y_pred has {cols} columns")
        if self.label_weights is not None and len(self.label_weights) != cols:
            raise ValueError(
                f"label_weights: expected {cols} weights (one per label), got "
                f"{len(self.label_weights)}"
            )
        s = _core.MetricSpec(self._kind)
        s.thresholds = self._thresholds
        s.evenly = self._evenly
        s.with_epsilon = True
        s.curve = _CURVES[self.curve]
        s.summation = _SUMMATIONS[self.summation_method]
        s.multi_label = self.multi_label
        s.label_weights = self.label_weights or []
        s.from_logits = self.from_logits
        return s

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": self.label_weights,
            "from_logits": self.from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config


_AVERAGES = {None: 0, "micro": 1, "macro": 2, "weighted": 3}


class FBetaScore(Metric):
    """Keras's F-beta score from per-class tp, fp, fn (predictions > threshold, or each row's
    maximum when threshold is None); average None (one per class), 'micro', 'macro' or
    'weighted'."""

    _kind = _M.f1_score

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in _AVERAGES:
            raise ValueError(
                f"average: expected one of None, 'micro', 'macro', 'weighted', got {average!r}"
            )
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"beta: expected a Python float > 0, got {beta!r}")
        if threshold is not None and (
            not isinstance(threshold, float) or not 0.0 < threshold <= 1.0
        ):
            raise ValueError(f"threshold: expected a Python float in (0, 1], got {threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self._vector_result = average is None
        super().__init__(name, dtype)

    def _spec(self, cols):
        s = _core.MetricSpec(self._kind)
        s.average = _AVERAGES[self.average]
        s.beta = self.beta
        s.has_threshold = self.threshold is not None
        s.threshold = 0.5 if self.threshold is None else self.threshold
        return s

    def get_config(self):
        return {
            **super().get_config(),
            "average": self.average,
            "beta": self.beta,
            "threshold": self.threshold,
        }


class F1Score(FBetaScore):
    """FBetaScore with beta = 1."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


_AGGREGATIONS = {None: 0, "uniform_average": 1, "variance_weighted_average": 2}


class R2Score(Metric):
    """Coefficient of determination per output column, aggregated by ``class_aggregation``
    (None: one per column); ``num_regressors`` > 0 gives the adjusted R2."""

    _kind = _M.r2_score

    def __init__(
        self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None
    ):
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "class_aggregation: expected one of None, 'uniform_average', "
                f"'variance_weighted_average', got {class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or int(num_regressors) < 0:
            raise ValueError(f"num_regressors: expected an integer >= 0, got {num_regressors!r}")
        self.class_aggregation = class_aggregation
        self.num_regressors = int(num_regressors)
        self._vector_result = class_aggregation is None
        super().__init__(name, dtype)

    def _spec(self, cols):
        s = _core.MetricSpec(self._kind)
        s.class_aggregation = _AGGREGATIONS[self.class_aggregation]
        s.num_regressors = self.num_regressors
        return s

    def get_config(self):
        return {
            **super().get_config(),
            "class_aggregation": self.class_aggregation,
            "num_regressors": self.num_regressors,
        }


_CLASSES = [
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    MeanAbsoluteError,
    MeanSquaredError,
    TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    RootMeanSquaredError,
    MeanAbsolutePercentageError,
    AUC,
    Precision,
    Recall,
    FBetaScore,
    F1Score,
    R2Score,
]
# Keras's names: class names, their snake_case, and the short aliases.
_BY_NAME = {c.__name__: c for c in _CLASSES}
_BY_NAME.update({_snake(c.__name__): c for c in _CLASSES})
_BY_NAME.update(
    {
        "mae": MeanAbsoluteError,
        "MAE": MeanAbsoluteError,
        "mse": MeanSquaredError,
        "MSE": MeanSquaredError,
        "mape": MeanAbsolutePercentageError,
        "MAPE": MeanAbsolutePercentageError,
        "AUC": AUC,
        "auc": AUC,
    }
)
KNOWN = ("accuracy", "acc") + tuple(sorted(_BY_NAME))


def get(identifier):
    """A metric object from a Keras name, a config dict ({"class_name", "config"}) or an
    object (returned as is). 'accuracy' needs the loss: see ``resolve``."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        cls = _BY_NAME.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"metrics: unknown metric class {identifier.get('class_name')!r}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_NAME.get(identifier.lower())
        if cls is None:
            raise ValueError(
                f"metrics: unknown metric '{identifier}'; expected one of "
                f"{', '.join(repr(k) for k in KNOWN)}"
            )
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    raise TypeError(
        f"metrics: expected metric names (str) or fusednet.metrics objects, got "
        f"{type(identifier).__name__}"
    )


def serialize(metric):
    """A string stays a string; an object becomes {"class_name", "config"}."""
    if isinstance(metric, str):
        return metric
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(config):
    return config if isinstance(config, str) else get(config)


def check_names(metrics):
    """The compile entries (names, config dicts, objects) as a list, validated (before the model
    is built): names stay strings, the rest become metric objects."""
    if metrics is None:
        return []
    if isinstance(metrics, (str, Metric, dict)):
        metrics = [metrics]
    out = []
    for m in metrics:
        if isinstance(m, str):
            if m.lower() not in ("accuracy", "acc"):
                get(m)  # raises for an unknown name
            out.append(m)
        else:
            out.append(get(m))
    return out


def log_names(entries):
    """The logs' keys: a string as given (Keras), an object's name."""
    return [m if isinstance(m, str) else m.name for m in entries]


def _accuracy_kind(loss, units):
    if loss.kind == _losses.BCE:
        return BINARY_ACCURACY
    if loss.kind == _losses.SPARSE_CE:
        return SPARSE_ACCURACY
    if loss.kind == _losses.CATEGORICAL_CE:
        return CATEGORICAL_ACCURACY
    return BINARY_ACCURACY if units == 1 else CATEGORICAL_ACCURACY


def _metric_object(entry, loss, units):
    if not isinstance(entry, str):
        return entry
    if entry.lower() in ("accuracy", "acc"):
        kind = _accuracy_kind(loss, units)
        return {
            BINARY_ACCURACY: BinaryAccuracy,
            SPARSE_ACCURACY: SparseCategoricalAccuracy,
            CATEGORICAL_ACCURACY: CategoricalAccuracy,
        }[kind](name=entry)
    metric = get(entry)
    metric.name = entry
    return metric


def metric_objects(entries, loss, units):
    """One metric object per compile entry (fresh for strings), checked against the loss."""
    objs = []
    for entry in entries:
        m = _metric_object(entry, loss, units)
        sparse = m._kind in _SPARSE_KINDS
        label = entry if isinstance(entry, str) else m.name
        if sparse and loss.kind != _losses.SPARSE_CE:
            raise ValueError(
                f"metrics: '{label}' needs integer labels, i.e. sparse_categorical_crossentropy"
            )
        if not sparse and loss.kind == _losses.SPARSE_CE:
            raise ValueError(
                f"metrics: '{label}' compares one value per output unit, but "
                f"sparse_categorical_crossentropy has integer labels; use 'accuracy'"
                f"{' or sparse_top_k_categorical_accuracy' if 'top_k' in label else ''}"
            )
        objs.append(m)
    return objs


def resolve(entries, loss, units):
    """The C++ net's metric specs (``_core.MetricSpec``), in the order of `entries`."""
    return [m._spec(units) for m in metric_objects(entries, loss, units)]


def split_results(flat, objects, units):
    """The net's concatenated metric results as one value per metric: a float, or an array for
    a metric whose result is a vector (F1Score(average=None), ...)."""
    out, at = [], 0
    for m in objects:
        w = _core.metric_result_width(m._spec(units), units)
        chunk = flat[at : at + w]
        at += w
        out.append(np.asarray(chunk, dtype=np.float64) if m._vector_result else float(chunk[0]))
    return out
