"""Real data: 64-128-10 on scikit-learn's digits reaches >= 97% test accuracy."""

import os
import runpy
import sys

import pytest

pytest.importorskip("sklearn")

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "digits.py")


def test_digits_accuracy():
    sys.path.insert(0, os.path.dirname(EXAMPLE))
    try:
        import digits
    finally:
        sys.path.pop(0)
    _, loss, acc, _, _ = digits.train(epochs=40, verbose=0)
    assert acc >= 0.97, f"test accuracy {acc:.4f} < 0.97 (loss {loss:.4f})"


def test_example_runs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["digits.py", "--epochs", "3", "--verbose", "0"])
    runpy.run_path(EXAMPLE, run_name="__main__")
    out = capsys.readouterr().out
    assert "test accuracy" in out and "predictions identical = True" in out
