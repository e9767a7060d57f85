"""ops.matmul / ops.linear against the float64 reference: on every CPU ISA path, every transpose
form, odd layouts, edge sizes around each block size, the epilogue, threads; and on every device
(the `device` fixture) where the test says so. The CPU small kernel is test_gemm_cpu.py's, the
CUDA-only paths (split-K, TF32 kernels) test_gemm_cuda.py's.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import checks
import fusednet as fnet
from checks import single_threaded_numpy_blas  # noqa: F401 (an autouse fixture)
from fusednet import ops
from reference_gemm import ACTS, FORMS, assert_gemm_close, gemm_ref, operands, relayout

_core = fnet._core
ACT = _core.Activation.__members__  # name -> _core.Activation


@pytest.fixture(
    params=[
        "default",
        "packed_parallel",
        "strided_a_direct_b_parallel",
        "packed_direct_b_serial",
        "packed_parallel_split_n",
        "packed_parallel_own_panels",
        "small",
        "sup",
        "sup_parallel",
    ]
)
def gemm_path(request):
    """Forces each driver path: A packed or read in place, B packed or (row-major B) read in
    place, with or without threads, the most tasks (one-panel N chunks), with or without
    waiting for B panels another thread is packing (all without the small kernel and the sup
    path); or the small kernel wherever the layout allows it, whatever the size; or the sup path
    whatever the size, on the caller's thread or in pieces on the threads."""
    settings_ = {
        "default": (-1, -1, -1, -1, -1),
        "packed_parallel": (0, 0, 0, 0, 0),
        "strided_a_direct_b_parallel": (0, 1 << 40, 1 << 40, 0, 0),
        "packed_direct_b_serial": (1e30, 0, 1 << 40, 0, 0),
        "packed_parallel_split_n": (0, 0, 0, 0, 0),
        "packed_parallel_own_panels": (0, 0, 0, 0, 0),
        "small": (-1, -1, -1, 1e30, -1),
        "sup": (1e30, -1, -1, 0, 1e30),
        "sup_parallel": (0, -1, -1, 0, 1e30),
    }[request.param]
    before = _core._gemm_tuning(*settings_)
    split_mode = {"packed_parallel_split_n": 1, "packed_parallel_own_panels": 2}
    split_before = _core._gemm_split_n(split_mode.get(request.param, 0))
    try:
        yield request.param
    finally:
        _core._gemm_tuning(*before)
        _core._gemm_split_n(split_before)


def check_matmul(
    rng,
    M,
    N,
    K,
    trans_a=False,
    trans_b=False,
    alpha=1.0,
    beta=0.0,
    layout="c",
    out_layout=None,
    what="",
):
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
    assert_gemm_close(
        got,
        want,
        scale,
        K,
        f"{what} M={M} N={N} K={K} trans=({trans_a},{trans_b}) alpha={alpha} "
        f"beta={beta} layout={layout} out={out_layout}",
    )
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
    for M, N, K in [
        (mc - 1, 19, kc - 1),
        (mc + 1, 37, kc + 1),
        (11, blk["nr"] * 3 + 1, 2 * kc + 1),
        (2 * mc + 5, 5, kc),
        (blk["mr"] + 1, blk["nr"] - 1, 3),
        (2 * blk["mr"] + 2, 2 * blk["nr"] + 3, 40),  # a 2-row tail split with the panel before
        (3 * blk["mr"] + 3, blk["nr"] + 5, kc + 1),  # and a 3-row one, long K
    ]:
        check_matmul(rng, M, N, K, *form, what=f"{cpu_isa}/{gemm_path}")


@pytest.mark.parametrize(
    "M,N,K",
    [(1000, 7, 13), (3, 1001, 5), (5, 9, 1500), (1031, 257, 301), (1, 1024, 1), (64, 4100, 17)],
)
def test_large_dims(cpu_isa, M, N, K, rng):
    check_matmul(rng, M, N, K, what=cpu_isa)
    check_matmul(rng, M, N, K, True, True, what=cpu_isa)


