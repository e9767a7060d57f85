"""The CUDA backend from Python: device status, the float32 matmul precision, and the ops on NumPy
arrays computed on the GPU.

The ops here have the signatures of ``fusednet.ops`` and copy their inputs to the device, run the
CUDA kernel and copy the results back: a convenience (and the way the tests reach every kernel),
not a fast path. Training keeps data on the device instead (``Net`` on device="cuda").

Without a usable device every op raises ``RuntimeError`` saying why (not compiled, no driver,
driver too old, no device), as ``fusednet.backends()["cuda"]["reason"]`` does.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._activations import LEAKY_RELU, RELU, SIGMOID, TANH, GELU, GELU_TANH, LINEAR
from ._activations import DEFAULT_NEGATIVE_SLOPE, elementwise_code
from ._checks import as_f32, check_out, require_f32_inplace, require_ndim
from .ops._activation import _lookup  # the same name/parameter checks as fusednet.ops
from .ops._optim import _no_overlap, _number  # the same optimizer argument checks as fusednet.ops

__all__ = [
    "is_available", "reason", "devices", "synchronize", "memory_info",
    "set_float32_matmul_precision", "get_float32_matmul_precision",
    "matmul", "linear",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward",
    "tanh", "tanh_backward", "gelu", "gelu_backward", "softmax", "softmax_backward",
    "log_softmax", "log_softmax_backward", "activation", "activation_backward",
    "bias_grad", "argmax",
    "mse", "binary_cross_entropy", "softmax_cross_entropy",
    "sgd_", "adam_",
]


# ---- status -------------------------------------------------------------------------------------
def _info() -> dict:
    return _core.cuda_info()


def is_available() -> bool:
    """True when fusednet was built with CUDA and a usable device is present (queries the driver
    on first call only)."""
    return bool(_info()["available"])


def reason() -> str:
    """Why CUDA is not available ('' when it is)."""
    return _info().get("reason", "")


def devices() -> list:
    return list(_info().get("devices", []))


def _require() -> None:
    info = _info()
    if not info["available"]:
        raise RuntimeError(f"CUDA not available: {info['reason']}")


def synchronize() -> None:
    """Waits for every queued kernel on the default stream."""
    _require()
    _core.cuda_synchronize()


def memory_info() -> tuple:
    """(free_bytes, total_bytes) of the current device."""
    _require()
    return tuple(_core.cuda_memory_info())


def set_float32_matmul_precision(precision: str) -> None:
    """"highest" (default): exact FP32 matmuls. "high": TF32 tensor cores on sm_80+ (inputs
    rounded to a 10-bit mantissa, FP32 accumulation), as torch.set_float32_matmul_precision."""
    if not isinstance(precision, str):
        raise TypeError(f"precision: expected 'highest' or 'high', got {type(precision).__name__}")
    _core.cuda_set_float32_matmul_precision(precision)


def get_float32_matmul_precision() -> str:
    return _core.cuda_get_float32_matmul_precision()


# ---- layout helpers -----------------------------------------------------------------------------
def _dense(x, name: str) -> np.ndarray:
    return np.ascontiguousarray(as_f32(x, name))


def _matrix_operand(x, name: str, trans: bool):
    """A 2-D operand as (C-contiguous array, trans flag): a Fortran-order array is passed as its
    transpose, so no copy is made; other layouts get one contiguous copy."""
    x = as_f32(x, name)
    require_ndim(x, 2, name)
    if x.flags.c_contiguous:
        return x, trans
    if x.flags.f_contiguous:
        return x.T, not trans
    return np.ascontiguousarray(x), trans


def _out_buffer(out, shape, name="out", need_values=False):
    """(buffer the binding writes, array to return). A non-contiguous out= gets a dense buffer
    that is copied back by _finish."""
    if out is None:
        return np.zeros(shape, np.float32) if need_values else np.empty(shape, np.float32), None
    check_out(out, tuple(shape), name)
    if out.flags.c_contiguous:
        return out, None
    buf = np.ascontiguousarray(out) if need_values else np.empty(shape, np.float32)
    return buf, out


def _finish(buf, target):
    if target is None:
        return buf
    target[...] = buf
    return target


def _float(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a float, got {type(x).__name__}")
    return float(x)


# ---- gemm ---------------------------------------------------------------------------------------
def _gemm(a, b, trans_a, trans_b, alpha, beta, out, bias, act, act_param, names=("a", "b")):
    _require()
    a_c, ta = _matrix_operand(a, names[0], bool(trans_a))
    b_c, tb = _matrix_operand(b, names[1], bool(trans_b))
    M = a_c.shape[1] if ta else a_c.shape[0]
    K = a_c.shape[0] if ta else a_c.shape[1]
    Kb = b_c.shape[1] if tb else b_c.shape[0]
    N = b_c.shape[0] if tb else b_c.shape[1]
    if Kb != K:
        raise ValueError(f"{names[1]}: expected op({names[1]}) with {K} rows to match "
                         f"op({names[0]}) of shape ({M}, {K}), got op({names[1]}) of shape ({Kb}, {N})")
    beta = _float(beta, "beta")
    buf, target = _out_buffer(out, (M, N), need_values=beta != 0.0)
    if bias is not None:
        bias = _dense(bias, "b")
        if bias.shape != (N,):
            raise ValueError(f"b: expected shape ({N},), got {bias.shape}")
    tf32 = _core.cuda_get_float32_matmul_precision() == "high"
    _core.cuda_gemm(a_c, b_c, buf, ta, tb, _float(alpha, "alpha"), beta, bias, act,
                    float(act_param), tf32)
    return _finish(buf, target)


def matmul(a, b, *, trans_a=False, trans_b=False, alpha=1.0, beta=0.0, out=None):
    """out = alpha * op(a) @ op(b) + beta * out on the GPU (beta == 0 never reads out)."""
    return _gemm(a, b, trans_a, trans_b, alpha, beta, out, None, LINEAR, 0.0)


def linear(x, w, b=None, *, activation=None, out=None):
    """act(x @ w + b) on the GPU in one kernel; w is (in, out)."""
    code, param = elementwise_code(activation)
    return _gemm(x, w, False, False, 1.0, 0.0, out, b, code, param, names=("x", "w"))


# ---- activations --------------------------------------------------------------------------------
def _act_forward(x, code, param, out):
    _require()
    xc = _dense(x, "x")
    buf, target = _out_buffer(out, xc.shape)
    _core.cuda_activation_forward(xc, buf, code, float(param))
    return _finish(buf, target)


def _act_backward(dy, x, code, param, out):
    _require()
    g = _dense(dy, "dy")
    xc = _dense(x, "x")
    if xc.shape != g.shape:
        raise ValueError(f"x: expected shape {g.shape} (as dy), got {xc.shape}")
    buf, target = _out_buffer(out, g.shape)
    _core.cuda_activation_backward(g, xc, buf, code, float(param), False)
    return _finish(buf, target)


def relu(x, out=None):
    return _act_forward(x, RELU, 0.0, out)


def relu_backward(dy, x, out=None):
    return _act_backward(dy, x, RELU, 0.0, out)


def leaky_relu(x, negative_slope=DEFAULT_NEGATIVE_SLOPE, out=None):
    return _act_forward(x, LEAKY_RELU, _float(negative_slope, "negative_slope"), out)


def leaky_relu_backward(dy, x, negative_slope=DEFAULT_NEGATIVE_SLOPE, out=None):
    return _act_backward(dy, x, LEAKY_RELU, _float(negative_slope, "negative_slope"), out)


def sigmoid(x, out=None):
    return _act_forward(x, SIGMOID, 0.0, out)


def sigmoid_backward(dy, x, out=None):
    return _act_backward(dy, x, SIGMOID, 0.0, out)


def tanh(x, out=None):
    return _act_forward(x, TANH, 0.0, out)


def tanh_backward(dy, x, out=None):
    return _act_backward(dy, x, TANH, 0.0, out)


def gelu(x, approximate=False, out=None):
    return _act_forward(x, GELU_TANH if approximate else GELU, 0.0, out)


def gelu_backward(dy, x, approximate=False, out=None):
    return _act_backward(dy, x, GELU_TANH if approximate else GELU, 0.0, out)


def _rows(x, name):
    """A C-contiguous (rows, last-axis) view of x (ndim >= 1) and x's shape."""
    xc = _dense(x, name)
    if xc.ndim == 0:
        raise ValueError(f"{name}: expected an array with at least 1 dimension, got a scalar")
    # Rows counted explicitly: reshape(-1, 0) cannot infer -1 for an empty last axis.
    rows = int(np.prod(xc.shape[:-1], dtype=np.int64))
    return xc.reshape(rows, xc.shape[-1]) if xc.ndim != 2 else xc, xc.shape


