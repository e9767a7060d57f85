"""Callbacks driven by a fake model and a fake fit loop (callback_fakes.py); no dependency on the
real model. The progress bar's tests are in test_progbar.py."""

import math
import os

import numpy as np
import pytest

from callback_fakes import FakeModel, Recorder, fake_fit
from fusednet.callbacks import (
    Callback,
    CallbackList,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ProgbarLogger,
    TerminateOnNaN,
)

# --- Callback, CallbackList ------------------------------------------------------------------


def test_hooks_fire_in_order_for_each_callback_in_list_order():
    log = []
    model = FakeModel()
    fake_fit(
        model, [Recorder("a", log), Recorder("b", log)], [{"loss": 1.0}, {"loss": 0.5}], steps=2
    )
    expected = [("train_begin",)]
    for epoch in range(2):
        expected.append(("epoch_begin", epoch))
        for batch in range(2):
            expected += [("batch_begin", batch), ("batch_end", batch)]
        expected.append(("epoch_end", epoch))
    expected.append(("train_end",))
    want = [(who, "on_" + e[0]) + e[1:] for e in expected for who in ("a", "b")]
    assert log == want


def test_set_model_and_params_reach_every_callback_including_appended():
    model = FakeModel()
    params = {"epochs": 3, "steps": 5, "verbose": 0, "batch_size": 2, "samples": 10}
    a, b = Callback(), Callback()
    cbs = CallbackList([a], model=model, params=params)
    cbs.append(b)
    for cb in (a, b):
        assert cb.model is model and cb.params == params
    assert len(cbs) == 2 and list(cbs) == [a, b]


