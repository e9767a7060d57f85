"""The bench's peers in the training cases (fusednet.bench.cases_peers, fusednet.bench.peers):
the worker's protocol, the loss check that proves every contender trains the same model, the
report's layout (120 columns, one line per unavailable peer, target lines) and --plot. JAX,
Keras and matplotlib are optional: their tests skip without them (pip install 'fusednet[peers]'
or '[plot]'); the protocol is tested through the worker's NumPy trainer, which needs nothing."""

import dataclasses
import importlib.util
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fusednet.bench import cases_peers, cases_train, cli, models, plot, report
from fusednet.bench.case import FUSEDNET, NUMPY, SKLEARN, Case, Contender, ContenderResult
from fusednet.bench.numpy_trainer import NumpyMLP
from fusednet.bench.peers import PeerProcess, peer_contender
from fusednet.bench.peers.client import PeerError
from fusednet.bench.peers.worker import serve
from fusednet.bench.progress import Progress
from fusednet.bench.timing import measure

SMALL = models.Workload("small", (6, 16, 3), "softmax_cross_entropy", 192, 32, 2)
SMALL_BCE = models.Workload("small_bce", (2, 4, 1), "binary_cross_entropy", 200, 200, 3)


@pytest.fixture(scope="module")
def torch_or_none():
    from fusednet.bench.env import torch_or_none

    return torch_or_none()


def _has(*modules):
    return all(importlib.util.find_spec(m) is not None for m in modules)


def _numpy_losses(w, epochs):
    x, y = w.data()
    model = NumpyMLP(w.sizes, w.loss, learning_rate=w.learning_rate)
    model.params = models.initial_weights(w)
    return model.fit(x, y, batch_size=w.batch_size, epochs=epochs, shuffle=False)


def test_worker_protocol_in_process():
    replies = []
    spec = {"kind": "numpy", "workload": SMALL.__dict__, "threads": 1}
    commands = [
        {"cmd": "warmup"},
        {"cmd": "run", "calls": 2},
        {"cmd": "losses", "epochs": 2},
        {"cmd": "fly"},
        {"cmd": "losses"},  # no epochs: an error reply, and the worker goes on
        {"cmd": "quit"},
        {"cmd": "run", "calls": 1},  # after quit: never read
    ]
    serve(spec, [json.dumps(c) for c in commands], replies.append)
    assert replies[0]["ok"] and replies[0]["versions"] == f"numpy {np.__version__}"
    assert replies[1] == {"ok": True}
    assert replies[2]["ok"] and replies[2]["seconds"] > 0
    assert replies[3] == {"ok": True, "losses": _numpy_losses(SMALL, 2)}
    assert not replies[4]["ok"] and "'fly'" in replies[4]["error"]
    assert not replies[5]["ok"] and "KeyError" in replies[5]["error"]
    assert len(replies) == 6


@pytest.mark.parametrize(
    "kind,unavailable,match",
    [("bogus", False, "kind: expected one of"), ("jax-scan", True, "jax")],
)
def test_worker_reports_a_bad_kind_or_a_missing_library(kind, unavailable, match):
    if kind == "jax-scan" and _has("jax", "optax"):
        pytest.skip("jax and optax are installed")
    replies = []
    spec = {"kind": kind, "workload": SMALL.__dict__, "threads": 1}
    serve(spec, [json.dumps({"cmd": "warmup"})], replies.append)
    assert len(replies) == 1 and not replies[0]["ok"]
    assert bool(replies[0].get("unavailable")) == unavailable and match in replies[0]["error"]


def test_peer_process_runs_the_workload_in_its_own_process():
    proc = PeerProcess("numpy", SMALL_BCE, threads=1)
    try:
        assert proc.versions == f"numpy {np.__version__}"
        assert proc.hello["cpus"] == 1  # pinned to the bench's thread count
        assert proc.request("warmup") == {}
        assert proc.request("run", calls=3)["seconds"] > 0
        # the same data (regenerated from the seed) and the same initial weights: same losses
        assert proc.request("losses", epochs=3)["losses"] == _numpy_losses(SMALL_BCE, 3)
        with pytest.raises(PeerError, match="cmd: expected"):
            proc.request("fly")
    finally:
        proc.close()
    assert proc._proc.returncode == 0
    with pytest.raises(PeerError, match="worker closed"):
        proc.request("run", calls=1)


