"""Losses (mse, binary_cross_entropy, softmax_cross_entropy sparse and soft) against the float64
references in reference_loss.py, finite differences, extreme logits, layouts, threads, errors;
on every device (the `device` fixture) where the test says so."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import checks
import fusednet as fnet
import reference_loss as ref
from fusednet import ops

SHAPES_2D = [
    (1, 1),
    (1, 7),
    (7, 1),
    (13, 5),
    (37, 11),
    (3, 1013),
    (1031, 3),
    (0, 4),
    (130, 260),
    (5003, 1),
]
SHAPES_1D = [(1,), (17,), (1000,), (0,), (40009,)]
REDUCTIONS = ["mean", "sum"]


def assert_close(got, want, what, rtol=2e-5, atol_rel=2e-6, atol=0.0):
    """Elementwise |got - want| <= atol + atol_rel * max|want| + rtol |want|; prints the worst
    spot."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if want.size == 0:
        return
    scale = max(np.abs(want).max(), 1e-30)
    err = np.abs(got - want)
    bound = atol + atol_rel * scale + rtol * np.abs(want)
    if not np.all(err <= bound):
        i = np.unravel_index(np.argmax(err - bound), err.shape)
        pytest.fail(
            f"{what}: max abs err {err.max():.3e}, max rel err "
            f"{(err / np.maximum(np.abs(want), 1e-30)).max():.3e}; worst at {i}: "
            f"got {got[i]!r}, want {want[i]!r}"
        )


def make_inputs(kind, shape, rng, extreme=False):
    """(first argument, second argument) for a loss kind over `shape`."""
    z = rng.standard_normal(shape).astype(np.float32) * 3
    if extreme:
        z = rng.choice(np.array([-1e4, 1e4, 0.0, 5.0], np.float32), size=shape)
    if kind == "mse":
        return z, rng.standard_normal(shape).astype(np.float32)
    if kind == "bce":
        t = rng.random(shape)  # half hard 0/1 labels, half probabilities
        return z, np.where(rng.random(shape) < 0.5, np.round(t), t).astype(np.float32)
    rows = shape[0]
    cols = shape[1] if len(shape) == 2 else 1
    if kind == "sparse":
        return z, rng.integers(0, cols, size=rows)
    t = rng.random((rows, cols)) ** 3
    t[rng.random((rows, cols)) < 0.3] = 0
    t /= np.maximum(t.sum(axis=1, keepdims=True), 1e-12)
    return z, t.astype(np.float32).reshape(shape)


OPS = {
    "mse": (ops.mse, ref.mse),
    "bce": (ops.binary_cross_entropy, ref.binary_cross_entropy),
    "sparse": (ops.softmax_cross_entropy, ref.softmax_cross_entropy),
    "soft": (ops.softmax_cross_entropy, ref.softmax_cross_entropy),
}
KINDS = list(OPS)


EPS32 = float(np.finfo(np.float32).eps)


def check_against_reference(kind, a, b, w, reduction, **tol):
    """Kernel vs float64 reference. Besides the relative bounds, an absolute floor of a few float32
    ulps of what each row's arithmetic works with (terms near 1, times the row's weight and
    1/rows, 1/cols): a float32 kernel cannot resolve, e.g., a loss of 1e-15 next to 1."""
    fn, ref_fn = OPS[kind]
    loss, grad = fn(a, b, sample_weight=w, reduction=reduction)
    want_loss, want_grad = ref_fn(a, b, w, reduction)
    assert isinstance(loss, float)
    assert grad.dtype == np.float32 and grad.shape == np.shape(a)
    rows = a.shape[0]
    cols = a.shape[1] if a.ndim == 2 else 1
    weights = np.ones(rows) if w is None else np.abs(np.asarray(w, np.float64))
    per = 1.0 / max(rows, 1) if reduction == "mean" else 1.0
    grad_unit = per * (weights.max() if rows else 0.0) / (cols if kind in ("mse", "bce") else 1)
    assert_close(loss, want_loss, f"{kind} loss", atol=4 * EPS32 * per * weights.sum(), **tol)
    assert_close(grad, want_grad, f"{kind} grad", atol=4 * EPS32 * grad_unit, **tol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES_2D)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_reference(kind, shape, reduction, weighted, rng):
    a, b = make_inputs(kind, shape, rng)
    w = rng.random(shape[0]).astype(np.float32) * 2 if weighted else None
    check_against_reference(kind, a, b, w, reduction)


