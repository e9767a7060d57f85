"""What a benchmark case is: contenders racing on the same work, plus the targets it must meet.

Case modules build cases lazily (a generator yields one at a time), so the arrays of one case are
freed before the next one is allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

FUSEDNET, NUMPY, TORCH = "fusednet", "numpy", "torch"
SKLEARN = "sklearn"  # scikit-learn's estimators (the sklearn group)
FP32 = "fp32"  # fusednet itself at the "highest" matmul precision (the bf16 group)


@dataclass
class Contender:
    """One implementation of the case's operation. ``fn()`` performs the operation once."""

    name: str
    fn: Optional[Callable[[], object]]
    note: str = ""  # how it runs, e.g. "Adam(fused=True)" or the NumPy expression
    reason: str = ""  # why it is unavailable when fn is None
    # Untimed warm-up replacing the first call of fn (for calls too long to repeat, e.g. epochs).
    warmup: Optional[Callable[[], object]] = None
    # timed(n): makes n calls and returns the seconds per call as timed where they ran (a peer's
    # own process), replacing the bench's clock around fn.
    timed: Optional[Callable[[int], float]] = None
    # losses(epochs): trains a fresh model from models.initial_weights, unshuffled, and returns
    # each epoch's mean loss (training cases: compared with fusednet's).
    losses: Optional[Callable[[int], list]] = None
    close: Optional[Callable[[], object]] = None  # frees what the contender holds (a process)


@dataclass(frozen=True)
class Target:
    """fusednet speed / ``vs`` speed must be >= ``min_ratio`` (speed ratio = vs time / our time);
    ``vs`` names a contender of the case."""

    vs: str
    min_ratio: float
    source: str = ""  # the issue that sets it

    @property
    def text(self) -> str:
        return f">={self.min_ratio:.3g}x {self.vs}"


@dataclass
class Case:
    """One operation measured for every contender. Work per call sets the napkin-math columns:
    ``flops`` -> GFLOP/s and % of the FP32 peak, ``bytes`` -> GB/s and % of copy bandwidth,
    ``samples`` -> samples/s (training; flops then means flops for those samples)."""

    group: str
    name: str
    contenders: Sequence[Contender]
    flops: Optional[float] = None
    bytes: Optional[float] = None
    samples: Optional[float] = None
    napkin: str = ""  # how the work was counted
    targets: Sequence[Target] = ()
    # Correctness of the fusednet result against NumPy: returns (error, tolerance).
    check: Optional[Callable[[], tuple]] = None
    budget_s: Optional[float] = None  # overrides the run's per-case budget
    # Training: every contender with ``losses`` trains loss_epochs epochs from the same weights,
    # and its losses must match fusednet's within loss_rtol (relative).
    loss_epochs: int = 0
    loss_rtol: float = 0.0


@dataclass
class ContenderResult:
    name: str
    status: str  # "ok" | "unavailable" | "error"
    note: str = ""
    reason: str = ""
    runs_s: list = field(default_factory=list)  # seconds per call, one entry per timed run
    calls_per_run: int = 0
    median_s: Optional[float] = None
    min_s: Optional[float] = None
    check: Optional[dict] = None  # the loss check against fusednet's (training cases)


def max_rel_err(actual, expected) -> float:
    """max |actual - expected| / max |expected| (one scale for the whole array, so values near 0
    do not blow up the error). Shapes must match."""
    import numpy as np

    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    if expected.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    return float(np.max(np.abs(actual - expected))) / scale
