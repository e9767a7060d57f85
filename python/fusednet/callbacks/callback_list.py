"""``CallbackList``: what the model calls. It fans each hook out to its callbacks in order, adds
fit's ``History`` and progress bar, and tells the model which batch hooks anyone needs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Callable, Optional, Union

from .base import Callback
from .history import History
from .progbar import ProgbarLogger

__all__ = ["CallbackList"]


def _fan_out(hook: str, indexed: bool = False) -> Callable[..., None]:
    """The CallbackList method `hook`: ``hook([index,] logs)`` on every callback in order; an
    `indexed` hook (epoch, batch) takes the epoch or batch index first."""

    def call(
        callbacks: list[Callback], args: tuple[int, ...], logs: Optional[dict[str, Any]]
    ) -> None:
        logs = {} if logs is None else logs
        for cb in callbacks:
            getattr(cb, hook)(*args, logs)

    if indexed:

        def method(self: CallbackList, index: int, logs: Optional[dict[str, Any]] = None) -> None:
            call(self.callbacks, (index,), logs)
    else:

        def method(  # type: ignore[misc]  # the un-indexed variant
            self: CallbackList, logs: Optional[dict[str, Any]] = None
        ) -> None:
            call(self.callbacks, (), logs)

    method.__name__ = hook
    method.__qualname__ = f"CallbackList.{hook}"
    method.__doc__ = f"Calls ``{hook}`` on every callback, in order."
    return method


def _anyone(implements: str, doc: str) -> property:
    """A CallbackList property: whether some callback's `implements()` says it needs a kind of
    hook (see Callback._implements_*)."""
    return property(lambda self: any(getattr(cb, implements)() for cb in self.callbacks), doc=doc)


def _check_callback(cb: Any) -> Callback:
    if not isinstance(cb, Callback):
        raise TypeError(
            f"callbacks: expected fusednet.callbacks.Callback instances, got {type(cb).__name__}"
        )
    return cb


class CallbackList:
    """Calls every hook on each callback in order. fit adds a :class:`History` (``add_history``)
    and, for ``verbose`` 1 or 2, a :class:`ProgbarLogger` (``add_progbar``), after the user's
    callbacks as Keras 3 does, unless the list already holds one.

    ``main=False`` (a data-parallel rank other than 0, fusednet.distributed) leaves out every
    callback whose class says ``main_rank_only = True`` (those that print or write files: the
    progress bar, ModelCheckpoint, ...), so only rank 0 writes; the others (History,
    EarlyStopping, ...) run on every rank on the same reduced logs, so all decide alike."""

    def __init__(
        self,
        callbacks: Union[Callback, Iterable[Callback], None] = None,
        add_history: bool = False,
        add_progbar: bool = False,
        verbose: int = 1,
        model: Any = None,
        params: Optional[dict[str, Any]] = None,
        main: bool = True,
    ) -> None:
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
        if not main:
            self.callbacks = [cb for cb in self.callbacks if not cb.main_rank_only]
            if self.progbar not in self.callbacks:
                self.progbar = None
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(self.params)

    def append(self, callback: Callback) -> None:
        cb = _check_callback(callback)
        self.callbacks.append(cb)
        if self.model is not None:
            cb.set_model(self.model)
        if self.params:
            cb.set_params(self.params)

    def set_model(self, model: Any) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self) -> Iterator[Callback]:
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    # --- what the model must call per batch ------------------------------------------------
    wants_batch_begin_hooks = _anyone(
        "_implements_train_batch_begin",
        "Some callback needs ``on_train_batch_begin`` before each batch.",
    )
    wants_batch_end_hooks = _anyone(
        "_implements_train_batch_end",
        "Some callback (or the verbose=1 progress bar) needs ``on_train_batch_end``.",
    )
    wants_test_batch_hooks = _anyone(
        "_implements_test_batch_hooks", "Some callback needs evaluate's per-batch hooks."
    )
    wants_predict_batch_hooks = _anyone(
        "_implements_predict_batch_hooks", "Some callback needs predict's per-batch hooks."
    )

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
        return min(
            (
                cb._train_batch_end_interval
                for cb in self.callbacks
                if cb._implements_train_batch_end()
            ),
            default=0.0,
        )

    # --- dispatch: each hook on every callback, in order; logs {} when not given -------------
    on_train_begin = _fan_out("on_train_begin")
    on_train_end = _fan_out("on_train_end")
    on_epoch_begin = _fan_out("on_epoch_begin", indexed=True)
    on_epoch_end = _fan_out("on_epoch_end", indexed=True)
    on_train_batch_begin = _fan_out("on_train_batch_begin", indexed=True)
    on_train_batch_end = _fan_out("on_train_batch_end", indexed=True)
    on_batch_begin = on_train_batch_begin
    on_batch_end = on_train_batch_end
    on_test_begin = _fan_out("on_test_begin")
    on_test_end = _fan_out("on_test_end")
    on_test_batch_begin = _fan_out("on_test_batch_begin", indexed=True)
    on_test_batch_end = _fan_out("on_test_batch_end", indexed=True)
    on_predict_begin = _fan_out("on_predict_begin")
    on_predict_end = _fan_out("on_predict_end")
    on_predict_batch_begin = _fan_out("on_predict_batch_begin", indexed=True)
    on_predict_batch_end = _fan_out("on_predict_batch_end", indexed=True)