@pytest.mark.parametrize("kind", KINDS)
def test_every_isa_path(kind, cpu_isa, rng):
    for shape in [(1, 1), (5, 17), (33, 1000), (257, 3)]:
        a, b = make_inputs(kind, shape, rng)
        check_against_reference(kind, a, b, rng.random(shape[0]).astype(np.float32), "mean")


@pytest.mark.parametrize("kind", ["mse", "bce", "sparse"])
@pytest.mark.parametrize("shape", SHAPES_1D)
def test_1d_is_one_column(kind, shape, rng):
    a, b = make_inputs(kind, shape, rng)
    check_against_reference(kind, a, b, None, "mean")
    loss2, grad2 = OPS[kind][0](a.reshape(-1, 1), b if kind == "sparse" else b.reshape(-1, 1))
    loss1, grad1 = OPS[kind][0](a, b)
    assert loss1 == loss2 and np.array_equal(grad1.ravel(), grad2.ravel())


def test_bce_column_targets_with_flat_pairs(rng):
    z = rng.standard_normal((9, 1)).astype(np.float32)
    t = (rng.random(9) < 0.5).astype(np.float32)
    l1, g1 = ops.binary_cross_entropy(z, t)
    l2, g2 = ops.binary_cross_entropy(z, t.reshape(9, 1))
    assert l1 == l2 and g1.shape == (9, 1) and np.array_equal(g1, g2)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_finite_differences(kind, reduction, rng):
    """Central differences of the kernel's own loss (float64 inputs through float32) vs its grad."""
    shape = (4, 6)
    a, b = make_inputs(kind, shape, rng)
    a = a.astype(np.float64) / 3  # moderate logits so the float32 loss is smooth enough
    w = rng.random(4).astype(np.float32) + 0.5
    fn = OPS[kind][0]
    _, grad = fn(a, b, sample_weight=w, reduction=reduction)
    h = 1e-2
    fd = np.zeros(shape)
    for idx in np.ndindex(*shape):
        ap, am = a.copy(), a.copy()
        ap[idx] += h
        am[idx] -= h
        fd[idx] = (
            fn(ap, b, sample_weight=w, reduction=reduction)[0]
            - fn(am, b, sample_weight=w, reduction=reduction)[0]
        ) / (2 * h)
    assert_close(grad, fd, f"{kind} grad vs finite differences", rtol=2e-3, atol_rel=2e-3)


@pytest.mark.parametrize("kind", ["bce", "sparse", "soft"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_extreme_logits_stay_finite(kind, reduction, rng):
    a, b = make_inputs(kind, (64, 9), rng, extreme=True)
    loss, grad = OPS[kind][0](a, b, reduction=reduction)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    check_against_reference(kind, a, b, None, reduction, rtol=1e-5, atol_rel=1e-6)


def test_extreme_logits_exact_cases():
    z = np.array([[1e4, -1e4, 0.0]], np.float32)
    loss, grad = ops.softmax_cross_entropy(z, np.array([0]))
    assert loss == 0.0 and np.array_equal(grad, [[0.0, 0.0, 0.0]])
    loss, grad = ops.softmax_cross_entropy(z, np.array([1]))
    assert loss == pytest.approx(2e4) and np.array_equal(grad, [[1.0, -1.0, 0.0]])
    loss, grad = ops.binary_cross_entropy(
        np.array([1e4, -1e4], np.float32), np.array([1.0, 0.0], np.float32), reduction="sum"
    )
    assert loss == 0.0 and np.array_equal(grad, [0.0, 0.0])
    loss, _ = ops.binary_cross_entropy(
        np.array([1e4, -1e4], np.float32), np.array([0.0, 1.0], np.float32), reduction="sum"
    )
    assert loss == pytest.approx(2e4)


@pytest.mark.parametrize("gap", [5.0, 20.0, 40.0, 80.0])
def test_confident_rows_keep_tiny_losses(gap, cpu_isa):
    """A confident right answer has a loss (and gradient) of about e^-gap, not 0: no 1 + tiny."""
    z = np.array([[gap, 0.0, 0.0, -gap] + [0.0] * 9], np.float32)
    rest = 11 * np.exp(-gap) + np.exp(-2 * gap)  # sum_j exp(z_j - max) - 1
    for labels in (np.array([0]), np.eye(13, dtype=np.float32)[[0]]):
        loss, grad = ops.softmax_cross_entropy(z, labels, reduction="sum")
        assert loss == pytest.approx(np.log1p(rest), rel=1e-5)
        assert grad[0, 0] == pytest.approx(-rest / (1 + rest), rel=1e-5)
        assert grad[0, 1] == pytest.approx(np.exp(-gap) / (1 + rest), rel=1e-5)
    for z_row, t_row in (([gap], [1.0]), ([-gap], [0.0])):
        loss, grad = ops.binary_cross_entropy(
            np.array([z_row * 9], np.float32), np.array([t_row * 9], np.float32), reduction="sum"
        )
        assert loss == pytest.approx(np.log1p(np.exp(-gap)), rel=1e-5)
        small = np.exp(-gap) / (1 + np.exp(-gap)) / 9
        assert np.allclose(np.abs(grad), small, rtol=1e-5, atol=0)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("where", [(0, 0), (1, 2), (2, 6)])
def test_nan_input_gives_nan_loss(kind, where, cpu_isa, rng):
    """NaN is not handled, so it must show: a NaN logit never yields a finite loss."""
    a, b = make_inputs(kind, (3, 7), rng)
    a[where] = np.nan
    loss, grad = OPS[kind][0](a, b)
    assert np.isnan(loss) and np.isnan(grad[where[0]]).any()


@pytest.mark.parametrize("kind", KINDS)
def test_any_layout(kind, rng):
    a, b = make_inputs(kind, (23, 14), rng)
    want = OPS[kind][0](a, b)
    # Fortran order, negative row stride, negative column stride, every other element
    views = [
        np.asfortranarray(a),
        np.ascontiguousarray(a[::-1])[::-1],
        np.ascontiguousarray(a[:, ::-1])[:, ::-1],
    ]
    big = np.zeros((46, 28), np.float32)
    big[::2, ::2] = a
    views.append(big[::2, ::2])
    for view in views:
        assert np.array_equal(view, a)
        got = OPS[kind][0](view, b)
        assert got[0] == want[0] and np.array_equal(got[1], want[1])
    got = OPS[kind][0](a.astype(np.float64), b)  # converted once to float32: same answer
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    # second argument and sample_weight as strided views too
    w = rng.random(23).astype(np.float32)
    want = OPS[kind][0](a, b, sample_weight=w)
    b_view = np.ascontiguousarray(b[::-1])[::-1] if kind == "sparse" else np.asfortranarray(b)
    w_view = np.repeat(w, 2)[::2]
    got = OPS[kind][0](a, b_view, sample_weight=w_view)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])


@pytest.mark.parametrize("kind", KINDS)
def test_zero_rows(kind):
    a = np.zeros((0, 5), np.float32)
    b = np.zeros(0, np.int64) if kind == "sparse" else np.zeros((0, 5), np.float32)
    for reduction in REDUCTIONS:
        loss, grad = OPS[kind][0](a, b, reduction=reduction)
        assert loss == 0.0 and grad.shape == (0, 5)


@pytest.mark.parametrize(
    "kind, shape",
    [(k, (515, 257)) for k in KINDS] + [(k, (100003, 1)) for k in ("mse", "bce", "sparse")],
)
def test_thread_count_does_not_change_bits(kind, shape, threads, cpu_isa, rng):
    a, b = make_inputs(kind, shape, rng)
    w = rng.random(shape[0]).astype(np.float32)
    threads(1)
    one = OPS[kind][0](a, b, sample_weight=w)
    threads(2)
    two = OPS[kind][0](a, b, sample_weight=w)
    assert one[0] == two[0] and np.array_equal(one[1], two[1])


