"""ops.matmul / ops.linear (csrc/cpu/gemm*.cpp) against the float64 reference, on every CPU ISA
path, every transpose form, odd layouts, edge sizes around each block size, the epilogue, threads.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fusednet as fnet
from fusednet import ops
from reference_gemm import assert_gemm_close, gemm_ref

_core = fnet._core
FORMS = [(False, False), (False, True), (True, False), (True, True)]
ACTS = [None, "linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_numpy_blas():
    """The float64 references run on NumPy's BLAS; its spinning worker threads fight fusednet's
    OpenMP threads for this machine's 2 cores and make both slow, so keep them to one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


ACT_CODES = {None: 0, "linear": 0, "relu": 1, "leaky_relu": 2, "sigmoid": 3, "tanh": 4,
             "gelu": 5, "gelu_tanh": 6}


@pytest.fixture(params=["default", "packed_parallel", "strided_a_direct_b_parallel",
                        "packed_direct_b_serial", "packed_parallel_split_n",
                        "packed_parallel_own_panels", "small"])
def gemm_path(request):
    """Forces each driver path: A packed or read in place, B packed or (row-major B) read in
    place, with or without threads, the most tasks (one-panel N chunks), with or without
    waiting for B panels another thread is packing (all without the small kernel); or the small
    kernel wherever the layout allows it, whatever the size."""
    settings_ = {"default": (-1, -1, -1, -1), "packed_parallel": (0, 0, 0, 0),
                 "strided_a_direct_b_parallel": (0, 1 << 40, 1 << 40, 0),
                 "packed_direct_b_serial": (1e30, 0, 1 << 40, 0),
                 "packed_parallel_split_n": (0, 0, 0, 0),
                 "packed_parallel_own_panels": (0, 0, 0, 0),
                 "small": (-1, -1, -1, 1e30)}[request.param]
    before = _core._gemm_tuning(*settings_)
    split_mode = {"packed_parallel_split_n": 1, "packed_parallel_own_panels": 2}
    split_before = _core._gemm_split_n(split_mode.get(request.param, 0))
    try:
        yield request.param
    finally:
        _core._gemm_tuning(*before)
        _core._gemm_split_n(split_before)


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


def check_matmul(rng, M, N, K, trans_a=False, trans_b=False, alpha=1.0, beta=0.0,
                 layout="c", out_layout=None, what=""):
    a, b = operands(rng, M, N, K, trans_a, trans_b, layout)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    want, scale = gemm_ref(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, c=c0)
    if beta == 0 and out_layout is None:
        got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha)
    else:
        out = relayout(c0.copy(), out_layout or "c")
        if beta == 0:
            out[...] = np.nan  # must not be read
        got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha, beta=beta, out=out)
        assert got is out
    assert got.dtype == np.float32
    assert_gemm_close(got, want, scale, K,
                      f"{what} M={M} N={N} K={K} trans=({trans_a},{trans_b}) alpha={alpha} "
                      f"beta={beta} layout={layout} out={out_layout}")
    return got


def edge_sizes(isa):
    blk = _core.gemm_blocking(isa)
    mr, nr = blk["mr"], blk["nr"]
    return blk, sorted({1, 2, 3, 5, 7, 13, mr - 1, mr, mr + 1, nr - 1, nr, nr + 1, 2 * nr + 3})


# ---- shapes and forms ------------------------------------------------------------------------

def test_small_shape_grid_every_form(cpu_isa, rng):
    _, sizes = edge_sizes(cpu_isa)
    for trans_a, trans_b in FORMS:
        for M in sizes:
            for N in sizes:
                K = int(rng.choice(sizes))
                check_matmul(rng, M, N, K, trans_a, trans_b, what=cpu_isa)


@pytest.mark.parametrize("form", FORMS, ids=["NN", "NT", "TN", "TT"])
def test_block_edges(cpu_isa, gemm_path, form, rng):
    """One less / one more than KC and MC, sizes that are no multiple of any tile."""
    blk, _ = edge_sizes(cpu_isa)
    kc, mc = blk["kc"], blk["mc"]
    for M, N, K in [(mc - 1, 19, kc - 1), (mc + 1, 37, kc + 1), (11, blk["nr"] * 3 + 1, 2 * kc + 1),
                    (2 * mc + 5, 5, kc), (blk["mr"] + 1, blk["nr"] - 1, 3)]:
        check_matmul(rng, M, N, K, *form, what=f"{cpu_isa}/{gemm_path}")


