"""The ``device=`` argument every op takes: "cpu" (or None) or "cuda", as the ``_core.Device`` the
bindings take. Each op checks ``device == "cpu"`` first, so the CPU call pays one comparison."""

from __future__ import annotations

import numpy as np

from .. import _core
from .._arrays import dlpack_device, is_cuda

DEVICES = ("cpu", "cuda")
CPU = _core.Device.cpu
CUDA = _core.Device.cuda


def device_arg(device) -> _core.Device:
    """The _core.Device for ``device``; ValueError for anything but "cpu", None and "cuda"."""
    if device == "cpu" or device is None:
        return CPU
    if device == "cuda":
        return CUDA
    raise ValueError(f"device: expected one of {DEVICES}, got {device!r}")


# ---- CUDA arrays (DLPack) used in place on the device --------------------------------------------
def any_cuda(*xs) -> bool:
    """True when any argument is a CUDA DLPack array (then the op runs on device pointers)."""
    return any(x is not None and type(x) is not np.ndarray and is_cuda(x) for x in xs)


def cuda_view(x, name: str, ndim: int | None = None):
    """x (a CUDA DLPack array) as the binding takes it: its device pointer, shape and strides,
    held for the call; ValueError for a host array next to CUDA ones (no hidden transfers)."""
    if not is_cuda(x):
        raise ValueError(
            f"{name}: expected a CUDA array like the other arguments (device='cuda' with CUDA "
            f"arrays runs on their memory, without host copies), got {type(x).__name__}"
            + ("" if dlpack_device(x) is None else f" on DLPack device {dlpack_device(x)}")
        )
    view = _core.DLPackArray(x, name)
    if ndim is not None and len(view.shape) != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D array, got shape {view.shape}")
    return view


def cuda_empty(shape: tuple, like):
    """An uninitialised float32 CUDA array of `shape` in the library and on the device of
    `like` (PyTorch, or any array-API library: CuPy, JAX)."""
    if isinstance(like, _core.CudaArray):  # fusednet's own (tests)
        return _core.CudaArray(list(shape))
    if type(like).__module__.split(".")[0] == "torch":
        import torch

        return torch.empty(shape, dtype=torch.float32, device=like.device)
    ns = getattr(like, "__array_namespace__", None)
    if ns is None:
        raise TypeError(
            f"cannot allocate a result like a {type(like).__name__} (not PyTorch, no "
            f"__array_namespace__); pass out="
        )
    xp = ns()
    return xp.empty(shape, dtype=xp.float32, device=like.device)