@pytest.mark.parametrize(
    "dtype", [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.float32, np.float64]
)
def test_label_dtypes(dtype, rng):
    z = rng.standard_normal((20, 7)).astype(np.float32)
    lab = rng.integers(0, 7, 20)
    want = ops.softmax_cross_entropy(z, lab)
    got = ops.softmax_cross_entropy(z, lab.astype(dtype))
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    got = ops.softmax_cross_entropy(z, list(lab))
    assert got[0] == want[0]


def test_one_hot_targets_equal_sparse_labels(rng):
    z = rng.standard_normal((50, 10)).astype(np.float32)
    lab = rng.integers(0, 10, 50)
    sparse = ops.softmax_cross_entropy(z, lab, reduction="sum")
    dense = ops.softmax_cross_entropy(z, np.eye(10, dtype=np.float32)[lab], reduction="sum")
    assert sparse[0] == pytest.approx(dense[0], rel=1e-6)
    np.testing.assert_allclose(sparse[1], dense[1], atol=1e-6)


# ---- property tests ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    scale=st.sampled_from([0.1, 1.0, 30.0, 300.0]),
    reduction=st.sampled_from(REDUCTIONS),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_matches_reference(kind, rows, cols, scale, reduction, weighted, seed):
    rng = np.random.default_rng(seed)
    a, b = make_inputs(kind, (rows, cols), rng)
    a = (a * scale).astype(np.float32)
    w = rng.random(rows).astype(np.float32) if weighted else None
    check_against_reference(kind, a, b, w, reduction, rtol=1e-4, atol_rel=1e-5)


# ---- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1, 5, 100])
def test_label_out_of_range(bad):
    lab = np.array([0, 1, bad, 2])
    with pytest.raises(ValueError, match=rf"labels: .*\[0, 5\).*got {bad} at row 2"):
        ops.softmax_cross_entropy(np.zeros((4, 5), np.float32), lab)
    with pytest.raises(ValueError, match=r"labels: .*\[0, 5\).* at row 2"):
        ops.softmax_cross_entropy(np.zeros((4, 5), np.float32), lab.astype(np.float64))


def test_uint64_labels_past_the_classes_do_not_wrap():
    lab = np.array([0, 2**63 + 1, 1], np.uint64)
    with pytest.raises(
        ValueError,
        match=r"labels: expected class indices in \[0, 4\), got "
        r"9223372036854775809 at row 1",
    ):
        ops.softmax_cross_entropy(np.zeros((3, 4), np.float32), lab)


