"""Functional backend: float32 NumPy arrays in and out, GIL released around every kernel.

Inputs of another real dtype are converted to float32 once; in-place arguments and ``out=`` must
already be float32 (TypeError otherwise). Any layout is accepted: views, Fortran order, negative
strides, zero-size arrays.
"""
from ._gemm import matmul, linear
from ._activation import (
    relu, relu_backward, leaky_relu, leaky_relu_backward, sigmoid, sigmoid_backward,
    tanh, tanh_backward, gelu, gelu_backward, softmax, softmax_backward,
    log_softmax, log_softmax_backward, activation, activation_backward, ACTIVATIONS,
)
from ._reduce import bias_grad, argmax
from ._loss import mse, binary_cross_entropy, softmax_cross_entropy
from ._optim import sgd_, adam_

__all__ = [
    "matmul", "linear",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "gelu", "gelu_backward", "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward", "activation", "activation_backward", "ACTIVATIONS",
    "bias_grad", "argmax",
    "mse", "binary_cross_entropy", "softmax_cross_entropy",
    "sgd_", "adam_",
]
