"""``--plot DIR``: PNG charts of a run's records (matplotlib, the ``plot`` extra).

- ``speedup_<group>.png``: for each case, fusednet's speed ratio against each contender (its
  time / fusednet's; log scale, 1x marked);
- ``peak_<group>.png`` for the GEMM and training groups: % of the FP32 peak of every contender.

The series are computed by ``speedup_series`` and ``peak_series`` (no matplotlib needed)."""

from __future__ import annotations

import os

from .case import FUSEDNET

PEAK_GROUPS = ("gemm", "train")


def _groups(records) -> dict:
    out = {}
    for rec in records:
        out.setdefault(rec["group"], []).append(rec)
    return out


def speedup_series(records) -> tuple:
    """(case names, {contender: [ratio or None per case]}) for one group's records."""
    cases = [rec["case"] for rec in records]
    names = []
    for rec in records:
        names += [n for n in rec["ratios"] if n not in names]
    return cases, {n: [rec["ratios"].get(n) for rec in records] for n in names}


def peak_series(records) -> tuple:
    """(case names, {contender: [% of the FP32 peak or None per case]}), fusednet first."""
    cases = [rec["case"] for rec in records]
    names = [FUSEDNET]
    for rec in records:
        names += [n for n in rec["contenders"] if n not in names]
    series = {n: [rec["contenders"].get(n, {}).get("pct_peak") for rec in records] for n in names}
    return cases, {n: v for n, v in series.items() if any(x is not None for x in v)}


def colors(records) -> dict:
    """One colour per contender, the same on every chart (fusednet first)."""
    names = [FUSEDNET]
    for rec in records:
        names += [n for n in rec["contenders"] if n not in names]
    return {n: f"C{i % 10}" for i, n in enumerate(names)}


def _bars(plt, cases, series, title, xlabel, path, color, log=False, line=None):
    """Horizontal grouped bars: a group per case, a bar per contender, from ``line`` (or 0)."""
    n = max(1, len(series))
    height = 0.8 / n
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.22 * len(cases) * (n + 1)))
    for k, (name, values) in enumerate(series.items()):
        ys = [i + (k - (n - 1) / 2) * height for i in range(len(cases))]
        got = [(y, v) for y, v in zip(ys, values) if v is not None]
        if got:  # bars start at ``line`` (1x on the ratio chart: slower to its left)
            base = line or 0.0
            widths = [v - base for _, v in got]
            ax.barh(
                [y for y, _ in got], widths, left=base, height=height, label=name, color=color[name]
            )
    ax.set_yticks(range(len(cases)))
    ax.set_yticklabels(cases, fontsize=8)
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
    if line is not None:
        ax.axvline(line, color="black", linewidth=0.8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_plots(records, directory) -> list:
    """Writes the charts of ``records`` into ``directory`` (created); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    os.makedirs(directory, exist_ok=True)
    paths, color = [], colors(records)
    for group, recs in _groups(records).items():
        cases, series = speedup_series(recs)
        if series:
            path = os.path.join(directory, f"speedup_{group}.png")
            _bars(
                plt,
                cases,
                series,
                f"{group}: fusednet's speed / the contender's (>1: fusednet faster)",
                "speed ratio (contender time / fusednet time)",
                path,
                color,
                log=True,
                line=1.0,
            )
            paths.append(path)
        if group in PEAK_GROUPS:
            cases, series = peak_series(recs)
            if series:
                path = os.path.join(directory, f"peak_{group}.png")
                title = f"{group}: % of the FP32 peak"
                _bars(plt, cases, series, title, "% of FP32 peak", path, color)
                paths.append(path)
    return paths
