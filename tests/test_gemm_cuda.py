"""The CUDA gemm's own paths: split-K on small grids, the float32 matmul precision switch, and the
TF32 kernels sgemm_tf32_v2_kernel (auto) and sgemm_tf32_kernel (v1).

The TF32 kernels are selected through fusednet._core._gemm_cuda_tf32_kernel (0 auto, 1 v1, 2 / 3
v2 with 128x128 / 128x256 tiles; v2 falls back to v1 where its requirements are not met) and
driven through _core._cuda_gemm_raw, which takes 1-D buffers with offsets and strides, so strided
views and misaligned pointers reach the device kernels. Everything is checked against the float64
reference with TF32 tolerances. Every test here is for the CUDA column only: it skips where there
is no CUDA device (or no sm_80+ for the tensor-core checks).
"""

import numpy as np
import pytest

import checks
import fusednet as fnet
from fusednet import _core, ops
from reference_gemm import gemm_ref, operands

pytestmark = checks.cuda_only
KERNELS = {"auto": 0, "v1": 1, "v2_128": 2, "v2_256": 3}


def _major():
    return min(d["compute_capability"][0] for d in fnet.backends()["cuda"]["devices"])


@pytest.fixture
def high_precision(device):
    """TF32 allowed for the test (the float32 matmul precision "high"), "highest" again after."""
    fnet.set_float32_matmul_precision("high")
    yield
    fnet.set_float32_matmul_precision("highest")


@pytest.fixture
def sm80(device):
    if _major() < 8:
        pytest.skip("TF32 tensor cores need sm_80+")


@pytest.fixture(params=list(KERNELS))
def kernel(request, sm80):
    before = _core._gemm_cuda_tf32_kernel(KERNELS[request.param])
    yield request.param
    _core._gemm_cuda_tf32_kernel(before)


def _f64_gemm(a, b, **kw):
    return gemm_ref(a, b, **kw)[0]


# ---- split-K and the precision switch, through ops.matmul / ops.linear --------------------------
@pytest.mark.parametrize(
    "M,N,K", [(256, 128, 1024), (130, 67, 1000), (784, 256, 1024), (5, 3, 4099), (64, 10, 1024)]
)
@pytest.mark.parametrize(
    "trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)]
)
def test_matmul_split_k_shapes(device, rng, M, N, K, trans_a, trans_b):
    # Few output tiles and a long K (a training step's dW = x^T dz): gemm splits K into slices,
    # one slab each, summed in slice order with the epilogue after. Odd K and N % 4 != 0 reach
    # the scalar edges of both passes; the result must also repeat bit for bit.
    a, b = operands(rng, M, N, K, trans_a, trans_b)
    c = rng.standard_normal((M, N)).astype(np.float32)
    kw = dict(trans_a=trans_a, trans_b=trans_b, alpha=0.5, beta=-1.5, device=device)
    got = ops.matmul(a, b, out=c.copy(), **kw)
    want = 0.5 * _f64_gemm(a, b, trans_a=trans_a, trans_b=trans_b) - 1.5 * c.astype(np.float64)
    tol = 1e-4 * max(1, K) ** 0.5
    checks.assert_close(got, want, 1e-4, tol, f"split-K {M}x{N}x{K}")
    assert np.array_equal(got, ops.matmul(a, b, out=c.copy(), **kw)), "split-K runs differ"
    if not trans_a and not trans_b:
        bias = rng.standard_normal(N).astype(np.float32)
        got = ops.linear(a, b, bias, activation="tanh", device=device)
        checks.assert_close(
            got, _f64_gemm(a, b, bias=bias, activation="tanh"), 1e-4, tol, "split-K linear"
        )


def test_split_k_knob(device, rng):
    a = rng.standard_normal((64, 1024)).astype(np.float32)
    b = rng.standard_normal((1024, 10)).astype(np.float32)
    before = _core._gemm_cuda_split_k(0)
    try:
        unsplit = ops.matmul(a, b, device=device)
    finally:
        assert _core._gemm_cuda_split_k(before) == 0
    assert _core._gemm_cuda_split_k() == before == 1
    split = ops.matmul(a, b, device=device)
    want = _f64_gemm(a, b)
    checks.assert_close(unsplit, want, 1e-4, 3e-3, "unsplit")
    checks.assert_close(split, want, 1e-4, 3e-3, "split")
    with pytest.raises(ValueError, match="split_k"):
        _core._gemm_cuda_split_k(2)


@pytest.mark.parametrize("M,N,K", [(1, 1, 1), (127, 129, 33), (257, 263, 1031), (1024, 1024, 512)])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True), (False, True)])
def test_matmul_tf32(device, high_precision, rng, M, N, K, trans_a, trans_b):
    a, b = operands(rng, M, N, K, trans_a, trans_b)
    got = ops.matmul(a, b, trans_a=trans_a, trans_b=trans_b, device=device)
    want = _f64_gemm(a, b, trans_a=trans_a, trans_b=trans_b)
    # TF32 keeps 10 mantissa bits: error ~ 2^-11 * sqrt(K) * |a||b| per output.
    tol = 3e-3 * max(1, K) ** 0.5 if _major() >= 8 else 1e-4 * max(1, K) ** 0.5
    checks.assert_close(got, want, 1e-2, tol, f"tf32 {M}x{N}x{K}")


