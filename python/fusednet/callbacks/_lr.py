"""The optimizer's learning rate as the learning-rate callbacks read and set it (Keras 3:
``model.optimizer.learning_rate``; fit reads it again at each epoch begin)."""

from __future__ import annotations

import math
import numbers
from typing import Any

__all__ = ["get_lr", "set_lr"]


def _optimizer(model: Any, who: str) -> Any:
    opt = getattr(model, "optimizer", None)
    if opt is None or not hasattr(opt, "learning_rate"):
        raise ValueError(
            f"{who}: the model has no optimizer with a learning_rate; compile it first"
        )
    return opt


def get_lr(model: Any, who: str) -> float:
    """The optimizer's learning rate; a schedule cannot be read or changed per epoch (Keras
    raises too: a schedule's rate is not settable)."""
    lr = _optimizer(model, who).learning_rate
    if not isinstance(lr, numbers.Real):
        raise TypeError(
            f"{who}: the optimizer's learning_rate is a schedule ({type(lr).__name__}), not a "
            f"float; {who} needs an optimizer created with a float learning_rate"
        )
    return float(lr)


def set_lr(model: Any, value: float, who: str) -> None:
    get_lr(model, who)  # same check: never silently replace a schedule
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{who}: learning rate must be a finite number >= 0, got {value!r}")
    _optimizer(model, who).learning_rate = v
