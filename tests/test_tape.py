"""GradientTape: the Keras custom loop on a fusednet model."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L
from fusednet import losses, optimizers


def _m(seed=0):
    return fnet.Sequential(
        [L.Dense(6, activation="tanh", input_shape=(4,)), L.Dense(1, activation="sigmoid")],
        seed=seed,
        device="cpu",
    )


def _xy():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    return x, (x[:, :1] > 0).astype(np.float32)


def test_tape_gradient_equals_explicit_backward():
    x, y = _xy()
    a, b = _m(), _m()
    b.compile(loss="binary_crossentropy")
    loss_fn = losses.BinaryCrossentropy()
    with fnet.GradientTape() as tape:
        pred = a(x, training=True)
        loss = loss_fn(y, pred)
    grads = tape.gradient(loss, a.trainable_variables)
    out = b.forward(x)
    value, dout = b.loss(out, y)
    b.backward(dout)
    assert float(loss) == float(value) and isinstance(loss.numpy(), np.float32)
    for g, h in zip(grads, b.gradients):
        assert np.array_equal(g, h)
    # the standalone (clipped NumPy) loss on the same probabilities agrees
    assert abs(loss_fn(y, a.predict(x)) - float(loss)) < 1e-5


def test_tape_without_compile_trains():
    x, y = _xy()
    m = _m()
    opt = optimizers.Adam(0.05)
    loss_fn = losses.BinaryCrossentropy()
    first = None
    for _ in range(30):
        with fnet.GradientTape() as tape:
            loss = loss_fn(y, m(x, training=True))
        opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables), m.trainable_variables))
        first = float(loss) if first is None else first
    assert float(loss) < 0.6 * first
    assert opt.iterations == 30


def test_tape_errors():
    x, y = _xy()
    m = _m()
    loss_fn = losses.BinaryCrossentropy()
    with fnet.GradientTape() as tape:
        loss = loss_fn(y, m(x, training=True))
    tape.gradient(loss, m.trainable_variables)
    with pytest.raises(RuntimeError, match="only once"):
        tape.gradient(loss, m.trainable_variables)
    with pytest.raises(ValueError, match="inside this tape"):
        fnet.GradientTape().gradient(loss, m.trainable_variables)
    plain = loss_fn(y, m.predict(x))  # outside a tape: just a number
    with pytest.raises(ValueError, match="inside this tape"):
        tape.gradient(plain, m.trainable_variables)
    with fnet.GradientTape(persistent=True) as t2:
        loss2 = loss_fn(y, m(x, training=True))
    g1 = t2.gradient(loss2, m.trainable_variables)
    g2 = t2.gradient(loss2, m.trainable_variables[0])
    assert np.array_equal(g1[0], g2)
    opt = optimizers.SGD(0.1)
    with pytest.raises(ValueError, match="all 4 trainable variables"):
        opt.apply_gradients(zip(g1[:2], m.trainable_variables[:2]))
    with pytest.raises(TypeError, match="trainable_variables"):
        opt.apply_gradients([(g1[0], np.zeros(3))])
    other = _m(seed=5)
    with fnet.GradientTape() as t3:
        l3 = loss_fn(y, other(x, training=True))
    opt.apply_gradients(zip(t3.gradient(l3, other.trainable_variables), other.trainable_variables))
    with pytest.raises(ValueError, match="another model"):
        opt.apply_gradients(zip(g1, m.trainable_variables))
