"""The progress output of fit, evaluate and predict (ProgbarLogger), driven by the fake model
and fit loop of callback_fakes.py."""

import re
import sys

import pytest

from callback_fakes import FakeModel, fake_fit
from fusednet.callbacks import CallbackList, EarlyStopping, ModelCheckpoint, ProgbarLogger
from fusednet.callbacks import progbar as cbm  # the bar's internals: _Bar, _print

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


# Keras 3's verbose=1 line: "32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - loss: 0.6695 - ..."
STEP = r"\d+(?:s|ms|us)/step"


def test_verbose_1_shows_a_keras_bar_per_epoch(capsys):
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
    assert "val_accuracy: 1.0000" in out  # the final line holds the epoch's logs
    # Not a terminal: one clean line per epoch, no carriage returns or colour codes.
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(
        rf"5/5 ━{{20}} \d+s {STEP} - loss: 0\.2345 - accuracy: 0\.9100 - "
        r"val_loss: 1\.0000e-04 - val_accuracy: 1\.0000",
        lines[3],
    ), lines[3]


def test_verbose_1_keras_bar_without_batch_logs(capsys):
    fake_fit(FakeModel(), None, EPOCH_LOGS, verbose=1, steps=4)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"4/4 ━{{20}} \d+s {STEP} - loss: 0\.2345 - .*val_accuracy: 1\.0000", lines[-1]
    ), lines[-1]


def test_keras_bar_draws_eta_and_colours_on_a_terminal(capsys):
    bar = cbm._Bar(10, interval=0.0)
    bar._tty = True
    bar.update_to(3, {"loss": 0.5})
    bar.update_to(10, None)
    bar.finish({"loss": 0.25})
    out = capsys.readouterr().out
    # 3/10 of 20 characters done (green), 14 to do (grey); the ETA while running.
    done, todo = "\x1b[32m" + "━" * 6 + "\x1b[0m", "\x1b[37m" + "━" * 14 + "\x1b[0m"
    assert "\r\x1b[1m 3/10\x1b[0m " + done + todo + " \x1b[1m" in out
    assert re.search(rf"\x1b\[1m\d+s\x1b\[0m {STEP} - loss: 0\.5000", out)
    assert out.endswith(" - loss: 0.2500\n")
    assert "\x1b[1m10/10\x1b[0m \x1b[32m" + "━" * 20 + "\x1b[0m\x1b[37m\x1b[0m" in out  # full


def test_keras_bar_of_unknown_length(capsys):
    bar = cbm._Bar(None, interval=0.0)
    bar._tty = True
    bar.update_to(7, {"loss": 0.5})
    bar.finish(None)
    out = capsys.readouterr().out
    assert "\r      7/Unknown \x1b[1m" in out  # Keras's running form
    assert "\r\x1b[1m7/7\x1b[0m \x1b[32m" in out  # the end: the length is now known


def test_keras_bar_formats_times_as_keras():
    assert [cbm._eta(s) for s in (5.7, 61, 3725)] == ["5s", "1:01", "1:02:05"]
    assert [cbm._per_step(s) for s in (2.4, 0.0153, 0.00083, 0.0)] == [
        "2s/step",
        "15ms/step",
        "830us/step",
        "0s/step",
    ]


def test_progbar_evaluate_and_predict_outside_fit(capsys):
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
    assert re.fullmatch(
        rf"2/2 ━{{20}} \d+s {STEP} - loss: 0\.7500\n2/2 ━{{20}} \d+s {STEP}\n", out
    ), out


def test_progbar_hides_validation_inside_fit(capsys):
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


def test_verbose_1_bar_completes_when_the_epoch_ran_without_batch_hooks(capsys):
    fake_fit(FakeModel(), None, EPOCH_LOGS[:1], verbose=1, steps=6, force_batch_hooks=False)
    out = capsys.readouterr().out
    assert re.match(r"6/6 ━{20} ", out), out  # one epoch: Keras prints no "Epoch 1/1"


@pytest.mark.parametrize("tty", [True, False])
def test_messages_during_an_open_bar_get_their_own_line(capsys, monkeypatch, tmp_path, tty):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    ckpt = ModelCheckpoint(str(tmp_path / "m"), verbose=1)
    fake_fit(FakeModel(), [ckpt], EPOCH_LOGS[:1], verbose=1, steps=2)
    lines = capsys.readouterr().out.replace("\r", "\n").splitlines()
    assert any(l.startswith("Epoch 1: saving model to ") for l in lines), lines


def test_bar_message_breaks_the_bar_line_first(capsys):
    bar = cbm._Bar(4, interval=0.0)
    bar._tty = True
    bar.update_to(1, {"loss": 1.0})
    cbm._print("Batch 1: Invalid loss, terminating training")
    bar.finish(None)
    out = capsys.readouterr().out
    assert "- loss: 1.0000\nBatch 1: Invalid loss, terminating training\n\r\x1b[1m1/4" in out
    assert not cbm._Bar.mid_line


def test_verbose_2_evaluate_outside_fit_prints_one_line(capsys):
    cbs = CallbackList(add_progbar=True, verbose=2, params={"steps": 3, "verbose": 2})
    assert not cbs.wants_test_batch_hooks
    cbs.on_test_begin()
    cbs.on_test_end({"loss": 0.5, "accuracy": 0.25})
    assert re.fullmatch(
        r"Evaluate - \d+\.\d\ds - loss: 0\.5000 - accuracy: 0\.2500\n", capsys.readouterr().out
    )
