"""Data-parallel training (fusednet.distributed): K = 1, 2, 3 ranks under mpiexec against one
process (weights to 1e-6, every rank the same bits, the same bits run after run), pre-sharded
input, rank-0-only outputs, agreed stops, mismatch detection, a failing rank. The ranks run
tests/distributed_worker.py; the one-process references are computed here. The MPI tests skip
when mpi4py or mpiexec is missing (.ci/run's `dist` step installs them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import fusednet as fnet
from fusednet import distributed as dist
from fusednet.distributed import _data_parallel as dpm

sys.path.insert(0, os.path.dirname(__file__))
import distributed_cases as dc  # noqa: E402

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")


def _weights(m):
    return np.concatenate([w.ravel() for w in m.get_weights()])


# ---- without MPI: a world of one, the plans, the callback gating --------------------------------
@pytest.fixture
def world_of_one(monkeypatch):
    monkeypatch.setattr(dist._state, "world", dist.World(None))


@pytest.mark.parametrize("case", list(dc.CASES))
@pytest.mark.parametrize("overlap", [True, False])
def test_one_rank_is_bitwise_one_process(world_of_one, case, overlap):
    x, y, sw = dc.data(case)
    a, b = dc.model(case), dc.model(case)
    ha = dc.fit(case, a, x, y, sw)
    hb = dc.fit(case, b, x, y, sw, dist.DataParallel(overlap=overlap))
    assert np.array_equal(_weights(a), _weights(b))
    assert ha.history == hb.history
    assert a.evaluate(x, y, sample_weight=sw, verbose=0) == b.evaluate(
        x, y, sample_weight=sw, verbose=0, distributed=True
    )


@pytest.mark.parametrize("n,bs,k", [(203, 32, 3), (97, 16, 3), (5, 8, 3), (10, 3, 2), (1, 1, 4)])
def test_plan_whole_partitions_each_global_batch(n, bs, k):
    plans = [dpm._plan_whole(n, bs, r, k) for r in range(k)]
    steps = -(-n // bs)
    for b in range(steps):
        lo, hi = b * bs, min(n, (b + 1) * bs)
        rows = [int(p[1][b]) for p in plans]
        assert max(rows) - min(rows) <= 1
        covered = np.concatenate([np.arange(p[0][b], p[0][b] + p[1][b]) for p in plans])
        assert np.array_equal(covered, np.arange(lo, hi)), (b, covered)
        assert all(int(p[2][b]) == hi - lo for p in plans)


@pytest.mark.parametrize("ns,bs", [([68, 68, 67], 30), ([10, 0, 3], 7), ([5, 5], 2)])
def test_plan_sharded_covers_each_shard(ns, bs):
    k = len(ns)
    plans = [dpm._plan_sharded(ns, bs, r, k) for r in range(k)]
    assert len({len(p[1]) for p in plans}) == 1
    for r, (start, rows, total) in enumerate(plans):
        seen = np.concatenate([np.arange(s, s + c) for s, c in zip(start, rows)])
        assert np.array_equal(seen, np.arange(ns[r]))
        assert np.array_equal(total, np.sum([p[1] for p in plans], axis=0))
        assert (total >= 1).all()


def test_plan_sharded_needs_a_row_per_rank():
    with pytest.raises(ValueError, match="at least one row per rank"):
        dpm._plan_sharded([5, 5], 1, 0, 2)


def test_distributed_argument_is_checked():
    m = dc.model("adam_ce")
    x, y, _ = dc.data("adam_ce")
    with pytest.raises(TypeError, match="distributed: expected a bool"):
        m.fit(x, y, epochs=1, verbose=0, distributed="yes")


def test_main_rank_only_callbacks_are_left_out_off_rank_0(tmp_path):
    from fusednet.callbacks import CallbackList

    cbs = [
        fnet.callbacks.ModelCheckpoint(str(tmp_path / "m.fnet")),
        fnet.callbacks.EarlyStopping(),
    ]
    main = CallbackList(cbs, add_history=True, add_progbar=True, verbose=1)
    other = CallbackList(cbs, add_history=True, add_progbar=True, verbose=1, main=False)
    assert [type(c).__name__ for c in main] == [
        "ModelCheckpoint",
        "EarlyStopping",
        "History",
        "ProgbarLogger",
    ]
    assert [type(c).__name__ for c in other] == ["EarlyStopping", "History"]
    assert other.progbar is None and other.history is not None


# ---- the shared-memory sum's pieces (fusednet._core._dist_*), in one process ------------------
def _ordered_reference(rows):
    """Rank order, float64, rounded once: the definition, one rank at a time."""
    acc = np.zeros(rows.shape[1], np.float64)
    for r in rows:
        acc = acc + r.astype(np.float64)
    return acc.astype(rows.dtype)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ordered_sum_is_the_rank_order_float64_sum(k, dtype):
    rng = np.random.default_rng(k)
    n = 3001  # past one block of the C++ loop, and not a multiple of it
    # magnitudes 1e-20..1e20 and cancellations: any other order or rounding shows
    rows = (rng.standard_normal((k, n)) * 10.0 ** rng.integers(-20, 20, (k, n))).astype(dtype)
    rows[:, :50] = rows[0, :50] * np.array([1, -1, 1, -1, 1])[:k, None]
    big = np.zeros((k, n + 17), dtype)  # rows apart by more than n, as in the window
    big[:, :n] = rows
    out = np.full(n, np.nan, dtype)
    fnet._core._dist_ordered_sum(big[:, :n], out)
    assert np.array_equal(out, _ordered_reference(rows))
    if k == 2 and dtype == np.float32:  # float64 holds a float32 pair's sum: correctly rounded
        from fractions import Fraction

        for i in range(0, n, 97):
            exact = Fraction(float(rows[0, i])) + Fraction(float(rows[1, i]))
            assert out[i] == np.float32(float(exact))


def test_ordered_sum_checks_its_arguments():
    src = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match="out: expected src's dtype"):
        fnet._core._dist_ordered_sum(src, np.zeros(4, np.float64))
    with pytest.raises(ValueError, match="out: expected a writable contiguous array of 4"):
        fnet._core._dist_ordered_sum(src, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="out: expected a writable contiguous array of 4"):
        fnet._core._dist_ordered_sum(src, np.zeros(8, np.float32)[::2])
    with pytest.raises(ValueError, match="src: expected a .ranks, n. array"):
        fnet._core._dist_ordered_sum(np.ones(4, np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="src: expected rows of contiguous elements"):
        fnet._core._dist_ordered_sum(np.ones((2, 8), np.float32)[:, ::2], np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="src: expected float32 or float64, got int32"):
        fnet._core._dist_ordered_sum(np.ones((2, 4), np.int32), np.zeros(4, np.int32))


def test_shared_barrier_waits_for_every_rank_names_a_failure_and_times_out():
    barrier = fnet._core._dist_barrier
    flags = np.zeros(4 * 8, np.int64)  # 3 ranks + the failure line
    flags[8] = flags[16] = 5  # ranks 1 and 2 are at generation 5
    assert barrier(flags, 0, 5, 10.0) == 0 and flags[0] == 5
    t = time.perf_counter()
    assert barrier(flags, 0, 6, 0.05) == -1  # nobody else arrives
    assert 0.05 <= time.perf_counter() - t < 5.0
    flags[3 * 8] = 3  # rank 2 failed
    assert barrier(flags, 1, 6, 10.0) == 3
    with pytest.raises(ValueError, match="flags: expected a writable int64 array"):
        barrier(np.zeros(12, np.int64), 0, 1, 1.0)
    with pytest.raises(ValueError, match="rank: expected 0 <= rank < 3, got 3"):
        barrier(flags, 3, 1, 1.0)


def test_shared_window_of_one_rank(monkeypatch):
    """_Shared through MPI's COMM_SELF: a world of one, the window grown and reused."""
    pytest.importorskip("mpi4py")
    from mpi4py import MPI

    from fusednet.distributed import _world

    w = dist.World(None, timeout=0.2)
    w.comm, w.size = MPI.COMM_SELF, 1
    sh = _world._Shared(w, MPI.COMM_SELF.Dup())
    for n in (10, 70000, 5):  # the second outgrows the first window
        a = np.arange(n, dtype=np.float32) / 7
        want = a * np.float32(0.25)
        assert sh.sum_(a, 0.25, "t") is a and np.array_equal(a, want)
        b = np.arange(n, dtype=np.float64)
        assert np.array_equal(sh.sum_(b.copy(), 1.0, "t"), b)
        assert not sh.sum_(b, 0.0, "t").any()
    assert sh.capacity == 1 << 20 and sh.calls == 9  # 70000 float64
    assert sh.any(True, "t") and not sh.any(False, "t")
    monkeypatch.setattr(_world, "_exit_when_done", lambda: None)
    sh.flag_failure(0)  # as if this one rank had failed in another thread
    w.broken = ValueError("x")
    with pytest.raises(dist.DistributedError, match="the run stopped"):
        sh.barrier("t")
    w.broken = None  # a failure flagged without a notice: named after the wait for it
    monkeypatch.setattr(w, "_check_notices", lambda: None)
    with pytest.raises(dist.RankFailedError, match="rank 0 failed: .its message did not"):
        sh.barrier("t")
    sh.flags[:] = 0
    sh.k = 2  # a second rank that never comes: the timeout
    sh.flags = np.zeros(3 * 8, np.int64)
    with pytest.raises(dist.DistributedError, match="no answer from the other ranks within 0.2 s"):
        sh.barrier("t")


