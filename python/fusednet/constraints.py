"""Keras 3's weight constraints: ``MaxNorm``, ``NonNeg``, ``UnitNorm``, ``MinMaxNorm`` (and their
snake-case names).

``Dense(kernel_constraint=, bias_constraint=)`` projects the variable after every optimizer
update (fit, train_on_batch, apply_gradients), in the native step, after the EMA as in Keras's
``optimizer.apply``. The norms run over ``axis=0`` (Keras's default): each column of a Dense
kernel (in, units), a bias as a whole; other axes are refused. ``w * desired / (1e-7 + norm)``
with Keras's ``epsilon`` 1e-7; each column's norm is summed in double, rows in order.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Union

import numpy as np

from ._registry import Registry

__all__ = [
    "Constraint",
    "MaxNorm",
    "NonNeg",
    "UnitNorm",
    "MinMaxNorm",
    "get",
    "serialize",
    "deserialize",
]

_EPS = 1e-7


def _number(value, name: str, lo: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < lo:
        raise ValueError(f"{name}: expected a finite number >= {lo}, got {value!r}")
    return v


def _axis(axis) -> int:
    a = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if isinstance(a, bool) or not isinstance(a, numbers.Integral) or int(a) != 0:
        raise ValueError(
            f"axis: expected 0 (Keras's default: each column of a Dense kernel), got {axis!r}"
        )
    return 0


class Constraint:
    """Base; ``code`` is the native kind (csrc/kernels/math/optim.h's Constraint)."""

    code = -1
    min_value, max_value, rate = 0.0, 0.0, 1.0

    def __call__(self, w):
        """The projected copy of w (float64 NumPy, the native step's formula)."""
        w = np.asarray(w, dtype=np.float64)
        if self.code == 0:
            return w * (w >= 0)
        norms = np.sqrt(np.sum(w * w, axis=0, keepdims=True))
        if self.code == 1:
            desired = np.clip(norms, 0, self.max_value)
        elif self.code == 2:
            desired = np.ones_like(norms)
        else:
            desired = (
                self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
            )
        return w * (desired / (_EPS + norms))

    def _native(self) -> list[float]:
        return [float(self.code), 0.0, 0.0, 0.0, self.min_value, self.max_value, self.rate]

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Constraint:
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()})"


class NonNeg(Constraint):
    code = 0


class MaxNorm(Constraint):
    code = 1

    def __init__(self, max_value: float = 2.0, axis: Any = 0) -> None:
        self.max_value = _number(max_value, "max_value")
        self.axis = _axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class UnitNorm(Constraint):
    code = 2

    def __init__(self, axis: Any = 0) -> None:
        self.axis = _axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    code = 3

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0
    ) -> None:
        self.min_value = _number(min_value, "min_value")
        self.max_value = _number(max_value, "max_value")
        if self.max_value < self.min_value:
            raise ValueError(
                f"max_value: expected >= min_value ({self.min_value}), got {max_value!r}"
            )
        self.rate = _number(rate, "rate")
        if self.rate > 1.0:
            raise ValueError(f"rate: expected a number in [0, 1], got {rate!r}")
        self.axis = _axis(axis)

    def get_config(self) -> dict[str, Any]:
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


_REGISTRY: Registry[Constraint] = Registry(
    "constraint",
    Constraint,
    (NonNeg, MaxNorm, UnitNorm, MinMaxNorm),
    names={
        "non_neg": NonNeg,
        "nonneg": NonNeg,
        "max_norm": MaxNorm,
        "unit_norm": UnitNorm,
        "min_max_norm": MinMaxNorm,
    },
    expected="a fusednet.constraints.Constraint",
)
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize


def get(identifier: Union[str, dict, Constraint, None], name: str = "constraint"):
    """None, or a Constraint from a name, a serialized dict or an instance."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    return _REGISTRY.get(identifier, name)
