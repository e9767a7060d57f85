"""What EarlyStopping and ModelCheckpoint share: the monitored log value, whether it improves
upwards or downwards, and their argument checks."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

__all__ = ["is_max_metric", "monitor_mode", "monitor_value", "check_real", "check_int"]


def is_max_metric(monitor: str) -> bool:
    """mode="auto": accuracy-like metrics improve upwards, losses and errors downwards."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return (
        "acc" in name
        or "auc" in name
        or name.startswith("fmeasure")
        or name in ("precision", "recall", "f1", "f1_score")
    )


def monitor_mode(mode: str, monitor: str, name: str = "mode") -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{name}: expected 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if is_max_metric(monitor) else "min"
    return mode


def monitor_value(cb: Any, logs: Optional[dict[str, Any]], who: str) -> Optional[float]:
    """logs[cb.monitor] as a float, or None with one warning per fit listing the keys there."""
    logs = logs or {}
    value = logs.get(cb.monitor)
    if value is None:
        if not cb._warned:
            cb._warned = True
            warnings.warn(
                f"{who} conditioned on metric `{cb.monitor}` which is not available. "
                f"Available metrics are: {', '.join(logs) or '(none)'}",
                stacklevel=3,
            )
        return None
    return float(value)


def check_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)


def check_int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)
