"""The MPI world of a data-parallel run: ranks, the fixed-order sums, faults.

Every collective here is non-blocking and waited for by polling, so that a rank which fails can
tell the others (a notice on the FAIL tag) and no rank hangs: each one then raises
``RankFailedError`` naming the failed rank, or ``DistributedError`` after ``timeout`` seconds
without an answer. Such a process ends without MPI_Finalize (abandoned collectives would block
it), after its traceback is printed and after the others' (a DONE message from each, waited for
a few seconds), so that mpiexec does not cut anyone's report short.

Sums are in a fixed order, never MPI_Allreduce's (whose order is the library's choice and may
change with the message size or the process placement): the buffer is cut into one contiguous
chunk per rank; rank j receives every rank's chunk j (an all-to-all), adds them in rank order
0, 1, ..., K-1 in float64 and rounds once; an all-gather gives every rank all the chunks. So the
result is the same bits on every rank and run after run, and for floats the correctly rounded
sum whenever K <= 2 (float64 holds the sum of two float32 exactly).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
import traceback
from typing import Any, Optional

import numpy as np

__all__ = ["World", "DistributedError", "RankFailedError", "current", "init", "initialized"]

world = None  # this process's World, once fusednet.distributed.init() made it


def initialized() -> bool:
    """Whether fusednet.distributed.init() has run in this process."""
    return world is not None


def current() -> World:
    """This process's World (made by init() on first use)."""
    return world if world is not None else init()


def init(comm: Any = None, timeout: Optional[float] = None) -> World:
    """The world of this process: ``comm`` (an mpi4py communicator; default COMM_WORLD) when
    mpi4py is installed, else a world of one. Idempotent: later calls return the same world.
    ``timeout``: seconds a rank waits for the others before raising (default 600, or
    ``FUSEDNET_DIST_TIMEOUT``). An uncaught exception on one rank then stops every rank with
    ``RankFailedError`` naming it."""
    global world
    if world is not None:
        return world
    try:
        from mpi4py import MPI
    except ImportError:
        world = World(None, timeout)
        return world
    base = MPI.COMM_WORLD if comm is None else comm
    world = World(base.Dup(), timeout)
    if world.size > 1:
        _notify_on_uncaught()
    return world


def _notify_on_uncaught() -> None:
    """An exception that ends this rank's script tells the other ranks first (they raise
    RankFailedError instead of waiting for it)."""
    previous = sys.excepthook

    def hook(kind: Any, value: Any, tb: Any) -> None:
        if world is not None and not isinstance(value, RankFailedError):
            # reporting the original error matters more than a failed notice
            with contextlib.suppress(Exception):
                world.fail(value)
        previous(kind, value, tb)

    sys.excepthook = hook


_FAIL, _DONE = 7301, 7302  # point-to-point tags of the fault notices (beside the collectives)


class DistributedError(RuntimeError):
    """A data-parallel run cannot go on: mismatched ranks, a timeout, or a failed rank."""


DistributedError.__module__ = "fusednet.distributed"


class RankFailedError(DistributedError):
    """Another rank raised; ``rank`` is the one that failed, the message says what it raised."""

    def __init__(self, rank: int, message: str) -> None:
        super().__init__(f"rank {rank} failed: {message}")
        self.rank = rank


RankFailedError.__module__ = "fusednet.distributed"


