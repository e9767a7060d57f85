"""Keras 3's activation functions by their Keras names and defaults (``keras.activations``), on
float32 arrays through ``fusednet.ops``. Each function also names its kernel code, so it can be
given as a layer's activation (``Dense(64, activation=fnet.activations.elu)``) and runs fused in
the Net; with a non-default parameter pass the layer a name instead (the Net keeps one parameter
per layer: leaky_relu's negative_slope, elu's alpha).

Differences from ``fusednet.ops``: ``leaky_relu``'s default negative_slope is Keras's 0.2 (ops
keeps PyTorch's 0.01); ``softmax`` / ``log_softmax`` work on the last axis only.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from . import ops

__all__ = [
    "linear",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "gelu",
    "elu",
    "selu",
    "silu",
    "swish",
    "softplus",
    "softsign",
    "relu6",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "exponential",
    "softmax",
    "log_softmax",
    "get",
    "serialize",
]


_F = TypeVar("_F", bound=Callable[..., Any])


def _named(name: str) -> Callable[[_F], _F]:
    def mark(fn: _F) -> _F:
        fn._fnet_activation = name  # type: ignore[attr-defined]
        return fn

    return mark


@_named("linear")
def linear(x: ArrayLike) -> np.ndarray:
    return ops.activation(x, "linear")


@_named("relu")
def relu(x: ArrayLike) -> np.ndarray:
    return ops.relu(x)


@_named("leaky_relu")
def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> np.ndarray:
    return ops.leaky_relu(x, negative_slope)


@_named("sigmoid")
def sigmoid(x: ArrayLike) -> np.ndarray:
    return ops.sigmoid(x)


@_named("tanh")
def tanh(x: ArrayLike) -> np.ndarray:
    return ops.tanh(x)


@_named("gelu")
def gelu(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    return ops.gelu(x, approximate)


@_named("elu")
def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    return ops.elu(x, alpha)


@_named("selu")
def selu(x: ArrayLike) -> np.ndarray:
    return ops.selu(x)


@_named("silu")
def silu(x: ArrayLike) -> np.ndarray:
    return ops.silu(x)


swish = silu


@_named("softplus")
def softplus(x: ArrayLike) -> np.ndarray:
    return ops.softplus(x)


@_named("softsign")
def softsign(x: ArrayLike) -> np.ndarray:
    return ops.softsign(x)


@_named("relu6")
def relu6(x: ArrayLike) -> np.ndarray:
    return ops.relu6(x)


@_named("mish")
def mish(x: ArrayLike) -> np.ndarray:
    return ops.mish(x)


@_named("hard_sigmoid")
def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    return ops.hard_sigmoid(x)


@_named("hard_silu")
def hard_silu(x: ArrayLike) -> np.ndarray:
    return ops.hard_silu(x)


hard_swish = hard_silu


@_named("exponential")
def exponential(x: ArrayLike) -> np.ndarray:
    return ops.exponential(x)


@_named("softmax")
def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    _last_axis(x, axis)
    return ops.softmax(x)


@_named("log_softmax")
def log_softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    _last_axis(x, axis)
    return ops.log_softmax(x)


def _last_axis(x: ArrayLike, axis: int) -> None:
    if axis not in (-1, np.ndim(x) - 1):
        raise ValueError(f"axis: only the last axis (-1) is supported, got {axis!r}")


_BY_NAME = {
    name: fn
    for name, fn in globals().items()
    if callable(fn) and getattr(fn, "_fnet_activation", None) is not None
}


def get(identifier: Any) -> Callable[..., np.ndarray]:
    """The function for a Keras activation name (or the function itself; None -> linear)."""
    if identifier is None:
        return linear
    if callable(identifier) and getattr(identifier, "_fnet_activation", None) is not None:
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]
    raise ValueError(
        f"activation: unknown activation {identifier!r}; expected one of "
        f"{', '.join(repr(k) for k in sorted(_BY_NAME))}"
    )


def serialize(fn: Callable[..., Any]) -> str:
    """The Keras name of an activation function (``get``'s inverse)."""
    name = getattr(fn, "_fnet_activation", None)
    if name is None:
        raise ValueError(f"activation: not a fusednet activation: {fn!r}")
    return name