@pytest.mark.parametrize("M,N,K", [(1000, 7, 13), (3, 1001, 5), (5, 9, 1500), (1031, 257, 301),
                                   (1, 1024, 1), (64, 4100, 17)])
def test_large_dims(cpu_isa, M, N, K, rng):
    check_matmul(rng, M, N, K, what=cpu_isa)
    check_matmul(rng, M, N, K, True, True, what=cpu_isa)


def test_mlp_shapes_all_forms(cpu_isa, gemm_path, rng):
    for batch in (32, 97):
        for fin, fout in ((784, 128), (128, 10), (10, 256)):
            check_matmul(rng, batch, fout, fin, what="forward NN")           # y = x w
            check_matmul(rng, batch, fin, fout, False, True, what="dX NT")   # dy w^T
            check_matmul(rng, fin, fout, batch, True, False, what="dW TN")   # x^T dy


# ---- layouts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["f", "strided", "negative", "negative_f"])
@pytest.mark.parametrize("form", FORMS, ids=["NN", "NT", "TN", "TT"])
def test_input_layouts(cpu_isa, layout, form, rng):
    for M, N, K in [(7, 33, 19), (70, 45, 300)]:
        check_matmul(rng, M, N, K, *form, layout=layout, what=cpu_isa)


@pytest.mark.parametrize("out_layout", ["c", "f", "strided", "negative", "negative_f"])
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.75])
def test_out_layouts(cpu_isa, out_layout, beta, rng):
    for M, N, K in [(13, 17, 5), (61, 40, 270)]:
        check_matmul(rng, M, N, K, alpha=1.5, beta=beta, out_layout=out_layout, what=cpu_isa)


def test_zero_size(cpu_isa, rng):
    for M, N, K in [(0, 5, 3), (4, 0, 3), (0, 0, 0)]:
        a, b = operands(rng, M, N, K, False, False)
        got = ops.matmul(a, b)
        assert got.shape == (M, N) and got.dtype == np.float32
    a, b = operands(rng, 4, 6, 0, False, False)
    assert np.array_equal(ops.matmul(a, b), np.zeros((4, 6), np.float32))
    c = rng.standard_normal((4, 6)).astype(np.float32)
    out = c.copy()
    ops.matmul(a, b, beta=2.0, out=out)
    np.testing.assert_array_equal(out, 2.0 * c)
    bias = np.arange(6, dtype=np.float32) - 3
    np.testing.assert_array_equal(ops.linear(np.zeros((4, 0), np.float32), np.zeros((0, 6), np.float32),
                                             bias, activation="relu"),
                                  np.broadcast_to(np.maximum(bias, 0), (4, 6)))


# ---- alpha, beta, NaN ------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [1.0, -0.5, 0.0, 3.0])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.5])
def test_alpha_beta(cpu_isa, alpha, beta, rng):
    for M, N, K in [(9, 23, 11), (50, 70, 600)]:
        check_matmul(rng, M, N, K, alpha=alpha, beta=beta, out_layout="c", what=cpu_isa)


def test_beta_zero_never_reads_nan_out(cpu_isa, gemm_path, rng):
    for M, N, K in [(5, 7, 3), (100, 130, 600)]:
        a, b = operands(rng, M, N, K, False, False)
        for layout in ("c", "f", "strided"):
            out = relayout(np.full((M, N), np.nan, np.float32), layout)
            ops.matmul(a, b, out=out)
            assert np.isfinite(out).all()
            out[...] = np.inf
            ops.linear(a, b, np.ones(N, np.float32), activation="tanh", out=out)
            assert np.isfinite(out).all()


def test_alpha_zero_ignores_a_and_b(cpu_isa):
    a = np.full((3, 4), np.nan, np.float32)
    b = np.full((4, 5), np.inf, np.float32)
    out = np.ones((3, 5), np.float32)
    ops.matmul(a, b, alpha=0.0, beta=2.0, out=out)
    np.testing.assert_array_equal(out, np.full((3, 5), 2.0, np.float32))


