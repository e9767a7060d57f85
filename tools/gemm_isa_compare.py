"""Every GEMM case of the default bench against NumPy, per ISA path and thread count.

    PYTHONPATH=python python tools/gemm_isa_compare.py [--isa avx512,avx2] [--threads 1,2]
        [--repeat N] [FILTER ...]

Each (ISA, threads) pair runs in its own process, so the like-for-like setting is fixed before
either library loads: FUSEDNET_ISA forces fusednet's kernel path, and on the AVX2 path
OPENBLAS_CORETYPE=Haswell pins NumPy's OpenBLAS (a DYNAMIC_ARCH build) to its AVX2 kernels too.
On the AVX-512 path OpenBLAS keeps the kernels it picks itself (as in the bench).
One thread: both libraries on the calling thread, timed in its CPU time (kernel efficiency,
unaffected by slices lost to other processes). Two threads: the bench's interleaved wall-clock
timer. Printed per case: the fastest run of each library in us and the ratio numpy / fusednet
(> 1: fusednet faster), plus the median-run ratio; `uptime`'s load is printed with each block.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def worker(threads: int, repeat: int, filt: list[str]) -> None:
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    import fusednet as fnet
    from fusednet import ops
    from fusednet.bench.cases_gemm import _operands, plan

    sys.path.insert(0, HERE)
    from gemm_bench import bench, bench_cpu_time

    threadpool_limits(threads, user_api="blas")
    fnet.set_num_threads(threads)
    blas = [
        (i.get("architecture"), i["num_threads"])
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    kernel = fnet._core.gemm_blocking()["kernel"]
    print(
        f"== isa={fnet._core.cpu_isa()} kernel={kernel} threads={threads} openblas={blas} "
        f"load={os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rng = np.random.default_rng(0)
    shapes = [(m, k, n, form) for m, k, n, form, _ in plan("default")] + [(256, 784, 256, "LIN")]
    for m, k, n, form in shapes:
        name = f"{m}x{k}x{n} {form}"
        if filt and not any(f in name for f in filt):
            continue
        if form == "LIN":
            a, b = _operands(rng, m, k, n, "NN")
            bias = rng.standard_normal(n, dtype=np.float32)
            out = np.empty((m, n), np.float32)

            def np_fn(a=a, b=b, bias=bias):
                return np.maximum(a @ b + bias, 0)

            def fn_fn(a=a, b=b, bias=bias, out=out):
                return ops.linear(a, b, bias, activation="relu", out=out)
        else:
            a, b = _operands(rng, m, k, n, form)
            ta, tb = form[0] == "T", form[1] == "T"
            a_op, b_op = (a.T if ta else a), (b.T if tb else b)
            out = np.empty((m, n), np.float32)

            def np_fn(a_op=a_op, b_op=b_op, out=out):
                return np.matmul(a_op, b_op, out=out)

            def fn_fn(a=a, b=b, ta=ta, tb=tb, out=out):
                return ops.matmul(a, b, trans_a=ta, trans_b=tb, out=out)

        # One thread: CPU time on the calling thread; two: the bench's interleaved timer.
        timer = bench_cpu_time if threads == 1 else bench
        tn, tf = timer(np_fn, fn_fn, repeat, 0.01)
        fast = min(tn) / min(tf)
        med = statistics.median(tn) / statistics.median(tf)
        flag = "" if fast >= 1.0 else "  <"
        print(
            f"{name:22s} numpy {min(tn) * 1e6:9.1f} us  fnet {min(tf) * 1e6:9.1f} us  "
            f"min {fast:5.2f}x  median {med:5.2f}x{flag}",
            flush=True,
        )


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--worker":
        worker(int(args[1]), int(args[2]), args[3:])
        return

    def opt(name, default):
        if name in args:
            i = args.index(name)
            value = args[i + 1]
            del args[i : i + 2]
            return value
        return default

    isas = opt("--isa", "avx512,avx2").split(",")
    threads = [int(t) for t in opt("--threads", "1,2").split(",")]
    repeat = opt("--repeat", "7")
    for isa in isas:
        for t in threads:
            env = dict(os.environ, FUSEDNET_ISA=isa)
            env.pop("OPENBLAS_CORETYPE", None)
            if isa == "avx2":
                env["OPENBLAS_CORETYPE"] = "Haswell"
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", str(t), repeat, *args]
            subprocess.run(cmd, env=env, check=True)


if __name__ == "__main__":
    main()
