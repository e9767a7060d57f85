"""Layers with Keras's names and defaults. Layers only describe the network: ``Sequential``
compiles them into one C++ ``Net`` whose arenas hold the weights.

Supported stacks: ``Dense`` layers, each optionally followed by ``Activation`` (folded into a
linear Dense) and ``Dropout``; ``softmax`` only on the output; an optional leading ``Input`` or
``Dropout``.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, ClassVar, Optional, Union

from . import _activations, _core
from . import initializers as _init
from ._registry import Registry

__all__ = ["Layer", "Dense", "Activation", "Dropout", "Input", "InputLayer"]

# An input width: (64,), [64] or 64.
_Shape = Union[int, tuple[int], list[int], None]

LAYER_ACTIVATIONS = tuple(_activations.ELEMENTWISE) + ("softmax",)
SOFTMAX = _core.Activation.softmax  # row-wise: only a Net's output layer


def activation_code(
    name: Union[str, Callable[..., Any], None], name_of_arg: str = "activation"
) -> tuple[_core.Activation, float, str]:
    """(code, param, canonical name) of a layer activation: an elementwise name or 'softmax', or
    a function of ``fusednet.activations`` (Keras's ``activation=keras.activations.elu``).
    ``"leaky_relu"`` has Keras's negative_slope 0.2 here (``fusednet.ops`` keeps 0.01)."""
    if name is None:
        return _activations.LINEAR, 0.0, "linear"
    name = getattr(name, "_fnet_activation", name)  # a fusednet.activations function
    if not isinstance(name, str):
        raise TypeError(
            f"{name_of_arg}: expected an activation name (str) or None, got {type(name).__name__}"
        )
    key = name.lower()
    if key == "softmax":
        return SOFTMAX, 0.0, "softmax"
    if key not in _activations.ELEMENTWISE:
        raise ValueError(
            f"{name_of_arg}: unknown activation '{name}'; expected one of "
            f"{', '.join(repr(k) for k in LAYER_ACTIVATIONS)}"
        )
    act, param = _activations.elementwise_code(
        key, name_of_arg, negative_slope=_activations.KERAS_NEGATIVE_SLOPE
    )
    return act, param, key


def _check_shape(input_shape: _Shape) -> Optional[tuple[int]]:
    if input_shape is None:
        return None
    if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
        input_shape = (int(input_shape),)
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 1
        or not isinstance(input_shape[0], numbers.Integral)
        or input_shape[0] < 1
    ):
        raise ValueError(
            f"input_shape: expected a 1-tuple of a positive width such as (64,), "
            f"got {input_shape!r}"
        )
    return (int(input_shape[0]),)


class Layer:
    """Base of the layer descriptions."""

    _count: ClassVar[dict] = {}  # default names' counters, per layer kind

    def __init__(self, name: Optional[str] = None, input_shape: _Shape = None) -> None:
        kind = type(self).__name__.lower()
        if name is None:
            n = Layer._count.get(kind, 0)
            Layer._count[kind] = n + 1
            name = kind if n == 0 else f"{kind}_{n}"
        self.name = str(name)
        self.input_shape = _check_shape(input_shape)

    def get_config(self) -> dict:
        cfg = {"name": self.name}
        if self.input_shape is not None:
            cfg["input_shape"] = list(self.input_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class Dense(Layer):
    """``activation(x @ kernel + bias)``; kernel (in, units), bias (units,)."""

    def __init__(
        self,
        units: int,
        activation: Union[str, Callable[..., Any], None] = None,
        use_bias: bool = True,
        kernel_initializer: Union[str, _init.Initializer] = "glorot_uniform",
        bias_initializer: Union[str, _init.Initializer] = "zeros",
        input_shape: _Shape = None,
        name: Optional[str] = None,
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        trainable: bool = True,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"Dense: unexpected argument(s) {', '.join(sorted(kwargs))}")
        super().__init__(name, input_shape)
        # Regularizers, constraints, trainable: applied by the optimizer's native step
        # (fusednet.regularizers, fusednet.constraints); set before compile, as in Keras.
        from . import constraints as _constraints
        from . import regularizers as _regularizers

        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")
        # On a hidden layer's output (Keras: divided by the batch's rows); the output layer's is
        # refused when the model is compiled.
        self.activity_regularizer = _regularizers.get(activity_regularizer, "activity_regularizer")
        self.kernel_constraint = _constraints.get(kernel_constraint, "kernel_constraint")
        self.bias_constraint = _constraints.get(bias_constraint, "bias_constraint")
        self.trainable = bool(trainable)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"units: expected a positive int, got {units!r}")
        self.units = int(units)
        self.act_code, self.act_param, self.activation = activation_code(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _init.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = _init.get(bias_initializer, "bias_initializer")

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            units=self.units,
            activation=self.activation,
            use_bias=self.use_bias,
            kernel_initializer=self.kernel_initializer.name,
            bias_initializer=self.bias_initializer.name,
        )
        from . import constraints as _constraints
        from . import regularizers as _regularizers

        for key, mod in (
            ("kernel_regularizer", _regularizers),
            ("bias_regularizer", _regularizers),
            ("activity_regularizer", _regularizers),
            ("kernel_constraint", _constraints),
            ("bias_constraint", _constraints),
        ):
            if getattr(self, key) is not None:  # configs without them stay as before
                cfg[key] = mod.serialize(getattr(self, key))
        if not self.trainable:
            cfg["trainable"] = False
        return cfg


class Activation(Layer):
    """An activation on its own; folded into the preceding linear Dense."""

    def __init__(
        self, activation: str, name: Optional[str] = None, input_shape: _Shape = None
    ) -> None:
        super().__init__(name, input_shape)
        self.act_code, self.act_param, self.activation = activation_code(activation)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class Dropout(Layer):
    """Zeroes each input with probability ``rate`` in training and scales the rest by
    1 / (1 - rate); the identity at inference. Masks are seeded from the model seed."""

    def __init__(
        self,
        rate: float,
        name: Optional[str] = None,
        input_shape: _Shape = None,
        seed: Optional[int] = None,
    ) -> None:
        super().__init__(name, input_shape)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"rate: expected a number in [0, 1), got {rate!r}")
        self.rate = float(rate)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["rate"] = self.rate
        return cfg


class InputLayer(Layer):
    """Declares the input width: ``Input(shape=(64,))``."""

    def __init__(
        self, shape: _Shape = None, name: Optional[str] = None, input_shape: _Shape = None
    ) -> None:
        super().__init__(name, shape if shape is not None else input_shape)
        if self.input_shape is None:
            raise ValueError("shape: expected the input width, e.g. Input(shape=(64,))")

    def get_config(self) -> dict:
        return {"name": self.name, "shape": list(self.input_shape)}


def Input(shape: _Shape, name: Optional[str] = None) -> InputLayer:
    """Keras's ``Input(shape=...)`` as the first entry of a Sequential."""
    return InputLayer(shape=shape, name=name)


_REGISTRY: Registry[Layer] = Registry(
    "layer",
    Layer,
    (Dense, Activation, Dropout, InputLayer),
    names={},
    expected="a fusednet.layers.Layer",
)
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize
