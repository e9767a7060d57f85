"""``ProgbarLogger``: fit's, evaluate's and predict's progress output on ``sys.stdout``, and
``_print``, which the other callbacks use so a message does not break an open bar.

``verbose=1`` draws Keras 3's bar (``_Bar``)::

    Epoch 1/2
    32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.6695 - accuracy: 0.6920

redrawn in place with ``\\r`` on a terminal; on anything else (a log file, a pipe, a notebook
capture) only the final line of each bar is written, so logs hold one clean line per epoch
(Keras redraws with ``\\r`` there too). ``verbose=2`` writes one line per epoch.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Optional

import numpy as np

from .base import Callback

__all__ = ["ProgbarLogger"]


def _print(message: str) -> None:
    """print() to sys.stdout that leaves an open progress bar intact (the bar of the epoch is
    still open while other callbacks' on_epoch_end run)."""
    if _Bar.mid_line:
        sys.stdout.write("\n")
        _Bar.mid_line = False
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _format_value(value: Any) -> str:
    """Keras's Progbar format: 4 decimals, or scientific for tiny magnitudes; an array (a
    per-class metric such as F1Score(average=None)) shows its mean, as Keras's Progbar."""
    try:
        v = float(np.mean(value)) if isinstance(value, np.ndarray) else float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"


def _format_logs(logs: dict[str, Any]) -> str:
    return " - ".join(f"{k}: {_format_value(v)}" for k, v in logs.items())


class ProgbarLogger(Callback):
    """Progress output. ``verbose=1``: Keras's ``Epoch i/n`` line (when n > 1) and a bar per
    epoch with batches done/total, ETA (final: elapsed), mean time per step and the running
    loss and metrics. ``verbose=2``: one line per epoch, e.g.
    ``Epoch 3/10 - 0.12s - loss: 0.2345 - accuracy: 0.9100 - val_loss: 0.3012``.
    Writes to ``sys.stdout``; ``verbose=0`` prints nothing. Outside fit, evaluate and predict get
    a bar at verbose=1."""

    main_rank_only = True  # data-parallel: rank 0 alone writes

    refresh_interval = 0.1  # seconds between redraws of the running values

    @property
    def _train_batch_end_interval(self) -> float:  # type: ignore[override]
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

    def set_params(self, params: dict[str, Any]) -> None:
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
            if epochs is None or epochs > 1:  # Keras names the epoch only when there are several
                _print(f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}")
            self._open_bar((self.params or {}).get("steps"))

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
            self._open_bar((self.params or {}).get("steps"))

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self._bar is not None and not self._in_fit:
            self._bar.update_to(batch + 1, logs)

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        if self._in_fit:
            return
        if self._bar is not None:
            steps = (self.params or {}).get("steps")
            if self._bar.done == 0 and steps:
                self._bar.update_to(steps, None)  # the pass ran without batch hooks
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
            self._open_bar((self.params or {}).get("steps"))

    def on_predict_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        if self._bar is not None:
            self._bar.update_to(batch + 1, None)

    def on_predict_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        self._close_bar()

    def _open_bar(self, total: Optional[int]) -> None:
        self._close_bar()
        self._bar = _Bar(total, self.refresh_interval)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.finish(None)
            self._bar = None


def _eta(seconds: float) -> str:
    """Keras's ETA: ``42s``, ``3:07`` or ``1:02:03``."""
    if seconds > 3600:
        s = int(seconds)
        return f"{s // 3600}:{(s % 3600) // 60:02d}:{s % 60:02d}"
    if seconds > 60:
        s = int(seconds)
        return f"{s // 60}:{s % 60:02d}"
    return f"{int(seconds)}s"


def _per_step(seconds: float) -> str:
    """Keras's time per step: ``2s/step``, ``15ms/step`` or ``830us/step``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class _Bar:
    """Keras 3's Progbar line ``12/32 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - loss: 0.2345``:
    ``width`` bar characters (green for done, grey for to do, on a terminal), the ETA while
    running and the elapsed seconds at the end, the mean time per step so far. On a terminal it
    is redrawn in place at most every ``interval`` seconds; elsewhere only ``finish`` writes,
    one line, with no escape codes."""

    width = 20
    mid_line = False  # a bar is drawn without its newline yet: _print must break the line first

    def __init__(self, total: Optional[int], interval: float) -> None:
        self._total = total
        self._interval = interval
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._prev_width = 0
        self.done = 0
        self._logs = None
        self._tty = bool(getattr(sys.stdout, "isatty", lambda: False)())

    def _line(self, final: bool) -> str:
        now = time.perf_counter()
        elapsed = now - self._start
        per_step = elapsed / self.done if self.done else 0.0
        bold = (lambda t: f"\x1b[1m{t}\x1b[0m") if self._tty else (lambda t: t)
        if self._total:
            digits = int(math.log10(self._total)) + 1
            filled = min(int(self.width * self.done / self._total), self.width)
            done_bar, todo_bar = "━" * filled, "━" * (self.width - filled)
            if self._tty:
                done_bar = f"\x1b[32m{done_bar}\x1b[0m" if filled else ""
                todo_bar = f"\x1b[37m{todo_bar}\x1b[0m"
            line = f"{bold(f'{self.done:{digits}d}/{self._total}')} {done_bar}{todo_bar}"
        else:
            line = f"{self.done:7d}/Unknown"
        if final or not self._total:
            line += " " + bold(f"{elapsed:.0f}s")
        else:
            line += " " + bold(_eta(per_step * (self._total - self.done)))
        line += " " + _per_step(per_step)
        if self._logs:
            line += " - " + _format_logs(self._logs)
        return line

    def _write(self, line: str, final: bool) -> None:
        # Pad over a longer previous line: a redraw must not leave its tail behind.
        width = len(line)
        pad = " " * max(self._prev_width - width, 0)
        self._prev_width = width
        sys.stdout.write(("\r" if self._tty else "") + line + pad + ("\n" if final else ""))
        sys.stdout.flush()
        _Bar.mid_line = not final

    def update_to(self, done: int, logs: Optional[dict[str, Any]]) -> None:
        self.done = done
        if logs:
            self._logs = logs
        now = time.perf_counter()
        if self._tty and now - self._last_draw >= self._interval:
            self._last_draw = now
            self._write(self._line(False), final=False)

    def finish(self, logs: Optional[dict[str, Any]]) -> None:
        if logs:
            self._logs = logs
        if not self._total and self.done:  # an unknown length is known at the end (Keras)
            self._total = self.done
        self._write(self._line(True), final=True)