def test_peer_process_errors():
    with pytest.raises(PeerError, match="kind: expected one of"):
        PeerProcess("bogus", SMALL, threads=1)
    if not _has("jax"):
        with pytest.raises(ImportError, match="jax"):
            PeerProcess("jax-step", SMALL, threads=1)
    uneven = models.Workload("uneven", (3, 4, 2), "softmax_cross_entropy", 100, 32, 1)
    proc = PeerProcess("numpy", uneven, threads=1)
    proc.timeout_s = 0.001
    try:
        with pytest.raises(PeerError, match="no reply in"):  # training cannot answer in 1 ms
            proc.request("losses", epochs=200)
    finally:
        proc.close()


def test_peer_contender_is_timed_by_its_process_and_closed():
    c = peer_contender("numpy-peer", "numpy", "NumpyMLP", SMALL, threads=1)
    try:
        results = measure([c], repeat=2, min_run_s=1e-3, budget_s=10.0)
        res = results["numpy-peer"]
        assert res.status == "ok" and len(res.runs_s) == 2 and res.calls_per_run == 1
        assert c.losses(2) == _numpy_losses(SMALL, 2)
        assert c.fn() > 0  # one call, timed there
        assert c.note == f"NumpyMLP [numpy {np.__version__}]"
    finally:
        c.close()
    c.close()  # twice is fine


def test_missing_peer_is_an_unavailable_contender(monkeypatch):
    from fusednet.bench import peers

    monkeypatch.setitem(
        peers.PEERS, "jax-step", peers.client.Peer("jax-step", "n", ("no-such-dist-xyz",))
    )
    x, y = SMALL.data()
    out = cases_peers.with_peers([], SMALL, x, y, peers=("jax-step",))
    assert out[0].fn is None and out[0].reason == "no-such-dist-xyz not installed"
    measured = measure(out, repeat=1, min_run_s=1e-3, budget_s=1.0)
    assert measured["jax-step"].status == "unavailable"


def _loss_case(w, contenders):
    return Case("train", w.name, contenders, loss_epochs=2, loss_rtol=1e-3)


def _ran(names):
    return {n: ContenderResult(n, "ok") for n in names}


@pytest.mark.parametrize("w", [SMALL, SMALL_BCE], ids=lambda w: w.name)
def test_every_contender_trains_the_same_model(w, torch_or_none):
    """The loss check: fusednet, the NumPy trainer, PyTorch, scikit-learn (and JAX, Keras when
    installed) train from the same weights on the same data, and their per-epoch losses agree."""
    x, y = w.data()
    ours = Contender(FUSEDNET, lambda: None)
    base = [ours, Contender(NUMPY, lambda: None)]
    if torch_or_none is not None:
        base.append(Contender("torch", lambda: None))
    peers = [SKLEARN] if _has("sklearn") else []
    peers += [n for n in ("jax-step", "jax-scan") if _has("jax", "optax")]
    peers += [n for n, b in (("keras-jax", "jax"), ("keras-torch", "torch")) if _has("keras", b)]
    contenders = cases_peers.with_peers(base, w, x, y, torch_or_none, peers, threads=1)
    case = _loss_case(w, contenders)
    results = _ran(c.name for c in contenders)
    try:
        cli.run_loss_checks(case, results)
    finally:
        for c in contenders:
            if c.close:
                c.close()
    assert results[FUSEDNET].check["reference"]
    assert len(results[FUSEDNET].check["losses"]) == 2
    assert results[FUSEDNET].check["losses"][1] < results[FUSEDNET].check["losses"][0]
    for c in contenders[1:]:
        check = results[c.name].check
        assert check["status"] == "ok", (c.name, check)
        assert check["passed"], (c.name, check)
        assert 0 <= check["error"] <= 1e-3


def test_loss_check_catches_a_different_model():
    x, y = SMALL.data()
    ours = cases_peers.with_peers([Contender(FUSEDNET, lambda: None)], SMALL, x, y)[0]
    wrong_lr = models.Workload(**{**SMALL.__dict__, "learning_rate": 1e-2})
    other = Contender("other", lambda: None, losses=lambda e: _numpy_losses(wrong_lr, e))
    broken = Contender("broken", lambda: None, losses=lambda e: 1 / 0)
    skipped = Contender("skipped", lambda: None, losses=lambda e: [0.0] * e)
    case = _loss_case(SMALL, [ours, other, broken, skipped])
    results = _ran(["fusednet", "other", "broken"])
    results["skipped"] = ContenderResult("skipped", "error")  # did not run: no check
    cli.run_loss_checks(case, results)
    assert results["other"].check["passed"] is False and results["other"].check["error"] > 1e-3
    assert results["broken"].check == {
        "status": "error",
        "reason": "ZeroDivisionError: division by zero",
    }
    assert results["skipped"].check is None
    assert cases_peers.loss_error([1.0, 2.0], [1.0]) == float("inf")
    assert cases_peers.loss_error([1.0], [float("nan")]) == float("inf")


