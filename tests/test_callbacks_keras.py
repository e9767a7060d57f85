"""The Keras 3 callbacks added for issue 11: ReduceLROnPlateau, LearningRateScheduler, CSVLogger,
BackupAndRestore, ModelCheckpoint(save_weights_only=True), LambdaCallback's Keras 3 arguments,
TensorBoard. Expected values are worked out by hand from Keras's documented rules, on the fake
fit loop (callback_fakes.py) where the logs must be chosen, and on real fits otherwise."""

import csv
import json
import os
import types

import numpy as np
import pytest

import fusednet as fnet
from callback_fakes import FakeModel, fake_fit
from fusednet.callbacks import (
    BackupAndRestore,
    Callback,
    CSVLogger,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TensorBoard,
)
from fusednet.layers import Dense


class LRModel(FakeModel):
    """The fake model with an optimizer whose learning rate callbacks may set."""

    def __init__(self, lr=1.0):
        super().__init__()
        self.optimizer = types.SimpleNamespace(learning_rate=lr, iterations=0)


def _logs(values, key="val_loss"):
    return [{"loss": 0.0, key: v} for v in values]


def _data(n=24, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.1).astype(np.float32)
    return x, y


def _linear(seed=0, lr=0.05):
    m = fnet.Sequential([Dense(1, input_shape=(3,))], seed=seed, device="cpu")
    m.compile(optimizer=fnet.optimizers.SGD(learning_rate=lr), loss="mse")
    return m


def _mlp(seed=0):
    m = fnet.Sequential(
        [Dense(8, activation="relu", input_shape=(3,)), fnet.layers.Dropout(0.25), Dense(1)],
        seed=seed,
        device="cpu",
    )
    m.compile(optimizer=fnet.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return m


def _same(a, b):
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


# ---- ReduceLROnPlateau ------------------------------------------------------------------------


def test_reduce_lr_on_plateau_patience_and_cooldown_by_hand():
    # patience=2, factor=0.5, cooldown=1, min_delta=1e-4 (mode min):
    # e0 best=1; e1 wait 1; e2 wait 2 -> lr 0.5, cooldown 1; e3 cooldown ends, 0.5 improves;
    # e4 wait 1; e5 wait 2 -> lr 0.25, cooldown 1; e6 cooldown ends, no improvement, wait 1.
    m = LRModel(1.0)
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1)
    cbs = fake_fit(m, [cb], _logs([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]))
    assert cbs.history.history["learning_rate"] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert m.optimizer.learning_rate == 0.25 and cb.wait == 1 and cb.best == 0.5


def test_reduce_lr_on_plateau_min_delta_max_mode_and_min_lr():
    # mode max, min_delta 0.1: 0.55 does not beat 0.5 by more than 0.1 -> plateau.
    m = LRModel(1.0)
    cb = ReduceLROnPlateau(monitor="val_acc", factor=0.2, patience=1, min_delta=0.1, min_lr=0.3)
    fake_fit(m, [cb], _logs([0.5, 0.55, 0.7, 0.71, 0.72], key="val_acc"))
    # e1: reduce 1.0 -> max(0.2, 0.3) = 0.3; e2 improves; e3 plateau: 0.3 is not above
    # float32(0.3), so Keras leaves it (no reduction below min_lr); e4 the same.
    assert m.optimizer.learning_rate == 0.3


def test_reduce_lr_on_plateau_arguments_and_missing_monitor():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(TypeError, match="unexpected argument"):
        ReduceLROnPlateau(epsilon=1e-3)
    m = LRModel(1.0)
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        fake_fit(m, [ReduceLROnPlateau(patience=0)], [{"loss": 1.0}, {"loss": 2.0}])
    assert m.optimizer.learning_rate == 1.0


def test_reduce_lr_on_plateau_changes_the_rate_fit_trains_with():
    # mode max on a falling loss: every epoch after the first is a plateau (patience 1), so the
    # rate halves after epochs 1 and 2; the logs hold the rate each epoch trained with.
    x, y = _data()
    m = _linear(lr=0.05)
    cb = ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1, min_delta=0)
    h = m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[cb])
    assert h.history["learning_rate"] == [0.05, 0.05, 0.025]
    assert m.optimizer.learning_rate == 0.0125


