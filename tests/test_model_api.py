"""Keras's model API beyond fit/evaluate/predict: train/test/predict_on_batch, save_weights /
load_weights, get_config / from_config / to_json / model_from_json, summary before build,
count_params, fnet.utils, and fit's class_weight / steps_per_epoch / validation_steps /
validation_batch_size / validation_freq. Expectations are Keras's documented behaviour, computed
by hand or in float64 NumPy."""

import json
import warnings

import numpy as np
import pytest

import fusednet as fnet
from fusednet.layers import Dense
from fusednet.model import _fit_options


def _data(n=12, d=3, units=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.standard_normal((n, units)).astype(np.float32)
    return x, y


def _linear(seed=0, lr=0.1, d=3, units=1, opt="sgd"):
    m = fnet.Sequential([Dense(units, input_shape=(d,))], seed=seed, device="cpu")
    o = fnet.optimizers.SGD(learning_rate=lr) if opt == "sgd" else fnet.optimizers.Adam(lr)
    m.compile(optimizer=o, loss="mse")
    return m


def _classifier(seed=0, classes=3, d=4):
    m = fnet.Sequential(
        [Dense(8, activation="relu", input_shape=(d,)), Dense(classes, activation="softmax")],
        seed=seed,
        device="cpu",
    )
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b)) and len(a) == len(b)


# ---- train_on_batch / test_on_batch / predict_on_batch ----------------------------------------


def test_train_on_batch_is_one_sgd_step_with_the_batch_loss():
    x, y = _data(6)
    m = _linear(lr=0.1)
    w0, b0 = m.get_weights()
    loss = m.train_on_batch(x, y)
    xd, yd = x.astype(np.float64), y.astype(np.float64)
    err = xd @ w0 + b0 - yd
    assert loss == pytest.approx(np.mean(err**2), rel=1e-5)  # before the update, as Keras
    gw = 2.0 / len(x) * xd.T @ err
    gb = 2.0 / len(x) * err.sum(0)
    w1, b1 = m.get_weights()
    np.testing.assert_allclose(w1, w0 - 0.1 * gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b1, b0 - 0.1 * gb, rtol=1e-5, atol=1e-6)
    assert m.optimizer.iterations == 1


def test_train_on_batch_matches_a_one_batch_fit_bitwise():
    x, y = _data(8)
    a, b = _linear(seed=3), _linear(seed=3)
    a.train_on_batch(x, y)
    a.train_on_batch(x, y)
    b.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert _same(a.get_weights(), b.get_weights())


def test_batch_calls_return_keras_shapes():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((10, 4)).astype(np.float32)
    y = rng.integers(0, 3, 10)
    m = _classifier()
    out = m.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    d = m.test_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    w = m.get_weights()
    ev = m.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    assert d["loss"] == pytest.approx(ev["loss"], rel=1e-6)
    assert d["accuracy"] == ev["accuracy"]
    assert _same(w, m.get_weights())  # test_on_batch does not train
    p = m.predict_on_batch(x)
    np.testing.assert_array_equal(p, m.predict(x, batch_size=10))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)


def test_train_on_batch_class_weight_equals_the_sample_weights_it_stands_for():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((9, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 1, 0, 2, 2, 1])
    a, b = _classifier(seed=5), _classifier(seed=5)
    la = a.train_on_batch(x, y, class_weight={0: 2.0, 2: 0.5})
    sw = np.array([2.0, 1, 0.5, 1, 1, 2.0, 0.5, 0.5, 1], np.float32)
    lb = b.train_on_batch(x, y, sample_weight=sw)
    assert la == lb and _same(a.get_weights(), b.get_weights())
    with pytest.raises(ValueError, match="class_weight and sample_weight"):
        a.train_on_batch(x, y, sample_weight=sw, class_weight={0: 1.0})


