"""Assertions and markers shared by the family tests (test_<family>.py)."""

import numpy as np
import pytest

import fusednet as fnet


@pytest.fixture(autouse=True, scope="module")
def single_threaded_numpy_blas():
    """Imported by the gemm tests: the float64 references run on NumPy's BLAS, whose spinning
    worker threads fight fusednet's threads for a small machine's cores and make both slow, so
    keep them to one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# A test for the CUDA column only: the `device` fixture of conftest.py with its "cuda" parameter
# alone, so it skips with the reason where there is no usable device.
cuda_only = pytest.mark.parametrize("device", ["cuda"], indirect=True)

_CUDA_DEVICES = fnet.backends()["cuda"].get("devices", [])
# The CUDA device of tools/netcuda_mock/run_module.sh: host stand-ins running the CPU kernels.
ON_HOST_MOCK = bool(_CUDA_DEVICES) and _CUDA_DEVICES[0]["name"].startswith("host mock")


def real_gpu_only(what):
    """For a CUDA test of something only a GPU has (`what`: TF32 rounding, ...): skips on the
    host mock, whose stand-ins run the CPU kernels. Every other CUDA test must pass there."""
    return pytest.mark.skipif(
        ON_HOST_MOCK,
        reason=f"needs a real GPU: {what}; this CUDA device is the host mock (tools/netcuda_mock)",
    )


def assert_close(got, want, rtol, atol, what=""):
    """|got - want| <= atol + rtol |want| elementwise, against the float64 value; on failure the
    max abs / rel error and the worst element."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    if got.size == 0:
        return
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    bad = ~(err <= tol)
    if bad.any():
        i = np.unravel_index(np.argmax(np.where(bad, err - tol, -np.inf)), got.shape)
        rel = err / np.maximum(np.abs(want), 1e-30)
        pytest.fail(
            f"{what}: max abs err {err.max():.3e}, max rel err {rel.max():.3e}; "
            f"worst at {i}: got {got[i]!r} want {want[i]!r} "
            f"({bad.sum()} bad of {got.size})"
        )


def assert_same_special(got, want, rtol, atol, what):
    """NaN where want is NaN, +-inf equal, the rest within tolerance."""
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(want)), (
        f"{what}: NaN at {np.isnan(got)}, want {np.isnan(want)}"
    )
    inf = np.isinf(want)
    assert np.array_equal(got[inf], want[inf]), f"{what}: got {got[inf]} where want {want[inf]}"
    ok = ~np.isnan(want) & ~inf
    assert_close(got[ok], want[ok], rtol, atol, what)
