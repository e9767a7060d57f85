"""fit's Keras arguments beyond the data: ``class_weight``, ``steps_per_epoch``,
``validation_steps``, ``validation_batch_size`` and ``validation_freq``.

In a distributed fit (fusednet.distributed) every rank holding the whole set picks the same
batches (the seed is rank 0's), and each global batch is then split over the ranks as usual;
``steps_per_epoch`` and ``validation_steps`` are refused with pre-sharded input (the ranks'
passes would run out at different steps), ``validation_freq`` and ``validation_batch_size``
work with either.

``class_weight`` becomes per-sample weights of the training set (not of the validation set), as
Keras does. The others change which batches an epoch or a validation pass sees; fit then runs
``FitOptionsLoop._fit_with_options``: still one C++ call per epoch (and per validation pass),
on the batches this module picks.

Keras semantics kept: with ``steps_per_epoch`` an epoch takes the next ``steps_per_epoch``
batches of a pass over the data and the next epoch continues that pass where it stopped; a pass
that runs out mid-epoch ends that epoch early (with Keras's warning) and the next epoch starts a
new pass, reshuffled. ``validation_steps`` does the same over the validation set (never
shuffled), from a cursor kept for the whole fit. ``validation_freq=k`` validates after epochs
k, 2k, ... (1-based); a list validates after the epochs it names.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from . import _inputs

__all__ = ["FitOptions", "FitOptionsLoop", "class_weights"]


def class_weights(class_weight: Mapping[Any, float], y: Any, n: int) -> np.ndarray:
    """Keras's ``class_weight_to_sample_weights``: one float32 weight per sample, the weight of
    its class (1 for classes not in the dict). The class of a sample is its label, the argmax
    of a one-hot / probability row, or the rounded single target (binary)."""
    if not hasattr(class_weight, "items") or not hasattr(class_weight, "get"):
        raise TypeError(
            f"class_weight: expected a dict of class index -> weight, got "
            f"{type(class_weight).__name__}"
        )
    table = {}
    for key, val in class_weight.items():
        if isinstance(key, bool) or not isinstance(key, (numbers.Integral, str)):
            raise ValueError(f"class_weight: keys must be class indices (ints), got {key!r}")
        try:
            k = int(key)
        except ValueError:
            raise ValueError(
                f"class_weight: keys must be class indices (ints), got {key!r}"
            ) from None
        if isinstance(val, bool) or not isinstance(val, numbers.Real) or not np.isfinite(val):
            raise ValueError(
                f"class_weight: weight of class {k} must be a finite number, got {val!r}"
            )
        table[k] = float(val)
    y = np.asarray(y)
    if y.ndim > 1:
        y = np.argmax(y, axis=-1) if y.shape[-1] != 1 else y.reshape(-1)
    classes = np.round(y).astype(np.int64)
    out = np.ones(n, dtype=np.float32)
    for k, w in table.items():
        out[classes == k] = w
    return out


def ran_out_warning() -> None:
    """Keras's warning when an epoch of steps_per_epoch batches finds fewer left in the pass."""
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset or "
        "generator can generate at least `steps_per_epoch * epochs` batches.",
        stacklevel=5,
    )


def _positive_or_none(value: Optional[int], name: str) -> Optional[int]:
    return None if value is None else _inputs.int_arg(value, name, 1)


class FitOptions:
    """fit's batch-selection arguments, checked."""

    def __init__(
        self,
        steps_per_epoch: Optional[int] = None,
        validation_steps: Optional[int] = None,
        validation_batch_size: Optional[int] = None,
        validation_freq: Union[int, Sequence[int]] = 1,
    ) -> None:
        self.steps_per_epoch = _positive_or_none(steps_per_epoch, "steps_per_epoch")
        self.validation_steps = _positive_or_none(validation_steps, "validation_steps")
        self.validation_batch_size = _positive_or_none(
            validation_batch_size, "validation_batch_size"
        )
        if isinstance(validation_freq, (list, tuple)):
            for e in validation_freq:
                _inputs.int_arg(e, "validation_freq entries", 1)
            validation_freq = [int(e) for e in validation_freq]
        else:
            validation_freq = _inputs.int_arg(validation_freq, "validation_freq", 1)
        self.validation_freq = validation_freq

    @property
    def custom(self) -> bool:
        """True when fit must pick batches or validation epochs itself (else its usual paths)."""
        return (
            self.steps_per_epoch is not None
            or self.validation_steps is not None
            or self.validation_batch_size is not None
            or self.validation_freq != 1
        )

    @property
    def picks_batches(self) -> bool:
        """True when an epoch or a validation pass takes only some batches of its set."""
        return self.steps_per_epoch is not None or self.validation_steps is not None

    def should_eval(self, epoch: int) -> bool:
        """Keras's ``_should_eval``: validate after 1-based epoch ``epoch + 1``?"""
        if isinstance(self.validation_freq, list):
            return epoch + 1 in self.validation_freq
        return (epoch + 1) % self.validation_freq == 0


