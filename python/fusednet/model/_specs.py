"""From the layer list to what the Net is built from, and the checks that need the whole stack.

``compile_layers`` folds the Keras-style layer list into the Net's layer specs: one
``_core.DenseSpec`` per computing layer (its LayerKind, widths, activation, use_bias or the
normalization's settings, the dropout after it), plus the dropout on the input. An
``Activation`` folds into the layer before it when that one has none, a ``Dropout`` into the
spec before it (or the input); ``Input`` and ``Flatten`` only shape the input. ``check_loss``
rejects a loss that cannot train with the output layer, at compile time rather than mid-fit.
"""

from __future__ import annotations

import math

from .. import _core
from .. import layers as _layers
from .. import losses as _losses

__all__ = [
    "compile_layers",
    "compile_layers_mapped",
    "input_width",
    "input_shape",
    "output_units",
    "output_activation",
    "param_count",
    "check_loss",
]

_LINEAR = _core.Activation.linear
_KIND = _core.LayerKind
# Layers that describe where data enters or are the identity on (samples, features) rows.
_PASS = (_layers.InputLayer, _layers.Flatten)
_NORMS = (_layers.BatchNormalization, _layers.LayerNormalization, _layers.Normalization)


def input_shape(layers):
    """The input shape the layers declare (``input_shape`` / ``Input`` before the first layer
    that computes), or None."""
    for layer in layers:
        if layer.input_shape is not None:
            return layer.input_shape
        if not isinstance(layer, (_layers.InputLayer, _layers.Flatten, _layers.Dropout)):
            return None
    return None


def input_width(layers):
    """The input width (the declared shape's size), or None."""
    shape = input_shape(layers)
    return None if shape is None else math.prod(shape)


def output_units(layers):
    """The model's output width: the last Dense's units (a layer after it keeps the width), or
    the input width without a Dense; None when unknown."""
    units = None
    for layer in layers:
        if isinstance(layer, _layers.Dense):
            units = layer.units
    return units if units is not None else input_width(layers)


def output_activation(layers) -> str:
    """The activation the output goes through: the last computing layer's (an Activation
    layer's, or a Dense's own), skipping linear Activations, Dropout and Flatten."""
    for layer in reversed(layers):
        if isinstance(layer, (_layers.Dropout,) + _PASS):
            continue
        if isinstance(layer, _layers.Activation):
            if layer.activation == "linear":
                continue
            return layer.activation
        if isinstance(layer, _layers.Dense):
            return layer.activation
        return "linear"
    return "linear"


def _no_dropout_twice(layer, rate):
    if rate:
        raise ValueError(f"layer {layer.name}: two Dropout layers in a row are not supported")


def compile_layers(layers, width):
    """Layer list -> the Net's layer specs (``_core.DenseSpec``), input dropout rate."""
    specs, input_dropout, _ = compile_layers_mapped(layers, width)
    return specs, input_dropout