def test_nan_in_inputs_propagates(cpu_isa):
    a = np.ones((8, 8), np.float32)
    a[2, 3] = np.nan
    got = ops.matmul(a, np.ones((8, 20), np.float32))
    assert np.isnan(got[2]).all() and np.isfinite(np.delete(got, 2, axis=0)).all()
    got = ops.linear(a, np.ones((8, 20), np.float32), activation="relu")
    assert np.isnan(got[2]).all()  # relu keeps NaN, like np.maximum


# ---- epilogue --------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", ACTS)
def test_linear_epilogue(cpu_isa, activation, rng):
    for M, N, K in [(1, 1, 1), (7, 19, 5), (61, 50, 600), (250, 33, 40)]:
        x = rng.standard_normal((M, K)).astype(np.float32)
        w = (rng.standard_normal((K, N)) / np.sqrt(K)).astype(np.float32)
        for b in (None, rng.standard_normal(N).astype(np.float32)):
            want, scale = gemm_ref(x, w, bias=b, activation=activation)
            got = ops.linear(x, w, b, activation=activation)
            assert_gemm_close(got, want, scale, K, f"linear {activation} bias={b is not None}")
            out = np.full((N, M), np.nan, np.float32).T  # Fortran-order out
            assert ops.linear(x, w, b, activation=activation, out=out) is out
            assert_gemm_close(out, want, scale, K, f"linear {activation} Fortran out")


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "gelu"])
def test_full_epilogue_with_beta_and_views(cpu_isa, gemm_path, activation, rng):
    """act(alpha op(a) op(b) + beta C + bias) through every path of the kernel's epilogue."""
    code = ACT_CODES[activation]
    slope = 0.2 if activation == "leaky_relu" else 0.0
    for M, N, K in [(6, 16, 4), (13, 35, 300), (40, 8, 3)]:
        for trans_a, trans_b in FORMS[:3]:
            a, b = operands(rng, M, N, K, trans_a, trans_b, "strided")
            bias = rng.standard_normal(2 * N).astype(np.float32)[::2]
            for out_layout in ("c", "f", "negative"):
                c0 = rng.standard_normal((M, N)).astype(np.float32)
                out = relayout(c0.copy(), out_layout)
                _core.gemm_ex(a, b, out, trans_a, trans_b, 0.5, -1.25, bias, code, slope)
                want, scale = gemm_ref(a, b, trans_a=trans_a, trans_b=trans_b, alpha=0.5,
                                       beta=-1.25, c=c0, bias=bias, activation=activation,
                                       negative_slope=slope)
                assert_gemm_close(out, want, scale, K, f"gemm_ex {activation} {out_layout}")
                out = relayout(c0.copy(), out_layout)  # no bias: Fortran C takes the C^T path
                _core.gemm_ex(a, b, out, trans_a, trans_b, 1.0, 0.0, None, code, slope)
                want, scale = gemm_ref(a, b, trans_a=trans_a, trans_b=trans_b,
                                       activation=activation, negative_slope=slope)
                assert_gemm_close(out, want, scale, K, f"gemm_ex {activation} {out_layout} no bias")


def test_linear_matches_composition(cpu_isa, rng):
    x = rng.standard_normal((33, 70)).astype(np.float32)
    w = rng.standard_normal((70, 21)).astype(np.float32)
    b = rng.standard_normal(21).astype(np.float32)
    np.testing.assert_allclose(ops.linear(x, w, b, activation="relu"),
                               np.maximum(x.astype(np.float64) @ w + b, 0), rtol=1e-4, atol=1e-4)
    assert ops.linear(x, w).shape == (33, 21)


# ---- the small kernel -----------------------------------------------------------------------

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
        big[:, 2:2 + x.shape[1]] = x
        return big[:, 2:2 + x.shape[1]]
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
                _core.gemm_ex(a, b, out, trans_a, trans_b, alpha, beta, bias, ACT_CODES[act],
                              slope)
                want, scale = gemm_ref(a, b, trans_a=trans_a, trans_b=trans_b, alpha=alpha,
                                       beta=beta, c=c0, bias=bias, activation=act,
                                       negative_slope=slope)
                assert_gemm_close(out, want, scale, K,
                                  f"small {cpu_isa} M={M} N={N} K={K} trans=({trans_a},{trans_b})"
                                  f" layouts={la},{lb},{lc} act={act} a={alpha} b={beta}")
    assert plans == {-1, 0, 1}


