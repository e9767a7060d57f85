"""Model outputs recorded by the active ``GradientTape``\\ s.

The meeting point of three modules that must not import one another for it: the model records
each output of ``model(x)`` here, a loss looks up the output it is given, and the tape opens and
closes a recording. Nothing here knows what a record is: each active tape keeps its own list
``tape._records`` of objects with ``.out`` (the array the model returned) and
``.loss(loss_fn, y_true, sample_weight)`` (the loss the tape can differentiate), and builds them
in ``tape._record_output(model, out)``.
"""

from __future__ import annotations

__all__ = ["start", "stop", "recording", "record_output", "lookup_output"]

_active: list = []  # the tapes inside whose ``with`` block we are, innermost last


def start(tape) -> None:
    _active.append(tape)


def stop(tape) -> None:
    if tape in _active:
        _active.remove(tape)


def recording() -> bool:
    """True inside a GradientTape's ``with`` block: model outputs are then recorded."""
    return bool(_active)


def record_output(model, out) -> None:
    """Every active tape records `out`, the array `model` just returned."""
    for tape in _active:
        tape._record_output(model, out)


def lookup_output(y_pred):
    """The record of `y_pred` (the very array a model returned inside an active tape; innermost
    tape and latest record first), or None."""
    for tape in reversed(_active):
        for rec in reversed(tape._records):
            if rec.out is y_pred:
                return rec
    return None
