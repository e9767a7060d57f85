"""The CUDA device from Python: whether it is there (and why not), its memory, synchronisation,
and the float32 matmul precision setting.

The ops themselves run on the GPU through ``fusednet.ops`` with ``device="cuda"``. Without a
usable device they raise ``RuntimeError`` saying why (not compiled, no driver, driver too old, no
device), as ``fusednet.backends()["cuda"]["reason"]`` does.
"""

from __future__ import annotations

from . import _core

__all__ = [
    "is_available",
    "reason",
    "devices",
    "synchronize",
    "memory_info",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
]


def is_available() -> bool:
    """True when fusednet was built with CUDA and a usable device is present (queries the driver
    on first call only)."""
    return bool(_core.cuda_info()["available"])


def reason() -> str:
    """Why CUDA is not available ('' when it is)."""
    return _core.cuda_info().get("reason", "")


def devices() -> list:
    """One dict per device: index, name, compute_capability, total_memory, multiprocessors."""
    return list(_core.cuda_info().get("devices", []))


def synchronize() -> None:
    """Waits for every queued kernel on the default stream."""
    _core.cuda_synchronize()


def memory_info() -> tuple[int, int]:
    """(free_bytes, total_bytes) of the current device."""
    return tuple(_core.cuda_memory_info())


def set_float32_matmul_precision(precision: str) -> None:
    """ "highest" (default): exact FP32 matmuls. "high": TF32 tensor cores on sm_80+ (inputs
    rounded to a 10-bit mantissa, FP32 accumulation), as torch.set_float32_matmul_precision."""
    if not isinstance(precision, str):
        raise TypeError(f"precision: expected 'highest' or 'high', got {type(precision).__name__}")
    _core.set_float32_matmul_precision(precision)


def get_float32_matmul_precision() -> str:
    return _core.get_float32_matmul_precision()
