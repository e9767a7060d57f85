"""Layers with Keras's names and defaults. Layers only describe the network: ``Sequential``
compiles them into one C++ ``Net`` (a general layer list, csrc/net/spec.h) whose arenas hold the
weights; once built, each layer's ``weights`` / ``get_weights()`` / ``kernel`` ... are windows
onto those arenas.

Layers: ``Dense``, ``Activation`` / ``ReLU`` / ``LeakyReLU`` / ``Softmax`` (softmax anywhere;
an activation right after a linear layer is folded into it, so ``Dense(10)`` +
``Activation("softmax")`` trains exactly as ``Dense(10, activation="softmax")``, with the fused
cross-entropy), ``BatchNormalization``, ``LayerNormalization``, ``Normalization`` (with
``adapt``), ``Dropout`` (between any layers), ``Flatten`` and ``Input`` / ``InputLayer``
(N-D inputs are flattened at the input, in C order). Layers act on the last axis of 2-D
(samples, features) data; ``axis`` arguments accept only that axis.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from typing import Any, Callable, ClassVar, Optional, Union

import numpy as np

from . import _activations, _core
from . import initializers as _init
from ._registry import Registry

__all__ = [
    "Layer",
    "Dense",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Dropout",
    "Flatten",
    "BatchNormalization",
    "LayerNormalization",
    "Normalization",
    "Input",
    "InputLayer",
]

# An input shape: (64,), [64], 64, or N-D such as (28, 28) (flattened at the input).
_Shape = Union[int, tuple[int, ...], list[int], None]

LAYER_ACTIVATIONS = tuple(_activations.ELEMENTWISE) + ("softmax",)
SOFTMAX = _core.Activation.softmax  # row-wise


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


def _check_shape(input_shape: _Shape, name: str = "input_shape") -> Optional[tuple[int, ...]]:
    if input_shape is None:
        return None
    if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
        input_shape = (int(input_shape),)
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) < 1
        or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1
            for d in input_shape
        )
    ):
        raise ValueError(
            f"{name}: expected a tuple of positive sizes such as (64,) or (28, 28), "
            f"got {input_shape!r}"
        )
    return tuple(int(d) for d in input_shape)


def _check_axis(axis: Any, name: str) -> int:
    """Layers act on the feature axis of (samples, features) rows: -1 (or 1)."""
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or axis not in (-1, 1):
        raise ValueError(
            f"{name}: axis: expected -1 (the feature axis of 2-D (samples, features) data), "
            f"got {axis!r}"
        )
    return -1


def _check_real(value: Any, name: str, lo: float, hi: float = math.inf, lo_open=False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        bound = f"> {lo}" if lo_open else f">= {lo}"
        if hi != math.inf:
            bound = f"in [{lo}, {hi}]"
        raise ValueError(f"{name}: expected a number {bound}, got {value!r}")
    return float(value)


class Layer:
    """Base of the layer descriptions. Once the model is built, ``weights`` (trainable then
    non-trainable, Keras's order), ``get_weights()`` and ``set_weights()`` read and write the
    model's arenas; before that a layer has no weights (``[]``)."""

    _count: ClassVar[dict] = {}  # default names' counters, per layer kind
    _nd_input: ClassVar[bool] = False  # may declare an N-D input shape (Flatten, Input)
    # False: the optimizer leaves the layer's weights as they are (Dense(trainable=False) or
    # set before compile / fit).
    trainable: bool = True

    def __init__(self, name: Optional[str] = None, input_shape: _Shape = None) -> None:
        # Keras's default names: the class name in snake_case (batch_normalization, re_lu).
        kind = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", type(self).__name__).lower()
        if name is None:
            n = Layer._count.get(kind, 0)
            Layer._count[kind] = n + 1
            name = kind if n == 0 else f"{kind}_{n}"
        self.name = str(name)
        self.input_shape = _check_shape(input_shape)
        if self.input_shape is not None and len(self.input_shape) > 1 and not self._nd_input:
            raise ValueError(
                f"input_shape: {type(self).__name__} acts on (samples, features) rows; for N-D "
                f"samples {self.input_shape} start with Flatten(input_shape=...) or "
                f"Input(shape=...) and Flatten()"
            )
        self._weights: list = []  # Variables, set by the model that builds this layer

    def get_config(self) -> dict:
        cfg = {"name": self.name}
        if self.input_shape is not None:
            cfg["input_shape"] = list(self.input_shape)
        return cfg

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    # ---- weights (windows onto the building model's arenas) ----
    @property
    def weights(self) -> list:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list:
        return [v for v in self._weights if v.trainable and self.trainable]

    @property
    def non_trainable_weights(self) -> list:
        return [v for v in self._weights if not (v.trainable and self.trainable)]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> list[np.ndarray]:
        return [v.numpy() for v in self._weights]

    def set_weights(self, weights: Iterable[Any]) -> None:
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(
                f"set_weights: layer {self.name} expects {len(self._weights)} arrays "
                f"({', '.join(v.name for v in self._weights) or 'none: not built'}), "
                f"got {len(weights)}"
            )
        arrays = []
        for w, v in zip(weights, self._weights):
            a = np.asarray(w)
            if a.shape != v.shape:
                raise ValueError(f"set_weights: {v.name} expects shape {v.shape}, got {a.shape}")
            if a.dtype.kind not in "fiub":
                raise TypeError(f"set_weights: {v.name} expects real numbers, got {a.dtype}")
            arrays.append(a)
        for a, v in zip(arrays, self._weights):  # all checked first: nothing half-done
            v.assign(a)

    def _weight(self, short: str) -> Any:
        for v in self._weights:
            if v.name.rsplit("/", 1)[-1] == short:
                return v
        if not self._weights:
            raise AttributeError(f"layer {self.name} is not built yet: it has no {short}")
        raise AttributeError(f"layer {self.name} has no {short}")

    def count_params(self) -> int:
        return int(sum(math.prod(v.shape) for v in self._weights))

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

    kernel = property(lambda self: self._weight("kernel"))
    bias = property(lambda self: self._weight("bias") if self.use_bias else None)

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
    """An activation on its own (any name of ``Dense(activation=)``, softmax included). Right
    after a layer without one (a linear Dense, a normalization) it is folded into that layer."""

    def __init__(
        self,
        activation: Union[str, Callable[..., Any], None],
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, input_shape)
        self.act_code, self.act_param, self.activation = activation_code(activation)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class ReLU(Activation):
    """Keras's ``ReLU(max_value=None, negative_slope=0.0, threshold=0.0)``: the relu, relu6
    (``max_value=6``) or leaky relu (``negative_slope > 0``) the kernels have; other
    combinations raise ValueError."""

    def __init__(
        self,
        max_value: Optional[float] = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        negative_slope = _check_real(negative_slope, "negative_slope", 0.0)
        if max_value is not None:
            max_value = _check_real(max_value, "max_value", 0.0)
        if threshold != 0:
            raise ValueError(f"threshold: only 0.0 is supported, got {threshold!r}")
        if max_value is None:
            act = "relu" if negative_slope == 0 else "leaky_relu"
        elif max_value == 6.0 and negative_slope == 0:
            act = "relu6"
        else:
            raise ValueError(
                f"max_value: only None or 6.0 (relu6, with negative_slope 0) are supported, "
                f"got {max_value!r}"
            )
        super().__init__(act, name, input_shape)
        if act == "leaky_relu":
            self.act_param = negative_slope
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, 0.0

    def get_config(self) -> dict:
        cfg = Layer.get_config(self)
        cfg.update(max_value=self.max_value, negative_slope=self.negative_slope, threshold=0.0)
        return cfg


class LeakyReLU(Activation):
    """``x if x > 0 else negative_slope * x`` (Keras's layer default 0.3)."""

    def __init__(
        self, negative_slope: float = 0.3, name: Optional[str] = None, input_shape: _Shape = None
    ) -> None:
        negative_slope = _check_real(negative_slope, "negative_slope", 0.0)
        super().__init__("leaky_relu", name, input_shape)
        self.act_param = negative_slope
        self.negative_slope = negative_slope

    def get_config(self) -> dict:
        cfg = Layer.get_config(self)
        cfg["negative_slope"] = self.negative_slope
        return cfg


class Softmax(Activation):
    """Row-wise softmax over the features (``axis=-1``), anywhere in the stack."""

    def __init__(self, axis: int = -1, name: Optional[str] = None, input_shape: _Shape = None):
        self.axis = _check_axis(axis, "Softmax")
        super().__init__("softmax", name, input_shape)

    def get_config(self) -> dict:
        cfg = Layer.get_config(self)
        cfg["axis"] = self.axis
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


class Flatten(Layer):
    """Flattens each sample (C order). The Net works on (samples, features) rows, so an N-D
    input (``Flatten(input_shape=(28, 28))`` or ``Input(shape=(28, 28))``) is flattened where
    it enters; elsewhere Flatten is the identity."""

    _nd_input = True

    def __init__(
        self,
        data_format: Optional[str] = None,
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, input_shape)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"data_format: only 'channels_last' (or None) is supported, got {data_format!r}"
            )


class BatchNormalization(Layer):
    """Keras's batch normalization over the features: in training ``gamma * (x - mean) /
    sqrt(var + epsilon) + beta`` with the batch's mean and (biased) variance, and the moving
    statistics updated as ``moving = moving * momentum + batch * (1 - momentum)``; in inference
    (evaluate, predict, ``training=False``) the moving statistics. Weights: gamma (with
    ``scale``) and beta (with ``center``), trainable; moving_mean and moving_variance,
    non-trainable (Keras's ``get_weights`` order). Data-parallel training is not supported."""

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Union[str, _init.Initializer] = "zeros",
        gamma_initializer: Union[str, _init.Initializer] = "ones",
        moving_mean_initializer: Union[str, _init.Initializer] = "zeros",
        moving_variance_initializer: Union[str, _init.Initializer] = "ones",
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, input_shape)
        self.axis = _check_axis(axis, "BatchNormalization")
        self.momentum = _check_real(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _check_real(epsilon, "epsilon", 0.0, lo_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _init.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = _init.get(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = _init.get(moving_mean_initializer, "moving_mean_initializer")
        self.moving_variance_initializer = _init.get(
            moving_variance_initializer, "moving_variance_initializer"
        )

    gamma = property(lambda self: self._weight("gamma") if self.scale else None)
    beta = property(lambda self: self._weight("beta") if self.center else None)
    moving_mean = property(lambda self: self._weight("moving_mean"))
    moving_variance = property(lambda self: self._weight("moving_variance"))

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            axis=self.axis,
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=self.beta_initializer.name,
            gamma_initializer=self.gamma_initializer.name,
            moving_mean_initializer=self.moving_mean_initializer.name,
            moving_variance_initializer=self.moving_variance_initializer.name,
        )
        return cfg


class LayerNormalization(Layer):
    """Keras's layer normalization of each sample over its features: ``gamma * (x - mean) /
    sqrt(var + epsilon) + beta`` (biased variance), the same in training and inference."""

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Union[str, _init.Initializer] = "zeros",
        gamma_initializer: Union[str, _init.Initializer] = "ones",
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, input_shape)
        self.axis = _check_axis(axis, "LayerNormalization")
        self.epsilon = _check_real(epsilon, "epsilon", 0.0, lo_open=True)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = _init.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = _init.get(gamma_initializer, "gamma_initializer")

    gamma = property(lambda self: self._weight("gamma") if self.scale else None)
    beta = property(lambda self: self._weight("beta") if self.center else None)

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg.update(
            axis=self.axis,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=self.beta_initializer.name,
            gamma_initializer=self.gamma_initializer.name,
        )
        return cfg


KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): Normalization's floor of the deviation


