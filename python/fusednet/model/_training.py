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

import contextlib
import math
import threading

import numpy as np

from .. import _recorded
from .. import losses as _losses
from . import _inputs, _specs

__all__ = ["TrainingLoop"]


def _steps(n, bs):
    return (n + bs - 1) // bs


def _batches(n, bs):
    """(index, start, end) of each batch of `n` samples."""
    for b in range(_steps(n, bs)):
        yield b, b * bs, min(n, (b + 1) * bs)


class TrainingLoop:
    """The methods of ``Sequential`` that run data through its Net (see the module docstring)."""

    def _prepare_x(self, x, name="x"):
        """x as the Net's input; the first data a model sees fixes its input width (build)."""
        if self._net is None:
            self._require_built(_inputs.samples(x, name))
        return _inputs.features(x, self._net.input_width, name)

    def _logs(self, loss, metrics):
        logs = {"loss": loss}
        logs.update(zip(self._metric_names, metrics))
        return logs

    def _callback_list(self, callbacks, verbose, params, fit=False):
        """fit's CallbackList (with its History), or evaluate/predict's: None when nothing would
        listen."""
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
        )

    def _begin_pass(self, callbacks, verbose, steps, begin):
        """evaluate's or predict's CallbackList with its `begin` hook called, or None."""
        # The explicit loop continues only from a forward after them -- in the thread that ran
        # that forward: predictions of other threads run on workspaces of their own.
        if getattr(self, "_last_out_thread", None) == threading.get_ident():
            self._last_out = None
        cbl = self._callback_list(callbacks, verbose, {"steps": steps, "verbose": verbose})
        if cbl is not None:
            getattr(cbl, begin)()
        return cbl

    # ---- fit -------------------------------------------------------------------------------
    def fit(
        self,
        x=None,
        y=None,
        batch_size=None,
        epochs=1,
        verbose=1,
        callbacks=None,
        validation_split=0.0,
        validation_data=None,
        shuffle=True,
        initial_epoch=0,
        sample_weight=None,
        restore_on_nan=False,
    ):
        """Trains for ``epochs - initial_epoch`` epochs; returns the History (also
        ``model.history``) with per-epoch ``loss``, metrics and ``val_`` entries.

        Divergence: with a ``TerminateOnNaN`` callback, training stops after the first batch
        whose loss is NaN or infinite (its update applied, as in Keras). ``restore_on_nan=True``
        stops there too (with or without the callback) but before that batch's update, and
        keeps the last finite weights: if the previous update already made the weights
        non-finite, the weights from before it are put back (the optimizer state stays as the
        last applied update left it). That epoch's validation still runs and its logs (a
        non-finite ``loss``) go to the callbacks and the History. Both are checked by the C++
        epoch loop after each batch: free on the CPU, one 8-byte download per batch on a GPU."""
        self._require_compiled("fit")
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
            self._net.input_width,
            units,
        )
        self.optimizer._bind(self)
        self._last_out = None  # the workspace will no longer hold an explicit-loop forward
        n = len(train[0])
        steps = _steps(n, bs)
        cbl = self._callback_list(
            callbacks,
            verbose,
            {"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": bs, "samples": n},
            fit=True,
        )
        self.stop_training = False
        self._nan_watch = (
            2
            if restore_on_nan
            else int(any(getattr(cb, "_stops_on_nan", False) for cb in cbl.callbacks))
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
            cols = table.T.tolist()
            for k, col in zip(keys, cols):
                history.history.setdefault(k, []).extend(col)
            history.epoch.extend(range(initial_epoch, initial_epoch + len(table)))
            if len(table) < run:  # stopped at a non-finite loss
                self.stop_training = True
            logs = {k: col[-1] for k, col in zip(keys, cols)}
        self.history = history
        cbl.on_train_end(logs)
        return history

    def _fit_per_epoch(self, cbl, train, val, bs, shuffle, initial_epoch, epochs, steps):
        net = self._net
        cbl.on_train_begin()
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
                if self.stop_training:
                    break
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
        value, metrics, _ = self._net.evaluate(x, y, sw, bs)
        return value, metrics

    def evaluate(
        self,
        x=None,
        y=None,
        batch_size=None,
        verbose=1,
        sample_weight=None,
        return_dict=False,
        callbacks=None,
    ):
        """Loss (and metrics) over the data: a float, ``[loss, *metrics]``, or a dict.
        ``verbose=1`` shows a progress bar (then the batches are run one C++ call each)."""
        self._require_compiled("evaluate")
        bs = _inputs.batch_size(batch_size)
        verbose = _inputs.verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        y = _inputs.targets(y, n, self.loss_fn, self._net.output_width)
        sw = _inputs.sample_weights(sample_weight, n)
        cbl = self._begin_pass(callbacks, verbose, _steps(n, bs), "on_test_begin")
        if cbl is not None and cbl.wants_test_batch_hooks:
            loss_sum, met_sums = 0.0, [0.0] * len(self._metric_codes)
            for b, s, e in _batches(n, bs):
                cbl.on_test_batch_begin(b)
                bl, bm = self._net_evaluate(x[s:e], y[s:e], None if sw is None else sw[s:e], bs)
                loss_sum += bl * (e - s)
                met_sums = [a + m * (e - s) for a, m in zip(met_sums, bm)]
                cbl.on_test_batch_end(b, self._logs(loss_sum / e, [m / e for m in met_sums]))
            loss, mets = loss_sum / n, [m / n for m in met_sums]
        else:
            loss, mets = self._net_evaluate(x, y, sw, bs)
        logs = self._logs(loss, mets)
        if cbl is not None:
            cbl.on_test_end(logs)
        if return_dict:
            return logs
        return [loss, *mets] if self._metric_names else loss

    def predict(self, x, batch_size=None, verbose=0, callbacks=None):
        """Model outputs (after the output activation) for every sample, batched in C++.
        (Keras's default is a progress bar; here ``verbose=0`` is, as predict is often called
        in loops.)"""
        bs = _inputs.batch_size(batch_size)
        verbose = _inputs.verbose(verbose)
        x = self._prepare_x(x)
        n = len(x)
        out = np.empty((n, self._net.output_width), dtype=_inputs.F32)
        if n == 0:
            return out
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
        return out

    def __call__(self, x, training=False):
        """The output for x. ``training=True`` applies dropout and keeps what backward needs;
        inside a GradientTape the output is recorded so a loss on it can be differentiated.
        Outside a tape, ``model(x)`` is inference: it runs as ``predict`` does (several threads
        at once, each on its own workspace) and keeps nothing for backward."""
        if not training and not _recorded.recording():
            x = self._prepare_x(x)
            if len(x) == 0:
                raise ValueError("x: expected at least one sample, got 0")
            return self.predict(x, batch_size=len(x))
        out = self.forward(x, training=bool(training))
        _recorded.record_output(self, out)
        return out

    # ---- explicit loop ---------------------------------------------------------------------
    def forward(self, x, training=True):
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
        return _losses.LossValue(self._net.loss(y, sw, loss.spec()))

    def loss(self, out, y, sample_weight=None):
        """``(loss, dout)`` of the compiled loss on the latest forward. ``dout`` is the gradient
        with respect to the output layer's logits when the output activation is fused with the
        loss (sigmoid + binary CE, softmax + CE), otherwise with respect to ``out``."""
        if self.loss_fn is None:
            raise RuntimeError("loss: the model is not compiled; call model.compile(...) first")
        value = self._loss_value(self.loss_fn, out, y, sample_weight)
        return value, self._net.output_grad().copy()

    def backward(self, dout):
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

    def update_weights(self):
        """One optimizer step over the whole parameter arena with the current gradients."""
        self._require_compiled("update_weights")
        self.optimizer._step(self)
