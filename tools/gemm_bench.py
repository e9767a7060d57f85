"""Tuning script for the CPU gemm: fusednet vs NumPy's matmul side by side in one process.

    PYTHONPATH=python python tools/gemm_bench.py [--quick] [--one-thread] [--repeat N] [FILTER ...]

Two-thread timing goes through the bench's interleaved timer (fusednet.bench.timing.measure):
rounds that alternate the two libraries, the cores idle before each timed run and the library's
own workers woken first, so neither library's spinning threads slow the other. Printed: the
median and the fastest run of each, and both ratios (NumPy time / fusednet time, > 1: faster).
On these shared machines the median ratio of a single case swings by ~10%; repeat, or compare the
fastest runs, before trusting a few percent.
--one-thread times both libraries on the calling thread in its CPU time: kernel efficiency
alone, unaffected by time slices lost to other processes.
Peak = fusednet._core.fp32_peak_gflops(threads): independent FMA chains on every vector register
for ~50 ms per thread count, best 10 ms chunk (cores x FMA pipes x lanes x 2 x clock).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

import fusednet as fnet
from fusednet import ops
from fusednet.bench import timing
from fusednet.bench.case import Contender


def cases():
    out = []
    for n in (32, 64, 128, 1024, 2048):
        out.append((f"square {n}", "NN", n, n, n))
    for batch in (32, 128, 256, 512):
        for fin, fout in ((784, 256), (256, 128), (128, 10), (784, 128), (256, 10)):
            out.append((f"mlp fwd b{batch} {fin}->{fout}", "NN", batch, fout, fin))
            out.append((f"mlp dX  b{batch} {fin}->{fout}", "NT", batch, fin, fout))
            out.append((f"mlp dW  b{batch} {fin}->{fout}", "TN", fin, fout, batch))
    out.append(("linear relu 256x784x256", "LIN", 256, 256, 784))
    # The tiny 2-4-1 net's epoch on 1000 samples (the small kernel's shapes).
    out += [
        ("tiny fwd 1000 2->4", "NN", 1000, 4, 2),
        ("tiny fwd 1000 4->1", "NN", 1000, 1, 4),
        ("tiny dW 4->1 K1000", "TN", 4, 1, 1000),
        ("tiny dX 1000 4->1", "NT", 1000, 4, 1),
        ("tiny dW 2->4 K1000", "TN", 2, 4, 1000),
    ]
    return out


def make(form, M, N, K, rng):
    if form in ("NN", "LIN"):
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
    elif form == "NT":  # dX = dY @ W^T, W stored (in, out) = (N, K)
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((N, K)).astype(np.float32)
    else:  # TN: dW = X^T @ dY, X (batch, in) = (K, M)
        a = rng.standard_normal((K, M)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    out = np.empty((M, N), np.float32)
    if form == "NN":
        return (lambda: np.matmul(a, b, out=out)), (lambda: ops.matmul(a, b, out=out))
    if form == "NT":
        return (lambda: np.matmul(a, b.T, out=out)), (
            lambda: ops.matmul(a, b, trans_b=True, out=out)
        )
    if form == "TN":
        return (lambda: np.matmul(a.T, b, out=out)), (
            lambda: ops.matmul(a, b, trans_a=True, out=out)
        )
    return (lambda: np.maximum(a @ b + bias, 0)), (
        lambda: ops.linear(a, b, bias, activation="relu", out=out)
    )


def bench(np_fn, fn_fn, repeat, min_run_s):
    """(numpy runs, fusednet runs) in seconds per call, from interleaved rounds."""
    results = timing.measure(
        [Contender("numpy", np_fn, ""), Contender("fusednet", fn_fn, "")],
        repeat=repeat,
        min_run_s=min_run_s,
        budget_s=60.0,
    )
    return results["numpy"].runs_s, results["fusednet"].runs_s


def bench_cpu_time(np_fn, fn_fn, repeat, min_run_s):
    """The same on the calling thread, timed in its CPU time, blocks of calls alternating."""

    def calls_for(fn):
        fn()
        start = time.thread_time()
        fn()
        return max(1, int(min_run_s / max(time.thread_time() - start, 1e-7)))

    runs = ([], [])
    counts = (calls_for(np_fn), calls_for(fn_fn))
    for _ in range(repeat):
        for fn, n, acc in zip((np_fn, fn_fn), counts, runs):
            start = time.thread_time()
            for _ in range(n):
                fn()
            acc.append((time.thread_time() - start) / n)
    return runs


def main():
    quick = "--quick" in sys.argv
    args = sys.argv[1:]
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else (5 if quick else 9)
    filt = [
        a
        for i, a in enumerate(args)
        if not a.startswith("--") and (i == 0 or args[i - 1] != "--repeat")
    ]
    one_thread = "--one-thread" in args
    if one_thread:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1, user_api="blas")
        fnet.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_info

        blas = [
            (i["internal_api"], i.get("architecture"), i["num_threads"])
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
    except ImportError:
        blas = "threadpoolctl not installed"
    threads = fnet.get_num_threads()
    peak = max(fnet._core.fp32_peak_gflops(threads) for _ in range(3))
    peak1 = max(fnet._core.fp32_peak_gflops(1) for _ in range(3))
    print(
        f"numpy {np.__version__} BLAS {blas}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}"
    )
    print(
        f"fusednet isa={fnet._core.cpu_isa()} kernel={fnet._core.gemm_blocking()['kernel']} "
        f"threads={threads}; measured FP32 peak {peak:.1f} GFLOP/s ({peak1:.1f} on 1 thread)"
    )
    print(
        f"{'case':32s} {'form':4s} {'numpy us':>9s} {'fnet us':>9s} {'fnet GF/s':>9s} "
        f"{'%peak':>6s} {'ratio':>6s} {'ratio(fastest)':>14s}"
    )
    rng = np.random.default_rng(0)
    timer = bench_cpu_time if one_thread else bench
    for name, form, M, N, K in cases():
        if filt and not any(f in name for f in filt):
            continue
        np_fn, fn_fn = make(form, M, N, K, rng)
        tn, tf = timer(np_fn, fn_fn, repeat, 0.005 if quick else 0.01)
        mn, mf = statistics.median(tn), statistics.median(tf)
        gf = 2.0 * M * N * K / mf * 1e-9
        print(
            f"{name:32s} {form:4s} {mn * 1e6:9.1f} {mf * 1e6:9.1f} {gf:9.1f} "
            f"{100 * gf / peak:6.1f} {mn / mf:6.2f} {min(tn) / min(tf):14.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
