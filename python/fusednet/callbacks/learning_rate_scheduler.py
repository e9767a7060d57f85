"""``LearningRateScheduler``: set the learning rate at each epoch from a function."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _lr
from .base import Callback
from .progbar import _print

__all__ = ["LearningRateScheduler"]


class LearningRateScheduler(Callback):
    """At each epoch begin sets the learning rate to ``schedule(epoch, lr)`` (0-based epoch,
    the current rate), or ``schedule(epoch)`` for a one-argument function (Keras 3). The result
    must be a float (Python or NumPy). Each epoch's logs get ``learning_rate``."""

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule: expected a function, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        lr = _lr.get_lr(self.model, "LearningRateScheduler")
        try:  # Keras's order: the two-argument form first, then the old one-argument form
            new_lr = self.schedule(epoch, lr)
        except TypeError:
            new_lr = self.schedule(epoch)
        if not isinstance(new_lr, (float, np.float32, np.float64)):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {new_lr!r}"
            )
        _lr.set_lr(self.model, new_lr, "LearningRateScheduler")
        if self.verbose > 0:
            _print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _lr.get_lr(self.model, "LearningRateScheduler")
