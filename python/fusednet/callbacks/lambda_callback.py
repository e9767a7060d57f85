"""``LambdaCallback``: a callback made of plain functions."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .base import HOOKS, Callback

__all__ = ["LambdaCallback"]


class LambdaCallback(Callback):
    """A callback from plain functions::

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Signatures: ``on_epoch_begin/end(epoch, logs)``, ``on_batch_begin/end(batch, logs)``
    (``on_train_batch_begin/end`` are accepted too), ``on_train_begin/end(logs)``; any other hook
    by its name as a keyword. Only the hooks given are called, so batch functions are what make
    fit call Python per batch.
    """

    def __init__(
        self,
        on_epoch_begin: Optional[Callable[..., Any]] = None,
        on_epoch_end: Optional[Callable[..., Any]] = None,
        on_batch_begin: Optional[Callable[..., Any]] = None,
        on_batch_end: Optional[Callable[..., Any]] = None,
        on_train_begin: Optional[Callable[..., Any]] = None,
        on_train_end: Optional[Callable[..., Any]] = None,
        **kwargs: Callable[..., Any],
    ) -> None:
        super().__init__()
        # The named hooks as given (None: not given), then any other hook by keyword.
        given = {name: fn for name, fn in locals().items() if name.startswith("on_")}
        for name in kwargs:
            if name not in HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; known: {', '.join(HOOKS)}")
        given.update(kwargs)
        for name, fn in given.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"{name}: expected a callable, got {type(fn).__name__}")
            setattr(self, name, fn)