def _record(name, ratios, targets=(), checks=None, unavailable=()):
    contenders = {FUSEDNET: ContenderResult(FUSEDNET, "ok", "fit", runs_s=[1.0], median_s=1.0)}
    for other, ratio in ratios.items():
        contenders[other] = ContenderResult(
            other, "ok", f"{other} note", runs_s=[ratio, ratio], median_s=ratio, min_s=ratio
        )
    contenders[FUSEDNET].min_s = 1.0
    for other, reason in unavailable:
        contenders[other] = ContenderResult(other, "unavailable", reason=reason)
    for other, check in (checks or {}).items():
        contenders[other].check = check
    case = Case("train", name, [], samples=1e6, flops=1e9, targets=targets)
    return report.summarize(case, contenders, None, peak_gflops=10.0, copy_gbps=1.0)


def test_report_layout_collapses_unavailable_and_prints_targets():
    from fusednet.bench.case import Target

    long_name = "mnist1d 40-100-100-10 x4000, batch 100, 10 epochs " + "x" * 100
    missing = (("torch", "PyTorch not installed"), ("keras-jax", "keras not installed"))
    recs = [
        _record(
            long_name,
            {"numpy": 3.0, "jax-scan": 1.5},
            targets=(Target("jax-scan", 2.0),),
            checks={"jax-scan": {"status": "ok", "error": 0.5, "tolerance": 1e-3, "passed": False}},
            unavailable=missing,
        ),
        _record("tiny", {"numpy": 40.0}, unavailable=missing),
    ]
    rec = recs[0]
    assert rec["ratios"] == {"numpy": 3.0, "jax-scan": 1.5}
    assert rec["targets"][0]["met"] is False and "source" not in rec["targets"][0]
    text = report.group_text("train", recs)
    lines = text.splitlines()
    assert all(len(line) <= report.WIDTH for line in lines), max(lines, key=len)
    assert "  target >=2x jax-scan MISSED (1.50x)" in lines
    assert sum("PyTorch not installed" in line for line in lines) == 1
    assert "not run: torch (PyTorch not installed)" in lines
    assert "not run: keras-jax (keras not installed)" in lines
    assert "FAIL 5.0e-01" in text and "3.00x" in text and "40.00x" in text
    assert "issue" not in text.lower()
    nothing_ran = report.summarize(
        Case("torch", "Adam step", []),
        {
            n: ContenderResult(n, "unavailable", reason="PyTorch not installed")
            for n in (FUSEDNET, "torch")
        },
        None,
        peak_gflops=1.0,
        copy_gbps=1.0,
    )
    torch_text = report.group_text("torch", [nothing_ran, nothing_ran])
    assert "Adam step" not in torch_text
    assert torch_text.count("not run: fusednet, torch (PyTorch not installed)") == 1
    summary = report.summary_text(recs, [])
    assert "MISSED" in summary and "LOSSES DIFFER from fusednet's" in summary
    assert "jax-scan (5.0e-01)" in " ".join(summary.split())  # wrapped at 120 columns
    assert all(len(line) <= report.WIDTH for line in summary.splitlines())


def test_header_names_the_peers_with_their_versions():
    env = {
        "cpu_model": "cpu",
        "cpu_family_model": "family 1 model 2",
        "cpus": 2,
        "fusednet_version": "0",
        "isa": "avx2",
        "isa_detected": "avx2",
        "threads": 2,
        "numpy": "2",
        "numpy_blas": "b" * 200,
        "torch": None,
        "torch_missing_reason": "PyTorch not installed",
        "python": "3",
        "load_average_1min": 0.0,
        "peers": ["jax-step"],
        "peer_versions": {"jax": "0.1", "jaxlib": "0.2", "optax": "0.3", "keras": "3.9"},
    }
    peak, copy = {"gflops": 1.0, "how": "h " * 100}, {"gbps": 1.0, "how": "c"}
    text = report.header_text(env, peak, copy)
    assert all(len(line) <= report.WIDTH for line in text.splitlines())
    assert "JAX 0.1 (jaxlib 0.2) + optax 0.3, Keras 3.9; JAX and Keras each in a process" in text
    assert "PyTorch  PyTorch not installed" in text
    env["peer_versions"]["scikit-learn"] = "1.9"
    text = " ".join(report.header_text(env, peak, copy).split())
    assert (
        "scikit-learn 1.9; JAX, Keras and scikit-learn each in a process of its own with 2" in text
    )
    env["peer_versions"] = {"scikit-learn": "1.9"}
    assert "scikit-learn 1.9; scikit-learn each in a process" in report.header_text(env, peak, copy)
    env["peer_versions"] = {}
    assert "none installed" in report.header_text(env, peak, copy)
    env["peers"] = []
    assert "peers    off" in report.header_text(env, peak, copy)