def test_lr_callbacks_refuse_a_schedule():
    x, y = _data()
    m = fnet.Sequential([Dense(1, input_shape=(3,))], seed=0, device="cpu")
    sched = fnet.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    m.compile(optimizer=fnet.optimizers.SGD(learning_rate=sched), loss="mse")
    with pytest.raises(TypeError, match="learning_rate is a schedule"):
        m.fit(x, y, verbose=0, callbacks=[LearningRateScheduler(lambda e, lr: lr)])


# ---- LearningRateScheduler --------------------------------------------------------------------


def test_learning_rate_scheduler_equals_setting_the_rate_by_hand():
    x, y = _data()
    a, b = _linear(seed=4), _linear(seed=4)
    sched = LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr * 0.5)
    h = a.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[sched])
    for lr in (0.05, 0.025, 0.0125):
        b.optimizer.learning_rate = lr
        b.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert _same(a.get_weights(), b.get_weights())
    assert h.history["learning_rate"] == [0.05, 0.025, 0.0125]


def test_learning_rate_scheduler_one_argument_form_and_zero_rate():
    x, y = _data()
    m = _linear()
    seen = []
    freeze = LearningRateScheduler(lambda epoch: 0.05 if epoch == 0 else 0.0)
    grab = LambdaCallback(on_epoch_end=lambda e, logs: seen.append(m.get_weights()))
    m.fit(x, y, epochs=3, verbose=0, callbacks=[freeze, grab])
    assert not _same(seen[0], _linear().get_weights())
    assert _same(seen[0], seen[1]) and _same(seen[1], seen[2])  # lr 0: no update


def test_learning_rate_scheduler_needs_a_float(capsys):
    m = LRModel(0.1)
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        fake_fit(m, [LearningRateScheduler(lambda e, lr: 1)], _logs([1.0]))
    fake_fit(m, [LearningRateScheduler(lambda e, lr: np.float32(0.5), verbose=1)], _logs([1.0]))
    assert m.optimizer.learning_rate == 0.5
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


# ---- CSVLogger --------------------------------------------------------------------------------

EPOCH_LOGS = [
    {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5},
    {"loss": 0.2345, "accuracy": 0.91, "val_loss": 0.0001, "val_accuracy": 1.0},
]


def test_csv_logger_writes_keras_rows(tmp_path):
    path = tmp_path / "log.csv"
    fake_fit(FakeModel(), [CSVLogger(path)], EPOCH_LOGS)
    assert path.read_bytes() == (
        b"epoch,accuracy,loss,val_accuracy,val_loss\r\n"
        b"0,0.75,0.5,0.5,0.625\r\n"
        b"1,0.91,0.2345,1.0,0.0001\r\n"
    )


def test_csv_logger_append_separator_and_na(tmp_path):
    path = tmp_path / "log.csv"
    cb = CSVLogger(path, separator=";", append=True)
    fake_fit(FakeModel(), [cb], [{"loss": 1.0}, {"loss": 0.5, "val_loss": 0.25}])
    fake_fit(FakeModel(), [cb], [{"loss": 0.125, "val_loss": 2.0}])
    # No val_ key in the first epoch: Keras adds the val_ columns; missing values are NA; the
    # second fit appends without a second header.
    assert path.read_text().splitlines() == [
        "epoch;loss;val_loss",
        "0;1.0;NA",
        "1;0.5;0.25",
        "0;0.125;2.0",
    ]


def test_csv_logger_real_fit_matches_history(tmp_path):
    x, y = _data()
    path = tmp_path / "train.csv"
    h = _mlp().fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key in ("loss", "mae", "val_loss", "val_mae"):
        assert [float(r[key]) for r in rows] == h.history[key]


# ---- BackupAndRestore -------------------------------------------------------------------------


