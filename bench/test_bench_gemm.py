"""pytest-benchmark cases for the CPU gemm: fusednet vs NumPy's matmul, side by side.

    PYTHONPATH=python python -m pytest bench/test_bench_gemm.py --benchmark-group-by=group

Each case is one benchmark group with a `fusednet` and a `numpy` row; extra_info carries
GFLOP/s, % of the measured FP32 peak and the flop count. The peak is measured once per session by
fusednet._core.fp32_peak_gflops(threads): independent FMA chains on all vector registers of the
active ISA, best 10 ms chunk of ~50 ms (= cores x FMA pipes x lanes x 2 x clock, as run).
Targets (issue 3): square 1024/2048 >= 0.9x NumPy; MLP shapes (batch 32-512, K/N in
{784, 256, 128, 10}; NN, NT, TN) >= 1.0x; square 32/64/128 >= 1.0x; linear+relu 256x784x256
>= 1.1x NumPy's maximum(x @ w + b, 0). No assertions on time: benchmarks report, tests check.
"""

from __future__ import annotations

import numpy as np
import pytest

import fusednet as fnet
from conftest import median_s
from fusednet import ops

CASES = [("square", "NN", n, n, n) for n in (32, 64, 128, 1024, 2048)]
for _batch in (32, 256, 512):
    for _fin, _fout in ((784, 256), (256, 128), (128, 10)):
        CASES += [
            (f"mlp fwd b{_batch} {_fin}->{_fout}", "NN", _batch, _fout, _fin),
            (f"mlp dX b{_batch} {_fin}->{_fout}", "NT", _batch, _fin, _fout),
            (f"mlp dW b{_batch} {_fin}->{_fout}", "TN", _fin, _fout, _batch),
        ]
CASES.append(("linear relu", "LIN", 256, 256, 784))


@pytest.fixture(scope="session")
def fp32_peak():
    return max(fnet._core.fp32_peak_gflops(fnet.get_num_threads()) for _ in range(3))


def _operands(form, M, N, K):
    rng = np.random.default_rng(0)
    a_shape = {"NN": (M, K), "LIN": (M, K), "NT": (M, K), "TN": (K, M)}[form]
    b_shape = {"NN": (K, N), "LIN": (K, N), "NT": (N, K), "TN": (K, N)}[form]
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    bias = rng.standard_normal(N).astype(np.float32)
    return a, b, bias, np.empty((M, N), np.float32)


def _callable(impl, form, a, b, bias, out):
    if impl == "numpy":
        return {
            "NN": lambda: np.matmul(a, b, out=out),
            "NT": lambda: np.matmul(a, b.T, out=out),
            "TN": lambda: np.matmul(a.T, b, out=out),
            "LIN": lambda: np.maximum(a @ b + bias, 0),
        }[form]
    return {
        "NN": lambda: ops.matmul(a, b, out=out),
        "NT": lambda: ops.matmul(a, b, trans_b=True, out=out),
        "TN": lambda: ops.matmul(a, b, trans_a=True, out=out),
        "LIN": lambda: ops.linear(a, b, bias, activation="relu", out=out),
    }[form]


@pytest.mark.parametrize("impl", ["fusednet", "numpy"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} {c[2]}x{c[3]}x{c[4]} {c[1]}" for c in CASES])
def test_bench_gemm(benchmark, fp32_peak, case, impl):
    name, form, M, N, K = case
    a, b, bias, out = _operands(form, M, N, K)
    fn = _callable(impl, form, a, b, bias, out)
    benchmark.group = f"gemm {name} M={M} N={N} K={K} {form}"
    benchmark.extra_info.update(flop=2 * M * N * K, fp32_peak_gflops=round(fp32_peak, 1))
    benchmark(fn)
    if (seconds := median_s(benchmark)) is not None:
        gflops = 2 * M * N * K / seconds * 1e-9
        benchmark.extra_info.update(
            gflops=round(gflops, 1), pct_peak=round(100 * gflops / fp32_peak, 1)
        )
