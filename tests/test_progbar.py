"""The progress output of fit, evaluate and predict (ProgbarLogger), driven by the fake model
and fit loop of callback_fakes.py."""

import re

import pytest

from callback_fakes import FakeModel, fake_fit
from fusednet.callbacks import CallbackList, EarlyStopping, ModelCheckpoint, ProgbarLogger
from fusednet.callbacks import progbar as cbm  # the bar's internals: _tqdm, _PlainBar, _print

# --- progress output ---------------------------------------------------------------------------

EPOCH_LOGS = [
    {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625, "val_accuracy": 0.5},
    {"loss": 0.2345, "accuracy": 0.91, "val_loss": 0.0001, "val_accuracy": 1.0},
]


def test_verbose_2_prints_one_keras_line_per_epoch(capsys):
    cbs = fake_fit(FakeModel(), None, EPOCH_LOGS, verbose=2)
    assert not cbs.wants_batch_hooks
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    pattern = (
        r"Epoch 2/2 - \d+\.\d\ds - loss: 0\.2345 - accuracy: 0\.9100 - "
        r"val_loss: 1\.0000e-04 - val_accuracy: 1\.0000"
    )
    assert re.fullmatch(pattern, lines[1]), lines[1]
    assert lines[0].startswith("Epoch 1/2 - ") and lines[0].endswith(
        "loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.6250 - val_accuracy: 0.5000"
    )


def test_verbose_0_prints_nothing(capsys):
    fake_fit(FakeModel(), [EarlyStopping(patience=0)], EPOCH_LOGS, verbose=0)
    assert capsys.readouterr().out == ""


def test_verbose_1_with_tqdm_shows_a_bar_per_epoch(capsys):
    pytest.importorskip("tqdm")
    cbs = fake_fit(
        FakeModel(),
        None,
        EPOCH_LOGS,
        verbose=1,
        steps=5,
        batch_logs=lambda e, b: {"loss": 1.0 / (b + 1), "accuracy": 0.5},
    )
    assert cbs.wants_batch_hooks
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "5/5" in out
    assert "val_accuracy: 1.0000" in out  # the final postfix holds the epoch's logs


def test_verbose_1_without_tqdm_falls_back_to_a_plain_bar(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)
    fake_fit(FakeModel(), None, EPOCH_LOGS, verbose=1, steps=4)
    lines = [l for l in capsys.readouterr().out.replace("\r", "\n").splitlines() if l]
    assert re.fullmatch(
        r"Epoch 2/2 4/4 \[=+\] - \d+\.\d\ds - loss: 0\.2345 - .*"
        r"val_accuracy: 1\.0000",
        lines[-1],
    ), lines[-1]


def test_plain_bar_draws_eta_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)
    bar = cbm._PlainBar("Epoch 1/1", 10, interval=0.0)
    bar._tty = True
    bar.update_to(3, {"loss": 0.5})
    bar.finish({"loss": 0.25})
    out = capsys.readouterr().out
    assert re.search(r"\rEpoch 1/1 3/10 \[=========>\.+\] - ETA: \d+s - loss: 0\.5000", out)
    assert out.endswith(" - loss: 0.2500\n")


def test_progbar_evaluate_and_predict_outside_fit(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)
    cbs = CallbackList(add_progbar=True, verbose=1, params={"steps": 2, "verbose": 1})
    assert cbs.wants_test_batch_hooks and cbs.wants_predict_batch_hooks
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_batch_end(1, {"loss": 0.5})
    cbs.on_test_end({"loss": 0.75})
    cbs.on_predict_begin()
    cbs.on_predict_batch_end(0)
    cbs.on_predict_batch_end(1)
    cbs.on_predict_end()
    out = capsys.readouterr().out
    assert re.search(r"Evaluate 2/2 \[=+\] - [\d.]+s - loss: 0\.7500", out)
    assert re.search(r"Predict 2/2 \[=+\] - [\d.]+s\n", out)


def test_progbar_hides_validation_inside_fit(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)

    cbs = CallbackList(add_progbar=True, verbose=2, params={"epochs": 1, "steps": 2})
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    assert not cbs.wants_test_batch_hooks
    # fit's validation pass runs the test hooks on the same list: no bar for it
    cbs.on_test_begin()
    cbs.on_test_batch_end(0, {"loss": 1.0})
    cbs.on_test_end({"loss": 1.0})
    cbs.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    cbs.on_train_end()
    out = capsys.readouterr().out
    assert "Evaluate" not in out and out.count("\n") == 1


def test_progbar_bad_verbose():
    with pytest.raises(ValueError, match=r"verbose: expected 0, 1 or 2, got 3"):
        ProgbarLogger(verbose=3)


def test_verbose_1_bar_completes_when_the_epoch_ran_without_batch_hooks(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)
    fake_fit(FakeModel(), None, EPOCH_LOGS[:1], verbose=1, steps=6, force_batch_hooks=False)
    assert re.search(r"Epoch 1/1 6/6 \[=+\] - ", capsys.readouterr().out)


@pytest.mark.parametrize("use_tqdm", [True, False])
def test_messages_during_an_open_bar_get_their_own_line(capsys, monkeypatch, tmp_path, use_tqdm):
    if use_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setattr(cbm, "_tqdm", None)
    ckpt = ModelCheckpoint(str(tmp_path / "m"), verbose=1)
    fake_fit(FakeModel(), [ckpt], EPOCH_LOGS[:1], verbose=1, steps=2)
    lines = capsys.readouterr().out.replace("\r", "\n").splitlines()
    assert any(l.startswith("Epoch 1: saving model to ") for l in lines), lines


def test_plain_bar_message_breaks_the_bar_line_first(capsys, monkeypatch):
    monkeypatch.setattr(cbm, "_tqdm", None)
    bar = cbm._PlainBar("Epoch 1/1", 4, interval=0.0)
    bar._tty = True
    bar.update_to(1, {"loss": 1.0})
    cbm._print("Batch 1: Invalid loss, terminating training")
    bar.finish(None)
    out = capsys.readouterr().out
    assert "- loss: 1.0000\nBatch 1: Invalid loss, terminating training\n\rEpoch 1/1 1/4" in out
    assert not cbm._PlainBar.mid_line


def test_verbose_2_evaluate_outside_fit_prints_one_line(capsys):
    cbs = CallbackList(add_progbar=True, verbose=2, params={"steps": 3, "verbose": 2})
    assert not cbs.wants_test_batch_hooks
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 0.5, "accuracy": 0.25})
    assert re.fullmatch(
        r"Evaluate - \d+\.\d\ds - loss: 0\.5000 - accuracy: 0\.2500\n", capsys.readouterr().out
    )
