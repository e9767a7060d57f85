"""The machine the numbers come from: CPU, ISA, threads, library versions, and the two ceilings
the napkin math divides by (FP32 GEMM peak, memory copy bandwidth)."""

from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import fusednet


def _cpuinfo() -> dict:
    """First processor's fields from /proc/cpuinfo (empty off Linux), plus the highest 'cpu MHz'."""
    info, mhz = {}, []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "cpu MHz":
                    mhz.append(float(value))
                info.setdefault(key, value)
    except OSError:
        pass
    if mhz:
        info["max cpu MHz"] = max(mhz)
    return info


def torch_or_none(enabled: bool = True):
    """PyTorch when importable (it is optional), else None."""
    if not enabled:
        return None
    try:
        import torch
    except Exception:  # noqa: BLE001 -- a broken torch install is the same as none
        return None
    return torch


def numpy_blas() -> str:
    """NumPy's BLAS as threadpoolctl sees it (other loaded BLAS libraries named by package)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (install threadpoolctl to see NumPy's BLAS)"
    libs = []
    for d in threadpool_info():
        if d.get("user_api") != "blas":
            continue
        path = d.get("filepath", "")
        owner = next((pkg for pkg in ("numpy", "scipy", "torch") if f"{os.sep}{pkg}" in path), "?")
        libs.append(
            (
                owner != "numpy",
                f"{d.get('internal_api')} {d.get('version')} "
                f"({d.get('architecture')} kernels, {d.get('num_threads')} threads)"
                + ("" if owner == "numpy" else f" [loaded by {owner}]"),
            )
        )
    return "; ".join(text for _, text in sorted(libs)) or "none found by threadpoolctl"


def fp32_peak_formula(threads: int, isa: str) -> tuple:
    """(GFLOP/s, how): cores x FMA units x SIMD lanes x 2 flops x clock, from /proc/cpuinfo."""
    info = _cpuinfo()
    ghz = info.get("max cpu MHz", 2000.0) / 1000.0
    lanes = {"avx512": 16, "avx2": 8}.get(isa, 4)
    # Zen 4 executes a 512-bit FMA as two 256-bit halves: effectively one 512-bit FMA per cycle.
    fma_units = 1 if (isa == "avx512" and "AMD" in info.get("vendor_id", "")) else 2
    cores = max(1, min(threads, os.cpu_count() or 1))
    peak = cores * fma_units * lanes * 2 * ghz
    how = (
        f"{cores} cores x {fma_units} FMA units x {lanes} fp32 lanes ({isa}) x 2 flops "
        f"x {ghz:.2f} GHz ('cpu MHz' in /proc/cpuinfo)"
    )
    return peak, how


def fp32_peak(threads: int, isa: str) -> dict:
    """The FP32 peak that %peak divides by: measured by the GEMM kernel's own FMA loop when this
    build has fusednet._core.fp32_peak_gflops, else the formula. A peak is an upper bound, so a
    measurement below the formula (cores taken by other processes; OpenBLAS then beats it) gives
    way to the formula. Both figures are reported."""
    formula, formula_how = fp32_peak_formula(threads, isa)
    peak = {
        "gflops": formula,
        "how": "computed: " + formula_how,
        "source": "formula",
        "formula_gflops": formula,
        "formula_how": formula_how,
        "measured_gflops": None,
    }
    measure = getattr(fusednet._core, "fp32_peak_gflops", None)
    if measure is not None:
        try:  # best of 3: a busy machine only ever lowers the figure
            measured = max(float(measure(threads)) for _ in range(3))
        except Exception:  # noqa: BLE001 -- keep the formula
            return peak
        peak["measured_gflops"] = measured
        if measured >= formula:
            peak.update(
                gflops=measured,
                source="measured",
                how=f"measured by fusednet._core.fp32_peak_gflops({threads}), best of 3 "
                f"(formula: {formula:.1f} = {formula_how})",
            )
        else:
            peak["how"] = (
                f"computed: {formula_how}; the measurement by "
                f"fusednet._core.fp32_peak_gflops({threads}) gave only "
                f"{measured:.1f} (busy cores), so the formula is the bound"
            )
    return peak


def copy_bandwidth_gbps(threads: int, mib: int = 128, repeat: int = 5) -> tuple:
    """Bytes moved per second by np.copyto over ``mib`` MiB (read + write counted), the best of
    one thread and ``threads`` threads (copyto releases the GIL). Returns (GB/s, how)."""
    n = mib * 2**20 // 4
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros_like(src)
    chunks = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]

    def one_thread():
        np.copyto(dst, src)

    def many(pool):
        list(pool.map(lambda ab: np.copyto(dst[ab[0] : ab[1]], src[ab[0] : ab[1]]), chunks))

    best = {}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        variants = [("1 thread", one_thread)]
        if threads > 1:
            variants.append((f"{threads} threads", lambda: many(pool)))
        for label, fn in variants:
            fn()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            best[label] = 2 * src.nbytes / min(times) / 1e9
    label, gbps = max(best.items(), key=lambda kv: kv[1])
    return gbps, (
        f"np.copyto of {mib} MiB, read+write counted, best of {', '.join(best)} "
        f"({label}); the destination's write-allocate read is not counted, so in-place "
        f"updates (optimizer steps) can pass 100%"
    )


def collect(threads: int, torch, torch_reason: str = "not installed") -> dict:
    info = _cpuinfo()
    cpu = fusednet.backends()["cpu"]
    env = {
        "cpu_model": info.get("model name", platform.processor() or platform.machine()),
        "cpu_family_model": f"family {info.get('cpu family', '?')} model {info.get('model', '?')}",
        "cpus": os.cpu_count(),
        "fusednet_version": getattr(fusednet, "__version__", "?"),
        "isa": cpu.get("isa"),
        "isa_detected": cpu.get("isa_detected"),
        "threads": threads,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "torch": getattr(torch, "__version__", None),
        "torch_missing_reason": None if torch is not None else torch_reason,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    return env
