"""``LambdaCallback``: a callback made of plain functions."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .base import HOOKS, Callback

__all__ = ["LambdaCallback"]


class LambdaCallback(Callback):
    """A callback from plain functions::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Signatures: ``on_epoch_begin/end(epoch, logs)``, ``on_train_batch_begin/end(batch, logs)``
    (``on_batch_begin/end`` are accepted too), ``on_train_begin/end(logs)``; any other hook
    by its name as a keyword. The positional order is Keras 3's (on_epoch_begin, on_epoch_end,
    on_train_begin, on_train_end, on_train_batch_begin, on_train_batch_end). Only the hooks given
    are called, so batch functions are what make fit call Python per batch. Other keywords are
    stored as attributes (Keras); an ``on_...`` keyword that names no hook is an error (Keras
    would store it too, and the misspelt hook would never be called).
    """

    def __init__(
        self,
        on_epoch_begin: Optional[Callable[..., Any]] = None,
        on_epoch_end: Optional[Callable[..., Any]] = None,
        on_train_begin: Optional[Callable[..., Any]] = None,
        on_train_end: Optional[Callable[..., Any]] = None,
        on_train_batch_begin: Optional[Callable[..., Any]] = None,
        on_train_batch_end: Optional[Callable[..., Any]] = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        # The named hooks as given (None: not given), then any other hook by keyword.
        given = {name: fn for name, fn in locals().items() if name.startswith("on_")}
        for name in kwargs:
            if name.startswith("on_") and name not in HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; known: {', '.join(HOOKS)}")
        # Keras stores other keywords as attributes (helpers the hooks may use).
        self.__dict__.update((k, v) for k, v in kwargs.items() if not k.startswith("on_"))
        given.update((k, v) for k, v in kwargs.items() if k.startswith("on_"))
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
            setattr(self, name, fn)