def test_label_bad_values_and_types():
    z = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"labels: expected whole-number .* got 1.5 at row 1"):
        ops.softmax_cross_entropy(z, np.array([0.0, 1.5, 2.0]))
    with pytest.raises(ValueError, match=r"labels: .* at row 0"):
        ops.softmax_cross_entropy(z, np.array([np.nan, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"labels: expected integer class indices.*bool"):
        ops.softmax_cross_entropy(z, np.array([True, False, True]))
    with pytest.raises(ValueError, match=r"labels: expected shape \(3,\).*got \(4,\)"):
        ops.softmax_cross_entropy(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"labels: expected shape \(3, 4\).*got \(3, 5\)"):
        ops.softmax_cross_entropy(z, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"labels: expected a 1-D .* got 3-D"):
        ops.softmax_cross_entropy(z, np.zeros((3, 4, 1)))
    with pytest.raises(ValueError, match=r"logits: expected at least one column"):
        ops.softmax_cross_entropy(np.zeros((3, 0), np.float32), np.zeros(3, np.int64))


@pytest.mark.parametrize("kind", KINDS)
def test_bad_reduction(kind, rng):
    a, b = make_inputs(kind, (3, 4), rng)
    for bad in ["avg", "none", None, 1]:
        with pytest.raises(ValueError, match=r"reduction: expected one of 'mean', 'sum', got"):
            OPS[kind][0](a, b, reduction=bad)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_shapes(kind, rng):
    a, b = make_inputs(kind, (3, 4), rng)
    fn = OPS[kind][0]
    first = "pred" if kind == "mse" else "logits"
    with pytest.raises(ValueError, match=rf"{first}: expected a 1-D or 2-D array, got 3-D"):
        fn(a.reshape(3, 4, 1), b)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(3,\).*got \(4,\)"):
        fn(a, b, sample_weight=np.ones(4))
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(3,\).*got \(3, 1\)"):
        fn(a, b, sample_weight=np.ones((3, 1)))
    with pytest.raises(TypeError, match=rf"{first}: expected an array of real numbers"):
        fn(np.array([["a"]]), b)
    if kind in ("mse", "bce"):
        second = "target" if kind == "mse" else "targets"
        with pytest.raises(ValueError, match=rf"{second}: expected shape \(3, 4\).*got \(4, 3\)"):
            fn(a, b.T)
    with pytest.raises(ValueError, match=rf"{first}: expected a 1-D or 2-D array, got 0-D"):
        fn(np.float32(1.0), b)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(3,\).*got \(\)"):
        fn(a, b, sample_weight=2.0)
    if kind == "mse":  # (n,) vs (n, 1) would broadcast to (n, n) in NumPy: refused
        with pytest.raises(ValueError, match=r"target: expected shape \(5,\).*got \(5, 1\)"):
            fn(np.zeros(5, np.float32), np.zeros((5, 1), np.float32))


def test_core_rejects_bad_arrays(device):
    """The bindings check again, before either column: wrong dtype, layout or shape never reaches
    a kernel."""
    z = np.zeros((3, 4), np.float32)
    mean, dev = fnet._core.Reduction.mean, fnet._core.Device.__members__[device]
    with pytest.raises(TypeError, match="pred: expected dtype float32"):
        fnet._core.mse(z.astype(np.float64), z, None, mean, dev)
    with pytest.raises(ValueError, match="target: expected a C-contiguous"):
        fnet._core.mse(z, np.asfortranarray(np.zeros((3, 4), np.float32)), None, mean, dev)
    with pytest.raises(TypeError, match="labels: expected a numpy.ndarray of int64"):
        fnet._core.softmax_cross_entropy(z, np.zeros(3, np.int32), None, mean, dev)
    with pytest.raises(ValueError, match="labels: expected shape"):
        fnet._core.softmax_cross_entropy(z, np.zeros(4, np.int64), None, mean, dev)
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 4\), got 7"):
        fnet._core.softmax_cross_entropy(z, np.array([0, 7, 1], np.int64), None, mean, dev)
    with pytest.raises(TypeError):  # the reduction is a _core.Reduction, not a string
        fnet._core.binary_cross_entropy(z, z, None, "avg", dev)


# ---- every device, with the tolerances of the former CUDA tests (checks.assert_close) ----------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("rows,cols", [(1, 1), (5, 3), (129, 10), (64, 1000)])
def test_losses_match_float64_on_device(device, rng, reduction, weighted, rows, cols):
    z = (rng.standard_normal((rows, cols)) * 3).astype(np.float32)
    t = rng.standard_normal((rows, cols)).astype(np.float32)
    p01 = (rng.random((rows, cols)) < 0.5).astype(np.float32)
    labels = rng.integers(0, cols, rows)
    soft = rng.random((rows, cols)).astype(np.float32)
    soft /= soft.sum(1, keepdims=True)
    w = rng.random(rows).astype(np.float32) if weighted else None
    kw = dict(sample_weight=w, reduction=reduction)
    cases = [
        ("mse", ops.mse(z, t, **kw, device=device), ref.mse(z, t, w, reduction)),
        (
            "bce",
            ops.binary_cross_entropy(z, p01, **kw, device=device),
            ref.binary_cross_entropy(z, p01, w, reduction),
        ),
        (
            "ce",
            ops.softmax_cross_entropy(z, labels, **kw, device=device),
            ref.softmax_cross_entropy(z, labels, w, reduction),
        ),
        (
            "ce soft",
            ops.softmax_cross_entropy(z, soft, **kw, device=device),
            ref.softmax_cross_entropy(z, soft, w, reduction),
        ),
    ]
    for name, (loss, grad), (want_loss, want_grad) in cases:
        assert isinstance(loss, float)
        checks.assert_close(loss, want_loss, 1e-5, 1e-6, f"{name} loss")
        checks.assert_close(grad, want_grad, 1e-4, 1e-7, f"{name} grad")


@pytest.mark.parametrize("which", ["mse", "bce", "ce", "ce soft"])
def test_loss_gradient_finite_difference_on_device(device, rng, which):
    rows, cols = 6, 5
    z = rng.standard_normal((rows, cols)).astype(np.float32)
    t = rng.random((rows, cols)).astype(np.float32)
    labels = rng.integers(0, cols, rows)
    second = {"mse": t, "bce": t, "ce": labels, "ce soft": t / t.sum(1, keepdims=True)}[which]
    fn = {"mse": ops.mse, "bce": ops.binary_cross_entropy}.get(which, ops.softmax_cross_entropy)

    def f(zz):
        return fn(zz, second, device=device)

    _, grad = f(z)
    h = 1e-2
    for i, j in [(0, 0), (3, 2), (5, 4)]:
        zp, zm = z.copy(), z.copy()
        zp[i, j] += h
        zm[i, j] -= h
        fd = (f(zp)[0] - f(zm)[0]) / (2 * h)
        assert abs(fd - grad[i, j]) <= 2e-3 * max(1.0, abs(fd)) + 1e-4, (
            which,
            i,
            j,
            fd,
            grad[i, j],
        )


def test_extreme_logits_and_errors_on_device(device):
    z = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    loss, g = ops.softmax_cross_entropy(z, np.array([1, 1]), device=device)
    assert np.isfinite(loss) and np.isfinite(g).all()
    loss, g = ops.binary_cross_entropy(z, np.array([[0, 1], [1, 0]], np.float32), device=device)
    assert np.isfinite(loss) and np.isfinite(g).all()
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 2\), got 2"):
        ops.softmax_cross_entropy(z, np.array([0, 2]), device=device)
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum'"):
        ops.mse(z, z, reduction="max", device=device)
    with pytest.raises(ValueError, match=r"sample_weight: expected shape \(2,\)"):
        ops.mse(z, z, sample_weight=np.ones(3, np.float32), device=device)


