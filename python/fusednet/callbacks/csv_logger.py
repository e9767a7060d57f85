"""``CSVLogger``: one CSV row per epoch."""

from __future__ import annotations

import collections.abc
import csv
import os
from typing import Any, Optional, Union

import numpy as np

from .base import Callback

__all__ = ["CSVLogger"]


def _cell(value: Any) -> Any:
    """Keras's handle_value: strings as they are, 1-D iterables as "[a, b]", numbers as is."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Writes ``epoch`` (0-based) and every log value (sorted by key) as one CSV row per epoch
    (Keras 3: same columns, ``csv.excel`` dialect with ``separator``). Columns are fixed by the
    first epoch; ``val_`` columns are added when the first epoch had none (validation_freq > 1)
    and a missing value is written ``NA``. ``append=True`` continues an existing file, writing
    the header only when the file was empty."""

    main_rank_only = True  # data-parallel: rank 0 alone writes

    def __init__(
        self, filename: Union[str, os.PathLike[str]], separator: str = ",", append: bool = False
    ) -> None:
        super().__init__()
        filename = os.fspath(filename)
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"filename: expected a non-empty path, got {filename!r}")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator: expected one character, got {separator!r}")
        self.sep = separator
        self.filename = filename
        self.append = bool(append)
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")  # noqa: SIM115 (closed at train end)
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend(f"val_{k}" for k in list(self.keys))
        if self.writer is None:

            class Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(
                self.csv_file, fieldnames=["epoch", *self.keys], dialect=Dialect
            )
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None
