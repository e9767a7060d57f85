"""The README's Embedding recipes run as written: examples/arrays.py (a training loop of your own
on fusednet.ops) and examples/sklearn_pipeline.py (Pipeline + GridSearchCV(n_jobs=2))."""

import os
import re
import subprocess
import sys

import pytest

import fusednet

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples")
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fusednet.__file__)))


def run_example(name, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, name)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def percent(text, label):
    match = re.search(label + r" (\d+\.\d)%", text)
    assert match, text
    return float(match.group(1)) / 100


def test_arrays_example_trains_with_ops(tmp_path):
    out = run_example("arrays.py", tmp_path)
    losses = [float(v) for v in re.findall(r"loss (\d+\.\d+)", out)]
    assert len(losses) == 5 and losses[-1] < losses[0] / 10, out
    assert percent(out, "test accuracy") > 0.95


def test_sklearn_pipeline_example(tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    out = run_example("sklearn_pipeline.py", tmp_path)
    assert "best parameters" in out
    assert percent(out, "test accuracy") > 0.95
