"""``Callback``: the base class of the callbacks, its hooks (no-ops to override), and which
batch hooks a callback needs called, so the model can run whole epochs in C++ when none does.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["Callback", "HOOKS"]

_TRAIN_BATCH_BEGIN = ("on_train_batch_begin", "on_batch_begin")
_TRAIN_BATCH_END = ("on_train_batch_end", "on_batch_end")
HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_begin",
    "on_predict_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class: override the hooks you need. ``on_batch_begin/end`` are the train-batch hooks
    under their older Keras names: the default ``on_train_batch_*`` calls them."""

    model: Any = None  # the model being trained (set by set_model)
    params: Any = None  # fit's or evaluate's parameters (set by set_params)
    # True for callbacks that print or write files: in data-parallel training only rank 0 runs
    # them (CallbackList(main=False) leaves them out on the other ranks).
    main_rank_only = False

    def __init__(self) -> None:
        self.model = None
        self.params = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_train_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_train_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_test_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_test_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_test_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_predict_begin(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_predict_end(self, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_predict_batch_begin(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
        pass

    def on_predict_batch_end(self, batch: int, logs: Optional[dict[str, Any]] = None) -> None:
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
        return _overrides(self, "on_predict_batch_begin") or _overrides(
            self, "on_predict_batch_end"
        )


def _overrides(cb: Callback, hook: str) -> bool:
    """True when `cb.hook` is not Callback's no-op: a subclass method or an instance attribute
    (LambdaCallback stores the user's functions on the instance)."""
    method = getattr(cb, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)
