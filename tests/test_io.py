"""model.save / fusednet.load_model / pickle: continue training bit-identically; atomic writes."""

import pickle

import numpy as np
import pytest

import fusednet as fnet
from fusednet import layers as L
from fusednet import optimizers


def _data(n=120):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = np.argmax(x[:, :3], axis=1)
    return x, y


def _model(opt):
    m = fnet.Sequential(
        [L.Dense(10, activation="relu", input_shape=(5,)), L.Dropout(0.2), L.Dense(3)],
        seed=11,
        device="cpu",
    )
    m.compile(
        optimizer=opt,
        loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return m


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda: optimizers.Adam(0.01),
        lambda: optimizers.SGD(0.05, momentum=0.9),
        lambda: optimizers.AdamW(0.01),
    ],
)
def test_save_load_continue_equals_uninterrupted(tmp_path, make_opt):
    x, y = _data()
    ref = _model(make_opt())
    ref.fit(x, y, batch_size=16, epochs=4, verbose=0)

    a = _model(make_opt())
    a.fit(x, y, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "m.fnet"
    a.save(path)
    b = fnet.load_model(path, device="cpu")
    assert type(b.optimizer) is type(a.optimizer)
    assert b.optimizer.get_config() == a.optimizer.get_config()
    assert b.optimizer.iterations == a.optimizer.iterations == 16
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    b.fit(x, y, batch_size=16, epochs=2, verbose=0)
    for wr, wb in zip(ref.get_weights(), b.get_weights()):
        assert np.array_equal(wr, wb)


def test_pickle_roundtrip_continues_identically():
    x, y = _data()
    a = _model(optimizers.Adam(0.01))
    a.fit(x, y, batch_size=32, epochs=1, verbose=0)
    b = pickle.loads(pickle.dumps(a))
    a.fit(x, y, batch_size=32, epochs=1, verbose=0)
    b.fit(x, y, batch_size=32, epochs=1, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    assert b.trainable_variables[0]._model is b
    assert b.device == "cpu"  # unpickled on the device it was pickled from


def test_save_uncompiled_and_unbuilt(tmp_path):
    m = fnet.Sequential(
        [L.Dense(4, activation="tanh", input_shape=(3,)), L.Dense(1)], seed=2, device="cpu"
    )
    m.save(tmp_path / "a")
    m2 = fnet.load_model(tmp_path / "a", device="cpu")
    assert not m2.compiled
    np.testing.assert_array_equal(m.predict(np.ones((2, 3))), m2.predict(np.ones((2, 3))))
    u = fnet.Sequential([L.Dense(4), L.Dense(2)], seed=3, device="cpu")
    u.save(tmp_path / "b")
    u2 = fnet.load_model(tmp_path / "b", device="cpu")
    assert not u2.built
    u2.build((None, 6))
    u.build((None, 6))
    assert all(np.array_equal(p, q) for p, q in zip(u.get_weights(), u2.get_weights()))


def test_save_is_atomic(tmp_path, monkeypatch):
    m = _model("adam")
    path = tmp_path / "model.fnet"
    m.save(path)
    before = path.read_bytes()
    import fusednet.io as fio

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fio.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.fnet"]  # no temp file left


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        fnet.load_model(tmp_path / "missing", device="cpu")
    (tmp_path / "junk").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a fusednet model file"):
        fnet.load_model(tmp_path / "junk", device="cpu")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="no header"):
        fnet.load_model(tmp_path / "other.npz", device="cpu")
    _model(optimizers.SGD(0.1)).save(tmp_path / "m")
    with pytest.raises(ValueError, match="device"):
        fnet.load_model(tmp_path / "m", device="tpu")


def test_schedule_survives_save(tmp_path):
    schedules = pytest.importorskip("fusednet.schedules")
    x, y = _data()
    s = schedules.CosineDecay(0.05, decay_steps=20)
    ref = _model(optimizers.SGD(s, momentum=0.5))
    ref.fit(x, y, batch_size=16, epochs=2, verbose=0)
    a = _model(optimizers.SGD(s, momentum=0.5))
    a.fit(x, y, batch_size=16, epochs=1, verbose=0)
    a.save(tmp_path / "s")
    b = fnet.load_model(tmp_path / "s", device="cpu")
    assert b.optimizer.learning_rate == s
    b.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(ref.get_weights(), b.get_weights()))