def test_batch_calls_check_their_arguments():
    m = _linear()
    with pytest.raises(ValueError, match="x: expected 3 features"):
        m.train_on_batch(np.zeros((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="x has 2 samples but y has 3"):
        m.test_on_batch(np.zeros((2, 3)), np.zeros(3))
    u = fnet.Sequential([Dense(1, input_shape=(3,))], device="cpu")
    with pytest.raises(RuntimeError, match="train_on_batch: the model is not compiled"):
        u.train_on_batch(np.zeros((2, 3)), np.zeros(2))


# ---- class_weight in fit ----------------------------------------------------------------------


def test_class_weights_follow_keras_definition():
    # Labels; one-hot rows (argmax); a single binary column (rounded); classes not in the dict: 1.
    cw = {0: 0.5, 2: 4.0}
    np.testing.assert_array_equal(
        _fit_options.class_weights(cw, np.array([0, 1, 2, 2]), 4), [0.5, 1, 4, 4]
    )
    onehot = np.eye(3, dtype=np.float32)[[2, 0, 1]]
    np.testing.assert_array_equal(_fit_options.class_weights(cw, onehot, 3), [4, 0.5, 1])
    binary = np.array([[0.0], [1.0], [0.2], [0.7]], np.float32)
    np.testing.assert_array_equal(
        _fit_options.class_weights({0: 3.0, 1: 0.25}, binary, 4), [3, 0.25, 3, 0.25]
    )
    np.testing.assert_array_equal(_fit_options.class_weights({"1": 2}, np.array([1, 0]), 2), [2, 1])
    with pytest.raises(ValueError, match="keys must be class indices"):
        _fit_options.class_weights({"a": 1.0}, np.array([0]), 1)
    with pytest.raises(TypeError, match="class_weight: expected a dict"):
        _fit_options.class_weights([1.0, 2.0], np.array([0]), 1)


def test_fit_class_weight_weights_training_only():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a, b = _classifier(seed=7), _classifier(seed=7)
    ha = a.fit(x, y, batch_size=8, epochs=2, class_weight=cw, validation_split=0.25, verbose=0)
    sw = np.array([cw[int(c)] for c in y[:30]], np.float32)
    hb = b.fit(x[:30], y[:30], sample_weight=sw, batch_size=8, epochs=2, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    assert ha.history["loss"] == hb.history["loss"]
    # validation is unweighted: it equals evaluate on the held-out quarter
    ev = a.evaluate(x[30:], y[30:], batch_size=8, verbose=0)[0]
    assert ha.history["val_loss"][-1] == pytest.approx(ev, rel=1e-6)
    with pytest.raises(ValueError, match="class_weight and sample_weight"):
        a.fit(x, y, sample_weight=np.ones(40), class_weight=cw, verbose=0)


# ---- steps_per_epoch / validation_steps / validation_freq -------------------------------------


def test_steps_per_epoch_continues_through_the_data_as_keras():
    # 10 samples, batch 2 -> 5 batches a pass. steps_per_epoch=2: epochs take batches {0,1},
    # {2,3}, then {4} (the pass runs out: Keras warns and ends that epoch), then a new pass.
    x, y = _data(10)
    a, b = _linear(seed=1), _linear(seed=1)
    with pytest.warns(UserWarning, match="ran out of data"):
        h = a.fit(x, y, batch_size=2, epochs=4, steps_per_epoch=2, shuffle=False, verbose=0)
    losses = []
    for batches in ([0, 1], [2, 3], [4], [0, 1]):
        ls = [b.train_on_batch(x[2 * i : 2 * i + 2], y[2 * i : 2 * i + 2]) for i in batches]
        losses.append(np.mean(ls))
    assert _same(a.get_weights(), b.get_weights())
    np.testing.assert_allclose(h.history["loss"], losses, rtol=1e-6)
    assert a.optimizer.iterations == 7


def test_steps_per_epoch_shuffled_uses_every_sample_once_per_pass():
    # With shuffle, a pass of 6 batches split into 3-batch epochs trains on each sample once.
    x, y = _data(12)
    m = _linear(seed=2, lr=0.0)  # lr 0: weights fixed, so each epoch loss is a plain mean
    h = m.fit(x, y, batch_size=2, epochs=2, steps_per_epoch=3, verbose=0)
    full = m.evaluate(x, y, verbose=0)
    assert np.mean(h.history["loss"]) == pytest.approx(full, rel=1e-5)
    assert h.history["loss"][0] != pytest.approx(h.history["loss"][1], rel=1e-6)


def test_validation_freq_int_and_list():
    x, y = _data(12)
    m = _linear()
    h = m.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    seen = []
    cb = fnet.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append("val_loss" in logs))
    m.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=[1, 4], verbose=0, callbacks=[cb])
    assert seen == [True, False, False, True]
    with pytest.raises(ValueError, match="validation_freq: expected an int >= 1"):
        m.fit(x, y, validation_data=(x, y), validation_freq=0, verbose=0)


def test_validation_steps_and_batch_size_walk_the_validation_set():
    x, y = _data(12)
    xv, yv = _data(6, seed=9)
    m = _linear(lr=0.0)  # fixed weights: each validation pass is an evaluate of some batches
    h = m.fit(
        x,
        y,
        epochs=4,
        validation_data=(xv, yv),
        validation_steps=1,
        validation_batch_size=2,
        verbose=0,
    )
    expect = [m.evaluate(xv[s : s + 2], yv[s : s + 2], verbose=0) for s in (0, 2, 4, 0)]
    np.testing.assert_allclose(h.history["val_loss"], expect, rtol=1e-6)


def test_evaluate_and_predict_steps_take_the_first_batches_as_keras():
    x, y = _data(12)
    m = _linear()
    assert m.evaluate(x, y, batch_size=5, steps=2, verbose=0) == m.evaluate(
        x[:10], y[:10], batch_size=5, verbose=0
    )
    assert m.evaluate(x, y, batch_size=5, steps=9, verbose=0) == m.evaluate(x, y, verbose=0)
    out = m.predict(x, batch_size=4, steps=2)
    np.testing.assert_array_equal(out, m.predict(x[:8]))
    assert m.predict(x, batch_size=4, steps=5).shape == (12, 1)

    def batches():
        for s in range(0, 12, 3):
            yield x[s : s + 3], y[s : s + 3]

    assert m.evaluate(batches(), steps=2, verbose=0) == pytest.approx(
        m.evaluate(x[:6], y[:6], verbose=0), rel=1e-6
    )
    assert m.predict(batches(), steps=3).shape == (9, 1)
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises((ValueError, TypeError), match="steps"):
            m.evaluate(x, y, steps=bad, verbose=0)
        with pytest.raises((ValueError, TypeError), match="steps"):
            m.predict(x, steps=bad)


def test_fit_options_are_checked():
    x, y = _data(4)
    m = _linear()
    with pytest.raises(ValueError, match="steps_per_epoch: expected an int >= 1, got 0"):
        m.fit(x, y, steps_per_epoch=0, verbose=0)
    with pytest.raises(TypeError, match="validation_steps: expected an int"):
        m.fit(x, y, validation_steps=1.5, verbose=0)


# ---- save_weights / load_weights --------------------------------------------------------------


def test_save_and_load_weights_round_trip(tmp_path):
    m = _classifier(seed=1)
    path = tmp_path / "m.weights.h5"  # Keras's name works; the content is fusednet's npz
    m.save_weights(path)
    other = _classifier(seed=2)
    assert not _same(m.get_weights(), other.get_weights())
    other.load_weights(path)
    assert _same(m.get_weights(), other.get_weights())
    with np.load(path) as z:  # the documented layout
        header = json.loads(bytes(z["header"]).decode())
        assert header["format"] == "fusednet.weights"
        assert [w["shape"] for w in header["weights"]] == [[4, 8], [8], [8, 3], [3]]
        np.testing.assert_array_equal(z["weight_0002"], m.get_weights()[2])
    with pytest.raises(FileExistsError):
        m.save_weights(path, overwrite=False)


def test_load_weights_resumes_training_bitwise(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    a = _classifier(seed=3)
    a.fit(x, y, batch_size=8, epochs=2, verbose=0)
    a.save_weights(tmp_path / "w.npz")
    a.fit(x, y, batch_size=8, epochs=1, verbose=0)
    b = _classifier(seed=3)  # the seed drives shuffles and dropout: resuming needs the same
    b.load_weights(tmp_path / "w.npz")
    assert b.optimizer.iterations == 8
    b.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert _same(a.get_weights(), b.get_weights())


def test_load_weights_errors(tmp_path):
    m = _classifier()
    m.save_weights(tmp_path / "w")
    wrong = fnet.Sequential([Dense(8, input_shape=(5,)), Dense(3)], device="cpu")
    with pytest.raises(ValueError, match=r"weight 0 \(dense.*\) has shape \(4, 8\) in the file"):
        wrong.load_weights(tmp_path / "w")
    fewer = fnet.Sequential([Dense(3, input_shape=(4,))], device="cpu")
    with pytest.raises(ValueError, match="the file holds 4 weight arrays, the model has 2"):
        fewer.load_weights(tmp_path / "w")
    (tmp_path / "junk").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a fusednet weights file"):
        m.load_weights(tmp_path / "junk")
    with pytest.raises(FileNotFoundError):
        m.load_weights(tmp_path / "missing")
    m.save(tmp_path / "model.fnet")
    with pytest.raises(ValueError, match="not a fusednet weights file"):
        m.load_weights(tmp_path / "model.fnet")


def test_load_weights_skip_mismatch_keeps_the_models_own(tmp_path):
    a = fnet.Sequential([Dense(8, input_shape=(4,)), Dense(3)], seed=1, device="cpu")
    a.save_weights(tmp_path / "w")
    b = fnet.Sequential([Dense(8, input_shape=(4,)), Dense(2)], seed=2, device="cpu")
    before = b.get_weights()
    b.load_weights(tmp_path / "w", skip_mismatch=True)
    after = b.get_weights()
    np.testing.assert_array_equal(after[0], a.get_weights()[0])
    np.testing.assert_array_equal(after[2], before[2])


# ---- config / json ----------------------------------------------------------------------------


def test_from_config_and_json_rebuild_the_architecture():
    m = fnet.Sequential(
        [Dense(5, activation="tanh", input_shape=(3,)), fnet.layers.Dropout(0.5), Dense(2)],
        seed=42,
        name="net",
        device="cpu",
    )
    cfg = m.get_config()
    again = fnet.Sequential.from_config(cfg)
    assert again.get_config() == cfg
    assert _same(again.get_weights(), m.get_weights())  # same seed: same initial weights
    s = m.to_json()
    d = json.loads(s)
    assert d["class_name"] == "Sequential" and d["config"] == cfg
    m2 = fnet.models.model_from_json(s)
    assert m2.get_config() == cfg and not m2.compiled
    with pytest.raises(ValueError, match="not valid JSON"):
        fnet.models.model_from_json("{")
    with pytest.raises(ValueError, match="Sequential models only"):
        fnet.models.model_from_json(json.dumps({"class_name": "Functional", "config": {}}))


# ---- summary / count_params -------------------------------------------------------------------


def test_summary_before_build_does_not_build():
    m = fnet.Sequential(device="cpu", name="s")
    m.add(Dense(4, input_shape=(3,)))
    m.add(Dense(2, activation="softmax"))
    text = m.summary(print_fn=None)
    assert not m.built
    rows = text.splitlines()
    assert [r.split()[-2] for r in rows if "(Dense)" in r] == ["4)", "2)"]  # (None, 4), (None, 2)
    assert "Total params: 26" in text  # 3*4 + 4 + 4*2 + 2
    assert [r.split()[-1] for r in rows if "(Dense)" in r] == ["16", "10"]
    assert m.count_params() == 26


def test_summary_without_input_width_shows_unbuilt_layers():
    m = fnet.Sequential([Dense(4), Dense(2)], device="cpu")
    text = m.summary(print_fn=None)
    assert not m.built
    assert text.count("0 (unbuilt)") == 2 and "Total params: 0" in text


# ---- fnet.utils -------------------------------------------------------------------------------


def test_to_categorical():
    out = fnet.utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(out, np.eye(3, dtype=np.float32)[[0, 2, 1, 2]])
    assert out.dtype == np.float32
    col = fnet.utils.to_categorical(np.array([[1], [0]]), num_classes=4)
    np.testing.assert_array_equal(col, [[0, 1, 0, 0], [1, 0, 0, 0]])
    assert fnet.utils.to_categorical(np.array([[0, 1], [1, 1]])).shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        fnet.utils.to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="non-integer"):
        fnet.utils.to_categorical([0.5])


def test_set_random_seed_repeats_unseeded_models(monkeypatch):
    from fusednet.model import _inputs

    monkeypatch.setattr(_inputs, "_seed_source", None)  # restored after the test
    fnet.utils.set_random_seed(123)
    a = fnet.Sequential([Dense(4, input_shape=(3,))], device="cpu")
    r1 = np.random.rand()  # noqa: NPY002 (the global state it seeds)
    fnet.utils.set_random_seed(123)
    b = fnet.Sequential([Dense(4, input_shape=(3,))], device="cpu")
    r2 = np.random.rand()  # noqa: NPY002 (the global state it seeds)
    assert a.seed == b.seed and _same(a.get_weights(), b.get_weights()) and r1 == r2
    fnet.utils.set_random_seed(124)
    c = fnet.Sequential([Dense(4, input_shape=(3,))], device="cpu")
    assert c.seed != a.seed
    with pytest.raises(TypeError, match="seed: expected an int"):
        fnet.utils.set_random_seed(1.5)


def test_no_warning_on_a_plain_fit():
    x, y = _data(8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _linear().fit(x, y, epochs=1, verbose=0)
