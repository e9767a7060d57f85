"""``GradientTape``: Keras's custom-loop API on top of the Net's fused forward/backward.

    with fusednet.GradientTape() as tape:
        pred = model(x, training=True)      # recorded: the Net keeps the forward state
        loss = loss_fn(y, pred)             # computed in the Net (fused with the output act)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))

The tape records model outputs, not arbitrary NumPy arithmetic: differentiable losses are loss
objects (``fusednet.losses``) applied to an output of ``model(x)`` taken inside the tape.
"""

from __future__ import annotations

from typing import Any

from . import _recorded
from . import losses as _losses
from .variables import Variable

__all__ = ["GradientTape"]


class _OutputRecord:
    """One recorded model call: the model and the output array it returned."""

    def __init__(self, tape, model, out):
        self.tape = tape
        self.model = model
        self.out = out

    def loss(self, loss_fn, y_true, sample_weight):
        model = self.model
        if model._last_out is not self.out:
            raise RuntimeError(
                "the model was called again after this output was recorded; "
                "compute the loss before the next model call"
            )
        value = model._loss_value(loss_fn, self.out, y_true, sample_weight)
        return _TapeLoss(value, self, loss_fn, model._net.output_grad().copy())


class _TapeLoss(_losses.LossValue):
    """A loss value the tape can differentiate (a float with ``.numpy()``)."""

    def __new__(cls, value, record, loss_fn, dout):
        obj = super().__new__(cls, value)
        obj._record = record
        obj._loss_fn = loss_fn
        obj._dout = dout
        return obj


class GradientTape:
    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self._records = []
        self._used = False

    def __enter__(self) -> GradientTape:
        _recorded.start(self)
        return self

    def __exit__(self, *exc: object) -> bool:
        _recorded.stop(self)
        return False

    def _record_output(self, model, out):
        """Called (through fusednet._recorded) for each ``model(x)`` inside this tape."""
        self._records.append(_OutputRecord(self, model, out))

    def watch(self, tensor: Any) -> None:
        pass  # model variables are always watched

    def gradient(self, target: Any, sources: Any) -> Any:
        """Gradients of `target` (a loss of a recorded model output) w.r.t. `sources` (the
        model's variables, a list or a single one), as float32 arrays in the same structure."""
        if not isinstance(target, _TapeLoss) or target._record.tape is not self:
            raise ValueError(
                "gradient: target must be a loss computed inside this tape from "
                "model(x, training=...) called inside this tape"
            )
        if self._used and not self.persistent:
            raise RuntimeError(
                "gradient: a non-persistent GradientTape can compute gradients "
                "only once; use GradientTape(persistent=True)"
            )
        self._used = True
        model = target._record.model
        if model._last_out is not target._record.out:
            raise RuntimeError(
                "gradient: the model was called again after this loss was "
                "computed; take the gradient before the next model call"
            )
        model._backward(target._dout, target._loss_fn)
        single = not isinstance(sources, (list, tuple))
        srcs = [sources] if single else list(sources)
        out = []
        for v in srcs:
            if not isinstance(v, Variable):
                raise TypeError(
                    f"gradient: sources must be model variables, got {type(v).__name__}"
                )
            out.append(v._grad_view.copy() if v._model is model else None)
        return out[0] if single else out
