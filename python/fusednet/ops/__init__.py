"""Functional backend: float32 NumPy arrays in and out, GIL released around every kernel.

Inputs of another real dtype are converted to float32 once; in-place arguments and ``out=`` must
already be float32 (TypeError otherwise). Any layout is accepted: views, Fortran order, negative
strides, zero-size arrays.

Every op also takes ``device="cpu"`` (default) or ``device="cuda"``. On CUDA the NumPy arguments
are copied to the GPU and the results back: a convenience for checking and one-off work, not a
way to go fast (keep data on the device with ``Sequential(device="cuda")`` for that).
"""
import functools as _functools
import inspect as _inspect

from . import _activation, _gemm, _loss, _optim, _reduce
from ._activation import ACTIVATIONS

__all__ = [
    "matmul", "linear",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "gelu", "gelu_backward", "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward", "activation", "activation_backward", "ACTIVATIONS",
    "bias_grad", "argmax",
    "mse", "binary_cross_entropy", "softmax_cross_entropy",
    "sgd_", "adam_",
]

_DEVICES = ("cpu", "cuda")


def _on_device(cpu_fn):
    """cpu_fn plus a keyword-only ``device``: "cpu" calls it, "cuda" the same-named function of
    fusednet.cuda (imported on first use, so import never touches CUDA)."""
    name = cpu_fn.__name__

    @_functools.wraps(cpu_fn)
    def op(*args, device="cpu", **kwargs):
        if device == "cpu" or device is None:
            return cpu_fn(*args, **kwargs)
        if device == "cuda":
            from .. import cuda
            return getattr(cuda, name)(*args, **kwargs)
        raise ValueError(f"device: expected one of {_DEVICES}, got {device!r}")

    sig = _inspect.signature(cpu_fn)
    params = list(sig.parameters.values())
    device_param = _inspect.Parameter("device", _inspect.Parameter.KEYWORD_ONLY, default="cpu")
    if params and params[-1].kind is _inspect.Parameter.VAR_KEYWORD:
        params.insert(len(params) - 1, device_param)
    else:
        params.append(device_param)
    op.__signature__ = sig.replace(parameters=params)
    return op


for _module in (_gemm, _activation, _reduce, _loss, _optim):
    for _name in __all__:
        if _name != "ACTIVATIONS" and hasattr(_module, _name):
            globals()[_name] = _on_device(getattr(_module, _name))
del _module, _name
