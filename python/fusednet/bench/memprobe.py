"""Peak memory of one training epoch, measured in a fresh process (run by the bench as
``python -m fusednet.bench.memprobe CONTENDER WORKLOAD SAMPLES [THREADS]``; prints one JSON
line).

tracemalloc cannot see C++ allocations, so this reads the kernel's resident-set high-water mark
(VmHWM), reset just before the data is made (``/proc/self/clear_refs``), and subtracts the
resident set of the process as it was after imports.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys


def _status_kib(field: str):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(argv) -> int:
    contender, workload_name, samples = argv[0], argv[1], int(argv[2])
    from . import models

    workload = dataclasses.replace(
        {"mlp784": models.MLP784, "tiny": models.TINY}[workload_name], samples=samples
    )
    import fusednet  # imports are not the fit's memory: they come before the baseline

    threads = int(argv[3]) if len(argv) > 3 else fusednet.get_num_threads()
    fusednet.set_num_threads(threads)
    torch = None
    if contender == "torch":
        import torch

        torch.set_num_threads(threads)

    baseline_kib = _status_kib("VmRSS")
    reset = _reset_peak()
    x, y = workload.data()
    if contender == "torch":
        train = models.make_torch(torch, workload, x, y)
    else:
        train = {"fusednet": models.make_fusednet, "numpy": models.make_numpy}[contender](
            workload, x, y
        )
    out = {
        "contender": contender,
        "workload": workload_name,
        "samples": samples,
        "ideal_bytes": workload.ideal_bytes(x, y),
        "data_bytes": x.nbytes + y.nbytes,
    }
    try:
        train.run()
    except Exception as exc:  # noqa: BLE001 -- reported, not raised
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    peak_kib = _status_kib("VmHWM") if reset else None
    if peak_kib is None or baseline_kib is None:  # no /proc: ru_maxrss is never reset
        peak_kib, out["method"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
    else:
        out["method"] = "VmHWM (reset after imports) - VmRSS after imports"
    out["peak_bytes"] = (peak_kib - (baseline_kib or 0)) * 1024
    out["ratio"] = out["peak_bytes"] / out["ideal_bytes"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
