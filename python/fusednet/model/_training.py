"""Running data through the model's Net: ``fit``, ``evaluate``, ``predict``, the explicit
forward / loss / backward / update loop, and ``model(x)`` (recorded by an active GradientTape).

``TrainingLoop`` holds these methods of ``Sequential`` (it is one of its bases); they work on the
state ``Sequential`` keeps: ``_net``, ``optimizer``, ``loss_fn``, ``_metric_names``,
``_metric_codes``, ``_last_out``, ``stop_training``, ``history``.

``fit`` hands whole epochs to C++: every epoch in one call when no callback needs Python between
epochs, else one call per epoch, entering Python per batch only when a callback asks for batch
events. The calls into the Net that pass the loss and the metrics are ``_fit_in_one_call``
(``net.fit``), ``_fit_per_epoch`` (``net.train_epoch``), ``_net_evaluate`` (``net.evaluate``,
for fit's validation and evaluate), ``_loss_value`` (``net.loss``) and ``_backward``
(``net.backward``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, TypeVar, Union

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    import numpy.typing as npt

    from ..callbacks import Callback, CallbackList, History
    from ..distributed import DataParallel

import contextlib
import functools
import math
import threading

import numpy as np

from .. import _recorded
from .. import losses as _losses
from .. import metrics as _metrics
from .._arrays import like_inputs
from . import _fit_options, _inputs, _pydata, _python_loss, _specs
from ._metric_sum import MetricSum

__all__ = ["TrainingLoop"]

_F = TypeVar("_F", bound=Callable[..., Any])


def _steps(n: int, bs: int) -> int:
    return (n + bs - 1) // bs


def _batches(n: int, bs: int) -> Iterator[tuple[int, int, int]]:
    """(index, start, end) of each batch of `n` samples."""
    for b in range(_steps(n, bs)):
        yield b, b * bs, min(n, (b + 1) * bs)


def _distributed(method: _F) -> _F:
    """fit/evaluate with ``distributed=...``: the call's data-parallel Session as ``_dp`` (None
    alone); an exception on this rank is first told to the others (fusednet.distributed)."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, distributed: Any = False, **kwargs: Any) -> Any:
        from ..distributed import _data_parallel

        dp = _data_parallel.strategy(distributed)
        if dp is None:
            return method(self, *args, _dp=None, **kwargs)
        session = _data_parallel.Session(dp, self)
        try:
            return method(self, *args, _dp=session, **kwargs)
        except BaseException as e:
            session.failed(e)
            raise
        finally:
            session.detach()

    return call  # type: ignore[return-value]


