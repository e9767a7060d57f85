"""Regression tests of a hostile-input sweep (issue 15): overlapping optimizer arguments,
hyperparameters that do not fit float32, layer sizes that overflow, misaligned float32 arrays,
save leftovers and permissions, and hostile model files."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import ops

# ---- 1. grad overlapping param ----------------------------------------------------------------


@pytest.mark.parametrize("shift", [1, 17, -1])
def test_grad_partially_overlapping_param_is_refused(device, shift):
    buf = np.arange(1, 1002, dtype=np.float32)
    p, g = (buf[1:], buf[:-1]) if shift == 1 else (buf[:-1], buf[1:])
    if shift == 17:
        p, g = buf[17:], buf[:-17]
    before = buf.copy()
    with pytest.raises(ValueError, match="grad and param: expected separate arrays"):
        ops.sgd_(p, g, lr=0.5, device=device)
    m, v = np.zeros_like(p), np.zeros_like(p)
    with pytest.raises(ValueError, match="grad and param: expected separate arrays"):
        ops.adam_(p, g, m, v, step=1, device=device)
    np.testing.assert_array_equal(buf, before)  # nothing written


def test_grad_overlapping_optimizer_state_is_refused(device):
    buf = np.zeros(201, np.float32)
    p = np.ones(100, np.float32)
    m, v = buf[:100], np.zeros(100, np.float32)
    with pytest.raises(ValueError, match="grad and m: expected separate arrays"):
        ops.adam_(p, buf[1:101], m, v, step=1, device=device)
    with pytest.raises(ValueError, match="grad and velocity: expected separate arrays"):
        ops.sgd_(p, buf[1:101], m, lr=0.1, momentum=0.9, device=device)


def test_core_binding_refuses_grad_overlap_too(device):
    buf = np.arange(1, 1002, dtype=np.float32)
    dev = fnet._core.Device.cpu if device == "cpu" else fnet._core.Device.cuda
    with pytest.raises(ValueError, match="param and grad: expected separate arrays"):
        fnet._core.sgd_step(buf[1:], buf[:-1], None, 0.5, device=dev)


def test_grad_that_is_param_itself_still_works(device):
    # The very same memory reads each element before writing it: p -= lr p, exactly.
    p = np.linspace(-2, 2, 1001).astype(np.float32)
    want = p - np.float32(0.25) * p
    ops.sgd_(p, p, lr=0.25, device=device)
    np.testing.assert_array_equal(p, want)


# ---- 2. hyperparameters used in float32 -------------------------------------------------------


def test_adam_beta_near_one_stays_finite(device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(1000).astype(np.float32)
    g = (rng.choice([-1.0, 1.0], 1000) * rng.uniform(0.5, 2.0, 1000)).astype(np.float32)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for step in range(1, 4):
        ops.adam_(p, g, m, v, step=step, lr=1e-3, beta1=0.999999999, beta2=1 - 1e-9, device=device)
    assert np.isfinite(p).all()
    # m_hat = g and v_hat = g^2 for a constant gradient: each step moves p by lr * sign(g)
    moved = p0.astype(np.float64) - p
    np.testing.assert_allclose(moved, 3e-3 * np.sign(g), rtol=1e-3, atol=1e-6)


def test_adam_steps_match_float64(device):
    # The bias corrections 1 - beta^t are computed from the double betas (as PyTorch does).
    rng = np.random.default_rng(1)
    n = 4097
    p = np.zeros(n, np.float32)  # p is then the steps themselves: no rounding of a larger p
    m, v = np.zeros_like(p), np.zeros_like(p)
    p64, m64, v64 = np.zeros(n), np.zeros(n), np.zeros(n)
    b1, b2, lr, eps = 0.9, 0.999, 1e-2, 1e-7
    for t in range(1, 4):
        g = rng.standard_normal(n).astype(np.float32)
        ops.adam_(p, g, m, v, step=t, lr=lr, beta1=b1, beta2=b2, eps=eps, device=device)
        m64 = b1 * m64 + (1 - b1) * g
        v64 = b2 * v64 + (1 - b2) * g.astype(np.float64) ** 2
        p64 -= lr * (m64 / (1 - b1**t)) / (np.sqrt(v64 / (1 - b2**t)) + eps)
    # a few float32 roundings per step, each step at most about lr in size
    err = np.abs(p - p64) / (3 * lr)
    assert np.all(err <= 1e-6), float(np.max(err))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda p, g, d: ops.sgd_(p, g, lr=1e300, device=d), "lr: expected a number that fits"),
        (
            lambda p, g, d: fnet._core.sgd_step(p, g, None, 1e300, device=fnet._core.Device.cpu),
            "lr: expected a value that fits in float32",
        ),
        (
            lambda p, g, d: ops.adam_(
                p,
                g,
                np.zeros_like(p),
                np.zeros_like(p),
                step=1,
                lr=1e30,
                beta1=1 - 1e-12,
                device=d,
            ),
            r"lr / \(1 - beta1\*\*step\)",
        ),
        (
            lambda p, g, d: ops.adam_(
                p, g, np.zeros_like(p), np.zeros_like(p), step=1, eps=1e39, device=d
            ),
            "eps: expected a number that fits in float32",
        ),
        (
            lambda p, g, d: ops.adam_(
                p,
                g,
                np.zeros_like(p),
                np.zeros_like(p),
                step=1,
                lr=1e20,
                weight_decay=1e20,
                decoupled=True,
                device=d,
            ),
            r"1 - lr \* weight_decay",
        ),
    ],
)
def test_hyperparameters_beyond_float32_are_refused(device, call, match):
    p = np.ones(10, np.float32)
    g = np.ones(10, np.float32)
    with pytest.raises(ValueError, match=match):
        call(p, g, device)
    np.testing.assert_array_equal(p, 1.0)


def test_keras_adam_with_beta_near_one_trains_finite():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    model = fnet.Sequential([fnet.layers.Dense(1, input_shape=(4,))], seed=0, device="cpu")
    model.compile(fnet.optimizers.Adam(beta_1=0.999999999, beta_2=1 - 1e-9), "mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize(
    "make",
    [
        lambda: fnet.optimizers.SGD(learning_rate=1e300),
        lambda: fnet.optimizers.Adam(epsilon=1e39),
        lambda: fnet.optimizers.AdamW(weight_decay=1e40),
    ],
)
def test_keras_optimizer_values_beyond_float32_are_refused(make):
    with pytest.raises(ValueError, match="fits in float32"):
        make()


# ---- 3. layer sizes that overflow -------------------------------------------------------------


@pytest.mark.parametrize(
    "layers",
    [
        lambda: [fnet.layers.Dense(2**62, use_bias=False, input_shape=(4,))],
        lambda: [fnet.layers.Dense(2**62, input_shape=(4,))],
        lambda: [fnet.layers.Dense(2**31, input_shape=(2**33,))],
        lambda: [fnet.layers.Dense(2**60 - 1, use_bias=True, input_shape=(1,))],
    ],
)
def test_layer_sizes_that_overflow_are_refused(layers):
    with pytest.raises(ValueError, match="too many parameters"):
        fnet.Sequential(layers(), device="cpu")


def test_core_net_refuses_overflowing_sizes():
    spec = fnet._core.DenseSpec(4, 2**62, use_bias=False)
    with pytest.raises(ValueError, match="layer 0: too many parameters"):
        fnet._core.Net([spec], 0.0, 0)