def test_on_batch_aliases_are_the_train_batch_hooks():
    seen = []

    class Old(Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(("old", batch, logs["loss"]))

    class New(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(("new", batch, logs["loss"]))

    cbs = CallbackList([Old(), New()])
    cbs.on_train_batch_end(0, {"loss": 1.5})
    cbs.on_batch_end(1, {"loss": 2.5})  # the alias on the list too
    assert seen == [("old", 0, 1.5), ("new", 0, 1.5), ("old", 1, 2.5), ("new", 1, 2.5)]


def test_test_and_predict_hooks_dispatch():
    rec = Recorder()
    cbs = CallbackList([rec])
    cbs.on_test_begin()
    cbs.on_test_batch_begin(0)
    cbs.on_test_batch_end(0)
    cbs.on_test_end()
    cbs.on_predict_begin()
    cbs.on_predict_batch_begin(0)
    cbs.on_predict_batch_end(0)
    cbs.on_predict_end()
    assert [c[1] for c in rec.calls] == [
        "on_test_begin",
        "on_test_batch_begin",
        "on_test_batch_end",
        "on_test_end",
        "on_predict_begin",
        "on_predict_batch_begin",
        "on_predict_batch_end",
        "on_predict_end",
    ]


def test_logs_default_to_empty_dict_and_are_shared_between_callbacks():
    got = []
    adder = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__("lr", 0.1))
    reader = LambdaCallback(on_epoch_end=lambda epoch, logs: got.append(dict(logs)))
    cbs = CallbackList([adder, reader])
    cbs.on_epoch_end(0)
    assert got == [{"lr": 0.1}]


def test_callbacks_must_be_callback_instances():
    with pytest.raises(
        TypeError, match="callbacks: expected fusednet.callbacks.Callback instances, got function"
    ):
        CallbackList([lambda: None])
    with pytest.raises(TypeError, match="got int"):
        CallbackList().append(3)


def test_wants_batch_hooks():
    class Begin(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pass

    class End(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class EpochOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    quiet = [EpochOnly(), EarlyStopping(), TerminateOnNaN(), ModelCheckpoint("m.fnet")]
    cbs = CallbackList(quiet, add_history=True, add_progbar=True, verbose=0)
    assert not cbs.wants_batch_hooks
    assert not cbs.wants_batch_begin_hooks and not cbs.wants_batch_end_hooks

    cbs = CallbackList([Begin()])
    assert cbs.wants_batch_hooks and cbs.wants_batch_begin_hooks and not cbs.wants_batch_end_hooks
    cbs = CallbackList([End()])
    assert cbs.wants_batch_hooks and cbs.wants_batch_end_hooks and not cbs.wants_batch_begin_hooks

    # The progress bar: per batch at verbose=1, per epoch at verbose=2.
    assert CallbackList(add_progbar=True, verbose=1).wants_batch_end_hooks
    assert not CallbackList(add_progbar=True, verbose=1).wants_batch_begin_hooks
    assert not CallbackList(add_progbar=True, verbose=2).wants_batch_hooks
    assert CallbackList(add_progbar=True, verbose=0).progbar is None

    # LambdaCallback asks only for the hooks it was given.
    assert not CallbackList([LambdaCallback(on_epoch_end=print)]).wants_batch_hooks
    assert CallbackList([LambdaCallback(on_batch_end=print)]).wants_batch_end_hooks
    assert CallbackList([LambdaCallback(on_batch_begin=print)]).wants_batch_begin_hooks
    assert CallbackList([LambdaCallback(on_train_batch_end=print)]).wants_batch_end_hooks

    # ModelCheckpoint needs batches only when saving every N batches.
    assert CallbackList([ModelCheckpoint("m.fnet", save_freq=10)]).wants_batch_end_hooks


def test_batch_hook_interval_only_for_progress_displays():
    class End(Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    class Begin(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            pass

    bar = CallbackList(add_progbar=True, verbose=1)
    assert bar.batch_hook_interval == ProgbarLogger.refresh_interval > 0
    # Any other listener needs every batch.
    assert CallbackList([End()], add_progbar=True, verbose=1).batch_hook_interval == 0.0
    assert CallbackList([Begin()], add_progbar=True, verbose=1).batch_hook_interval == 0.0
    assert CallbackList([End()]).batch_hook_interval == 0.0
    assert CallbackList().batch_hook_interval == 0.0


def test_wants_test_and_predict_batch_hooks():
    class T(Callback):
        def on_test_batch_end(self, batch, logs=None):
            pass

    class P(Callback):
        def on_predict_batch_begin(self, batch, logs=None):
            pass

    assert CallbackList([T()]).wants_test_batch_hooks
    assert not CallbackList([T()]).wants_predict_batch_hooks
    assert CallbackList([P()]).wants_predict_batch_hooks
    assert not CallbackList([History()]).wants_test_batch_hooks


def test_default_callbacks_are_appended_once():
    user_history = History()
    cbs = CallbackList([user_history], add_history=True, add_progbar=True, verbose=2)
    assert cbs.history is user_history
    assert [type(c) for c in cbs] == [History, ProgbarLogger]
    cbs = CallbackList([Recorder()], add_history=True)
    assert isinstance(cbs.callbacks[-1], History)


# --- History -----------------------------------------------------------------------------------


def test_history_records_epoch_logs_and_is_set_on_model():
    model = FakeModel()
    logs = [
        {"loss": np.float32(1.0), "accuracy": 0.5, "val_loss": 1.2, "val_accuracy": 0.4},
        {"loss": 0.75, "accuracy": 0.625, "val_loss": 1.0, "val_accuracy": 0.5},
        {"loss": 0.5, "accuracy": 0.75, "val_loss": np.array(0.875), "val_accuracy": 0.6},
    ]
    cbs = fake_fit(model, None, logs)
    h = cbs.history
    assert model.history is h
    assert h.epoch == [0, 1, 2]
    assert h.history == {
        "loss": [1.0, 0.75, 0.5],
        "accuracy": [0.5, 0.625, 0.75],
        "val_loss": [1.2, 1.0, 0.875],
        "val_accuracy": [0.4, 0.5, 0.6],
    }
    assert all(type(v) is float for v in h.history["loss"] + h.history["val_loss"])
    assert h.params == {"epochs": 3, "steps": 3, "verbose": 0, "batch_size": 4, "samples": 12}


def test_history_with_initial_epoch_records_absolute_epochs():
    cbs = fake_fit(
        FakeModel(), None, [{"loss": 3.0}, {"loss": 2.0}, {"loss": 1.0}], initial_epoch=1
    )
    assert cbs.history.epoch == [1, 2]
    assert cbs.history.history == {"loss": [2.0, 1.0]}


# --- EarlyStopping -----------------------------------------------------------------------------


def losses(*values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]


def test_early_stopping_patience():
    model = FakeModel()
    es = EarlyStopping(patience=2)
    cbs = fake_fit(model, [es], losses(1.0, 0.8, 0.9, 0.85, 0.7, 0.6))
    # best at epoch 1; epochs 2 and 3 don't improve -> stop at epoch 3
    assert cbs.history.epoch == [0, 1, 2, 3]
    assert es.stopped_epoch == 3 and es.best == 0.8 and es.best_epoch == 1
    assert model.stop_training is True


def test_early_stopping_patience_zero_stops_at_first_non_improvement():
    es = EarlyStopping(patience=0)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, 0.5, 0.6, 0.1))
    assert cbs.history.epoch == [0, 1, 2] and es.stopped_epoch == 2


def test_early_stopping_never_stops_while_improving():
    model = FakeModel()
    es = EarlyStopping(patience=1)
    cbs = fake_fit(model, [es], losses(5, 4, 3, 2, 1))
    assert cbs.history.epoch == [0, 1, 2, 3, 4]
    assert es.stopped_epoch == 0 and model.stop_training is False and es.best_epoch == 4


def test_early_stopping_min_delta():
    # Improvements of 0.05 are smaller than min_delta=0.1: they don't count.
    es = EarlyStopping(patience=2, min_delta=0.1)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, 0.95, 0.91, 0.5))
    assert cbs.history.epoch == [0, 1, 2] and es.best == 1.0
    # An improvement larger than min_delta counts.
    es = EarlyStopping(patience=1, min_delta=0.1)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, 0.85, 0.8))
    assert cbs.history.epoch == [0, 1, 2] and es.best == 0.85 and es.stopped_epoch == 2
    # Negative min_delta means the same as positive (Keras takes abs).
    assert EarlyStopping(min_delta=-0.1).min_delta == 0.1


