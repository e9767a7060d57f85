"""``TensorBoard``: scalar event files of the training curves, for the TensorBoard UI.

Needs the ``tensorboard`` package (``pip install fusednet[tensorboard]``): it writes the event
files; TensorFlow is not needed.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Optional, Union

from . import _lr
from .base import Callback

__all__ = ["TensorBoard"]


def _writer_classes() -> tuple[Any, Any, Any]:
    try:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "fusednet.callbacks.TensorBoard needs the 'tensorboard' package to write event "
            "files: pip install tensorboard (or fusednet[tensorboard])"
        ) from e
    return EventFileWriter, Event, Summary


class _Writer:
    """One event file directory (``train`` or ``validation``), opened on first write."""

    def __init__(self, logdir: str, classes: tuple[Any, Any, Any]) -> None:
        self._logdir = logdir
        self._classes = classes
        self._file = None

    def scalar(self, tag: str, value: float, step: int) -> None:
        file_writer, event, summary = self._classes
        if self._file is None:
            os.makedirs(self._logdir, exist_ok=True)
            self._file = file_writer(self._logdir)
        value = summary.Value(tag=tag, simple_value=float(value))
        self._file.add_event(
            event(wall_time=time.time(), step=int(step), summary=summary(value=[value]))
        )

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoard(Callback):
    """Writes the logs as TensorBoard scalars (Keras 3's tags and layout):
    ``log_dir/train``: ``epoch_<name>`` per epoch (with ``epoch_learning_rate``, and
    ``epoch_steps_per_second`` when ``write_steps_per_second``), and ``batch_<name>`` every
    ``update_freq`` batches when ``update_freq`` is ``"batch"`` or an int (then fit calls
    Python per batch); ``log_dir/validation``: ``epoch_<name>`` of the ``val_`` logs and
    ``evaluation_<name>_vs_iterations`` at the optimizer's iteration count.

    Scalars only: ``histogram_freq``, ``write_images``, ``embeddings_freq`` and
    ``profile_batch`` must stay at their defaults (0 / False), and ``write_graph`` has no
    graph to write (a fusednet model has no TensorFlow graph) and is accepted but unused.
    """

    main_rank_only = True  # data-parallel: rank 0 alone writes

    def __init__(
        self,
        log_dir: Union[str, os.PathLike[str]] = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: Union[str, int] = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata: Optional[dict[str, str]] = None,
    ) -> None:
        super().__init__()
        classes = _writer_classes()  # fail at construction, not mid-fit
        for name, value in (
            ("histogram_freq", histogram_freq),
            ("write_images", write_images),
            ("profile_batch", profile_batch),
            ("embeddings_freq", embeddings_freq),
            ("embeddings_metadata", embeddings_metadata),
        ):
            if value:
                raise ValueError(
                    f"TensorBoard: {name}={value!r} is not supported (fusednet writes "
                    f"scalars only); leave it at its default"
                )
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                f"update_freq: expected 'epoch', 'batch' or an int >= 1, got {update_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.write_graph = write_graph
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self._train_writer = _Writer(os.path.join(self.log_dir, "train"), classes)
        self._val_writer = _Writer(os.path.join(self.log_dir, "validation"), classes)
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_start_iterations = 0

    def _implements_train_batch_begin(self) -> bool:
        return False

    def _implements_train_batch_end(self) -> bool:
        return self.update_freq != "epoch"

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._global_train_batch = 0

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_start_iterations = self._iterations()

    def _iterations(self) -> int:
        opt = getattr(self.model, "optimizer", None)
        return int(getattr(opt, "iterations", 0)) if opt is not None else 0

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self.update_freq == "epoch":
            return
        # The model calls this hook per batch, so the global count is exact.
        self._global_train_batch += 1
        if self._global_train_batch % self.update_freq == 0 and logs:
            for name, value in logs.items():
                self._train_writer.scalar(f"batch_{name}", value, self._global_train_batch)

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if logs and getattr(self.model, "optimizer", None) is not None:
            step = self._iterations()
            for name, value in logs.items():
                self._val_writer.scalar(f"evaluation_{name}_vs_iterations", value, step)
            self._val_writer.flush()  # evaluate() alone never reaches on_train_end's close

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        if "learning_rate" not in train_logs:
            # A schedule, or no optimizer: no rate to log.
            with contextlib.suppress(TypeError, ValueError):
                train_logs["learning_rate"] = _lr.get_lr(self.model, "TensorBoard")
        if self.write_steps_per_second:
            seconds = time.perf_counter() - self._epoch_start
            steps = self._iterations() - self._epoch_start_iterations
            train_logs["steps_per_second"] = steps / seconds if seconds > 0 else 0.0
        for name, value in train_logs.items():
            self._train_writer.scalar(f"epoch_{name}", value, epoch)
        for name, value in val_logs.items():
            self._val_writer.scalar(f"epoch_{name}", value, epoch)
        self._train_writer.flush()
        self._val_writer.flush()

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._train_writer.close()
        self._val_writer.close()
