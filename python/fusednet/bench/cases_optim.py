"""Optimizer steps on 10M float32 parameters: one fused pass (fusednet) against the textbook NumPy
update and torch.optim. Each call is one step; the step counter keeps advancing across calls."""

from __future__ import annotations

import numpy as np

from fusednet import ops

from .case import FUSEDNET, NUMPY, TORCH, Case, Contender, Target, max_rel_err

PARAMS = 10_000_000
LR, BETA1, BETA2, EPS, WEIGHT_DECAY, MOMENTUM = 1e-4, 0.9, 0.999, 1e-7, 0.01, 0.9
SOURCE = "issue 2"
TARGETS = (Target(NUMPY, 10.0, SOURCE), Target(TORCH, 1 / 1.2, SOURCE))


class NumpyAdam:
    """Adam (paper form) or AdamW (decoupled decay), written the straightforward NumPy way."""

    def __init__(self, n, decoupled_weight_decay=0.0, dtype=np.float32):
        self.m = np.zeros(n, dtype)
        self.v = np.zeros(n, dtype)
        self.wd = decoupled_weight_decay
        self.t = 0

    def step(self, p, g):
        self.t += 1
        if self.wd:
            p *= 1 - LR * self.wd
        self.m[:] = BETA1 * self.m + (1 - BETA1) * g
        self.v[:] = BETA2 * self.v + (1 - BETA2) * g * g
        m_hat = self.m / (1 - BETA1**self.t)
        v_hat = self.v / (1 - BETA2**self.t)
        p -= LR * m_hat / (np.sqrt(v_hat) + EPS)


class NumpySgdMomentum:
    """v = momentum * v + g; p -= lr * v (PyTorch's convention)."""

    def __init__(self, n, dtype=np.float32):
        self.v = np.zeros(n, dtype)

    def step(self, p, g):
        self.v[:] = MOMENTUM * self.v + g
        p -= LR * self.v


class FusedAdam:
    def __init__(self, n, decoupled_weight_decay=0.0):
        self.m = np.zeros(n, np.float32)
        self.v = np.zeros(n, np.float32)
        self.wd = decoupled_weight_decay
        self.t = 0

    def step(self, p, g):
        self.t += 1
        ops.adam_(
            p,
            g,
            self.m,
            self.v,
            step=self.t,
            lr=LR,
            beta1=BETA1,
            beta2=BETA2,
            eps=EPS,
            weight_decay=self.wd,
            decoupled=bool(self.wd),
        )


class FusedSgdMomentum:
    def __init__(self, n):
        self.v = np.zeros(n, np.float32)

    def step(self, p, g):
        ops.sgd_(p, g, self.v, lr=LR, momentum=MOMENTUM)


# name -> (fusednet stepper, NumPy stepper, torch optimizer factory, bytes per parameter, napkin)
ALGORITHMS = {
    "adam": (
        lambda n: FusedAdam(n),
        lambda n, dtype=np.float32: NumpyAdam(n, 0.0, dtype),
        lambda optim, p, **kw: optim.Adam([p], lr=LR, betas=(BETA1, BETA2), eps=EPS, **kw),
        28,
        "28 B/param: read p,g,m,v; write p,m,v",
    ),
    "adamw": (
        lambda n: FusedAdam(n, WEIGHT_DECAY),
        lambda n, dtype=np.float32: NumpyAdam(n, WEIGHT_DECAY, dtype),
        lambda optim, p, **kw: optim.AdamW(
            [p], lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=WEIGHT_DECAY, **kw
        ),
        28,
        "28 B/param: read p,g,m,v; write p,m,v",
    ),
    "sgd_momentum": (
        lambda n: FusedSgdMomentum(n),
        lambda n, dtype=np.float32: NumpySgdMomentum(n, dtype),
        lambda optim, p, **kw: optim.SGD([p], lr=LR, momentum=MOMENTUM, **kw),
        20,
        "20 B/param: read p,g,v; write p,v",
    ),
}


def _torch_contender(torch, make_optimizer, param0, grad):
    """torch.optim with the fastest CPU implementation that works here: fused, else foreach."""
    p = torch.nn.Parameter(torch.from_numpy(param0.copy()))
    p.grad = torch.from_numpy(grad)
    for kw, note in (({"fused": True}, "fused=True"), ({"foreach": True}, "foreach=True")):
        try:
            opt = make_optimizer(torch.optim, p, **kw)
            with torch.no_grad():
                opt.step()
        except Exception:  # noqa: BLE001 -- fused not supported on this build/device
            continue
        return Contender(TORCH, opt.step, f"torch.optim {note}")
    return Contender(TORCH, None, reason="torch.optim failed with fused and foreach")


def optim_case(name, torch, n=PARAMS) -> Case:
    make_ours, make_numpy, make_torch, bytes_per_param, napkin = ALGORITHMS[name]
    rng = np.random.default_rng(3)
    param0 = rng.standard_normal(n, dtype=np.float32)
    grad = rng.standard_normal(n, dtype=np.float32)
    ours_p, numpy_p = param0.copy(), param0.copy()
    ours, numpy_opt = make_ours(n), make_numpy(n)
    contenders = [
        Contender(FUSEDNET, lambda: ours.step(ours_p, grad), "one pass, in place"),
        Contender(NUMPY, lambda: numpy_opt.step(numpy_p, grad), "textbook update"),
    ]
    contenders.append(
        _torch_contender(torch, make_torch, param0, grad)
        if torch is not None
        else Contender(TORCH, None, reason="torch not installed")
    )

    def check():
        # Small parameters, so float32 rounding of p is far below the size of the update checked.
        small = 100_003
        p0 = param0[:small] * np.float32(1e-3)
        p_ours, p_ref = p0.copy(), p0.astype(np.float64)
        a, b = make_ours(small), make_numpy(small, np.float64)
        for _ in range(3):
            a.step(p_ours, grad[:small])
            b.step(p_ref, grad[:small].astype(np.float64))
        return max_rel_err(p_ours - p0, p_ref - p0), 1e-4

    return Case(
        "optim",
        f"{name} 10M",
        contenders,
        bytes=float(bytes_per_param) * n,
        napkin=napkin,
        targets=TARGETS,
        check=check,
    )


def cases(cfg):
    for name in ALGORITHMS:
        yield optim_case(name, cfg.torch)
