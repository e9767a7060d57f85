"""Memory-bound cases: activation forwards on 4M floats and softmax cross-entropy (value and
gradient) on 4096 x 1000 logits, each against the NumPy expression a user would write."""

from __future__ import annotations

import math

import numpy as np

from fusednet import ops

from .case import FUSEDNET, NUMPY, TORCH, Case, Contender, Target, max_rel_err

ACT_ELEMENTS = 4 * 2**20
SQRT_2_OVER_PI = np.float32(math.sqrt(2.0 / math.pi))

try:  # NumPy has no erf; SciPy's is what a NumPy user reaches for.
    from scipy.special import erf as _erf

    _ERF_NOTE = "scipy.special.erf"
except ImportError:  # pragma: no cover - depends on the environment
    _erf = None
    _ERF_NOTE = ""


def _erf_numpy(x):
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): the usual NumPy-only stand-in."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return s * (1.0 - poly * np.exp(-a * a))


erf = _erf if _erf is not None else _erf_numpy
ERF_NOTE = _ERF_NOTE or "Abramowitz-Stegun erf in NumPy"

# name -> (fusednet call, NumPy expression, its text, torch call or None, float64 reference)
ACTIVATIONS = {
    "relu": (
        lambda x: ops.relu(x),
        lambda x: np.maximum(x, 0),
        "np.maximum(x, 0)",
        lambda F, t: F.relu(t),
    ),
    "leaky_relu": (
        lambda x: ops.leaky_relu(x, negative_slope=0.01),
        lambda x: np.where(x > 0, x, np.float32(0.01) * x),
        "np.where(x > 0, x, 0.01 * x)",
        lambda F, t: F.leaky_relu(t, 0.01),
    ),
    "sigmoid": (
        lambda x: ops.sigmoid(x),
        lambda x: 1 / (1 + np.exp(-x)),
        "1 / (1 + np.exp(-x))",
        lambda F, t: F.sigmoid(t),
    ),
    "tanh": (lambda x: ops.tanh(x), lambda x: np.tanh(x), "np.tanh(x)", lambda F, t: F.tanh(t)),
    "gelu": (
        lambda x: ops.gelu(x),
        lambda x: 0.5 * x * (1 + erf(x / np.float32(math.sqrt(2)))),
        f"0.5 * x * (1 + erf(x / sqrt(2)))  [{ERF_NOTE}]",
        lambda F, t: F.gelu(t),
    ),
    "gelu_tanh": (
        lambda x: ops.gelu(x, approximate=True),
        lambda x: 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + np.float32(0.044715) * x**3))),
        "0.5 * x * (1 + np.tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))",
        lambda F, t: F.gelu(t, approximate="tanh"),
    ),
    "silu": (
        lambda x: ops.silu(x),
        lambda x: x / (1 + np.exp(-x)),
        "x / (1 + np.exp(-x))",
        lambda F, t: F.silu(t),
    ),
    "mish": (
        lambda x: ops.mish(x),
        lambda x: x * np.tanh(np.logaddexp(x, np.float32(0))),
        "x * np.tanh(np.logaddexp(x, 0))",
        lambda F, t: F.mish(t),
    ),
}


def _reference(name, x):
    x = x.astype(np.float64)
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        return np.where(x > 0, x, 0.01 * x)
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(x / 2))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    if name == "silu":
        return x * 0.5 * (1 + np.tanh(x / 2))
    if name == "mish":
        return x * np.tanh(np.logaddexp(x, 0.0))
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def activation_case(name, x, torch) -> Case:
    ours, numpy_expr, numpy_text, torch_fn = ACTIVATIONS[name]
    contenders = [
        Contender(FUSEDNET, lambda: ours(x), "fresh output"),
        Contender(NUMPY, lambda: numpy_expr(x), numpy_text),
    ]
    if torch is not None:
        F, xt = torch.nn.functional, torch.from_numpy(x)
        contenders.append(Contender(TORCH, lambda: torch_fn(F, xt), "torch.nn.functional"))
    else:
        contenders.append(Contender(TORCH, None, reason="torch not installed"))

    def check():
        stride = max(1, x.size // 20000)  # a strided subset keeps the float64 reference cheap
        sample, got = x[::stride], np.asarray(ours(x))[::stride]
        return max_rel_err(got, _reference(name, sample)), 1e-5

    display = "gelu(approximate=True)" if name == "gelu_tanh" else name
    return Case(
        "act",
        f"{display} 4M",
        contenders,
        bytes=8.0 * x.size,
        napkin="8 bytes/element (read x, write y)",
        targets=(Target(NUMPY, 1.5, "issue 2"),),
        check=check,
    )


def activation_cases(cfg):
    x = np.random.default_rng(1).standard_normal(ACT_ELEMENTS, dtype=np.float32) * np.float32(3)
    for name in ACTIVATIONS:
        yield activation_case(name, x, cfg.torch)


def numpy_softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient, the straightforward stable NumPy way."""
    n = logits.shape[0]
    rows = np.arange(n)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(total[:, 0]) - shifted[rows, labels])
    grad = exp / total
    grad[rows, labels] -= 1
    grad /= n
    return loss, grad


def softmax_ce_case(torch, n=4096, classes=1000) -> Case:
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((n, classes), dtype=np.float32) * np.float32(4)
    labels = rng.integers(0, classes, n)

    def ours():
        return ops.softmax_cross_entropy(logits, labels)

    contenders = [
        Contender(FUSEDNET, ours, "ops.softmax_cross_entropy -> (loss, dlogits)"),
        Contender(
            NUMPY,
            lambda: numpy_softmax_cross_entropy(logits, labels),
            "max-shift, exp, sum, log; grad = softmax - onehot",
        ),
    ]
    if torch is not None:
        F = torch.nn.functional
        lt, yt = torch.from_numpy(logits), torch.from_numpy(labels)

        def torch_ce():
            x = lt.detach().requires_grad_(True)
            loss = F.cross_entropy(x, yt)
            loss.backward()
            return loss, x.grad

        contenders.append(Contender(TORCH, torch_ce, "F.cross_entropy + backward"))
    else:
        contenders.append(Contender(TORCH, None, reason="torch not installed"))

    def check():
        loss, grad = ours()
        ref_loss, ref_grad = numpy_softmax_cross_entropy(logits.astype(np.float64), labels)
        return max(abs(float(loss) - ref_loss) / abs(ref_loss), max_rel_err(grad, ref_grad)), 1e-5

    return Case(
        "loss",
        f"softmax_ce {n}x{classes}",
        contenders,
        bytes=8.0 * logits.size,
        napkin="8 bytes/logit (read logits, write dlogits)",
        check=check,
    )


def loss_cases(cfg):
    yield softmax_ce_case(cfg.torch)
