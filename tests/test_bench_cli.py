"""Smoke test of the benchmark CLI (`python -m fusednet.bench`) and of the NumPy baseline trainer
it ships. No timing assertions: only that the CLI runs, degrades gracefully and writes its JSON."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fusednet.bench.case import Contender
from fusednet.bench.numpy_trainer import NumpyMLP
from fusednet.bench.timing import measure, median_seconds

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__import__("fusednet").__file__)))


def _run_cli(tmp_path, *args, timeout=60):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PYTHON_DIR, env.get("PYTHONPATH")) if p)
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "fusednet.bench", *args, "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, json.loads(out.read_text())


def test_cli_quick_gemm_writes_json(tmp_path):
    stdout, doc = _run_cli(tmp_path, "--quick", "--only", "gemm", "--repeat", "1", "--no-torch")
    assert "FP32 peak" in stdout and "copy bandwidth" in stdout and "ISA" in stdout
    assert doc["env"]["isa"] and doc["peak"]["gflops"] > 0 and doc["copy_bandwidth"]["gbps"] > 0
    names = {c["case"] for c in doc["cases"]}
    # the three MLP shapes named in issue 2 and the fused linear of issue 3
    assert {
        "128x784x256 NN",
        "784x128x256 TN",
        "128x256x784 NT",
        "linear+relu 256x784x256 NN",
    } <= names
    for case in doc["cases"]:
        assert case["group"] == "gemm" and case["flops"] > 0
        assert case["targets"], case["case"]
        numpy_result = case["contenders"]["numpy"]
        assert numpy_result["status"] == "ok" and numpy_result["median_s"] > 0
        assert numpy_result["gflops"] > 0 and len(numpy_result["runs_s"]) >= 1
        ours = case["contenders"]["fusednet"]
        assert ours["status"] in ("ok", "unavailable"), ours
        if ours["status"] == "ok":
            assert case["ratios"]["numpy"] > 0
            assert case["check"]["passed"], case
            assert all(t["met"] in (True, False) for t in case["targets"])
        else:
            assert all(t["met"] is None for t in case["targets"])
        assert case["contenders"]["torch"]["status"] == "unavailable"


def test_cli_rejects_unknown_group(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fusednet.bench", "--only", "gemm,bogus"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": PYTHON_DIR},
    )
    assert proc.returncode == 2
    assert "--only" in proc.stderr and "bogus" in proc.stderr


def test_measure_reports_unavailable_and_errors_without_raising():
    def stub():
        raise NotImplementedError("not built yet")

    def broken():
        raise ValueError("bad")

    calls = []
    results = measure(
        [
            Contender("a", lambda: calls.append(1)),
            Contender("b", stub),
            Contender("c", broken),
            Contender("d", None, reason="not installed"),
        ],
        repeat=3,
        min_run_s=1e-4,
        budget_s=1.0,
    )
    assert results["a"].status == "ok" and len(results["a"].runs_s) == 3 and calls
    assert results["b"].status == "unavailable" and "not built yet" in results["b"].reason
    assert results["c"].status == "error" and "ValueError" in results["c"].reason
    assert results["d"].status == "unavailable" and results["d"].reason == "not installed"


def test_median_seconds_times_each_callable_and_raises_on_failure():
    calls = {"a": 0, "b": 0}

    def bump(key):
        calls[key] += 1

    med = median_seconds(
        {"b": lambda: bump("b"), "a": lambda: bump("a")}, repeat=3, min_run_s=1e-4, budget_s=1.0
    )
    assert list(med) == ["b", "a"]  # the callers' order
    assert all(t > 0 for t in med.values()) and calls["a"] > 3 and calls["b"] > 3

    def broken():
        raise ValueError("bad")

    with pytest.raises(RuntimeError, match="c: error: ValueError: bad"):
        median_seconds({"a": lambda: None, "c": broken}, repeat=1, min_run_s=1e-4, budget_s=1.0)


@pytest.mark.parametrize(
    "loss,sizes", [("softmax_cross_entropy", (5, 4, 3)), ("binary_cross_entropy", (3, 4, 1))]
)
def test_numpy_trainer_gradients_match_finite_differences(loss, sizes):
    rng = np.random.default_rng(0)
    model = NumpyMLP(sizes, loss, seed=1)
    model.params = [p.astype(np.float64) for p in model.params]
    x = rng.standard_normal((7, sizes[0]))
    y = (
        rng.integers(0, sizes[-1], 7)
        if loss == "softmax_cross_entropy"
        else rng.integers(0, 2, (7, 1)).astype(np.float64)
    )

    def loss_value():
        return model.loss_and_grad(model.forward(x)[0], y)[0]

    logits, inputs = model.forward(x)
    grads = model.backward(model.loss_and_grad(logits, y)[1], inputs)
    eps = 1e-6
    for p, g in zip(model.params, grads):
        for idx in list(np.ndindex(p.shape))[:6]:
            old = p[idx]
            p[idx] = old + eps
            up = loss_value()
            p[idx] = old - eps
            down = loss_value()
            p[idx] = old
            assert abs((up - down) / (2 * eps) - g[idx]) < 1e-5, (idx, g[idx])


def test_numpy_trainer_learns():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2), dtype=np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    model = NumpyMLP((2, 8, 2), learning_rate=1e-2, seed=0)
    history = model.fit(x, y, batch_size=32, epochs=20)
    assert history[-1] < 0.5 * history[0]
    assert (model.predict(x).argmax(axis=1) == y).mean() > 0.9


def test_summary_ratios_targets_and_table():
    from fusednet.bench import report
    from fusednet.bench.case import Case, ContenderResult, Target

    def ok(name, seconds):
        return ContenderResult(
            name, "ok", runs_s=[seconds, seconds], calls_per_run=1, median_s=seconds, min_s=seconds
        )

    case = Case("gemm", "toy", [], flops=2e9, targets=(Target("numpy", 1.0), Target("torch", 3.0)))
    results = {
        "fusednet": ok("fusednet", 0.5),
        "numpy": ok("numpy", 1.0),
        "torch": ok("torch", 1.0),
    }
    rec = report.summarize(
        case,
        results,
        {"status": "ok", "error": 0.0, "tolerance": 1e-4, "passed": True},
        peak_gflops=8.0,
        copy_gbps=10.0,
    )
    assert rec["ratios"] == {"numpy": 2.0, "torch": 2.0}
    assert [t["met"] for t in rec["targets"]] == [True, False]
    assert rec["contenders"]["fusednet"]["gflops"] == 4.0
    assert rec["contenders"]["fusednet"]["pct_peak"] == 50.0
    table = report.group_text("gemm", [rec])
    assert ">=1x numpy MET" in table and ">=3x torch MISSED" in table and "2.00x" in table

    wrong = report.summarize(
        case,
        results,
        {"status": "ok", "error": 1.0, "tolerance": 1e-4, "passed": False},
        peak_gflops=8.0,
        copy_gbps=10.0,
    )
    assert [t["met"] for t in wrong["targets"]] == [False, False]
    assert "WRONG RESULTS" in report.summary_text([wrong], [])


def test_numpy_only_erf_fallback_is_accurate():
    import math

    from fusednet.bench.cases_elementwise import _erf_numpy

    x = np.linspace(-6, 6, 2001)
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(_erf_numpy(x) - expected)) < 2e-7
