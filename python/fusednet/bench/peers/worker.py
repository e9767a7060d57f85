"""A peer's process (``python -m fusednet.bench.peers.worker``), driven by peers.client.

Protocol, one JSON object per line: the first line read is the spec ``{"kind", "workload",
"threads"}``; the worker pins its threads, builds the trainer (importing its library) and replies
``{"ok": true, "versions", "cpus", "pools"}`` (cpus: the CPUs it may run on; pools: the thread
count of each kind of thread pool loaded, as threadpoolctl sees them). Then commands: ``warmup``
(one shuffled epoch, untimed: it compiles), ``run`` with ``calls`` (each call trains the
workload's epochs, shuffled; the reply's ``seconds`` is per call, timed here), ``losses`` with
``epochs`` (a fresh model from the shared initial weights, unshuffled; the mean loss of each
epoch), ``quit``. A failure replies ``{"ok": false, "error", "unavailable"}``; unavailable means
the library did not import."""

from __future__ import annotations

import json
import os
import sys
import time


def pin_threads(threads: int) -> None:
    """Before any library loads: its thread pools size themselves from these variables or from
    the CPUs this process may run on (XLA's pool counts the affinity mask)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if threads < len(cpus):
            os.sched_setaffinity(0, cpus[:threads])


def thread_pools() -> dict:
    """{threadpoolctl's internal_api (openblas, openmp, ...): the largest thread count among the
    loaded libraries of that kind} (empty without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return {}
    pools = {}
    for info in threadpool_info():
        api = info.get("internal_api", "?")
        pools[api] = max(pools.get(api, 0), int(info.get("num_threads") or 0))
    return pools


def make_trainer(kind: str, workload: dict, threads: int):
    from ..models import Workload
    from . import trainers

    w = Workload(**{k: tuple(v) if k == "sizes" else v for k, v in workload.items()})
    x, y = w.data()  # the same seed as the bench's own contenders: the same data
    factory = trainers.KINDS.get(kind)
    if factory is None:
        raise ValueError(f"kind: expected one of {sorted(trainers.KINDS)}, got {kind!r}")
    return factory(w, x, y, threads)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:200]


def serve(spec: dict, lines, reply) -> None:
    """Builds the trainer ``spec`` names, then answers the commands of ``lines`` through
    ``reply(dict)``."""
    try:
        trainer = make_trainer(spec["kind"], spec["workload"], int(spec["threads"]))
    except ImportError as exc:
        reply({"ok": False, "unavailable": True, "error": _describe(exc)})
        return
    except Exception as exc:  # noqa: BLE001 -- reported to the bench, which goes on
        reply({"ok": False, "error": _describe(exc)})
        return
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    reply({"ok": True, "versions": trainer.versions, "cpus": cpus, "pools": thread_pools()})
    try:
        for line in lines:
            cmd = json.loads(line)
            name = cmd.get("cmd")
            if name == "quit":
                return
            try:
                if name == "warmup":
                    trainer.warmup()
                    reply({"ok": True})
                elif name == "run":
                    calls = int(cmd["calls"])
                    start = time.perf_counter()
                    for _ in range(calls):
                        trainer.run()
                    reply({"ok": True, "seconds": (time.perf_counter() - start) / calls})
                elif name == "losses":
                    losses = [float(v) for v in trainer.losses(int(cmd["epochs"]))]
                    reply({"ok": True, "losses": losses})
                else:
                    raise ValueError(f"cmd: expected warmup, run, losses or quit, got {name!r}")
            except Exception as exc:  # noqa: BLE001
                reply({"ok": False, "error": _describe(exc)})
    finally:
        if hasattr(trainer, "close"):  # gives back what it changed in this process
            trainer.close()


def main() -> int:
    # The replies get a descriptor of their own; whatever a library prints goes to stderr.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def reply(message):
        channel.write(json.dumps(message) + "\n")

    spec = json.loads(sys.stdin.readline())
    pin_threads(int(spec["threads"]))
    serve(spec, sys.stdin, reply)
    return 0


if __name__ == "__main__":
    sys.exit(main())
