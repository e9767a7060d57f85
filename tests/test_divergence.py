"""Divergence: TerminateOnNaN stops at the batch whose loss is not finite (Keras's behaviour, its
update applied) and fit(restore_on_nan=True) stops before that batch's update and keeps the last
finite weights; both on the one-call and the per-epoch paths of fit, and the normal path trains
as before when nothing diverges."""

import numpy as np
import pytest

import fusednet as fnet

BATCH = 8


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.standard_normal((64, 1)).astype(np.float32)
    return x, y


def _model(lr):
    # SGD at lr 1e30: the first update makes weights ~1e30, so the second batch's output
    # squared overflows and its loss is not finite.
    model = fnet.Sequential([fnet.layers.Dense(1, input_shape=(4,))], seed=0)
    model.compile(fnet.optimizers.SGD(lr), "mse")
    return model


def _first_bad_batch(lr, x, y):
    """The index of the first batch whose loss is not finite, by the explicit loop."""
    model = _model(lr)
    for b in range(len(x) // BATCH):
        xb, yb = x[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH]
        out = model.forward(xb)
        value, d = model.loss(out, yb)
        if not np.isfinite(float(value)):
            return b
        model.backward(d)
        model.update_weights()
    raise AssertionError("the loss stayed finite")


def _explicit_steps(model, x, y, steps):
    """The weights after `steps` batches of the explicit loop (the same updates as fit)."""
    for b in range(steps):
        xb, yb = x[b * BATCH : (b + 1) * BATCH], y[b * BATCH : (b + 1) * BATCH]
        out = model.forward(xb)
        _, d = model.loss(out, yb)
        model.backward(d)
        model.update_weights()
    return model.get_weights()


class Batches(fnet.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append((batch, logs["loss"]))


@pytest.mark.parametrize("with_batch_hooks", [False, True])
def test_terminate_on_nan_stops_after_the_first_non_finite_batch(with_batch_hooks):
    x, y = _data()
    model = _model(1e30)
    cbs = [fnet.callbacks.TerminateOnNaN()]
    seen = Batches()
    if with_batch_hooks:
        cbs.append(seen)
    hist = model.fit(x, y, epochs=3, batch_size=BATCH, shuffle=False, verbose=0, callbacks=cbs)
    assert len(hist.history["loss"]) == 1 and not np.isfinite(hist.history["loss"][0])
    assert model.stop_training
    bad = _first_bad_batch(1e30, x, y)
    assert bad >= 1
    if with_batch_hooks:
        assert [b for b, _ in seen.ends] == list(range(bad + 1))  # the diverging one reported
        assert np.isfinite(seen.ends[bad - 1][1]) and not np.isfinite(seen.ends[bad][1])
    # Keras's behaviour: that batch's update was applied, nothing after it
    want = _explicit_steps(_model(1e30), x, y, bad + 1)
    for a, b in zip(model.get_weights(), want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "callbacks",
    [[], [fnet.callbacks.TerminateOnNaN()], [fnet.callbacks.History()], "batches"],
    ids=["one-call", "terminate", "per-epoch", "batch-hooks"],
)
def test_restore_on_nan_keeps_the_last_finite_weights(callbacks):
    x, y = _data()
    model = _model(1e30)
    cbs = [Batches()] if callbacks == "batches" else list(callbacks)
    hist = model.fit(
        x,
        y,
        epochs=3,
        batch_size=BATCH,
        shuffle=False,
        verbose=0,
        callbacks=cbs,
        restore_on_nan=True,
    )
    assert len(hist.history["loss"]) == 1 and not np.isfinite(hist.history["loss"][0])
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    bad = _first_bad_batch(1e30, x, y)
    # the diverging batch's update never ran; the one before it made the weights non-finite
    # (weights ~1e60 after two steps at lr 1e30), so the weights before that one are back
    before = _explicit_steps(_model(1e30), x, y, bad)
    assert not all(np.isfinite(w).all() for w in before)
    want = _explicit_steps(_model(1e30), x, y, bad - 1)
    for a, b in zip(weights, want):
        np.testing.assert_array_equal(a, b)
    model.predict(x)  # usable


def test_restore_on_nan_puts_back_the_weights_before_an_update_that_made_them_non_finite():
    x, y = _data()
    model = _model(3e38)  # the first update overflows the weights themselves
    first = _model(3e38)
    _explicit_steps(first, x, y, 1)
    assert not all(np.isfinite(w).all() for w in first.get_weights())
    initial = model.get_weights()
    model.fit(x, y, epochs=2, batch_size=BATCH, shuffle=False, verbose=0, restore_on_nan=True)
    for a, b in zip(model.get_weights(), initial):
        np.testing.assert_array_equal(a, b)


def test_validation_runs_for_the_epoch_that_stopped():
    x, y = _data()
    model = _model(1e30)
    hist = model.fit(
        x,
        y,
        epochs=3,
        batch_size=BATCH,
        shuffle=False,
        verbose=0,
        validation_data=(x[:16], y[:16]),
        restore_on_nan=True,
    )
    assert len(hist.history["val_loss"]) == 1 and np.isfinite(hist.history["val_loss"][0])


@pytest.mark.parametrize("restore", [False, True])
def test_watching_changes_nothing_when_training_stays_finite(restore):
    x, y = _data()
    plain, watched = _model(0.01), _model(0.01)
    plain.fit(x, y, epochs=3, batch_size=BATCH, verbose=0)
    hist = watched.fit(
        x,
        y,
        epochs=3,
        batch_size=BATCH,
        verbose=0,
        restore_on_nan=restore,
        callbacks=[fnet.callbacks.TerminateOnNaN()],
    )
    assert len(hist.history["loss"]) == 3
    for a, b in zip(plain.get_weights(), watched.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_core_nan_watch_argument_is_checked():
    model = _model(0.01)
    x, y = _data()
    with pytest.raises(ValueError, match="nan_watch: expected 0"):
        model._net.fit(x, y, None, 8, 1, False, None, 0.01, nan_watch=3)


def test_restore_on_nan_skips_the_diverging_batch_when_the_weights_are_still_finite():
    x, y = _data()
    x = x * np.float32(100)  # outputs overflow float32 while the weights (~1e36) still fit
    bad = _first_bad_batch(1e34, x, y)
    before = _explicit_steps(_model(1e34), x, y, bad)
    assert all(np.isfinite(w).all() for w in before)
    model = _model(1e34)
    hist = model.fit(
        x, y, epochs=2, batch_size=BATCH, shuffle=False, verbose=0, restore_on_nan=True
    )
    assert len(hist.history["loss"]) == 1
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == bad  # the diverging batch was never applied
