"""Tuning script for the CPU gemm: fusednet vs NumPy's matmul side by side in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONPATH=python python tools/gemm_bench.py \
        [--quick] [--one-thread] [FILTER ...]

For each case, blocks of calls of NumPy and fusednet alternate (a block, not single calls, so
neither library's worker threads are still spinning when the other starts); the figure is the
median over the blocks of the per-call time. ratio = NumPy time / fusednet time (> 1: faster).
Peak = fusednet._core.fp32_peak_gflops(threads): independent FMA chains on every vector
register for ~50 ms per thread count, best 10 ms chunk (cores x FMA pipes x lanes x 2 x clock).
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

import fusednet as fnet
from fusednet import ops

clock = time.perf_counter


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
        return (lambda: np.matmul(a, b.T, out=out)), (lambda: ops.matmul(a, b, trans_b=True, out=out))
    if form == "TN":
        return (lambda: np.matmul(a.T, b, out=out)), (lambda: ops.matmul(a, b, trans_a=True, out=out))
    return (lambda: np.maximum(a @ b + bias, 0)), (lambda: ops.linear(a, b, bias, activation="relu", out=out))


def per_call(fn, target_s):
    """How many calls fill about target_s (at least 1)."""
    fn()
    n = 1
    while True:
        t = clock()
        for _ in range(n):
            fn()
        dt = clock() - t
        if dt >= target_s / 2:
            return max(1, int(n * target_s / dt)), dt / n
        n = min(n * 8, max(n + 1, int(n * target_s / max(dt, 1e-7))))


def bench(np_fn, fn_fn, blocks, target_s):
    n_np, _ = per_call(np_fn, target_s)
    n_fn, _ = per_call(fn_fn, target_s)
    tn, tf = [], []
    for _ in range(blocks):
        for fn, n, acc in ((np_fn, n_np, tn), (fn_fn, n_fn, tf)):
            t = clock()
            for _ in range(n):
                fn()
            acc.append((clock() - t) / n)
    return float(np.median(tn)), float(np.median(tf))


def main():
    quick = "--quick" in sys.argv
    filt = [a for a in sys.argv[1:] if not a.startswith("--")]
    global clock
    if "--one-thread" in sys.argv:
        # Both libraries on the calling thread, timed in its CPU time: kernel efficiency alone,
        # unaffected by time slices lost to other processes on a shared machine.
        from threadpoolctl import threadpool_limits
        threadpool_limits(1, user_api="blas")
        fnet.set_num_threads(1)
        clock = time.thread_time
    try:
        from threadpoolctl import threadpool_info
        blas = [(i["internal_api"], i.get("architecture"), i["num_threads"]) for i in threadpool_info()
                if i["user_api"] == "blas"]
    except ImportError:
        blas = "threadpoolctl not installed"
    threads = fnet.get_num_threads()
    peak = max(fnet._core.fp32_peak_gflops(threads) for _ in range(3))
    peak1 = max(fnet._core.fp32_peak_gflops(1) for _ in range(3))
    print(f"numpy {np.__version__} BLAS {blas}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    print(f"fusednet isa={fnet._core.cpu_isa()} kernel={fnet._core.gemm_blocking()['kernel']} "
          f"threads={threads}; measured FP32 peak {peak:.1f} GFLOP/s ({peak1:.1f} on 1 thread)")
    print(f"{'case':32s} {'form':4s} {'numpy us':>10s} {'fnet us':>10s} {'fnet GF/s':>9s} {'%peak':>6s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for name, form, M, N, K in cases():
        if filt and not any(f in name for f in filt):
            continue
        np_fn, fn_fn = make(form, M, N, K, rng)
        tn, tf = bench(np_fn, fn_fn, 5 if quick else 9, 0.02 if quick else 0.05)
        gf = 2.0 * M * N * K / tf * 1e-9
        print(f"{name:32s} {form:4s} {tn * 1e6:10.1f} {tf * 1e6:10.1f} {gf:9.1f} {100 * gf / peak:6.1f} {tn / tf:6.2f}",
              flush=True)


if __name__ == "__main__":
    main()
