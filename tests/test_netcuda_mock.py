"""The host mock of the CUDA backend (tools/netcuda_mock) as part of the suite: builds the CMake
target `netcuda_mock` (the net's CUDA host code on host stand-ins of the CUDA launchers, no nvcc)
and runs it through CTest; it checks the device net bit for bit against the CPU net.

The build is incremental in build/mock (FUSEDNET_MOCK_BUILD_DIR overrides it); the first one
compiles the CPU sources once more (about a minute on two cores).
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = Path(os.environ.get("FUSEDNET_MOCK_BUILD_DIR", ROOT / "build" / "mock"))


def _cxx_compiler():
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++", "clang++"]
    return next((shutil.which(n) for n in names if shutil.which(n)), None)


def _run(cmd, timeout, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} exited {proc.returncode}\n"
        f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
    )
    return proc.stdout


@pytest.fixture(scope="module")
def mock_build():
    if not (ROOT / "tools" / "netcuda_mock").is_dir() or not (ROOT / "CMakeLists.txt").is_file():
        pytest.skip("not a source checkout: tools/netcuda_mock is missing")
    if shutil.which("cmake") is None or shutil.which("ctest") is None:
        pytest.skip("cmake not found")
    if _cxx_compiler() is None:
        pytest.skip("no C++ compiler found")
    configure = [
        "cmake",
        "-S",
        str(ROOT),
        "-B",
        str(BUILD_DIR),
        "-DCMAKE_BUILD_TYPE=Release",
        "-DFUSEDNET_BUILD_MODULE=OFF",
        "-DFUSEDNET_BUILD_MOCK=ON",
    ]
    if shutil.which("ninja") and not (BUILD_DIR / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    _run(configure, timeout=300)
    jobs = str(int(os.environ.get("JOBS", os.cpu_count() or 2)))
    _run(["cmake", "--build", str(BUILD_DIR), "--target", "netcuda_mock", "-j", jobs], timeout=1800)
    return BUILD_DIR


def test_netcuda_mock_matches_cpu_net(mock_build):
    out = _run(
        ["ctest", "--output-on-failure", "--no-tests=error", "-V", "-R", "^netcuda_mock$"],
        timeout=600,
        cwd=mock_build,
    )
    # ctest passes when the mock exits 0, which it does only when every check agreed.
    assert re.search(r"100% tests passed.* out of 1\b", out), out[-4000:]
