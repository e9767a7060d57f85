"""A narrow Dense layer's gradients in one pass (csrc/kernels/cpu/dense_grad.cpp): dW = x^T dz in
16 row phases added as a tree, and dx = (dz W^T) * act'(x) with the bits of the gemm and the
activation kernel. Checked bit for bit against the arithmetic written out (every ISA), against
float64, against the gemm + activation composition, and in training: the one-pass dx (mode 2)
gives the bits of the gemm's (mode 1), and the net stays within rounding of the gemm path."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core

A = _core.Activation
L = fnet.layers

# (in, units): every shape the kernel takes (the wider of the two a power of 2 up to 8,
# in * units <= 16), plus the shapes it declines.
FITS = [(1, 1), (2, 1), (1, 2), (2, 2), (4, 1), (1, 4), (4, 2), (2, 4), (4, 3), (3, 4), (4, 4),
        (8, 1), (1, 8), (8, 2), (2, 8)]  # fmt: skip
DECLINED = [(3, 1), (5, 2), (4, 5), (8, 3), (16, 1), (6, 2)]
ROWS = [1, 3, 4, 15, 16, 17, 31, 33, 100, 1000, 1003]
FROM_OUTPUT = [(A.linear, 0.0), (A.relu, 0.0), (A.leaky_relu, 0.2), (A.sigmoid, 0.0),
               (A.tanh, 0.0)]  # fmt: skip


@pytest.fixture
def narrow_mode():
    before = _core._set_narrow_dense_grads(2)
    yield _core._set_narrow_dense_grads
    _core._set_narrow_dense_grads(before)


def _operands(rng, rows, n_in, units, act):
    x = rng.standard_normal((rows, n_in), dtype=np.float32)
    if act == A.relu or act == A.leaky_relu:  # a layer output: zeros, negatives for leaky
        x = np.where(rng.random(x.shape) < 0.3, np.float32(0), x).astype(np.float32)
    elif act == A.sigmoid:
        x = (1 / (1 + np.exp(-x))).astype(np.float32)
    elif act == A.tanh:
        x = np.tanh(x).astype(np.float32)
    dz = rng.standard_normal((rows, units), dtype=np.float32)
    w = rng.standard_normal((n_in, units), dtype=np.float32)
    return x, dz, w


def _float64_dw(x, dz):
    return x.astype(np.float64).T @ dz.astype(np.float64)


@pytest.mark.parametrize("shape", FITS)
def test_matches_the_arithmetic_written_out_on_every_isa(shape, cpu_isa, rng):
    n_in, units = shape
    for rows in ROWS:
        for act, param in FROM_OUTPUT:
            x, dz, w = _operands(rng, rows, n_in, units, act)
            with_dx = n_in >= units
            got = _core._dense_grad_narrow(x, dz, w, act, param, with_dx)
            want = _core._dense_grad_narrow(x, dz, w, act, param, with_dx, reference=True)
            if cpu_isa == "generic":  # no vector kernel there: the net keeps the gemm
                assert got is None
                continue
            assert got is not None, (shape, rows)
            assert got[0].tobytes() == want[0].tobytes(), (shape, rows, act)
            if with_dx:
                assert got[1].tobytes() == want[1].tobytes(), (shape, rows, act)
            else:
                assert got[1] is None


@pytest.mark.parametrize("shape", FITS)
def test_dw_is_within_rounding_of_float64(shape, rng):
    n_in, units = shape
    for rows in ROWS + [65536]:
        x, dz, w = _operands(rng, rows, n_in, units, A.linear)
        dw, _ = _core._dense_grad_narrow(x, dz, w, A.linear, 0.0, False, reference=True)
        want = _float64_dw(x, dz)
        scale = np.abs(x.astype(np.float64)).T @ np.abs(dz.astype(np.float64))
        # 16 phases of ceil(rows / 16) terms, then 4 tree levels: each a relative rounding
        bound = (rows / 16 + 5) * 2.0**-24 * scale + 1e-30
        assert np.all(np.abs(dw - want) <= bound), (shape, rows)


@pytest.mark.parametrize("shape", [s for s in FITS if s[0] >= s[1]])
@pytest.mark.parametrize("act_param", FROM_OUTPUT, ids=lambda a: str(a[0]))
def test_dx_has_the_bits_of_the_gemm_and_the_activation_kernel(shape, act_param, cpu_isa, rng):
    n_in, units = shape
    act, param = act_param
    for rows in (1, 17, 1000):
        x, dz, w = _operands(rng, rows, n_in, units, act)
        dz[0, 0] = np.inf if rows > 1 else dz[0, 0]  # non-finite values pass through alike
        got = _core._dense_grad_narrow(x, dz, w, act, param, True, reference=True)[1]
        want = _core.gemm(dz, w, None, False, True, 1.0, 0.0)  # dz @ w^T
        if act != A.linear:
            _core.activation_backward_from_output(want, x, want, act, param)
        if cpu_isa != "generic":  # (the generic gemm has no FMA: a net there keeps the gemm)
            assert got.tobytes() == want.tobytes(), (shape, rows)
            fast = _core._dense_grad_narrow(x, dz, w, act, param, True)[1]
            assert fast.tobytes() == want.tobytes(), (shape, rows)
        finite = np.isfinite(want)
        # (the float64 reference of the finite entries: the inf left out of it)
        dy64 = np.nan_to_num(dz, posinf=0.0).astype(np.float64) @ w.astype(np.float64).T
        deriv = {
            A.linear: np.ones_like(dy64),
            A.relu: x > 0,
            A.leaky_relu: np.where(x > 0, 1.0, param),
            A.sigmoid: x * (1.0 - x.astype(np.float64)),
            A.tanh: 1.0 - x.astype(np.float64) ** 2,
        }[act]
        np.testing.assert_allclose(got[finite], (dy64 * deriv)[finite], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", DECLINED)
def test_shapes_it_does_not_take_are_declined(shape, rng):
    x, dz, w = _operands(rng, 100, *shape, A.linear)
    assert _core._dense_grad_narrow(x, dz, w, A.linear, 0.0, False) is None


def test_declines_dx_where_it_cannot_finish_it(rng):
    x, dz, w = _operands(rng, 100, 2, 4, A.linear)
    assert _core._dense_grad_narrow(x, dz, w, A.linear, 0.0, True) is None  # in < units
    x, dz, w = _operands(rng, 100, 4, 2, A.linear)
    assert _core._dense_grad_narrow(x, dz, w, A.gelu, 0.0, True) is None  # needs z, not x
    assert _core._dense_grad_narrow(x, dz, w, A.leaky_relu, 0.0, True) is None  # slope 0
    assert _core._dense_grad_narrow(x, dz, w, A.gelu, 0.0, False) is not None  # dW alone: any act
    big = np.zeros((65537, 4), np.float32)  # past one thread's pass: the gemm splits it
    assert _core._dense_grad_narrow(big, big[:, :2].copy(), w, A.linear, 0.0, False) is None


def test_declines_under_bf16_matmul_precision(rng):
    x, dz, w = _operands(rng, 100, 4, 2, A.linear)
    before = fnet.get_float32_matmul_precision()
    emulated = _core._set_cpu_bf16_emulation(True)
    try:
        fnet.set_float32_matmul_precision("medium")
        assert _core._dense_grad_narrow(x, dz, w, A.linear, 0.0, False) is None
    finally:
        fnet.set_float32_matmul_precision(before)
        _core._set_cpu_bf16_emulation(emulated)


def test_bad_arguments_name_them(rng):
    x, dz, w = _operands(rng, 10, 4, 2, A.linear)
    with pytest.raises(ValueError, match="dz"):
        _core._dense_grad_narrow(x, dz[:5], w, A.linear, 0.0, False)
    with pytest.raises(ValueError, match="w"):
        _core._dense_grad_narrow(x, dz, w.T.copy(), A.linear, 0.0, False)
    with pytest.raises(ValueError, match="mode"):
        _core._set_narrow_dense_grads(3)


STACKS = {
    "relu_sigmoid": lambda: [  # the seed's tiny net
        L.Input(shape=(2,)),
        L.Dense(4, activation="relu"),
        L.Dense(1, activation="sigmoid"),
    ],
    "every_from_output_act": lambda: [
        L.Input(shape=(8,)),
        L.Dense(2, activation="tanh"),
        L.Dense(8, activation="leaky_relu"),
        L.Dense(2, activation="sigmoid"),
        L.Dense(4),
        L.Dense(4, activation="relu"),
        L.Dense(1, activation="sigmoid"),
    ],
    "not_fused_between": lambda: [  # dropout, an activity regularizer, a gelu: dW only
        L.Input(shape=(4,)),
        L.Dense(4, activation="relu"),
        L.Dropout(0.25),
        L.Dense(2, activation="tanh", activity_regularizer="l2"),
        L.Dense(2, activation="gelu"),
        L.Dense(1, activation="sigmoid"),
    ],
}


def _train(stack, x, y, epochs=20):
    model = fnet.Sequential(STACKS[stack](), seed=3)
    model.compile(optimizer=fnet.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(x, y, batch_size=250, epochs=epochs, verbose=0)
    return [w.copy() for w in model.get_weights()], np.array(history.history["loss"])


@pytest.mark.parametrize("stack", sorted(STACKS))
def test_training_one_pass_dx_is_bit_for_bit_the_gemms(stack, narrow_mode, threads, rng):
    width = {"relu_sigmoid": 2, "every_from_output_act": 8, "not_fused_between": 4}[stack]
    x = rng.standard_normal((1000, width), dtype=np.float32)
    y = (x[:, :1] * x[:, 1:2] > 0).astype(np.float32)
    narrow_mode(1)
    want_w, want_loss = _train(stack, x, y)
    assert want_loss[-1] < want_loss[0]
    for n in (1, 2):
        threads(n)
        narrow_mode(2)
        got_w, got_loss = _train(stack, x, y)
        assert got_loss.tobytes() == want_loss.tobytes(), n
        assert all(g.tobytes() == w.tobytes() for g, w in zip(got_w, want_w)), n
    # and the gemm path (another summation order of dW) lands within rounding of it
    narrow_mode(0)
    gemm_w, gemm_loss = _train(stack, x, y)
    np.testing.assert_allclose(gemm_loss, want_loss, rtol=1e-4)
    for g, w in zip(gemm_w, want_w):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)


def test_one_batch_gradients_match_float64_backprop(narrow_mode, rng):
    """The tiny net's explicit forward/loss/backward against the same step in float64."""
    model = fnet.Sequential(STACKS["relu_sigmoid"](), seed=5)
    model.compile(loss="binary_crossentropy")
    x = rng.standard_normal((1000, 2), dtype=np.float32)
    y = (x[:, :1] * x[:, 1:] > 0).astype(np.float32)
    w1, b1, w2, b2 = (v.astype(np.float64) for v in model.get_weights())
    out = model.forward(x)
    _, dout = model.loss(out, y)
    model.backward(dout)
    g = model.gradients
    h = np.maximum(x @ w1 + b1, 0)
    p = 1 / (1 + np.exp(-(h @ w2 + b2)))
    dlogit = (p - y) / len(x)
    dh = (dlogit @ w2.T) * (h > 0)
    want = [x.T @ dh, dh.sum(0), h.T @ dlogit, dlogit.sum(0)]
    for got, ref in zip(g, want):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-7)
