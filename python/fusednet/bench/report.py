"""Turns raw timings into the napkin-math figures, prints them (one table printer for every
group) and writes the JSON document."""

from __future__ import annotations

import json
import math
import textwrap

from .case import FP32, FUSEDNET, NUMPY, SKLEARN, TORCH, Case

BASELINES = (NUMPY, TORCH, SKLEARN, FP32)
WIDTH = 120  # columns of every printed line


# ---------------------------------------------------------------- figures
def summarize(
    case: Case, results: dict, check, peak_gflops: float, copy_gbps: float, stat: str = "median"
) -> dict:
    """JSON-able record of one case: per-contender figures, speed ratios, targets met or not.
    ``stat`` ("median" or "min" of the runs) is the time the figures and ratios use."""
    contenders = {}
    for name, r in results.items():
        d = {"status": r.status, "note": r.note}
        if r.reason:
            d["reason"] = r.reason
        if r.status == "ok":
            t = r.median_s if stat == "median" else r.min_s
            d.update(
                time_s=t,
                median_s=r.median_s,
                min_s=r.min_s,
                runs_s=r.runs_s,
                calls_per_run=r.calls_per_run,
                spread=(max(r.runs_s) - r.min_s) / r.median_s,
            )  # (max - min) / median
            if case.flops:
                d["gflops"] = case.flops / t / 1e9
                d["pct_peak"] = 100.0 * d["gflops"] / peak_gflops if peak_gflops else None
            if case.bytes:
                d["gbps"] = case.bytes / t / 1e9
                d["pct_copy_bw"] = 100.0 * d["gbps"] / copy_gbps if copy_gbps else None
            if case.samples:
                d["samples_per_s"] = case.samples / t
        if r.check is not None:
            d["check"] = r.check
        contenders[name] = d

    ours = contenders.get(FUSEDNET, {})
    ratios = {}
    for name, other in contenders.items():
        if name != FUSEDNET and ours.get("status") == "ok" and other.get("status") == "ok":
            ratios[name] = other["time_s"] / ours["time_s"]  # > 1: fusednet is faster

    wrong = bool(check and check.get("status") == "ok" and not check["passed"])
    targets = []
    for tg in case.targets:  # a fast wrong answer meets nothing
        ratio = ratios.get(tg.vs)
        targets.append(
            {
                "text": tg.text,
                "vs": tg.vs,
                "min_ratio": tg.min_ratio,
                "ratio": ratio,
                "met": None if ratio is None else (ratio >= tg.min_ratio and not wrong),
            }
        )

    return {
        "group": case.group,
        "case": case.name,
        "napkin": case.napkin,
        "flops": case.flops,
        "bytes": case.bytes,
        "samples": case.samples,
        "contenders": contenders,
        "stat": stat,
        "ratios": ratios,
        "targets": targets,
        "check": check,
    }


# ---------------------------------------------------------------- formatting
def fmt_time(s) -> str:
    if s is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s / 1e-9:.3g} ns"


def fmt_num(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if abs(x) >= 10**digits:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}x"


def format_table(headers, rows, right_aligned) -> str:
    """Plain-text table; columns whose index is in right_aligned are right-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right_aligned else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def verdict(met) -> str:
    return "n/a" if met is None else ("MET" if met else "MISSED")


def _check_cell(check) -> str:
    """A case's check (fusednet against NumPy) or a contender's loss check (against fusednet)."""
    if not check:
        return ""
    if check.get("status") != "ok":
        return check.get("status", "")
    if check.get("reference"):
        return "loss ref"
    return f"{'ok' if check['passed'] else 'FAIL'} {check['error']:.1e}"


def target_line(rec) -> str:
    """The case's targets, met or not, with the ratio each one measures."""
    return "target " + "; ".join(
        f"{t['text']} {verdict(t['met'])}" + (f" ({fmt_ratio(t['ratio'])})" if t["ratio"] else "")
        for t in rec["targets"]
    )


def _unavailable(records) -> list:
    """[(reason, [contender names])] of the contenders that did not run, one entry per reason
    (one "PyTorch not installed" line, not a row per case)."""
    by_reason = {}
    for rec in records:
        for name, d in rec["contenders"].items():
            if d["status"] == "unavailable":
                names = by_reason.setdefault(d.get("reason") or "not available", [])
                if name not in names:
                    names.append(name)
    return list(by_reason.items())


