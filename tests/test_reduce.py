"""bias_grad (column sums) and row-wise argmax against the float64 / NumPy references in
reference_reduce.py, on every device (the `device` fixture).

bias_grad accumulates in double (32 row groups, the GPU kernel's order), so it must equal the
float64 sum rounded to float32 up to the last bit or so:
|db - ref| <= 1e-6 (sum_i |dy_ij|) + 1e-6 |ref|.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference_reduce as ref
from checks import assert_close, cuda_only
from fusednet import _core, ops

SHAPES = [
    (0, 3),
    (3, 0),
    (0, 0),
    (1, 1),
    (1, 257),
    (7, 13),
    (1000, 3),
    (3, 1000),
    (257, 513),
    (1031, 7),
    (1000, 1),
    (999, 2),
    (1000, 4),
]  # 1-4 columns: the narrow loop


def check_bias_grad(dy, db):
    want = ref.bias_grad(dy)
    scale = np.abs(np.asarray(dy, np.float64)).sum(axis=0)
    err = np.abs(db.astype(np.float64) - want)
    bound = 1e-6 * scale + 1e-6 * np.abs(want)
    assert db.dtype == np.float32 and db.shape == want.shape
    if err.size and (err > bound).any():
        j = int(np.argmax(err - bound))
        raise AssertionError(
            f"bias_grad: column {j}: got {db[j]!r}, want {want[j]!r}, max abs err {err.max():.3g}"
        )


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bias_grad_matches_reference(shape, rng):
    dy = rng.standard_normal(shape).astype(np.float32)
    check_bias_grad(dy, ops.bias_grad(dy))


def test_bias_grad_any_layout(rng):
    base = rng.standard_normal((40, 30)).astype(np.float32)
    for dy in (np.asfortranarray(base), base.T, base[::-1, ::-2], base[5:, 3].reshape(-1, 1)):
        db = ops.bias_grad(dy)
        check_bias_grad(dy, db)
        np.testing.assert_array_equal(db, ops.bias_grad(np.ascontiguousarray(dy)))


def test_bias_grad_out(rng):
    dy = rng.standard_normal((50, 9)).astype(np.float32)
    want = ops.bias_grad(dy)
    out = np.empty(9, np.float32)
    assert ops.bias_grad(dy, out=out) is out
    np.testing.assert_array_equal(out, want)
    strided = np.zeros(18, np.float32)[::2]
    assert ops.bias_grad(dy, out=strided) is strided
    np.testing.assert_array_equal(strided, want)


def test_bias_grad_is_accurate_where_float_sums_are_not():
    # 1e8 followed by many ones: a float32 running sum would lose every 1.
    dy = np.ones((10001, 2), np.float32)
    dy[0] = 1e8
    np.testing.assert_array_equal(ops.bias_grad(dy), np.float32(1e8 + 10000))


@pytest.mark.parametrize("shape", [(4096, 300), (100000, 3), (3, 70000)], ids=str)
def test_bias_grad_bit_identical_for_any_thread_count(shape, rng, threads):
    dy = rng.standard_normal(shape).astype(np.float32)
    runs = []
    for n in (1, 2, 3):
        threads(n)
        runs.append(ops.bias_grad(dy))
    for db in runs[1:]:
        assert np.array_equal(db, runs[0])
    check_bias_grad(dy, runs[0])


@pytest.mark.parametrize("cols", [33, 34, 35, 36, 49, 50, 51, 52, 65, 66, 67, 68])
def test_bias_grad_narrow_last_slab_at_every_thread_count(cols, rng, threads):
    # A threaded column split in 16-column slabs leaves a last slab of 1-4 columns here, which
    # takes the narrow kernel at an offset; every thread count gives the reference's bits.
    dy = rng.standard_normal((1500, cols)).astype(np.float32)
    dy[:, -4:] += np.arange(1, 5, dtype=np.float32)  # the narrow columns differ from the others
    runs = []
    for n in (1, 2, 3, 4):
        threads(n)
        db = ops.bias_grad(dy)
        check_bias_grad(dy, db)
        runs.append(db)
    for db in runs[1:]:
        assert np.array_equal(db, runs[0])


def test_bias_grad_nan_and_inf():
    dy = np.array([[1, np.nan, np.inf, np.inf], [2, 3, 4, -np.inf]], np.float32)
    db = ops.bias_grad(dy)
    assert db[0] == 3 and np.isnan(db[1]) and db[2] == np.inf and np.isnan(db[3])


# ---- argmax ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 3), (1, 1), (5, 1), (7, 13), (3, 1000), (1000, 17)], ids=str)
def test_argmax_matches_numpy(shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    got = ops.argmax(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.argmax(x))


def test_argmax_ties_nan_and_infinities(device):
    x = np.array(
        [
            [1, 3, 3, 2],  # tie: first index
            [np.nan, 5, np.nan, 1],  # NaN counts as the max: first NaN
            [1, 5, np.nan, 9],
            [-np.inf, -np.inf, -np.inf, -np.inf],
            [0, np.inf, np.inf, 1],
            [-0.0, 0.0, 0, 0],
        ],
        np.float32,
    )
    np.testing.assert_array_equal(ops.argmax(x, device=device), [1, 0, 2, 0, 1, 0])
    np.testing.assert_array_equal(ops.argmax(x, device=device), ref.argmax(x))


def test_argmax_any_layout_and_threads(rng, threads):
    base = np.round(rng.standard_normal((300, 400)) * 3).astype(np.float32)  # many ties
    for x in (base, base.T, base[::-1, ::3], np.asfortranarray(base)):
        want = ref.argmax(x)
        for n in (1, 2):
            threads(n)
            np.testing.assert_array_equal(ops.argmax(x), want)


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_inputs():
    with pytest.raises(ValueError, match=r"dy: expected a 2-D array, got 1-D with shape \(5,\)"):
        ops.bias_grad(np.zeros(5, np.float32))
    with pytest.raises(ValueError, match=r"out: expected shape \(4,\), got \(3,\)"):
        ops.bias_grad(np.zeros((2, 4), np.float32), out=np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="out: expected dtype float32"):
        ops.bias_grad(np.zeros((2, 4), np.float32), out=np.zeros(4, np.float64))
    with pytest.raises(ValueError, match=r"x: expected a 2-D array, got 3-D"):
        ops.argmax(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"x: expected at least one column, got shape \(2, 0\)"):
        ops.argmax(np.zeros((2, 0), np.float32))
    with pytest.raises(TypeError, match="dy: expected an array of real numbers"):
        ops.bias_grad(np.zeros((2, 2), dtype=object))
    with pytest.raises(ValueError, match=r"out: expected shape \(4,\), got \(3,\)"):
        _core.bias_grad(np.zeros((2, 4), np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="x: expected at least one column"):
        _core.argmax_rows(np.zeros((2, 0), np.float32))


# ---- every device, with the tolerances of the former CUDA tests ------------------------------
@pytest.mark.parametrize("rows,cols", [(1, 1), (7, 3), (1000, 1), (33, 130), (4097, 10)])
def test_bias_grad_and_argmax_on_device(device, rng, rows, cols):
    dy = rng.standard_normal((rows, cols)).astype(np.float32)
    got = ops.bias_grad(dy, device=device)
    assert_close(got, ref.bias_grad(dy), 1e-5, 1e-3, "bias_grad")
    assert np.array_equal(got, ops.bias_grad(dy, device=device)), "bias_grad not reproducible"
    out = np.empty((2, cols), np.float32)[0]
    assert ops.bias_grad(dy, out, device=device) is out and np.array_equal(out, got)
    assert np.array_equal(ops.argmax(dy, device=device), dy.argmax(axis=1))


def test_bias_grad_is_the_rounded_exact_sum(device, rng):
    # Summed in double: within 1 ulp of float32(exact sum) even over 1e5 rows of large values,
    # where a float accumulator drifts by many ulps; and within 1 ulp of the CPU kernel.
    dy = (1000.0 + rng.standard_normal((100003, 37))).astype(np.float32)
    want = ref.bias_grad(dy).astype(np.float32)
    got = ops.bias_grad(dy, device=device)
    np.testing.assert_array_max_ulp(got, want, maxulp=1)
    np.testing.assert_array_max_ulp(got, ops.bias_grad(dy), maxulp=1)


@cuda_only
def test_gather_rows_and_count_correct(device, rng):
    # Building blocks of device-resident training: a gathered mini-batch, correct rows summed.
    src = rng.standard_normal((1000, 37)).astype(np.float32)
    idx = rng.permutation(1000)[:257].astype(np.int64)
    out = np.empty((257, 37), np.float32)
    _core._cuda_gather_rows(src, idx, out)
    assert np.array_equal(out, src[idx])
    with pytest.raises(ValueError, match=r"index: expected row indices in \[0, 1000\), got 1000"):
        _core._cuda_gather_rows(src, np.array([1000], np.int64), np.empty((1, 37), np.float32))
    logits = rng.standard_normal((4099, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 4099)
    assert _core._cuda_count_correct(logits, labels) == float((logits.argmax(1) == labels).sum())


@pytest.mark.parametrize("rows", [1, 31, 32, 33, 100, 1031])
@pytest.mark.parametrize("cols", [1, 2, 3, 4, 5, 64, 65, 130])
def test_bias_grad_fixed_group_order_bit_for_bit(rows, cols, threads):
    # +2^50 and -2^50 in each column: while one of them is in a running double sum the small
    # terms lose bits, so only the same additions in the same order give the same float32 (the
    # plain row order differs from the group order on 32 of these 56 cases). The order is pinned
    # on every ISA and thread count, and is the GPU kernel's.
    rng = np.random.default_rng(rows * 1000 + cols)
    dy = (rng.standard_normal((rows, cols)) * 2.0**-5).astype(np.float32)
    if rows >= 2:
        col = np.arange(cols)
        dy[rng.integers(0, rows // 2, cols), col] = 2.0**50
        dy[rng.integers(rows // 2, rows, cols), col] = -(2.0**50)
    want = ref.bias_grad_group_order(dy)
    for n in (1, 2, 3):  # 1031 x 65 and x 130 are split over the threads
        threads(n)
        assert ops.bias_grad(dy).tobytes() == want.tobytes()
