"""Keras's ``keras.utils`` helpers that scripts use with a model: ``to_categorical``,
``set_random_seed``, and ``PyDataset`` (alias ``Sequence``: batches fed from Python to fit,
evaluate and predict; see ``fusednet.model._pydata``)."""

from __future__ import annotations

import numbers
import random
from typing import Optional

import numpy as np
import numpy.typing as npt

from .model._pydata import PyDataset

__all__ = ["to_categorical", "set_random_seed", "PyDataset", "Sequence"]

Sequence = PyDataset  # Keras 3 keeps the old name as an alias


def to_categorical(x: npt.ArrayLike, num_classes: Optional[int] = None) -> np.ndarray:
    """Class labels as one-hot float32 rows (Keras ``to_categorical``).

    ``x`` holds integer labels of any shape; a trailing axis of size 1 is dropped first (as
    Keras does for ``(n, 1)`` label columns). The result has shape ``x.shape + (num_classes,)``;
    ``num_classes`` defaults to ``max(x) + 1``. Labels must be in ``[0, num_classes)`` (Keras
    does not check and wraps negatives; here they are an error).
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"x: expected integer class labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise ValueError("x: expected integer class labels, got non-integer values")
    labels = arr.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes: expected an int, got {type(num_classes).__name__}")
    num_classes = int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"x: labels must be in [0, {num_classes}) for num_classes={num_classes}, got "
            f"labels in [{int(labels.min())}, {int(labels.max())}]"
        )
    out = np.zeros(labels.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, labels[..., None], 1.0, axis=-1)
    return out


def set_random_seed(seed: int) -> None:
    """Seeds Python's ``random``, NumPy's global generator and fusednet's model seeds (Keras
    ``set_random_seed``): after it, a ``Sequential(...)`` built without ``seed=`` draws the same
    seed each run, so its initial weights, dropout masks and shuffles repeat."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed: expected an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed}")
    from .model import _inputs  # the model seeds come from here

    random.seed(int(seed))
    np.random.seed(int(seed) % (1 << 32))  # noqa: NPY002 (Keras seeds NumPy's global state)
    _inputs.seed_model_seeds(int(seed))
