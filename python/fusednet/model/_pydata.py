"""Batches fed from Python: Keras's ``PyDataset`` (alias ``Sequence``) objects and Python
generators as the ``x`` of fit, evaluate and predict.

Each batch the source yields (``(x, y)``, ``(x, y, sample_weight)``, or ``x`` / ``(x,)`` for
predict) is checked as an array input would be and run through the Net in one C++ call: a train
step per batch for fit, so the batch loop (and the source's own Python) runs in Python while
each step still runs in C++. Epoch logs are those of all the epoch's samples: the loss the
row-weighted mean of the batches', each metric from its per-batch states added in batch order
(``MetricSum``), as fit's native epochs compute them.

Keras semantics kept: a PyDataset's ``__len__`` (or ``num_batches``; None: infinite) is the
batches per epoch; ``shuffle=True`` visits them in ``random.Random(epoch).shuffle`` order,
``epoch`` counting this fit's passes from 0 (Keras's PyDatasetAdapter order); its
``on_epoch_begin`` / ``on_epoch_end`` are called around each epoch. With ``steps_per_epoch``
an epoch takes the next batches of the current pass (a pass runs across epochs, as for arrays).
A generator is read until it stops; once exhausted it cannot restart, so fit warns and stops
(Keras warns and runs empty epochs). ``workers`` / ``use_multiprocessing`` /
``max_queue_size`` are accepted and unused: batches are read in the calling thread.
"""

from __future__ import annotations

import inspect
import random
import warnings
from typing import Any, Optional

import numpy as np

from . import _fit_options, _inputs
from ._metric_sum import MetricSum

__all__ = ["PyDataset", "is_source", "no_arrays_with_a_source", "SourceLoop"]


class PyDataset:
    """Keras's ``keras.utils.PyDataset``: subclass it with ``__len__`` (batches per epoch) and
    ``__getitem__(index)`` returning ``(x, y)`` or ``(x, y, sample_weight)`` for batch
    ``index``; optionally ``on_epoch_begin`` / ``on_epoch_end``."""

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ) -> None:
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    workers = property(lambda self: getattr(self, "_workers", 1))
    use_multiprocessing = property(lambda self: getattr(self, "_use_multiprocessing", False))
    max_queue_size = property(lambda self: getattr(self, "_max_queue_size", 10))

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index)")

    @property
    def num_batches(self) -> Optional[int]:
        """Batches per epoch (``len(self)``), or None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__ or the num_batches property"
        )

    def on_epoch_begin(self) -> None:
        pass

    def on_epoch_end(self) -> None:
        pass


def _is_dataset(x: Any) -> bool:
    # Keras's own PyDataset (or any object of that shape) works too: duck-typed.
    return isinstance(x, PyDataset) or (
        hasattr(x, "__getitem__")
        and hasattr(x, "on_epoch_end")
        and not isinstance(x, (np.ndarray, list, tuple, dict))
    )


def _is_generator(x: Any) -> bool:
    return inspect.isgenerator(x) or (
        hasattr(x, "__next__")
        and hasattr(x, "__iter__")
        and not isinstance(x, (np.ndarray, list, tuple))
    )


def is_source(x: Any) -> bool:
    """Is ``x`` fed batch by batch from Python (a PyDataset or a generator)?"""
    if type(x) is np.ndarray:  # the usual case, without the duck-typing below
        return False
    return _is_dataset(x) or _is_generator(x)


def _split(batch, what):
    """A batch as (x, y, sample_weight) (y, sw None when absent)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        batch = (batch,)
    if len(batch) not in (1, 2, 3):
        raise ValueError(
            f"{what}: each batch must be x, (x,), (x, y) or (x, y, sample_weight), got a "
            f"tuple of {len(batch)}"
        )
    return batch + (None,) * (3 - len(batch))


