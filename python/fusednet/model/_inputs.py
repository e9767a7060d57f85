"""Checks and coercion of what the model's entry points are given, before anything reaches C++.

Bad input gets a ValueError or TypeError that names the argument, what was expected and what
came. Arrays come out as the Net takes them: C-contiguous float32 (int64 class labels for sparse
categorical cross-entropy), finite, with the sample counts and widths of the model.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _core
from .. import losses as _losses
from .._arrays import host_array

__all__ = [
    "F32",
    "int_arg",
    "new_seed",
    "batch_size",
    "verbose",
    "samples",
    "features",
    "targets",
    "sample_weights",
    "validation_sets",
]

F32 = np.dtype(np.float32)


def int_arg(value, name, lo):
    if type(value) is int and value >= lo:  # the usual case, without the ABC check below
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < lo:
        raise ValueError(f"{name}: expected an int >= {lo}, got {value}")
    return int(value)


_seed_source = None  # set by fusednet.utils.set_random_seed: model seeds repeat run to run


def seed_model_seeds(seed):
    global _seed_source
    _seed_source = np.random.default_rng(seed)


def new_seed():
    if _seed_source is not None:
        return int(_seed_source.integers(0, 1 << 63))
    return int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)


def batch_size(value):
    """Keras's default 32 for None."""
    if value is None:
        return 32
    return int_arg(value, "batch_size", 1)


def steps(value):
    """evaluate / predict's ``steps``: None (all batches) or a positive int."""
    if value is None:
        return None
    return int_arg(value, "steps", 1)


def verbose(value):
    """0, 1 or 2 ('auto' is 1)."""
    if value == "auto":
        return 1
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {value!r}")
    return value


def _numbers(value, name, expected):
    """NumPy, DLPack (a CUDA array is copied to host: the Net moves data to its device itself)
    and buffers, as a NumPy array over the same memory where it can be."""
    arr = value if isinstance(value, np.ndarray) else host_array(value, name, copy_to_host=True)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected {expected}, got dtype {arr.dtype}")
    return arr


def _finite_f32(arr, name):
    arr = np.ascontiguousarray(arr, dtype=F32)
    if not arr.flags.aligned:  # float32 at an odd address: the Net reads aligned floats only
        arr = arr.copy()
    if not _core.all_finite(arr):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


def samples(x, name="x", width=None):
    """x as a 2-D array of real numbers (samples, features), not yet converted; a 1-D x is one
    feature per sample when the model's input `width` is 1. `width` may be the model's N-D input
    shape (a tuple, ``Input(shape=(28, 28))``): x of shape (n, *shape) is then flattened to
    (n, prod(shape)) in C order, as Keras's Flatten."""
    if x is None:
        raise ValueError(f"{name}: expected an array of samples, got None")
    arr = _numbers(x, name, "an array of real numbers")
    if isinstance(width, tuple):
        if arr.ndim >= 2 and tuple(arr.shape[1:]) == width:
            arr = arr.reshape(len(arr), -1)
        elif arr.ndim != 2:
            raise ValueError(
                f"{name}: expected an array of shape (samples, {', '.join(map(str, width))}), "
                f"got shape {arr.shape}"
            )
        width = math.prod(width)
    if arr.ndim == 1 and width == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (samples, features), got shape {arr.shape}")
    return arr


def features(x, width, name="x"):
    """x as the Net's input for a model of input `width`: (n, width) float32."""
    arr = samples(x, name, width)
    if isinstance(width, tuple):
        width = math.prod(width)
    if arr.shape[1] != width:
        raise ValueError(
            f"{name}: expected {width} features per sample (the model's input "
            f"width), got shape {arr.shape}"
        )
    return _finite_f32(arr, name)


def targets(y, n, loss, units, name="y"):
    """y for `n` samples as `loss` needs it on a model with `units` outputs: int64 labels (n,)
    for sparse categorical cross-entropy, else float32 (n, units)."""
    if y is None:
        raise ValueError(f"{name}: expected targets, got None")
    arr = _numbers(y, name, "an array of numbers")
    if len(arr) != n:
        raise ValueError(f"{name}: x has {n} samples but {name} has {len(arr)}")
    if loss.kind == _losses.SPARSE_CE:
        return _labels(arr, n, units, name)
    if arr.ndim == 1 and units == 1:
        arr = arr.reshape(-1, 1)
    if loss.kind == _losses.CATEGORICAL_CE and arr.ndim == 1:
        raise ValueError(
            f"{name}: categorical_crossentropy expects one-hot targets of shape "
            f"({n}, {units}), got integer-like shape {arr.shape}; use "
            f"sparse_categorical_crossentropy for class labels"
        )
    if arr.ndim != 2 or arr.shape[1] != units:
        raise ValueError(f"{name}: expected targets of shape ({n}, {units}), got {arr.shape}")
    return loss._native_targets(_finite_f32(arr, name))  # label smoothing, hinge's -1/1


def _labels(arr, n, units, name):
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: sparse_categorical_crossentropy expects integer "
            f"labels of shape ({n},), got shape {arr.shape}"
        )
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: contains NaN or inf")
        if not (arr == np.round(arr)).all():
            raise ValueError(
                f"{name}: sparse_categorical_crossentropy expects integer "
                f"class labels, got non-integer values"
            )
    labels = np.ascontiguousarray(arr, dtype=np.int64)
    if not labels.flags.aligned:  # int64 at an odd address: the Net reads aligned ones only
        labels = labels.copy()
    if n:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= units:
            hint = (
                "; for labels {0, 1} with one output unit use binary_crossentropy"
                if units == 1
                else ""
            )
            raise ValueError(
                f"{name}: labels must be in [0, {units}) for the model's "
                f"{units} output units, got labels in [{lo}, {hi}]{hint}"
            )
    return labels


def sample_weights(sample_weight, n, name="sample_weight"):
    """None, or one float32 weight per sample (n,)."""
    if sample_weight is None:
        return None
    sw = _numbers(sample_weight, name, "numbers")
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = sw.reshape(-1)
    if sw.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},), got {sw.shape}")
    return _finite_f32(sw, name)


def validation_sets(validation_data, validation_split, train, loss, width, units):
    """fit's training and validation sets, each ``(x, y, sample_weight)`` (the validation set
    ``(None, None, None)`` without one), from the prepared training set `train` and fit's
    ``validation_data`` or ``validation_split`` (the LAST fraction of `train`, as Keras)."""
    x, y, sw = train
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"validation_split: expected a number in [0, 1), got {validation_split!r}")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data: expected (x_val, y_val) or (x_val, y_val, sample_weight_val)"
            )
        xv = features(validation_data[0], width, "validation_data x")
        yv = targets(validation_data[1], len(xv), loss, units, "validation_data y")
        swv = None
        if len(validation_data) == 3:
            swv = sample_weights(validation_data[2], len(xv), "validation_data sample_weight")
        if len(xv) == 0:
            return train, (None, None, None)
        return train, (xv, yv, swv)
    if not validation_split:
        return train, (None, None, None)
    n = len(x)
    split = math.floor(n * (1.0 - validation_split))
    if split < 1 or split >= n:
        raise ValueError(
            f"validation_split={validation_split} leaves no training or no "
            f"validation samples out of {n}"
        )
    # Contiguous slices, no copies.
    return (
        (x[:split], y[:split], None if sw is None else sw[:split]),
        (x[split:], y[split:], None if sw is None else sw[split:]),
    )
