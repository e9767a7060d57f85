"""fusednet's own thread pool: every piece runs exactly once, errors come back to the caller,
concurrent callers and forked children work, and the default thread count follows the
environment."""

import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fusednet as fnet
from fusednet import _core


@pytest.mark.parametrize("n,grain", [(1, 1), (7, 1), (1000, 1), (1000, 33), (100_000, 7)])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_every_piece_runs_once(n, grain, threads):
    assert _core._pool_check(n, grain, threads) == [1] * n


def test_more_threads_than_cores_and_back():
    for threads in (8, 2, 8, 1, 3):
        assert _core._pool_check(5000, 3, threads) == [1] * 5000


@pytest.mark.parametrize("throw_at", [0, 499, 999])
def test_exception_in_a_piece_reaches_the_caller(throw_at):
    with pytest.raises(RuntimeError, match="failed on purpose"):
        _core._pool_check(1000, 1, 2, throw_at)
    assert _core._pool_check(1000, 1, 2) == [1] * 1000  # the pool still works afterwards


def test_concurrent_callers_get_correct_results():
    """Python threads call kernels at once (the GIL is released): a caller that finds the pool
    busy runs its call alone, with the same bits."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 257), dtype=np.float32)
    b = rng.standard_normal((257, 190), dtype=np.float32)
    expected = fnet.ops.matmul(a, b)
    x = rng.standard_normal(300_000, dtype=np.float32)
    expected_act = fnet.ops.gelu(x)
    errors = []

    def worker():
        try:
            for _ in range(30):
                if not np.array_equal(fnet.ops.matmul(a, b), expected):
                    errors.append("matmul differs")
                if not np.array_equal(fnet.ops.gelu(x), expected_act):
                    errors.append("gelu differs")
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _child_matmul(queue):
    a = np.arange(400 * 300, dtype=np.float32).reshape(400, 300) / 1e4
    queue.put(float(fnet.ops.matmul(a, a.T).sum()))


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
@pytest.mark.parametrize("busy_parent", [False, True])
def test_forked_child_starts_its_own_pool(busy_parent):
    """The child has none of the parent's threads; with busy_parent the fork happens while
    another thread of the parent keeps the pool busy (its locks may be held at that moment)."""
    a = np.arange(400 * 300, dtype=np.float32).reshape(400, 300) / 1e4
    expected = float(fnet.ops.matmul(a, a.T).sum())  # the parent's pool is running
    stop = threading.Event()
    busy = threading.Thread(
        target=lambda: [fnet.ops.matmul(a, a.T) for _ in iter(stop.is_set, True)]
    )
    if busy_parent:
        busy.start()
    try:
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        child = ctx.Process(target=_child_matmul, args=(queue,))
        child.start()
        child.join(timeout=60)
    finally:
        stop.set()
        if busy_parent:
            busy.join()
    if child.is_alive():
        child.kill()
        pytest.fail("a forked child hung in a parallel kernel")
    assert child.exitcode == 0
    assert queue.get(timeout=5) == expected


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"FUSEDNET_NUM_THREADS": "3"}, 3),
        ({"OMP_NUM_THREADS": "5"}, 5),
        ({"FUSEDNET_NUM_THREADS": "2", "OMP_NUM_THREADS": "7"}, 2),
    ],
)
def test_default_thread_count_follows_the_environment(env, expected):
    clean = {
        k: v for k, v in os.environ.items() if k not in ("FUSEDNET_NUM_THREADS", "OMP_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", "import fusednet; print(fusednet.get_num_threads())"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) == expected


def test_default_thread_count_is_the_usable_cpus():
    clean = {
        k: v for k, v in os.environ.items() if k not in ("FUSEDNET_NUM_THREADS", "OMP_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-c", "import fusednet; print(fusednet.get_num_threads())"],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert int(out.stdout) == usable


def test_workers_that_sleep_between_calls():
    """FUSEDNET_SPIN_US=0: workers sleep right after every job, so every call wakes them (the
    sleep/wake hand-over, exercised thousands of times)."""
    code = """
import numpy as np, fusednet as fnet
fnet.set_num_threads(3)
rng = np.random.default_rng(0)
a = rng.standard_normal((200, 150), dtype=np.float32)
b = rng.standard_normal((150, 170), dtype=np.float32)
want = a.astype(np.float64) @ b.astype(np.float64)
first = fnet.ops.matmul(a, b)
assert np.abs(first - want).max() < 1e-3
for _ in range(2000):
    assert np.array_equal(fnet.ops.matmul(a, b), first)
print("ok")
"""
    env = {**os.environ, "FUSEDNET_SPIN_US": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
