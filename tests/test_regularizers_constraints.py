"""Keras's weight regularizers, constraints and trainable=False through a model: the penalty in
the reported loss, its gradient in the update, the projection after each update, frozen layers
left alone; configs, names, save/load, determinism across thread counts, bad arguments."""

import numpy as np
import pytest

import checks
import fusednet as fnet
from fusednet import constraints as C
from fusednet import layers as L
from fusednet import losses
from fusednet import optimizers as O
from fusednet import regularizers as R


def _data(rng, n=32):
    return rng.standard_normal((n, 5)).astype(np.float32), rng.standard_normal((n, 3)).astype(
        np.float32
    )


def _model(seed=0, first=None, second=None, opt=None, device="cpu"):
    m = fnet.Sequential(
        [
            L.Dense(8, activation="tanh", input_shape=(5,), **(first or {})),
            L.Dense(3, **(second or {})),
        ],
        seed=seed,
    )
    if device != "cpu":
        m.to(device)
    m.compile(optimizer=opt or O.SGD(0.1), loss="mse")
    return m


def _loss_grads(m, x, y):
    """(loss, gradients) of the plain MSE at the model's weights, from the tape."""
    with fnet.GradientTape() as tape:
        loss = losses.MeanSquaredError()(y, m(x, training=True))
    return float(loss), [
        np.array(g, dtype=np.float64) for g in tape.gradient(loss, m.trainable_variables)
    ]


REGS = [
    (R.L2(0.1), None),
    (R.L1(0.05), R.L2(0.2)),
    (R.L1L2(l1=0.03, l2=0.07), R.L1(0.01)),
]


@pytest.mark.parametrize("kreg,breg", REGS)
def test_regularizer_penalty_and_gradient(kreg, breg, device, rng):
    x, y = _data(rng)
    m = _model(first={"kernel_regularizer": kreg, "bias_regularizer": breg}, device=device)
    plain = _model()
    loss, grads = _loss_grads(plain, x, y)
    w0 = [w.astype(np.float64) for w in plain.get_weights()]
    regs = [kreg, breg, None, None]
    penalty = sum(r(w) for r, w in zip(regs, w0) if r is not None)
    got = m.evaluate(x, y, batch_size=len(x), verbose=0)
    assert got == pytest.approx(loss + penalty, rel=1e-5)
    reported = m.train_on_batch(x, y)
    assert reported == pytest.approx(loss + penalty, rel=1e-5)
    for w, g, r, new in zip(w0, grads, regs, m.get_weights()):
        if r is not None:
            g = g + r.l1 * np.sign(w) + 2 * r.l2 * w
        checks.assert_close(new, w - 0.1 * g, 1e-5, 1e-6, f"regularized update {device}")


def test_regularizers_names_and_config():
    assert isinstance(R.get("l1"), R.L1) and R.get("l1").l1 == 0.01
    assert isinstance(R.get("l2"), R.L2) and R.get("l2").l2 == 0.01
    r = R.get("l1_l2")
    assert isinstance(r, R.L1L2) and (r.l1, r.l2) == (0.0, 0.0)  # Keras 3's defaults
    back = R.deserialize(R.serialize(R.L1L2(0.1, 0.2)))
    assert back.get_config() == {"l1": 0.1, "l2": 0.2}
    d = L.Dense(4, kernel_regularizer="l2", bias_constraint="non_neg", trainable=False)
    again = L.Dense.from_config(d.get_config())
    assert isinstance(again.kernel_regularizer, R.L2) and isinstance(
        again.bias_constraint, C.NonNeg
    )
    assert again.trainable is False
    assert "kernel_regularizer" not in L.Dense(4).get_config()
    with pytest.raises(ValueError, match="l2"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="kernel_regularizer"):
        L.Dense(4, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="activity_regularizer"):
        L.Dense(4, activity_regularizer="l5")
    with pytest.raises(ValueError, match="activity_regularizer.*output layer"):
        _model(second={"activity_regularizer": "l2"})


CONS = [C.MaxNorm(0.3), C.NonNeg(), C.UnitNorm(), C.MinMaxNorm(0.5, 0.8, rate=0.7)]


@pytest.mark.parametrize("con", CONS, ids=lambda c: type(c).__name__)
def test_constraint_projects_after_each_update(con, device, rng):
    x, y = _data(rng)
    m = _model(first={"kernel_constraint": con, "bias_constraint": con}, device=device)
    plain = _model()
    _, grads = _loss_grads(plain, x, y)
    w0 = [w.astype(np.float64) for w in plain.get_weights()]
    m.train_on_batch(x, y)
    for i, (w, g, new) in enumerate(zip(w0, grads, m.get_weights())):
        want = w - 0.1 * g
        if i < 2:
            want = con(want)
        checks.assert_close(new, want, 1e-5, 1e-6, f"{type(con).__name__} {device} var {i}")
    if isinstance(con, C.MaxNorm):
        assert np.all(np.linalg.norm(m.get_weights()[0], axis=0) <= 0.3 + 1e-6)
    if isinstance(con, C.NonNeg):
        assert np.all(m.get_weights()[0] >= 0)


def test_constraints_names_and_errors():
    assert isinstance(C.get("max_norm"), C.MaxNorm) and C.get("max_norm").max_value == 2.0
    assert isinstance(C.get("unit_norm"), C.UnitNorm)
    assert C.get("min_max_norm").get_config() == {
        "min_value": 0.0,
        "max_value": 1.0,
        "rate": 1.0,
        "axis": 0,
    }
    with pytest.raises(ValueError, match="axis"):
        C.MaxNorm(axis=1)
    with pytest.raises(ValueError, match="max_value"):
        C.MinMaxNorm(1.0, 0.5)
    with pytest.raises(ValueError, match="rate"):
        C.MinMaxNorm(rate=2.0)
    with pytest.raises(ValueError, match="kernel_constraint"):
        L.Dense(3, kernel_constraint="bogus")


