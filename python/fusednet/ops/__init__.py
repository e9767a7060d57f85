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
from ._device import other_device as _other_device
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


def _on_device(cpu_fn):
    """cpu_fn plus a keyword-only ``device``: "cpu" (or None) calls cpu_fn, "cuda" the
    same-named function of fusednet.cuda.

    The wrapper is generated with cpu_fn's own parameters (not ``*args, **kwargs``), so a CPU call
    costs one extra plain call: small ops are dominated by per-call overhead.
    """
    sig = _inspect.signature(cpu_fn)
    if "device" in sig.parameters:  # the op routes devices itself (the gemm ops, for speed)
        return cpu_fn
    P = _inspect.Parameter
    plist = list(sig.parameters.values())
    at = len(plist) - 1 if plist and plist[-1].kind is P.VAR_KEYWORD else len(plist)
    plist.insert(at, P("device", P.KEYWORD_ONLY, default="cpu"))
    defaults = {p.name: p.default for p in plist if p.default is not p.empty}
    params, call = [], []  # the wrapper's parameter list; what it passes on
    for p in plist:
        text = p.name + (f"=_defaults[{p.name!r}]" if p.default is not p.empty else "")
        if p.kind is P.POSITIONAL_OR_KEYWORD:
            params.append(text)
            call.append(p.name)
        elif p.kind is P.KEYWORD_ONLY:
            if "*" not in params:
                params.append("*")
            params.append(text)
            if p.name != "device":
                call.append(f"{p.name}={p.name}")
        elif p.kind is P.VAR_KEYWORD:
            params.append("**" + p.name)
            call.append("**" + p.name)
        else:  # no op takes positional-only or *args parameters
            raise TypeError(f"{cpu_fn.__name__}: unsupported parameter kind {p.kind}")
    args = ", ".join(call)
    name = cpu_fn.__name__
    src = (f"def {name}({', '.join(params)}):\n"
           f"    if device == 'cpu' or device is None:\n"
           f"        return _cpu({args})\n"
           f"    return _other_device({name!r}, device)({args})\n")
    namespace = {"_cpu": cpu_fn, "_defaults": defaults, "_other_device": _other_device}
    exec(compile(src, f"<fusednet.ops.{name}>", "exec"), namespace)  # noqa: S102
    op = _functools.update_wrapper(namespace[name], cpu_fn)
    op.__signature__ = sig.replace(parameters=plist)
    return op


for _module in (_gemm, _activation, _reduce, _loss, _optim):
    for _name in __all__:
        if _name != "ACTIVATIONS" and hasattr(_module, _name):
            globals()[_name] = _on_device(getattr(_module, _name))
del _module, _name