class _Source:
    """One fit's / evaluate's / predict's view of a PyDataset or generator."""

    def __init__(self, x, shuffle, steps, what):
        self.x, self.shuffle, self.what = x, bool(shuffle), what
        self.dataset = _is_dataset(x)
        self.num_batches = None
        if self.dataset:
            n = x.num_batches if hasattr(x, "num_batches") else len(x)
            self.num_batches = None if n is None else int(n)
        self.limit = steps
        if self.num_batches is None and steps is None and self.dataset:
            raise ValueError(f"{what}: an infinite PyDataset needs steps_per_epoch / steps")
        self.passes = 0  # PyDataset passes started (Keras's adapter epoch: the shuffle seed)
        self.order, self.cursor = None, 0
        self.exhausted = False
        self._peeked = None
        if not self.dataset:
            self.it = iter(x)

    @property
    def steps(self):
        return self.limit if self.limit is not None else self.num_batches

    def peek(self):
        """The first batch, without consuming it (to build the model from its width)."""
        if self.dataset:
            return _split(self.x[0], self.what)
        if self._peeked is None:
            try:
                self._peeked = next(self.it)
            except StopIteration:
                raise ValueError(f"{self.what}: the generator yielded no batch") from None
        return _split(self._peeked, self.what)

    def _next_generated(self):
        if self._peeked is not None:
            b, self._peeked = self._peeked, None
            return b
        return next(self.it)

    def epoch(self):
        """The batches of the next epoch (a generator of (x, y, sw))."""
        if not self.dataset:
            taken = 0
            while self.limit is None or taken < self.limit:
                try:
                    b = self._next_generated()
                except StopIteration:
                    self.exhausted = True
                    if self.limit is not None:
                        _fit_options.ran_out_warning()
                    return
                taken += 1
                yield _split(b, self.what)
            return
        x = self.x
        x.on_epoch_begin()
        total = self.num_batches
        take = total if self.limit is None else self.limit
        for _ in range(take):
            if total is not None and self.cursor >= total:
                _fit_options.ran_out_warning()
                break
            if self.cursor == 0:
                self.order = list(range(total)) if total is not None else None
                if self.shuffle and self.order is not None:
                    random.Random(self.passes).shuffle(self.order)
                self.passes += 1
            i = self.order[self.cursor] if self.order is not None else self.cursor
            self.cursor += 1
            yield _split(x[i], self.what)
        if total is not None and self.cursor >= total:
            self.cursor = 0
        x.on_epoch_end()


def no_arrays_with_a_source(y: Any, sample_weight: Any) -> None:
    if y is not None:
        raise ValueError("y: not used when x is a PyDataset or generator (it yields (x, y))")
    if sample_weight is not None:
        raise ValueError(
            "sample_weight: not used when x is a PyDataset or generator (it yields "
            "(x, y, sample_weight))"
        )