def test_early_stopping_mode_max_and_auto():
    es = EarlyStopping(monitor="val_accuracy", patience=1)
    assert es.mode == "max"
    cbs = fake_fit(FakeModel(), [es], losses(0.5, 0.7, 0.6, 0.65, 0.9, key="val_accuracy"))
    assert cbs.history.epoch == [0, 1, 2] and es.best == 0.7 and es.best_epoch == 1
    assert EarlyStopping(monitor="acc").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"
    assert EarlyStopping(monitor="val_mae").mode == "min"
    # An explicit mode wins over the name.
    es = EarlyStopping(monitor="val_accuracy", mode="min", patience=0)
    cbs = fake_fit(FakeModel(), [es], losses(0.5, 0.7, 0.9, key="val_accuracy"))
    assert cbs.history.epoch == [0, 1]


def test_early_stopping_baseline():
    # Keras 3: improving epochs that miss the baseline 0.5 don't reset the wait, so the first
    # epoch without improvement stops training two epochs earlier than without a baseline.
    es = EarlyStopping(patience=2, baseline=0.5)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, 0.9, 0.95, 0.97, 0.99))
    assert cbs.history.epoch == [0, 1, 2] and es.stopped_epoch == 2 and es.best == 0.9
    es = EarlyStopping(patience=2)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, 0.9, 0.95, 0.97, 0.99))
    assert cbs.history.epoch == [0, 1, 2, 3] and es.stopped_epoch == 3
    # Beating the baseline resets the wait as usual.
    es = EarlyStopping(patience=1, baseline=0.5)
    cbs = fake_fit(FakeModel(), [es], losses(0.4, 0.3, 0.2, 0.25, 0.3))
    assert cbs.history.epoch == [0, 1, 2, 3] and es.best == 0.2