def test_cli_peer_and_plot_options(monkeypatch, capsys):
    assert cli.parse_args([]).peers == cases_peers.PEER_NAMES
    assert cli.parse_args(["--quick"]).peers == ()
    assert cli.parse_args(["--no-peers"]).peers == ()
    assert cli.parse_args(["--quick", "--peers", "sklearn,jax-scan"]).peers == (
        "jax-scan",
        SKLEARN,
    )
    for argv, match in (
        (["--peers", "jax,sklearn"], "--peers: expected all, none"),
        (["--no-peers", "--peers", "sklearn"], "exclude each other"),
    ):
        with pytest.raises(SystemExit) as exc:
            cli.parse_args(argv)
        assert exc.value.code == 2 and match in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(["--plot", "charts"])
    assert exc.value.code == 2
    assert "--plot: needs matplotlib, which is not installed" in capsys.readouterr().err


def test_plot_series_and_charts(tmp_path):
    recs = [
        _record("a", {"numpy": 2.0, "torch": 0.5}),
        _record("b", {"numpy": 4.0}),
    ]
    assert plot.speedup_series(recs) == (["a", "b"], {"numpy": [2.0, 4.0], "torch": [0.5, None]})
    cases, series = plot.peak_series(recs)
    assert cases == ["a", "b"] and list(series) == [FUSEDNET, "numpy", "torch"]
    assert series[FUSEDNET] == [10.0, 10.0] and series["numpy"] == [5.0, 2.5]  # 1 GFLOP/s of 10
    assert series["torch"][1] is None
    assert plot.colors(recs) == {FUSEDNET: "C0", "numpy": "C1", "torch": "C2"}
    pytest.importorskip("matplotlib")
    paths = plot.write_plots(recs, str(tmp_path / "charts"))
    assert [os.path.basename(p) for p in paths] == ["speedup_train.png", "peak_train.png"]
    for p in paths:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_train_cases_include_the_mnist1d_net_and_its_target():
    names = [w.name for w in cases_train.workloads("default")]
    assert names[:3] == ["mlp784", "tiny", "mnist1d"]
    w = models.MNIST1D
    assert w.sizes == (40, 100, 100, 10) and w.batch_size == 100
    assert [t.text for t in cases_train.TARGETS["mnist1d"]] == [">=2x jax-scan"]
    assert [t.text for t in cases_train.TARGETS["tiny"]] == [">=30x numpy", ">=100x torch"]