@checks.real_gpu_only("TF32 tensor-core rounding")
def test_tf32_path_is_really_taken(device):
    # 1 + 2^-20 needs 20 mantissa bits: exact in FP32, rounded to 1.0 in TF32 (10 bits).
    a = np.full((130, 3), 1.0 + 2.0**-20, np.float32)
    b = np.ones((3, 70), np.float32)
    exact = ops.matmul(a, b, device=device)
    assert (exact == np.float32(3 * (1 + 2.0**-20))).all()
    fnet.set_float32_matmul_precision("high")
    try:
        fast = ops.matmul(a, b, device=device)
    finally:
        fnet.set_float32_matmul_precision("highest")
    if _major() >= 8:
        assert (fast == 3.0).all(), "TF32 kernel not used on sm_80+"
    else:
        assert np.array_equal(fast, exact), "pre-sm_80 must fall back to exact FP32"


# ---- the TF32 kernels on raw device buffers -----------------------------------------------------
def _view(rng, rows, cols, trans, pad=0, off=0, step=1):
    """A rows x cols operand inside a 1-D buffer: (buffer, offset, row stride, col stride, dense
    copy). trans stores it column-major; pad adds to the leading dimension; step > 1 strides the
    contiguous dimension too (then no unit stride: v1 only); off shifts the start (misaligned)."""
    inner, outer = (rows, cols) if trans else (cols, rows)
    ld = inner * step + pad
    buf = np.full(off + outer * ld + 8, np.nan, np.float32)
    vals = rng.standard_normal((rows, cols)).astype(np.float32)
    if trans:
        rs, cs = step, ld
    else:
        rs, cs = ld, step
    for i in range(rows):
        buf[off + i * rs + np.arange(cols) * cs] = vals[i]
    return buf, off, rs, cs, vals


def _run(
    a, b, M, N, K, c=None, alpha=1.0, beta=0.0, bias=None, act="linear", param=0.0, c_layout=None
):
    abuf, aoff, rs_a, cs_a, _ = a
    bbuf, boff, rs_b, cs_b, _ = b
    if c is None:
        cbuf, coff, rs_c, cs_c = np.full(M * N, np.nan, np.float32), 0, N, 1
    else:
        cbuf, coff, rs_c, cs_c = c
    out = _core._cuda_gemm_raw(
        abuf,
        aoff,
        rs_a,
        cs_a,
        bbuf,
        boff,
        rs_b,
        cs_b,
        cbuf,
        coff,
        rs_c,
        cs_c,
        M,
        N,
        K,
        alpha,
        beta,
        bias,
        _core.Activation.__members__[act],
        param,
        True,
    )
    idx = coff + np.arange(M)[:, None] * rs_c + np.arange(N)[None, :] * cs_c
    return out, out[idx] if M and N else np.zeros((M, N), np.float32)


def _check(got, want, K, what):
    # TF32 keeps 10 mantissa bits (rounded): error ~ 2^-11 sqrt(K) |a||b| per output, with |a|,
    # |b| ~ 1 here; 3e-3 sqrt(K) leaves a margin of ~6 over that.
    got = np.asarray(got, np.float64)
    tol = 3e-3 * max(1, K) ** 0.5 + 1e-2 * np.abs(want)
    err = np.abs(got - want)
    bad = ~(err <= tol)
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {got.size} bad, max err {err.max():.3e}, "
        f"worst at {np.unravel_index(np.argmax(err - tol), got.shape)}"
    )


# M, N, K: tile multiples, edges of every tile (128 x 128/256 x 32), K < one stage, K = 1,
# tall/skinny, several k tiles, and enough tiles to take v2's 128x256 path on small GPUs too.
SHAPES = [
    (128, 256, 64),
    (1, 1, 1),
    (5, 7, 3),
    (129, 257, 33),
    (127, 255, 31),
    (200, 300, 1),
    (64, 48, 17),
    (1000, 3, 70),
    (3, 1000, 70),
    (33, 65, 1000),
    (385, 520, 96),
    (1100, 1300, 130),
]


@pytest.mark.parametrize("M,N,K", SHAPES)
@pytest.mark.parametrize(
    "trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)]
)
def test_tf32_kernels_match_float64(kernel, rng, M, N, K, trans_a, trans_b):
    a = _view(rng, M, K, trans_a)
    b = _view(rng, K, N, trans_b)
    _, got = _run(a, b, M, N, K)
    want = _f64_gemm(a[4], b[4])
    _check(got, want, K, f"{kernel} {M}x{N}x{K} ta={trans_a} tb={trans_b}")