def test_trainable_false_freezes_the_layer(rng):
    x, y = _data(rng)
    m = _model(first={"trainable": False}, opt=O.Adam(0.01, use_ema=True))
    frozen = [w.copy() for w in m.get_weights()[:2]]
    assert [v.name for v in m.trainable_variables] == [v.name for v in m.weights[2:]]
    assert len(m.non_trainable_variables) == 2
    before = m.get_weights()[2].copy()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(frozen, m.get_weights()[:2]):
        assert np.array_equal(a, b)
    assert not np.array_equal(before, m.get_weights()[2])
    text = m.summary(print_fn=None)
    assert "Trainable params: 27" in text and "Non-trainable params: 48" in text


def test_layer_trainable_attribute_before_compile(rng):
    x, y = _data(rng)
    m = fnet.Sequential([L.Dense(8, input_shape=(5,)), L.Dense(3)], seed=1)
    m.layers[1].trainable = False
    m.compile(optimizer=O.RMSprop(0.01), loss="mse")
    last = [w.copy() for w in m.get_weights()[2:]]
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(last, m.get_weights()[2:]):
        assert np.array_equal(a, b)


def test_regularized_constrained_fit_is_thread_independent_and_saves(threads, tmp_path, rng):
    x, y = _data(rng, 200)
    outs = []
    for t in (1, 2):
        threads(t)
        m = _model(
            first={"kernel_regularizer": "l2", "kernel_constraint": C.MaxNorm(1.0)},
            second={"bias_regularizer": R.L1(0.01)},
            opt=O.Adamax(0.01, clipnorm=1.0),
        )
        h = m.fit(x, y, epochs=2, batch_size=32, verbose=0, shuffle=False)
        outs.append((m.get_weights(), h.history["loss"]))
    for a, b in zip(outs[0][0], outs[1][0]):
        assert np.array_equal(a, b)
    assert outs[0][1] == outs[1][1]
    path = tmp_path / "m.fnet"
    m.save(path)
    back = fnet.models.load_model(path)
    assert isinstance(back.layers[0].kernel_constraint, C.MaxNorm)
    m.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    back.fit(x, y, epochs=1, batch_size=32, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), back.get_weights()):
        assert np.array_equal(a, b)


def test_spec_lists_are_checked(rng):
    m = _model()
    spec = fnet._core.OptimSpec(fnet._core.OptimKind.sgd)
    spec.regularizers = [0.0, 10.0**9, 0.1, 0.0]
    with pytest.raises(ValueError, match="regularizers"):
        m._net.set_optimizer(spec)
    spec = fnet._core.OptimSpec(fnet._core.OptimKind.sgd)
    spec.constraints = [7.0, 0, 1, 1, 0, 1, 1]
    with pytest.raises(ValueError, match="constraints"):
        m._net.set_optimizer(spec)


def test_freezing_after_compile_applies_at_the_next_fit_and_keeps_the_state(rng):
    x, y = _data(rng)
    m = _model(opt=O.Adam(0.01))
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    m_state = m.optimizer.state_dict()
    m.layers[0].trainable = False
    m.compile(optimizer=m.optimizer, loss="mse")
    after = m.optimizer.state_dict()
    assert after["iterations"] == m_state["iterations"] == 4
    for k in m_state["state"]:
        assert np.array_equal(after["state"][k], m_state["state"][k])
    first = [w.copy() for w in m.get_weights()[:2]]
    m.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(first, m.get_weights()[:2]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("reg", [R.L2(0.05), R.L1L2(0.02, 0.03)])
def test_activity_regularizer_on_a_hidden_layer(reg, device, rng):
    """Keras: reg(output) / batch rows joins the loss; its gradient flows back through the
    layer. Checked against the tape's MSE gradients plus the penalty's, by the chain rule through
    the second layer's kernel and tanh."""
    x, y = _data(rng)
    m = _model(first={"activity_regularizer": reg}, device=device)
    plain = _model()
    loss, grads = _loss_grads(plain, x, y)
    w0 = [w.astype(np.float64) for w in plain.get_weights()]
    a = np.tanh(x.astype(np.float64) @ w0[0] + w0[1])
    rows = len(x)
    penalty = reg(a) / rows
    assert m.evaluate(x, y, batch_size=rows, verbose=0) == pytest.approx(loss + penalty, rel=1e-5)
    assert m.train_on_batch(x, y) == pytest.approx(loss + penalty, rel=1e-5)
    da = (reg.l1 * np.sign(a) + 2 * reg.l2 * a) / rows  # d penalty / d a
    dz = da * (1 - a * a)
    extra = [x.astype(np.float64).T @ dz, dz.sum(axis=0), 0, 0]
    for w, g, e, new in zip(w0, grads, extra, m.get_weights()):
        checks.assert_close(new, w - 0.1 * (g + e), 1e-5, 1e-6, f"activity {device}")


def test_activity_spec_is_checked():
    m = _model()
    spec = fnet._core.OptimSpec(fnet._core.OptimKind.sgd)
    spec.activity_regularizers = [1.0, 0.1, 0.0]  # the output layer
    with pytest.raises(ValueError, match="activity_regularizers"):
        m._net.set_optimizer(spec)
    spec.activity_regularizers = [0.0, -1.0, 0.0]
    with pytest.raises(ValueError, match="activity_regularizers"):
        m._net.set_optimizer(spec)
