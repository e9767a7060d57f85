"""Data-parallel scaling of mlp784 (784-256-128-10, Adam): ``python -m fusednet.bench --only
dist`` or ``python -m fusednet.bench.dist [--quick]``.

Each configuration runs in its own processes (``mpiexec -n K python -m fusednet.bench.dist
--worker ...``; one rank without mpiexec when MPI is missing): one warm-up epoch, then timed
epochs. Reported: samples/s over the global data set (median epoch), the ratio to 1 rank x 1
thread, and the allreduce share of the step time -- the time the training thread spends
handing gradients over and waiting for their sums (with overlap, only what backward did not
hide), over the epoch time, and of that the wait in the shared-memory barrier (for the
slowest rank: on a loaded machine most of the share). Strong scaling keeps the global batch
(128); weak scaling keeps 128 rows per rank. On a 2-core machine the ideal of 2 ranks x 1
thread is about 2x the throughput of 1 rank x 1 thread; 1 rank x 2 threads is the
single-process alternative.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

CONFIGS = [  # name, ranks, threads per rank, global batch, data-parallel mode
    ("1 rank x 1 thread", 1, 1, 128, None),
    ("1 rank x 2 threads", 1, 2, 128, None),
    ("2 ranks x 1, strong, overlap", 2, 1, 128, "overlap"),
    ("2 ranks x 1, strong, no overlap", 2, 1, 128, "no-overlap"),
    ("2 ranks x 1, weak, overlap", 2, 1, 256, "overlap"),
]


def _worker(spec):
    import numpy as np

    import fusednet as fnet
    from fusednet import distributed as dist
    from fusednet.distributed import _data_parallel as dpm

    from .models import MLP784

    fnet.set_num_threads(spec["threads"])
    world = dist.init()
    exposed = [0.0]

    def timed(method):
        def call(*args):
            t = time.perf_counter()
            try:
                return method(*args)
            finally:
                exposed[0] += time.perf_counter() - t

        return call

    dpm.Session._reduce = timed(dpm.Session._reduce)
    dpm.Session._wait = timed(dpm.Session._wait)
    waited = [0.0]  # in the shared window's barrier: waiting for the slowest rank, not summing
    if world.shared is not None:
        barrier = type(world.shared).barrier

        def timed_barrier(self, what):
            if what != "the gradient sum":  # the epoch's loss sums, stop decisions
                return barrier(self, what)
            t = time.perf_counter()
            try:
                return barrier(self, what)
            finally:
                waited[0] += time.perf_counter() - t

        type(world.shared).barrier = timed_barrier
    x, y = MLP784.data()
    x, y = x[: spec["samples"]], y[: spec["samples"]]
    layers = [fnet.layers.Dense(MLP784.sizes[1], activation="relu", input_shape=(784,))]
    layers += [fnet.layers.Dense(u, activation="relu") for u in MLP784.sizes[2:-1]]
    layers.append(fnet.layers.Dense(MLP784.sizes[-1]))
    model = fnet.Sequential(layers, device="cpu", seed=0)
    model.compile(
        optimizer=fnet.optimizers.Adam(learning_rate=MLP784.learning_rate),
        loss=fnet.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    mode = spec["mode"]
    strategy = False if mode is None else dist.DataParallel(overlap=mode == "overlap")
    times, shares, waits = [], [], []
    for epoch in range(spec["epochs"] + 1):
        exposed[0] = waited[0] = 0.0
        if world.size > 1:
            dist.barrier()
        t = time.perf_counter()
        model.fit(x, y, batch_size=spec["batch"], epochs=1, verbose=0, distributed=strategy)
        dt = time.perf_counter() - t
        if epoch:  # the first is the warm-up
            times.append(dt)
            shares.append(exposed[0] / dt)
            waits.append(waited[0] / dt)
    if world.rank == 0:
        k = int(np.argsort(times)[len(times) // 2])
        print(
            "RESULT "
            + json.dumps(
                {
                    "samples_per_s": len(x) / times[k],
                    "allreduce_share": shares[k] if mode else None,
                    "barrier_share": waits[k] if world.shared is not None else None,
                    "sum_path": None
                    if world.size == 1
                    else "shared memory"
                    if world.shared is not None
                    else "all-to-all",
                    "epoch_s": times[k],
                }
            ),
            flush=True,
        )


def _launch(ranks, spec):
    cmd = [sys.executable, "-m", "fusednet.bench.dist", "--worker", json.dumps(spec)]
    mpiexec = shutil.which("mpiexec")
    if ranks > 1 or spec["mode"]:
        try:
            import mpi4py  # noqa: F401
        except ImportError:
            mpiexec = None
        if mpiexec is None:
            return {"error": "mpi4py and mpiexec are needed (pip install mpi4py mpich)"}
        cmd = [mpiexec, "-n", str(ranks)] + cmd
    env = dict(os.environ)
    pkg = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([pkg, env.get("PYTHONPATH", "")])
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    return {"error": (p.stderr or p.stdout).strip().splitlines()[-1:] or ["no result"]}


def run(quick=False):
    """Runs every configuration; returns (records, text)."""
    samples, epochs = (4096, 2) if quick else (32768, 5)
    records = []
    for name, ranks, threads, batch, mode in CONFIGS:
        spec = {
            "threads": threads,
            "batch": batch,
            "mode": mode,
            "samples": samples,
            "epochs": epochs,
        }
        rec = {
            "config": name,
            "ranks": ranks,
            "threads_per_rank": threads,
            "global_batch": batch,
            "mode": mode or "alone",
        }
        rec.update(_launch(ranks, spec))
        records.append(rec)
    base = records[0].get("samples_per_s")
    lines = [
        f"distributed: mlp784 (784-256-128-10, Adam), {samples} samples, median of {epochs} "
        f"epochs; ideal for 2 ranks x 1 thread on 2 cores: 2.00x",
        f"{'configuration':34s} {'batch':>12s} {'samples/s':>10s} {'vs 1x1':>7s} "
        f"{'allreduce share':>15s} {'(barrier wait)':>14s}",
    ]
    for r in records:
        per = f"{r['global_batch']}" + (
            f" ({r['global_batch'] // r['ranks']}/rank)" if r["ranks"] > 1 else ""
        )
        if "error" in r:
            lines.append(f"{r['config']:34s} {per:>12s}  unavailable: {r['error']}")
            continue
        ratio = f"{r['samples_per_s'] / base:.2f}x" if base else "-"
        share = "-" if r["allreduce_share"] is None else f"{100 * r['allreduce_share']:.1f}%"
        wait = "-" if r.get("barrier_share") is None else f"{100 * r['barrier_share']:.1f}%"
        lines.append(
            f"{r['config']:34s} {per:>12s} {r['samples_per_s']:10.0f} {ratio:>7s} {share:>15s} "
            f"{wait:>14s}"
        )
    paths = {r.get("sum_path") for r in records} - {None}
    if paths:
        lines.append(
            f"sum: {', '.join(sorted(paths))} (FUSEDNET_DIST_SHM=0: all-to-all); barrier wait: "
            f"the gradient sums' time in the shared window's barrier (waiting for the slowest "
            f"rank, not summing), in any thread"
        )
    return records, "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fusednet.bench.dist", description=__doc__)
    p.add_argument("--quick", action="store_true", help="4096 samples, 2 timed epochs")
    p.add_argument("--json", metavar="PATH", help="write the records to this JSON file")
    p.add_argument("--worker", metavar="SPEC", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(json.loads(args.worker))
        return 0
    records, text = run(args.quick)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