def test_mlp_shapes_all_forms(cpu_isa, gemm_path, rng):
    for batch in (32, 97):
        for fin, fout in ((784, 128), (128, 10), (10, 256)):
            check_matmul(rng, batch, fout, fin, what="forward NN")  # y = x w
            check_matmul(rng, batch, fin, fout, False, True, what="dX NT")  # dy w^T
            check_matmul(rng, fin, fout, batch, True, False, what="dW TN")  # x^T dy


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
    np.testing.assert_array_equal(
        ops.linear(
            np.zeros((4, 0), np.float32), np.zeros((0, 6), np.float32), bias, activation="relu"
        ),
        np.broadcast_to(np.maximum(bias, 0), (4, 6)),
    )


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
    code = ACT[activation]
    slope = 0.2 if activation == "leaky_relu" else 0.0
    for M, N, K in [(6, 16, 4), (13, 35, 300), (40, 8, 3)]:
        for trans_a, trans_b in FORMS[:3]:
            a, b = operands(rng, M, N, K, trans_a, trans_b, "strided")
            bias = rng.standard_normal(2 * N).astype(np.float32)[::2]
            for out_layout in ("c", "f", "negative"):
                c0 = rng.standard_normal((M, N)).astype(np.float32)
                out = relayout(c0.copy(), out_layout)
                _core.gemm_ex(a, b, out, trans_a, trans_b, 0.5, -1.25, bias, code, slope)
                want, scale = gemm_ref(
                    a,
                    b,
                    trans_a=trans_a,
                    trans_b=trans_b,
                    alpha=0.5,
                    beta=-1.25,
                    c=c0,
                    bias=bias,
                    activation=activation,
                    negative_slope=slope,
                )
                assert_gemm_close(out, want, scale, K, f"gemm {activation} {out_layout}")
                out = relayout(c0.copy(), out_layout)  # no bias: Fortran C takes the C^T path
                _core.gemm_ex(a, b, out, trans_a, trans_b, 1.0, 0.0, None, code, slope)
                want, scale = gemm_ref(
                    a,
                    b,
                    trans_a=trans_a,
                    trans_b=trans_b,
                    activation=activation,
                    negative_slope=slope,
                )
                assert_gemm_close(out, want, scale, K, f"gemm {activation} {out_layout} no bias")


def test_linear_matches_composition(cpu_isa, rng):
    x = rng.standard_normal((33, 70)).astype(np.float32)
    w = rng.standard_normal((70, 21)).astype(np.float32)
    b = rng.standard_normal(21).astype(np.float32)
    np.testing.assert_allclose(
        ops.linear(x, w, b, activation="relu"),
        np.maximum(x.astype(np.float64) @ w + b, 0),
        rtol=1e-4,
        atol=1e-4,
    )
    assert ops.linear(x, w).shape == (33, 21)


# ---- threads, determinism ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "M,N,K", [(1, 1000, 300), (250, 300, 600), (500, 70, 520), (97, 4100, 9), (3, 5, 7)]
)
def test_one_vs_two_threads_bit_identical(cpu_isa, threads, gemm_path, M, N, K, rng):
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    results = []
    for n in (1, 2, 1, 3):
        threads(n)
        results.append(
            (
                ops.matmul(x, w),
                ops.matmul(w, x, trans_a=True, trans_b=True),
                ops.linear(x, w, b, activation="gelu"),
            )
        )
    for r in results[1:]:
        for got, want in zip(r, results[0]):
            assert np.array_equal(got, want)


def test_threads_repeated_no_race(cpu_isa, threads, rng):
    """Threads run their tasks without barriers, pack the shared B panels on first use and steal
    each other's tasks: repeat such shapes (and 3 threads, an odd split) to catch a race."""
    before = _core._gemm_tuning(0, 0, 0, 0, 0)  # parallel and packed everywhere
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
    before = _core._gemm_tuning(0, 0, 0, 0, 0)
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
@given(
    M=st.integers(0, 40),
    N=st.integers(0, 40),
    K=st.integers(0, 300),
    form=st.sampled_from(FORMS),
    layout=st.sampled_from(["c", "f", "strided", "negative"]),
    alpha=st.sampled_from([1.0, -2.0, 0.5]),
    beta=st.sampled_from([0.0, 1.0, -0.5]),
    isa=st.sampled_from(
        [
            i
            for i in ("generic", "avx2", "avx512")
            if ("generic", "avx2", "avx512").index(i)
            <= ("generic", "avx2", "avx512").index(_core.cpu_isa_detected())
        ]
    ),
    seed=st.integers(0, 2**31),
)
def test_property_matches_reference(M, N, K, form, layout, alpha, beta, isa, seed):
    before = _core.cpu_isa()
    _core.set_cpu_isa(isa)
    try:
        check_matmul(
            np.random.default_rng(seed),
            M,
            N,
            K,
            *form,
            alpha=alpha,
            beta=beta,
            layout=layout,
            out_layout="f" if beta else None,
            what=f"hypothesis {isa}",
        )
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


