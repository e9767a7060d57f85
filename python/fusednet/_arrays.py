"""Arrays from anywhere: NumPy, any ``__dlpack__`` object (PyTorch, JAX, CuPy, NumPy) and the
buffer protocol, seen as NumPy arrays over the same memory, and results handed back in the
caller's kind.

What copies, and when:
- float32 NumPy arrays, float32 DLPack tensors in host memory and float32 buffers: never copied;
  the kernels read (and in-place arguments write) the caller's memory.
- an input of another real dtype: converted to float32 once. In-place arguments and ``out=`` refuse
  it (TypeError): a converted copy would be updated instead of the caller's array.
- a kernel that reads dense memory gets a non-contiguous input copied once, as for NumPy.
- a CUDA DLPack array with ``device="cuda"``: its device pointer is used, no copy (it must be
  C-contiguous float32); with ``device="cpu"`` a ValueError (no silent device move).
- model entry points (fit, predict, evaluate, __call__, set_weights) copy a CUDA array to host
  memory: the Net moves its data to its own device itself.

Results: when every array argument is of one DLPack kind other than NumPy (all PyTorch tensors,
all JAX arrays), a new result comes back in that kind through its ``from_dlpack`` (a view of the
NumPy result, no copy); otherwise NumPy. ``out=`` and in-place arguments are returned as given.
"""

from __future__ import annotations

from typing import Any

import numpy as np

F32 = np.dtype(np.float32)

# DLPack device types (dlpack.h DLDeviceType)
KDL_CPU = 1
KDL_CUDA = 2
KDL_CUDA_HOST = 3
KDL_CUDA_MANAGED = 13
_HOST = (KDL_CPU, KDL_CUDA_HOST)
_CUDA = (KDL_CUDA, KDL_CUDA_MANAGED)

__all__ = [
    "host_array",
    "host_inplace",
    "is_cuda",
    "dlpack_device",
    "result_kind",
    "to_kind",
    "like_inputs",
]


def dlpack_device(x: Any) -> tuple[int, int] | None:
    """(device type, id) of a DLPack producer that is not a NumPy array; None otherwise."""
    if isinstance(x, np.ndarray) or not hasattr(type(x), "__dlpack_device__"):
        return None
    dev = x.__dlpack_device__()
    return int(dev[0]), int(dev[1])


def is_cuda(x: Any) -> bool:
    """True for a DLPack array in CUDA device (or managed) memory."""
    dev = dlpack_device(x)
    return dev is not None and dev[0] in _CUDA


def _device_name(dev: tuple[int, int]) -> str:
    kind = {KDL_CUDA: "cuda", KDL_CUDA_MANAGED: "cuda managed"}.get(dev[0], f"type {dev[0]}")
    return f"{kind}:{dev[1]}"


def _from_dlpack(x: Any, name: str, dev: tuple[int, int], copy_to_host: bool) -> np.ndarray:
    if dev[0] not in _HOST:
        if not copy_to_host:
            raise ValueError(
                f"{name}: expected an array in host memory (device='cpu'), got a "
                f"{type(x).__name__} on {_device_name(dev)}; pass device='cuda' to run on the GPU"
            )
        try:  # the producer copies to host (DLPack 1.0 dl_device)
            return np.from_dlpack(x, device="cpu")
        except (BufferError, TypeError, ValueError, RuntimeError) as e:
            raise ValueError(
                f"{name}: could not copy the {type(x).__name__} on {_device_name(dev)} to host "
                f"memory through DLPack ({e}); move it to the CPU first"
            ) from None
    try:
        return np.from_dlpack(x)
    except (BufferError, TypeError, ValueError, RuntimeError) as e:
        raise TypeError(
            f"{name}: could not read the {type(x).__name__} through DLPack: {e}"
        ) from None


def host_array(x: Any, name: str, copy_to_host: bool = False) -> np.ndarray:
    """x as a NumPy array over the same memory where it can be (any dtype; no conversion).

    DLPack producers in host memory go through ``np.from_dlpack`` (zero-copy), buffer-protocol
    objects through ``memoryview``, anything else (lists, scalars, ``__array__``) through
    ``np.asarray``. A CUDA array raises ValueError unless ``copy_to_host``."""
    if isinstance(x, np.ndarray):
        return x
    dev = dlpack_device(x)
    if dev is not None:
        return _from_dlpack(x, name, dev, copy_to_host)
    if not hasattr(x, "__array__") and not hasattr(x, "__array_interface__"):
        try:
            return np.asarray(memoryview(x))
        except TypeError:  # not a buffer: a list, a scalar
            pass
    return np.asarray(x)


def host_inplace(x: Any, name: str) -> np.ndarray:
    """For in-place arguments and ``out=``: a writable float32 view of x's own memory (a NumPy
    array, a DLPack tensor in host memory, a writable buffer), else TypeError / ValueError."""
    if isinstance(x, np.ndarray):
        arr = x
    else:
        dev = dlpack_device(x)
        if dev is not None:
            arr = _from_dlpack(x, name, dev, copy_to_host=False)
        else:
            try:
                arr = np.asarray(memoryview(x))
            except TypeError:
                raise TypeError(
                    f"{name}: expected a numpy.ndarray of float32, got {type(x).__name__} "
                    f"(updated in place: a NumPy array, a writable DLPack tensor in host "
                    f"memory or a writable buffer)"
                ) from None
    if arr.dtype != F32:
        raise TypeError(
            f"{name}: expected dtype float32 (updated in place, never copied), got {arr.dtype}"
        )
    if not arr.flags.writeable:
        what = "a read-only DLPack export" if arr is not x else "a read-only one"
        raise ValueError(f"{name}: expected a writable array, got {what}")
    return arr


# ---- results in the caller's kind ----------------------------------------------------------------
_IMPORTERS: dict[type, Any] = {}


def _importer(x: Any) -> Any:
    """The from_dlpack of x's library (None for NumPy and non-DLPack objects), cached per type."""
    t = type(x)
    try:
        return _IMPORTERS[t]
    except KeyError:
        pass
    fn = None
    if not issubclass(t, np.ndarray) and hasattr(t, "__dlpack__"):
        root = t.__module__.split(".")[0]
        if root == "torch":
            import torch

            fn = torch.from_dlpack
        elif hasattr(x, "__array_namespace__"):  # JAX, CuPy, other array-API libraries
            fn = getattr(x.__array_namespace__(), "from_dlpack", None)
    _IMPORTERS[t] = fn
    return fn


def result_kind(*inputs: Any) -> Any:
    """The from_dlpack to hand results back with, when every array input is of one non-NumPy
    DLPack kind (a torch.nn.Parameter is a torch tensor); None (NumPy) otherwise. None
    arguments are ignored; lists, scalars and buffers count as NumPy."""
    kind = None
    for x in inputs:
        if x is None:
            continue
        if type(x) is np.ndarray:
            return None
        imp = _importer(x)
        if imp is None or (kind is not None and imp is not kind):
            return None
        kind = imp
    return kind


def to_kind(value: Any, importer: Any) -> Any:
    """A NumPy result (or a tuple holding some) in the kind `importer` makes; as is for None."""
    if importer is None:
        return value
    if isinstance(value, np.ndarray):
        return importer(value)
    if isinstance(value, tuple):
        return tuple(importer(v) if isinstance(v, np.ndarray) else v for v in value)
    return value


def like_inputs(value: Any, *inputs: Any) -> Any:
    """``to_kind(value, result_kind(*inputs))``: NumPy inputs cost one type check each."""
    return to_kind(value, result_kind(*inputs))
