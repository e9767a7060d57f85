"""``python -m fusednet.bench``: runs the case groups, prints a table per group, writes JSON."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Optional

import fusednet

from . import (
    cases_bf16,
    cases_elementwise,
    cases_gemm,
    cases_optim,
    cases_sklearn,
    cases_torch,
    cases_train,
    report,
)
from . import env as env_mod
from .case import FUSEDNET, TORCH, Case
from .timing import UNAVAILABLE_ERRORS, describe_error, measure

GROUPS = {
    "gemm": cases_gemm.cases,
    "act": cases_elementwise.activation_cases,
    "loss": cases_elementwise.loss_cases,
    "optim": cases_optim.cases,
    "train": cases_train.cases,
    "torch": cases_torch.cases,  # fusednet.torch inside PyTorch loops
    "sklearn": cases_sklearn.cases,
    "bf16": cases_bf16.cases,  # the "medium" precision (bf16 gemms) against FP32
    "dist": None,  # data-parallel scaling: its own processes (bench/dist.py), not Cases
}

# Per mode: timed runs, shortest timed run, per-case time budget (training has its own), and the
# size of the copy that measures memory bandwidth (above the L3 of current CPUs).
MODE_SETTINGS = {
    "quick": dict(repeat=5, min_run_s=0.002, budget_s=1.0, train_budget_s=4.0, copy_mib=64),
    "default": dict(repeat=7, min_run_s=0.01, budget_s=4.0, train_budget_s=10.0, copy_mib=128),
    "full": dict(repeat=9, min_run_s=0.01, budget_s=4.0, train_budget_s=10.0, copy_mib=128),
}


@dataclass
class Config:
    mode: str  # "quick" | "default" | "full"
    repeat: int  # timed runs per contender
    min_run_s: float  # a timed run lasts at least this long (fast ops repeat)
    budget_s: float  # per-case time budget (fewer runs when exceeded)
    train_budget_s: float
    threads: int
    torch: Optional[object]
    memory: bool
    torch_reason: str = ""  # why torch is None
    stat: str = "median"  # "median" | "min" of the runs


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m fusednet.bench",
        description="fusednet against NumPy (and PyTorch CPU when installed), side by side in one "
        "process: GEMM, activations, softmax cross-entropy, optimizer steps, training "
        "epochs and fit's peak memory. Prints napkin math (GFLOP/s and % of the FP32 "
        "peak, GB/s and % of copy bandwidth), speed ratios and the targets of the "
        "issues, met or missed.",
    )
    p.add_argument("--quick", action="store_true", help="small subset, fewer runs (< 30 s)")
    p.add_argument("--full", action="store_true", help="every GEMM shape of the MLP grid")
    p.add_argument("--json", metavar="PATH", help="write every result to this JSON file")
    p.add_argument(
        "--only",
        metavar="GROUPS",
        default=",".join(g for g in GROUPS if g != "dist"),
        help=f"comma-separated groups among {','.join(GROUPS)} (default: all but dist, which "
        "launches MPI processes)",
    )
    p.add_argument(
        "--repeat", type=int, metavar="N", help="timed runs per contender (default 7, quick 5)"
    )
    p.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="threads for fusednet, PyTorch and NumPy's BLAS (default: fusednet's)",
    )
    p.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="time reported per contender (min resists a busy machine; default median)",
    )
    p.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    args = p.parse_args(argv)
    requested = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in requested if g not in GROUPS]
    groups = [g for g in GROUPS if g in requested]  # always in the canonical order
    if unknown or not groups:
        p.error(
            f"--only: expected a comma-separated subset of {','.join(GROUPS)}, got {args.only!r}"
        )
    if args.repeat is not None and args.repeat < 1:
        p.error(f"--repeat: expected an integer >= 1, got {args.repeat}")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads: expected an integer >= 1, got {args.threads}")
    if args.quick and args.full:
        p.error("--quick and --full exclude each other")
    args.groups = groups
    return args


def _limit_blas_threads(threads):
    """Keeps NumPy's BLAS on the same thread count as fusednet (needs threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=threads, user_api="blas")