def _softmax(x, log, out):
    _require()
    x2, shape = _rows(x, "x")
    buf, target = _out_buffer(out, shape)
    _core.cuda_softmax_forward(x2, buf.reshape(x2.shape), bool(log))
    return _finish(buf, target)


def _softmax_backward(dy, x, log, out):
    _require()
    g2, shape = _rows(dy, "dy")
    x2, xshape = _rows(x, "x")
    if xshape != shape:
        raise ValueError(f"x: expected shape {shape} (as dy), got {xshape}")
    buf, target = _out_buffer(out, shape)
    _core.cuda_softmax_backward(g2, x2, buf.reshape(g2.shape), bool(log))
    return _finish(buf, target)


def softmax(x, out=None):
    """Row-wise (last axis) softmax on the GPU."""
    return _softmax(x, False, out)


def log_softmax(x, out=None):
    return _softmax(x, True, out)


def softmax_backward(dy, x, out=None):
    return _softmax_backward(dy, x, False, out)


def log_softmax_backward(dy, x, out=None):
    return _softmax_backward(dy, x, True, out)


def activation(x, name, out=None, **params):
    """Any activation by name, with its parameters (negative_slope for leaky_relu, approximate
    for gelu), as fusednet.ops.activation."""
    key = _lookup(name, params)
    if key in ("softmax", "log_softmax"):
        return _softmax(x, key == "log_softmax", out)
    if key == "leaky_relu":
        return leaky_relu(x, out=out, **params)
    if key == "gelu":
        return gelu(x, out=out, **params)
    code, param = elementwise_code(key)
    return _act_forward(x, code, param, out)


