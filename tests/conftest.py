import os

import numpy as np
import pytest

import fusednet as fnet

CPU_ISAS = [
    isa
    for isa in ("generic", "avx2", "avx512")
    if ("generic", "avx2", "avx512").index(isa)
    <= ("generic", "avx2", "avx512").index(fnet._core.cpu_isa_detected())
]


def _cuda_available():
    info = fnet.backends()["cuda"]
    return info["available"], info["reason"]


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Every device this machine has; CUDA cases skip with the reason when there is none."""
    if request.param == "cuda":
        ok, reason = _cuda_available()
        if not ok:
            pytest.skip(f"CUDA not available: {reason}")
    return request.param


def pytest_collection_modifyitems(items):
    """Every device="cuda" case is marked `cuda` (tools/netcuda_mock/run_module.sh selects them
    with -m cuda), however it got the parameter: the fixture, checks.cuda_only, indirect."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("device") == "cuda":
            item.add_marker(pytest.mark.cuda)


@pytest.fixture(params=CPU_ISAS)
def cpu_isa(request):
    """Runs a test once per CPU ISA path this processor supports, then restores the default."""
    before = fnet._core.cpu_isa()
    fnet._core.set_cpu_isa(request.param)
    try:
        yield request.param
    finally:
        fnet._core.set_cpu_isa(before)


@pytest.fixture
def threads():
    """Restores the thread count a test changes."""
    before = fnet.get_num_threads()
    yield fnet.set_num_threads
    fnet.set_num_threads(before)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def pytest_report_header(config):
    b = fnet.backends()
    return (
        f"fusednet: cpu isa={b['cpu']['isa']} threads={b['cpu']['threads']}; "
        f"cuda compiled={b['cuda']['compiled']} available={b['cuda']['available']} "
        f"({b['cuda'].get('reason', '')}); FUSEDNET_ISA={os.environ.get('FUSEDNET_ISA', '')}"
    )
