"""``ModelCheckpoint``: save the model or its weights during fit, every epoch, every n
batches, or only when a monitored value improves."""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Union

import numpy as np

from . import _monitor
from .base import Callback
from .progbar import _print

__all__ = ["ModelCheckpoint"]


class ModelCheckpoint(Callback):
    """Saves the model (``model.save(path)``) or its weights (``model.save_weights(path)``)
    after every epoch, or every ``save_freq`` batches when ``save_freq`` is an int.

    ``filepath`` may hold format fields: ``{epoch:02d}`` (1-based, as printed), ``{batch}``
    (1-based, when saving per batch) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.fnet"``.
    With ``save_best_only`` it saves only when ``monitor`` beats the best value so far (or
    ``initial_value_threshold``); the mode is chosen as in :class:`EarlyStopping`.
    """

    main_rank_only = True  # data-parallel: rank 0 alone writes

    def __init__(
        self,
        filepath: Union[str, os.PathLike[str]],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: Union[str, int] = "epoch",
        initial_value_threshold: Optional[float] = None,
    ) -> None:
        super().__init__()
        filepath = os.fspath(filepath)
        if not isinstance(filepath, str) or not filepath:
            raise ValueError(f"filepath: expected a non-empty path, got {filepath!r}")
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _monitor.monitor_mode(mode, monitor)
        if save_freq != "epoch":
            if (
                isinstance(save_freq, bool)
                or not isinstance(save_freq, (int, np.integer))
                or save_freq < 1
            ):
                raise ValueError(
                    f"save_freq: expected 'epoch' or an int >= 1 (batches), got {save_freq!r}"
                )
            save_freq = int(save_freq)
        self.save_freq = save_freq
        self.initial_value_threshold = (
            None
            if initial_value_threshold is None
            else _monitor.check_real(initial_value_threshold, "initial_value_threshold")
        )
        # Kept across fits (as in Keras): continuing training never overwrites a better model.
        if self.initial_value_threshold is not None:
            self.best = self.initial_value_threshold
        else:
            self.best = math.inf if self.mode == "min" else -math.inf
        self._current_epoch = 0
        self._batches_since_save = 0
        self._warned = False

    def _implements_train_batch_begin(self) -> bool:
        return False

    def _implements_train_batch_end(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._batches_since_save = 0
        self._warned = False
        method = "save_weights" if self.save_weights_only else "save"
        if self.model is not None and not callable(getattr(self.model, method, None)):
            raise TypeError(
                f"ModelCheckpoint(save_weights_only={self.save_weights_only}) "
                f"needs model.{method}(path); {type(self.model).__name__} has none"
            )

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _file_path(self, epoch: int, batch: Optional[int], logs: dict[str, Any]) -> str:
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"filepath: cannot format {self.filepath!r} ({type(e).__name__}: "
                f"{e}); fields available: {', '.join(fields)}"
            ) from None

    def _save(self, epoch: int, batch: Optional[int], logs: dict[str, Any]) -> None:
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = _monitor.monitor_value(self, logs, "Checkpointing the best model")
            if current is None:
                return
            improved = current < self.best if self.mode == "min" else current > self.best
            if not improved:
                if self.verbose > 0:
                    _print(
                        f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}"
                    )
                return
            if self.verbose > 0:
                _print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            _print(f"Epoch {epoch + 1}: saving model to {path}")
        dirname = os.path.dirname(path)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