def activation_backward(dy, x, name, out=None, **params):
    """dx for the activation `name` from dy and the forward input x."""
    key = _lookup(name, params)
    if key in ("softmax", "log_softmax"):
        return _softmax_backward(dy, x, key == "log_softmax", out)
    if key == "leaky_relu":
        return leaky_relu_backward(dy, x, out=out, **params)
    if key == "gelu":
        return gelu_backward(dy, x, out=out, **params)
    code, param = elementwise_code(key)
    return _act_backward(dy, x, code, param, out)


# ---- reductions ---------------------------------------------------------------------------------
def bias_grad(dy, out=None):
    """Column sums of a 2-D dy, in a fixed order (bit-reproducible)."""
    _require()
    g = _dense(dy, "dy")
    require_ndim(g, 2, "dy")
    buf, target = _out_buffer(out, (g.shape[1],))
    _core.cuda_bias_grad(g, buf)
    return _finish(buf, target)


def argmax(x):
    """Row-wise argmax of a 2-D x (first index of the max; NaN counts as the max)."""
    _require()
    xc = _dense(x, "x")
    require_ndim(xc, 2, "x")
    out = np.empty(xc.shape[0], np.int64)
    _core.cuda_argmax(xc, out)
    return out


# ---- losses -------------------------------------------------------------------------------------
def _reduction(reduction):
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")
    return reduction


def _as_rows(x, name):
    xc = _dense(x, name)
    if xc.ndim == 1:
        return xc.reshape(-1, 1), xc.shape
    require_ndim(xc, 2, name)
    return xc, xc.shape


def _weights(sample_weight, rows):
    if sample_weight is None:
        return None
    w = _dense(sample_weight, "sample_weight")
    if w.shape != (rows,):
        raise ValueError(f"sample_weight: expected shape ({rows},), got {w.shape}")
    return w


def _pair_loss(kind, a, t, a_name, t_name, sample_weight, reduction):
    _require()
    a2, shape = _as_rows(a, a_name)
    t2 = _dense(t, t_name)
    if t2.shape != shape:
        raise ValueError(f"{t_name}: expected shape {shape} (as {a_name}), got {t2.shape}")
    w = _weights(sample_weight, a2.shape[0])
    grad = np.empty(a2.shape, np.float32)
    loss = _core.cuda_pair_loss(kind, a2, t2.reshape(a2.shape), w, grad, _reduction(reduction))
    return float(loss), grad.reshape(shape)


def mse(pred, target, *, sample_weight=None, reduction="mean"):
    """(loss, dpred): mean squared error and its gradient, on the GPU."""
    return _pair_loss(0, pred, target, "pred", "target", sample_weight, reduction)


def binary_cross_entropy(logits, targets, *, sample_weight=None, reduction="mean"):
    """(loss, dlogits): binary cross-entropy from logits (stable softplus form), on the GPU."""
    return _pair_loss(1, logits, targets, "logits", "targets", sample_weight, reduction)


