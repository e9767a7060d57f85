"""One model, many threads: predict, evaluate, model(x) and forward from several threads at once
give the serial results (predictions each on a workspace of their own, the weights shared), and
fit or an update started while predictions run waits for them instead of failing."""

import threading

import numpy as np
import pytest

import fusednet as fnet


def _model(seed=0):
    model = fnet.Sequential(
        [
            fnet.layers.Dense(32, activation="relu", input_shape=(16,)),
            fnet.layers.Dropout(0.1),
            fnet.layers.Dense(4, activation="softmax"),
        ],
        seed=seed,
    )
    model.compile(fnet.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", ["accuracy"])
    return model


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 16)).astype(np.float32)
    y = rng.integers(0, 4, n)
    return x, y


def _run_threads(n, target):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as e:  # noqa: BLE001 -- reported to the test's thread below
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_eight_threads_predict_200_times_each_like_serial_calls():
    model = _model()
    inputs = [_data(n=8 + 7 * k, seed=k)[0] for k in range(8)]
    want = [model.predict(x, batch_size=16) for x in inputs]
    results = [[] for _ in range(8)]

    def work(i):
        for _ in range(200):
            results[i].append(model.predict(inputs[i], batch_size=16))

    _run_threads(8, work)
    for i in range(8):
        assert len(results[i]) == 200
        for got in results[i]:
            np.testing.assert_array_equal(got, want[i])


def test_evaluate_call_and_forward_from_threads_like_serial_calls():
    model = _model()
    sets = [_data(n=40 + k, seed=k) for k in range(6)]
    want_eval = [model.evaluate(x, y, batch_size=16, verbose=0) for x, y in sets]
    want_call = [model(x) for x, _ in sets]
    want_fwd = [model.forward(x, training=False) for x, _ in sets]
    for a, b in zip(want_call, want_fwd):
        np.testing.assert_array_equal(a, b)

    def work(i):
        x, y = sets[i]
        for _ in range(30):
            assert model.evaluate(x, y, batch_size=16, verbose=0) == want_eval[i]
            np.testing.assert_array_equal(model(x), want_call[i])
            np.testing.assert_array_equal(model.forward(x, training=False), want_fwd[i])

    _run_threads(6, work)


def test_fit_waits_for_a_background_predict_loop_and_trains_as_alone():
    x, y = _data(n=256)
    probe = _data(n=33, seed=5)[0]
    model, twin = _model(), _model()
    before = model.predict(probe)
    stop = threading.Event()
    seen = []
    errors = []

    def predict_loop():
        try:
            while not stop.is_set():
                seen.append(model.predict(probe))
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    t = threading.Thread(target=predict_loop)
    t.start()
    try:
        while not seen:  # the loop is running before fit starts
            threading.Event().wait(0.001)
        model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[fnet.callbacks.History()])
    finally:
        stop.set()
        t.join()
    assert not errors, errors
    twin.fit(x, y, epochs=3, batch_size=32, verbose=0)
    twin.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[fnet.callbacks.History()])
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)  # the predictions changed nothing in training
    after_first = _model()
    after_first.fit(x, y, epochs=3, batch_size=32, verbose=0)
    states = [before, after_first.predict(probe), model.predict(probe)]
    # A prediction never sees weights mid-fit: each is one of the states between fit calls
    # (the per-epoch fit of the second call may also show its epoch boundary: it has one epoch).
    for got in seen:
        assert any(np.array_equal(got, s) for s in states)
    assert len(seen) >= 2


def test_updates_wait_for_predictions_and_predictions_for_updates():
    x, y = _data(n=64)
    model = _model()
    twin = _model()
    # explicit loop steps on one thread while others predict: same weights as alone
    errors = []
    stop = threading.Event()

    def predict_loop():
        try:
            while not stop.is_set():
                out = model.predict(x)
                assert np.isfinite(out).all()
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=predict_loop) for _ in range(3)]
    for r in readers:
        r.start()
    try:
        for _ in range(10):
            out = model.forward(x, training=True)
            _, d = model.loss(out, y)
            model.backward(d)
            model.update_weights()
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert not errors, errors
    for _ in range(10):
        out = twin.forward(x, training=True)
        _, d = twin.loss(out, y)
        twin.backward(d)
        twin.update_weights()
    for a, b in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_fit_callback_may_predict_but_not_train_from_inside_fit():
    x, y = _data(n=64)
    model = _model()
    probe = x[:5]
    got = []

    class Peek(fnet.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            got.append(self.model.predict(probe))  # the fit's own thread reading: allowed
            if batch == 0:
                with pytest.raises(RuntimeError, match="from inside that call"):
                    self.model.update_weights()

    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[Peek()])
    assert len(got) == 4
    np.testing.assert_array_equal(got[-1], model.predict(probe))


def test_threaded_evaluate_with_threshold_metrics_like_serial_calls():
    """Readers get the compiled metrics' thresholds, and each thread's per-batch evaluate sees
    its own metric state (AUC and Precision keep counts per threshold, not per-sample means)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=300) > 0).astype(np.float32)
    model = fnet.Sequential(
        [fnet.layers.Dense(8, activation="relu", input_shape=(6,)), fnet.layers.Dense(1)], seed=1
    )
    model.compile(
        optimizer="adam",
        loss=fnet.losses.BinaryCrossentropy(from_logits=True),
        metrics=[fnet.metrics.AUC(from_logits=True), fnet.metrics.Precision(thresholds=[0.2, 0.7])],
    )
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    parts = [(x[i::3], y[i::3]) for i in range(3)]
    want = [model.evaluate(px, py, batch_size=17, verbose=0) for px, py in parts]
    got, errors = {}, []

    def run(k):
        try:
            for _ in range(20):
                r = model.evaluate(*parts[k], batch_size=17, verbose=0)
                assert np.array_equal(np.hstack(r), np.hstack(want[k])), (k, r, want[k])
            got[k] = True
        except Exception as e:  # noqa: BLE001 - reported below with the thread's data
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k % 3,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(got) == 3
