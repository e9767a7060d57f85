"""Float64 / NumPy references for the reductions: column sums and the row-wise argmax."""

from __future__ import annotations

import numpy as np


def bias_grad(dy):
    return np.asarray(dy, dtype=np.float64).sum(axis=0)


def argmax(x):
    """First index of the max per row, a NaN counting as the max (NumPy's own rule)."""
    return np.argmax(np.asarray(x), axis=1).astype(np.int64)


def bias_grad_group_order(dy, groups=32):
    """bias_grad's exact order (the CPU's and the GPU kernel's): group g sums rows g, g + groups,
    ... one after another in double, then the group sums are added in order; rounded to float32.
    np.cumsum adds sequentially, unlike np.sum's pairwise order."""
    d = np.asarray(dy, dtype=np.float64)
    rows, cols = d.shape
    partial = np.zeros((groups, cols))
    for g in range(min(groups, rows)):
        partial[g] = np.cumsum(d[g::groups], axis=0)[-1]
    total = np.cumsum(np.vstack([np.zeros((1, cols)), partial]), axis=0)[-1]
    return total.astype(np.float32)