@pytest.mark.parametrize("form", FORMS, ids=["NN", "NT", "TN", "TT"])
def test_small_kernel_bits_equal_blocked_path(cpu_isa, form, rng):
    """The small kernel sums each element as the blocked path does (K passes of the same length
    included), so a result never depends on the path, hence on M or on a row's place in a batch."""
    blk = _core.gemm_blocking(cpu_isa)
    w, kc = blk["simd_width"], blk["kc"]
    trans_a, trans_b = form
    for M, N, K in [(1, 1, 1), (7, 3, 5), (9, w, 2 * kc + 3), (1000, 2 * w, 7), (5, w + 1, kc + 1),
                    (13, 4, 3 * kc)]:
        a, b = operands(rng, M, N, K, trans_a, trans_b)
        bias = rng.standard_normal(N).astype(np.float32)
        c0 = rng.standard_normal((M, N)).astype(np.float32)
        got = {}
        for path, tuning in (("small", (-1, -1, -1, 1e30)), ("blocked", (-1, -1, -1, 0)),
                             ("packed", (0, 0, 0, 0))):
            before = _core._gemm_tuning(*tuning)
            try:
                outs = []
                for code, alpha, beta, bias_ in ((0, 1.0, 0.0, None), (1, 0.5, -1.5, bias),
                                                 (2, -1.0, 1.0, None)):
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
        assert np.array_equal(got["small"][3], ops.linear(a.T if trans_a else a,
                                                          b.T if trans_b else b, bias)[: M // 2 + 1])


def test_small_kernel_plan(cpu_isa):
    """The tiny net's GEMMs take the small kernel by default, in the cheaper orientation;
    unit-stride B is required, and a bias keeps C's orientation."""
    w = _core.gemm_blocking(cpu_isa)["simd_width"]
    plan = lambda *args: _core._gemm_small_plan(*args, isa=cpu_isa)  # noqa: E731
    # M, N, K, rs_a, cs_a, rs_b, cs_b, rs_c, cs_c, bias
    assert plan(1000, 4, 2, 2, 1, 4, 1, 4, 1, True) == 0       # forward 2 -> 4
    assert plan(1000, 1, 4, 4, 1, 1, 1, 1, 1, True) == 0       # forward 4 -> 1
    assert plan(4, 1, 1000, 1, 4, 1, 1, 1, 1, False) == 1      # dW 4x1: C^T is one row of 4
    assert plan(2, 4, 1000, 1, 2, 4, 1, 4, 1, False) == 0      # dW 2x4
    assert plan(1000, 4, 1, 1, 1, 1, 1, 4, 1, False) == 0      # dX = dz @ W^T
    assert plan(1000, 4, 2, 2, 1, 4, 4, 4, 1, True) == -1      # B with strided columns
    assert plan(1000, 2 * w + 1, 2, 2, 1, 4, 1, 4, 1, True) == -1   # too wide
    assert plan(1000, 4, 1000, 1000, 1, 4, 1, 4, 1, True) == -1     # too much work
    assert plan(128, w + 1, 128, 1, 128, w + 1, 1, w + 1, 1, False) == -1  # long strided A walks
    assert plan(128, w + 1, 32, 1, 128, w + 1, 1, w + 1, 1, False) == 0    # short ones
    before = _core._gemm_tuning(small_max_work=0)
    try:
        assert plan(1000, 4, 2, 2, 1, 4, 1, 4, 1, True) == -1
    finally:
        _core._gemm_tuning(*before)


# ---- threads, determinism ----------------------------------------------------------------------

@pytest.mark.parametrize("M,N,K", [(1, 1000, 300), (250, 300, 600), (500, 70, 520), (97, 4100, 9),
                                   (3, 5, 7)])
def test_one_vs_two_threads_bit_identical(cpu_isa, threads, gemm_path, M, N, K, rng):
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    results = []
    for n in (1, 2, 1, 3):
        threads(n)
        results.append((ops.matmul(x, w), ops.matmul(w, x, trans_a=True, trans_b=True),
                        ops.linear(x, w, b, activation="gelu")))
    for r in results[1:]:
        for got, want in zip(r, results[0]):
            assert np.array_equal(got, want)


def test_threads_repeated_no_race(cpu_isa, threads, rng):
    """Threads run their tasks without barriers, pack the shared B panels on first use and steal
    each other's tasks: repeat such shapes (and 3 threads, an odd split) to catch a race."""
    before = _core._gemm_tuning(0, 0, 0, 0)  # parallel and packed everywhere
    try:
        blk = _core.gemm_blocking(cpu_isa)
        for M, N, K in [(500, 70, 2 * blk["kc"] + 8), (70, 500, blk["kc"] + 3)]:
            x = rng.standard_normal((M, K)).astype(np.float32)
            w = rng.standard_normal((K, N)).astype(np.float32)
            threads(1)
            want = ops.matmul(x, w)
            for _ in range(15):
                for n in (2, 3):
                    threads(n)
                    assert np.array_equal(ops.matmul(x, w), want), f"{M}x{N}x{K} threads={n}"
    finally:
        _core._gemm_tuning(*before)


@pytest.mark.parametrize("split_n", [0, 1, 2])
def test_threads_several_jc_blocks(cpu_isa, threads, rng, split_n):
    """N wider than one jc block, and a K long enough that the packed B (all of K) caps the
    block width: one pool job per block, each block's B panels packed anew."""
    before = _core._gemm_tuning(0, 0, 0, 0)
    split_before = _core._gemm_split_n(split_n)
    try:
        blk = _core.gemm_blocking(cpu_isa)
        for M, N, K in [(13, blk["nc"] + 37, 40), (29, 4000, 1100)]:
            a = rng.standard_normal((M, K)).astype(np.float32)
            b = rng.standard_normal((K, N)).astype(np.float32)
            bias = rng.standard_normal(N).astype(np.float32)
            threads(1)
            want = ops.linear(a, b, bias, activation="relu")
            ref = np.maximum(a.astype(np.float64) @ b.astype(np.float64) + bias, 0)
            assert np.abs(want - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
            for n in (2, 3, 4):
                threads(n)
                assert np.array_equal(ops.linear(a, b, bias, activation="relu"), want)
    finally:
        _core._gemm_tuning(*before)
        _core._gemm_split_n(split_before)


# ---- property test -----------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(M=st.integers(0, 40), N=st.integers(0, 40), K=st.integers(0, 300),
       form=st.sampled_from(FORMS), layout=st.sampled_from(["c", "f", "strided", "negative"]),
       alpha=st.sampled_from([1.0, -2.0, 0.5]), beta=st.sampled_from([0.0, 1.0, -0.5]),
       isa=st.sampled_from([i for i in ("generic", "avx2", "avx512")
                            if ("generic", "avx2", "avx512").index(i)
                            <= ("generic", "avx2", "avx512").index(_core.cpu_isa_detected())]),
       seed=st.integers(0, 2 ** 31))
def test_property_matches_reference(M, N, K, form, layout, alpha, beta, isa, seed):
    before = _core.cpu_isa()
    _core.set_cpu_isa(isa)
    try:
        check_matmul(np.random.default_rng(seed), M, N, K, *form, alpha=alpha, beta=beta,
                     layout=layout, out_layout="f" if beta else None, what=f"hypothesis {isa}")
    finally:
        _core.set_cpu_isa(before)


# ---- conversions, aliasing ---------------------------------------------------------------------

def test_other_dtypes_converted_once(rng):
    a = rng.standard_normal((5, 6))
    b = rng.integers(-3, 3, (6, 4))
    got = ops.matmul(a, b)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ops.matmul([[1, 2]], [[3], [4]]), [[11]])


def test_out_aliasing_an_input(rng):
    a = rng.standard_normal((20, 20)).astype(np.float32)
    b = rng.standard_normal((20, 20)).astype(np.float32)
    want = a.astype(np.float64) @ b + a
    ops.matmul(a, b, beta=1.0, out=a)
    np.testing.assert_allclose(a, want, rtol=1e-4, atol=1e-4)


def test_reference_kernel_matches_numpy(rng):
    """gemm_ref_cpu (the C++ ground truth) against float64 NumPy, with the full epilogue."""
    a, b = operands(rng, 17, 23, 41, True, False, "negative")
    c0 = rng.standard_normal((17, 23)).astype(np.float32)
    bias = rng.standard_normal(23).astype(np.float32)
    out = c0.copy()
    _core.gemm_ref(a, b, out, True, False, -1.5, 0.5, bias, ACT_CODES["leaky_relu"], 0.1)
    want, scale = gemm_ref(a, b, trans_a=True, alpha=-1.5, beta=0.5, c=c0, bias=bias,
                           activation="leaky_relu", negative_slope=0.1)
    assert_gemm_close(out, want, scale, 41, "gemm_ref")


def test_blocking_and_peak(cpu_isa):
    blk = _core.gemm_blocking(cpu_isa)
    assert blk["mc"] % blk["mr"] == 0 and blk["kernel"].startswith("sgemm_kernel_")
    assert _core.fp32_peak_gflops(1, cpu_isa) > 0.1


# ---- bad input ---------------------------------------------------------------------------------

def test_bad_inputs():
    a = np.ones((3, 4), np.float32)
    b = np.ones((5, 6), np.float32)
    with pytest.raises(ValueError, match=r"a and b: inner dimensions differ: a has shape \(3, 4\).*b has shape \(5, 6\)"):
        ops.matmul(a, b)
    with pytest.raises(ValueError, match=r"a and b: inner dimensions differ: a.T has shape \(4, 3\)"):
        ops.matmul(a, b, trans_a=True)
    with pytest.raises(ValueError, match=r"a: expected a 2-D array, got 1-D with shape \(4,\)"):
        ops.matmul(np.ones(4, np.float32), b)
    with pytest.raises(ValueError, match=r"b: expected a 2-D array, got 3-D"):
        ops.matmul(a, np.ones((4, 2, 2), np.float32))
    with pytest.raises(TypeError, match=r"out: expected dtype float32, got float64"):
        ops.matmul(a, np.ones((4, 6), np.float32), out=np.zeros((3, 6)))
    with pytest.raises(TypeError, match=r"out: expected a numpy.ndarray of float32, got list"):
        ops.matmul(a, np.ones((4, 6), np.float32), out=[[0.0] * 6] * 3)
    with pytest.raises(ValueError, match=r"out: expected shape \(3, 6\), got \(6, 3\)"):
        ops.matmul(a, np.ones((4, 6), np.float32), out=np.zeros((6, 3), np.float32))
    with pytest.raises(ValueError, match=r"out: required when beta != 0"):
        ops.matmul(a, np.ones((4, 6), np.float32), beta=1.0)
    ro = np.zeros((3, 6), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"out: expected a writable array"):
        ops.matmul(a, np.ones((4, 6), np.float32), out=ro)
    with pytest.raises(TypeError, match=r"a: expected an array of real numbers, got dtype <U1"):
        ops.matmul(np.array([["x"]]), b)


def test_bad_linear_inputs():
    x = np.ones((3, 4), np.float32)
    w = np.ones((4, 6), np.float32)
    with pytest.raises(ValueError, match=r"b: expected shape \(6,\), got \(4,\)"):
        ops.linear(x, w, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"b: expected a 1-D array, got 2-D"):
        ops.linear(x, w, np.ones((1, 6), np.float32))
    with pytest.raises(ValueError, match=r"x and w: inner dimensions differ: x has shape \(3, 4\).*w has shape \(5, 6\)"):
        ops.linear(x, np.ones((5, 6), np.float32))
    with pytest.raises(ValueError, match=r"activation: unknown activation 'swish'"):
        ops.linear(x, w, activation="swish")
    with pytest.raises(ValueError, match=r"row-wise"):
        ops.linear(x, w, activation="softmax")
    with pytest.raises(TypeError, match=r"activation: expected an activation name"):
        ops.linear(x, w, activation=3)
    with pytest.raises(TypeError, match=r"out: expected dtype float32, got float16"):
        ops.linear(x, w, out=np.zeros((3, 6), np.float16))
    with pytest.raises(ValueError, match=r"isa: expected one of"):
        _core.fp32_peak_gflops(1, "sse9")
    with pytest.raises(ValueError, match=r"threads: expected >= 1, got 0"):
        _core.fp32_peak_gflops(0)
