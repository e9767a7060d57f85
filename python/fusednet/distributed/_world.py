"""The MPI world of a data-parallel run: ranks, the fixed-order sums, faults.

Every collective here is non-blocking and waited for by polling, so that a rank which fails can
tell the others (a notice on the FAIL tag) and no rank hangs: each one then raises
``RankFailedError`` naming the failed rank, or ``DistributedError`` after ``timeout`` seconds
without an answer. Such a process ends without MPI_Finalize (abandoned collectives would block
it), after its traceback is printed and after the others' (a DONE message from each, waited for
a few seconds), so that mpiexec does not cut anyone's report short.

Sums are in a fixed order, never MPI_Allreduce's (whose order is the library's choice and may
change with the message size or the process placement): every element is the sum of the ranks'
values added in rank order 0, 1, ..., K-1 in float64 and rounded once. So the result is the same
bits on every rank and run after run, and for float32 the correctly rounded sum whenever K <= 2.
Two ways give these same bits:

- ranks of one machine (the usual case, and the fast one): a shared-memory window
  (MPI_Win_allocate_shared) with a slot per rank. Each rank copies its (scaled) values into its
  slot, meets the others at a barrier in the window itself (fusednet._core._dist_barrier: a few
  hundred nanoseconds when the ranks are close, where a polled MPI collective costs hundreds of
  microseconds), then sums every slot in rank order straight into its own buffer
  (_core._dist_ordered_sum). One copy, one barrier, one pass per sum; nothing is allocated. The
  window alternates between two halves from one sum to the next, so a rank may write the next
  sum while another still reads the last one.
- ranks on several machines (or ``FUSEDNET_DIST_SHM=0``): the buffer is cut into one chunk per
  rank; rank j receives every rank's chunk j (an all-to-all) and sums them in rank order; an
  all-gather gives every rank all the chunks.
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
        self.shared = _Shared.open(self) if self.size > 1 else None

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
        if self.shared is not None:  # after the notice: a rank seeing the flag then reads it
            self.shared.flag_failure(self.rank)

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
        if self.size == 1:
            if scale == 0.0:
                buf.fill(0)
            elif scale != 1.0:
                buf *= buf.dtype.type(scale)
            return buf
        if self.broken is not None:
            raise DistributedError(f"rank {self.rank}: the run already stopped ({self.broken})")
        if self.shared is not None:
            return self.shared.sum_(buf, scale, what)
        if scale == 0.0:
            buf.fill(0)
        elif scale != 1.0:
            buf *= buf.dtype.type(scale)
        from mpi4py import MPI

        k = self.size
        m = buf.size
        bounds = [j * m // k for j in range(k + 1)]
        counts = [bounds[j + 1] - bounds[j] for j in range(k)]
        mine = counts[self.rank]
        recv = self._buf("recv", k * mine, buf.dtype)
        req = self.comm.Ialltoallv(
            [buf, (counts, bounds[:-1])], [recv, ([mine] * k, [j * mine for j in range(k)])]
        )
        self.wait(req, what)
        lo = bounds[self.rank]
        _core()._dist_ordered_sum(recv.reshape(k, mine), buf[lo : lo + mine])
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
        if self.shared is not None:
            return self.shared.any(flag, what)
        from mpi4py import MPI

        out = np.zeros(1, np.int32)
        req = self.comm.Iallreduce(np.array([1 if flag else 0], np.int32), out, op=MPI.MAX)
        self.wait(req, what)
        return bool(out[0])


def _core() -> Any:
    from .. import _core as core

    return core


_SLOT = 8  # int64 per cache line: one line per rank in the barrier's flags, then the failure line


class _Shared:
    """The shared-memory sums of ranks on one machine (see the module docstring)."""

    @classmethod
    def open(cls, world: World) -> Optional[_Shared]:
        """The window for `world` when all its ranks share this machine, else None (collective)."""
        if os.environ.get("FUSEDNET_DIST_SHM", "1") == "0":
            return None
        from mpi4py import MPI

        node = world.comm.Split_type(MPI.COMM_TYPE_SHARED, key=world.rank)
        if world.comm.allreduce(node.Get_size(), op=MPI.MIN) != world.size:
            node.Free()
            return None
        return cls(world, node)

    def __init__(self, world: World, node: Any) -> None:
        from mpi4py import MPI

        self.world, self.node, self.rank, self.k = world, node, world.rank, world.size
        size = (self.k + 1) * _SLOT * 8
        self.flags_win = MPI.Win.Allocate_shared(size if self.rank == 0 else 0, 8, comm=node)
        self.flags = np.frombuffer(self.flags_win.Shared_query(0)[0], np.int64)[: size // 8]
        if self.rank == 0:
            self.flags[:] = 0
        node.Barrier()
        self.generation = 0
        self.win, self.data, self.capacity, self.calls = None, None, 0, 0

    def barrier(self, what: str) -> None:
        self.generation += 1
        r = _core()._dist_barrier(self.flags, self.rank, self.generation, self.world.timeout)
        if r == 0:
            return
        w = self.world
        if r < 0:
            w._break(
                DistributedError(
                    f"rank {self.rank}: no answer from the other ranks within {w.timeout:g} s "
                    f"during {what} (a rank died or is stuck; FUSEDNET_DIST_TIMEOUT sets the "
                    f"limit)"
                )
            )
        if w.broken is not None:  # this rank's own failure (another thread)
            raise DistributedError(f"rank {self.rank}: the run stopped ({w.broken})")
        deadline = time.monotonic() + min(w.timeout, 10.0)
        while time.monotonic() < deadline:  # the failed rank's notice says what it raised
            w._check_notices()
            time.sleep(1e-3)
        w._break(RankFailedError(r - 1, "(its message did not arrive)"))

    def flag_failure(self, rank: int) -> None:
        self.flags[self.k * _SLOT] = rank + 1

    def _reserve(self, nbytes: int, what: str) -> None:
        """A window of 2 halves x K slots x at least nbytes (the same call on every rank)."""
        if nbytes <= self.capacity:
            return
        from mpi4py import MPI

        cap = max(1 << 16, 1 << (nbytes - 1).bit_length())
        if self.win is not None:
            self.barrier(what)  # nobody reads the old window any more
            self.win.Unlock_all()
            self.win.Free()
        total = 2 * self.k * cap
        self.win = MPI.Win.Allocate_shared(total if self.rank == 0 else 0, 1, comm=self.node)
        # NOCHECK: a purely local epoch; a checked lock would wait for the other ranks' MPI
        # progress, which they do not make while they spin in the window's barrier
        self.win.Lock_all(MPI.MODE_NOCHECK)
        self.data = np.frombuffer(self.win.Shared_query(0)[0], np.uint8)[:total].reshape(
            2, self.k, cap
        )
        self.capacity = cap

    def sum_(self, buf: np.ndarray, scale: float, what: str) -> np.ndarray:
        self._reserve(buf.nbytes, what)
        half = self.data[self.calls & 1]
        self.calls += 1
        slots = half[:, : buf.nbytes].view(buf.dtype)  # (K, n), rows `capacity` bytes apart
        mine = slots[self.rank]
        if scale == 0.0:
            mine.fill(0)
        elif scale == 1.0:
            mine[...] = buf
        else:
            np.multiply(buf, buf.dtype.type(scale), out=mine)
        self.barrier(what)
        _core()._dist_ordered_sum(slots, buf)
        return buf

    def any(self, flag: Any, what: str) -> bool:
        """Each rank's flag in its own line of the flags (the half of this barrier's parity)."""
        at = 1 + ((self.generation + 1) & 1)
        self.flags[self.rank * _SLOT + at] = 1 if flag else 0
        self.barrier(what)
        return bool(self.flags[at : self.k * _SLOT : _SLOT].any())


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
