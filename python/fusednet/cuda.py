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
    """As torch.set_float32_matmul_precision, process-wide:

    - ``"highest"`` (default): exact FP32 matmuls everywhere.
    - ``"high"``: the CUDA gemm may use TF32 tensor cores on sm_80+ (inputs rounded to a 10-bit
      mantissa, FP32 accumulation). The CPU gemm stays exact FP32.
    - ``"medium"``: as "high" on CUDA; the CPU gemms (ops.matmul / gemm / linear and every gemm
      of a model's training and inference) round their inputs to bf16 (round-to-nearest-even)
      and accumulate in FP32 with ``vdpbf16ps``, on CPUs with AVX512-BF16 (AMD Zen 4+, Intel
      Cooper Lake, Sapphire Rapids+). Parameters, optimizer state and everything outside the
      gemms stay FP32. Other CPUs keep exact FP32: ``backends()["cpu"]["matmul_precision"]``
      says which the CPU gemm uses ("bf16" or "fp32").
    """
    if not isinstance(precision, str):
        raise TypeError(
            f"precision: expected 'highest', 'high' or 'medium', got {type(precision).__name__}"
        )
    _core.set_float32_matmul_precision(precision)


def get_float32_matmul_precision() -> str:
    return _core.get_float32_matmul_precision()
