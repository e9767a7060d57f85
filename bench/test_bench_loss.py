"""Losses (value + gradient) on 4096 x 1000: fusednet vs the straightforward NumPy code vs PyTorch
(forward + backward), side by side in one process.

    PYTHONPATH=python python -m pytest bench/test_bench_loss.py --benchmark-only -s
    PYTHONPATH=python python bench/test_bench_loss.py           # just the ratio report

Napkin math: each loss reads its inputs once and writes the gradient once (softmax CE with labels:
16 MB in, 16 MB out; mse / bce / soft targets: 32 MB in, 16 MB out); GB/s is printed beside each
time. The exp per element (softmax CE, BCE) is what NumPy spends most of its time on.
"""

from __future__ import annotations

import numpy as np
import pytest

import fusednet as fnet
from conftest import median_s
from fusednet import ops
from fusednet.bench.timing import median_seconds

ROWS, COLS = 4096, 1000
LOSSES = ["softmax_ce", "softmax_ce_soft", "bce", "mse"]
MB = {"softmax_ce": 32, "softmax_ce_soft": 48, "bce": 48, "mse": 48}  # bytes moved, in MB


def inputs(name, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((ROWS, COLS), dtype=np.float32) * 3
    if name == "softmax_ce":
        return z, rng.integers(0, COLS, ROWS)
    if name == "softmax_ce_soft":
        t = rng.random((ROWS, COLS), dtype=np.float32)
        return z, t / t.sum(axis=1, keepdims=True)
    if name == "bce":
        return z, (rng.random((ROWS, COLS)) < 0.5).astype(np.float32)
    return z, rng.standard_normal((ROWS, COLS), dtype=np.float32)


def fusednet_loss(name):
    a, b = inputs(name)
    fn = {
        "softmax_ce": ops.softmax_cross_entropy,
        "softmax_ce_soft": ops.softmax_cross_entropy,
        "bce": ops.binary_cross_entropy,
        "mse": ops.mse,
    }[name]
    return lambda: fn(a, b)


def numpy_loss(name):
    """What one writes in NumPy: stable formulas, mean reduction, value and gradient."""
    z, t = inputs(name)
    rows = np.arange(ROWS)

    def softmax_ce():
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - z[rows, t]))
        g = e / s
        g[rows, t] -= 1
        g /= ROWS
        return loss, g

    def softmax_ce_soft():
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        s = e.sum(axis=1, keepdims=True)
        logp = z - m - np.log(s)
        loss = float(-(t * logp).sum() / ROWS)
        g = (t.sum(axis=1, keepdims=True) * (e / s) - t) / ROWS
        return loss, g

    def bce():
        e = np.exp(-np.abs(z))
        loss = float(np.mean(np.maximum(z, 0) - t * z + np.log1p(e)))
        sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        return loss, (sig - t) / z.size

    def mse():
        d = z - t
        return float(np.mean(d * d)), d * (2.0 / d.size)

    return {"softmax_ce": softmax_ce, "softmax_ce_soft": softmax_ce_soft, "bce": bce, "mse": mse}[
        name
    ]


def torch_loss(name):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, "torch not installed"
    torch.set_num_threads(fnet.get_num_threads())
    z, t = inputs(name)
    tz, tt = torch.from_numpy(z), torch.from_numpy(t)
    loss_fn = {
        "softmax_ce": F.cross_entropy,
        "softmax_ce_soft": F.cross_entropy,
        "bce": F.binary_cross_entropy_with_logits,
        "mse": F.mse_loss,
    }[name]

    def step():
        x = tz.detach().requires_grad_()
        loss = loss_fn(x, tt)
        loss.backward()
        return loss.item(), x.grad

    return step, f"torch {torch.__version__} forward+backward"


def report(name: str, reps: int = 11) -> dict:
    fns = {"fusednet": fusednet_loss(name), "numpy": numpy_loss(name)}
    tfn, tnote = torch_loss(name)
    if tfn is not None:
        fns["torch"] = tfn
    med = median_seconds(fns, repeat=reps)
    gbs = {k: MB[name] * 2**20 / t / 1e9 for k, t in med.items()}
    line = (
        f"{name:15s} {ROWS}x{COLS}, {fnet.get_num_threads()} threads: fusednet "
        f"{med['fusednet'] * 1e3:6.2f} ms ({gbs['fusednet']:4.1f} GB/s) | numpy "
        f"{med['numpy'] * 1e3:6.2f} ms -> {med['numpy'] / med['fusednet']:4.1f}x numpy"
    )
    out = {
        "fusednet_s": med["fusednet"],
        "numpy_s": med["numpy"],
        "x_numpy": med["numpy"] / med["fusednet"],
    }
    if "torch" in med:
        line += (
            f" | torch {med['torch'] * 1e3:6.2f} ms -> "
            f"{med['torch'] / med['fusednet']:4.1f}x torch ({tnote})"
        )
        out.update(torch_s=med["torch"], x_torch=med["torch"] / med["fusednet"])
    print(line, flush=True)
    return out


@pytest.mark.parametrize("impl", ["fusednet", "numpy", "torch"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss(benchmark, name, impl):
    benchmark.group = f"{name} {ROWS}x{COLS} value+gradient"
    if impl == "torch":
        fn, note = torch_loss(name)
        if fn is None:
            pytest.skip(note)
    else:
        fn = fusednet_loss(name) if impl == "fusednet" else numpy_loss(name)
    benchmark.pedantic(fn, rounds=9, iterations=1, warmup_rounds=1)
    if (seconds := median_s(benchmark)) is not None:
        benchmark.extra_info["GB/s"] = round(MB[name] * 2**20 / seconds / 1e9, 2)


@pytest.mark.parametrize("name", LOSSES)
def test_side_by_side_ratio(benchmark, name, capsys):
    """Interleaved medians and ratios (printed, never asserted)."""
    benchmark.group = "ratios (interleaved)"
    with capsys.disabled():
        out = benchmark.pedantic(report, args=(name,), rounds=1, iterations=1)
    benchmark.extra_info.update({k: round(v, 4) for k, v in out.items()})


if __name__ == "__main__":
    for loss_name in LOSSES:
        report(loss_name)
