"""Optimizer steps, in place, one fused pass over memory (float32, C-contiguous arrays).

``param``, ``velocity``, ``m`` and ``v`` are updated in place, so they must already be float32 and
C-contiguous (TypeError / ValueError otherwise: a silent copy would update the copy): NumPy arrays,
writable DLPack tensors in host memory (PyTorch CPU tensors are updated in place) or writable
buffers; a read-only DLPack export is refused. ``grad`` may have any real dtype and layout; it is
converted once when needed. All arrays share param's shape. Both steps take ``device="cpu"`` or
``"cuda"``: host arrays are copied to the GPU and back, CUDA DLPack arrays (PyTorch CUDA tensors)
are updated in place on the device, no host round trip.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._checks import as_f32_contiguous, require_f32_inplace
from ._device import CPU, CUDA, any_cuda, cuda_view, device_arg


def _inplace(x, name: str, shape=None) -> np.ndarray:
    """A writable float32 C-contiguous NumPy view of x's own memory (x a NumPy array, a host
    DLPack tensor or a writable buffer)."""
    x = require_f32_inplace(x, name)
    if not x.flags.c_contiguous:
        raise ValueError(
            f"{name}: expected a C-contiguous array (it is updated in place, so it is "
            f"never copied), got strides {x.strides} for shape {x.shape}"
        )
    if shape is not None and x.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (the shape of param), got {x.shape}")
    return x


def _grad(grad, shape) -> np.ndarray:
    g = as_f32_contiguous(grad, "grad")
    if g.shape != shape:
        raise ValueError(f"grad: expected shape {shape} (the shape of param), got {g.shape}")
    return g


def _cuda_views(named, shape_of: str):
    """CUDA DLPack arrays as the bindings take them (device pointers), every one of the shape
    of the first; None entries stay None."""
    views = [None if x is None else cuda_view(x, name) for name, x in named]
    shape = views[0].shape
    for (name, _), v in zip(named, views):
        if v is not None and v.shape != shape:
            raise ValueError(
                f"{name}: expected shape {shape} (the shape of {shape_of}), got {v.shape}"
            )
    return views


def _no_overlap(*named) -> None:
    """(name, array) pairs: in-place arrays that overlap would update each other mid-step."""
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if np.may_share_memory(a, b) and a.size:
                raise ValueError(
                    f"{name_a} and {name_b}: expected separate arrays, got overlapping memory"
                )


_F32_MAX = float(np.finfo(np.float32).max)


def _aligned_run(run, *arrays) -> None:
    """run(*arrays) with aligned copies of the in-place arrays whose float32 data sits at an odd
    address (the kernels read and write aligned floats only), copied back after; None passes."""
    work = [a if a is None or a.flags.aligned else a.copy() for a in arrays]
    run(*work)
    for a, w in zip(arrays, work):
        if w is not a:
            a[...] = w


def _grad_apart(g: np.ndarray, *named) -> None:
    """grad is read while the (name, array) pairs are written, block by block on several threads:
    the very same memory reads each element before writing it, but a shifted view (param[1:] as
    grad of param[:-1]) would read elements already updated. None entries are skipped."""
    start = g.__array_interface__["data"][0]
    for name, a in named:
        if a is None or not a.size or not np.may_share_memory(g, a):
            continue
        if a.__array_interface__["data"][0] != start or a.shape != g.shape:
            raise ValueError(
                f"grad and {name}: expected separate arrays (or the very same one), got "
                f"partially overlapping memory"
            )


def _number(x, name: str, lo: float, hi: float = math.inf, hi_open: bool = False) -> float:
    try:
        val = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}") from None
    if (
        math.isfinite(val) and abs(val) > _F32_MAX
    ):  # the step runs in float32: it would be inf there
        raise ValueError(f"{name}: expected a number that fits in float32 (<= 3.4e38), got {x!r}")
    ok = math.isfinite(val) and val >= lo and (val < hi if hi_open else val <= hi)
    if not ok:
        rng = f"[{lo}, {hi})" if hi_open else (f">= {lo}" if hi == math.inf else f"[{lo}, {hi}]")
        raise ValueError(f"{name}: expected a finite number {rng}, got {x!r}")
    return val


def sgd_(
    param: np.ndarray,
    grad: ArrayLike,
    velocity: np.ndarray | None = None,
    *,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    device: str = "cpu",
) -> np.ndarray:
    """SGD step in PyTorch form, in place; returns param.

    ``g = grad + weight_decay * param; velocity = momentum * velocity + g;
    param -= lr * (g + momentum * velocity if nesterov else velocity)`` (``param -= lr * g``
    without momentum). ``velocity`` (zeros at the start) is needed when momentum > 0.
    """
    dev = CPU if device == "cpu" else device_arg(device)
    on_cuda = dev is CUDA and any_cuda(param, grad, velocity)
    if on_cuda:  # device pointers, updated in place on the GPU
        p_, g_, v_ = _cuda_views(
            (("param", param), ("grad", grad), ("velocity", velocity)), "param"
        )
    else:
        p_ = _inplace(param, "param")
        g_ = _grad(grad, p_.shape)
    lr = _number(lr, "lr", 0.0)
    momentum = _number(momentum, "momentum", 0.0)
    weight_decay = _number(weight_decay, "weight_decay", 0.0)
    if nesterov and momentum == 0.0:
        raise ValueError("nesterov: expected momentum > 0 with nesterov=True, got momentum=0")
    if momentum > 0.0 and velocity is None:
        raise ValueError(
            f"velocity: expected a float32 array of shape {tuple(p_.shape)} when momentum > 0 "
            f"(got momentum={momentum}), got None"
        )
    if on_cuda:
        _core.sgd_step(p_, g_, v_, lr, momentum, bool(nesterov), weight_decay, dev)
        return param
    v_ = None
    if velocity is not None:
        v_ = _inplace(velocity, "velocity", p_.shape)
        _no_overlap(("param", p_), ("velocity", v_))
    _grad_apart(g_, ("param", p_), ("velocity", v_))
    _aligned_run(
        lambda p, vel: _core.sgd_step(p, g_, vel, lr, momentum, bool(nesterov), weight_decay, dev),
        p_,
        v_,
    )
    return param


def adam_(
    param: np.ndarray,
    grad: ArrayLike,
    m: np.ndarray,
    v: np.ndarray,
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    decoupled: bool = False,
    device: str = "cpu",
) -> np.ndarray:
    """Adam step (paper form), in place; returns param.

    ``m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
    param -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps)``, step counting from 1.
    weight_decay: L2 (``g += wd * param``), or with ``decoupled=True`` AdamW
    (``param *= 1 - lr * wd`` before the update).
    """
    dev = CPU if device == "cpu" else device_arg(device)
    on_cuda = dev is CUDA and any_cuda(param, grad, m, v)
    if on_cuda:  # device pointers, updated in place on the GPU
        p_, g_, m_, v_ = _cuda_views(
            (("param", param), ("grad", grad), ("m", m), ("v", v)), "param"
        )
    else:
        p_ = _inplace(param, "param")
        g_ = _grad(grad, p_.shape)
        m_ = _inplace(m, "m", p_.shape)
        v_ = _inplace(v, "v", p_.shape)
        _no_overlap(("param", p_), ("m", m_), ("v", v_))
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step: expected an integer >= 1, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step: expected an integer >= 1 (steps count from 1), got {step}")
    if not on_cuda:
        _grad_apart(g_, ("param", p_), ("m", m_), ("v", v_))
    lr = _number(lr, "lr", 0.0)
    beta1 = _number(beta1, "beta1", 0.0, 1.0, hi_open=True)
    beta2 = _number(beta2, "beta2", 0.0, 1.0, hi_open=True)
    eps = _number(eps, "eps", 0.0)
    weight_decay = _number(weight_decay, "weight_decay", 0.0)
    if on_cuda:
        _core.adam_step(
            p_, g_, m_, v_, int(step), lr, beta1, beta2, eps, weight_decay, bool(decoupled), dev
        )
        return param
    _aligned_run(
        lambda p, m2, v2: _core.adam_step(
            p, g_, m2, v2, int(step), lr, beta1, beta2, eps, weight_decay, bool(decoupled), dev
        ),
        p_,
        m_,
        v_,
    )
    return param


# The rule kernel's ids (csrc/kernels/math/optim.h's Rule).
_RULE = {
    "adam_amsgrad": 4,
    "rmsprop": 5,
    "rmsprop_momentum": 6,
    "rmsprop_centered": 7,
    "rmsprop_centered_momentum": 8,
    "adagrad": 9,
    "adadelta": 10,
    "adamax": 11,
    "nadam": 12,
    "lion": 13,
}


def _step_arg(step: int) -> int:
    if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
        raise TypeError(f"step: expected an integer >= 1, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step: expected an integer >= 1 (steps count from 1), got {step}")
    return int(step)


def _rule_step(
    rule,
    param,
    grad,
    states,
    *,
    step=1,
    lr,
    beta1=0.9,
    beta2=0.999,
    momentum=0.0,
    eps=1e-7,
    weight_decay=0.0,
    clipvalue=None,
    device: str = "cpu",
) -> np.ndarray:
    """One in-place step of a rule over param and its (name, state array) pairs; returns param."""
    dev = CPU if device == "cpu" else device_arg(device)
    arrays = [a for _, a in states]
    step = _step_arg(step)
    lr = _number(lr, "lr", 0.0)
    eps = _number(eps, "eps", 0.0)
    weight_decay = _number(weight_decay, "weight_decay", 0.0)
    momentum = _number(momentum, "momentum", 0.0)
    clip = math.inf if clipvalue is None else _number(clipvalue, "clipvalue", 0.0)
    if clipvalue is not None and clip == 0.0:
        raise ValueError("clipvalue: expected a number > 0, got 0")
    if dev is CUDA and any_cuda(param, grad, *arrays):
        views = _cuda_views((("param", param), ("grad", grad), *states), "param")
        p_, g_, st = views[0], views[1], views[2:]
    else:
        p_ = _inplace(param, "param")
        g_ = _grad(grad, p_.shape)
        st = [_inplace(a, name, p_.shape) for name, a in states]
        _no_overlap(("param", p_), *zip([n for n, _ in states], st))
        _grad_apart(g_, ("param", p_), *zip([n for n, _ in states], st))
    st = list(st) + [None] * (3 - len(st))

    def run(p, s0, s1, s2):
        _core.optim_rule_step(
            _RULE[rule],
            p,
            g_,
            s0,
            s1,
            s2,
            step,
            lr,
            beta1,
            beta2,
            momentum,
            eps,
            weight_decay,
            True,
            clip,
            dev,
        )

    if dev is CUDA and any_cuda(param, grad, *arrays):
        run(p_, *st)
    else:
        _aligned_run(run, p_, *st)
    return param


def rmsprop_(
    param: np.ndarray,
    grad: ArrayLike,
    velocity: np.ndarray,
    momentum_buffer: np.ndarray | None = None,
    average_grad: np.ndarray | None = None,
    *,
    lr: float = 1e-3,
    rho: float = 0.9,
    momentum: float = 0.0,
    eps: float = 1e-7,
    centered: bool = False,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's RMSprop step, in place; returns param. ``velocity = rho v + (1-rho) g^2``;
    centered: ``average_grad = rho a + (1-rho) g``, ``denom = v - a^2 + eps`` (else v + eps);
    ``inc = lr g / sqrt(denom)``; momentum > 0: ``momentum_buffer = momentum * mb + inc``,
    ``param -= momentum_buffer``, else ``param -= inc``. weight_decay: Keras's decoupled form
    ``param -= param * wd * lr`` first; clipvalue clips the gradient first."""
    rho = _number(rho, "rho", 0.0, 1.0, hi_open=True)
    mom = _number(momentum, "momentum", 0.0)
    states = [("velocity", velocity)]
    if np.float32(mom) != 0:
        if momentum_buffer is None:
            raise ValueError("momentum_buffer: expected an array when momentum > 0, got None")
        states.append(("momentum_buffer", momentum_buffer))
    if centered:
        if average_grad is None:
            raise ValueError("average_grad: expected an array when centered=True, got None")
        states.append(("average_grad", average_grad))
    rule = (
        "rmsprop"
        + ("_centered" if centered else "")
        + ("_momentum" if len(states) > 1 and states[1][0] == "momentum_buffer" else "")
    )
    return _rule_step(
        rule,
        param,
        grad,
        states,
        lr=lr,
        beta1=rho,
        momentum=mom,
        eps=eps,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def adagrad_(
    param: np.ndarray,
    grad: ArrayLike,
    accumulator: np.ndarray,
    *,
    lr: float = 1e-3,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's Adagrad step, in place; returns param: ``accumulator += g^2;
    param -= lr g / sqrt(accumulator + eps)`` (the accumulator starts at Keras's
    initial_accumulator_value, 0.1)."""
    return _rule_step(
        "adagrad",
        param,
        grad,
        [("accumulator", accumulator)],
        lr=lr,
        eps=eps,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def adadelta_(
    param: np.ndarray,
    grad: ArrayLike,
    accumulated_grad: np.ndarray,
    accumulated_delta: np.ndarray,
    *,
    lr: float = 1e-3,
    rho: float = 0.95,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's Adadelta step, in place; returns param: ``ag = rho ag + (1-rho) g^2;
    d = -sqrt(ad + eps) g / sqrt(ag + eps); ad = rho ad + (1-rho) d^2; param += lr d``."""
    rho = _number(rho, "rho", 0.0, 1.0, hi_open=True)
    return _rule_step(
        "adadelta",
        param,
        grad,
        [("accumulated_grad", accumulated_grad), ("accumulated_delta", accumulated_delta)],
        lr=lr,
        beta1=rho,
        eps=eps,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def _betas(beta1: float, beta2: float) -> tuple[float, float]:
    return (
        _number(beta1, "beta1", 0.0, 1.0, hi_open=True),
        _number(beta2, "beta2", 0.0, 1.0, hi_open=True),
    )


def adamax_(
    param: np.ndarray,
    grad: ArrayLike,
    m: np.ndarray,
    u: np.ndarray,
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's Adamax step (step counts from 1), in place; returns param: ``m += (g - m)(1-b1);
    u = max(b2 u, |g|); param -= lr m / ((1 - b1^step) (u + eps))``."""
    b1, b2 = _betas(beta1, beta2)
    return _rule_step(
        "adamax",
        param,
        grad,
        [("m", m), ("u", u)],
        step=step,
        lr=lr,
        beta1=b1,
        beta2=b2,
        eps=eps,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def nadam_(
    param: np.ndarray,
    grad: ArrayLike,
    m: np.ndarray,
    v: np.ndarray,
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's Nadam step (step counts from 1; the momentum schedule u_t = b1 (1 - 0.5 *
    0.96^(0.004 t)) and its product over steps 1..step are computed from step), in place."""
    b1, b2 = _betas(beta1, beta2)
    return _rule_step(
        "nadam",
        param,
        grad,
        [("m", m), ("v", v)],
        step=step,
        lr=lr,
        beta1=b1,
        beta2=b2,
        eps=eps,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def lion_(
    param: np.ndarray,
    grad: ArrayLike,
    m: np.ndarray,
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.99,
    weight_decay: float = 0.0,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Keras's Lion step, in place; returns param: ``param -= lr sign(b1 m + (1-b1) g);
    m = b2 m + (1-b2) g``."""
    b1, b2 = _betas(beta1, beta2)
    return _rule_step(
        "lion",
        param,
        grad,
        [("m", m)],
        lr=lr,
        beta1=b1,
        beta2=b2,
        eps=0.0,
        weight_decay=weight_decay,
        clipvalue=clipvalue,
        device=device,
    )


def amsgrad_(
    param: np.ndarray,
    grad: ArrayLike,
    m: np.ndarray,
    v: np.ndarray,
    v_hat: np.ndarray,
    *,
    step: int,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-7,
    weight_decay: float = 0.0,
    decoupled: bool = True,
    clipvalue: float | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Adam with AMSGrad (paper / PyTorch form, as adam_), in place; returns param:
    ``v_hat = max(v_hat, v)`` replaces v in the denominator ``sqrt(v_hat / (1-b2^step)) + eps``.
    weight_decay: decoupled (AdamW, ``param *= 1 - lr wd``) or with decoupled=False L2."""
    b1, b2 = _betas(beta1, beta2)
    dev = CPU if device == "cpu" else device_arg(device)
    states = [("m", m), ("v", v), ("v_hat", v_hat)]
    step = _step_arg(step)
    lr_ = _number(lr, "lr", 0.0)
    eps_ = _number(eps, "eps", 0.0)
    wd = _number(weight_decay, "weight_decay", 0.0)
    clip = math.inf if clipvalue is None else _number(clipvalue, "clipvalue", 0.0)
    if dev is CUDA and any_cuda(param, grad, m, v, v_hat):
        p_, g_, *st = _cuda_views((("param", param), ("grad", grad), *states), "param")
        _core.optim_rule_step(
            _RULE["adam_amsgrad"],
            p_,
            g_,
            *st,
            step,
            lr_,
            b1,
            b2,
            0.0,
            eps_,
            wd,
            bool(decoupled),
            clip,
            dev,
        )
        return param
    p_ = _inplace(param, "param")
    g_ = _grad(grad, p_.shape)
    st = [_inplace(a, name, p_.shape) for name, a in states]
    _no_overlap(("param", p_), *zip([n for n, _ in states], st))
    _grad_apart(g_, ("param", p_), *zip([n for n, _ in states], st))
    _aligned_run(
        lambda p, a, b, c: _core.optim_rule_step(
            _RULE["adam_amsgrad"],
            p,
            g_,
            a,
            b,
            c,
            step,
            lr_,
            b1,
            b2,
            0.0,
            eps_,
            wd,
            bool(decoupled),
            clip,
            dev,
        ),
        p_,
        *st,
    )
    return param
