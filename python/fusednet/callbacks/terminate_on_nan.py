"""``TerminateOnNaN``: stop fit when the loss becomes NaN or infinite."""

from __future__ import annotations

import math
from typing import Any, Optional

from .base import Callback
from .progbar import _print

__all__ = ["TerminateOnNaN"]


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite. Checked at each batch end when the
    model calls batch hooks anyway, and at each epoch end; it never asks for batch hooks itself,
    so fit keeps running whole epochs in C++."""

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