class World:
    """K ranks of one MPI communicator (a duplicate of COMM_WORLD: user traffic never mixes with
    ours), or a world of one without MPI (``comm`` None)."""

    def __init__(self, comm: Any = None, timeout: Optional[float] = None) -> None:
        self.comm = comm
        self.rank = 0 if comm is None else comm.Get_rank()
        self.size = 1 if comm is None else comm.Get_size()
        env = os.environ.get("FUSEDNET_DIST_TIMEOUT")
        self.timeout = float(timeout if timeout is not None else env if env else 600.0)
        self.broken = None  # the failure that ended this world's collectives
        self._scratch = {}

    # ---- faults ------------------------------------------------------------------------------
    def _check_notices(self) -> None:
        from mpi4py import MPI

        st = MPI.Status()
        if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=_FAIL, status=st):
            src = st.Get_source()
            msg = self.comm.recv(source=src, tag=_FAIL)
            self._break(RankFailedError(src, msg))

    def _break(self, err: BaseException) -> None:
        self.broken = err
        _exit_when_done()
        raise err

    def wait(self, req: Any, what: str) -> None:
        """Polls `req` until done; raises on a failure notice or after the timeout."""
        if self.broken is not None:
            raise DistributedError(f"rank {self.rank}: the run already stopped ({self.broken})")
        if req.Test():
            return
        deadline = time.monotonic() + self.timeout
        polls = 0
        while not req.Test():
            if self.broken is not None:  # this rank failed meanwhile (another thread)
                raise DistributedError(f"rank {self.rank}: the run stopped ({self.broken})")
            self._check_notices()
            polls += 1
            # Each poll lets the GIL go (the training thread may need it for its next hand-over);
            # past a short spin, the CPU too (ranks may share cores).
            time.sleep(0 if polls <= 200 else min(1e-3, 2e-6 * (polls - 200)))
            if time.monotonic() > deadline:
                self._break(
                    DistributedError(
                        f"rank {self.rank}: no answer from the other ranks within "
                        f"{self.timeout:g} s during {what} (a rank died or is stuck; "
                        f"FUSEDNET_DIST_TIMEOUT sets the limit)"
                    )
                )

    def fail(self, exc: BaseException) -> None:
        """Tells every other rank (once) that this one failed with `exc`."""
        if self.size == 1 or self.broken is not None:
            return
        self.broken = exc
        _exit_when_done()
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        for k in range(self.size):
            if k != self.rank:
                self.comm.isend(text, dest=k, tag=_FAIL).Test()  # small: sent eagerly

    def _exit_barrier(self, seconds: float) -> None:
        """DONE to every other rank, then up to `seconds` for theirs (point to point: the
        abandoned collectives rule out a barrier)."""
        from mpi4py import MPI

        for k in range(self.size):
            if k != self.rank:
                self.comm.isend(self.rank, dest=k, tag=_DONE).Test()
        done, deadline = set(), time.monotonic() + seconds
        while len(done) < self.size - 1 and time.monotonic() < deadline:
            st = MPI.Status()  # only our notices travel point to point on this communicator
            if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=st):
                src, tag = st.Get_source(), st.Get_tag()
                self.comm.recv(source=src, tag=tag)
                if tag == _DONE:
                    done.add(src)
            else:
                time.sleep(1e-3)

    # ---- collectives -------------------------------------------------------------------------
    def _buf(self, key: Any, n: int, dtype: Any) -> np.ndarray:
        b = self._scratch.get(key)
        if b is None or b.size < n or b.dtype != dtype:
            b = np.empty(max(n, 1), dtype)
            self._scratch[key] = b
        return b[:n]

    def sum_(self, buf: np.ndarray, scale: float = 1.0, what: str = "a sum") -> np.ndarray:
        """buf (1-D contiguous float32/float64) <- sum over ranks of scale * buf, in rank order
        (see the module docstring); scale 0 counts this rank's values as zeros."""
        if scale == 0.0:
            buf.fill(0)
        elif scale != 1.0:
            buf *= buf.dtype.type(scale)
        k = self.size
        if k == 1:
            return buf
        from mpi4py import MPI

        m = buf.size
        bounds = [j * m // k for j in range(k + 1)]
        counts = [bounds[j + 1] - bounds[j] for j in range(k)]
        mine = counts[self.rank]
        recv = self._buf("recv", k * mine, buf.dtype)
        req = self.comm.Ialltoallv(
            [buf, (counts, bounds[:-1])], [recv, ([mine] * k, [j * mine for j in range(k)])]
        )
        self.wait(req, what)
        acc = self._buf("acc", mine, np.float64)
        acc[...] = recv[:mine]
        for j in range(1, k):
            acc += recv[j * mine : (j + 1) * mine]
        lo = bounds[self.rank]
        buf[lo : lo + mine] = acc
        req = self.comm.Iallgatherv(MPI.IN_PLACE, [buf, (counts, bounds[:-1])])
        self.wait(req, what)
        return buf

    def allgather(self, obj: Any, what: str = "an exchange") -> list[Any]:
        """Every rank's `obj` (picklable), in rank order."""
        if self.size == 1:
            return [obj]
        import pickle

        data = np.frombuffer(pickle.dumps(obj), np.uint8)
        sizes = np.zeros(self.size, np.int64)
        req = self.comm.Iallgather(np.array([data.size], np.int64), sizes)
        self.wait(req, what)
        displs = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        out = np.empty(int(sizes.sum()), np.uint8)
        req = self.comm.Iallgatherv(data, [out, (sizes.tolist(), displs.tolist())])
        self.wait(req, what)
        return [pickle.loads(out[d : d + s].tobytes()) for d, s in zip(displs, sizes)]

    def broadcast_(self, buf: np.ndarray, root: int = 0, what: str = "a broadcast") -> np.ndarray:
        """buf (contiguous NumPy) <- root's buf, in place."""
        if self.size > 1 and buf.size:
            self.wait(self.comm.Ibcast(buf, root=root), what)
        return buf

    def any(self, flag: Any, what: str = "a stop decision") -> bool:
        """True on every rank when `flag` is true on some rank."""
        if self.size == 1:
            return bool(flag)
        from mpi4py import MPI

        out = np.zeros(1, np.int32)
        req = self.comm.Iallreduce(np.array([1 if flag else 0], np.int32), out, op=MPI.MAX)
        self.wait(req, what)
        return bool(out[0])


_exit_registered = False


def _exit_when_done() -> None:
    """After a failure the abandoned collectives would make MPI_Finalize wait forever: the
    process ends without it (stdout and stderr flushed, the other ranks' reports awaited, exit
    status 1) once Python is done."""
    global _exit_registered
    if _exit_registered:
        return
    _exit_registered = True

    def leave() -> None:
        for f in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # leaving anyway
                f.flush()
        if world is not None and world.size > 1:
            with contextlib.suppress(Exception):
                world._exit_barrier(min(world.timeout, 10.0))
        os._exit(1)

    atexit.register(leave)
