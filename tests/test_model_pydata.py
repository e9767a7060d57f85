"""Keras PyDataset / Sequence objects and Python generators as fit / evaluate / predict input
(batches fed from Python, one C++ step per batch): each compared with the same batches given as
arrays or as train_on_batch calls, in the order Keras visits them."""

import random

import numpy as np
import pytest

import fusednet as fnet
from fusednet.layers import Dense


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = rng.integers(0, 3, n)
    return x, y


def _model(seed=0, built=True):
    first = Dense(8, activation="tanh", input_shape=(3,)) if built else Dense(8, activation="tanh")
    m = fnet.Sequential([first, Dense(3, activation="softmax")], seed=seed, device="cpu")
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


class Batches(fnet.utils.PyDataset):
    def __init__(self, x, y, bs, sw=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.bs, self.sw = x, y, bs, sw
        self.calls = []

    def __len__(self):
        return (len(self.x) + self.bs - 1) // self.bs

    def __getitem__(self, i):
        s = slice(i * self.bs, (i + 1) * self.bs)
        if self.sw is not None:
            return self.x[s], self.y[s], self.sw[s]
        return self.x[s], self.y[s]

    def on_epoch_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self):
        self.calls.append("end")


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def test_pydataset_in_order_equals_array_fit():
    x, y = _data()
    a, b = _model(1), _model(1)
    ds = Batches(x, y, 6)
    ha = a.fit(ds, epochs=3, shuffle=False, verbose=0)
    hb = b.fit(x, y, batch_size=6, epochs=3, shuffle=False, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-6)
    np.testing.assert_allclose(ha.history["accuracy"], hb.history["accuracy"], rtol=1e-6)
    assert ds.calls == ["begin", "end"] * 3


def test_pydataset_shuffle_visits_batches_in_keras_order():
    x, y = _data()
    a, b = _model(2), _model(2)
    ds = Batches(x, y, 6)
    a.fit(ds, epochs=2, verbose=0)  # shuffle=True: random.Random(epoch).shuffle of the indices
    for epoch in range(2):
        order = list(range(len(ds)))
        random.Random(epoch).shuffle(order)
        for i in order:
            b.train_on_batch(*ds[i])
    assert _same(a.get_weights(), b.get_weights())


def test_pydataset_steps_per_epoch_continues_the_pass():
    x, y = _data(24)
    a, b = _model(3), _model(3)
    ds = Batches(x, y, 6)  # 4 batches a pass
    with pytest.warns(UserWarning, match="ran out of data"):
        a.fit(ds, epochs=3, steps_per_epoch=3, shuffle=False, verbose=0)
    for i in [0, 1, 2, 3, 0, 1, 2]:  # epoch 2 ends with the pass (1 batch), epoch 3 anew
        b.train_on_batch(*ds[i])
    assert _same(a.get_weights(), b.get_weights())


def test_generator_with_steps_per_epoch_and_an_unbuilt_model():
    x, y = _data(24)

    def endless():
        while True:
            for i in range(0, 24, 8):
                yield x[i : i + 8], y[i : i + 8]

    a, b = _model(4, built=False), _model(4)
    h = a.fit(endless(), epochs=2, steps_per_epoch=2, verbose=0)
    assert a.built and len(h.history["loss"]) == 2
    for i in (0, 8, 16, 0):
        b.train_on_batch(x[i : i + 8], y[i : i + 8])
    assert _same(a.get_weights(), b.get_weights())


def test_finite_generator_stops_when_exhausted():
    x, y = _data(16)
    gen = ((x[i : i + 4], y[i : i + 4]) for i in range(0, 16, 4))
    m = _model()
    with pytest.warns(UserWarning, match="generator is exhausted"):
        h = m.fit(gen, epochs=3, verbose=0)
    assert h.epoch == [0] and m.optimizer.iterations == 4


def test_pydataset_validation_evaluate_predict_and_class_weight():
    x, y = _data(20)
    xv, yv = _data(10, seed=5)
    m = _model(6)
    h = m.fit(Batches(x, y, 5), epochs=1, validation_data=Batches(xv, yv, 4), verbose=0)
    ev = m.evaluate(xv, yv, verbose=0, return_dict=True)
    assert h.history["val_loss"][0] == pytest.approx(ev["loss"], rel=1e-6)
    assert m.evaluate(Batches(xv, yv, 3), verbose=0) == pytest.approx(
        [ev["loss"], ev["accuracy"]], rel=1e-6
    )
    np.testing.assert_array_equal(m.predict(Batches(xv, yv, 3)), m.predict(xv, batch_size=3))
    np.testing.assert_array_equal(m.predict(xv[i : i + 5] for i in (0, 5)), m.predict(xv))
    # class_weight on a dataset: the weights of each batch's classes
    cw = {0: 2.0, 1: 0.5}
    a, b = _model(7), _model(7)
    a.fit(Batches(x, y, 5), epochs=1, shuffle=False, class_weight=cw, verbose=0)
    sw = np.array([cw.get(int(c), 1.0) for c in y], np.float32)
    b.fit(Batches(x, y, 5, sw=sw), epochs=1, shuffle=False, verbose=0)
    assert _same(a.get_weights(), b.get_weights())


def test_pydataset_with_callbacks_and_progress(capsys):
    x, y = _data(20)
    seen = []
    cb = fnet.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    _model().fit(Batches(x, y, 5), epochs=2, verbose=1, callbacks=[cb])
    assert seen == [0, 1, 2, 3] * 2
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "4/4 ━" in out


def test_source_arguments_are_checked():
    x, y = _data(8)
    m = _model()
    ds = Batches(x, y, 4)
    with pytest.raises(ValueError, match="y: not used when x is a PyDataset"):
        m.fit(ds, y, verbose=0)
    with pytest.raises(ValueError, match="sample_weight: not used"):
        m.fit(ds, sample_weight=np.ones(8), verbose=0)
    with pytest.raises(ValueError, match="validation_split: only for array inputs"):
        m.fit(ds, validation_split=0.5, verbose=0)

    class Endless(fnet.utils.Sequence):
        num_batches = None

        def __getitem__(self, i):
            return x[:4], y[:4]

    with pytest.raises(ValueError, match="infinite PyDataset needs steps_per_epoch"):
        m.fit(Endless(), verbose=0)
    assert len(m.fit(Endless(), steps_per_epoch=2, epochs=2, verbose=0).history["loss"]) == 2
    with pytest.raises(ValueError, match=r"each batch must be x, \(x,\), \(x, y\)"):
        m.fit(iter([(x, y, None, None)]), verbose=0)
    with pytest.raises(ValueError, match="x: expected 3 features"):
        m.fit(iter([(x[:, :2], y)]), verbose=0)
