"""Keras 3's weight regularizers: ``L1``, ``L2``, ``L1L2`` and the names "l1", "l2", "l1_l2".

``Dense(kernel_regularizer=, bias_regularizer=)`` adds ``l1 * sum(|w|) + l2 * sum(w**2)`` of
that variable to the loss of every batch (the loss ``fit`` and ``evaluate`` report) and its
gradient ``l1 * sign(w) + 2 * l2 * w`` to the gradient arena before each training update, in the
C++ epoch (the penalty summed in double in a fixed order). ``apply_gradients`` takes the
gradients it is given, as Keras's does. A name gives the class with Keras 3's defaults (``"l1_l2"``
is ``L1L2()``: both 0, as in Keras 3).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Union

import numpy as np

from ._registry import Registry

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "serialize", "deserialize"]


def _factor(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return v


class Regularizer:
    """Base: a penalty ``l1 * sum(|x|) + l2 * sum(x**2)`` (the native loop's form)."""

    l1 = 0.0
    l2 = 0.0

    def __call__(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.sum(np.abs(x)) + self.l2 * np.sum(x * x))

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class L1L2(Regularizer):
    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor(l1, "l1")

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor(l2, "l2")

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


_REGISTRY: Registry[Regularizer] = Registry(
    "regularizer",
    Regularizer,
    (L1, L2, L1L2),
    names={"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2},
    expected="a fusednet.regularizers.Regularizer",
)
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize


def get(identifier: Union[str, dict, Regularizer, None], name: str = "regularizer"):
    """None, or a Regularizer from a name, a serialized dict or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return _REGISTRY.get(identifier, name)
