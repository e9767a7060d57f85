"""fit with callbacks: hooks in order with the right logs, EarlyStopping, ModelCheckpoint,
progress output, batch-level stop."""

import numpy as np
import pytest

import fusednet as fnet
from fusednet import callbacks as C
from fusednet import layers as L


def _data(n=96):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    return x, np.argmax(x[:, :3], axis=1)


def _model(lr=0.01):
    m = fnet.Sequential(
        [L.Dense(12, activation="relu", input_shape=(5,)), L.Dense(3, activation="softmax")],
        seed=4,
        device="cpu",
    )
    m.compile(
        optimizer=fnet.optimizers.Adam(lr),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return m


class Recorder(C.Callback):
    def __init__(self, batches=False):
        super().__init__()
        self.events = []
        self.batches = batches

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))


class BatchRecorder(Recorder):
    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, dict(logs)))


def test_hooks_in_order_with_logs():
    x, y = _data()
    rec = Recorder()
    m = _model()
    h = m.fit(
        x,
        y,
        batch_size=32,
        epochs=3,
        initial_epoch=1,
        validation_split=0.25,
        verbose=0,
        callbacks=[rec],
    )
    kinds = [e[0] for e in rec.events]
    assert kinds == [
        "train_begin",
        "epoch_begin",
        "epoch_end",
        "epoch_begin",
        "epoch_end",
        "train_end",
    ]
    assert [e[1] for e in rec.events if e[0] == "epoch_end"] == [1, 2]
    logs = rec.events[2][2]
    assert set(logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h.epoch == [1, 2] and h.history["loss"][0] == logs["loss"]
    assert h.params["steps"] == 3 and h.params["samples"] == 72


def test_batch_hooks_and_same_result_as_epoch_path():
    x, y = _data()
    rec = BatchRecorder()
    a = _model()
    a.fit(x, y, batch_size=40, epochs=2, verbose=0, callbacks=[rec])
    kinds = [e[0] for e in rec.events]
    epoch = ["epoch_begin"] + ["batch_begin", "batch_end"] * 3 + ["epoch_end"]
    assert kinds == ["train_begin"] + epoch * 2 + ["train_end"]
    last_batch = [e for e in rec.events if e[0] == "batch_end"][2][2]
    epoch_end = [e for e in rec.events if e[0] == "epoch_end"][0][2]
    assert last_batch["loss"] == pytest.approx(epoch_end["loss"], rel=1e-12)
    b = _model()
    b.fit(x, y, batch_size=40, epochs=2, verbose=0)
    assert all(np.array_equal(p, q) for p, q in zip(a.get_weights(), b.get_weights()))


def test_stop_training_from_a_batch():
    x, y = _data()

    class StopAt(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    m = _model()
    m.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[StopAt()])
    assert m.optimizer.iterations == 2


def test_early_stopping_restores_best_weights():
    x, y = _data()
    m = _model(lr=0.3)  # large steps: val_loss gets worse at some point
    best = {}

    class Snap(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            best[epoch] = (logs["val_loss"], self.model.get_weights())

    es = C.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    m.fit(x, y, batch_size=8, epochs=40, validation_split=0.3, verbose=0, callbacks=[Snap(), es])
    epochs_run = len(m.history.history["loss"])
    assert epochs_run < 40
    e_best = min(best, key=lambda e: best[e][0])
    assert all(np.array_equal(p, q) for p, q in zip(best[e_best][1], m.get_weights()))


def test_model_checkpoint_saves_loadable_model(tmp_path):
    x, y = _data()
    m = _model(lr=0.3)  # large steps: val_loss gets worse after its best epoch
    path = tmp_path / "best.fnet"
    snaps = {}

    class Snap(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snaps[epoch] = (logs["val_loss"], self.model.get_weights())

    m.fit(
        x,
        y,
        batch_size=8,
        epochs=12,
        validation_split=0.25,
        verbose=0,
        callbacks=[
            Snap(),
            C.ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True),
        ],
    )
    assert path.exists()
    m2 = fnet.load_model(path, device="cpu")
    assert m2.predict(x).shape == (96, 3)
    # The file holds the best epoch's weights, and the best epoch is not the last one.
    best = min(snaps, key=lambda e: snaps[e][0])
    assert best < max(snaps)
    assert all(np.array_equal(p, q) for p, q in zip(m2.get_weights(), snaps[best][1]))


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_output(verbose, capsys):
    x, y = _data()
    m = _model()
    m.fit(x, y, batch_size=32, epochs=2, verbose=verbose)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "loss" in text
    # One report per epoch, with the epoch's own figures in Keras's 4-decimal format.
    h = m.history.history
    for e in range(2):
        assert f"Epoch {e + 1}/2" in text
        assert f"loss: {h['loss'][e]:.4f}" in text
        assert f"accuracy: {h['accuracy'][e]:.4f}" in text


def test_progress_bar_hook_is_throttled_and_ends_at_the_last_batch():
    x, y = _data()
    net = _model()._net
    sgd = fnet._core.OptimSpec(fnet._core.OptimKind.sgd)  # plain SGD
    sparse_ce = fnet._core.LossSpec(fnet._core.LossKind.sparse_categorical_crossentropy)
    accuracy = [fnet._core.MetricKind.sparse_categorical_accuracy]
    net.set_optimizer(sgd)
    net.compile(sparse_ce, accuracy)
    ref = _model()._net
    ref.set_optimizer(sgd)
    ref.compile(sparse_ce, accuracy)
    seen = []
    # An interval longer than the epoch: only the last batch reports, with the epoch's figures.
    stats = net.train_epoch(
        x, y, None, 8, True, None, 0.1, lambda b, loss, mets: seen.append((b, loss, mets)), 60.0
    )
    want = ref.train_epoch(x, y, None, 8, True, None, 0.1, None)
    assert [b for b, _, _ in seen] == [11]
    assert seen[0][1] == stats[0] == want[0] and seen[0][2] == stats[1] == want[1]
    assert np.array_equal(net.params, ref.params)
    every = []
    net.train_epoch(x, y, None, 8, True, None, 0.1, lambda b, loss, mets: every.append(b))
    assert every == list(range(12))
    with pytest.raises(ValueError, match="hook_interval"):
        net.train_epoch(x, y, None, 8, True, None, 0.1, print, -1.0)


def test_terminate_on_nan():
    x, y = _data()
    m = fnet.Sequential([L.Dense(3, input_shape=(5,))], seed=0, device="cpu")
    m.compile(optimizer=fnet.optimizers.SGD(1e30), loss="mse")
    yy = np.ones((96, 3), np.float32) * 1e30
    m.fit(x, yy, batch_size=32, epochs=5, verbose=0, callbacks=[C.TerminateOnNaN()])
    assert len(m.history.history["loss"]) < 5


def test_batch_logs_carry_running_metrics():
    x, y = _data()
    rec = BatchRecorder()
    m = _model()
    m.fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[rec])
    batch_logs = [e[2] for e in rec.events if e[0] == "batch_end"]
    epoch_logs = [e[2] for e in rec.events if e[0] == "epoch_end"][0]
    assert set(batch_logs[0]) == {"loss", "accuracy"}
    assert batch_logs[-1]["accuracy"] == epoch_logs["accuracy"]


def test_evaluate_and_predict_progress_and_hooks(capsys):
    x, y = _data()
    m = _model()
    quiet = m.evaluate(x, y, batch_size=10, verbose=0)

    class TestRec(C.Callback):
        def __init__(self):
            super().__init__()
            self.batches = 0

        def on_test_batch_end(self, batch, logs=None):
            self.batches += 1
            self.last = dict(logs)

        def on_predict_batch_end(self, batch, logs=None):
            self.batches += 1

    r = TestRec()
    loud = m.evaluate(x, y, batch_size=10, verbose=1, callbacks=[r])
    assert r.batches == 10 and r.last["loss"] == pytest.approx(quiet[0], rel=1e-12)
    assert loud[0] == pytest.approx(quiet[0], rel=1e-12) and loud[1] == pytest.approx(quiet[1])
    assert "loss" in "".join(capsys.readouterr())
    p = m.predict(x, batch_size=25, callbacks=[r])
    assert r.batches == 14 and np.array_equal(p, m.predict(x))
    with pytest.raises(ValueError, match="verbose"):
        m.evaluate(x, y, verbose=3)


def test_exception_in_a_batch_hook_propagates_and_model_stays_usable():
    x, y = _data()

    class Boom(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyError("boom from a callback")

    m = _model()
    with pytest.raises(KeyError, match="boom from a callback"):
        m.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[Boom()])
    assert m.optimizer.iterations == 2
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)  # not left busy
    assert m.optimizer.iterations == 8
