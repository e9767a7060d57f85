"""``TerminateOnNaN``: stop fit when the loss becomes NaN or infinite."""

from __future__ import annotations

import math
from typing import Any, Optional

from .base import Callback
from .progbar import _print

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stops training at the first batch whose loss is NaN or infinite (Keras's behaviour): its
    presence makes fit's C++ epoch loop check each batch's loss and stop after that batch (its
    update applied); the epoch then ends with that batch and its logs, and training stops. It
    never asks for batch hooks itself, so fit keeps running whole epochs in C++. To keep the last
    finite weights as well, pass ``fit(..., restore_on_nan=True)``."""

    _stops_on_nan = True  # read by fit: the C++ loop watches the batch losses

    def _implements_train_batch_begin(self) -> bool:
        return False

    def _implements_train_batch_end(self) -> bool:
        return False

    def _check(self, logs, where):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            _print(f"{where}: Invalid loss, terminating training")
            self.model.stop_training = True

    def on_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._check(logs, f"Batch {batch}")

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if not getattr(self.model, "stop_training", False):
            self._check(logs, f"Epoch {epoch + 1}")