class TrainingLoop:
    """The methods of ``Sequential`` that run data through its Net (see the module docstring)."""

    def _prepare_x(self, x: npt.ArrayLike, name: str = "x") -> np.ndarray:
        """x as the Net's input; the first data a model sees fixes its input width (build)."""
        if self._net is None:
            self._require_built(_inputs.samples(x, name))
        return _inputs.features(x, self._feature_shape, name)

    def _logs(self, loss: float, metrics: Sequence[float]) -> dict[str, Any]:
        """Logs from the loss and the net's concatenated metric results (a vector-valued
        metric, such as F1Score(average=None), takes several)."""
        logs = {"loss": loss}
        values = _metrics.split_results(list(metrics), self._metric_objects, self._net.output_width)
        logs.update(zip(self._metric_names, values))
        return logs

    def _callback_list(
        self,
        callbacks: Optional[Sequence[Callback]],
        verbose: int,
        params: dict[str, Any],
        fit: bool = False,
        main: bool = True,
    ) -> Optional[CallbackList]:
        """fit's CallbackList (with its History), or evaluate/predict's: None when nothing would
        listen. main=False (a data-parallel rank other than 0) leaves out the callbacks that
        write (main_rank_only)."""
        if not fit and not callbacks and not verbose:
            return None
        from ..callbacks import CallbackList  # on first use: `import fusednet` stays light

        return CallbackList(
            callbacks,
            add_history=fit,
            add_progbar=verbose != 0,
            verbose=verbose,
            model=self,
            params=params,
            main=main,
        )

    def _begin_pass(
        self,
        callbacks: Optional[Sequence[Callback]],
        verbose: int,
        steps: int,
        begin: str,
        main: bool = True,
    ) -> Optional[CallbackList]:
        """evaluate's or predict's CallbackList with its `begin` hook called, or None."""
        # The explicit loop continues only from a forward after them -- in the thread that ran
        # that forward: predictions of other threads run on workspaces of their own.
        if getattr(self, "_last_out_thread", None) == threading.get_ident():
            self._last_out = None
        cbl = self._callback_list(
            callbacks, verbose, {"steps": steps, "verbose": verbose}, main=main
        )
        if cbl is not None:
            getattr(cbl, begin)()
        return cbl

    # ---- fit -------------------------------------------------------------------------------
    @_distributed
    def fit(
        self,
        x: Optional[npt.ArrayLike] = None,
        y: Optional[npt.ArrayLike] = None,
        batch_size: Optional[int] = None,
        epochs: int = 1,
        verbose: Union[int, str] = 1,
        callbacks: Optional[Sequence[Callback]] = None,
        validation_split: float = 0.0,
        validation_data: Optional[tuple[Any, ...]] = None,
        shuffle: bool = True,
        initial_epoch: int = 0,
        sample_weight: Optional[npt.ArrayLike] = None,
        class_weight: Optional[dict[int, float]] = None,
        steps_per_epoch: Optional[int] = None,
        validation_steps: Optional[int] = None,
        validation_batch_size: Optional[int] = None,
        validation_freq: Union[int, Sequence[int]] = 1,
        restore_on_nan: bool = False,
        *,
        distributed: Union[bool, DataParallel] = False,  # taken by @_distributed
        _dp: Any = None,
    ) -> History:
        """Trains for ``epochs - initial_epoch`` epochs; returns the History (also
        ``model.history``) with per-epoch ``loss``, metrics and ``val_`` entries.
        ``class_weight``, ``steps_per_epoch``, ``validation_steps``, ``validation_batch_size``
        and ``validation_freq`` are Keras's (see ``_fit_options``).
        ``distributed=True`` (or a ``fusednet.distributed.DataParallel``) trains over the MPI
        ranks: ``batch_size`` is then the global batch (see fusednet.distributed).

        Divergence: with a ``TerminateOnNaN`` callback, training stops after the first batch
        whose loss is NaN or infinite (its update applied, as in Keras). ``restore_on_nan=True``
        stops there too (with or without the callback) but before that batch's update, and
        keeps the last finite weights: if the previous update already made the weights
        non-finite, the weights from before it are put back (the optimizer state stays as the
        last applied update left it). That epoch's validation still runs and its logs (a
        non-finite ``loss``) go to the callbacks and the History. Both are checked by the C++
        epoch loop after each batch: free on the CPU, one 8-byte download per batch on a GPU."""

        self._require_compiled("fit")
        opts = _fit_options.FitOptions(
            steps_per_epoch, validation_steps, validation_batch_size, validation_freq
        )
        if class_weight is not None and sample_weight is not None:
            raise ValueError("class_weight and sample_weight: give one or the other, not both")
        if _dp is not None and _pydata.is_source(x):
            raise ValueError(
                "distributed: PyDataset/generator inputs are not supported in a distributed "
                "fit (their batches are not split over the ranks); give arrays, whole on every "
                "rank or pre-sharded with DataParallel(sharded=True)"
            )
        if _dp is not None and _dp.dp.sharded and opts.picks_batches:
            raise ValueError(
                "distributed: steps_per_epoch and validation_steps need the whole data set on "
                "every rank (DataParallel(sharded=False)): with pre-sharded input the ranks' "
                "passes would end at different steps"
            )
        if isinstance(self.loss_fn, _losses.LossFunctionWrapper) and (
            _dp is not None or _pydata.is_source(x) or opts.custom
        ):
            raise ValueError(
                "loss: a Python function loss trains on arrays with whole epochs only; "
                "distributed=, steps_per_epoch, validation_steps, validation_freq and "
                "PyDataset/generator inputs need a native loss"
            )
        if _pydata.is_source(x):  # batches fed from Python (PyDataset, generator)
            _pydata.no_arrays_with_a_source(y, sample_weight)
            return self._fit_source(
                x, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
                initial_epoch, class_weight, opts,
            )  # fmt: skip
        bs = _inputs.batch_size(batch_size)
        epochs = _inputs.int_arg(epochs, "epochs", 0)
        initial_epoch = _inputs.int_arg(initial_epoch, "initial_epoch", 0)
        verbose = _inputs.verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        if n == 0:
            raise ValueError("x: expected at least one sample, got 0")
        units = self._net.output_width
        y = _inputs.targets(y, n, self.loss_fn, units)
        sw = _inputs.sample_weights(sample_weight, n)
        train, val = _inputs.validation_sets(
            validation_data,
            validation_split,
            (x, y, sw),
            self.loss_fn,
            self._feature_shape,
            units,
        )
        if class_weight is not None:  # the training part only, as Keras
            tx, ty, _ = train
            train = (tx, ty, _fit_options.class_weights(class_weight, ty, len(tx)))
        self.optimizer._bind(self)
        self._last_out = None  # the workspace will no longer hold an explicit-loop forward
        n = len(train[0])
        steps = opts.steps_per_epoch or _steps(n, bs)
        cbl = self._callback_list(
            callbacks,
            verbose,
            {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": bs, "samples": n},
            fit=True,
            main=_dp is None or _dp.is_main,
        )
        self.stop_training = False
        self._nan_watch = (
            2
            if restore_on_nan
            else int(any(getattr(cb, "_stops_on_nan", False) for cb in cbl.callbacks))
        )
        if _dp is not None and self._nan_watch == 2:
            raise ValueError(
                "restore_on_nan: not supported with distributed= (a rank skipping its update "
                "would leave the others waiting); use TerminateOnNaN, which stops every rank"
            )
        if _dp is not None:  # same model, data and arguments on every rank; rank 0's state
            sharded = _dp.dp.sharded
            facts = _dp.model_facts(self)
            facts.update(_dp.data_facts("x", *train, sharded))
            if val[0] is not None:
                facts.update(_dp.data_facts("validation x", *val, sharded))
            facts["batch_size, epochs, initial_epoch, shuffle"] = (
                bs,
                epochs,
                initial_epoch,
                bool(shuffle),
            )
            facts["validation"] = val[0] is not None
            facts["steps_per_epoch, validation_steps, validation_batch_size, validation_freq"] = (
                opts.steps_per_epoch,
                opts.validation_steps,
                opts.validation_batch_size,
                opts.validation_freq,
            )
            _dp.agree("fit", facts)
            _dp.broadcast_state()
            # Whether some rank's callbacks may stop an epoch after a batch: all then do.
            batch_stops = _dp.world.any(cbl.wants_batch_hooks, "fit's callbacks")
            _dp.attach(batch_stops)
            if opts.custom:  # every rank picks the same batches (the seed is rank 0's)
                return self._fit_with_options(
                    cbl, train, val, bs, shuffle, initial_epoch, epochs, opts, _dp
                )
            return self._fit_per_epoch(
                cbl, train, val, bs, shuffle, initial_epoch, epochs, steps, _dp
            )
        if opts.custom:
            return self._fit_with_options(cbl, train, val, bs, shuffle, initial_epoch, epochs, opts)
        if isinstance(self.loss_fn, _losses.LossFunctionWrapper):  # batch by batch from Python
            return _python_loss.fit(
                self, cbl, train, val, bs, shuffle, initial_epoch, epochs, steps
            )
        if len(cbl.callbacks) == 1 and cbl.callbacks[0] is cbl.history:
            # Nothing to call between epochs: every epoch in one C++ call, History filled after.
            return self._fit_in_one_call(cbl, train, val, bs, shuffle, initial_epoch, epochs, steps)
        return self._fit_per_epoch(cbl, train, val, bs, shuffle, initial_epoch, epochs, steps)

    def _fit_in_one_call(self, cbl, train, val, bs, shuffle, initial_epoch, epochs, steps):
        history, net = cbl.history, self._net
        run = max(epochs - initial_epoch, 0)
        keys = ["loss"] + self._metric_names
        if val[0] is not None:
            keys += ["val_" + k for k in keys]
        cbl.on_train_begin()
        logs = {}
        if run:
            lrs = self.optimizer._lrs(int(net.step), steps * run)
            table = net.fit(
                *train,
                bs,
                run,
                bool(shuffle),
                lrs,
                self.optimizer._lr_at(int(net.step)),
                *val,
                bs,
                nan_watch=self._nan_watch,
            )
            per = table.shape[1] // (2 if val[0] is not None else 1)
            if not self._metric_objects and len(table):  # the losses only: whole columns
                columns = {"loss": table[:, 0].tolist()}
                if val[0] is not None:
                    columns["val_loss"] = table[:, per].tolist()
                for k in keys:
                    history.history.setdefault(k, []).extend(columns[k])
                logs = {k: columns[k][-1] for k in keys}
            for row in table if self._metric_objects else ():
                # [loss, metrics..., (val_loss, val_metrics...)] per epoch
                logs = self._logs(float(row[0]), row[1:per].tolist())
                if val[0] is not None:
                    val_logs = self._logs(float(row[per]), row[per + 1 :].tolist())
                    logs.update(("val_" + k, v) for k, v in val_logs.items())
                for k in keys:
                    history.history.setdefault(k, []).append(logs[k])
            history.epoch.extend(range(initial_epoch, initial_epoch + len(table)))
            if len(table) < run:  # stopped at a non-finite loss
                self.stop_training = True
        self.history = history
        _finalize_optimizer(self)
        cbl.on_train_end(logs)
        return history

    def _fit_per_epoch(self, cbl, train, val, bs, shuffle, initial_epoch, epochs, steps, dp=None):
        net = self._net
        cbl.on_train_begin()
        initial_epoch = self._take_initial_epoch(initial_epoch)
        logs = {}
        # A device-resident net keeps x, y (and the validation set) on the device across the
        # per-epoch calls instead of uploading them each epoch.
        holding = getattr(net, "holding_data", contextlib.nullcontext)
        with holding():
            for epoch in range(initial_epoch, epochs):
                cbl.on_epoch_begin(epoch)
                lrs = self.optimizer._lrs(int(net.step), steps)
                lr = self.optimizer._lr_at(int(net.step))
                hook = self._batch_hook(cbl, steps) if cbl.wants_batch_hooks else None
                if hook is not None:
                    cbl.on_train_batch_begin(0)
                tl, tm, _ = net.train_epoch(
                    *train,
                    bs,
                    bool(shuffle),
                    lrs,
                    lr,
                    hook,
                    cbl.batch_hook_interval,
                    nan_watch=self._nan_watch,
                )
                if self._nan_watch and not math.isfinite(tl):  # the loop stopped at that batch
                    self.stop_training = True
                logs = self._logs(tl, tm)
                if val[0] is not None:
                    cbl.on_test_begin()
                    val_logs = self._logs(*self._net_evaluate(*val, bs))
                    cbl.on_test_end(val_logs)
                    logs.update(("val_" + k, v) for k, v in val_logs.items())
                cbl.on_epoch_end(epoch, logs)
                if dp is not None:  # a callback on any rank stops every rank
                    self.stop_training = dp.any(self.stop_training)
                if self.stop_training:
                    break
        _finalize_optimizer(self)
        cbl.on_train_end(logs)
        return self.history if self.history is not None else cbl.history

    def _batch_hook(self, cbl, steps):
        """Called by C++ after each batch: the batch-end hook with the epoch's running loss and
        metrics, then the next batch's begin hook; returns False to stop (model.stop_training)."""

        def hook(b, loss, metrics):
            cbl.on_train_batch_end(b, self._logs(loss, metrics))
            if self.stop_training:
                return False
            if b + 1 < steps:
                cbl.on_train_batch_begin(b + 1)
            return not self.stop_training

        return hook

    # ---- evaluate / predict ----------------------------------------------------------------
    def _net_evaluate(self, x, y, sw, bs):
        """(loss, metrics) of the compiled loss and metrics over a prepared data set."""
        if isinstance(self.loss_fn, _losses.LossFunctionWrapper):
            return _python_loss.evaluate(self, x, y, sw, bs)
        value, metrics, _ = self._net.evaluate(x, y, sw, bs)
        return value, metrics

    @_distributed
    def evaluate(
        self,
        x: Optional[npt.ArrayLike] = None,
        y: Optional[npt.ArrayLike] = None,
        batch_size: Optional[int] = None,
        verbose: Union[int, str] = 1,
        sample_weight: Optional[npt.ArrayLike] = None,
        steps: Optional[int] = None,
        callbacks: Optional[Sequence[Callback]] = None,
        return_dict: bool = False,
        *,
        distributed: Union[bool, DataParallel] = False,  # taken by @_distributed
        _dp: Any = None,
    ) -> Any:
        """Loss (and metrics) over the data: a float, ``[loss, *metrics]``, or a dict.
        ``verbose=1`` shows a progress bar (then the batches are run one C++ call each).
        ``steps``: only the first ``steps`` batches (all of them when there are fewer), as Keras.
        ``distributed=True``: every rank evaluates its share (whole or pre-sharded data, as in
        fit) and all get the figures over all the ranks' samples, in one C++ call each."""
        self._require_compiled("evaluate")
        steps = _inputs.steps(steps)
        if _pydata.is_source(x):  # batches fed from Python (PyDataset, generator)
            return self._evaluate_source(
                x, y, verbose, sample_weight, return_dict, callbacks, steps
            )
        if steps is not None and _dp is not None:
            raise ValueError("steps: not supported with distributed= (give each rank its samples)")
        bs = _inputs.batch_size(batch_size)
        verbose = _inputs.verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        y = _inputs.targets(y, n, self.loss_fn, self._net.output_width)
        sw = _inputs.sample_weights(sample_weight, n)
        if steps is not None and steps * bs < n:
            n = steps * bs
            x, y = x[:n], (y[:n] if y is not None else None)
            sw = None if sw is None else sw[:n]
        if _dp is not None:  # the same model and weights on every rank
            facts = _dp.model_facts(self)
            facts.update(_dp.data_facts("x", x, y, sw, _dp.dp.sharded))
            facts["weights (train with distributed=True to keep them equal)"] = _dp.weights_digest()
            facts["batch_size"] = bs
            _dp.agree("evaluate", facts)
            _dp.attach()
        main = _dp is None or _dp.is_main
        cbl = self._begin_pass(callbacks, verbose, _steps(n, bs), "on_test_begin", main)
        if cbl is not None and cbl.wants_test_batch_hooks and _dp is None:
            total = MetricSum(self._net, self._metric_codes)
            for b, s, e in _batches(n, bs):
                cbl.on_test_batch_begin(b)
                bl, _ = self._net_evaluate(x[s:e], y[s:e], None if sw is None else sw[s:e], bs)
                total.add(bl)
                cbl.on_test_batch_end(b, self._logs(*total.results()))
            loss, mets = total.results()
        else:
            loss, mets = self._net_evaluate(x, y, sw, bs)
        logs = self._logs(loss, mets)
        if cbl is not None:
            cbl.on_test_end(logs)
        if return_dict:
            return logs
        return list(logs.values()) if self._metric_names else loss

    def predict(
        self,
        x: npt.ArrayLike,
        batch_size: Optional[int] = None,
        verbose: Union[int, str] = 0,
        steps: Optional[int] = None,
        callbacks: Optional[Sequence[Callback]] = None,
    ) -> np.ndarray:
        """Model outputs (after the output activation) for every sample, batched in C++.
        ``steps``: the outputs of the first ``steps`` batches only, as Keras.
        (Keras's default is a progress bar; here ``verbose=0`` is, as predict is often called
        in loops.)"""
        steps = _inputs.steps(steps)
        if _pydata.is_source(x):  # batches fed from Python (PyDataset, generator)
            return self._predict_source(x, verbose, callbacks, steps)
        bs = _inputs.batch_size(batch_size)
        verbose = _inputs.verbose(verbose)
        x_in = x  # the result comes back in its kind (a PyTorch tensor for a tensor)
        x = self._prepare_x(x)
        if steps is not None and steps * bs < len(x):
            x = x[: steps * bs]
        n = len(x)
        out = np.empty((n, self._net.output_width), dtype=_inputs.F32)
        if n == 0:
            return like_inputs(out, x_in)
        cbl = self._begin_pass(callbacks, verbose, _steps(n, bs), "on_predict_begin")
        if cbl is not None and cbl.wants_predict_batch_hooks:
            for b, s, e in _batches(n, bs):
                cbl.on_predict_batch_begin(b)
                self._net.predict(x[s:e], bs, out[s:e])
                cbl.on_predict_batch_end(b, {"outputs": out[s:e]})
        else:
            self._net.predict(x, bs, out)
        if cbl is not None:
            cbl.on_predict_end()
        return like_inputs(out, x_in)

    def __call__(self, x: npt.ArrayLike, training: bool = False) -> np.ndarray:
        """The output for x. ``training=True`` applies dropout and keeps what backward needs;
        inside a GradientTape the output is recorded so a loss on it can be differentiated.
        Outside a tape, ``model(x)`` is inference: it runs as ``predict`` does (several threads
        at once, each on its own workspace) and keeps nothing for backward."""
        if not training and not _recorded.recording():
            x_in = x  # the result comes back in its kind (a PyTorch tensor for a tensor)
            x = self._prepare_x(x)
            if len(x) == 0:
                raise ValueError("x: expected at least one sample, got 0")
            return like_inputs(self.predict(x, batch_size=len(x)), x_in)
        out = self.forward(x, training=bool(training))
        if _recorded.recording():  # a tape differentiates the very array the model returned
            _recorded.record_output(self, out)
            return out
        return like_inputs(out, x)

    # ---- explicit loop ---------------------------------------------------------------------
    def forward(self, x: npt.ArrayLike, training: bool = True) -> np.ndarray:
        """Forward pass that keeps what ``backward`` needs; returns the output (a copy).
        It changes the state the explicit loop continues from, so calls from several threads
        take turns (each returns its own output); fit and updates wait for it, and it for them."""
        x = self._prepare_x(x)
        if len(x) == 0:
            raise ValueError("x: expected at least one sample, got 0")
        out = self._net.forward_output(x, bool(training))
        self._last_out = out
        self._last_out_thread = threading.get_ident()
        return out

    def _loss_value(self, loss, out, y, sample_weight):
        """Loss of the last forward (whose output is `out`) and the output delta, in the Net.
        `loss` is the compiled one (model.loss) or any loss object (a GradientTape's)."""
        if out is not self._last_out:
            raise ValueError(
                "out: expected the array returned by the latest model.forward(x) "
                "(the loss is computed from the Net's saved forward state)"
            )
        _specs.check_loss(loss, self.layers)
        n = len(out)
        y = _inputs.targets(y, n, loss, self._net.output_width)
        sw = _inputs.sample_weights(sample_weight, n)
        if isinstance(loss, _losses.LossFunctionWrapper):  # value and gradient from Python
            value, grad = loss.value_and_grad(y, out, sw)
            self._net.output_grad()[...] = grad
            return value
        return _losses.LossValue(self._net.loss(y, sw, loss.spec()))

    def loss(
        self, out: np.ndarray, y: npt.ArrayLike, sample_weight: Optional[npt.ArrayLike] = None
    ) -> tuple[float, np.ndarray]:
        """``(loss, dout)`` of the compiled loss on the latest forward. ``dout`` is the gradient
        with respect to the output layer's logits when the output activation is fused with the
        loss (sigmoid + binary CE, softmax + CE), otherwise with respect to ``out``."""
        if self.loss_fn is None:
            raise RuntimeError("loss: the model is not compiled; call model.compile(...) first")
        value = self._loss_value(self.loss_fn, out, y, sample_weight)
        return value, self._net.output_grad().copy()

    def backward(self, dout: npt.ArrayLike) -> None:
        """Gradients of all variables from ``dout`` (as returned by ``loss``); read them with
        ``model.gradients`` or ``variable.grad``."""
        if self.loss_fn is None:
            raise RuntimeError("backward: the model is not compiled; call model.compile(...) first")
        self._backward(dout, self.loss_fn)

    def _backward(self, dout, loss):
        if self._last_out is None:
            raise RuntimeError("backward: run forward first")
        g = self._net.output_grad()
        dout = np.asarray(dout)
        if dout.shape != g.shape:
            raise ValueError(
                f"dout: expected shape {g.shape} (the last forward's output), got {dout.shape}"
            )
        if not np.shares_memory(dout, g):
            g[...] = dout
        self._net.backward(loss.spec())

    def update_weights(self) -> None:
        """One optimizer step over the whole parameter arena with the current gradients."""
        self._require_compiled("update_weights")
        self.optimizer._step(self)


def _finalize_optimizer(model) -> None:
    """Keras's end of fit: an optimizer with use_ema writes its moving average into the weights."""
    finalize = getattr(model.optimizer, "finalize_variable_values", None)
    if finalize is not None:
        finalize()
