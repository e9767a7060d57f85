"""``ReduceLROnPlateau``: lower the learning rate when a monitored value stops improving."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _lr, _monitor
from .base import Callback
from .progbar import _print

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` (never below ``min_lr``) when ``monitor`` has
    not improved by more than ``min_delta`` for ``patience`` epochs; then waits ``cooldown``
    epochs before counting again (Keras 3). Each epoch's logs get ``learning_rate`` (the rate
    that epoch trained with). The new rate applies from the next epoch (fit runs epochs in C++).
    ``mode="auto"`` is chosen as in :class:`EarlyStopping`.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:  # Keras 3 accepts and ignores these; here a typo is an error
            raise TypeError(f"ReduceLROnPlateau: unexpected argument(s) {', '.join(kwargs)}")
        factor = _monitor.check_real(factor, "factor")
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.monitor = monitor
        self.factor = factor
        self.patience = _monitor.check_int(patience, "patience")
        self.verbose = verbose
        self.mode = _monitor.monitor_mode(mode, monitor)
        self.min_delta = abs(_monitor.check_real(min_delta, "min_delta"))
        self.cooldown = _monitor.check_int(cooldown, "cooldown")
        self.min_lr = _monitor.check_real(min_lr, "min_lr")
        self._reset()

    def _reset(self) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0
        self._warned = False

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_improvement(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < self.best
        return value - self.min_delta > self.best

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = {} if logs is None else logs
        old_lr = _lr.get_lr(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = old_lr
        current = _monitor.monitor_value(self, logs, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            # Keras compares with the float32 rate: a rate already at min_lr is left alone.
            if self.wait >= self.patience and old_lr > np.float32(self.min_lr):
                new_lr = max(old_lr * self.factor, self.min_lr)
                _lr.set_lr(self.model, new_lr, "ReduceLROnPlateau")
                if self.verbose > 0:
                    _print(
                        f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
                    )
                self.cooldown_counter = self.cooldown
                self.wait = 0
