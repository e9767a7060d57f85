"""The ``device=`` argument every op takes: "cpu" (or None) or "cuda", as the ``_core.Device`` the
bindings take. Each op checks ``device == "cpu"`` first, so the CPU call pays one comparison."""

from __future__ import annotations

from .. import _core

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
