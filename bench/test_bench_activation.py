"""Activation forwards on 4M floats: fusednet vs the NumPy expression a user would write, and
PyTorch CPU when it is importable. Speed target (issue 2): fusednet >= 1.5x NumPy, each one.

    PYTHONPATH=python python -m pytest bench/test_bench_activation.py -s          # ratio table
    PYTHONPATH=python python -m pytest bench/test_bench_activation.py --benchmark-only

The NumPy baselines (float32 in, a fresh float32 array out, as fusednet also returns a fresh
array here: no out= on either side):
    relu        np.maximum(x, 0)
    leaky_relu  np.where(x > 0, x, 0.01 * x)
    sigmoid     1 / (1 + np.exp(-x))
    tanh        np.tanh(x)
    gelu        0.5 * x * (1 + np.tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))   (NumPy has no erf;
    gelu_tanh   the same expression                                             this is the GELU
                                                                                a NumPy user writes)
Elementwise forwards are memory-bound: the napkin figure is GB/s moved (4 B read + 4 B written
per element) and its share of a plain copy (np.copyto into an existing array) in the same run.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest

import fusednet as fnet
from fusednet import ops
from fusednet.bench.timing import median_seconds

try:
    import torch
except ImportError:  # PyTorch is optional
    torch = None

N = 4 * 1024 * 1024
C = np.float32(math.sqrt(2.0 / math.pi))
A = np.float32(0.044715)
SLOPE = np.float32(0.01)
REPS = 15  # timed runs per contender in the ratio table


def _numpy_gelu(x):
    return np.float32(0.5) * x * (1 + np.tanh(C * (x + A * x**3)))


NUMPY = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, SLOPE * x),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "gelu": _numpy_gelu,
    "gelu_tanh": _numpy_gelu,
}
FUSEDNET = {
    "relu": ops.relu,
    "leaky_relu": lambda x: ops.leaky_relu(x, 0.01),
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "gelu": ops.gelu,
    "gelu_tanh": lambda x: ops.gelu(x, approximate=True),
}
if torch is not None:
    F = torch.nn.functional
    TORCH = {
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "gelu": F.gelu,
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    }
NAMES = list(FUSEDNET)


@pytest.fixture(scope="module")
def x():
    return (np.random.default_rng(0).standard_normal(N) * 3).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_fusednet(benchmark, name, x):
    benchmark.group = f"activation {name} 4M"
    benchmark(FUSEDNET[name], x)


@pytest.mark.parametrize("name", NAMES)
def test_numpy(benchmark, name, x):
    benchmark.group = f"activation {name} 4M"
    with np.errstate(over="ignore"):
        benchmark(NUMPY[name], x)


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.parametrize("name", NAMES)
def test_torch(benchmark, name, x):
    benchmark.group = f"activation {name} 4M"
    t = torch.from_numpy(x)
    benchmark(TORCH[name], t)


@pytest.mark.parametrize("threads", sorted({1, fnet.get_num_threads()}))
def test_ratio_table(x, threads):
    """Side by side in one process (fusednet.bench.timing: interleaved, median of 15 timed runs
    each); prints, asserts nothing (timing).
    Runs at 1 thread and at the default count: on a shared, oversubscribed machine a parallel
    region waits for a preempted thread (milliseconds), which 1 thread never does."""
    before = fnet.get_num_threads()
    fnet.set_num_threads(threads)
    if torch is not None:
        torch_before = torch.get_num_threads()
        torch.set_num_threads(threads)
    try:
        _ratio_table(x)
    finally:
        fnet.set_num_threads(before)
        if torch is not None:
            torch.set_num_threads(torch_before)


def _ratio_table(x):
    dst = np.empty_like(x)
    t_copy = median_seconds({"copy": lambda: np.copyto(dst, x)}, repeat=REPS)["copy"]
    copy_gbs = 8 * N / t_copy / 1e9
    lines = [
        f"activation forward, {N} float32, threads={fnet.get_num_threads()}, "
        f"isa={fnet.backends()['cpu']['isa']}; np.copyto {copy_gbs:.1f} GB/s",
        f"{'op':11s} {'numpy':>9s} {'fusednet':>9s} {'GB/s':>6s} {'%copy':>6s} "
        f"{'vs numpy':>9s}" + (f" {'torch':>9s} {'vs torch':>9s}" if torch else ""),
    ]
    t_in = torch.from_numpy(x) if torch is not None else None
    with np.errstate(over="ignore"):
        for name in NAMES:
            fns = {"numpy": partial(NUMPY[name], x), "fusednet": partial(FUSEDNET[name], x)}
            if torch is not None:
                fns["torch"] = partial(TORCH[name], t_in)
            med = median_seconds(fns, repeat=REPS)
            tn, tf = med["numpy"], med["fusednet"]
            gbs = 8 * N / tf / 1e9
            line = (
                f"{name:11s} {tn * 1e3:7.2f}ms {tf * 1e3:7.2f}ms {gbs:6.1f} "
                f"{100 * gbs / copy_gbs:5.0f}% {tn / tf:8.2f}x"
            )
            if torch is not None:
                tt = med["torch"]
                line += f" {tt * 1e3:7.2f}ms {tt / tf:8.2f}x"
            lines.append(line)
    print("\n" + "\n".join(lines))
