"""The bench's side of a peer process: starts ``fusednet.bench.peers.worker`` with the peer's
environment (KERAS_BACKEND must be set before Keras is imported, hence a process per backend;
and no peer's thread pools may linger in the bench's own process, hence one for every peer),
sends it JSON commands and reads its JSON replies, one line each, with a timeout."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import selectors
import subprocess
import sys
import tempfile
import weakref
from dataclasses import dataclass
from importlib import metadata
from typing import Optional

from ..case import SKLEARN, Contender

# Seconds a command may take (a warm-up compiles; an mlp784 epoch of Keras on torch is ~1 s).
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Peer:
    kind: str  # the worker's trainer
    note: str
    packages: tuple  # distributions whose versions name the peer
    env: tuple = ()  # (name, value) pairs set before the interpreter starts


PEERS = {
    "jax-step": Peer(
        "jax-step",
        "jax.jit(one step) + optax.adam, a Python loop over the batches",
        ("jax", "jaxlib", "optax"),
        (("JAX_PLATFORMS", "cpu"),),
    ),
    "jax-scan": Peer(
        "jax-scan",
        "jax.jit(an epoch: shuffle + lax.scan over the batches) + optax.adam",
        ("jax", "jaxlib", "optax"),
        (("JAX_PLATFORMS", "cpu"),),
    ),
    "keras-jax": Peer(
        "keras",
        "keras.Sequential.fit, Adam, KERAS_BACKEND=jax",
        ("keras", "jax"),
        (("KERAS_BACKEND", "jax"), ("JAX_PLATFORMS", "cpu")),
    ),
    "keras-torch": Peer(
        "keras",
        "keras.Sequential.fit, Adam, KERAS_BACKEND=torch",
        ("keras", "torch"),
        (("KERAS_BACKEND", "torch"),),
    ),
    # In a process of its own too: no thread pool of its (SciPy's OpenBLAS, its OpenMP) works
    # in the bench's process, where one default run had fusednet's mlp784 1.75x slower.
    SKLEARN: Peer(
        "sklearn",
        "sklearn.neural_network.MLPClassifier(solver='adam', alpha=0).fit",
        ("scikit-learn",),
    ),
}


def _version(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def peer_versions() -> dict:
    """{distribution: version or None} of every package a peer needs (read from the installed
    metadata: importing Keras without a backend chosen would fail, and importing JAX here would
    start its threads in the bench's own process)."""
    dists = {d for p in PEERS.values() for d in p.packages}
    return {d: _version(d) for d in sorted(dists)}


def _package_root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(os.path.dirname(here)))


class PeerError(RuntimeError):
    pass


class PeerProcess:
    """One worker process training one workload with one peer. ``request(cmd, **args)`` returns
    the reply's fields; a peer whose library does not import raises ImportError (the bench then
    reports it unavailable), any other failure PeerError."""

    def __init__(self, kind: str, workload, threads: int, env=(), timeout_s: float = TIMEOUT_S):
        self.timeout_s = timeout_s
        environ = dict(os.environ)
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (_package_root(), environ.get("PYTHONPATH")) if p
        )
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            environ[var] = str(threads)
        environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        environ.update(dict(env))
        # closed by _stop, with the process: read back for the reason when the worker dies
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "fusednet.bench.peers.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environ,
            bufsize=0,
        )
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._stderr)
        self._buffer = b""
        spec = {"kind": kind, "workload": dataclasses.asdict(workload), "threads": threads}
        self.hello = self._exchange(spec)
        self.versions = self.hello.get("versions", "")

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def _read_line(self) -> bytes:
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                if not sel.select(self.timeout_s):
                    self._proc.kill()  # stuck or too slow: it would not read a quit
                    self.close()
                    raise PeerError(f"no reply in {self.timeout_s:g} s")
                chunk = os.read(self._proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    code = self._proc.wait()
                    raise PeerError(f"worker exited ({code}): {self._stderr_tail()}"[:300])
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _exchange(self, message: dict) -> dict:
        if not self._finalizer.alive:
            raise PeerError("worker closed")
        if self._proc.poll() is not None:
            raise PeerError(f"worker exited ({self._proc.returncode}): {self._stderr_tail()}")
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
        except BrokenPipeError:
            code = self._proc.wait()
            raise PeerError(f"worker exited ({code}): {self._stderr_tail()}"[:300]) from None
        reply = json.loads(self._read_line())
        if not reply.pop("ok"):
            error = reply.get("error", "failed")
            if reply.get("unavailable"):
                raise ImportError(error)
            raise PeerError(error)
        return reply

    def request(self, cmd: str, **args) -> dict:
        return self._exchange({"cmd": cmd, **args})

    def close(self) -> None:
        self._finalizer()


def _stop(proc, stderr):
    if proc.poll() is None:
        try:
            proc.stdin.write(b'{"cmd": "quit"}\n')
            proc.stdin.flush()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, stderr):
        with contextlib.suppress(OSError):  # a broken pipe's last flush
            stream.close()


def peer_contender(name: str, kind: str, note: str, workload, threads: int, env=()) -> Contender:
    """A Contender whose calls run in a worker process, started by the untimed warm-up; its note
    gains the versions the process imported."""
    state = {}

    def process() -> PeerProcess:
        if "proc" not in state:
            state["proc"] = PeerProcess(kind, workload, threads, env)
            contender.note = f"{note} [{state['proc'].versions}]"
        return state["proc"]

    def warmup():
        process().request("warmup")

    def timed(calls: int) -> float:
        return float(process().request("run", calls=calls)["seconds"])

    def losses(epochs: int) -> list:
        return list(process().request("losses", epochs=epochs)["losses"])

    def close():
        if "proc" in state:
            state.pop("proc").close()

    contender = Contender(
        name,
        lambda: timed(1),
        note,
        warmup=warmup,
        timed=timed,
        losses=losses,
        close=close,
    )
    return contender
