"""The one timing helper: warm up, calibrate, then time every contender in interleaved rounds.

Machine noise on a shared box comes in bursts; interleaving (round r runs every contender once,
starting from a rotating position) spreads a burst over all contenders instead of one, so the
ratios stay meaningful even when absolute times drift. Reported figure: the median per-call time.

Before each timed run the cores are left idle for SETTLE_S: the thread pools of NumPy's OpenBLAS
(whose idle workers spin for ~0.1 s after a call), OpenMP and PyTorch keep spinning after their
library returns, and a contender timed right after another would share the two cores with those
spinners. Then the contender runs untimed for WAKE_S (at least one call; the untimed warm-up
call of a contender whose calls are long, such as training runs), so its own sleeping workers are
awake and on their cores. Each library is timed in its own steady state.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Callable

from .case import Contender, ContenderResult

# Raised by ops that have not landed yet (stubs) or do not exist in this build: the contender is
# reported "unavailable" instead of failing the whole run.
UNAVAILABLE_ERRORS = (NotImplementedError, AttributeError, ImportError)


def describe_error(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:160]


def _time_calls(fn, calls: int) -> float:
    """Seconds per call of ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def _warm_up(c: Contender, min_run_s: float):
    """Runs the contender until warm. Returns (failure result or None, calls per timed run)."""
    if c.fn is None:
        return ContenderResult(c.name, "unavailable", c.note, c.reason or "not installed"), 0
    try:
        if c.warmup is not None:  # long calls: one per timed run
            c.warmup()
            return None, 1
        t = _time_calls(c.fn, 1)  # first call: page faults, lazy init
        if t < min_run_s:  # steady state: best of a few, so one
            t = min(_time_calls(c.fn, 1) for _ in range(5))  # preempted call does not skew it
    except UNAVAILABLE_ERRORS as exc:
        return ContenderResult(c.name, "unavailable", c.note, describe_error(exc)), 0
    except Exception as exc:  # noqa: BLE001 -- a broken contender must not stop the suite
        return ContenderResult(c.name, "error", c.note, describe_error(exc)), 0
    return None, max(1, min(1_000_000, math.ceil(min_run_s / max(t, 1e-9))))


def _warm_calls(fn):
    """Calls fn, untimed, until WAKE_S has passed (at least once)."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < WAKE_S:
        fn()


SETTLE_S = 0.15
# Waking a thread pool after the settle takes about a millisecond on these machines (the OS
# places and starts the threads); a timed run should see the library in its steady state.
WAKE_S = 0.003


def _run_round(live, results, offset, progress):
    for i in range(len(live)):
        c = live[(i + offset) % len(live)]
        res = results[c.name]
        if res.status != "ok":
            continue
        progress(f"run {offset + 1}: {c.name}")
        try:
            if len(live) > 1:
                time.sleep(SETTLE_S)
                # A long call (a training run) warms up through its short warm-up call: after
                # the settle, the first millisecond of any run is slow (measured: a 0.6 ms fit
                # took 0.95 ms timed cold, 0.57 ms after 3 ms of warm-up calls).
                _warm_calls(c.warmup or c.fn)
            calls = res.calls_per_run
            res.runs_s.append(c.timed(calls) if c.timed else _time_calls(c.fn, calls))
        except Exception as exc:  # noqa: BLE001
            res.status, res.reason = "error", describe_error(exc)


def _quiet(_text):
    pass


def measure(
    contenders: Sequence[Contender],
    *,
    repeat: int,
    min_run_s: float,
    budget_s: float,
    progress: Callable[[str], object] = _quiet,
) -> dict:
    """Times each contender; returns {name: ContenderResult} in the contenders' order.

    repeat: timed runs per contender, fewer when they would not fit in ``budget_s`` (warm-up
    included); at least 3 when a round is cheap, never fewer than 1.
    min_run_s: a timed run repeats a fast call until it lasts about this long.
    progress(text): told what is being warmed up or timed.
    """
    started = time.perf_counter()
    results, live = {}, []
    for c in contenders:
        progress(f"warm-up: {c.name}")
        failed, calls = _warm_up(c, min_run_s)
        if failed is not None:
            results[c.name] = failed
        else:
            results[c.name] = ContenderResult(c.name, "ok", c.note, calls_per_run=calls)
            live.append(c)

    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        rounds, done = repeat, 0
        while live and done < rounds:
            round_started = time.perf_counter()
            _run_round(live, results, done, progress)
            done += 1
            if done == 1:  # the first round tells how many fit in what is left of the budget
                round_s = time.perf_counter() - round_started
                left = budget_s - (time.perf_counter() - started)
                floor = min(repeat, 3) if 3 * round_s <= budget_s else 1
                rounds = min(repeat, max(floor, 1 + int(max(left, 0.0) / round_s)))
    finally:
        if gc_was_enabled:
            gc.enable()

    for res in results.values():
        if res.status == "ok" and res.runs_s:
            res.median_s = statistics.median(res.runs_s)
            res.min_s = min(res.runs_s)
    return results


def median_seconds(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeat: int = 7,
    min_run_s: float = 0.01,
    budget_s: float = 60.0,
) -> dict:
    """measure() for plain callables, for side-by-side tables outside the CLI (the pytest-benchmark
    files): {name: median seconds per call}, in the order of ``fns``. A callable that fails raises,
    since there is no report here to carry the reason."""
    results = measure(
        [Contender(name, fn) for name, fn in fns.items()],
        repeat=repeat,
        min_run_s=min_run_s,
        budget_s=budget_s,
    )
    for res in results.values():
        if res.status != "ok" or res.median_s is None:
            raise RuntimeError(f"{res.name}: {res.status}: {res.reason}")
    return {name: res.median_s for name, res in results.items()}
