"""Activations and softmax against the float64 references in reference_activation.py: values,
layouts, finite differences, extreme inputs, threads and ISA paths, bad input. The same checks on
every device (the `device` fixture) are in test_activation_device.py.

Tolerances (float32 results vs the float64 value of the same float32 input):
  forward  |y - ref| <= 1e-6 + 2e-6 |ref|
  backward |dx - ref| <= 2e-6 |dy| + 1e-5 |ref|   (1 - tanh^2 and friends lose relative accuracy
                                                   where the derivative is small)
  softmax  1e-6 + 1e-5 |ref|; log_softmax 1e-5 + 1e-5 |ref|
Every path (generic / avx2 / avx512) this CPU supports runs through the `cpu_isa` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest

import reference_activation as ref
from activation_cases import (
    ALPHA,
    ELEMENTWISE,
    ROWWISE,
    SLOPE,
    away_from_kinks,
    bwd,
    fwd,
    ref_bwd,
    ref_fwd,
)
from fusednet import _core, ops


def assert_close(got, want, atol, rtol, what=""):
    """Elementwise |got - want| <= atol + rtol |want| (atol may be an array); NaN must match NaN
    and infinities must match exactly. Prints the worst element on failure."""
    got = np.asarray(got, dtype=np.float64)
    with np.errstate(over="ignore"):  # compare with the float32 rounding of the exact value
        want = np.asarray(want, dtype=np.float64).astype(np.float32).astype(np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if got.size == 0:
        return
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), (
        f"{what}: NaN mismatch at {np.argwhere(nan_g != nan_w)[:5].tolist()}"
    )
    inf_w = np.isinf(want)
    assert np.array_equal(got[inf_w], want[inf_w]), f"{what}: infinities differ"
    fin = ~nan_w & ~inf_w
    with np.errstate(invalid="ignore"):
        err = np.where(fin, np.abs(got - want), 0.0)
    bound = np.broadcast_to(atol, got.shape) + rtol * np.abs(np.where(fin, want, 0.0))
    bad = err > bound
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(fin, err / bound, 0)), got.shape)
        rel = err[i] / max(abs(want[i]), 1e-300)
        raise AssertionError(
            f"{what}: {bad.sum()} of {got.size} elements off; max abs err "
            f"{err.max():.3g}; worst at {tuple(int(k) for k in i)}: got "
            f"{got[i]!r}, want {want[i]!r} (abs {err[i]:.3g}, rel {rel:.3g})"
        )


def check_forward(name, x, y):
    if name in ROWWISE:
        atol = 1e-6 if name == "softmax" else 1e-5
        assert_close(y, ref_fwd(name, x), atol, 1e-5, f"{name} forward")
    else:
        assert_close(y, ref_fwd(name, x), 1e-6, 2e-6, f"{name} forward")


def check_backward(name, dy, x, dx):
    want = ref_bwd(name, dy, x)
    if name in ROWWISE:
        scale = np.abs(dy).max(axis=-1, keepdims=True) if dy.size else 1.0
        assert_close(dx, want, 2e-6 * scale, 1e-5, f"{name} backward")
    else:
        assert_close(dx, want, 2e-6 * np.abs(np.asarray(dy, np.float64)), 1e-5, f"{name} backward")


def sample(rng, shape, scale=4.0):
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    if x.size > 3:
        x.flat[::7] = 0.0  # relu kinks and exact zeros
    return x


SHAPES = [
    (0,),
    (1,),
    (7,),
    (31,),
    (1009,),
    (4099,),
    (3, 0),
    (0, 5),
    (1, 1),
    (13, 17),
    (2, 3, 5, 7),
    (5, 1, 1, 257),
]


# ---- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ELEMENTWISE + ROWWISE)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_backward_match_reference(name, shape, rng, cpu_isa):
    x = sample(rng, shape)
    dy = rng.standard_normal(shape).astype(np.float32)
    y = fwd(name, x)
    assert y.dtype == np.float32 and y.shape == x.shape
    check_forward(name, x, y)
    dx = bwd(name, dy, x)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    check_backward(name, dy, x, dx)


@pytest.mark.parametrize(
    "name", ["sigmoid", "tanh", "gelu", "gelu_tanh", "elu", "selu", "silu", "softplus", "mish"]
)
def test_dense_sweep_of_the_smooth_activations(name, cpu_isa):
    # Every region of the piecewise approximations: small-|x| polynomials, their switch points
    # (tanh at 0.625), the tails, and where exp under/overflows.
    x = np.concatenate(
        [np.linspace(-30, 30, 60001), np.linspace(-1, 1, 20001), np.linspace(-110, 110, 2001)]
    ).astype(np.float32)
    dy = np.ones_like(x)
    check_forward(name, x, fwd(name, x))
    check_backward(name, dy, x, bwd(name, dy, x))


def test_activation_by_name_matches_the_named_functions(rng):
    x = sample(rng, (5, 11))
    dy = rng.standard_normal((5, 11)).astype(np.float32)
    for name in ops.ACTIVATIONS:
        params = {"negative_slope": SLOPE} if name == "leaky_relu" else {}
        params = {"alpha": ALPHA} if name == "elu" else params
        want = fwd(name, x) if name != "leaky_relu" else ops.leaky_relu(x, SLOPE)
        np.testing.assert_array_equal(ops.activation(x, name, **params), want)
        np.testing.assert_array_equal(
            ops.activation_backward(dy, x, name, **params), bwd(name, dy, x)
        )
    np.testing.assert_array_equal(
        ops.activation(x, "gelu", approximate=True), ops.activation(x, "gelu_tanh")
    )
    np.testing.assert_array_equal(ops.activation(x, "GELU"), ops.gelu(x))
    np.testing.assert_array_equal(ops.leaky_relu(x), np.where(x > 0, x, np.float32(0.01) * x))


def test_activations_tuple():
    assert ops.ACTIVATIONS == (
        "linear",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        "gelu",
        "softmax",
        "log_softmax",
        "elu",
        "selu",
        "silu",
        "softplus",
        "softsign",
        "relu6",
        "mish",
        "hard_sigmoid",
        "hard_silu",
        "exponential",
    )


def test_relu_and_leaky_are_exact(rng):
    x = sample(rng, (1001,))
    np.testing.assert_array_equal(ops.relu(x), np.maximum(x, 0))
    np.testing.assert_array_equal(ops.leaky_relu(x, 0.3), np.where(x > 0, x, np.float32(0.3) * x))
    np.testing.assert_array_equal(ops.activation(x, "linear"), x)


def test_softmax_rows_sum_to_one(rng):
    x = sample(rng, (37, 1001), scale=30.0)
    np.testing.assert_allclose(ops.softmax(x).astype(np.float64).sum(axis=1), 1.0, rtol=2e-6)
    np.testing.assert_allclose(
        np.exp(ops.log_softmax(x).astype(np.float64)).sum(axis=1), 1.0, rtol=2e-5
    )


def test_non_float32_input_is_converted_once(rng):
    x = rng.standard_normal((4, 6))  # float64
    y = ops.tanh(x)
    assert y.dtype == np.float32
    check_forward("tanh", x.astype(np.float32), y)
    assert ops.relu([[-1, 2], [3, -4]]).tolist() == [[0, 2], [3, 0]]


# ---- layouts and out= --------------------------------------------------------------------------
def _views(rng):
    base = sample(rng, (9, 14))
    return {
        "fortran": np.asfortranarray(base),
        "transposed": base.T,
        "negative": base[::-1, ::-1],
        "strided": base[:, ::3],
        "column": base[:, 5],
        "4d_strided": sample(rng, (4, 3, 6, 10))[:, ::2, 1:, ::-3],
    }


@pytest.mark.parametrize("name", ELEMENTWISE + ROWWISE)
def test_any_layout(name, rng):
    for label, x in _views(rng).items():
        dy = np.ascontiguousarray(rng.standard_normal(x.shape).astype(np.float32).T).T
        y = fwd(name, x)
        np.testing.assert_array_equal(y, fwd(name, np.ascontiguousarray(x)), err_msg=label)
        check_forward(name, x, y)
        dx = bwd(name, dy, x)
        np.testing.assert_array_equal(
            dx, bwd(name, np.ascontiguousarray(dy), np.ascontiguousarray(x)), err_msg=label
        )
        check_backward(name, dy, x, dx)


@pytest.mark.parametrize("name", ["relu", "gelu", "softmax"])
def test_out_argument(name, rng):
    x = sample(rng, (6, 10))
    want = fwd(name, x)
    out = np.empty((6, 10), np.float32)
    assert fwd(name, x, out=out) is out
    np.testing.assert_array_equal(out, want)
    # a non-contiguous out receives the result by copy
    big = np.zeros((10, 12), np.float32)
    view = big[:6, ::-1][:, :10]
    assert fwd(name, x, out=view) is view
    np.testing.assert_array_equal(view, want)
    # in place
    xc = x.copy()
    assert fwd(name, xc, out=xc) is xc
    np.testing.assert_array_equal(xc, want)
    # out overlapping the input with a shift: the result must still be as if computed apart
    buf = np.zeros(61, np.float32)
    buf[1:] = x.ravel()
    src, dst = buf[1:].reshape(6, 10), buf[:60].reshape(6, 10)
    fwd(name, src, out=dst)
    np.testing.assert_array_equal(dst, want)
    # backward with out= aliasing dy
    dy = rng.standard_normal((6, 10)).astype(np.float32)
    want_dx = bwd(name, dy, x)
    assert bwd(name, dy, x, out=dy) is dy
    np.testing.assert_array_equal(dy, want_dx)


def test_in_place_on_a_large_array_through_the_kernel(rng):
    x = sample(rng, (70001,))
    want = ops.sigmoid(x)
    _core.activation_forward(x, x, _core.Activation.sigmoid, 0.0)
    np.testing.assert_array_equal(x, want)


# ---- finite differences ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_reference_derivative_matches_finite_differences(name, rng):
    x = rng.standard_normal(2000) * 4
    x = away_from_kinks(name, x[np.abs(x) > 1e-3], 1e-3)  # away from the relu kink (and others)
    h = 1e-6
    fd = (ref_fwd(name, x + h) - ref_fwd(name, x - h)) / (2 * h)
    np.testing.assert_allclose(ref.derivative(name, x, SLOPE, ALPHA), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_backward_matches_finite_differences_of_forward(name, rng):
    # Central differences of the float32 fusednet forward: h = 1e-2 balances rounding (~1e-5)
    # against truncation (~h^2 |f'''| / 6).
    x = (rng.standard_normal(2000) * 3).astype(np.float32)
    x = away_from_kinks(name, x[np.abs(x) > 0.05], 0.05)
    h = np.float32(1e-2)
    fd = (fwd(name, x + h).astype(np.float64) - fwd(name, x - h)) / (
        (x + h).astype(np.float64) - (x - h)
    )
    got = bwd(name, np.ones_like(x), x)
    np.testing.assert_allclose(got, fd, rtol=1e-3, atol=2e-4)


@pytest.mark.parametrize("name", ROWWISE)
def test_softmax_gradients_match_directional_finite_differences(name, rng):
    # L(x) = <w, f(x)>, so dL/dx = f_backward(w, x); check <dL/dx, v> along random directions v.
    x = rng.standard_normal((5, 23)) * 2
    w = rng.standard_normal((5, 23))
    f = ref.softmax if name == "softmax" else ref.log_softmax
    back = ref.softmax_backward if name == "softmax" else ref.log_softmax_backward
    for _ in range(3):
        v = rng.standard_normal(x.shape)
        h = 1e-6
        fd = ((w * f(x + h * v)).sum() - (w * f(x - h * v)).sum()) / (2 * h)
        assert abs((back(w, x) * v).sum() - fd) <= 1e-6 * (1 + abs(fd))
        # fusednet in float32 against the same derivative
        xf, wf = x.astype(np.float32), w.astype(np.float32)
        hf = 1e-2
        fd32 = (
            (w * fwd(name, (x + hf * v).astype(np.float32))).sum()
            - (w * fwd(name, (x - hf * v).astype(np.float32))).sum()
        ) / (2 * hf)
        g = bwd(name, wf, xf).astype(np.float64)
        assert abs((g * v).sum() - fd32) <= 2e-3 * (1 + abs(fd32))


# ---- extreme inputs ----------------------------------------------------------------------------
EXTREMES = np.array(
    [
        0.0,
        -0.0,
        1e-40,
        -1e-40,
        1e-30,
        -1e-30,
        0.5,
        -0.5,
        0.625,
        -0.625,
        1,
        -1,
        5,
        -5,
        13,
        -13,
        20,
        -20,
        21,
        -21,
        87,
        -87,
        88.8,
        -88.8,
        89,
        -89,
        100,
        -100,
        104,
        -104,
        110,
        -110,
        1e4,
        -1e4,
        1e13,
        -1e13,
        1e30,
        -1e30,
        3e38,
        -3e38,
        np.inf,
        -np.inf,
        np.nan,
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_extreme_inputs(name, cpu_isa):
    x = np.tile(EXTREMES, 3)  # long enough that the vector loop, not only its tail, sees them
    dy = np.ones_like(x)
    with np.errstate(all="raise"):
        y = fwd(name, x)
        dx = bwd(name, dy, x)
    want_y = ref_fwd(name, x)
    assert_close(y, want_y, 1e-6, 2e-6, f"{name} forward")
    assert_close(dx, ref_bwd(name, dy, x), 2e-6, 1e-5, f"{name} backward")
    finite = np.isfinite(x)
    if name in ("sigmoid", "tanh"):
        assert np.all(np.isfinite(y[~np.isnan(x)])), "saturating activations stay finite"
    if name != "exponential":  # e^x overflows for x > 88.7, and so does its derivative
        assert np.all(np.isfinite(dx[finite])), "a finite input has a finite derivative"
    assert np.array_equal(np.isnan(y), np.isnan(x)), "NaN in, NaN out; no NaN otherwise"
    if name != "linear":  # linear's dx = dy whatever x is
        assert np.array_equal(np.isnan(dx), np.isnan(x))


@pytest.mark.parametrize("name", ROWWISE)
def test_softmax_extreme_rows(name, cpu_isa):
    x = np.array(
        [
            [1e4, -1e4, 0, 3],
            [-1e4, -1e4, -1e4, -1e4],
            [3e38, -3e38, 0, 1],
            [0, -np.inf, 1, 2],
            [np.nan, 0, 1, 2],
            [88, 89, 90, -200],
        ],
        dtype=np.float32,
    )
    dy = np.array([[1, 2, 3, 4]] * 6, dtype=np.float32)
    y = fwd(name, x)
    dx = bwd(name, dy, x)
    check_forward(name, x, y)
    check_backward(name, dy, x, dx)
    assert np.all(np.isnan(y[4])) and np.all(np.isnan(dx[4])), "a NaN poisons its row only"
    assert np.all(np.isfinite(dx[[0, 1, 2, 3, 5]]))
    assert np.all(np.isfinite(y[[0, 1, 5]]))  # row 2's log_softmax overflows to -inf, as it must


# ---- threads and ISA paths ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ELEMENTWISE + ROWWISE)
def test_bit_identical_for_any_thread_count(name, rng, threads, cpu_isa):
    shape = (100003,) if name in ELEMENTWISE else (301, 1001)
    x = sample(rng, shape)
    dy = rng.standard_normal(shape).astype(np.float32)
    results = []
    for n in (1, 2, 3):
        threads(n)
        results.append((fwd(name, x), bwd(name, dy, x)))
    for y, dx in results[1:]:
        assert np.array_equal(y, results[0][0], equal_nan=True)
        assert np.array_equal(dx, results[0][1], equal_nan=True)


@pytest.mark.parametrize(
    "name",
    ["sigmoid", "tanh", "gelu", "gelu_tanh", "leaky_relu", "elu", "silu", "mish", "softplus"],
)
def test_value_does_not_depend_on_position_or_alignment(name, rng, cpu_isa):
    # An element gets the same bits in the vector body and in the loop tail, at any alignment.
    x = sample(rng, (1000,))
    y = fwd(name, x)
    for k in range(1, 9):
        assert np.array_equal(fwd(name, x[k:]), y[k:])
        assert np.array_equal(fwd(name, x[:k]), y[:k])


# ---- backward from the forward output (used by the trainer) ------------------------------------
@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "sigmoid", "tanh"])
def test_backward_from_output(name, rng, cpu_isa):
    x = sample(rng, (1013,))
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y = fwd(name, x)
    dx = np.empty_like(x)
    _core.activation_backward_from_output(dy, y, dx, _core.Activation.__members__[name], SLOPE)
    check_backward(name, dy, x, dx)
    if name in ("linear", "relu", "leaky_relu"):
        np.testing.assert_array_equal(dx, bwd(name, dy, x))


def test_backward_from_output_refuses_what_it_cannot_do(device):
    a = np.ones(4, np.float32)
    dev = _core.Device.__members__[device]
    A = _core.Activation
    for act in (A.gelu, A.gelu_tanh):
        for match in ("gelu's derivative needs the forward input", "backward from the output"):
            with pytest.raises(ValueError, match=match):
                _core.activation_backward_from_output(a, a, a.copy(), act, 0.0, dev)
    with pytest.raises(ValueError, match="negative_slope > 0"):
        _core.activation_backward_from_output(a, a, a.copy(), A.leaky_relu, 0.0, dev)
    with pytest.raises(ValueError, match=r"act: expected an elementwise activation .*got softmax"):
        _core.activation_forward(a, a.copy(), A.softmax, 0.0, dev)
    with pytest.raises(TypeError):  # an integer code is not an Activation
        _core.activation_forward(a, a.copy(), 9, 0.0, dev)


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_inputs():
    x = np.zeros((2, 5), np.float32)
    with pytest.raises(
        ValueError,
        match=r"name: unknown activation 'swishy'; expected one of "
        r"'linear', 'relu', .*'softmax', 'log_softmax'",
    ):
        ops.activation(x, "swishy")  # 'swish' is an activation since Keras's set was added
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        ops.activation_backward(x, x, "swishy")
    with pytest.raises(TypeError, match="name: expected an activation name"):
        ops.activation(x, 3)
    with pytest.raises(TypeError, match="relu: unexpected parameter 'negative_slope'"):
        ops.activation(x, "relu", negative_slope=0.1)
    with pytest.raises(ValueError, match=r"dy: expected the shape of x \(2, 5\), got \(3,\)"):
        ops.relu_backward(np.zeros(3, np.float32), x)
    with pytest.raises(ValueError, match=r"dy: expected the shape of x \(2, 5\), got \(5, 2\)"):
        ops.softmax_backward(np.zeros((5, 2), np.float32), x)
    with pytest.raises(TypeError, match="out: expected dtype float32.*got float64"):
        ops.relu(x, out=np.zeros((2, 5)))
    with pytest.raises(TypeError, match="out: expected a numpy.ndarray of float32, got list"):
        ops.sigmoid(x, out=[0.0] * 10)
    with pytest.raises(ValueError, match=r"out: expected shape \(2, 5\), got \(10,\)"):
        ops.tanh(x, out=np.zeros(10, np.float32))
    ro = np.zeros((2, 5), np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out: expected a writable array"):
        ops.gelu(x, out=ro)
    with pytest.raises(TypeError, match="x: expected an array of real numbers, got dtype complex"):
        ops.relu(np.zeros(3, np.complex64))
    with pytest.raises(ValueError, match="x: expected an array with at least 1 dimension"):
        ops.softmax(np.float32(1.0))
    with pytest.raises(ValueError, match="approximate: expected False/True"):
        ops.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="negative_slope: expected a real number, got str"):
        ops.leaky_relu(x, negative_slope="0.1")
    for bad in (float("nan"), float("inf"), 1e39):
        with pytest.raises(ValueError, match="negative_slope: expected a finite float32 number"):
            ops.leaky_relu(x, negative_slope=bad)


def test_bindings_check_their_arguments(device):
    a = np.zeros(6, np.float32)
    dev, relu = _core.Device.__members__[device], _core.Activation.relu
    with pytest.raises(ValueError, match="out: expected 6 elements like x, got 5"):
        _core.activation_forward(a, np.zeros(5, np.float32), relu, 0.0, dev)
    with pytest.raises(ValueError, match="x: expected a C-contiguous array"):
        _core.activation_forward(np.zeros((6, 2), np.float32)[:, 0], a, relu, 0.0, dev)
    with pytest.raises(TypeError, match="x: expected dtype float32"):
        _core.softmax_forward(np.zeros(6), a, False, dev)
    with pytest.raises(ValueError, match="dy: expected 6 elements like x, got 7"):
        _core.softmax_backward(np.zeros(7, np.float32), a, a.copy(), False, dev)
    with pytest.raises(ValueError, match="misalign: expected 0..3 floats, got 4"):
        _core.activation_forward(a, a.copy(), relu, 0.0, dev, misalign=4)