def test_losses_deterministic_on_device(device, rng):
    z = rng.standard_normal((4096, 100)).astype(np.float32)
    labels = rng.integers(0, 100, 4096)
    l1, g1 = ops.softmax_cross_entropy(z, labels, device=device)
    l2, g2 = ops.softmax_cross_entropy(z, labels, device=device)
    assert l1 == l2 and np.array_equal(g1, g2)


def test_confident_rows_keep_tiny_values_on_device(device):
    # A confident right answer: the loss and gradient are ~e^-25, not rounded to 0 through 1 + e.
    t = math.exp(-25.0)
    z = np.array([[25.0, 0.0]], np.float32)
    for loss, grad in (
        ops.softmax_cross_entropy(z, np.array([0]), device=device),
        ops.softmax_cross_entropy(z, np.array([[1.0, 0.0]], np.float32), device=device),
    ):
        checks.assert_close(loss, math.log1p(t), 1e-5, 0, "CE loss")
        checks.assert_close(grad, [[-t / (1 + t), t / (1 + t)]], 1e-5, 0, "CE grad")
    t = math.exp(-20.0)
    loss, grad = ops.binary_cross_entropy(
        np.array([[20.0]], np.float32), np.ones((1, 1), np.float32), device=device
    )
    checks.assert_close(loss, math.log1p(t), 1e-5, 0, "BCE loss")
    checks.assert_close(grad, [[-t / (1 + t)]], 1e-5, 0, "BCE grad")


