"""The GIL is released around kernel calls: another Python thread keeps running while one runs."""

import threading
import time

import numpy as np
import pytest

import fusednet as fnet


def python_progress_during(call):
    """How many times the main thread ran Python bytecode in the middle half of `call`, run on a
    background thread. Zero when the call holds the GIL throughout."""
    span = {}

    def work():
        span["start"] = time.perf_counter()
        call()
        span["end"] = time.perf_counter()

    stamps = []
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        stamps.append(time.perf_counter())
    worker.join()
    start, end = span["start"], span["end"]
    lo, hi = start + 0.25 * (end - start), end - 0.25 * (end - start)
    return sum(lo <= t <= hi for t in stamps), end - start


def _matmul_call():
    a = np.ones((1536, 1536), np.float32)
    return lambda: fnet.ops.matmul(a, a)


def _adam_call():
    n = 20_000_000
    p, g, m, v = (np.ones(n, np.float32) for _ in range(4))
    return lambda: [fnet.ops.adam_(p, g, m, v, step=s) for s in (1, 2)]


def _fit_call():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 64)).astype(np.float32)
    y = rng.integers(0, 10, 20000)
    model = fnet.Sequential(
        [fnet.layers.Dense(256, activation="relu", input_shape=(64,)), fnet.layers.Dense(10)],
        device="cpu",
        seed=0,
    )
    model.compile(
        optimizer="adam", loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    # Three epochs: the C++ loop, not the Python before it, fills the middle half of the call.
    return lambda: model.fit(x, y, batch_size=128, epochs=3, verbose=0)


@pytest.mark.parametrize(
    "make_call", [_matmul_call, _adam_call, _fit_call], ids=["matmul", "adam_", "fit"]
)
def test_other_threads_run_during_kernel(make_call):
    count, seconds = python_progress_during(make_call())
    assert seconds > 0.01, "the call was too short to tell"
    assert count > 0, f"no Python ran in the middle of a {seconds * 1e3:.0f} ms call: GIL held"
