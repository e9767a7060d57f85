"""Training cases (issue 4): mlp784 epochs, the tiny full-batch network and the MNIST-1D-sized
net, fusednet fit against the bench's NumPy trainer, PyTorch eager and the peers of cases_peers
(JAX, Keras, scikit-learn) when installed; plus fit's peak memory, measured in fresh processes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

from . import cases_peers, models
from .case import FUSEDNET, NUMPY, TORCH, Case, Contender, Target
from .timing import UNAVAILABLE_ERRORS

SOURCE = "issue 4"
TARGETS = {
    "mlp784": (Target(NUMPY, 1.5, SOURCE), Target(TORCH, 2.3, SOURCE)),
    "tiny": (Target(NUMPY, 30.0, "issue 14"), Target(TORCH, 100.0, "issue 14")),
    "mnist1d": (Target("jax-scan", 2.0, "issue 14"),),
    "mlp784_bn": (Target(TORCH, 2.0, "issue 11"),),
}
LOSS_EPOCHS, LOSS_RTOL = 3, 1e-3  # the loss check: epochs from the same weights, tolerance
MEMORY_TARGET = 1.3  # peak <= 1.3 x (data + params + optimizer state + one batch workspace)
QUICK_MLP784_SAMPLES = 4096


def workloads(mode):
    mlp, bn = models.MLP784, models.MLP784_BN
    if mode == "quick":
        mlp = dataclasses.replace(mlp, samples=QUICK_MLP784_SAMPLES)
        bn = dataclasses.replace(bn, samples=QUICK_MLP784_SAMPLES)
    mnist1d = dataclasses.replace(models.MNIST1D, epochs=2) if mode == "quick" else models.MNIST1D
    return (mlp, models.TINY, mnist1d, bn)


def train_case(w: models.Workload, torch, budget_s, peers=(), threads=1) -> Case:
    x, y = w.data()
    trainers = [
        (
            FUSEDNET,
            models.make_fusednet(w, x, y),
            "Sequential.fit(shuffle=True)",
        ),
    ]
    if not w.batch_norm:  # the NumPy trainer has Dense layers only
        trainers.append((NUMPY, models.make_numpy(w, x, y), "bench/numpy_trainer.py"))
    if torch is not None:
        trainers.append(
            (TORCH, models.make_torch(torch, w, x, y), "nn.Sequential + optim.Adam, eager")
        )
    contenders = [Contender(name, t.run, note, warmup=t.warmup) for name, t, note in trainers]
    if torch is None:
        contenders.append(Contender(TORCH, None, reason="torch not installed"))
    if w.batch_norm:  # the peers and the loss check know Dense stacks only
        peers = ()
    else:
        contenders = cases_peers.with_peers(contenders, w, x, y, torch, peers, threads)
    samples = float(w.samples * w.epochs)
    sizes = "-".join(map(str, w.sizes))
    return Case(
        "train",
        f"{w.name} {sizes} x{w.samples}, batch {w.batch_size}, "
        f"{w.epochs} epoch{'s' if w.epochs > 1 else ''}",
        contenders,
        samples=samples,
        flops=6.0 * w.n_params * samples,
        napkin=f"6*params = {6 * w.n_params} flops/sample ({w.n_params} params)",
        targets=TARGETS[w.name],
        budget_s=budget_s,
        loss_epochs=0 if w.batch_norm else min(w.epochs, LOSS_EPOCHS),
        loss_rtol=LOSS_RTOL,
    )


def cases(cfg):
    for w in workloads(cfg.mode):
        yield train_case(w, cfg.torch, cfg.train_budget_s, cfg.peers, cfg.threads)


def probe_memory(contender, workload: models.Workload, threads, timeout_s=300) -> dict:
    """Runs fusednet.bench.memprobe in a fresh interpreter; returns its JSON (or an error)."""
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    cmd = [
        sys.executable,
        "-m",
        "fusednet.bench.memprobe",
        contender,
        workload.name,
        str(workload.samples),
        str(threads),
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"contender": contender, "error": f"timed out after {timeout_s} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"contender": contender, "error": f"exit {proc.returncode}: {tail}"[:200]}
    return json.loads(lines[-1])


def memory_results(cfg) -> list:
    """Peak memory of one mlp784 fit epoch (full size even in quick mode: the target is set for
    it) for each contender; fusednet carries the target."""
    workload = models.MLP784
    contenders = [FUSEDNET] if cfg.mode == "quick" else [FUSEDNET, NUMPY]
    if cfg.torch is not None and cfg.mode != "quick":
        contenders.append(TORCH)
    results = []
    for name in contenders:
        r = probe_memory(name, workload, cfg.threads)
        error = r.get("error", "")
        if not error:
            r["status"] = "ok"
        else:
            missing = any(e.__name__ in error for e in UNAVAILABLE_ERRORS)
            r["status"] = "unavailable" if missing else "error"
        if name == FUSEDNET:
            r["target"] = f"<={MEMORY_TARGET:g}x ideal"
            r["met"] = (r["ratio"] <= MEMORY_TARGET) if r["status"] == "ok" else None
        results.append(r)
    return results
