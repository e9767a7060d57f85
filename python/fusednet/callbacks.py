"""Training callbacks with Keras's names and semantics.

How the model drives them (``Sequential.fit``; evaluate/predict use the test/predict hooks)::

    cbs = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                       model=model, params={"epochs": epochs, "steps": steps, "verbose": verbose,
                                            "batch_size": batch_size, "samples": n})
    model.stop_training = False
    cbs.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch)
        if cbs.wants_batch_hooks:       # Python per batch: running loss/metrics in the logs
            for batch in range(steps):
                cbs.on_train_batch_begin(batch)
                ...one step...
                cbs.on_train_batch_end(batch, {"loss": running_loss, "accuracy": ...})
                if model.stop_training: break
        else:                           # the whole epoch in one C++ call
            ...
        logs = {"loss": ..., "accuracy": ..., "val_loss": ..., "val_accuracy": ...}
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training: break
    cbs.on_train_end(logs)
    return model.history                # the History that fit added

evaluate and predict do the same with ``on_test_*`` / ``on_predict_*`` (params ``{"steps",
"verbose"}``), calling the batch hooks only when ``cbs.wants_test_batch_hooks`` /
``cbs.wants_predict_batch_hooks``; fit's validation pass runs the test hooks on fit's list.

Epochs and batches are 0-based in hooks (as in Keras); printed epochs are 1-based.
Callbacks see the model as ``self.model`` and the fit parameters as ``self.params``. A callback
that stops training sets ``self.model.stop_training = True``.
"""
from __future__ import annotations

import math
import os
import sys
import time
import warnings

import numpy as np

try:  # optional: the progress bar falls back to a plain carriage-return bar without it
    from tqdm.auto import tqdm as _tqdm
except ImportError:  # pragma: no cover - exercised by monkeypatching _tqdm to None
    _tqdm = None

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "ModelCheckpoint", "TerminateOnNaN", "LambdaCallback"]