@pytest.mark.parametrize(
    "case", ["pad", "misaligned_a", "misaligned_b", "offset4", "step2", "strided_c"]
)
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True)])
def test_tf32_strided_and_misaligned_views(kernel, rng, case, trans_a, trans_b):
    M, N, K = 150, 270, 45
    kw_a = {
        "pad": 4 if case == "pad" else 0,
        "off": {"misaligned_a": 1, "offset4": 4}.get(case, 0),
        "step": 2 if case == "step2" else 1,
    }
    kw_b = {
        "pad": 8 if case == "pad" else 0,
        "off": {"misaligned_b": 3, "offset4": 8}.get(case, 0),
        "step": 2 if case == "step2" else 1,
    }
    a = _view(rng, M, K, trans_a, **kw_a)
    b = _view(rng, K, N, trans_b, **kw_b)
    c = None
    if case == "strided_c":  # C column-major with a padded leading dimension, at an odd offset
        ld = M + 3
        c = (np.full(1 + N * ld, np.nan, np.float32), 1, 1, ld)
    out, got = _run(a, b, M, N, K, c=c)
    _check(got, _f64_gemm(a[4], b[4]), K, f"{kernel} {case}")
    # Nothing outside C's elements is written.
    if c is not None:
        mask = np.ones(out.size, bool)
        mask[1 + np.arange(M)[:, None] + np.arange(N)[None, :] * (M + 3)] = False
        assert np.isnan(out[mask]).all(), "wrote outside C"


@pytest.mark.parametrize(
    "act", ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"]
)
def test_tf32_epilogue_alpha_beta_bias_activation(kernel, rng, act):
    M, N, K = 257, 300, 77
    a = _view(rng, M, K, False)
    b = _view(rng, K, N, False)
    bias = rng.standard_normal(N).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    param = 0.2 if act == "leaky_relu" else 0.0
    _, got = _run(
        a,
        b,
        M,
        N,
        K,
        c=(c0.ravel().copy(), 0, N, 1),
        alpha=0.5,
        beta=-1.5,
        bias=bias,
        act=act,
        param=param,
    )
    want = _f64_gemm(
        a[4], b[4], alpha=0.5, beta=-1.5, c=c0, bias=bias, activation=act, negative_slope=param
    )
    _check(got, want, K, f"{kernel} epilogue {act}")


def test_tf32_beta_zero_never_reads_c(kernel, rng):
    M, N, K = 140, 260, 40
    a = _view(rng, M, K, False)
    b = _view(rng, K, N, True)
    _, got = _run(a, b, M, N, K)  # C starts as NaN
    assert np.isfinite(got).all()
    _check(got, _f64_gemm(a[4], b[4]), K, f"{kernel} beta=0")


def test_tf32_deterministic(kernel, rng):
    M, N, K = 700, 900, 1100
    a = _view(rng, M, K, False)
    b = _view(rng, K, N, False)
    _, first = _run(a, b, M, N, K)
    for _ in range(2):
        _, again = _run(a, b, M, N, K)
        assert np.array_equal(first, again), f"{kernel}: runs differ"
    _check(first, _f64_gemm(a[4], b[4]), K, f"{kernel} 700x900x1100")


@checks.real_gpu_only("TF32 tensor-core rounding")
def test_tf32_rounds_inputs(kernel):
    # 1 + 2^-20 needs 20 mantissa bits: TF32 (10 bits) rounds it to 1.0 in every kernel.
    M, N, K = 130, 270, 3
    a = (np.full(M * K, 1.0 + 2.0**-20, np.float32), 0, K, 1, None)
    b = (np.ones(K * N, np.float32), 0, N, 1, None)
    _, got = _run(a, b, M, N, K)
    assert (got == 3.0).all()


def test_tf32_kernel_knob(sm80):
    before = _core._gemm_cuda_tf32_kernel(1)
    try:
        assert _core._gemm_cuda_tf32_kernel(-1) == 1
        assert _core._gemm_cuda_tf32_kernel(3) == 1
        assert _core._gemm_cuda_tf32_kernel() == 3
        with pytest.raises(ValueError, match="tf32 kernel"):
            _core._gemm_cuda_tf32_kernel(7)
    finally:
        _core._gemm_cuda_tf32_kernel(before)


def test_tf32_v1_and_v2_agree(sm80, rng):
    # Same TF32 inputs, FP32 accumulation in a different order: close, not bit-equal.
    M, N, K = 513, 1030, 300
    a = _view(rng, M, K, False)
    b = _view(rng, K, N, False)
    before = _core._gemm_cuda_tf32_kernel(1)
    try:
        _, v1 = _run(a, b, M, N, K)
        _core._gemm_cuda_tf32_kernel(0)
        _, v2 = _run(a, b, M, N, K)
    finally:
        _core._gemm_cuda_tf32_kernel(before)
    assert np.abs(v1.astype(np.float64) - v2).max() <= 1e-4 * K**0.5 * 10