def test_empty_batch_on_device(device):
    e = np.zeros((0, 3), np.float32)
    for fn, second in (
        (ops.mse, e),
        (ops.binary_cross_entropy, e),
        (ops.softmax_cross_entropy, np.zeros(0, np.int64)),
    ):
        got, want = fn(e, second, device=device), fn(e, second)
        assert got[0] == want[0] == 0.0 and got[1].shape == (0, 3)


def test_one_column_bce_same_bits_on_avx2_and_avx512(rng):
    """AVX-512's one-column BCE runs 16 rows per vector with the AVX2 element math and sums in
    AVX2's lane order, so both give the same loss and gradient bits (special values included,
    every tail length, with and without weights)."""
    detected = fnet._core.cpu_isa_detected()
    if detected != "avx512":
        pytest.skip("needs a CPU with AVX-512")
    specials = np.array(
        [0.0, -0.0, 1e-45, 1e-38, 88.0, 88.5, -87.3, -87.4, -100.0, 100.0, 20.0, -20.0, np.inf]
        + [-np.inf, np.nan, 1e30, -1e30, 15.9, 0.5, -0.5],
        np.float32,
    )
    isas, before = ("avx2", "avx512"), fnet._core.cpu_isa()
    try:
        for n in (1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 255, 256, 257, 1000, 4099):
            z = (rng.standard_normal((n, 1)) * rng.choice([0.1, 3.0, 30.0])).astype(np.float32)
            z[: min(n, specials.size), 0] = specials[: min(n, specials.size)]
            t = rng.random((n, 1)).astype(np.float32)
            t[::3] = np.round(t[::3])
            w = rng.random(n).astype(np.float32)
            for kwargs in ({}, {"sample_weight": w}, {"reduction": "sum"}):
                got = []
                for isa in isas:
                    fnet._core.set_cpu_isa(isa)
                    loss, grad = ops.binary_cross_entropy(z, t, **kwargs)
                    got.append((np.float64(loss).tobytes(), grad.tobytes()))
                assert got[0] == got[1], f"n={n} {sorted(kwargs)}"
    finally:
        fnet._core.set_cpu_isa(before)


def test_softmax_cross_entropy_same_bits_on_avx2_and_avx512(rng):
    """AVX-512 takes rows of at most 16 classes in one vector, with the max and the sums in
    AVX2's lanes and order: both give the same loss and gradient bits (ties, +-inf, NaN, every
    width up to past one vector, sparse and soft targets, weights)."""
    if fnet._core.cpu_isa_detected() != "avx512":
        pytest.skip("needs a CPU with AVX-512")
    before = fnet._core.cpu_isa()
    try:
        for cols in list(range(1, 19)) + [24, 31, 32, 33]:
            rows = 37
            scale = rng.choice([0.5, 5.0, 40.0])
            z = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
            z[1] = 3.0  # a row of ties
            z[2, 0] = np.inf
            z[3, -1] = -np.inf
            z[4, cols // 2] = np.nan
            z[5] = -np.inf
            z[6, : max(1, cols // 3)] = 80.0  # several maxima
            z[7] = rng.choice(np.array([-1e30, 1e30, 0.0, -0.0], np.float32), cols)
            labels = rng.integers(0, cols, rows)
            soft = rng.random((rows, cols)).astype(np.float32)
            soft[::4] = np.eye(cols, dtype=np.float32)[labels[::4]]
            w = rng.random(rows).astype(np.float32)
            for kwargs in ({}, {"sample_weight": w}, {"reduction": "sum"}):
                for target in (labels, soft):
                    got = []
                    for isa in ("avx2", "avx512"):
                        fnet._core.set_cpu_isa(isa)
                        with np.errstate(all="ignore"):
                            loss, grad = ops.softmax_cross_entropy(z, target, **kwargs)
                        got.append((np.float64(loss).tobytes(), grad.tobytes()))
                    assert got[0] == got[1], f"cols={cols} {sorted(kwargs)} {target.dtype}"
    finally:
        fnet._core.set_cpu_isa(before)