class _Batches:
    """The samples of each epoch (or validation pass): all of them, or the next ``limit``
    batches of a pass, continuing across calls (Keras's EpochIterator with steps_per_epoch)."""

    def __init__(self, data, bs, limit, shuffle, seed):
        self.data, self.bs, self.limit, self.shuffle, self.seed = data, bs, limit, shuffle, seed
        self.n = len(data[0])
        self.total = (self.n + bs - 1) // bs
        self.cursor = 0  # batches of the current pass already used
        self.passes = 0
        self.order = None

    @property
    def steps(self):
        return self.total if self.limit is None else self.limit

    def next(self):
        """((x, y, sw), batches, shuffle_in_cpp) of the next epoch."""
        if self.limit is None:
            return self.data, self.total, self.shuffle
        if self.cursor == 0 and self.shuffle:
            rng = np.random.default_rng((self.seed, 0x57E9, self.passes))
            self.order = rng.permutation(self.n)
        take = min(self.limit, self.total - self.cursor)
        if take < self.limit:
            ran_out_warning()
        s, e = self.cursor * self.bs, min(self.n, (self.cursor + take) * self.bs)
        idx = self.order[s:e] if self.shuffle else slice(s, e)
        part = tuple(None if a is None else a[idx] for a in self.data)
        self.cursor += take
        if self.cursor >= self.total:
            self.cursor, self.passes = 0, self.passes + 1
        return part, take, False


class FitOptionsLoop:
    """The fit loop of ``Sequential`` when FitOptions.custom: one C++ call per epoch on the
    batches ``_Batches`` picks; validation when ``should_eval``."""

    def _take_initial_epoch(self, initial_epoch):
        """A callback's ``model._initial_epoch`` (set in on_train_begin, as Keras's
        BackupAndRestore does) overrides fit's ``initial_epoch`` once."""
        restored = self.__dict__.pop("_initial_epoch", None)
        return restored if restored else initial_epoch

    def _fit_with_options(self, cbl, train, val, bs, shuffle, initial_epoch, epochs, opts, dp=None):
        net = self._net
        feed = _Batches(train, bs, opts.steps_per_epoch, bool(shuffle), self.seed)
        vbs = opts.validation_batch_size or bs
        vfeed = None if val[0] is None else _Batches(val, vbs, opts.validation_steps, False, 0)
        cbl.on_train_begin()
        initial_epoch = self._take_initial_epoch(initial_epoch)
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbl.on_epoch_begin(epoch)
            data, steps, shuffle_here = feed.next()
            lrs = self.optimizer._lrs(int(net.step), steps)
            lr = self.optimizer._lr_at(int(net.step))
            hook = self._batch_hook(cbl, steps) if cbl.wants_batch_hooks else None
            if hook is not None:
                cbl.on_train_batch_begin(0)
            tl, tm, _ = net.train_epoch(
                *data, bs, shuffle_here, lrs, lr, hook, cbl.batch_hook_interval
            )
            logs = self._logs(tl, tm)
            if vfeed is not None and opts.should_eval(epoch):
                vdata, _, _ = vfeed.next()
                cbl.on_test_begin()
                val_logs = self._logs(*self._net_evaluate(*vdata, vbs))
                cbl.on_test_end(val_logs)
                logs.update(("val_" + k, v) for k, v in val_logs.items())
            cbl.on_epoch_end(epoch, logs)
            if dp is not None:  # a callback on any rank stops every rank
                self.stop_training = dp.any(self.stop_training)
            if self.stop_training:
                break
        cbl.on_train_end(logs)
        return self.history if self.history is not None else cbl.history