class Interrupt(Callback):
    """Raises at the end of epoch `at` (after the callbacks before it ran), as a crash would."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("interrupted")


def test_backup_and_restore_resumes_bitwise(tmp_path):
    x, y = _data(40)
    ref = _mlp(seed=9)
    href = ref.fit(x, y, batch_size=8, epochs=5, verbose=0)
    backup = tmp_path / "backup"
    m = _mlp(seed=9)
    with pytest.raises(RuntimeError, match="interrupted"):
        m.fit(x, y, batch_size=8, epochs=5, verbose=0,
              callbacks=[BackupAndRestore(backup), Interrupt(2)])  # fmt: skip
    assert json.loads((backup / "training_metadata.json").read_text()) == {"epoch": 3, "batch": 0}
    # A new process: a fresh model of the same seed, the same fit call.
    again = _mlp(seed=9)
    h = again.fit(x, y, batch_size=8, epochs=5, verbose=0, callbacks=[BackupAndRestore(backup)])
    assert h.epoch == [3, 4]
    assert h.history["loss"] == href.history["loss"][3:]
    assert _same(again.get_weights(), ref.get_weights())
    assert not backup.exists()  # deleted after the completed fit


def test_backup_and_restore_batch_backups_and_kept_files(tmp_path):
    x, y = _data(40)
    backup = tmp_path / "b"
    cb = BackupAndRestore(backup, save_freq=3, delete_checkpoint=False)
    assert cb._implements_train_batch_end()
    m = _mlp()
    with pytest.raises(RuntimeError):
        m.fit(x, y, batch_size=8, epochs=4, verbose=0, callbacks=[cb, Interrupt(1)])
    # 5 batches an epoch, a backup every 3: after batch 2 of epoch 0, batch 0 of epoch 1
    # (batches 3, 4, 0) and batch 3 of epoch 1; epoch 1 never completes -> resume at epoch 1.
    meta = json.loads((backup / "training_metadata.json").read_text())
    assert meta == {"epoch": 1, "batch": 3}
    seen = []
    rec = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))
    m2 = _mlp()
    m2.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[cb, rec])
    assert seen == [1, 2] and (backup / "latest.weights.npz").exists()


def test_backup_and_restore_falls_back_to_the_previous_backup(tmp_path):
    x, y = _data(16)
    backup = tmp_path / "b"
    cb = BackupAndRestore(backup, double_checkpoint=True, delete_checkpoint=False)
    m = _linear()
    m.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    (backup / "latest.weights.npz").write_bytes(b"torn write")
    seen = []
    rec = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))
    _linear().fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[cb, rec])
    assert seen == [1, 2]  # the .bkp of epoch 0's end: resume at epoch 1


def test_backup_and_restore_arguments(tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        BackupAndRestore(tmp_path, save_freq="batch")
    other = tmp_path / "keep"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    x, y = _data(8)
    _linear().fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(other)])
    assert os.listdir(other) == ["notes.txt"]  # only the backup files are removed


# ---- ModelCheckpoint(save_weights_only=True) --------------------------------------------------


def test_model_checkpoint_saves_loadable_weights(tmp_path):
    x, y = _data()
    m = _mlp(seed=1)
    weights = []
    grab = LambdaCallback(on_epoch_end=lambda e, logs: weights.append(m.get_weights()))
    ckpt = ModelCheckpoint(tmp_path / "w-{epoch:02d}.weights.h5", save_weights_only=True)
    m.fit(x, y, epochs=3, verbose=0, callbacks=[grab, ckpt])
    assert sorted(os.listdir(tmp_path)) == [f"w-0{i}.weights.h5" for i in (1, 2, 3)]
    fresh = _mlp(seed=2)
    fresh.load_weights(tmp_path / "w-02.weights.h5")
    assert _same(fresh.get_weights(), weights[1])


def test_model_checkpoint_best_weights_only(tmp_path):
    x, y = _data()
    m = _linear(lr=0.05)
    path = tmp_path / "best.npz"
    ckpt = ModelCheckpoint(path, monitor="loss", save_best_only=True, save_weights_only=True)
    h = m.fit(x, y, epochs=4, verbose=0, callbacks=[ckpt])
    best = int(np.argmin(h.history["loss"]))
    assert ckpt.best == h.history["loss"][best]
    m.load_weights(path)
    assert m.optimizer.iterations == (best + 1) * 1  # 24 samples, batch 32: one step an epoch


# ---- LambdaCallback (Keras 3 arguments) -------------------------------------------------------


def test_lambda_callback_keras3_positional_order_and_batch_hooks():
    x, y = _data(20)
    calls = []
    cb = LambdaCallback(
        lambda e, logs: calls.append(("epoch_begin", e)),
        lambda e, logs: calls.append(("epoch_end", e)),
        lambda logs: calls.append(("train_begin",)),
        lambda logs: calls.append(("train_end",)),
        lambda b, logs: calls.append(("batch_begin", b)),
        lambda b, logs: calls.append(("batch_end", b)),
    )
    _linear().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    epoch = [("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1)]
    epoch += [("batch_begin", 2), ("batch_end", 2)]
    expected = [("train_begin",)]
    for e in range(2):
        expected += [("epoch_begin", e), *epoch, ("epoch_end", e)]
    assert calls == [*expected, ("train_end",)]


def test_lambda_callback_other_hooks_by_keyword():
    x, y = _data(20)
    seen = []
    cb = LambdaCallback(
        on_test_begin=lambda logs: seen.append("test_begin"),
        on_batch_end=lambda b, logs: seen.append(b),
    )
    _linear().fit(x, y, batch_size=10, epochs=1, validation_data=(x, y), verbose=0,
                  callbacks=[cb])  # fmt: skip
    assert seen == [0, 1, "test_begin"]


# ---- TensorBoard ------------------------------------------------------------------------------


def _scalars(logdir):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: [(s.step, s.value) for s in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_writes_keras_epoch_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    m = _mlp()
    h = m.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
              callbacks=[TensorBoard(tmp_path)])  # fmt: skip
    train, val = _scalars(tmp_path / "train"), _scalars(tmp_path / "validation")
    assert {"epoch_loss", "epoch_mae", "epoch_learning_rate"} <= set(train)
    f32 = lambda v: [float(np.float32(a)) for a in v]  # noqa: E731 (event values are float32)
    assert train["epoch_loss"] == list(zip([0, 1, 2], f32(h.history["loss"])))
    assert [v for _, v in train["epoch_learning_rate"]] == f32([0.01] * 3)
    assert val["epoch_loss"] == list(zip([0, 1, 2], f32(h.history["val_loss"])))
    # evaluation_<name>_vs_iterations at the optimizer step count (1 batch an epoch here)
    assert [s for s, _ in val["evaluation_loss_vs_iterations"]] == [1, 2, 3]


def test_tensorboard_batch_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data(40)
    cb = TensorBoard(tmp_path, update_freq=2)
    assert cb._implements_train_batch_end()
    _linear().fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    # 5 batches an epoch, global batch count 1..10, written every 2nd.
    assert [s for s, _ in _scalars(tmp_path / "train")["batch_loss"]] == [2, 4, 6, 8, 10]
    assert not TensorBoard(tmp_path)._implements_train_batch_end()


def test_tensorboard_arguments(tmp_path):
    pytest.importorskip("tensorboard")
    with pytest.raises(ValueError, match="histogram_freq=1 is not supported"):
        TensorBoard(tmp_path, histogram_freq=1)
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(tmp_path, update_freq=0)


def test_tensorboard_without_the_package_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("tensorboard"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(ImportError, match="needs the 'tensorboard' package"):
        TensorBoard(tmp_path)


# ---- Keras's own callback tests, ported (keras/src/callbacks/*_test.py) -----------------------


def _keras_setup(optimizer):
    """Keras's test model: Dense(5), Dense(2) built by fit, mse, 10 samples of 3 features with
    one-hot targets of 2 classes."""
    rng = np.random.default_rng(1337)
    x, xv = rng.random((10, 3)), rng.random((10, 3))
    y = fnet.utils.to_categorical(rng.integers(0, 2, 10), 2)
    yv = fnet.utils.to_categorical(rng.integers(0, 2, 10), 2)
    m = fnet.Sequential([Dense(5), Dense(2)], seed=0, device="cpu")
    m.compile(loss="mse", optimizer=optimizer)
    return m, x, y, (xv, yv)


@pytest.mark.parametrize(
    ("kwargs", "epochs", "lr"),
    [
        ({"min_delta": 100}, 2, 0.01),  # test_reduces_lr_with_model_fit
        ({"min_delta": 10, "min_lr": 0.005}, 4, 0.005),  # test_honors_min_lr
        ({"min_delta": 100, "cooldown": 2}, 4, 0.001),  # test_cooldown: two reductions
    ],
)
def test_keras_reduce_lr_on_plateau_tests(kwargs, epochs, lr):
    m, x, y, val = _keras_setup(fnet.optimizers.Adam(0.1))
    cb = ReduceLROnPlateau(patience=1, factor=0.1, monitor="val_loss", **kwargs)
    m.fit(x, y, validation_data=val, callbacks=[cb], epochs=epochs, verbose=0)
    assert m.optimizer.learning_rate == pytest.approx(lr, rel=1e-12)


def test_keras_reduce_lr_on_plateau_state_reset_across_fit_calls():
    m, *_ = _keras_setup("adam")
    cb = ReduceLROnPlateau(patience=1, factor=0.1, monitor="loss", min_delta=0, cooldown=2)
    cb.set_model(m)
    cb.on_train_begin()
    cb.best, cb.wait, cb.cooldown_counter = 0.5, 3, 2
    cb.on_train_begin()
    assert cb.best is None and cb.wait == 0 and cb.cooldown_counter == 0


def test_keras_learning_rate_scheduler_tests(capsys):
    m, x, y, _ = _keras_setup("sgd")
    cb = LearningRateScheduler(lambda step: 1.0 / (2.0 + step), verbose=1)
    h = m.fit(x, y, callbacks=[cb], epochs=1, verbose=0)
    assert m.optimizer.learning_rate == 0.5
    assert "LearningRateScheduler setting learning rate to 0.5" in capsys.readouterr().out
    assert type(h.history["learning_rate"][0]) is float and h.history["learning_rate"] == [0.5]
    m, x, y, _ = _keras_setup(fnet.optimizers.Adam(0.03))
    m.fit(x, y, callbacks=[LearningRateScheduler(lambda step, lr: lr / 2)], epochs=2, verbose=0)
    assert m.optimizer.learning_rate == 0.03 / 4.0


def test_keras_lambda_callback_no_args_and_additional_kwargs():
    assert isinstance(LambdaCallback(), LambdaCallback)
    cb = LambdaCallback(custom_method=lambda logs: None)
    assert hasattr(cb, "custom_method")
    assert not _wants_batch_hooks(cb)  # an attribute, not a hook: fit stays native


def _wants_batch_hooks(cb):
    return fnet.callbacks.CallbackList([cb]).wants_batch_hooks


class KerasInterrupt(Callback):
    """Keras's InterruptingCallback: raises at the epoch_int-th epoch end of its life."""

    def __init__(self, epoch_int):
        super().__init__()
        self.epoch_count, self.epoch_int = 0, epoch_int

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_count += 1
        if self.epoch_count == self.epoch_int:
            raise RuntimeError("EpochInterruption")


