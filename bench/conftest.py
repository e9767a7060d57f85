"""pytest-benchmark entry points reuse the CLI's case builders and timer (python/fusednet/bench/),
so a case means the same thing in both.

    PYTHONPATH=python python -m pytest bench/ --benchmark-only      # measure
    PYTHONPATH=python python -m pytest bench/ -q --benchmark-disable   # smoke: each case once
"""

import time

import pytest

from fusednet.bench.timing import SETTLE_S, UNAVAILABLE_ERRORS


@pytest.fixture(autouse=True)
def _settle(request):
    """Leaves the cores idle before each benchmark, as fusednet.bench.timing does before each
    timed run: the previous test's library (OpenBLAS, PyTorch) may still have spinning workers."""
    if "benchmark" in request.fixturenames and not request.config.getoption("benchmark_disable"):
        time.sleep(SETTLE_S)


def median_s(benchmark):
    """Median seconds per call of the benchmark just run, or None under --benchmark-disable
    (each case then runs once, untimed, and has no figures to record)."""
    return None if benchmark.stats is None else benchmark.stats.stats.median


def run_contender(benchmark, case, name):
    """Benchmarks one contender of a case; skips when it (or its op) is not available."""
    contender = next((c for c in case.contenders if c.name == name), None)
    if contender is None or contender.fn is None:
        pytest.skip(f"{name}: not available")
    try:
        try:
            (contender.warmup or contender.fn)()
        except UNAVAILABLE_ERRORS as exc:
            pytest.skip(f"{name}: {exc}")
        benchmark.group = case.name
        benchmark.extra_info.update(flops=case.flops, bytes=case.bytes, samples=case.samples)
        if contender.warmup is not None:  # long calls (training epochs): a few rounds only
            # a peer's process times the call itself; the pipe's round trip is in these figures
            benchmark.pedantic(contender.fn, rounds=3, iterations=1)
        else:
            benchmark(contender.fn)
    finally:
        if contender.close is not None:  # a peer's process
            contender.close()


@pytest.fixture(scope="session")
def torch_or_none():
    from fusednet.bench.env import torch_or_none

    return torch_or_none()
