"""``BackupAndRestore``: resume an interrupted fit from its last backup."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from typing import Any, Optional, Union

from .base import Callback

__all__ = ["BackupAndRestore"]


class BackupAndRestore(Callback):
    """Backs up the training state in ``backup_dir`` after every epoch (or every ``save_freq``
    batches) and, when a fit starts and finds a backup there, restores it and continues from
    the epoch it recorded (Keras 3).

    Files: ``latest.weights.npz`` (``model.save_weights``: weights, optimizer state and the
    seeded shuffle / dropout counters, so a resumed fit trains bit-identically to one that was
    never interrupted, for epoch backups) and ``training_metadata.json`` (``{"epoch", "batch"}``:
    the epoch to start from). A batch backup restarts its epoch from the beginning, with the
    mid-epoch weights (as Keras). ``double_checkpoint=True`` keeps the previous backup as
    ``*.bkp`` and falls back to it when the latest cannot be read. At the end of a completed fit
    (``delete_checkpoint=True``) the backup files are deleted, and ``backup_dir`` too when that
    leaves it empty (Keras deletes the whole directory; here other files in it are kept).
    """

    def __init__(
        self,
        backup_dir: Union[str, os.PathLike[str]],
        save_freq: Union[str, int] = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (
            isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq < 1
        ):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                "Expected either 'epoch' or an integer value >= 1."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = self._weights_path + ".bkp"
        self._prev_training_metadata_path = self._training_metadata_path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def _implements_train_batch_begin(self) -> bool:
        return False

    def _implements_train_batch_end(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        try:
            self._load_model()
        except (OSError, ValueError, KeyError):
            # The latest backup is unreadable (killed mid-copy?): the previous one, if kept.
            if not os.path.exists(self._prev_weights_path):
                raise
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path, self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        if os.path.exists(self._weights_path):
            self.model.load_weights(self._weights_path)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path) as f:
                epoch = int(json.load(f)["epoch"])
            self.model._initial_epoch = epoch  # fit starts there (Keras's hand-over)
            self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.save_freq == "epoch":
            return
        # Keras's count: a batch index not above the last one seen starts a new epoch.
        add = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save_model()

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint:
            for src, dst in (
                (self._weights_path, self._prev_weights_path),
                (self._training_metadata_path, self._prev_training_metadata_path),
            ):
                if os.path.exists(src):
                    shutil.copyfile(src, dst)
        self.model.save_weights(self._weights_path)  # atomic: a crash keeps the old file
        tmp = self._training_metadata_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, f)
        os.replace(tmp, self._training_metadata_path)

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if not self.delete_checkpoint:
            return
        for path in (
            self._weights_path,
            self._training_metadata_path,
            self._prev_weights_path,
            self._prev_training_metadata_path,
        ):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)  # only when nothing else is in it