class SourceLoop:
    """fit / evaluate / predict of ``Sequential`` on a PyDataset or generator."""

    def _source_batch(self, batch, class_weight, what):
        bx, by, bsw = batch
        if self._net is None:
            self._require_built(_inputs.samples(bx, f"{what} x"))
        bx = _inputs.features(bx, self._feature_shape, f"{what} x")
        if by is None:
            raise ValueError(
                f"{what}: each batch must hold targets: (x, y) or (x, y, sample_weight)"
            )
        by = _inputs.targets(by, len(bx), self.loss_fn, self._net.output_width, f"{what} y")
        bsw = _inputs.sample_weights(bsw, len(bx), f"{what} sample_weight")
        if class_weight is not None:
            if bsw is not None:
                raise ValueError("class_weight and sample_weight: give one or the other, not both")
            bsw = _fit_options.class_weights(class_weight, by, len(bx))
        return bx, by, bsw

    def _source_eval(self, src, what, cbl=None):
        """(loss, metrics) over the source's next epoch of batches: sample-weighted means.
        `cbl`: evaluate's callbacks, given the test-batch hooks when they ask for them."""
        total = MetricSum(self._net, self._metric_codes)
        hooks = cbl is not None and cbl.wants_test_batch_hooks
        for b, batch in enumerate(src.epoch()):
            bx, by, bsw = self._source_batch(batch, None, what)
            if hooks:
                cbl.on_test_batch_begin(b)
            bl, _ = self._net_evaluate(bx, by, bsw, len(bx))
            total.add(bl)
            if hooks:
                cbl.on_test_batch_end(b, self._logs(*total.results()))
        if total.rows == 0:
            raise ValueError(f"{what}: the data yielded no batch")
        return total.results()

    def _fit_source(self, x, epochs, verbose, callbacks, validation_split, validation_data,
                    shuffle, initial_epoch, class_weight, opts):  # fmt: skip
        if validation_split:
            raise ValueError(
                "validation_split: only for array inputs; give validation_data with a "
                "PyDataset or generator"
            )
        epochs = _inputs.int_arg(epochs, "epochs", 0)
        initial_epoch = _inputs.int_arg(initial_epoch, "initial_epoch", 0)
        verbose = _inputs.verbose(verbose)
        src = _Source(x, shuffle, opts.steps_per_epoch, "x")
        if self._net is None:
            self._source_batch(src.peek(), None, "x")  # builds from the first batch's width
        val, vsrc = (None, None, None), None
        if validation_data is not None and is_source(validation_data):
            vsrc = _Source(validation_data, False, opts.validation_steps, "validation_data")
        elif validation_data is not None:
            _, val = _inputs.validation_sets(
                validation_data,
                0.0,
                (None, None, None),
                self.loss_fn,
                self._feature_shape,
                self._net.output_width,
            )
        self.optimizer._bind(self)
        self._last_out = None
        cbl = self._callback_list(
            callbacks, verbose, {"epochs": epochs, "steps": src.steps, "verbose": verbose}, fit=True
        )
        self.stop_training = False
        cbl.on_train_begin()
        initial_epoch = self._take_initial_epoch(initial_epoch)
        logs = {}
        net, opt = self._net, self.optimizer
        for epoch in range(initial_epoch, epochs):
            cbl.on_epoch_begin(epoch)
            total = MetricSum(net, self._metric_codes)
            hooks = cbl.wants_batch_hooks
            for b, batch in enumerate(src.epoch()):
                bx, by, bsw = self._source_batch(batch, class_weight, "x")
                if hooks:
                    cbl.on_train_batch_begin(b)
                step = int(net.step)
                bl, _, _ = net.train_epoch(
                    bx, by, bsw, len(bx), False, opt._lrs(step, 1), opt._lr_at(step), None, 0.0
                )
                total.add(bl)
                if hooks:
                    cbl.on_train_batch_end(b, self._logs(*total.results()))
                if self.stop_training:
                    break
            if total.rows == 0:  # an exhausted generator: nothing left to train on
                warnings.warn(
                    "fit: the generator is exhausted; training stops (a generator cannot "
                    "restart: give steps_per_epoch with an endless one, or a PyDataset)",
                    stacklevel=2,
                )
                break
            logs = self._logs(*total.results())
            if opts.should_eval(epoch) and (vsrc is not None or val[0] is not None):
                cbl.on_test_begin()
                if vsrc is not None:
                    val_logs = self._logs(*self._source_eval(vsrc, "validation_data"))
                else:
                    vbs = opts.validation_batch_size or 32
                    val_logs = self._logs(*self._net_evaluate(*val, vbs))
                cbl.on_test_end(val_logs)
                logs.update(("val_" + k, v) for k, v in val_logs.items())
            cbl.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cbl.on_train_end(logs)
        return self.history if self.history is not None else cbl.history

    def _evaluate_source(self, x, y, verbose, sample_weight, return_dict, callbacks, steps=None):
        no_arrays_with_a_source(y, sample_weight)
        src = _Source(x, False, steps, "x")
        if self._net is None:
            self._source_batch(src.peek(), None, "x")
        cbl = self._begin_pass(callbacks, _inputs.verbose(verbose), src.steps, "on_test_begin")
        loss, mets = self._source_eval(src, "x", cbl)
        logs = self._logs(loss, mets)
        if cbl is not None:
            cbl.on_test_end(logs)
        if return_dict:
            return logs
        return list(logs.values()) if self._metric_names else loss

    def _predict_source(self, x, verbose, callbacks, steps=None):
        src = _Source(x, False, steps, "x")
        if self._net is None:
            bx = src.peek()[0]
            self._require_built(_inputs.samples(bx, "x"))
        cbl = self._begin_pass(callbacks, _inputs.verbose(verbose), src.steps, "on_predict_begin")
        outs = []
        for b, (bx, _, _) in enumerate(src.epoch()):
            bx = _inputs.features(bx, self._feature_shape, "x")
            out = np.empty((len(bx), self._net.output_width), dtype=_inputs.F32)
            if len(bx):
                self._net.predict(bx, len(bx), out)
            outs.append(out)
            if cbl is not None and cbl.wants_predict_batch_hooks:
                cbl.on_predict_batch_end(b, {"outputs": out})
        if cbl is not None:
            cbl.on_predict_end()
        if not outs:
            return np.empty((0, self._net.output_width), dtype=_inputs.F32)
        return np.concatenate(outs)
