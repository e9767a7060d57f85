"""float64 NumPy references for the gemm family: matmul, linear and the epilogue activations;
and the operand layouts and forms the gemm tests sweep.

Independent of the C++ code: plain NumPy in double precision, so the tests measure the float32
kernels' error against (nearly) exact values.
"""

from __future__ import annotations

import math

import numpy as np

EPS32 = float(np.finfo(np.float32).eps)
FORMS = [(False, False), (False, True), (True, False), (True, True)]  # (trans_a, trans_b)
ACTS = [None, "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]


def operands(rng, M, N, K, trans_a, trans_b, layout="c"):
    """op(a) is M x K and op(b) K x N, stored transposed when asked, in the given layout."""
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    return relayout(a, layout, rng), relayout(b, layout, rng)


def relayout(x, layout, rng=None):
    """The same values as a view with another memory layout."""
    if layout == "c":
        return x
    if layout == "f":
        return np.asfortranarray(x)
    if layout == "strided":  # every other row and column of a bigger array
        big = np.full((2 * x.shape[0] + 1, 3 * x.shape[1] + 1), np.nan, np.float32)
        big[1::2, 2::3][: x.shape[0], : x.shape[1]] = x
        return big[1::2, 2::3][: x.shape[0], : x.shape[1]]
    if layout == "negative":
        big = np.ascontiguousarray(x[::-1, ::-1])
        return big[::-1, ::-1]
    if layout == "negative_f":
        big = np.asfortranarray(x[::-1, :])
        return big[::-1, :]
    raise ValueError(layout)


def activation_ref(name, x, negative_slope=0.01):
    x = np.asarray(x, dtype=np.float64)
    if name in (None, "linear"):
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x < 0, x * negative_slope, x)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * x))
    if name == "tanh":
        return np.tanh(x)
    if name == "gelu":
        erf = np.vectorize(math.erf, otypes=[np.float64])
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    if name == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise ValueError(name)


def gemm_ref(
    a,
    b,
    *,
    trans_a=False,
    trans_b=False,
    alpha=1.0,
    beta=0.0,
    c=None,
    bias=None,
    activation=None,
    negative_slope=0.01,
):
    """(value, scale): act(alpha op(a) op(b) + beta c + bias) in float64, and the per-element
    magnitude |alpha| |op(a)| |op(b)| + |beta c| + |bias| that bounds the float32 rounding error."""
    A = np.asarray(a, np.float64)
    B = np.asarray(b, np.float64)
    A = A.T if trans_a else A
    B = B.T if trans_b else B
    z = alpha * (A @ B) if alpha != 0 else np.zeros((A.shape[0], B.shape[1]))
    scale = abs(alpha) * (np.abs(A) @ np.abs(B)) if alpha != 0 else np.zeros_like(z)
    if beta != 0:
        C = np.asarray(c, np.float64)
        z = z + beta * C
        scale = scale + abs(beta * C)
    if bias is not None:
        z = z + np.asarray(bias, np.float64)[None, :]
        scale = scale + np.abs(np.asarray(bias, np.float64))[None, :]
    return activation_ref(activation, z, negative_slope), scale


def assert_gemm_close(got, want, scale, K, what=""):
    """|got - want| <= 4 (K + 4) eps32 * scale + 2e-6 |want| + 1e-30 elementwise (a K-scaled bound
    relative to sum |a||b|; the 2e-6 |want| term covers the float32 activation). On failure,
    prints the worst element, its error and the bound."""
    got = np.asarray(got, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    bound = 4.0 * (K + 4) * EPS32 * scale + 2e-6 * np.abs(want) + 1e-30
    err = np.abs(got - want)
    both_nan = np.isnan(got) & np.isnan(want)
    bad = ~((err <= bound) | both_nan)
    if bad.any():
        idx = np.unravel_index(
            np.argmax(np.where(bad, err / np.maximum(bound, 1e-300), 0)), got.shape
        )
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {got.size} elements off; worst at {idx}: "
            f"got {got[idx]!r}, want {want[idx]!r}, abs err {err[idx]:.3g}, "
            f"bound {bound[idx]:.3g}, max abs err {np.nanmax(err):.3g}"
        )
