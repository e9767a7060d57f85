"""NumPy references for the bf16 gemm ("medium" matmul precision on the CPU): the bf16 rounding
(round-to-nearest-even on the float32 bits, denormals to signed zero, NaN quieted), one vdpbf16ps
lane for values whose float64 sums are exact, and the float64 product of the rounded operands.

Independent of the C++ code: integer arithmetic on the bits, float64 sums.
"""

from __future__ import annotations

import numpy as np

FLT_MIN = float(np.finfo(np.float32).tiny)


def bf16_bits(x) -> np.ndarray:
    """float32 -> bf16 bits (uint16) as vcvtne2ps2bf16."""
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    mag = u & 0x7FFFFFFF
    out = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    out = np.where(mag > 0x7F800000, (u >> 16) | 0x40, out)  # NaN: quiet
    out = np.where(mag < 0x00800000, (u >> 16) & 0x8000, out)  # zero, denormal: signed zero
    return out.astype(np.uint16)


def bf16_value(bits) -> np.ndarray:
    return (np.asarray(bits, np.uint32) << 16).view(np.float32)


def bf16_round(x) -> np.ndarray:
    """float32 values rounded to bf16 (as float32)."""
    x = np.asarray(x, np.float32)
    return bf16_value(bf16_bits(x)).reshape(x.shape)


def _flush(x):
    return np.where(np.abs(x) < FLT_MIN, np.copysign(np.float32(0), x), x).astype(np.float32)


def dot2(acc, a_pairs, b_pairs) -> np.ndarray:
    """acc + a.hi b.hi, then + a.lo b.lo, each step one float32 rounding of the exact float64 sum
    (exact when the terms' exponents are close: the callers keep them so), denormals flushed."""
    acc = _flush(np.asarray(acc, np.float32))
    a = np.asarray(a_pairs, np.uint32)
    b = np.asarray(b_pairs, np.uint32)
    for shift in (16, 0):
        x = _flush(bf16_value((a >> shift) & 0xFFFF)).astype(np.float64)
        y = _flush(bf16_value((b >> shift) & 0xFFFF)).astype(np.float64)
        acc = _flush((x * y + acc.astype(np.float64)).astype(np.float32))
    return acc


def gemm_bf16(a, b, alpha=1.0, beta=0.0, c=None, bias=None) -> np.ndarray:
    """float64 alpha * bf16(a) @ bf16(b) + beta * c + bias."""
    out = alpha * (bf16_round(a).astype(np.float64) @ bf16_round(b).astype(np.float64))
    if beta != 0.0:
        out += beta * np.asarray(c, np.float64)
    if bias is not None:
        out += np.asarray(bias, np.float64)
    return out
