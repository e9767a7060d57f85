"""The CPU gemm's small kernel (few rows or a narrow N, no packing): the plan that picks it and
its orientation, every shape, form and layout against the float64 reference, and bit equality
with the blocked path, on every CPU ISA path."""

from __future__ import annotations

import numpy as np
import pytest

import fusednet as fnet
from checks import single_threaded_numpy_blas  # noqa: F401 (an autouse fixture)
from fusednet import ops
from reference_gemm import ACTS, FORMS, assert_gemm_close, gemm_ref, operands, relayout

_core = fnet._core
ACT = _core.Activation.__members__  # name -> _core.Activation


def op_strides(x, trans):
    """Element strides (rows, columns) of op(x)."""
    rs, cs = (s // 4 for s in x.strides)
    return (cs, rs) if trans else (rs, cs)


def small_plan(a, b, out, trans_a, trans_b, bias, isa):
    M, N = out.shape
    K = a.shape[0] if trans_a else a.shape[1]
    rs_a, cs_a = op_strides(a, trans_a)
    rs_b, cs_b = op_strides(b, trans_b)
    rs_c, cs_c = op_strides(out, False)
    return _core._gemm_small_plan(M, N, K, rs_a, cs_a, rs_b, cs_b, rs_c, cs_c, bias, isa)


@pytest.fixture
def small_kernel_everywhere():
    before = _core._gemm_tuning(small_max_work=1e30)
    try:
        yield
    finally:
        _core._gemm_tuning(*before)


SMALL_LAYOUTS = ["c", "f", "strided", "negative", "negative_f", "rows_reversed", "wide"]


def small_relayout(x, layout):
    """relayout plus two views that keep unit column strides (the small kernel's B):
    reversed rows, and rows of a wider array."""
    if layout == "rows_reversed":
        return np.ascontiguousarray(x[::-1])[::-1]
    if layout == "wide":
        big = np.full((x.shape[0], x.shape[1] + 5), np.nan, np.float32)
        big[:, 2 : 2 + x.shape[1]] = x
        return big[:, 2 : 2 + x.shape[1]]
    return relayout(x, layout)


def test_small_kernel_shapes_forms_layouts(cpu_isa, small_kernel_everywhere, rng):
    """Every row-group size (1-4 and their sums), 1 and 2 vectors of columns with every tail,
    K around the unrolled partial sums, every form and layout, both orientations; alpha, beta
    (NaN in C when 0), bias and each activation in the epilogue."""
    w = _core.gemm_blocking(cpu_isa)["simd_width"]
    plans = set()
    combos = 0
    for M in (1, 2, 3, 4, 5, 6, 7, 9, 1000):
        for N in sorted({1, 2, 3, w - 1, w, w + 1, 2 * w - 1, 2 * w}):
            for K in (1, 2, 3, 7, 9, 17, 1000):
                combos += 1
                trans_a, trans_b = FORMS[combos % 4]
                la, lb, lc = (SMALL_LAYOUTS[(combos * p) % len(SMALL_LAYOUTS)] for p in (1, 3, 5))
                a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
                b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
                a, b = small_relayout(a, la), small_relayout(b, lb)
                c0 = rng.standard_normal((M, N)).astype(np.float32)
                act = ACTS[combos % len(ACTS)]
                alpha, beta = [(1.0, 0.0), (0.5, -1.25), (-2.0, 1.0)][combos % 3]
                bias = rng.standard_normal(N).astype(np.float32) if combos % 2 else None
                out = small_relayout(c0.copy(), lc)
                if beta == 0:
                    out[...] = np.nan
                plans.add(small_plan(a, b, out, trans_a, trans_b, bias is not None, cpu_isa))
                slope = 0.2 if act == "leaky_relu" else 0.0
                _core.gemm_ex(
                    a, b, out, trans_a, trans_b, alpha, beta, bias, ACT[act or "linear"], slope
                )
                want, scale = gemm_ref(
                    a,
                    b,
                    trans_a=trans_a,
                    trans_b=trans_b,
                    alpha=alpha,
                    beta=beta,
                    c=c0,
                    bias=bias,
                    activation=act,
                    negative_slope=slope,
                )
                assert_gemm_close(
                    out,
                    want,
                    scale,
                    K,
                    f"small {cpu_isa} M={M} N={N} K={K} trans=({trans_a},{trans_b})"
                    f" layouts={la},{lb},{lc} act={act} a={alpha} b={beta}",
                )
    assert plans == {-1, 0, 1}


@pytest.mark.parametrize("form", FORMS, ids=["NN", "NT", "TN", "TT"])
def test_small_kernel_bits_equal_blocked_path(cpu_isa, form, rng):
    """The small kernel sums each element as the blocked path does (K passes of the same length
    included), so a result never depends on the path, hence on M or on a row's place in a batch."""
    blk = _core.gemm_blocking(cpu_isa)
    w, kc = blk["simd_width"], blk["kc"]
    trans_a, trans_b = form
    for M, N, K in [
        (1, 1, 1),
        (7, 3, 5),
        (9, w, 2 * kc + 3),
        (1000, 2 * w, 7),
        (5, w + 1, kc + 1),
        (13, 4, 3 * kc),
    ]:
        a, b = operands(rng, M, N, K, trans_a, trans_b)
        bias = rng.standard_normal(N).astype(np.float32)
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        got = {}
        for path, tuning in (
            ("small", (-1, -1, -1, 1e30)),
            ("blocked", (-1, -1, -1, 0)),
            ("packed", (0, 0, 0, 0)),
        ):
            before = _core._gemm_tuning(*tuning)
            try:
                outs = []
                for code, alpha, beta, bias_ in (
                    (ACT["linear"], 1.0, 0.0, None),
                    (ACT["relu"], 0.5, -1.5, bias),
                    (ACT["leaky_relu"], -1.0, 1.0, None),
                ):
                    out = c0.copy()
                    _core.gemm_ex(a, b, out, trans_a, trans_b, alpha, beta, bias_, code, 0.1)
                    outs.append(out)
                rows = a[:, : M // 2 + 1] if trans_a else a[: M // 2 + 1]  # part of the batch
                outs.append(ops.linear(rows.T if trans_a else rows, b.T if trans_b else b, bias))
                got[path] = outs
            finally:
                _core._gemm_tuning(*before)
        for path in ("blocked", "packed"):
            for x, y in zip(got["small"], got[path]):
                assert np.array_equal(x, y), f"small vs {path} M={M} N={N} K={K} form={form}"
        assert np.array_equal(
            got["small"][3],
            ops.linear(a.T if trans_a else a, b.T if trans_b else b, bias)[: M // 2 + 1],
        )


def test_small_kernel_plan(cpu_isa):
    """The tiny net's GEMMs take the small kernel by default, in the cheaper orientation;
    unit-stride B is required, and a bias keeps C's orientation."""
    w = _core.gemm_blocking(cpu_isa)["simd_width"]
    plan = lambda *args: _core._gemm_small_plan(*args, isa=cpu_isa)  # noqa: E731
    # M, N, K, rs_a, cs_a, rs_b, cs_b, rs_c, cs_c, bias
    assert plan(1000, 4, 2, 2, 1, 4, 1, 4, 1, True) == 0  # forward 2 -> 4
    assert plan(1000, 1, 4, 4, 1, 1, 1, 1, 1, True) == 0  # forward 4 -> 1
    assert plan(4, 1, 1000, 1, 4, 1, 1, 1, 1, False) == 1  # dW 4x1: C^T is one row of 4
    assert plan(2, 4, 1000, 1, 2, 4, 1, 4, 1, False) == 0  # dW 2x4
    assert plan(1000, 4, 1, 1, 1, 1, 1, 4, 1, False) == 0  # dX = dz @ W^T
    assert plan(1000, 4, 2, 2, 1, 4, 4, 4, 1, True) == -1  # B with strided columns
    assert plan(1000, 2 * w + 1, 2, 2, 1, 4, 1, 4, 1, True) == -1  # too wide
    assert plan(1000, 4, 1000, 1000, 1, 4, 1, 4, 1, True) == -1  # too much work
    assert plan(128, w + 1, 128, 1, 128, w + 1, 1, w + 1, 1, False) == -1  # long strided A walks
    assert plan(128, w + 1, 32, 1, 128, w + 1, 1, w + 1, 1, False) == 0  # short ones
    before = _core._gemm_tuning(small_max_work=0)
    try:
        assert plan(1000, 4, 2, 2, 1, 4, 1, 4, 1, True) == -1
    finally:
        _core._gemm_tuning(*before)
