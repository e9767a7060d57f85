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
        # one or two chains per row group over 4+ K passes: the passes run side by side
        (1, w, 4 * kc + 5),
        (2, 3, 4 * kc),
        (1, 2 * w, 3 * kc + 1),
        (2, w, 2 * kc + 1),
        # C at most half a vector wide, K at most one vector: several rows per vector
        (1000, 4, 2),
        (1000, 1, 4),
        (1000, 4, 1),
        (37, 3, 5),
        (33, w // 2, w),
        (50, 1, w),
        (2, 1, 1),
    ]:
        a, b = operands(rng, M, N, K, trans_a, trans_b)
        bias = rng.standard_normal(N).astype(np.float32)
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        got = {}
        for path, tuning in (
            ("small", (-1, -1, -1, 1e30)),
            ("blocked", (-1, -1, -1, 0, 0)),
            ("packed", (0, 0, 0, 0, 0)),
            ("sup", (-1, -1, -1, 0, 1e30)),
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
        for path in ("blocked", "packed", "sup"):
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


# ---- the sup path (small products of any width: A in place, B in place or packed once) ---------

# (parallel_min_work, pack_a_min_n, direct_b_max_m, small_max_work, sup_max_work)
SUP_EVERYWHERE = (-1, -1, -1, 0, 1e30)
BLOCKED_ONLY = (-1, -1, -1, 0, 0)
PACKED_PARALLEL = (0, 0, 0, 0, 0)


def run_with(tuning, fn, *args):
    """fn(*args) with the gemm tuning set, then restored."""
    before = _core._gemm_tuning(*tuning)
    try:
        return fn(*args)
    finally:
        _core._gemm_tuning(*before)


def gemm_ex_all(a, b, c0, trans_a, trans_b, bias, act, alpha, beta, out_layout):
    out = relayout(c0.copy(), out_layout)
    return _core.gemm_ex(a, b, out, trans_a, trans_b, alpha, beta, bias, ACT[act], 0.1)


def test_sup_odd_sizes_forms_layouts(cpu_isa, rng):
    """Every M, N, K in 1..67 (each register-tile remainder, full and masked panels, several
    panels), every form and layout, alpha, beta, bias and each activation: the sup path against
    the float64 reference and bit for bit against the blocked path."""
    sizes = (1, 2, 3, 5, 7, 8, 9, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 64, 67)
    cases = [
        (m, n, k) for m in sizes for n in sizes for k in (1, 3, 16, 67) if (m + n + k) % 5 == 0
    ]
    layouts = ["c", "f", "strided", "negative", "negative_f"]
    for i, (M, N, K) in enumerate(cases):
        trans_a, trans_b = FORMS[i % 4]
        layout, out_layout = layouts[i % 5], layouts[(i // 5) % 5]
        act = ACTS[i % len(ACTS)] or "linear"
        alpha, beta = ((1.0, 0.0), (0.5, -1.5), (-1.0, 1.0))[i % 3]
        a, b = operands(rng, M, N, K, trans_a, trans_b, layout)
        bias = rng.standard_normal(N).astype(np.float32) if i % 2 else None
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        args = (a, b, c0, trans_a, trans_b, bias, act, alpha, beta, out_layout)
        got = run_with(SUP_EVERYWHERE, gemm_ex_all, *args)
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
            negative_slope=0.1,
        )
        what = f"sup {M}x{N}x{K} form={trans_a, trans_b} {layout}/{out_layout} {act}"
        assert_gemm_close(got, want, scale, K, what)
        blocked = run_with(BLOCKED_ONLY, gemm_ex_all, *args)
        assert np.array_equal(got, blocked), what


def test_sup_long_k_and_threads_bitwise(cpu_isa, threads, rng):
    """K over one K pass (the blocked path's pass order kept), and products past
    parallel_min_work shared out by rows (M >= N) or by panels (M < N), with B packed (NT)
    before the row pieces or by each panel piece: the same bits on 1, 2 and 3 threads, and as
    the blocked path, packed and parallel."""
    kc = _core.gemm_blocking(cpu_isa)["kc"]
    for M, N, K, form in [
        (13, 40, 2 * kc + 5, (False, False)),
        (128, 128, 128, (False, False)),
        (100, 37, 300, (True, False)),
        (40, 200, 150, (False, True)),
        (70, 90, 170, (True, True)),
        (20, 128, 450, (False, True)),  # panel pieces, each packing its own B panels
    ]:
        a, b = operands(rng, M, N, K, *form)
        bias = rng.standard_normal(N).astype(np.float32)
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        runs = []
        for n in (1, 2, 3):
            threads(n)
            for act, beta, bias_ in (("relu", 0.0, bias), ("gelu", 0.5, None)):
                args = (a, b, c0, *form, bias_, act, 1.0, beta, "c")
                runs.append((n, act, run_with(SUP_EVERYWHERE, gemm_ex_all, *args)))
                if n == 1:
                    want, scale = gemm_ref(
                        a,
                        b,
                        trans_a=form[0],
                        trans_b=form[1],
                        beta=beta,
                        c=c0,
                        bias=bias_,
                        activation=act,
                    )
                    assert_gemm_close(runs[-1][2], want, scale, K, f"{M}x{N}x{K} {act}")
                    packed = run_with(PACKED_PARALLEL, gemm_ex_all, *args)
                    assert np.array_equal(runs[-1][2], packed), f"{M}x{N}x{K} {act} vs packed"
        for n, act, got in runs[2:]:
            first = runs[0][2] if act == "relu" else runs[1][2]
            assert np.array_equal(got, first), f"{M}x{N}x{K} {act} threads={n}"


def test_sup_narrow_last_panel(cpu_isa, threads, rng):
    """A last panel of 1-8 columns (on AVX-512 the AVX2 small kernel's: N = 100 is 3 x 32 + 4)
    next to whole panels, in every form, with and without bias, relu, beta, K over one pass, B in
    place and packed, split over threads: the blocked path's bits, close to float64."""
    kc = _core.gemm_blocking(cpu_isa)["kc"]
    cases = [(100, 100, 40), (100, 100, 100), (40, 100, 100), (100, 40, 100), (37, 65, 9)]
    cases += [(29, 32 * (i % 3) + i, 7 + 11 * i) for i in range(1, 9)] + [(50, 36, kc + 3)]
    for i, (M, N, K) in enumerate(cases):
        form = FORMS[i % 4]
        a, b = operands(rng, M, N, K, *form)
        bias = rng.standard_normal(N).astype(np.float32) if i % 2 == 0 else None
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        act, beta = ("relu", 0.0) if i % 3 else ("linear", -0.5)
        args = (a, b, c0, *form, bias, act, 1.0, beta, "c")
        what = f"{M}x{N}x{K} form={form} bias={bias is not None} {act}"
        threads(1)
        got = run_with(SUP_EVERYWHERE, gemm_ex_all, *args)
        want, scale = gemm_ref(
            a, b, trans_a=form[0], trans_b=form[1], beta=beta, c=c0, bias=bias, activation=act
        )
        assert_gemm_close(got, want, scale, K, what)
        assert np.array_equal(got, run_with(BLOCKED_ONLY, gemm_ex_all, *args)), what
        threads(2)
        split = run_with((0, -1, -1, 0, 1e30), gemm_ex_all, *args)
        assert np.array_equal(got, split), what + " on 2 threads"


def test_blocked_one_thread_pass_order_bitwise(cpu_isa, threads, rng):
    """One thread runs the blocked path pass by pass over all M blocks (Goto's loop order), a
    team M block by M block: several M blocks and K passes, every form, beta, bias and each kind
    of activation (a row activation after the last pass only). The same bits either way, with
    A and B packed or read in place, and close to the float64 reference."""
    blk = _core.gemm_blocking(cpu_isa)
    M, N, K = 2 * blk["mc"] + 7, 45, 2 * blk["kc"] + 9
    for i, form in enumerate(FORMS):
        a, b = operands(rng, M, N, K, *form)
        bias = rng.standard_normal(N).astype(np.float32)
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        act = ("gelu", "relu", "sigmoid", "linear")[i]
        args = (a, b, c0, *form, bias, act, 0.5, -1.5, "c")
        one = {}
        for n in (1, 2):
            threads(n)
            for name, tuning in (("packed", PACKED_PARALLEL), ("in place", (0, 1 << 20, -1, 0, 0))):
                got = run_with(tuning, gemm_ex_all, *args)
                what = f"{cpu_isa} {form} {act} {name} threads={n}"
                if n == 1:
                    one[name] = got
                    want, scale = gemm_ref(
                        a,
                        b,
                        trans_a=form[0],
                        trans_b=form[1],
                        alpha=0.5,
                        beta=-1.5,
                        c=c0,
                        bias=bias,
                        activation=act,
                    )
                    assert_gemm_close(got, want, scale, K, what)
                assert np.array_equal(got, one["packed"]), what


def test_sup_default_range(cpu_isa, threads, rng):
    """By default the sup path takes products up to 2^22 multiply-adds (the bench's 128 x 256 x
    128) and the blocked path those above: both give the blocked path's bits."""
    assert _core._gemm_tuning()[4] == float(1 << 22)
    for M, K, N in [(32, 32, 32), (64, 64, 64), (128, 256, 128), (129, 256, 128)]:
        x = rng.standard_normal((M, K)).astype(np.float32)
        w = rng.standard_normal((K, N)).astype(np.float32)
        for n in (1, 2):
            threads(n)
            got = ops.matmul(x, w)
            assert np.array_equal(got, run_with(BLOCKED_ONLY, ops.matmul, x, w))


# ---- ops.matmul's fast path (_core._matmul_fast) -------------------------------------------------


def test_matmul_fast_path_results(rng):
    """Plain float32 arrays in any layout, with and without out, alpha and beta, both transposes:
    one C call with the general binding's result."""
    for i, (trans_a, trans_b) in enumerate(FORMS):
        a, b = operands(rng, 9, 20, 11, trans_a, trans_b, ["c", "f", "strided", "negative"][i])
        c0 = rng.standard_normal((9, 20)).astype(np.float32)
        got = _core._matmul_fast(a, b, None, trans_a, trans_b, 2.0, 0.0)
        want = _core.gemm(a, b, None, trans_a, trans_b, 2.0, 0.0)
        assert np.array_equal(got, want)
        for layout in ("c", "f", "strided"):
            out = relayout(c0.copy(), layout)
            res = _core._matmul_fast(a, b, out, trans_a, trans_b, 1, -0.5)
            assert res is out
            ref = relayout(c0.copy(), layout)
            _core.gemm(a, b, ref, trans_a, trans_b, 1.0, -0.5)
            assert np.array_equal(out, ref)
        ref, scale = gemm_ref(a, b, trans_a=trans_a, trans_b=trans_b, alpha=2.0)
        assert_gemm_close(
            ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=2.0), ref, scale, 11
        )


class NoTruth:
    def __bool__(self):
        raise RuntimeError("no truth value")


def test_matmul_fast_path_declines(rng):
    """Whatever is not a plain aligned float32 2-D NumPy product gets NotImplemented, so
    ops.matmul takes the general path (conversions, copies, worded errors)."""
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((3, 5)).astype(np.float32)
    out = np.zeros((4, 5), np.float32)
    raw = np.zeros(4 * 5 * 4 + 1, np.uint8)
    misaligned = raw[1:].view(np.float32).reshape(4, 5)
    read_only = out.copy()
    read_only.flags.writeable = False
    shared = np.zeros((4, 8), np.float32)
    declined = [
        (a.tolist(), b, None, False, False, 1.0, 0.0),  # not an ndarray
        (a.astype(np.float64), b, None, False, False, 1.0, 0.0),  # another dtype
        (a.astype(">f4"), b, None, False, False, 1.0, 0.0),  # another byte order
        (a[0], b, None, False, False, 1.0, 0.0),  # 1-D
        (a, b.T, None, False, False, 1.0, 0.0),  # inner dimensions differ
        (a, b, None, False, False, 1.0, 1.0),  # beta without out
        (a, b, misaligned, False, False, 1.0, 0.0),
        (a, b, read_only, False, False, 1.0, 0.0),
        (a, b, out[:, :4], False, False, 1.0, 0.0),  # out's shape
        (a, b, out.astype(np.float64), False, False, 1.0, 0.0),
        (shared[:, :3], b, shared[:, 3:], False, False, 1.0, 0.0),  # out overlaps a
        (a, shared[:3, :5], shared[:4, 3:8], False, False, 1.0, 0.0),  # out overlaps b
        (a, b, None, NoTruth(), False, 1.0, 0.0),  # trans_a whose truth value raises
        (a, b, None, False, False, "x", 0.0),  # alpha not a number
        (a, b, None, False, False, 1.0, None),  # beta not a number
    ]
    for args in declined:
        assert _core._matmul_fast(*args) is NotImplemented, args
    with pytest.raises(TypeError, match="7 arguments"):
        _core._matmul_fast(a, b)
    # The general path still does what the fast one declines.
    assert np.allclose(ops.matmul(a.astype(np.float64), b), a @ b, rtol=1e-5, atol=1e-6)
    got = ops.matmul(a, b, out=misaligned)
    assert got is misaligned and np.allclose(misaligned, a @ b, rtol=1e-5, atol=1e-6)
    shared[:, :3] = a
    ops.matmul(shared[:, :3], b, out=shared[:, 3:])
    assert np.allclose(shared[:, 3:], a @ b, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="inner dimensions"):
        ops.matmul(a, b.T)
    with pytest.raises(ValueError, match="out: required when beta"):
        ops.matmul(a, b, beta=1.0)
    with pytest.raises(ValueError, match="read-only"):
        ops.matmul(a, b, out=read_only)
