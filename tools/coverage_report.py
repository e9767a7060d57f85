#!/usr/bin/env python3
"""The totals of tools/coverage.sh: line coverage per area from gcovr's JSON (C++) and
coverage.py's JSON (Python), each area checked against its floor (FLOORS, set from the figures
of the day they were raised; raise them as tests grow, never lower them to pass). Exit status 1
when an area is under its floor. --uncovered lists the lines no test runs, per file."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

# area: (language, path prefixes, excluded prefixes, floor in % of lines). Floors: the figures of
# 2026-12-05 (CPU build, the whole suite), rounded down. What stays uncovered then:
# - net: the device-backend paths (data uploads, staging, host copies of the arena), compiled in
#   but only run on a device backend; the mock module run (tools/netcuda_mock) covers them.
# - runtime: the ISA detection of CPUs without AVX-512, thread-creation failure, a worker's
#   exception, the pool's reset in a forked child.
# - python-bench: the benchmark cases and CLI, run by `python -m fusednet.bench`, not the suite.
# - bind: dlpack.cpp and cuda_column.h read CUDA DLPack exports and run the CUDA column of each
#   op (CUDA-only; the mock module covers them), and the CUDA branches of the other bindings.
# - python: fusednet.distributed runs under mpiexec in subprocesses (coverage.py does not follow
#   them); the TensorBoard writer needs tensorboard, which CI does not install; the DLPack paths
#   of CUDA tensors.
# Re-set after the merges of 2026-12-05 (DLPack, distributed, metrics, threads), rounded down.
AREAS = {
    "kernels-cpu": ("C++", ("csrc/kernels/",), ("csrc/kernels/cuda",), 99.0),
    "net": ("C++", ("csrc/net/",), ("csrc/net/backend_cuda.cpp",), 88.0),
    "runtime": ("C++", ("csrc/runtime/", "csrc/common.h"), ("csrc/runtime/cuda_",), 88.0),
    "bind": ("C++", ("csrc/bind/",), ("csrc/bind/dlpack.cpp", "csrc/bind/cuda_column.h"), 93.0),
    # CUDA-only modules: what they do is tested where a device (or the mock module) exists.
    "python": ("Python", ("fusednet/",), ("fusednet/_cuda_net.py", "fusednet/bench/"), 88.0),
    "python-bench": ("Python", ("fusednet/bench/",), (), 46.0),
}


def cpp_lines(path):
    """{file: {line: covered}} from gcovr's JSON; a line counts once, covered if any of its
    instances (templates, inline functions in several objects) ran."""
    with open(path) as f:
        data = json.load(f)
    out = defaultdict(dict)
    for fe in data["files"]:
        lines = out[fe["file"]]
        for ln in fe["lines"]:
            if ln.get("gcovr/noncode") or ln.get("gcovr/excluded"):
                continue
            n = ln["line_number"]
            lines[n] = lines.get(n, False) or ln["count"] > 0
    return out


def python_lines(path, stage):
    """{file: {line: covered}} from coverage.py's JSON, names relative to the staged package."""
    with open(path) as f:
        data = json.load(f)
    out = {}
    for name, fe in data["files"].items():
        rel = os.path.relpath(os.path.abspath(name), stage) if stage else name
        lines = dict.fromkeys(fe["missing_lines"], False)
        lines.update(dict.fromkeys(fe["executed_lines"], True))
        out[rel] = lines
    return out


def in_area(name, prefixes, excluded):
    return (
        name.startswith(prefixes) and not name.startswith(excluded)
        if excluded
        else (name.startswith(prefixes))
    )


def ranges(nums):
    """[3, 4, 5, 9] -> '3-5, 9'."""
    out, start, prev = [], None, None
    for n in sorted(nums):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ", ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cpp", required=True, help="gcovr --json output")
    ap.add_argument("--python", required=True, help="coverage json output")
    ap.add_argument("--stage", default="", help="the staged package's parent directory")
    ap.add_argument("--uncovered", action="store_true", help="list the uncovered lines")
    args = ap.parse_args()
    files = {"C++": cpp_lines(args.cpp), "Python": python_lines(args.python, args.stage)}
    failed = []
    print(f"{'area':14} {'lang':7} {'lines':>7} {'covered':>8} {'%':>7} {'floor':>7}")
    for area, (lang, prefixes, excluded, floor) in AREAS.items():
        hit = total = 0
        missing = {}
        for name, lines in sorted(files[lang].items()):
            if not in_area(name, prefixes, excluded):
                continue
            total += len(lines)
            hit += sum(lines.values())
            miss = [n for n, ok in lines.items() if not ok]
            if miss:
                missing[name] = miss
        pct = 100.0 * hit / total if total else 100.0
        ok = pct + 1e-9 >= floor
        print(f"{area:14} {lang:7} {total:7d} {hit:8d} {pct:6.1f}% {floor:6.1f}%"
              f"{'' if ok else '  UNDER THE FLOOR'}")  # fmt: skip
        if not ok:
            failed.append(area)
        if args.uncovered:
            for name, miss in missing.items():
                print(f"    {name}: {ranges(miss)}")
    if failed:
        print(f"coverage under the floor: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
