"""``EarlyStopping``: stop fit when a monitored value has stopped improving."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from . import _monitor
from .base import Callback
from .progbar import _print

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs (Keras 3).

    Improvement means beating the best value so far by more than ``min_delta`` (downwards for
    ``mode="min"``, upwards for ``"max"``; ``"auto"`` picks max for accuracy-like names, min
    otherwise). With ``baseline``, the patience counter only resets on epochs that also beat the
    baseline. Epochs before ``start_from_epoch`` are ignored. With ``restore_best_weights`` the
    weights of the best epoch are put back at the end of training (``model.set_weights``).
    After training: ``stopped_epoch`` (0 if it never stopped), ``best``, ``best_epoch``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: Optional[float] = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(
                f"monitor: expected a log key such as 'val_loss', got {type(monitor).__name__}"
            )
        self.monitor = monitor
        self.min_delta = abs(_monitor.check_real(min_delta, "min_delta"))
        self.patience = _monitor.check_int(patience, "patience")
        self.verbose = verbose
        self.mode = _monitor.monitor_mode(mode, monitor)
        self.baseline = None if baseline is None else _monitor.check_real(baseline, "baseline")
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _monitor.check_int(start_from_epoch, "start_from_epoch")
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None
        self._warned = False

    def _is_improvement(self, value: float, reference: Optional[float]) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._reset()  # an instance can serve several fits

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        current = _monitor.monitor_value(self, logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Nothing better seen yet: the current weights are the best.
            self.best_weights = _copy_weights(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = _copy_weights(self.model)
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


def _copy_weights(model: Any) -> list[np.ndarray]:
    return [np.array(w, copy=True) for w in model.get_weights()]