def test_keras_backup_and_restore_best_case_epoch(tmp_path):
    # 12 samples, batch 4: 3 steps an epoch (Keras counts them with a counting layer; here the
    # optimizer's iteration count).
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 3)), rng.random((12, 1))
    m = fnet.Sequential([Dense(1, input_shape=(3,))], seed=0, device="cpu")
    m.compile(loss="mse", optimizer="sgd")
    backup = tmp_path / "subdir"
    cbk = BackupAndRestore(backup)
    assert not backup.exists()
    with pytest.raises(RuntimeError, match="EpochInterruption"):
        m.fit(x, y, batch_size=4, callbacks=[cbk, KerasInterrupt(2)], epochs=6, verbose=0)
    assert cbk._current_epoch == 2 and backup.exists() and m.optimizer.iterations == 6
    hist = m.fit(x, y, batch_size=4, callbacks=[cbk], epochs=5, verbose=0)
    assert cbk._current_epoch == 5 and hist.epoch[-1] == 4
    assert m.optimizer.iterations == 5 * 3


def test_keras_csv_logger_logs_nan(tmp_path):
    path = tmp_path / "log.csv"
    fake_fit(FakeModel(), [CSVLogger(path)], [{"loss": float("nan")}])
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    assert "nan" in rows[-1]


def test_tensorboard_on_evaluate_alone(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    m = _linear()
    m.fit(x, y, epochs=2, verbose=0)
    loss = m.evaluate(x, y, verbose=0, callbacks=[TensorBoard(tmp_path)])
    got = _scalars(tmp_path / "validation")["evaluation_loss_vs_iterations"]
    assert got == [(2, float(np.float32(loss)))]  # at the optimizer's 2 steps so far
