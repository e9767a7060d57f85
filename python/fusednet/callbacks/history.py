"""``History``: each epoch's logs, as fit returns them (``model.history``)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .base import Callback

__all__ = ["History"]


def _scalar(value: Any) -> Any:
    """A NumPy scalar or 0-d array as a Python number, so History holds plain floats."""
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return value.item()
    return value


class History(Callback):
    """Records each epoch's logs: ``history["loss"][i]`` is epoch ``epoch[i]``'s loss.
    fit always adds one, returns it, and sets ``model.history`` to it."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_scalar(v))
        if self.model is not None:
            self.model.history = self