def test_out_aliasing_an_input(rng, threads):
    a = rng.standard_normal((20, 20)).astype(np.float32)
    b = rng.standard_normal((20, 20)).astype(np.float32)
    want = a.astype(np.float64) @ b + a
    ops.matmul(a, b, beta=1.0, out=a)
    np.testing.assert_allclose(a, want, rtol=1e-4, atol=1e-4)
    # Shapes of the blocked path, whose later K passes read A (or B) after C's first pass wrote
    # it: on one thread one task writes all of C's columns before it packs A's next pass, so a
    # missing copy always shows (with more threads it depends on their timing).
    threads(1)
    for m, k, n, alias in ((64, 600, 600, "a"), (600, 600, 64, "b")):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        want = a.astype(np.float64) @ b
        ops.matmul(a, b, out=a if alias == "a" else b)
        got = a if alias == "a" else b
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * k**0.5)


def test_reference_kernel_matches_numpy(device, rng):
    """gemm_ref_cpu / gemm_ref_cuda (the C++ ground truth) against float64 NumPy, with the full
    epilogue."""
    a, b = operands(rng, 17, 23, 41, True, False, "negative")
    c0 = rng.standard_normal((17, 23)).astype(np.float32)
    bias = rng.standard_normal(23).astype(np.float32)
    out = c0.copy()
    _core.gemm_ref(
        a,
        b,
        out,
        True,
        False,
        -1.5,
        0.5,
        bias,
        ACT["leaky_relu"],
        0.1,
        _core.Device.__members__[device],
    )
    want, scale = gemm_ref(
        a,
        b,
        trans_a=True,
        alpha=-1.5,
        beta=0.5,
        c=c0,
        bias=bias,
        activation="leaky_relu",
        negative_slope=0.1,
    )
    assert_gemm_close(out, want, scale, 41, "gemm_ref")


def test_blocking_and_peak(cpu_isa):
    blk = _core.gemm_blocking(cpu_isa)
    assert blk["mc"] % blk["mr"] == 0 and blk["kernel"].startswith("sgemm_kernel_")
    assert _core.fp32_peak_gflops(1, cpu_isa) > 0.1


# ---- every device, with the tolerances of the former CUDA tests (checks.assert_close) ----------


@pytest.mark.parametrize(
    "M,N,K",
    [
        (1, 1, 1),
        (1, 7, 1),
        (7, 1, 13),
        (13, 17, 19),
        (64, 64, 64),
        (127, 129, 33),
        (128, 128, 8),
        (131, 67, 257),
        (1000, 3, 5),
        (3, 1001, 7),
        (257, 263, 1031),
        (5, 4, 0),
    ],
)
@pytest.mark.parametrize("form", FORMS, ids=["NN", "NT", "TN", "TT"])
def test_matmul_matches_float64_on_device(device, rng, M, N, K, form):
    a, b = operands(rng, M, N, K, *form)
    got = ops.matmul(a, b, trans_a=form[0], trans_b=form[1], device=device)
    want = gemm_ref(a, b, trans_a=form[0], trans_b=form[1])[0]
    checks.assert_close(got, want, 1e-4, 1e-4 * max(1, K) ** 0.5, f"matmul {M}x{N}x{K}")


@pytest.mark.parametrize("layout", ["f", "strided", "negative"])
def test_matmul_any_layout_on_device(device, rng, layout):
    a, b = operands(rng, 67, 131, 45, False, False, layout)
    out = np.full((131, 67), np.nan, np.float32).T  # a non-contiguous out=
    assert ops.matmul(a, b, out=out, device=device) is out
    checks.assert_close(out, gemm_ref(a, b)[0], 1e-4, 1e-3, f"matmul {layout}")


def test_alpha_beta_and_beta_zero_ignores_nan_on_device(device, rng):
    a = rng.standard_normal((70, 90)).astype(np.float32)
    b = rng.standard_normal((90, 150)).astype(np.float32)
    c = rng.standard_normal((70, 150)).astype(np.float32)
    got = ops.matmul(a, b, alpha=0.5, beta=-2.0, out=c.copy(), device=device)
    checks.assert_close(got, gemm_ref(a, b, alpha=0.5, beta=-2.0, c=c)[0], 1e-4, 1e-3, "alpha/beta")
    got = ops.matmul(a, b, beta=0.0, out=np.full((70, 150), np.nan, np.float32), device=device)
    assert np.isfinite(got).all()
    checks.assert_close(got, gemm_ref(a, b)[0], 1e-4, 1e-3, "beta=0")