def test_cli_train_group_with_progress_and_loss_checks(tmp_path, capsys, monkeypatch):
    # the three training cases, shrunk: the whole CLI path in seconds
    small = (
        dataclasses.replace(models.MLP784, samples=512),
        dataclasses.replace(models.TINY, epochs=5),
        dataclasses.replace(models.MNIST1D, samples=400, epochs=2),
    )
    monkeypatch.setattr(cases_train, "workloads", lambda mode: small)
    out = tmp_path / "bench.json"
    peers = "sklearn" if _has("sklearn") else "none"
    argv = ["--quick", "--only", "train", "--repeat", "1", "--no-memory", "--no-torch"]
    assert cli.main([*argv, "--peers", peers, "--json", str(out)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert all(len(line) <= report.WIDTH for line in lines), max(lines, key=len)
    assert sum("disabled by --no-torch" in line for line in lines) == 2  # header, one note
    assert sum(line.strip().startswith("target ") for line in lines) == 3
    assert "issue" not in captured.out.lower()
    # not a terminal: one clean progress line per case on stderr
    progress = [line for line in captured.err.splitlines() if line.startswith("train ")]
    assert [p.split(":")[0] for p in progress] == ["train 1", "train 2", "train 3"]
    assert "\r" not in captured.err
    doc = json.loads(out.read_text())
    assert doc["config"]["peers"] == ([SKLEARN] if peers == "sklearn" else [])
    cases = {c["case"].split()[0]: c for c in doc["cases"]}
    assert set(cases) == {"mlp784", "tiny", "mnist1d"}
    for case in cases.values():
        checks = {n: d.get("check") for n, d in case["contenders"].items()}
        assert checks[FUSEDNET]["reference"]
        assert checks[NUMPY]["passed"], checks
        if peers == "sklearn":
            assert checks[SKLEARN]["passed"], checks


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_overwrites_one_line_on_a_terminal():
    term = _Terminal()
    p = Progress(term)
    p.case("train 1: " + "x" * 300)
    p.detail("train 1: warm-up: numpy")
    p.clear()
    p.clear()  # nothing shown: nothing written
    text = term.getvalue()
    assert "\n" not in text and text.count("\r\033[K") == 3
    assert all(len(part) <= report.WIDTH for part in text.split("\r\033[K"))
    plain = io.StringIO()
    p = Progress(plain)
    p.case("train 1: a")
    p.detail("hidden")
    p.clear()
    assert plain.getvalue() == "train 1: a\n"
    Progress(None).case("nothing")


def test_sklearn_peer_trains_in_its_own_pinned_process():
    """scikit-learn's MLPClassifier is a peer process like JAX's and Keras's: in the bench's own
    process its fits slowed fusednet's later runs. Its BLAS and OpenMP pools are pinned to the
    bench's thread count, its version names it, and the bench's process never imports it."""
    pytest.importorskip("sklearn")
    import sklearn

    proc = PeerProcess("sklearn", SMALL_BCE, threads=1)
    try:
        assert proc.versions == f"scikit-learn {sklearn.__version__}"
        assert proc.hello["cpus"] == 1
        pools = proc.hello["pools"]
        assert pools.get("openblas") == 1, pools  # NumPy's and SciPy's BLAS, loaded and pinned
        assert all(n == 1 for n in pools.values()), pools
        assert proc.request("warmup") == {}
        assert proc.request("run", calls=2)["seconds"] > 0
        losses = proc.request("losses", epochs=3)["losses"]
        assert cases_peers.loss_error(_numpy_losses(SMALL_BCE, 3), losses) <= 1e-3
    finally:
        proc.close()
    # the same trainer through serve() here (softmax this time): what the process runs
    replies = []
    spec = {"kind": "sklearn", "workload": SMALL.__dict__, "threads": 1}
    commands = [{"cmd": "warmup"}, {"cmd": "run", "calls": 1}, {"cmd": "losses", "epochs": 2}]
    import sklearn.neural_network  # noqa: F401 -- its pools loaded before they are counted
    from threadpoolctl import threadpool_info

    before = [(i["filepath"], i["num_threads"]) for i in threadpool_info()]
    serve(spec, [json.dumps(c) for c in commands], replies.append)
    assert [(i["filepath"], i["num_threads"]) for i in threadpool_info()] == before  # given back
    assert replies[0]["ok"] and replies[0]["versions"] == f"scikit-learn {sklearn.__version__}"
    assert replies[1] == {"ok": True} and replies[2]["seconds"] > 0
    assert cases_peers.loss_error(_numpy_losses(SMALL, 2), replies[3]["losses"]) <= 1e-3
    script = (
        "import sys\n"
        "from fusednet.bench import cases_peers, cli, models\n"
        "from fusednet.bench.case import Case, Contender\n"
        "from fusednet.bench.timing import measure\n"
        "w = models.Workload('s', (6, 16, 3), 'softmax_cross_entropy', 192, 32, 2)\n"
        "x, y = w.data()\n"
        "out = cases_peers.with_peers([Contender('fusednet', lambda: None)], w, x, y,\n"
        "                             peers=('sklearn',), threads=1)\n"
        "sk = out[1]\n"
        "assert sk.timed is not None and sk.close is not None, sk\n"
        "results = measure(out, repeat=2, min_run_s=1e-3, budget_s=30.0)\n"
        "assert results['sklearn'].status == 'ok', results['sklearn']\n"
        "case = Case('train', 's', out, loss_epochs=2, loss_rtol=1e-3)\n"
        "cli.run_loss_checks(case, results)\n"
        "assert results['sklearn'].check['passed'], results['sklearn'].check\n"
        "assert sk.note.endswith('[scikit-learn ' + cases_peers._version('scikit-learn') + ']')\n"
        "sk.close()\n"
        "print('sklearn' in sys.modules)\n"
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(cases_peers.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.dirname(root), env.get("PYTHONPATH")) if p
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "False"