class Normalization(Layer):
    """Keras's feature normalization ``(x - mean) / max(sqrt(variance), 1e-7)`` with fixed
    statistics: given as ``mean`` / ``variance`` (scalars or one per feature), or computed by
    ``adapt(data)`` (population variance, as Keras). Weights: mean and variance, non-trainable.
    Without either, the statistics are 0 and 1 (the identity) until ``adapt``."""

    def __init__(
        self,
        axis: int = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, input_shape)
        self.axis = _check_axis(axis, "Normalization")
        if invert:
            raise ValueError("invert: only False is supported")
        if (mean is None) != (variance is None):
            raise ValueError("mean and variance: give both or neither")
        self.mean = None if mean is None else self._stat(mean, "mean")
        self.variance = None if variance is None else self._stat(variance, "variance")
        if self.variance is not None and (self.variance < 0).any():
            raise ValueError("variance: expected values >= 0")

    @staticmethod
    def _stat(value: Any, name: str) -> np.ndarray:
        try:
            a = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: expected real numbers, got {type(value).__name__}") from None
        a = a.reshape(-1)
        if a.size < 1 or not np.isfinite(a).all():
            raise ValueError(f"{name}: expected finite numbers (a scalar or one per feature)")
        return a

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Mean and (population) variance of each feature over the samples of `data`
        ((samples, features), N-D samples flattened), written into the model when it is built."""
        arr = np.asarray(data, dtype=np.float64)
        if arr.ndim < 1 or len(arr) < 1:
            raise ValueError(f"data: expected at least one sample, got shape {arr.shape}")
        arr = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(-1, 1)
        if not np.isfinite(arr).all():
            raise ValueError("data: contains NaN or inf")
        self.mean = arr.mean(axis=0)
        self.variance = arr.var(axis=0)
        if self._weights:
            self._weights[0].assign(self._fit(self.mean, self._weights[0].shape[0], "mean"))
            self._weights[1].assign(self._fit(self.variance, self._weights[1].shape[0], "variance"))

    def _fit(self, a: np.ndarray, width: int, name: str) -> np.ndarray:
        """A statistic broadcast to `width` features (ValueError when it cannot be)."""
        if a.size not in (1, width):
            raise ValueError(
                f"layer {self.name}: {name} has {a.size} values, the layer's input has "
                f"{width} features"
            )
        return np.broadcast_to(a, (width,))

    def get_config(self) -> dict:
        cfg = super().get_config()
        cfg["axis"] = self.axis
        if self.mean is not None:
            cfg["mean"] = self.mean.tolist()
            cfg["variance"] = self.variance.tolist()
        return cfg


class InputLayer(Layer):
    """Declares the input shape: ``Input(shape=(64,))``; an N-D shape such as ``(28, 28)``
    takes samples of that shape, flattened (C order) as they enter."""

    _nd_input = True

    def __init__(
        self,
        shape: _Shape = None,
        batch_size: Optional[int] = None,
        name: Optional[str] = None,
        input_shape: _Shape = None,
    ) -> None:
        super().__init__(name, shape if shape is not None else input_shape)
        if self.input_shape is None:
            raise ValueError("shape: expected the input shape, e.g. Input(shape=(64,))")
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, numbers.Integral)
            or batch_size < 1
        ):
            raise ValueError(f"batch_size: expected a positive int or None, got {batch_size!r}")
        self.batch_size = None if batch_size is None else int(batch_size)

    def get_config(self) -> dict:
        cfg = {"name": self.name, "shape": list(self.input_shape)}
        if self.batch_size is not None:
            cfg["batch_size"] = self.batch_size
        return cfg


def Input(
    shape: _Shape, batch_size: Optional[int] = None, name: Optional[str] = None
) -> InputLayer:
    """Keras's ``Input(shape=..., batch_size=...)`` as the first entry of a Sequential."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name)


_REGISTRY: Registry[Layer] = Registry(
    "layer",
    Layer,
    (
        Dense,
        Activation,
        ReLU,
        LeakyReLU,
        Softmax,
        Dropout,
        Flatten,
        BatchNormalization,
        LayerNormalization,
        Normalization,
        InputLayer,
    ),
    names={},
    expected="a fusednet.layers.Layer",
)
serialize = _REGISTRY.serialize
deserialize = _REGISTRY.deserialize