def test_early_stopping_start_from_epoch():
    es = EarlyStopping(patience=0, start_from_epoch=2)
    cbs = fake_fit(FakeModel(), [es], losses(0.1, 0.9, 1.0, 0.8, 0.85, 0.3))
    # Epochs 0 and 1 are ignored: best starts at epoch 2.
    assert cbs.history.epoch == [0, 1, 2, 3, 4] and es.best == 0.8 and es.stopped_epoch == 4


def test_early_stopping_restore_best_weights():
    model = FakeModel()
    es = EarlyStopping(patience=2, restore_best_weights=True)
    fake_fit(model, [es], losses(1.0, 0.5, 0.7, 0.9, 0.1))
    assert es.stopped_epoch == 3 and es.best_epoch == 1
    for w in model.weights:
        np.testing.assert_array_equal(w, np.full_like(w, 1))  # weights as after epoch 1


def test_early_stopping_restore_best_weights_at_end_without_stopping():
    model = FakeModel()
    es = EarlyStopping(patience=5, restore_best_weights=True)
    fake_fit(model, [es], losses(1.0, 0.2, 0.7, 0.9))
    assert es.stopped_epoch == 0 and es.best_epoch == 1
    for w in model.weights:
        np.testing.assert_array_equal(w, np.full_like(w, 1))


def test_early_stopping_without_restore_keeps_last_weights():
    model = FakeModel()
    fake_fit(model, [EarlyStopping(patience=1)], losses(1.0, 0.2, 0.7, 0.9))
    np.testing.assert_array_equal(model.weights[0], np.full((2, 3), 2))  # the stopping epoch


def test_early_stopping_is_reusable_across_fits():
    es = EarlyStopping(patience=0)
    fake_fit(FakeModel(), [es], losses(0.1, 0.5))
    assert es.stopped_epoch == 1
    cbs = fake_fit(FakeModel(), [es], losses(3.0, 2.0, 1.0))
    assert es.stopped_epoch == 0 and cbs.history.epoch == [0, 1, 2] and es.best == 1.0


def test_early_stopping_nan_is_not_an_improvement():
    es = EarlyStopping(patience=0)
    cbs = fake_fit(FakeModel(), [es], losses(1.0, float("nan"), 0.5))
    assert cbs.history.epoch == [0, 1] and es.best == 1.0


def test_early_stopping_missing_monitor_warns_once_listing_keys():
    es = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(
        UserWarning,
        match=r"`val_loss` which is not available. Available "
        r"metrics are: loss, accuracy",
    ) as record:
        cbs = fake_fit(FakeModel(), [es], [{"loss": 1.0, "accuracy": 0.5}] * 3)
    assert len([w for w in record if "val_loss" in str(w.message)]) == 1
    assert cbs.history.epoch == [0, 1, 2] and es.stopped_epoch == 0


def test_early_stopping_verbose_messages(capsys):
    fake_fit(
        FakeModel(),
        [EarlyStopping(patience=0, verbose=1, restore_best_weights=True)],
        losses(1.0, 2.0),
    )
    out = capsys.readouterr().out
    assert "Epoch 2: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 1." in out


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(mode="best"), ValueError, r"mode: expected 'auto', 'min' or 'max', got 'best'"),
        (dict(patience=-1), ValueError, r"patience: expected an int >= 0, got -1"),
        (dict(patience=1.5), TypeError, r"patience: expected an int, got float"),
        (dict(min_delta="x"), TypeError, r"min_delta: expected a number, got str"),
        (dict(monitor=3), TypeError, r"monitor: expected a log key"),
        (dict(start_from_epoch=-2), ValueError, r"start_from_epoch: expected an int >= 0"),
    ],
)
def test_early_stopping_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        EarlyStopping(**kwargs)