def run_check(case: Case) -> Optional[dict]:
    if case.check is None:
        return None
    try:
        error, tolerance = case.check()
    except UNAVAILABLE_ERRORS as exc:
        return {"status": "unavailable", "reason": describe_error(exc)}
    except Exception as exc:  # noqa: BLE001
        return {"status": "error", "reason": describe_error(exc)}
    return {
        "status": "ok",
        "error": error,
        "tolerance": tolerance,
        "passed": bool(error <= tolerance),
    }


def run_group(group, cfg, peak, copy):
    records = []
    for case in GROUPS[group](cfg):
        results = measure(
            case.contenders,
            repeat=cfg.repeat,
            min_run_s=cfg.min_run_s,
            budget_s=case.budget_s or cfg.budget_s,
        )
        check = run_check(case) if results[FUSEDNET].status == "ok" else None
        if cfg.torch is None and TORCH in results and cfg.torch_reason:
            results[TORCH].reason = cfg.torch_reason
        records.append(
            report.summarize(case, results, check, peak["gflops"], copy["gbps"], cfg.stat)
        )
        del case, results  # free this case's arrays before the generator builds the next one
    return records


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    threads = args.threads or fusednet.get_num_threads()
    fusednet.set_num_threads(threads)
    torch = env_mod.torch_or_none(not args.no_torch)
    if torch is not None:
        torch.set_num_threads(threads)
    blas_limit = _limit_blas_threads(threads)

    mode = "quick" if args.quick else ("full" if args.full else "default")
    settings = MODE_SETTINGS[mode]
    cfg = Config(
        mode=mode,
        repeat=args.repeat or settings["repeat"],
        min_run_s=settings["min_run_s"],
        budget_s=settings["budget_s"],
        train_budget_s=settings["train_budget_s"],
        threads=threads,
        torch=torch,
        memory=not args.no_memory,
        torch_reason="disabled by --no-torch" if args.no_torch else "torch not installed",
        stat=args.stat,
    )

    env = env_mod.collect(threads, torch, cfg.torch_reason)
    peak = env_mod.fp32_peak(threads, env["isa"])
    copy_gbps, copy_how = env_mod.copy_bandwidth_gbps(threads, mib=settings["copy_mib"])
    copy = {"gbps": copy_gbps, "how": copy_how}
    print(report.header_text(env, peak, copy, cfg.stat), flush=True)

    records, memory, dist_records = [], [], []
    for group in args.groups:
        if group == "dist":
            from . import dist

            dist_records, text = dist.run(quick=cfg.mode == "quick")
            print("\n" + text, flush=True)
            continue
        group_records = run_group(group, cfg, peak, copy)
        records += group_records
        print("\n" + report.group_text(group, group_records, cfg.stat), flush=True)
        if group == "train" and cfg.memory:
            memory = cases_train.memory_results(cfg)
            print("\n" + report.memory_text(memory), flush=True)

    elapsed = time.perf_counter() - started
    print("\n" + report.summary_text(records, memory))
    print(f"total {elapsed:.1f} s ({cfg.mode} mode, up to {cfg.repeat} runs per contender)")
    if args.json:
        report.write_json(
            args.json,
            {
                "env": env,
                "peak": peak,
                "copy_bandwidth": copy,
                "config": {
                    "mode": cfg.mode,
                    "stat": cfg.stat,
                    "repeat": cfg.repeat,
                    "min_run_s": cfg.min_run_s,
                    "budget_s": cfg.budget_s,
                    "train_budget_s": cfg.train_budget_s,
                    "groups": args.groups,
                    "threads": threads,
                },
                "cases": records,
                "memory": memory,
                "distributed": dist_records,
                "elapsed_s": elapsed,
            },
        )
        print(f"wrote {args.json}")
    if blas_limit is not None:
        blas_limit.restore_original_limits()
    return 0
