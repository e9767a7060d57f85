"""The bf16 CPU gemm of the "medium" float32 matmul precision: the emulation of the AVX512-BF16
instructions against NumPy and (on CPUs that have them) against the instructions themselves, bit
for bit; the hardware gemm against the emulated one bit for bit (all layouts, odd sizes,
epilogues); both against a float64 product of the bf16-rounded operands; thread-count
determinism; the setting, its report and the training path."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core
from reference_bf16 import FLT_MIN, bf16_bits, bf16_round, dot2
from reference_gemm import FORMS, activation_ref, assert_gemm_close, gemm_ref, relayout

HAS_BF16 = _core.cpu_has_avx512_bf16()
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="this CPU has no AVX512-BF16")
KERNELS = ["emulated", "hardware"]


@contextlib.contextmanager
def precision(name, emulate=False):
    before = fnet.get_float32_matmul_precision()
    emu_before = _core._set_cpu_bf16_emulation(emulate)
    try:
        fnet.set_float32_matmul_precision(name)
        yield
    finally:
        fnet.set_float32_matmul_precision(before)
        _core._set_cpu_bf16_emulation(emu_before)


@contextlib.contextmanager
def bf16_kernel(kind):
    if kind == "hardware" and not HAS_BF16:
        pytest.skip("this CPU has no AVX512-BF16")
    isa_before = _core.cpu_isa()
    try:
        if kind == "hardware":
            _core.set_cpu_isa("avx512")
        with precision("medium", emulate=kind == "emulated"):
            want = "avx512_bf16" if kind == "hardware" else "emulated"
            assert _core.cpu_bf16_kernel() == want
            assert fnet.backends()["cpu"]["matmul_precision"] == "bf16"
            yield
    finally:
        _core.set_cpu_isa(isa_before)


def _bits(x):
    return np.asarray(x, np.float32).view(np.uint32)


def assert_same_bits(got, want, what=""):
    got, want = np.asarray(got, np.float32), np.asarray(want, np.float32)
    same = (_bits(got) == _bits(want)) | (np.isnan(got) & np.isnan(want))
    if not same.all():
        i = np.flatnonzero(~same)[0]
        raise AssertionError(
            f"{what}: {int((~same).sum())} of {got.size} differ; first at {i}: "
            f"{got.flat[i]!r} ({_bits(got).flat[i]:#010x}) vs {want.flat[i]!r} "
            f"({_bits(want).flat[i]:#010x})"
        )


# ---- the conversion ----------------------------------------------------------------------------

SPECIAL_F32 = np.array(
    [0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x00800000, 0x80800000, 0x7F7FFFFF,
     0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x7F800000, 0xFF800000, 0x7F800001, 0xFFC00000,
     0x7FBFFFFF, 0xFF812345, 0x3F808000, 0x3F818000, 0x3F808001, 0x3F817FFF, 0x3F800000,
     0x3F7FFFFF, 0x007FFFFF, 0x00FF8000, 0x00FF7FFF, 0x4B7F8000],
    np.uint32,
)  # fmt: skip


def _random_f32(rng, n):
    bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    # A quarter are exact ties (low 16 bits 0x8000), a quarter just off one.
    ties = rng.random(n)
    bits = np.where(ties < 0.25, (bits & 0xFFFF0000) | 0x8000, bits)
    bits = np.where((ties >= 0.25) & (ties < 0.5), (bits & 0xFFFF0000) | 0x7FFF, bits)
    return np.concatenate([SPECIAL_F32, bits.astype(np.uint32)]).view(np.float32)


def test_round_emulation_matches_numpy(rng):
    x = _random_f32(rng, 200_000)
    got = _core._bf16_round(x, False)
    assert got.dtype == np.uint16 and got.shape == x.shape
    np.testing.assert_array_equal(got, bf16_bits(x))
    # Known values: ties to even, the largest finite rounds to infinity, denormals to zero.
    want = {0x3F808000: 0x3F80, 0x3F818000: 0x3F82, 0x3F808001: 0x3F81, 0x7F7FFFFF: 0x7F80,
            0x807FFFFF: 0x8000, 0x7F800001: 0x7FC0, 0xFF812345: 0xFFC1}  # fmt: skip
    bits = np.array(list(want), np.uint32)
    np.testing.assert_array_equal(
        _core._bf16_round(bits.view(np.float32), False), np.array(list(want.values()), np.uint16)
    )


@needs_bf16
@pytest.mark.parametrize("n", [1, 15, 16, 17, 31, 32, 33, 1000])
def test_round_hardware_matches_emulation(rng, n):
    x = _random_f32(rng, max(n - len(SPECIAL_F32), 0) + 200_000)[-n:] if n < 1000 else None
    x = _random_f32(rng, 500_000) if x is None else x
    np.testing.assert_array_equal(_core._bf16_round(x, True), _core._bf16_round(x, False))


def test_round_hardware_refused_without_the_instruction():
    if HAS_BF16:
        pytest.skip("this CPU has AVX512-BF16")
    with pytest.raises(ValueError, match="hardware: this CPU has no AVX512-BF16"):
        _core._bf16_round(np.ones(3, np.float32), True)


# ---- one vdpbf16ps lane --------------------------------------------------------------------------

SPECIAL_BF16 = np.array(
    [0x0000, 0x8000, 0x0001, 0x807F, 0x0080, 0x8080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0,
     0xFFC1, 0x7F81, 0x3F80, 0xBF80, 0x3F81, 0x4000, 0x0100, 0x1F80, 0x2000, 0x5F80, 0x6000],
    np.uint32,
)  # fmt: skip


def _random_lanes(rng, n):
    """(acc, a, b): random bit patterns, values near one another (cancellation, ties), values at
    the edges of the exponent range (overflow, results that round to or under FLT_MIN), and the
    special values (denormals, infinities, NaNs, signed zeros) everywhere."""
    kind = rng.integers(0, 4, n)
    rand32 = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    sign = (rng.integers(0, 2, (3, n)) << 15).astype(np.uint32)

    def bf(exp_lo, exp_hi, i):
        e = rng.integers(exp_lo, exp_hi, n).astype(np.uint32)
        return sign[i] | (e << 7) | rng.integers(0, 128, n).astype(np.uint32)

    def halves(lo, hi, i):
        return bf(lo, hi, i) | (bf(lo, hi, i) << 16)

    mid = (halves(110, 145, 0), halves(110, 145, 1), rng.standard_normal(n) * 4.0)
    low = (halves(1, 70, 0), halves(1, 70, 1), np.ldexp(rng.random(n) - 0.5, -120))
    high = (halves(180, 255, 0), halves(180, 255, 1), np.clip(rng.standard_normal(n), -3, 3) * 1e38)
    acc = np.select([kind == 0, kind == 1, kind == 2], [mid[2], low[2], high[2]], 0.0)
    acc = acc.astype(np.float32)
    acc = np.where(kind == 3, rand32.view(np.float32), acc)
    a = np.select([kind == 1, kind == 2, kind == 3], [low[0], high[0], rand32[::-1]], mid[0])
    b = np.select([kind == 1, kind == 2, kind == 3], [low[1], high[1], rand32 ^ 0x5A5A5A5A], mid[1])
    # Specials spliced into one operand of some lanes.
    pick = rng.integers(0, len(SPECIAL_BF16), n)
    where = rng.integers(0, 8, n)
    a = np.where(where == 0, (a & 0xFFFF0000) | SPECIAL_BF16[pick], a)
    b = np.where(where == 1, (b & 0x0000FFFF) | (SPECIAL_BF16[pick] << 16), b)
    acc = np.where(where == 2, np.float32(np.ldexp(1.0, -130)) * (pick - 10), acc)
    return acc.astype(np.float32), a.astype(np.uint32), b.astype(np.uint32)


def test_dot2_emulation_matches_numpy(rng):
    # Operands whose float64 sums are exact (exponents within ~30 bits), so NumPy is exact too.
    n = 100_000
    acc = (rng.standard_normal(n) * 8).astype(np.float32)
    a = bf16_bits(rng.standard_normal(2 * n).astype(np.float32)).astype(np.uint32).reshape(n, 2)
    b = bf16_bits(rng.standard_normal(2 * n).astype(np.float32)).astype(np.uint32).reshape(n, 2)
    a, b = a[:, 0] | (a[:, 1] << 16), b[:, 0] | (b[:, 1] << 16)
    assert_same_bits(_core._bf16_dot2(acc, a, b, False), dot2(acc, a, b), "dot2")
    # Order: the high pair first: 2^24 + 3 is a tie that goes to 2^24 + 4 (even), minus 1 another
    # that stays there; the low pair first would give (2^24 - 1) + 3 = 2^24 + 2 exactly.
    big = np.float32(2.0**24)
    hi_first = _core._bf16_dot2(
        np.array([big], np.float32),
        np.array([0x3F80 | (0x3F80 << 16)], np.uint32),  # a = (1, 1)
        np.array([0xBF80 | (0x4040 << 16)], np.uint32),  # b = (lo -1, hi 3)
        False,
    )
    assert hi_first[0] == np.float32(2.0**24 + 4)
    # Denormals: an input denormal reads as zero, a denormal result flushes to zero, and a result
    # that rounds up to FLT_MIN stays (tininess after rounding).
    den = np.float32(np.ldexp(1.0, -130))
    one = np.uint32(0x3F80)  # (1, 0)
    out = _core._bf16_dot2(
        np.array([den, 0.0, np.float32(FLT_MIN)], np.float32),
        np.array([one, 0x0001, 0xBF80], np.uint32),
        np.array([0, 0x3F80, 0x0040], np.uint32),
        False,
    )
    assert _bits(out[:2]).tolist() == [0, 0]
    assert out[2] == np.float32(FLT_MIN)  # -1 * a bf16 denormal (0x0040) reads 0
    # Tininess at unbounded exponent: acc = FLT_MIN + 2^-149 plus -1.25 2^-149 is FLT_MIN - 2^-151,
    # a tie at 24 bits that goes to FLT_MIN (even); plus -1.5 2^-149 it rounds (24 bits) to
    # FLT_MIN - 2^-150: tiny, so zero, though the denormal grid would give FLT_MIN.
    acc = np.full(2, np.float32(FLT_MIN) * np.float32(1 + 2.0**-23), np.float32)
    a = bf16_bits(np.array([-1.25 * 2.0**-75, -1.5 * 2.0**-75], np.float32)).astype(np.uint32) << 16
    b = np.full(2, int(bf16_bits(np.float32(2.0**-74))[0]) << 16, np.uint32)
    out = _core._bf16_dot2(acc, a, b, False)
    assert out[0] == np.float32(FLT_MIN) and _bits(out[1:]).tolist() == [0]
    if HAS_BF16:
        assert_same_bits(_core._bf16_dot2(acc, a, b, True), out, "tininess")


def test_dot2_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="a, b: expected 3 pairs each, got 2 and 3"):
        _core._bf16_dot2(
            np.zeros(3, np.float32), np.zeros(2, np.uint32), np.zeros(3, np.uint32), False
        )


@needs_bf16
def test_dot2_hardware_matches_emulation(rng):
    acc, a, b = _random_lanes(rng, 1_000_000)
    assert_same_bits(_core._bf16_dot2(acc, a, b, True), _core._bf16_dot2(acc, a, b, False), "lanes")
    # Every special against every special, with special accumulators.
    sa, sb = np.meshgrid(SPECIAL_BF16, SPECIAL_BF16)
    sa, sb = sa.ravel(), sb.ravel()
    for acc_bits in SPECIAL_F32:
        accs = np.full(sa.size, acc_bits, np.uint32).view(np.float32)
        for a2, b2 in ((sa, sb), (sa << 16, sb << 16), (sa | (sb << 16), sb | (sa << 16))):
            a2, b2 = a2.astype(np.uint32), b2.astype(np.uint32)
            assert_same_bits(
                _core._bf16_dot2(accs, a2, b2, True), _core._bf16_dot2(accs, a2, b2, False), "sp"
            )
    # Results next to FLT_MIN: acc = FLT_MIN (1 + k 2^-23), product -(k 2^-23 FLT_MIN) (1 +- d).
    k = np.arange(1, 200)
    accs = (np.float32(FLT_MIN) * (1 + k * np.float32(2.0**-23))).astype(np.float32)
    prods = -(k * 2.0**-23 * FLT_MIN) * (1 + rng.choice([-1, 1], k.size) * 2.0**-7)
    aa = bf16_bits((prods / 2.0**-100).astype(np.float32)).astype(np.uint32) << 16
    bb = np.full(k.size, bf16_bits(np.float32(2.0**-100))[0], np.uint32) << 16
    assert_same_bits(_core._bf16_dot2(accs, aa, bb, True), _core._bf16_dot2(accs, aa, bb, False))


# ---- the gemm ----------------------------------------------------------------------------------

SHAPES = [(1, 1, 1), (1, 33, 2), (13, 1, 5), (12, 32, 8), (13, 33, 9), (25, 65, 31), (37, 70, 64),
          (100, 10, 128), (96, 96, 97), (130, 300, 7), (20, 50, 17), (14, 16, 40),
          (8, 10, 12), (17, 12, 3), (6, 40, 7), (128, 10, 128)]  # fmt: skip


def _run(kind, a, b, **kw):
    with bf16_kernel(kind):
        return fnet.ops.matmul(a, b, **kw)


@pytest.mark.parametrize("M,N,K", SHAPES)
@pytest.mark.parametrize("trans_a,trans_b", FORMS)
def test_gemm_hardware_matches_emulation_and_reference(rng, M, N, K, trans_a, trans_b):
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    kw = dict(trans_a=trans_a, trans_b=trans_b)
    emu = _run("emulated", a, b, **kw)
    want, scale = gemm_ref(bf16_round(a), bf16_round(b), **kw)
    assert_gemm_close(emu, want, scale, K, "emulated vs float64 of bf16 inputs")
    if HAS_BF16:
        assert_same_bits(_run("hardware", a, b, **kw), emu, "hardware vs emulated")


@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("layout", ["c", "f", "strided", "negative", "negative_f"])
def test_gemm_layouts(rng, kind, layout):
    M, N, K = 29, 45, 23
    a0 = rng.standard_normal((M, K)).astype(np.float32)
    b0 = rng.standard_normal((K, N)).astype(np.float32)
    c0 = rng.standard_normal((M, N)).astype(np.float32)
    a, b = relayout(a0, layout, rng), relayout(b0, layout, rng)
    out = relayout(c0.copy(), layout, rng)
    with bf16_kernel(kind):
        got = fnet.ops.matmul(a, b, alpha=0.75, beta=-1.5, out=out)
        dense = fnet.ops.matmul(a0, b0, alpha=0.75, beta=-1.5, out=c0.copy())
    assert got is out
    assert_same_bits(got, dense, f"{layout} vs C order")
    want, scale = gemm_ref(bf16_round(a0), bf16_round(b0), alpha=0.75, beta=-1.5, c=c0)
    assert_gemm_close(got, want, scale, K, layout)


@pytest.mark.parametrize("act", ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu"])
@pytest.mark.parametrize("M,N,K", [(7, 5, 3), (40, 64, 33), (130, 70, 21)])
def test_linear_epilogues(rng, act, M, N, K):
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    with bf16_kernel("emulated"):
        emu = fnet.ops.linear(x, w, bias, activation=act)
    z, scale = gemm_ref(bf16_round(x), bf16_round(w), bias=bias)
    want = activation_ref(act, z)
    slope = {"sigmoid": 0.25, "tanh": 1.0, "gelu": 1.2}.get(act, 1.0)
    assert_gemm_close(emu, want, scale * slope, K, act)
    if HAS_BF16:
        with bf16_kernel("hardware"):
            hw = fnet.ops.linear(x, w, bias, activation=act)
        assert_same_bits(hw, emu, f"{act}: hardware vs emulated")
        # Fortran-order out: the strided tile store.
        out = np.asfortranarray(np.zeros((M, N), np.float32))
        with bf16_kernel("hardware"):
            fnet.ops.linear(x, w, bias, activation=act, out=out)
        assert_same_bits(out, emu, f"{act}: F-order out")


def test_gemm_nonfinite_inputs_match(rng):
    a = rng.standard_normal((30, 40)).astype(np.float32)
    b = rng.standard_normal((40, 50)).astype(np.float32)
    a[3, 5], a[7, 9], b[11, 13], b[2, 3] = np.inf, np.nan, -np.inf, 1e-40
    a[20, :] = 3e38
    emu = _run("emulated", a, b)
    assert np.isnan(emu[7]).all() and np.isnan(emu[:, 13]).any()
    if HAS_BF16:
        assert_same_bits(_run("hardware", a, b), emu)


@pytest.mark.parametrize("kind", KERNELS)
def test_gemm_same_bits_on_any_thread_count(rng, kind):
    M, N, K = (150, 200, 120) if kind == "hardware" else (70, 90, 60)
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    before = fnet.get_num_threads()
    outs = []
    try:
        for t in (1, 2, 3, 5):
            fnet.set_num_threads(t)
            outs.append(_run(kind, a, b))
    finally:
        fnet.set_num_threads(before)
    for o in outs[1:]:
        assert_same_bits(o, outs[0])


# Both schedules of the driver (gemm_bf16.cpp): "whole" packs all of A once (up to 64 Ki pairs),
# "blocked" packs blocks of A per thread; a batch-sized A on either side of the bound, with a
# transposed A or B (the register-transpose packing) and a partial last row tile and panel.
@pytest.mark.parametrize("kind", KERNELS)
@pytest.mark.parametrize("M,K", [(131, 511), (300, 460)], ids=["whole", "blocked"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, True)])
def test_gemm_schedules_same_bits_on_any_thread_count(rng, kind, M, K, trans_a, trans_b):
    N = 45
    assert ((M + 11) // 12 * 12 * ((K + 1) // 2) <= 1 << 16) == (M == 131)  # pairs of packed A
    a = rng.standard_normal((K, M) if trans_a else (M, K)).astype(np.float32)
    b = rng.standard_normal((N, K) if trans_b else (K, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    av, bv = (a.T if trans_a else a), (b.T if trans_b else b)
    before = fnet.get_num_threads()
    outs = []
    try:
        for t in (1, 2, 3):
            fnet.set_num_threads(t)
            with bf16_kernel(kind):
                outs.append(fnet.ops.linear(av, bv, bias, activation="relu"))
    finally:
        fnet.set_num_threads(before)
    for o in outs[1:]:
        assert_same_bits(o, outs[0], "thread counts")
    z, scale = gemm_ref(bf16_round(av), bf16_round(bv), bias=bias)
    assert_gemm_close(outs[0], activation_ref("relu", z), scale, K, kind)
    if kind == "hardware":
        with bf16_kernel("emulated"):
            assert_same_bits(outs[0], fnet.ops.linear(av, bv, bias, activation="relu"), "emulated")


def test_setting_and_report(rng):
    a = rng.standard_normal((40, 50)).astype(np.float32)
    b = rng.standard_normal((50, 30)).astype(np.float32)
    with precision("highest"):
        exact = fnet.ops.matmul(a, b)
        assert fnet.backends()["cpu"]["matmul_precision"] == "fp32"
        assert _core.cpu_bf16_kernel() == "none"
    # "high" is FP32 on the CPU: the same bits as "highest".
    with precision("high"):
        assert fnet.backends()["cpu"]["matmul_precision"] == "fp32"
        assert_same_bits(fnet.ops.matmul(a, b), exact, "high")
    with precision("medium"):
        report = fnet.backends()["cpu"]
        assert report["avx512_bf16"] == HAS_BF16
        uses = HAS_BF16 and _core.cpu_isa() == "avx512"
        assert report["matmul_precision"] == ("bf16" if uses else "fp32")
        got = fnet.ops.matmul(a, b)
        if uses:
            assert not np.array_equal(got, exact)
            assert_same_bits(got, _run("emulated", a, b))
        else:
            assert_same_bits(got, exact, "medium without AVX512-BF16 keeps FP32")
    with pytest.raises(ValueError, match="expected 'highest', 'high' or 'medium', got 'bf16'"):
        fnet.set_float32_matmul_precision("bf16")
    with pytest.raises(TypeError, match="precision: expected 'highest', 'high' or 'medium'"):
        fnet.set_float32_matmul_precision(None)


@needs_bf16
def test_medium_on_a_narrower_isa_keeps_fp32(rng):
    a = rng.standard_normal((40, 50)).astype(np.float32)
    b = rng.standard_normal((50, 30)).astype(np.float32)
    before = _core.cpu_isa()
    try:
        _core.set_cpu_isa("avx2")
        exact = fnet.ops.matmul(a, b)
        with precision("medium"):
            assert fnet.backends()["cpu"]["matmul_precision"] == "fp32"
            assert_same_bits(fnet.ops.matmul(a, b), exact)
    finally:
        _core.set_cpu_isa(before)


def _train(rng_seed, kind):
    rng = np.random.default_rng(rng_seed)
    x = rng.standard_normal((300, 20)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64) + (x[:, 3] > 1)
    model = fnet.Sequential(
        [fnet.layers.Dense(33, activation="relu", input_shape=(20,)), fnet.layers.Dense(3)], seed=5
    )
    model.compile(
        optimizer=fnet.optimizers.Adam(1e-2),
        loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    with bf16_kernel(kind) if kind else precision("highest"):
        hist = model.fit(x, y, batch_size=50, epochs=4, verbose=0)
        pred = model.predict(x)
    return model.get_weights(), hist.history["loss"], pred


def test_training_hardware_matches_emulation_and_stays_close_to_fp32():
    w_emu, loss_emu, pred_emu = _train(0, "emulated")
    w_fp32, loss_fp32, _ = _train(0, None)
    for a, b in zip(w_emu, w_fp32):
        assert a.dtype == np.float32  # parameters stay FP32
        assert not np.array_equal(a, b)
        np.testing.assert_allclose(a, b, atol=0.05)
    assert loss_emu[-1] < loss_emu[0] and abs(loss_emu[-1] - loss_fp32[-1]) < 0.05
    if HAS_BF16:
        w_hw, loss_hw, pred_hw = _train(0, "hardware")
        for a, b in zip(w_hw, w_emu):
            assert_same_bits(a, b, "weights")
        assert loss_hw == loss_emu
        assert_same_bits(pred_hw, pred_emu, "predictions")


# ---- the bench's bf16 group ----------------------------------------------------------------------


def test_bench_cases_run_both_precisions_and_check():
    from fusednet.bench import cases_bf16
    from fusednet.bench.case import FP32, FUSEDNET

    gemm = cases_bf16.gemm_case(np.random.default_rng(1), n=70)
    train = cases_bf16.train_case("quick", budget_s=None)
    for case, target in ((gemm, 1.7), (train, 1.5)):
        assert [c.name for c in case.contenders] == [FUSEDNET, FP32]
        assert case.targets[0].vs == FP32 and case.targets[0].min_ratio == target
        ours, fp32 = case.contenders
        assert (ours.fn is None) == (not HAS_BF16 or _core.cpu_isa() != "avx512")
        if ours.fn is None:
            assert "AVX512-BF16" in ours.reason
            continue
        before = fnet.get_float32_matmul_precision()
        for c in case.contenders:
            if c.warmup is not None:
                c.warmup()
            c.fn()
            assert fnet.get_float32_matmul_precision() == before  # restored after each run
    error, tolerance = gemm.check()
    assert error <= tolerance == 1e-5
    # Another ISA than avx512 on a bf16 CPU: the reason names the ISA.
    if HAS_BF16:
        isa = _core.cpu_isa()
        try:
            _core.set_cpu_isa("avx2")
            assert "avx512 ISA" in cases_bf16._unavailable_reason()
        finally:
            _core.set_cpu_isa(isa)
    else:
        assert "no AVX512-BF16" in cases_bf16._unavailable_reason()


def test_bench_digits_case_checks_the_accuracy_drop():
    pytest.importorskip("sklearn")
    from fusednet.bench import cases_bf16

    case = cases_bf16.digits_case("quick", budget_s=None)
    error, tolerance = case.check()  # trains both when the timing did not
    assert tolerance == 0.005 and 0.0 <= error < 0.05
    assert case.samples == 1347 * 10
