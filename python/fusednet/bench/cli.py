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
    cases_peers,
    cases_sklearn,
    cases_torch,
    cases_train,
    report,
)
from . import env as env_mod
from .case import FUSEDNET, TORCH, Case
from .progress import Progress
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


PEER_START_S = 5.0  # budget allowance per peer process: interpreter, imports, compilation


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
    peers: tuple = ()  # the peers of the training cases (cases_peers.PEER_NAMES)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m fusednet.bench",
        description="fusednet against NumPy (and PyTorch CPU when installed), side by side in one "
        "process: GEMM, activations, softmax cross-entropy, optimizer steps, training "
        "epochs and fit's peak memory; the training cases also against JAX, Keras 3 and "
        "scikit-learn when installed. Prints napkin math (GFLOP/s and % of the FP32 "
        "peak, GB/s and % of copy bandwidth), speed ratios and the targets, met or missed.",
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
    p.add_argument(
        "--peers",
        metavar="NAMES",
        help="peers of the training cases, comma-separated among "
        f"{','.join(cases_peers.PEER_NAMES)}, or all or none (default: all; none with --quick); "
        "each runs when its packages are installed (pip install 'fusednet[peers]')",
    )
    p.add_argument("--no-peers", action="store_true", help="same as --peers none")
    p.add_argument(
        "--plot",
        metavar="DIR",
        help="write PNG charts there: speed ratio per case against each contender, and %% of "
        "the FP32 peak of the GEMM and training cases (needs matplotlib: fusednet[plot])",
    )
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
    if args.no_peers and args.peers not in (None, "none"):
        p.error(f"--no-peers and --peers {args.peers} exclude each other")
    spec = "none" if args.no_peers else args.peers or ("none" if args.quick else "all")
    if spec in ("all", "none"):
        args.peers = cases_peers.PEER_NAMES if spec == "all" else ()
    else:
        names = [n.strip() for n in spec.split(",") if n.strip()]
        bad = [n for n in names if n not in cases_peers.PEER_NAMES]
        if bad or not names:
            p.error(
                f"--peers: expected all, none or a comma-separated subset of "
                f"{','.join(cases_peers.PEER_NAMES)}, got {spec!r}"
            )
        args.peers = tuple(n for n in cases_peers.PEER_NAMES if n in names)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            p.error(
                "--plot: needs matplotlib, which is not installed "
                "(pip install matplotlib, or pip install 'fusednet[plot]')"
            )
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


def run_loss_checks(case: Case, results: dict, progress=lambda text: None) -> None:
    """Training cases: every contender trains case.loss_epochs epochs from the same initial
    weights, unshuffled; each one's per-epoch losses against fusednet's go to its result."""
    if not case.loss_epochs:
        return
    losses = {c.name: c.losses for c in case.contenders if c.losses is not None}
    ours = results.get(FUSEDNET)
    if FUSEDNET not in losses or ours is None or ours.status != "ok":
        return
    curves = {}
    for name, fn in losses.items():
        if results[name].status != "ok":
            continue
        progress(f"loss check: {name}")
        try:
            curves[name] = [float(v) for v in fn(case.loss_epochs)]
        except Exception as exc:  # noqa: BLE001
            results[name].check = {"status": "error", "reason": describe_error(exc)}
    reference = curves.get(FUSEDNET)
    for name, curve in curves.items():
        if reference is None or name == FUSEDNET:
            results[name].check = {"status": "ok", "losses": curve, "reference": True}
            continue
        error = cases_peers.loss_error(reference, curve)
        results[name].check = {
            "status": "ok",
            "losses": curve,
            "error": error,
            "tolerance": case.loss_rtol,
            "passed": bool(error <= case.loss_rtol),
        }


def run_group(group, cfg, peak, copy, progress=None):
    progress = progress or Progress(None)
    records = []
    for index, case in enumerate(GROUPS[group](cfg), 1):
        label = f"{group} {index}: {case.name}"
        progress.case(label)
        # Budgets are set for three contenders (fusednet, NumPy, PyTorch): peers add their share,
        # and a peer process's start and compilation (its warm-up, which the budget counts).
        available = sum(c.fn is not None for c in case.contenders)
        processes = sum(c.fn is not None and c.timed is not None for c in case.contenders)
        budget_s = (case.budget_s or cfg.budget_s) * max(1.0, available / 3)
        budget_s += PEER_START_S * processes
        try:
            results = measure(
                case.contenders,
                repeat=cfg.repeat,
                min_run_s=cfg.min_run_s,
                budget_s=budget_s,
                progress=lambda text, label=label: progress.detail(f"{label}: {text}"),
            )
            check = run_check(case) if results[FUSEDNET].status == "ok" else None
            run_loss_checks(
                case, results, lambda text, label=label: progress.detail(f"{label}: {text}")
            )
        finally:
            for c in case.contenders:
                if c.close is not None:
                    c.close()
        if cfg.torch is None and TORCH in results and cfg.torch_reason:
            results[TORCH].reason = cfg.torch_reason
        records.append(
            report.summarize(case, results, check, peak["gflops"], copy["gbps"], cfg.stat)
        )
        del case, results  # free this case's arrays before the generator builds the next one
    progress.clear()
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
        torch_reason="disabled by --no-torch" if args.no_torch else "PyTorch not installed",
        stat=args.stat,
        peers=args.peers,
    )

    env = env_mod.collect(threads, torch, cfg.torch_reason)
    env["peers"] = list(cfg.peers)
    env["peer_versions"] = cases_peers.peer_versions() if cfg.peers else {}
    peak = env_mod.fp32_peak(threads, env["isa"])
    copy_gbps, copy_how = env_mod.copy_bandwidth_gbps(threads, mib=settings["copy_mib"])
    copy = {"gbps": copy_gbps, "how": copy_how}
    print(report.header_text(env, peak, copy, cfg.stat), flush=True)

    records, memory, dist_records = [], [], []
    progress = Progress(sys.stderr)
    for group in args.groups:
        if group == "dist":
            from . import dist

            dist_records, text = dist.run(quick=cfg.mode == "quick")
            print("\n" + text, flush=True)
            continue
        group_records = run_group(group, cfg, peak, copy, progress)
        records += group_records
        print("\n" + report.group_text(group, group_records, cfg.stat), flush=True)
        if group == "train" and cfg.memory:
            progress.case("train: peak memory of fit, in fresh processes")
            memory = cases_train.memory_results(cfg)
            progress.clear()
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
                    "peers": list(cfg.peers),
                },
                "cases": records,
                "memory": memory,
                "distributed": dist_records,
                "elapsed_s": elapsed,
            },
        )
        print(f"wrote {args.json}")
    if args.plot is not None:
        from . import plot

        for path in plot.write_plots(records, args.plot):
            print(f"wrote {path}")
    if blas_limit is not None:
        blas_limit.restore_original_limits()
    return 0