# --- ModelCheckpoint ---------------------------------------------------------------------------


def test_checkpoint_every_epoch_formats_epoch_one_based_and_log_keys(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.fnet")
    fake_fit(model, [ModelCheckpoint(path)], losses(1.0, 0.456, 0.7))
    assert model.saved == [
        str(tmp_path / n) for n in ("ckpt-01-1.00.fnet", "ckpt-02-0.46.fnet", "ckpt-03-0.70.fnet")
    ]
    assert model.saved_weights == []


def test_checkpoint_save_best_only(tmp_path):
    model = FakeModel()
    path = str(tmp_path / "best-{epoch}.fnet")
    fake_fit(model, [ModelCheckpoint(path, save_best_only=True)], losses(1.0, 0.5, 0.7, 0.4, 0.4))
    assert [p.rsplit("-", 1)[1] for p in model.saved] == ["1.fnet", "2.fnet", "4.fnet"]


def test_checkpoint_save_best_only_mode_max_and_weights_only(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(
        str(tmp_path / "w{epoch}.npz"),
        monitor="val_accuracy",
        save_best_only=True,
        save_weights_only=True,
    )
    assert cb.mode == "max"
    fake_fit(model, [cb], losses(0.5, 0.4, 0.6, 0.6, key="val_accuracy"))
    assert [os.path.basename(p) for p in model.saved_weights] == ["w1.npz", "w3.npz"]
    assert model.saved == [] and cb.best == 0.6


def test_checkpoint_best_persists_across_fits_and_initial_threshold(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(str(tmp_path / "m.fnet"), save_best_only=True)
    fake_fit(model, [cb], losses(0.5))
    fake_fit(model, [cb], losses(0.7, 0.3))
    assert len(model.saved) == 2 and cb.best == 0.3
    model = FakeModel()
    cb = ModelCheckpoint(str(tmp_path / "m.fnet"), save_best_only=True, initial_value_threshold=0.4)
    fake_fit(model, [cb], losses(0.5, 0.45, 0.35))
    assert len(model.saved) == 1


def test_checkpoint_missing_monitor_warns_and_skips(tmp_path):
    model = FakeModel()
    with pytest.warns(UserWarning, match=r"`val_loss` which is not available.*loss"):
        fake_fit(
            model,
            [ModelCheckpoint(str(tmp_path / "m"), save_best_only=True)],
            [{"loss": 1.0}, {"loss": 0.5}],
        )
    assert model.saved == []


def test_checkpoint_save_freq_in_batches(tmp_path):
    model = FakeModel()
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}-b{batch}.fnet"), save_freq=2)
    cbs = fake_fit(model, [cb], losses(1.0, 0.9), steps=3)
    assert cbs.wants_batch_hooks
    # batches counted across epochs: 2nd and 4th and 6th batch seen
    assert [p.rsplit("/", 1)[1] for p in model.saved] == ["e1-b2.fnet", "e2-b1.fnet", "e2-b3.fnet"]


def test_checkpoint_creates_directories_and_bad_format_field(tmp_path):
    model = FakeModel()
    fake_fit(model, [ModelCheckpoint(str(tmp_path / "sub" / "dir" / "m{epoch}"))], losses(1.0))
    assert (tmp_path / "sub" / "dir").is_dir()
    with pytest.raises(
        ValueError,
        match=r"filepath: cannot format .*\{nope\}.*KeyError.*"
        r"fields available: loss, val_loss, epoch",
    ):
        fake_fit(FakeModel(), [ModelCheckpoint(str(tmp_path / "{nope}"))], losses(1.0))


def test_checkpoint_verbose_messages(tmp_path, capsys):
    fake_fit(
        FakeModel(),
        [ModelCheckpoint(str(tmp_path / "m"), save_best_only=True, verbose=1)],
        losses(1.0, 2.0),
    )
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from inf to 1.00000, saving model to" in out
    assert "Epoch 2: val_loss did not improve from 1.00000" in out


def test_checkpoint_needs_the_save_method(tmp_path):
    class NoSaveWeights(FakeModel):
        save_weights = None

    with pytest.raises(TypeError, match=r"needs model.save_weights\(path\)"):
        fake_fit(
            NoSaveWeights(),
            [ModelCheckpoint(str(tmp_path / "w"), save_weights_only=True)],
            losses(1.0),
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(save_freq=0), r"save_freq: expected 'epoch' or an int >= 1 \(batches\), got 0"),
        (dict(save_freq="batch"), r"save_freq: expected 'epoch' or an int >= 1"),
        (dict(mode="up"), r"mode: expected 'auto', 'min' or 'max', got 'up'"),
        (dict(filepath=""), r"filepath: expected a non-empty path"),
    ],
)
def test_checkpoint_bad_arguments(kwargs, match):
    args = dict(filepath="m.fnet")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(**args)


