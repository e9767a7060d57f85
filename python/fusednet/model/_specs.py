"""From the layer list to what the Net is built from, and the checks that need the whole stack.

``compile_layers`` folds the Keras-style layer list into the Net's layer specs: one
``_core.DenseSpec`` per Dense layer (widths, activation, use_bias, the dropout after it), plus the
dropout on the input. An ``Activation`` folds into the linear Dense before it, a ``Dropout`` into
the spec before it (or the input). ``check_loss`` rejects a loss that cannot train with the
output layer, at compile time rather than mid-fit.
"""

from __future__ import annotations

from .. import _core
from .. import layers as _layers
from .. import losses as _losses

__all__ = ["compile_layers", "input_width", "output_units", "output_activation", "check_loss"]

_LINEAR = _core.Activation.linear


def _dense(layers):
    return [layer for layer in layers if isinstance(layer, _layers.Dense)]


def input_width(layers):
    """The input width the layers declare (``input_shape`` before the first Dense), or None."""
    for layer in layers:
        if layer.input_shape is not None:
            return layer.input_shape[0]
        if isinstance(layer, _layers.Dense):
            return None
    return None


def output_units(layers):
    """Units of the last Dense layer (the model's output width), or None without one."""
    dense = _dense(layers)
    return dense[-1].units if dense else None


def output_activation(layers) -> str:
    """The activation the output goes through: the last Dense's, or an Activation after it."""
    dense = _dense(layers)
    if not dense:
        return "linear"
    act = dense[-1].activation
    idx = layers.index(dense[-1])
    for layer in layers[idx + 1 :]:
        if isinstance(layer, _layers.Activation) and layer.activation != "linear":
            act = layer.activation
    return act


def _no_dropout_twice(layer, rate):
    if rate:
        raise ValueError(f"layer {layer.name}: two Dropout layers in a row are not supported")


def compile_layers(layers, width):
    """Layer list -> the Net's layer specs (``_core.DenseSpec``), input dropout rate."""
    specs, input_dropout = [], 0.0
    for i, layer in enumerate(layers):
        if isinstance(layer, _layers.InputLayer):
            if i != 0:
                raise ValueError("Input must be the first layer")
        elif isinstance(layer, _layers.Dense):
            if specs and specs[-1].activation == _layers.SOFTMAX:
                raise ValueError(
                    f"layer {layer.name}: softmax is only supported on the output layer"
                )
            specs.append(
                _core.DenseSpec(width, layer.units, layer.act_code, layer.act_param, layer.use_bias)
            )
            width = layer.units
        elif isinstance(layer, _layers.Activation):
            if not specs:
                raise ValueError(f"layer {layer.name}: an Activation must follow a Dense layer")
            prev = specs[-1]
            if prev.dropout_after > 0:
                raise ValueError(
                    f"layer {layer.name}: Activation after Dropout is not "
                    f"supported; put it before the Dropout"
                )
            if layer.act_code == _LINEAR:
                continue
            if prev.activation != _LINEAR:
                raise ValueError(
                    f"layer {layer.name}: the preceding Dense already has an "
                    f"activation; fusednet folds an Activation into a linear "
                    f"Dense only"
                )
            prev.activation, prev.activation_param = layer.act_code, layer.act_param
        elif isinstance(layer, _layers.Dropout):
            if layer.rate == 0:
                continue
            if not specs:
                _no_dropout_twice(layer, input_dropout)
                input_dropout = layer.rate
            else:
                _no_dropout_twice(layer, specs[-1].dropout_after)
                specs[-1].dropout_after = layer.rate
        else:
            raise TypeError(f"unsupported layer {type(layer).__name__}")
    if not specs:
        raise ValueError("the model needs at least one Dense layer")
    if specs[-1].dropout_after:
        raise ValueError(
            "Dropout after the output layer is not supported; put it before the last Dense"
        )
    for s in specs[:-1]:
        if s.activation == _layers.SOFTMAX:
            raise ValueError("softmax is only supported on the output layer")
    return specs, input_dropout


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
