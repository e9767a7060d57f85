"""Routing of ``device="cuda"`` calls to fusednet.cuda (imported on first use, so import never
touches CUDA)."""
DEVICES = ("cpu", "cuda")


def other_device(name, device):
    """The function of fusednet.cuda named ``name``, for a device other than "cpu"."""
    if device == "cuda":
        from .. import cuda
        return getattr(cuda, name)
    raise ValueError(f"device: expected one of {DEVICES}, got {device!r}")
