"""pytest-benchmark entry points reuse the CLI's case builders (python/fusednet/bench/), so a case
means the same thing in both. Run: PYTHONPATH=python python -m pytest bench/ --benchmark-only."""
import time

import numpy as np
import pytest

from fusednet.bench.timing import UNAVAILABLE_ERRORS


def interleaved_medians(fns: dict, reps: int = 9) -> dict:
    """Median seconds per callable, the callables taking turns so drift hits all alike."""
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) for k, v in times.items()}


def run_contender(benchmark, case, name):
    """Benchmarks one contender of a case; skips when it (or its op) is not available."""
    contender = next((c for c in case.contenders if c.name == name), None)
    if contender is None or contender.fn is None:
        pytest.skip(f"{name}: not available")
    try:
        (contender.warmup or contender.fn)()
    except UNAVAILABLE_ERRORS as exc:
        pytest.skip(f"{name}: {exc}")
    benchmark.group = case.name
    benchmark.extra_info.update(flops=case.flops, bytes=case.bytes, samples=case.samples)
    if contender.warmup is not None:     # long calls (training epochs): a few rounds only
        benchmark.pedantic(contender.fn, rounds=3, iterations=1)
    else:
        benchmark(contender.fn)


@pytest.fixture(scope="session")
def torch_or_none():
    from fusednet.bench.env import torch_or_none
    return torch_or_none()
