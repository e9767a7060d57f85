"""Functional backend: float32 arrays in and out, GIL released around every kernel.

Arrays from anywhere: NumPy, any ``__dlpack__`` object (PyTorch, JAX, CuPy) and the buffer
protocol, read without a copy when float32 and in host memory; results come back in the caller's
kind when all array arguments are of one kind (PyTorch in, PyTorch out), NumPy otherwise. In-place
arguments and ``out=`` may be writable PyTorch CPU tensors (updated in place) and, with
``device="cuda"``, CUDA tensors (used in place on the device). fusednet._arrays says what copies.

Inputs of another real dtype are converted to float32 once; in-place arguments and ``out=`` must
already be float32 (TypeError otherwise). Any layout is accepted: views, Fortran order, negative
strides, zero-size arrays.

Every op also takes ``device="cpu"`` (default) or ``device="cuda"``: one binding per op runs the
CPU kernel or, on CUDA, copies the NumPy arguments to the GPU, runs the CUDA kernel and copies the
results back: a convenience for checking and one-off work, not a way to go fast (keep data on the
device with ``Sequential(device="cuda")`` for that).
"""

from ._activation import (
    ACTIVATIONS,
    activation,
    activation_backward,
    elu,
    elu_backward,
    exponential,
    exponential_backward,
    gelu,
    gelu_backward,
    hard_sigmoid,
    hard_sigmoid_backward,
    hard_silu,
    hard_silu_backward,
    hard_swish,
    hard_swish_backward,
    leaky_relu,
    leaky_relu_backward,
    log_softmax,
    log_softmax_backward,
    mish,
    mish_backward,
    relu,
    relu6,
    relu6_backward,
    relu_backward,
    selu,
    selu_backward,
    sigmoid,
    sigmoid_backward,
    silu,
    silu_backward,
    softmax,
    softmax_backward,
    softplus,
    softplus_backward,
    softsign,
    softsign_backward,
    swish,
    swish_backward,
    tanh,
    tanh_backward,
)
from ._gemm import linear, matmul
from ._loss import binary_cross_entropy, loss, mse, softmax_cross_entropy
from ._norm import batch_norm, batch_norm_backward, layer_norm, layer_norm_backward
from ._optim import adadelta_, adagrad_, adam_, adamax_, amsgrad_, lion_, nadam_, rmsprop_, sgd_
from ._reduce import argmax, bias_grad

__all__ = [
    "matmul",
    "linear",
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "gelu",
    "gelu_backward",
    "softmax",
    "softmax_backward",
    "elu",
    "elu_backward",
    "selu",
    "selu_backward",
    "silu",
    "silu_backward",
    "softplus",
    "softplus_backward",
    "softsign",
    "softsign_backward",
    "relu6",
    "relu6_backward",
    "mish",
    "mish_backward",
    "hard_sigmoid",
    "hard_sigmoid_backward",
    "hard_silu",
    "hard_silu_backward",
    "exponential",
    "exponential_backward",
    "swish",
    "swish_backward",
    "hard_swish",
    "hard_swish_backward",
    "log_softmax",
    "log_softmax_backward",
    "activation",
    "activation_backward",
    "ACTIVATIONS",
    "bias_grad",
    "batch_norm",
    "batch_norm_backward",
    "layer_norm",
    "layer_norm_backward",
    "argmax",
    "mse",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "loss",
    "sgd_",
    "adam_",
    "amsgrad_",
    "rmsprop_",
    "adagrad_",
    "adadelta_",
    "adamax_",
    "nadam_",
    "lion_",
]