@pytest.mark.parametrize("activation", ACTS[1:])
def test_linear_bias_activation_epilogue_on_device(device, rng, activation):
    x = rng.standard_normal((257, 100)).astype(np.float32)
    w = (rng.standard_normal((100, 129)) * 0.1).astype(np.float32)
    b = rng.standard_normal(129).astype(np.float32)
    got = ops.linear(x, w, b, activation=activation, device=device)
    want = gemm_ref(x, w, bias=b, activation=activation)[0]
    checks.assert_close(got, want, 1e-4, 1e-4, f"linear {activation}")


def test_matmul_large_and_deterministic_on_device(device, rng):
    a = rng.standard_normal((1024, 1536)).astype(np.float32)
    b = rng.standard_normal((1536, 1100)).astype(np.float32)
    got = ops.matmul(a, b, device=device)
    checks.assert_close(got, gemm_ref(a, b)[0], 1e-4, 2e-3, "matmul 1024x1100x1536")
    assert np.array_equal(got, ops.matmul(a, b, device=device)), "two runs differ"


def test_zero_size_on_device(device):
    out = ops.matmul(np.zeros((0, 5), np.float32), np.zeros((5, 3), np.float32), device=device)
    assert out.shape == (0, 3)
    out = ops.matmul(np.zeros((4, 0), np.float32), np.zeros((0, 3), np.float32), device=device)
    assert out.shape == (4, 3) and (out == 0).all()


# ---- bad input ---------------------------------------------------------------------------------


def test_bad_inputs(device):
    mm = functools.partial(ops.matmul, device=device)
    a = np.ones((3, 4), np.float32)
    b = np.ones((5, 6), np.float32)
    with pytest.raises(
        ValueError,
        match=r"a and b: inner dimensions differ: a has shape \(3, 4\).*b has shape \(5, 6\)",
    ):
        mm(a, b)
    with pytest.raises(
        ValueError, match=r"a and b: inner dimensions differ: a.T has shape \(4, 3\)"
    ):
        mm(a, b, trans_a=True)
    with pytest.raises(ValueError, match=r"a: expected a 2-D array, got 1-D with shape \(4,\)"):
        mm(np.ones(4, np.float32), b)
    with pytest.raises(ValueError, match=r"b: expected a 2-D array, got 3-D"):
        mm(a, np.ones((4, 2, 2), np.float32))
    with pytest.raises(TypeError, match=r"out: expected dtype float32, got float64"):
        mm(a, np.ones((4, 6), np.float32), out=np.zeros((3, 6)))
    with pytest.raises(TypeError, match=r"out: expected a numpy.ndarray of float32, got list"):
        mm(a, np.ones((4, 6), np.float32), out=[[0.0] * 6] * 3)
    with pytest.raises(ValueError, match=r"out: expected shape \(3, 6\), got \(6, 3\)"):
        mm(a, np.ones((4, 6), np.float32), out=np.zeros((6, 3), np.float32))
    with pytest.raises(ValueError, match=r"out: required when beta != 0"):
        mm(a, np.ones((4, 6), np.float32), beta=1.0)
    ro = np.zeros((3, 6), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"out: expected a writable array"):
        mm(a, np.ones((4, 6), np.float32), out=ro)
    with pytest.raises(TypeError, match=r"a: expected an array of real numbers, got dtype <U1"):
        mm(np.array([["x"]]), b)


def test_bad_linear_inputs(device):
    lin = functools.partial(ops.linear, device=device)
    x = np.ones((3, 4), np.float32)
    w = np.ones((4, 6), np.float32)
    with pytest.raises(ValueError, match=r"b: expected shape \(6,\), got \(4,\)"):
        lin(x, w, np.ones(4, np.float32))
    with pytest.raises(ValueError, match=r"b: expected a 1-D array, got 2-D"):
        lin(x, w, np.ones((1, 6), np.float32))
    with pytest.raises(
        ValueError,
        match=r"x and w: inner dimensions differ: x has shape \(3, 4\).*w has shape \(5, 6\)",
    ):
        lin(x, np.ones((5, 6), np.float32))
    with pytest.raises(ValueError, match=r"activation: unknown activation 'swishy'"):
        lin(x, w, activation="swishy")
    with pytest.raises(ValueError, match=r"row-wise"):
        lin(x, w, activation="softmax")
    with pytest.raises(TypeError, match=r"activation: expected an activation name"):
        lin(x, w, activation=3)
    with pytest.raises(TypeError, match=r"out: expected dtype float32, got float16"):
        lin(x, w, out=np.zeros((3, 6), np.float16))
    with pytest.raises(ValueError, match=r"isa: expected one of"):
        _core.fp32_peak_gflops(1, "sse9")
    with pytest.raises(ValueError, match=r"threads: expected >= 1, got 0"):
        _core.fp32_peak_gflops(0)
