"""The fusednet benchmark suite: ``python -m fusednet.bench [--quick] [--json PATH] [--only ...]``.

Measures fusednet against NumPy (and PyTorch CPU when importable) side by side in one process:
GEMM, activations, softmax cross-entropy, optimizer steps and whole training epochs. Each case
prints the median time, GFLOP/s or GB/s with the percentage of this machine's ceiling, the speed
ratio to each baseline and whether the target set for it is met.
"""

from .cli import main

__all__ = ["main"]
