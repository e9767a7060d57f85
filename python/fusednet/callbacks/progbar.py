"""``ProgbarLogger``: fit's, evaluate's and predict's progress output on ``sys.stdout``, and
``_print``, which the other callbacks use so a message does not break an open bar.

The bar is tqdm's when tqdm is installed, else ``_PlainBar`` (carriage-return redraws).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional

try:  # optional: the progress bar falls back to a plain carriage-return bar without it
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - exercised by monkeypatching _tqdm to None
    _tqdm = None

from .base import Callback

__all__ = ["ProgbarLogger"]


def _print(message: str) -> None:
    """print() to sys.stdout that leaves an open progress bar intact (the bar of the epoch is
    still open while other callbacks' on_epoch_end run)."""
    if _tqdm is not None:
        _tqdm.write(message, file=sys.stdout)
        return
    if _PlainBar.mid_line:
        sys.stdout.write("\n")
        _PlainBar.mid_line = False
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _format_value(value) -> str:
    """Keras's Progbar format: 4 decimals, or scientific for tiny magnitudes."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"


def _format_logs(logs) -> str:
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())


class ProgbarLogger(Callback):
    """Progress output. ``verbose=1``: a progress bar per epoch (tqdm when installed, else a
    carriage-return bar) with batches done/total, ETA and the running loss and metrics.
    ``verbose=2``: one line per epoch, e.g.
    ``Epoch 3/10 - 0.12s - loss: 0.2345 - accuracy: 0.9100 - val_loss: 0.3012``.
    Writes to ``sys.stdout``; ``verbose=0`` prints nothing. Outside fit, evaluate and predict get
    a bar at verbose=1."""

    refresh_interval = 0.1  # seconds between redraws of the running values

    @property
    def _train_batch_end_interval(self):
        return self.refresh_interval

    def __init__(self, verbose: Optional[int] = None) -> None:
        super().__init__()
        if verbose not in (None, 0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1 or 2, got {verbose!r}")
        self._verbose_arg = verbose
        self.verbose = 1 if verbose is None else verbose
        self._in_fit = False
        self._bar = None
        self._epoch_start = 0.0
        self._test_start = 0.0

    def set_params(self, params):
        super().set_params(params)
        if self._verbose_arg is None and params and params.get("verbose") is not None:
            self.verbose = params["verbose"]

    def _implements_train_batch_begin(self) -> bool:
        return False

    def _implements_train_batch_end(self) -> bool:
        return self.verbose == 1

    def _implements_test_batch_hooks(self) -> bool:
        return self.verbose == 1 and not self._in_fit

    def _implements_predict_batch_hooks(self) -> bool:
        return self.verbose == 1

    # --- fit ------------------------------------------------------------------------------
    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._close_bar()
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self._epoch_start = time.perf_counter()
        if self.verbose == 1:
            epochs = (self.params or {}).get("epochs")
            desc = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
            self._open_bar(desc, (self.params or {}).get("steps"))

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self._bar is not None:
            self._bar.update_to(batch + 1, logs)

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        logs = logs or {}
        if self.verbose == 1:
            if self._bar is not None:
                steps = (self.params or {}).get("steps")
                if self._bar.done == 0 and steps:
                    self._bar.update_to(steps, None)  # the epoch ran without batch hooks
                self._bar.finish(logs)
                self._bar = None
        elif self.verbose == 2:
            epochs = (self.params or {}).get("epochs")
            head = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
            elapsed = time.perf_counter() - self._epoch_start
            parts = [head, f"{elapsed:.2f}s"]
            if logs:
                parts.append(_format_logs(logs))
            sys.stdout.write(" - ".join(parts) + "\n")
            sys.stdout.flush()

    # --- evaluate / predict outside fit ----------------------------------------------------
    def on_test_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self._in_fit:
            return
        self._test_start = time.perf_counter()
        if self.verbose == 1:
            self._open_bar("Evaluate", (self.params or {}).get("steps"))

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self._bar is not None and not self._in_fit:
            self._bar.update_to(batch + 1, logs)

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self._in_fit:
            return
        if self._bar is not None:
            self._bar.finish(logs or {})
            self._bar = None
        elif self.verbose == 2:
            parts = ["Evaluate", f"{time.perf_counter() - self._test_start:.2f}s"]
            if logs:
                parts.append(_format_logs(logs))
            sys.stdout.write(" - ".join(parts) + "\n")
            sys.stdout.flush()

    def on_predict_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self.verbose == 1:
            self._open_bar("Predict", (self.params or {}).get("steps"))

    def on_predict_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self._bar is not None:
            self._bar.update_to(batch + 1, None)

    def on_predict_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._close_bar()

    def _open_bar(self, desc, total):
        self._close_bar()
        cls = _TqdmBar if _tqdm is not None else _PlainBar
        self._bar = cls(desc, total, self.refresh_interval)

    def _close_bar(self):
        if self._bar is not None:
            self._bar.finish(None)
            self._bar = None


class _TqdmBar:
    def __init__(self, desc, total, interval):
        self._bar = _tqdm(
            total=total,
            desc=desc,
            unit="batch",
            file=sys.stdout,
            leave=True,
            dynamic_ncols=True,
            mininterval=interval,
        )
        self._interval = interval
        self._last_postfix = 0.0

    @property
    def done(self):
        return self._bar.n

    def update_to(self, done, logs):
        # Formatting the postfix costs more than a tqdm update: do it at the redraw rate only.
        now = time.perf_counter()
        if logs and now - self._last_postfix >= self._interval:
            self._last_postfix = now
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
        self._bar.update(done - self._bar.n)

    def finish(self, logs):
        if logs:
            self._bar.set_postfix_str(_format_logs(logs), refresh=False)
        self._bar.close()


class _PlainBar:
    """``12/100 [==>.......] - ETA: 3s - loss: 0.2345`` redrawn in place with '\\r'; on a
    non-terminal stream only the final line is written."""

    width = 30
    mid_line = False  # a bar is drawn without its newline yet: _print must break the line first

    def __init__(self, desc, total, interval):
        self._desc = desc
        self._total = total
        self._interval = interval
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self.done = 0
        self._logs = None
        stream = sys.stdout
        self._tty = bool(getattr(stream, "isatty", lambda: False)())

    def _line(self, final):
        elapsed = time.perf_counter() - self._start
        if self._total:
            frac = min(self.done / self._total, 1.0)
            filled = int(self.width * frac)
            arrow = ">" if filled < self.width else ""
            bar = "=" * filled + arrow + "." * (self.width - filled - len(arrow))
            head = f"{self._desc} {self.done}/{self._total} [{bar}]"
        else:
            head = f"{self._desc} {self.done}"
        if final or not self._total or not self.done:
            tail = f"{elapsed:.2f}s"
        else:
            eta = elapsed / self.done * (self._total - self.done)
            tail = f"ETA: {eta:.0f}s"
        line = f"{head} - {tail}"
        if self._logs:
            line += " - " + _format_logs(self._logs)
        return line

    def update_to(self, done, logs):
        self.done = done
        if logs:
            self._logs = logs
        now = time.perf_counter()
        if self._tty and now - self._last_draw >= self._interval:
            self._last_draw = now
            sys.stdout.write("\r" + self._line(False))
            sys.stdout.flush()
            _PlainBar.mid_line = True

    def finish(self, logs):
        if logs:
            self._logs = logs
        sys.stdout.write(("\r" if self._tty else "") + self._line(True) + "\n")
        sys.stdout.flush()
        _PlainBar.mid_line = False
