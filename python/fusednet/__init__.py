"""fusednet: small and mid-size neural networks on hand-written C++ and CUDA kernels.

``fusednet.ops`` is a functional backend on float32 NumPy arrays; ``fusednet.Sequential`` a
Keras-style model whose training loop runs in C++. Importing never touches CUDA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import (
    _core,
    _threadpoolctl,
    activations,
    constraints,
    initializers,
    layers,
    losses,
    metrics,
    ops,
    optimizers,
    regularizers,
)
from .cuda import get_float32_matmul_precision, set_float32_matmul_precision
from .io import load_model
from .layers import Input
from .model import Model, Sequential
from .tape import GradientTape

if TYPE_CHECKING:  # imported on first use at run time (see __getattr__)
    from . import callbacks, distributed, models, schedules, utils

__version__ = "0.1.0"

# threadpool_info() / threadpool_limits() see the pool (when threadpoolctl is installed).
_threadpoolctl.register(__version__)

__all__ = [
    "backends",
    "set_num_threads",
    "get_num_threads",
    "ops",
    "__version__",
    "Sequential",
    "Input",
    "Model",
    "layers",
    "activations",
    "losses",
    "optimizers",
    "initializers",
    "regularizers",
    "constraints",
    "metrics",
    "callbacks",
    "schedules",
    "utils",
    "models",
    "distributed",
    "GradientTape",
    "load_model",
    "set_float32_matmul_precision",
    "get_float32_matmul_precision",
]


def __getattr__(name: str) -> Any:
    # fusednet.callbacks / schedules / utils / models / distributed: imported on first use (import
    # stays light).
    if name in ("callbacks", "schedules", "utils", "models", "distributed"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'fusednet' has no attribute {name!r}")


def backends() -> dict[str, dict[str, Any]]:
    """What fusednet can run on here.

    ``{"cpu": {"isa": "avx2", "isa_detected": "avx2", "threads": 2, "matmul_precision": "fp32",
    "avx512_bf16": False},
    "cuda": {"compiled": bool, "available": bool, "reason": str, "devices": [...]}}``.
    ``reason`` says why CUDA is not available: not compiled, no driver, driver too old, no device.
    The first call queries the CUDA driver; import does not.
    """
    return {
        "cpu": {
            "isa": _core.cpu_isa(),
            "isa_detected": _core.cpu_isa_detected(),
            "threads": _core.get_num_threads(),
            # What the CPU gemm computes with under the current float32 matmul precision:
            # "bf16" only for "medium" on a CPU with AVX512-BF16, else "fp32".
            "matmul_precision": _core.cpu_matmul_precision(),
            "avx512_bf16": _core.cpu_has_avx512_bf16(),
        },
        "cuda": _core.cuda_info(),
    }


def set_num_threads(n: int) -> None:
    """Threads used by every CPU kernel. Results are bit-identical whatever the count."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n: expected an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n: expected a thread count >= 1, got {n}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """Threads used by every CPU kernel.

    Default: ``FUSEDNET_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this process may
    run on.
    """
    return _core.get_num_threads()