# --- TerminateOnNaN ----------------------------------------------------------------------------


def test_terminate_on_nan_at_epoch_end_without_batch_hooks(capsys):
    model = FakeModel()
    cbs = fake_fit(model, [TerminateOnNaN()], [{"loss": 1.0}, {"loss": math.nan}, {"loss": 0.5}])
    assert not cbs.wants_batch_hooks
    assert cbs.history.epoch == [0, 1] and model.stop_training
    assert "Epoch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_at_batch_end_when_batches_run(capsys):
    model = FakeModel()
    seen = []
    recorder = LambdaCallback(on_batch_end=lambda b, l: seen.append(b))
    cbs = fake_fit(
        model,
        [TerminateOnNaN(), recorder],
        [{"loss": 1.0}, {"loss": 1.0}],
        steps=4,
        batch_logs=lambda e, b: {"loss": math.inf if (e, b) == (0, 2) else 1.0},
    )
    assert seen == [0, 1, 2] and cbs.history.epoch == [0]
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out


def test_terminate_on_nan_leaves_finite_losses_alone():
    model = FakeModel()
    cbs = fake_fit(
        model, [TerminateOnNaN()], [{"loss": 1.0}, {"loss": 1e30}], steps=2, force_batch_hooks=True
    )
    assert cbs.history.epoch == [0, 1] and not model.stop_training


# --- LambdaCallback ----------------------------------------------------------------------------


def test_lambda_callback_calls_given_functions_with_keras_signatures():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: calls.append(("train_end",)),
    )
    fake_fit(FakeModel(), [cb], [{"loss": 2.0}], steps=2)
    assert calls == [
        ("train_begin",),
        ("epoch_begin", 0),
        ("batch_begin", 0),
        ("batch_end", 0, 2.0),
        ("batch_begin", 1),
        ("batch_end", 1, 2.0),
        ("epoch_end", 0, 2.0),
        ("train_end",),
    ]


def test_lambda_callback_other_hooks_by_keyword_and_bad_arguments():
    seen = []
    cb = LambdaCallback(on_test_end=lambda logs: seen.append(logs))
    CallbackList([cb]).on_test_end({"loss": 1.0})
    assert seen == [{"loss": 1.0}]
    with pytest.raises(TypeError, match=r"LambdaCallback: unknown hook 'on_epoch_ends'"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match=r"on_epoch_end: expected a callable, got int"):
        LambdaCallback(on_epoch_end=3)


def test_callback_stopping_training_from_a_lambda():
    model = FakeModel()
    stopper = LambdaCallback(on_epoch_end=lambda e, l: setattr(model, "stop_training", e == 1))
    cbs = fake_fit(model, [stopper], [{"loss": 1.0}] * 5)
    assert cbs.history.epoch == [0, 1]