def group_table(records, stat="median") -> str:
    """One table for a group: a line naming each case, then a row per contender that ran (speed
    ratio and check on each), then the case's target line."""
    has = {k: any(r[k] for r in records) for k in ("flops", "bytes", "samples")}
    headers = ["contender", stat, "runs", "spread"]
    if has["samples"]:
        headers += ["samples/s"]
    if has["flops"]:
        headers += ["GFLOP/s", "%peak"]
    if has["bytes"]:
        headers += ["GB/s", "%copy"]
    headers += ["speedup", "check"]
    right = set(range(1, len(headers) - 1))
    entries = []  # a str is a line of its own (case, target); a list is a row of cells
    for rec in records:
        if not rec["targets"] and all(
            d["status"] == "unavailable" for d in rec["contenders"].values()
        ):
            continue  # nothing ran: the group's "not run" line says why
        entries.append(rec["case"])
        for name, d in rec["contenders"].items():
            if d["status"] == "unavailable":
                continue
            ok = d["status"] == "ok"
            row = [
                "  " + name,
                fmt_time(d.get("time_s")) if ok else d["status"],
                str(len(d.get("runs_s", []))) if ok else "",
                f"{100 * d['spread']:.0f}%" if ok and len(d["runs_s"]) > 1 else "",
            ]
            if has["samples"]:
                row.append(fmt_num(d.get("samples_per_s")))
            if has["flops"]:
                row += [fmt_num(d.get("gflops")), fmt_num(d.get("pct_peak"), 2)]
            if has["bytes"]:
                row += [fmt_num(d.get("gbps")), fmt_num(d.get("pct_copy_bw"), 2)]
            ours = name == FUSEDNET
            row.append("" if ours else fmt_ratio(rec["ratios"].get(name)))
            row.append(_check_cell(rec["check"] if ours and rec["check"] else d.get("check")))
            entries.append(row)
        if rec["targets"]:
            entries.append("  " + target_line(rec))
    rows = [e for e in entries if isinstance(e, list)]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for e in entries:
        out += wrap(e, indent=4) if isinstance(e, str) else [line(e)]
    return "\n".join(out)


def _notes(records) -> list:
    """How each contender ran (its distinct notes), then what did not run, and why."""
    notes = {}
    for rec in records:
        for name, d in rec["contenders"].items():
            if d["status"] != "unavailable" and d.get("note"):
                notes.setdefault(name, [])
                if d["note"] not in notes[name]:
                    notes[name].append(d["note"])
    lines = ["contenders:"] if notes else []
    for name, texts in notes.items():
        lines += wrap(f"  {name}: " + " | ".join(texts), indent=4)
    for rec in records:
        for name, d in rec["contenders"].items():
            if d["status"] == "error":
                lines += wrap(f"error: {rec['case']}, {name}: {d.get('reason', '')}", indent=2)
            check = d.get("check") or {}
            if check.get("status") == "error":
                lines += wrap(
                    f"loss check failed to run: {rec['case']}, {name}: {check.get('reason')}",
                    indent=2,
                )
    for reason, names in _unavailable(records):
        lines += wrap(f"not run: {', '.join(names)} ({reason})", indent=2)
    return lines


def wrap(text: str, indent: int = 2, width: int = WIDTH) -> list:
    """``text`` in lines of at most ``width`` columns, the continuations indented."""
    return textwrap.wrap(
        text, width=width, subsequent_indent=" " * indent, break_on_hyphens=False
    ) or [""]


GROUP_TITLES = {
    "gemm": "GEMM, float32 (MxKxN: C[M,N] = op(A)[M,K] @ op(B)[K,N]); compute-bound",
    "act": "activation forward, 4M float32; memory-bound",
    "loss": "softmax cross-entropy, value + gradient; memory-bound",
    "optim": "optimizer step, 10M float32 parameters; memory-bound",
    "train": "training (samples/s; GFLOP/s = 6*params flops per sample)",
    "sklearn": "scikit-learn estimators: fit on digits, vs scikit-learn's (samples/s)",
    "torch": "fusednet.torch inside PyTorch: the drop-in Adam and layers, vs PyTorch's own",
}


def _peers_line(env) -> str:
    versions = env.get("peer_versions") or {}
    if not env.get("peers"):
        return "off (--peers none; --quick leaves them out unless --peers names them)"

    def named(dist, label):
        return f"{label} {versions[dist]}" if versions.get(dist) else None

    parts, families = [], []  # versions; the peers they name
    jax = [named("jax", "JAX"), named("jaxlib", "jaxlib"), named("optax", "optax")]
    if all(jax):
        parts.append(f"{jax[0]} ({jax[1]}) + {jax[2]}")
        families.append("JAX")
    for dist, label in (("keras", "Keras"), ("scikit-learn", "scikit-learn")):
        if versions.get(dist):
            parts.append(named(dist, label))
            families.append(label)
    if not parts:
        return "none installed (pip install 'fusednet[peers]': JAX, optax, Keras, scikit-learn)"
    which = (
        families[-1] if len(families) == 1 else ", ".join(families[:-1]) + " and " + families[-1]
    )
    threads = env["threads"]
    return (
        ", ".join(parts) + f"; {which} each in a process of its own with {threads} "
        f"thread{'s' if threads > 1 else ''}"
    )


