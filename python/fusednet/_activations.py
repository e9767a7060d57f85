"""Activation names shared by ops, the gemm epilogue and the model: name -> ``_core.Activation``
(csrc/kernels/types.h), the member the op bindings and the net's layer specs take. softmax /
log_softmax are row-wise, so they are not elementwise (the gemm epilogue cannot apply them).
Names and aliases are Keras 3's (``swish`` = ``silu``, ``hard_swish`` = ``hard_silu``); two take
a parameter, carried as the kernels' ``param``: leaky_relu's ``negative_slope`` and elu's
``alpha``.
"""

from __future__ import annotations

from . import _core

_A = _core.Activation
LINEAR, RELU, LEAKY_RELU, SIGMOID, TANH, GELU, GELU_TANH = (
    _A.linear,
    _A.relu,
    _A.leaky_relu,
    _A.sigmoid,
    _A.tanh,
    _A.gelu,
    _A.gelu_tanh,
)
del _A

ELU, SELU, SILU, SOFTPLUS, SOFTSIGN, RELU6, MISH, HARD_SIGMOID, HARD_SILU, EXPONENTIAL = (
    _core.Activation.elu,
    _core.Activation.selu,
    _core.Activation.silu,
    _core.Activation.softplus,
    _core.Activation.softsign,
    _core.Activation.relu6,
    _core.Activation.mish,
    _core.Activation.hard_sigmoid,
    _core.Activation.hard_silu,
    _core.Activation.exponential,
)

ELEMENTWISE = {
    "linear": LINEAR,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "gelu": GELU,  # exact erf form
    "gelu_tanh": GELU_TANH,  # tanh approximation (gelu(..., approximate=True))
    "elu": ELU,
    "selu": SELU,
    "silu": SILU,
    "swish": SILU,
    "softplus": SOFTPLUS,
    "softsign": SOFTSIGN,
    "relu6": RELU6,
    "mish": MISH,
    "hard_sigmoid": HARD_SIGMOID,  # Keras 3: relu6(x + 3) / 6 (Keras 2 had 0.2 x + 0.5)
    "hard_silu": HARD_SILU,
    "hard_swish": HARD_SILU,
    "exponential": EXPONENTIAL,
}
ROWWISE = ("softmax", "log_softmax")
KNOWN = tuple(ELEMENTWISE) + ROWWISE

DEFAULT_NEGATIVE_SLOPE = 0.01  # fusednet.ops and ops.linear (PyTorch's default)
KERAS_NEGATIVE_SLOPE = 0.2  # keras.activations.leaky_relu's, so Dense(activation="leaky_relu")'s
DEFAULT_ALPHA = 1.0  # elu


def elementwise_code(name, name_of_arg: str = "activation", negative_slope=None, alpha=None):
    """(activation, param) of an elementwise activation; None means linear. ValueError lists the
    known names, TypeError for a non-string."""
    if name is None:
        return LINEAR, 0.0
    if not isinstance(name, str):
        raise TypeError(
            f"{name_of_arg}: expected an activation name (str) or None, got {type(name).__name__}"
        )
    key = name.lower()
    if key not in ELEMENTWISE:
        extra = " (row-wise, not usable here)" if key in ROWWISE else ""
        raise ValueError(
            f"{name_of_arg}: unknown activation '{name}'{extra}; expected one of "
            f"{', '.join(repr(k) for k in ELEMENTWISE)}"
        )
    code = ELEMENTWISE[key]
    param = 0.0
    if code == LEAKY_RELU:
        param = DEFAULT_NEGATIVE_SLOPE if negative_slope is None else float(negative_slope)
    elif code == ELU:
        param = DEFAULT_ALPHA if alpha is None else float(alpha)
    return code, param