def test_cuda_aware_is_reported():
    info = dist.cuda_aware()
    assert set(info) == {"cuda_aware", "library", "how"}
    assert isinstance(info["cuda_aware"], bool)


# ---- under mpiexec ------------------------------------------------------------------------------
def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(_mpiexec() is None, reason="mpi4py and mpiexec are not installed")


def _launch(k, scenario, out, timeout=240, **extra_env):
    env = dict(os.environ)
    env.update(extra_env)
    pkg = os.path.dirname(os.path.dirname(fnet.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg, env.get("PYTHONPATH", "")])
    # Open MPI as root and with more ranks than cores (MPICH needs neither)
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe",
    )
    os.makedirs(out, exist_ok=True)
    return subprocess.run(
        [_mpiexec(), "-n", str(k), sys.executable, WORKER, scenario, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{K: out dir} of the `train` scenario; "3b": K = 3 again (repeatability); "3mpi": K = 3
    summing through MPI's all-to-all instead of the shared-memory window."""
    runs = {}
    for key, k in ((1, 1), (2, 2), (3, 3), ("3b", 3), ("3mpi", 3)):
        out = tmp_path_factory.mktemp(f"train{key}")
        p = _launch(k, "train", out, FUSEDNET_DIST_SHM="0" if key == "3mpi" else "1")
        assert p.returncode == 0, p.stdout + p.stderr
        runs[key] = out
    return runs


def _load(out, name, k):
    return [np.load(os.path.join(out, f"{name}_rank{r}.npz")) for r in range(k)]


@pytest.fixture(scope="module")
def references():
    ref = {}
    for case in dc.CASES:
        x, y, sw = dc.data(case)
        m = dc.model(case)
        h = dc.fit(case, m, x, y, sw)
        ref[case] = (_weights(m), h.history, m.evaluate(x, y, sample_weight=sw, verbose=0))
    return ref


@needs_mpi
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("case", list(dc.CASES))
@pytest.mark.parametrize("overlap", [1, 0])
def test_k_ranks_match_one_process(trained, references, k, case, overlap):
    w_ref, h_ref, ev_ref = references[case]
    ranks = _load(trained[k], f"{case}_overlap{overlap}", k)
    for r, got in enumerate(ranks):  # every rank holds the same bits
        assert np.array_equal(got["w"], ranks[0]["w"]), f"rank {r} differs from rank 0"
    w = ranks[0]["w"]
    err = np.abs(w - w_ref)
    assert err.max() <= 1e-6, f"max abs error {err.max():.3g} at {err.argmax()}"
    if k == 1:  # one rank under MPI is one process, bit for bit
        assert np.array_equal(w, w_ref)
    hist = json.loads(str(ranks[0]["hist"]))
    assert hist.keys() == h_ref.keys()
    for key in h_ref:  # the epoch figures are over every rank's samples
        np.testing.assert_allclose(hist[key], h_ref[key], rtol=1e-5, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(ranks[0]["ev"], ev_ref, rtol=1e-5, atol=1e-6)


@needs_mpi
def test_overlap_and_no_overlap_give_the_same_bits(trained):
    for case in dc.CASES:
        a, b = _load(trained[3], f"{case}_overlap1", 3), _load(trained[3], f"{case}_overlap0", 3)
        assert np.array_equal(a[0]["w"], b[0]["w"]), case


@needs_mpi
def test_runs_are_bitwise_repeatable(trained):
    names = sorted(f for f in os.listdir(trained[3]) if f.endswith(".npz"))
    assert len(names) >= 3 * (2 * len(dc.CASES) + 4)
    for name in names:
        a, b = np.load(trained[3] / name), np.load(trained["3b"] / name)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), (name, key)
    for stem in ("sharded_shuffled", "dropout"):
        ranks = _load(trained[3], stem, 3)
        assert all(np.array_equal(r["w"], ranks[0]["w"]) for r in ranks), stem


@needs_mpi
def test_shared_memory_and_all_to_all_sums_give_the_same_bits(trained):
    """The two ways of the fixed-order sum (fusednet/distributed/_world.py) agree bit for bit."""
    names = sorted(f for f in os.listdir(trained[3]) if f.endswith(".npz"))
    assert names == sorted(f for f in os.listdir(trained["3mpi"]) if f.endswith(".npz"))
    for name in names:
        a, b = np.load(trained[3] / name), np.load(trained["3mpi"] / name)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), (name, key)
    facts = [json.loads((trained[key] / "world_rank0.json").read_text()) for key in (3, "3mpi")]
    assert [f["shared"] for f in facts] == [True, False]


@needs_mpi
@pytest.mark.parametrize("k", [2, 3])
def test_sharded_input_is_the_union_of_the_ranks_batches(trained, k):
    """Rank r holds rows r, r+K, ... (no shuffle): global batch b is every rank's batch b."""
    x, y, _ = dc.data("adam_ce")
    shards = [(x[r::k], y[r::k]) for r in range(k)]
    per = [30 // k + (r < 30 % k) for r in range(k)]
    steps = max(-(-len(s[0]) // p) for s, p in zip(shards, per))
    order_x, order_y = [], []
    for b in range(steps):
        for (sx, sy), p in zip(shards, per):
            order_x.append(sx[b * p : (b + 1) * p])
            order_y.append(sy[b * p : (b + 1) * p])
    xo, yo = np.concatenate(order_x), np.concatenate(order_y)
    m = dc.model("adam_ce")
    m.fit(xo, yo, batch_size=30, epochs=2, verbose=0, shuffle=False)
    ranks = _load(trained[k], "sharded", k)
    assert all(np.array_equal(r["w"], ranks[0]["w"]) for r in ranks)
    err = np.abs(ranks[0]["w"] - _weights(m)).max()
    assert err <= 1e-6, err
    np.testing.assert_allclose(ranks[0]["ev"], m.evaluate(x, y, verbose=0), rtol=1e-5)


@needs_mpi
def test_dropout_one_rank_is_one_process(trained):
    x, y, _ = dc.data("adam_ce")
    m = dc.model("adam_ce", dropout=0.3)
    dc.fit("adam_ce", m, x, y, None)
    assert np.array_equal(_load(trained[1], "dropout", 1)[0]["w"], _weights(m))


@needs_mpi
@pytest.mark.parametrize("k", [2, 3])
def test_dropout_k_ranks_draw_the_masks_of_one_process(trained, k):
    """Masks follow the sample's row in the global batch, not the rank: K ranks train the
    weights of one process (to float rounding), uneven parts and a short last batch included."""
    x, y, _ = dc.data("adam_ce")
    m = dc.model("adam_ce", dropout=0.3)
    dc.fit("adam_ce", m, x, y, None)
    w = _load(trained[k], "dropout", k)[0]["w"]
    err = np.abs(w - _weights(m)).max()
    assert err <= 1e-6, err
    plain = dc.model("adam_ce")  # and the masks matter: without them the weights differ a lot
    dc.fit("adam_ce", plain, x, y, None)
    assert np.abs(_weights(plain) - _weights(m)).max() > 1e-3


@needs_mpi
@pytest.mark.parametrize("k", [1, 2, 3])
def test_fit_options_k_ranks_pick_the_batches_of_one_process(trained, k):
    """steps_per_epoch, validation_steps, validation_batch_size and validation_freq: the same
    batches on every rank, so the weights and the History of one process."""
    x, y, _ = dc.data("adam_ce")
    m = dc.model("adam_ce")
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit(x, y, verbose=0, **dc.OPTIONS)
    assert list(h.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(h.history["val_loss"]) == 2
    ranks = _load(trained[k], "options", k)
    assert all(np.array_equal(r["w"], ranks[0]["w"]) for r in ranks)
    err = np.abs(ranks[0]["w"] - _weights(m)).max()
    assert err <= (0 if k == 1 else 1e-6), err
    got = json.loads(str(ranks[0]["hist"]))
    assert got.keys() == h.history.keys()
    for key in got:
        np.testing.assert_allclose(got[key], h.history[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_fit_options_in_a_world_of_one_are_one_process(world_of_one):
    x, y, _ = dc.data("adam_ce")
    a, b = dc.model("adam_ce"), dc.model("adam_ce")
    with pytest.warns(UserWarning, match="ran out of data"):
        ha = a.fit(x, y, verbose=0, **dc.OPTIONS)
    with pytest.warns(UserWarning, match="ran out of data"):
        hb = b.fit(x, y, verbose=0, distributed=True, **dc.OPTIONS)
    assert np.array_equal(_weights(a), _weights(b)) and ha.history == hb.history


def test_distributed_fit_refuses_what_the_ranks_cannot_agree_on(world_of_one):
    x, y, _ = dc.data("adam_ce")
    m = dc.model("adam_ce")
    sharded = dist.DataParallel(sharded=True)
    for opt in ({"steps_per_epoch": 2}, {"validation_steps": 1, "validation_split": 0.2}):
        with pytest.raises(ValueError, match="steps_per_epoch and validation_steps need the whole"):
            m.fit(x, y, epochs=1, verbose=0, distributed=sharded, **opt)
    m.fit(x, y, epochs=2, verbose=0, validation_split=0.2, validation_freq=2, distributed=sharded)

    class Batches(fnet.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return x[i * 10 : (i + 1) * 10], y[i * 10 : (i + 1) * 10]

    with pytest.raises(ValueError, match="PyDataset/generator inputs are not supported in a dis"):
        m.fit(Batches(), epochs=1, verbose=0, distributed=True)


def test_plan_first_rows_follow_the_ranks_in_order():
    for sharded, ns in ((False, [203] * 3), (True, [68, 68, 67])):
        plans = [dpm._with_first(ns, 30, r, 3, sharded) for r in range(3)]
        for r, (start, rows, total, first) in enumerate(plans):
            before = np.sum([p[1] for p in plans[:r]], axis=0) if r else np.zeros_like(rows)
            assert np.array_equal(first, before)
            assert (first + rows <= total).all()
            if not sharded:  # the k-th part of the global batch: its offset in the batch
                assert np.array_equal(first, start - np.arange(len(start)) * 30)


@needs_mpi
@pytest.mark.parametrize("k", [1, 2, 3])
def test_allreduce_sums_in_rank_order(trained, k):
    parts = [((np.arange(10, dtype=np.float32) + 1) * (r + 1) / 3) for r in range(k)]
    want = np.sum([p.astype(np.float64) for p in parts], axis=0).astype(np.float32)
    for got in _load(trained[k], "allreduce", k):
        assert np.array_equal(got["a"], want)


@needs_mpi
def test_rank_0_alone_writes_and_all_ranks_stop_together(tmp_path):
    k = 2
    p = _launch(k, "outputs", tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    out0 = (tmp_path / "stdout_rank0.txt").read_text()
    assert "Epoch 1/6" in out0 and "7/7 ━" in out0  # the evaluate bar, whole
    assert (tmp_path / "stdout_rank1.txt").read_text() == ""
    assert (tmp_path / "ckpt_rank0.fnet").exists() and not (tmp_path / "ckpt_rank1.fnet").exists()
    assert (tmp_path / "model_rank0.fnet").exists()
    assert not (tmp_path / "model_rank1.fnet").exists()
    res = [json.loads((tmp_path / f"outputs_rank{r}.json").read_text()) for r in range(k)]
    for r in res:
        assert r["early"] == 2  # EarlyStopping on the reduced val_loss: the same epoch
        assert r["stop_at"] == 2  # a rank-0-only callback's stop reaches every rank
        assert r["stop_batch_epochs"] == 1 and r["stop_batch_w"] == res[0]["stop_batch_w"]
        assert (
            "MismatchError: fit: rank 1 differs from rank 0 in the layers" in r["errors"]["model"]
        )
        assert "rank 1 differs from rank 0 in x samples" in r["errors"]["data"]


@needs_mpi
@pytest.mark.parametrize(
    "k,where", [(2, "fail"), (3, "fail"), (3, "fail_batch"), (2, "fail_before")]
)
def test_a_failing_rank_stops_every_rank_naming_it(tmp_path, k, where):
    """Between epochs (a callback), inside the C++ epoch (a batch callback) while gradient sums
    are in flight, or in the script before fit (uncaught: init()'s excepthook tells the others):
    every rank ends, none waits, the others name the failed rank."""
    p = _launch(k, where, tmp_path, timeout=120)
    text = p.stdout + p.stderr
    assert p.returncode != 0, text
    assert "ValueError: boom on purpose" in text
    named = f"RankFailedError: rank {k - 1} failed: ValueError: boom on purpose"
    errors = [f.read_text() for f in sorted(tmp_path.glob("error*.txt"))]
    assert sum(e == named for e in errors) == k - 1, (errors, text)


@needs_mpi
def test_bench_reports_the_sum_share_and_its_barrier_wait():
    from fusednet.bench import dist as dist_bench

    spec = {"threads": 1, "batch": 64, "mode": "no-overlap", "samples": 512, "epochs": 1}
    rec = dist_bench._launch(2, spec)
    assert "error" not in rec, rec
    assert rec["samples_per_s"] > 0 and rec["sum_path"] == "shared memory"
    # without overlap the barrier is part of the training thread's hand-over time
    assert 0 < rec["barrier_share"] <= rec["allreduce_share"] < 1


@needs_mpi
def test_digits_example_over_two_ranks_matches_one_process():
    pytest.importorskip("sklearn")
    examples = os.path.join(os.path.dirname(__file__), os.pardir, "examples")
    sys.path.insert(0, examples)
    try:
        import digits
    finally:
        sys.path.remove(examples)
    _, loss, acc, _, _ = digits.train(epochs=5, verbose=0)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(fnet.__file__)), env.get("PYTHONPATH", "")]
    )
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.run(
        [_mpiexec(), "-n", "2", sys.executable, "digits_distributed.py", "--epochs", "5"],
        cwd=examples,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"2 ranks: test accuracy {acc:.4f}, loss {loss:.4f}" in p.stdout, p.stdout
    assert p.stdout.count("Epoch 5/5") == 1  # rank 0 alone prints