def softmax_cross_entropy(logits, labels, *, sample_weight=None, reduction="mean"):
    """(loss, dlogits): softmax cross-entropy from logits with integer labels (rows,) or
    probability / one-hot targets (rows, classes), on the GPU."""
    _require()
    z = _dense(logits, "logits")
    require_ndim(z, 2, "logits")
    lab = np.asarray(labels)
    w = _weights(sample_weight, z.shape[0])
    _reduction(reduction)
    if lab.dtype.kind in "iub":
        if lab.shape != (z.shape[0],):
            raise ValueError(f"labels: expected integer labels of shape ({z.shape[0]},), "
                             f"got shape {lab.shape}")
        grad = np.empty(z.shape, np.float32)
        loss = _core.cuda_softmax_ce(z, np.ascontiguousarray(lab, dtype=np.int64), w, grad,
                                     reduction)
        return float(loss), grad
    if lab.dtype.kind == "f":
        if lab.shape != z.shape:
            raise ValueError(f"labels: expected integer labels of shape ({z.shape[0]},) or "
                             f"probabilities of shape {z.shape}, got {lab.dtype} {lab.shape}")
        grad = np.empty(z.shape, np.float32)
        loss = _core.cuda_pair_loss(2, z, _dense(lab, "labels"), w, grad, reduction)
        return float(loss), grad
    raise TypeError(f"labels: expected integer class indices or float probabilities, "
                    f"got dtype {lab.dtype}")


# ---- optimizers (in place) ----------------------------------------------------------------------
def _inplace(x, name):
    """(dense buffer the kernel updates, original to copy back into or None)."""
    require_f32_inplace(x, name)
    if x.flags.c_contiguous:
        return x, None
    return np.ascontiguousarray(x), x


def _grad_like(grad, param):
    g = _dense(grad, "grad")
    if g.shape != param.shape:
        raise ValueError(f"grad: expected shape {param.shape} (as param), got {g.shape}")
    return g


def sgd_(param, grad, velocity=None, *, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """One SGD step in place on the GPU (PyTorch form; velocity required when momentum != 0)."""
    _require()
    p, p_back = _inplace(param, "param")
    g = _grad_like(grad, p)
    v, v_back = (None, None) if velocity is None else _inplace(velocity, "velocity")
    # As fusednet.ops.sgd_: finite, non-negative hyperparameters; no overlapping state.
    lr = _number(lr, "lr", 0.0)
    momentum = _number(momentum, "momentum", 0.0)
    weight_decay = _number(weight_decay, "weight_decay", 0.0)
    if nesterov and momentum == 0.0:
        raise ValueError("nesterov: expected momentum > 0 with nesterov=True, got momentum=0")
    if momentum != 0.0 and v is None:
        raise ValueError("velocity: expected a float32 array like param when momentum != 0, "
                         "got None")
    if velocity is not None:
        _no_overlap(("param", param), ("velocity", velocity))
    _core.cuda_sgd(p, g, v, lr, momentum, bool(nesterov), weight_decay)
    _finish(p, p_back)
    if v is not None:
        _finish(v, v_back)
    return param


def adam_(param, grad, m, v, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
          weight_decay=0.0, decoupled=False):
    """One Adam (decoupled=True: AdamW) step in place on the GPU, paper form, bias-corrected."""
    _require()
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
        raise TypeError(f"step: expected an int >= 1, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"step: expected an int >= 1, got {step}")
    p, p_back = _inplace(param, "param")
    g = _grad_like(grad, p)
    mm, m_back = _inplace(m, "m")
    vv, v_back = _inplace(v, "v")
    # Each is copied to the device separately and copied back in turn: overlapping arrays would
    # silently get one of the results. As fusednet.ops.adam_, refuse them and bad hyperparameters.
    _no_overlap(("param", param), ("m", m), ("v", v))
    _core.cuda_adam(p, g, mm, vv, int(step), _number(lr, "lr", 0.0),
                    _number(beta1, "beta1", 0.0, 1.0, hi_open=True),
                    _number(beta2, "beta2", 0.0, 1.0, hi_open=True), _number(eps, "eps", 0.0),
                    _number(weight_decay, "weight_decay", 0.0), bool(decoupled))
    _finish(p, p_back)
    _finish(mm, m_back)
    _finish(vv, v_back)
    return param