def header_text(env, peak, copy, stat="median") -> str:
    torch = (
        f"{env['torch']}, {env['torch_threads']} threads"
        if env["torch"]
        else env.get("torch_missing_reason")
    )
    lines = [
        f"fusednet bench: fusednet vs NumPy, PyTorch CPU and peers (JAX, Keras, scikit-learn) "
        f"when installed; {stat} of interleaved runs",
        f"  CPU      {env['cpu_model']} ({env['cpu_family_model']}), {env['cpus']} logical CPUs",
        f"  fusednet {env['fusednet_version']}: ISA {env['isa']} (detected {env['isa_detected']}), "
        f"{env['threads']} threads",
        f"  NumPy    {env['numpy']}, BLAS: {env['numpy_blas']}",
        f"  PyTorch  {torch}",
    ]
    if "peers" in env:
        lines.append(f"  peers    {_peers_line(env)}")
    lines += [
        f"  Python   {env['python']}",
        f"  FP32 peak       {peak['gflops']:.1f} GFLOP/s -- {peak['how']}",
        f"  copy bandwidth  {copy['gbps']:.1f} GB/s -- {copy['how']}",
    ]
    load = env.get("load_average_1min")
    if load is not None:
        busy = load > 0.5 * (env["cpus"] or 1)
        lines.append(
            f"  load     {load:.2f} (1-min average) on {env['cpus']} CPUs"
            + (
                ": other processes compete for the cores, so multi-threaded calls wait "
                "for descheduled threads: absolute figures are low and ratios noisy "
                "(--threads 1 and --stat min help)"
                if busy
                else ""
            )
        )
    return "\n".join(out for text in lines for out in wrap(text, indent=11))


def group_text(group, records, stat="median") -> str:
    napkins = sorted({r["napkin"] for r in records if r["napkin"]})
    parts = [f"== {GROUP_TITLES.get(group, group)} ==", group_table(records, stat)]
    parts += _notes(records)
    if napkins:
        parts += wrap("work counted: " + " | ".join(napkins))
    parts += wrap(
        "spread = (slowest - fastest run) / median; speedup = contender time / fusednet time "
        "(>1x: fusednet faster)"
        + (
            "; loss check: losses of each epoch from the same weights, against fusednet's"
            if any(d.get("check") for r in records for d in r["contenders"].values())
            else ""
        )
    )
    return "\n".join(parts)


def memory_text(results) -> str:
    headers = ["workload", "contender", "peak (fit)", "ideal", "ratio", "target"]
    rows, notes = [], []
    for r in results:
        ok = r.get("status") == "ok"
        target = ""
        if "target" in r:
            target = f"{r['target']} {verdict(r['met'])}"
        rows.append(
            [
                f"{r.get('workload', '')} x{r.get('samples', '')}",
                r["contender"],
                f"{r['peak_bytes'] / 2**20:.1f} MiB" if ok else r.get("status", "error"),
                f"{r['ideal_bytes'] / 2**20:.1f} MiB" if "ideal_bytes" in r else "-",
                f"{r['ratio']:.2f}x" if ok else "-",
                target,
            ]
        )
        note = r.get("method", "") if ok else r.get("error", "")
        if note and note not in notes:
            notes.append(note)
    text = [
        "== peak memory of one fit epoch (fresh process; ideal = data + params + Adam state + "
        "one batch workspace) ==",
        format_table(headers, rows, {2, 3, 4}),
    ]
    for note in notes:
        text += wrap("  " + note, indent=4)
    return "\n".join(text)


def summary_text(records, memory) -> str:
    met, missed, unknown = [], [], []
    for rec in records:
        for t in rec["targets"]:
            label = f"{rec['case']} {t['text']} ({fmt_ratio(t['ratio'])})"
            (unknown if t["met"] is None else met if t["met"] else missed).append(label)
    for r in memory:
        if "target" in r:
            label = f"peak memory {r['target']} ({r.get('ratio', float('nan')):.2f}x)"
            (unknown if r["met"] is None else met if r["met"] else missed).append(label)
    failed_checks = [
        rec["case"]
        for rec in records
        if rec["check"] and rec["check"].get("status") == "ok" and not rec["check"]["passed"]
    ]
    unavailable = sorted(
        {
            rec["group"]
            for rec in records
            if rec["contenders"].get(FUSEDNET, {}).get("status") != "ok"
        }
    )
    lines = [
        f"== summary: {len(met)} targets met, {len(missed)} missed, "
        f"{len(unknown)} not measurable =="
    ]
    differ = [
        f"{rec['case']}: {name} ({d['check']['error']:.1e})"
        for rec in records
        for name, d in rec["contenders"].items()
        if (d.get("check") or {}).get("passed") is False
    ]
    lines += [out for m in missed for out in wrap(f"  MISSED {m}", indent=4)]
    if failed_checks:
        lines += wrap("  WRONG RESULTS (check failed): " + ", ".join(failed_checks), indent=4)
    if differ:
        lines += wrap("  LOSSES DIFFER from fusednet's: " + "; ".join(differ), indent=4)
    if unavailable:
        lines += wrap(
            "  fusednet unavailable in some cases of: " + ", ".join(unavailable), indent=4
        )
    return "\n".join(lines)


def write_json(path, doc) -> None:
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=float)
        f.write("\n")
