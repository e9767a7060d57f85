"""Optimizer objects: Keras defaults, configs, state_dict, update forms against NumPy."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L
from fusednet import optimizers as O


def test_defaults_and_config_roundtrip():
    assert O.SGD().get_config() == {
        "learning_rate": 0.01,
        "momentum": 0.0,
        "nesterov": False,
        "weight_decay": None,
        "name": "SGD",
    }
    a = O.Adam()
    assert (a.learning_rate, a.beta_1, a.beta_2, a.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    assert O.AdamW().weight_decay == 0.004
    for opt in (O.SGD(0.1, momentum=0.9, nesterov=True), O.Adam(3e-4, beta_1=0.8), O.AdamW(0.01)):
        back = O.deserialize(O.serialize(opt))
        assert type(back) is type(opt) and back.get_config() == opt.get_config()


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning_rate"):
        O.Adam(-1.0)
    with pytest.raises(ValueError, match="beta_1"):
        O.Adam(beta_1=1.0)
    with pytest.raises(ValueError, match="momentum"):
        O.SGD(momentum=2)
    with pytest.raises(TypeError, match="learning_rate"):
        O.SGD("fast")


def _one_step_model(opt, seed=0):
    m = fnet.Sequential([L.Dense(3, input_shape=(4,))], seed=seed, device="cpu")
    m.compile(optimizer=opt, loss="mse")
    return m


@pytest.mark.parametrize(
    "opt,ref",
    [
        (O.Adam(0.01), "adam"),
        (O.AdamW(0.01, weight_decay=0.1), "adamw"),
        (O.SGD(0.1, momentum=0.9), "sgdm"),
        (O.SGD(0.1), "sgd"),
    ],
)
def test_update_forms_match_numpy(opt, ref):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    m = _one_step_model(opt)
    p = np.concatenate([w.ravel() for w in m.get_weights()]).astype(np.float64)
    mm = np.zeros_like(p)
    vv = np.zeros_like(p)
    for t in range(1, 4):
        out = m.forward(x)
        m.backward(m.loss(out, y)[1])
        g = np.concatenate([q.ravel() for q in m.gradients]).astype(np.float64)
        m.update_weights()
        if ref in ("adam", "adamw"):
            if ref == "adamw":
                p *= 1 - 0.01 * 0.1
            mm = 0.9 * mm + 0.1 * g
            vv = 0.999 * vv + 0.001 * g * g
            p -= 0.01 * (mm / (1 - 0.9**t)) / (np.sqrt(vv / (1 - 0.999**t)) + 1e-7)
        elif ref == "sgdm":
            mm = 0.9 * mm + g
            p -= 0.1 * mm
        else:
            p -= 0.1 * g
        got = np.concatenate([w.ravel() for w in m.get_weights()])
        np.testing.assert_allclose(got, p, rtol=1e-5, atol=1e-6)
        p = got.astype(np.float64)


def test_state_dict_roundtrip_between_models():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    a = _one_step_model(O.Adam(0.01))
    a.fit(x, y, epochs=3, verbose=0)
    sd = a.optimizer.state_dict()
    assert sd["iterations"] == 3 and set(sd["state"]) == {"m", "v"}
    assert sd["state"]["m"].shape == (a.count_params(),)
    b = _one_step_model(O.Adam(0.01))
    b.set_weights(a.get_weights())
    b.optimizer.load_state_dict(sd)
    a.fit(x, y, epochs=2, verbose=0)
    b.fit(x, y, epochs=2, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
    with pytest.raises(ValueError, match="state of a SGD"):
        b.optimizer.load_state_dict(O.SGD().state_dict())
    # before binding: the state waits for the first update
    c = O.Adam(0.01)
    c.load_state_dict(a.optimizer.state_dict())
    assert c.iterations == 5


def test_schedules_exposed_under_optimizers():
    schedules = pytest.importorskip("fusednet.schedules")
    assert O.schedules is schedules
    opt = O.Adam(schedules.ExponentialDecay(0.1, 10, 0.5))
    assert isinstance(O.deserialize(O.serialize(opt)).learning_rate, schedules.ExponentialDecay)


def test_optimizer_pickles_with_its_state():
    import pickle

    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.standard_normal((8, 3)).astype(np.float32)
    a = _one_step_model(O.Adam(0.01))
    a.fit(x, y, epochs=2, verbose=0)
    opt = pickle.loads(pickle.dumps(a.optimizer))
    assert opt.iterations == 2 and opt.get_config() == a.optimizer.get_config()
    b = _one_step_model(opt)
    b.set_weights(a.get_weights())
    a.fit(x, y, epochs=1, verbose=0)
    b.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))