_TRAIN_BATCH_BEGIN = ("on_train_batch_begin", "on_batch_begin")
_TRAIN_BATCH_END = ("on_train_batch_end", "on_batch_end")
_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
          "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
          "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class: override the hooks you need. ``on_batch_begin/end`` are the train-batch hooks
    under their older Keras names: the default ``on_train_batch_*`` calls them."""

    model = None
    params = None

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    # Which batch hooks this callback needs called. The default says "the ones it overrides";
    # a callback whose override is optional (TerminateOnNaN, a progress bar at verbose=2) says
    # no, so the model can keep running whole epochs in C++.
    def _implements_train_batch_begin(self) -> bool:
        return any(_overrides(self, h) for h in _TRAIN_BATCH_BEGIN)

    # Seconds between on_train_batch_end calls this callback is content with: 0 (every batch),
    # unless it only displays progress and redraws at its own rate anyway.
    _train_batch_end_interval = 0.0

    def _implements_train_batch_end(self) -> bool:
        return any(_overrides(self, h) for h in _TRAIN_BATCH_END)

    def _implements_test_batch_hooks(self) -> bool:
        return _overrides(self, "on_test_batch_begin") or _overrides(self, "on_test_batch_end")

    def _implements_predict_batch_hooks(self) -> bool:
        return (_overrides(self, "on_predict_batch_begin")
                or _overrides(self, "on_predict_batch_end"))


def _overrides(cb, hook: str) -> bool:
    """True when `cb.hook` is not Callback's no-op: a subclass method or an instance attribute
    (LambdaCallback stores the user's functions on the instance)."""
    method = getattr(cb, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


class CallbackList:
    """Calls every hook on each callback in order. fit adds a :class:`History` (``add_history``)
    and, for ``verbose`` 1 or 2, a :class:`ProgbarLogger` (``add_progbar``), after the user's
    callbacks as Keras 3 does, unless the list already holds one."""

    def __init__(self, callbacks=None, *, add_history=False, add_progbar=False, verbose=1,
                 model=None, params=None):
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks = []
        for cb in callbacks:
            self.callbacks.append(_check_callback(cb))
        self.model = model
        self.params = dict(params) if params else {}
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        self.progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and self.progbar is None and verbose:
            self.progbar = ProgbarLogger(verbose=verbose)
            self.callbacks.append(self.progbar)
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(self.params)

    def append(self, callback):
        cb = _check_callback(callback)
        self.callbacks.append(cb)
        if self.model is not None:
            cb.set_model(self.model)
        if self.params:
            cb.set_params(self.params)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    # --- what the model must call per batch ------------------------------------------------
    @property
    def wants_batch_begin_hooks(self) -> bool:
        """Some callback needs ``on_train_batch_begin`` before each batch."""
        return any(cb._implements_train_batch_begin() for cb in self.callbacks)

    @property
    def wants_batch_end_hooks(self) -> bool:
        """Some callback (or the verbose=1 progress bar) needs ``on_train_batch_end``."""
        return any(cb._implements_train_batch_end() for cb in self.callbacks)

    @property
    def wants_batch_hooks(self) -> bool:
        """False: fit may run each epoch in one C++ call, with no Python per batch."""
        return self.wants_batch_begin_hooks or self.wants_batch_end_hooks

    @property
    def batch_hook_interval(self) -> float:
        """Seconds between train-batch-end calls that every listener accepts: 0 (every batch)
        unless the only listeners are progress displays. Then a device-resident epoch need not
        wait for the device after every batch just to report a running loss."""
        if self.wants_batch_begin_hooks:
            return 0.0
        return min((cb._train_batch_end_interval for cb in self.callbacks
                    if cb._implements_train_batch_end()), default=0.0)

    @property
    def wants_test_batch_hooks(self) -> bool:
        return any(cb._implements_test_batch_hooks() for cb in self.callbacks)

    @property
    def wants_predict_batch_hooks(self) -> bool:
        return any(cb._implements_predict_batch_hooks() for cb in self.callbacks)

    # --- dispatch ---------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)

    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs)


def _check_callback(cb):
    if not isinstance(cb, Callback):
        raise TypeError(f"callbacks: expected fusednet.callbacks.Callback instances, got "
                        f"{type(cb).__name__}")
    return cb


def _scalar(value):
    """A NumPy scalar or 0-d array as a Python number, so History holds plain floats."""
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return value.item()
    return value


def _is_max_metric(monitor: str) -> bool:
    """mode="auto": accuracy-like metrics improve upwards, losses and errors downwards."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return ("acc" in name or "auc" in name or name.startswith("fmeasure")
            or name in ("precision", "recall", "f1", "f1_score"))


def _monitor_mode(mode, monitor, name="mode") -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name}: expected 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if _is_max_metric(monitor) else "min"
    return mode


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


class History(Callback):
    """Records each epoch's logs: ``history["loss"][i]`` is epoch ``epoch[i]``'s loss.
    fit always adds one, returns it, and sets ``model.history`` to it."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        if self.model is not None:
            self.model.history = self

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(_scalar(v))
        if self.model is not None:
            self.model.history = self


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

    def __init__(self, verbose=None):
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
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._close_bar()
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        if self.verbose == 1:
            epochs = (self.params or {}).get("epochs")
            desc = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
            self._open_bar(desc, (self.params or {}).get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update_to(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
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
    def on_test_begin(self, logs=None):
        if self._in_fit:
            return
        self._test_start = time.perf_counter()
        if self.verbose == 1:
            self._open_bar("Evaluate", (self.params or {}).get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if self._bar is not None and not self._in_fit:
            self._bar.update_to(batch + 1, logs)

    def on_test_end(self, logs=None):
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

    def on_predict_begin(self, logs=None):
        if self.verbose == 1:
            self._open_bar("Predict", (self.params or {}).get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        if self._bar is not None:
            self._bar.update_to(batch + 1, None)

    def on_predict_end(self, logs=None):
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
        self._bar = _tqdm(total=total, desc=desc, unit="batch", file=sys.stdout, leave=True,
                          dynamic_ncols=True, mininterval=interval)
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


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved for ``patience`` epochs (Keras 3).

    Improvement means beating the best value so far by more than ``min_delta`` (downwards for
    ``mode="min"``, upwards for ``"max"``; ``"auto"`` picks max for accuracy-like names, min
    otherwise). With ``baseline``, the patience counter only resets on epochs that also beat the
    baseline. Epochs before ``start_from_epoch`` are ignored. With ``restore_best_weights`` the
    weights of the best epoch are put back at the end of training (``model.set_weights``).
    After training: ``stopped_epoch`` (0 if it never stopped), ``best``, ``best_epoch``.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected a log key such as 'val_loss', got "
                            f"{type(monitor).__name__}")
        self.monitor = monitor
        self.min_delta = abs(_check_real(min_delta, "min_delta"))
        self.patience = _check_int(patience, "patience")
        self.verbose = verbose
        self.mode = _monitor_mode(mode, monitor)
        self.baseline = None if baseline is None else _check_real(baseline, "baseline")
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = _check_int(start_from_epoch, "start_from_epoch")
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None
        self._warned = False

    def _is_improvement(self, value, reference) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self._reset()  # an instance can serve several fits

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value(self, logs, "Early stopping")
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

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _monitor_value(cb, logs, who):
    """logs[cb.monitor] as a float, or None with one warning per fit listing the keys there."""
    logs = logs or {}
    value = logs.get(cb.monitor)
    if value is None:
        if not cb._warned:
            cb._warned = True
            warnings.warn(f"{who} conditioned on metric `{cb.monitor}` which is not available. "
                          f"Available metrics are: {', '.join(logs) or '(none)'}", stacklevel=3)
        return None
    return float(value)


def _copy_weights(model):
    return [np.array(w, copy=True) for w in model.get_weights()]


def _check_real(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def _check_int(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


class ModelCheckpoint(Callback):
    """Saves the model (``model.save(path)``) or its weights (``model.save_weights(path)``)
    after every epoch, or every ``save_freq`` batches when ``save_freq`` is an int.

    ``filepath`` may hold format fields: ``{epoch:02d}`` (1-based, as printed), ``{batch}``
    (1-based, when saving per batch) and any log key, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.fnet"``.
    With ``save_best_only`` it saves only when ``monitor`` beats the best value so far (or
    ``initial_value_threshold``); the mode is chosen as in :class:`EarlyStopping`.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        filepath = os.fspath(filepath)
        if not isinstance(filepath, str) or not filepath:
            raise ValueError(f"filepath: expected a non-empty path, got {filepath!r}")
        self.filepath = filepath
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = _monitor_mode(mode, monitor)
        if save_freq != "epoch":
            if isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer)) \
                    or save_freq < 1:
                raise ValueError(f"save_freq: expected 'epoch' or an int >= 1 (batches), got "
                                 f"{save_freq!r}")
            save_freq = int(save_freq)
        self.save_freq = save_freq
        self.initial_value_threshold = (None if initial_value_threshold is None else
                                        _check_real(initial_value_threshold,
                                                    "initial_value_threshold"))
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

    def on_train_begin(self, logs=None):
        self._batches_since_save = 0
        self._warned = False
        method = "save_weights" if self.save_weights_only else "save"
        if self.model is not None and not callable(getattr(self.model, method, None)):
            raise TypeError(f"ModelCheckpoint(save_weights_only={self.save_weights_only}) "
                            f"needs model.{method}(path); {type(self.model).__name__} has none")

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"filepath: cannot format {self.filepath!r} ({type(e).__name__}: "
                             f"{e}); fields available: {', '.join(fields)}") from None

    def _save(self, epoch, batch, logs):
        path = self._file_path(epoch, batch, logs)
        if self.save_best_only:
            current = _monitor_value(self, logs, "Checkpointing the best model")
            if current is None:
                return
            improved = current < self.best if self.mode == "min" else current > self.best
            if not improved:
                if self.verbose > 0:
                    _print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose > 0:
                _print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
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

    def on_batch_end(self, batch, logs=None):
        self._check(logs, f"Batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        if not getattr(self.model, "stop_training", False):
            self._check(logs, f"Epoch {epoch + 1}")


class LambdaCallback(Callback):
    """A callback from plain functions::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Signatures: ``on_epoch_begin/end(epoch, logs)``, ``on_batch_begin/end(batch, logs)``
    (``on_train_batch_begin/end`` are accepted too), ``on_train_begin/end(logs)``; any other hook
    by its name as a keyword. Only the hooks given are called, so batch functions are what make
    fit call Python per batch.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        given = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name in kwargs:
            if name not in _HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; known: "
                                f"{', '.join(_HOOKS)}")
        given.update(kwargs)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
            setattr(self, name, fn)