def compile_layers_mapped(layers, width):
    """Layer list -> (the Net's layer specs, the input dropout rate, for each layer the index
    of its spec or -1). An Activation right after a layer without an activation (and no
    Dropout between) is folded into that layer's spec, so the output fusions (softmax or
    sigmoid with cross-entropy from the logits) see it; a Dropout sets the rate after the spec
    before it (or the input's)."""
    specs, input_dropout, index = [], 0.0, []
    nd = input_shape(layers)
    flat = nd is None or len(nd) == 1  # an N-D input needs a Flatten before the first layer
    for i, layer in enumerate(layers):
        index.append(-1)
        if isinstance(layer, _layers.InputLayer):
            if i != 0:
                raise ValueError("Input must be the first layer")
            continue
        if isinstance(layer, _layers.Flatten):
            flat = True
            continue
        if isinstance(layer, _layers.Dropout):
            if layer.rate == 0:
                continue
            if not specs:
                _no_dropout_twice(layer, input_dropout)
                input_dropout = layer.rate
            else:
                _no_dropout_twice(layer, specs[-1].dropout_after)
                specs[-1].dropout_after = layer.rate
            continue
        if not flat:
            raise ValueError(
                f"layer {layer.name}: the input has shape {nd}; fusednet layers act on "
                f"(samples, features) rows: put Flatten() before the first layer"
            )
        if isinstance(layer, _layers.Dense):
            specs.append(
                _core.DenseSpec(width, layer.units, layer.act_code, layer.act_param, layer.use_bias)
            )
            width = layer.units
        elif isinstance(layer, _layers.Activation):
            prev = specs[-1] if specs else None
            if layer.act_code == _LINEAR:
                continue  # the identity
            if (
                prev is not None
                and prev.kind != _KIND.activation
                and prev.activation == _LINEAR
                and not prev.dropout_after
            ):
                prev.activation, prev.activation_param = layer.act_code, layer.act_param
                index[-1] = len(specs) - 1
                continue
            specs.append(
                _core.DenseSpec(
                    width, width, layer.act_code, layer.act_param, kind=_KIND.activation
                )
            )
        elif isinstance(layer, _layers.BatchNormalization):
            specs.append(
                _core.DenseSpec(
                    width,
                    width,
                    kind=_KIND.batch_norm,
                    epsilon=layer.epsilon,
                    momentum=layer.momentum,
                    scale=layer.scale,
                    center=layer.center,
                )
            )
        elif isinstance(layer, _layers.LayerNormalization):
            specs.append(
                _core.DenseSpec(
                    width,
                    width,
                    kind=_KIND.layer_norm,
                    epsilon=layer.epsilon,
                    scale=layer.scale,
                    center=layer.center,
                )
            )
        elif isinstance(layer, _layers.Normalization):
            specs.append(
                _core.DenseSpec(
                    width, width, kind=_KIND.normalization, epsilon=_layers.KERAS_EPSILON
                )
            )
        else:
            raise TypeError(f"unsupported layer {type(layer).__name__}")
        index[-1] = len(specs) - 1
    if not specs:
        raise ValueError("the model needs at least one layer that computes (Dense, ...)")
    if specs[-1].dropout_after:
        raise ValueError(
            "Dropout after the output layer is not supported; put it before the last layer"
        )
    return specs, input_dropout, index


def param_count(layers, width):
    """(trainable, non-trainable) weight counts the architecture implies for input `width`
    (Python ints: no overflow)."""
    trainable = fixed = 0
    for layer in layers:
        if isinstance(layer, _layers.Dense):
            trainable += width * layer.units + (layer.units if layer.use_bias else 0)
            width = layer.units
        elif isinstance(layer, (_layers.BatchNormalization, _layers.LayerNormalization)):
            trainable += width * (int(layer.scale) + int(layer.center))
            if isinstance(layer, _layers.BatchNormalization):
                fixed += 2 * width
        elif isinstance(layer, _layers.Normalization):
            fixed += 2 * width
    return trainable, fixed


def check_loss(loss, layers):
    """Combinations of loss and output layer that cannot train: a clear error now."""
    units = output_units(layers)
    act = output_activation(layers)
    if loss.kind == _losses.CATEGORICAL_CE and units == 1:
        raise ValueError(
            "categorical_crossentropy needs one output unit per class, but the "
            "output layer has 1 unit; for two classes use binary_crossentropy "
            "(sigmoid output)"
        )
    if loss.kind == _losses.SPARSE_CE and units == 1:
        raise ValueError(
            "sparse_categorical_crossentropy needs one output unit per class, "
            "but the output layer has 1 unit (labels must be in [0, 1)); for "
            "labels {0, 1} use binary_crossentropy with a sigmoid output"
        )
    probability_losses = (_losses.BCE, _losses.SPARSE_CE, _losses.CATEGORICAL_CE)
    if loss.kind in probability_losses and not loss.from_logits:
        want = "sigmoid" if loss.kind == _losses.BCE else "softmax"
        if act != want:
            raise ValueError(
                f"{loss.name} with from_logits=False expects probabilities, but "
                f"the output activation is '{act}'; use a {want} output or "
                f"{type(loss).__name__}(from_logits=True)"
            )
