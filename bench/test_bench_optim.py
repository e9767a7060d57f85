"""Optimizer steps on 10M parameters: fusednet vs the straightforward NumPy update vs PyTorch
(``fused=True``), side by side in one process.

    PYTHONPATH=python python -m pytest bench/test_bench_optim.py --benchmark-only -s
    PYTHONPATH=python python bench/test_bench_optim.py          # just the ratio report

Napkin math: the step is memory-bound. Adam / AdamW read p, g, m, v and write p, m, v: 28 bytes per
parameter; SGD with momentum reads p, g, vel and writes p, vel: 20 bytes. GB/s is printed beside
each time. Targets (issue 2): >= 10x the NumPy update, time <= 1.2x PyTorch's fused step.
"""

from __future__ import annotations

import numpy as np
import pytest

import fusednet as fnet
from conftest import median_s
from fusednet import ops
from fusednet.bench.timing import median_seconds

N = 10_000_000
LR, B1, B2, EPS, WD, MOMENTUM = 1e-3, 0.9, 0.999, 1e-7, 1e-2, 0.9
BYTES_PER_PARAM = {"adam": 28, "adamw": 28, "sgd_momentum": 20}
OPTIMIZERS = list(BYTES_PER_PARAM)


def _arrays(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(n, dtype=np.float32)
    g = rng.standard_normal(n, dtype=np.float32)
    return p, g, np.zeros_like(p), np.zeros_like(p)


def fusednet_step(opt, n=N):
    p, g, m, v = _arrays(n)
    state = {"t": 0}

    def step():
        state["t"] += 1
        if opt == "sgd_momentum":
            ops.sgd_(p, g, m, lr=LR, momentum=MOMENTUM)
        else:
            ops.adam_(
                p,
                g,
                m,
                v,
                step=state["t"],
                lr=LR,
                beta1=B1,
                beta2=B2,
                eps=EPS,
                weight_decay=WD if opt == "adamw" else 0.0,
                decoupled=opt == "adamw",
            )

    return step


def numpy_step(opt, n=N):
    """The update as one would write it in NumPy (in-place where it is natural)."""
    p, g, m, v = _arrays(n)
    state = {"t": 0}

    def step():
        state["t"] += 1
        t = state["t"]
        if opt == "sgd_momentum":
            m[...] *= MOMENTUM
            m[...] += g
            p[...] -= LR * m
            return
        if opt == "adamw":
            p[...] *= 1 - LR * WD
        m[...] *= B1
        m[...] += (1 - B1) * g
        v[...] *= B2
        v[...] += (1 - B2) * g * g
        p[...] -= LR * (m / (1 - B1**t)) / (np.sqrt(v / (1 - B2**t)) + EPS)

    return step


def torch_step(opt, n=N):
    """PyTorch's fused CPU step (foreach if this build lacks fused); None without torch."""
    try:
        import torch
    except ImportError:
        return None, "torch not installed"
    torch.set_num_threads(fnet.get_num_threads())
    p, g, _, _ = _arrays(n)
    tp = torch.from_numpy(p).requires_grad_()
    tp.grad = torch.from_numpy(g)
    cls, kw = {
        "adam": (torch.optim.Adam, dict(betas=(B1, B2), eps=EPS)),
        "adamw": (torch.optim.AdamW, dict(betas=(B1, B2), eps=EPS, weight_decay=WD)),
        "sgd_momentum": (torch.optim.SGD, dict(momentum=MOMENTUM)),
    }[opt]
    for mode in ("fused", "foreach"):
        try:
            optimizer = cls([tp], lr=LR, **{mode: True}, **kw)
            optimizer.step()
            return optimizer.step, f"torch {torch.__version__} {mode}=True"
        except (RuntimeError, TypeError, ValueError):
            continue
    return None, "torch has neither fused nor foreach for this optimizer"


def report(opt: str, reps: int = 9) -> dict:
    fns = {"fusednet": fusednet_step(opt), "numpy": numpy_step(opt)}
    tstep, tnote = torch_step(opt)
    if tstep is not None:
        fns["torch"] = tstep
    med = median_seconds(fns, repeat=reps)
    gbs = {k: BYTES_PER_PARAM[opt] * N / t / 1e9 for k, t in med.items()}
    line = (
        f"{opt:12s} 10M params, {fnet.get_num_threads()} threads: fusednet "
        f"{med['fusednet'] * 1e3:7.2f} ms ({gbs['fusednet']:5.1f} GB/s) | numpy "
        f"{med['numpy'] * 1e3:7.2f} ms ({gbs['numpy']:4.1f} GB/s) -> "
        f"{med['numpy'] / med['fusednet']:5.1f}x numpy"
    )
    out = {
        "fusednet_s": med["fusednet"],
        "numpy_s": med["numpy"],
        "x_numpy": med["numpy"] / med["fusednet"],
        "fusednet_GBps": gbs["fusednet"],
    }
    if "torch" in med:
        line += (
            f" | torch {med['torch'] * 1e3:7.2f} ms ({gbs['torch']:5.1f} GB/s) -> fusednet "
            f"time / torch time = {med['fusednet'] / med['torch']:4.2f} ({tnote})"
        )
        out.update(torch_s=med["torch"], time_vs_torch=med["fusednet"] / med["torch"])
    else:
        line += f" | {tnote}"
    print(line, flush=True)
    return out


@pytest.mark.parametrize("impl", ["fusednet", "numpy", "torch"])
@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_step(benchmark, opt, impl):
    benchmark.group = f"{opt} step, 10M params ({BYTES_PER_PARAM[opt]} B/param)"
    if impl == "torch":
        fn, note = torch_step(opt)
        if fn is None:
            pytest.skip(note)
        benchmark.extra_info["torch"] = note
    else:
        fn = fusednet_step(opt) if impl == "fusednet" else numpy_step(opt)
    benchmark.pedantic(fn, rounds=7, iterations=1, warmup_rounds=1)
    if (seconds := median_s(benchmark)) is not None:
        benchmark.extra_info["GB/s"] = round(BYTES_PER_PARAM[opt] * N / seconds / 1e9, 2)


@pytest.mark.parametrize("opt", OPTIMIZERS)
def test_side_by_side_ratio(benchmark, opt, capsys):
    """Interleaved medians and the ratios the targets are stated in (printed, never asserted)."""
    benchmark.group = "ratios (interleaved)"
    with capsys.disabled():
        out = benchmark.pedantic(report, args=(opt,), rounds=1, iterations=1)
    benchmark.extra_info.update({k: round(v, 4) for k, v in out.items()})


if __name__ == "__main__":
    for name in OPTIMIZERS:
        report(name)
