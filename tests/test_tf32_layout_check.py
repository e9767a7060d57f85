"""Host-side check of the TF32 v2 GPU kernel's index math (tools/tf32_layout_check.cpp).

The kernel's shared-memory layouts, fragment addresses, cp.async chunks, pipeline stages and tile
order live in csrc/kernels/cuda/gemm_tf32_layout.h; the checker replays whole GEMMs with them on
the CPU (no GPU needed) against ldmatrix and mma models written from the PTX ISA, with inputs
that need TF32 rounding (each element must be rounded exactly once in shared memory; C must
equal the exact sum of round-to-nearest-ties-away products), and checks bank conflicts. Skips
when no C++ compiler is found.
"""

import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_tf32_layout_checker(tmp_path):
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")
    if not cxx:
        pytest.skip("no C++ compiler (g++ / clang++) to build tools/tf32_layout_check.cpp")
    exe = str(tmp_path / "tf32_layout_check")
    subprocess.run(
        [
            cxx,
            "-std=c++17",
            "-O2",
            "-I",
            os.path.join(ROOT, "csrc", "kernels", "cuda"),
            os.path.join(ROOT, "tools", "tf32_layout_check.cpp"),
            "-o",
            exe,
        ],
        check=True,
    )
    out = subprocess.run([exe, "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "all OK" in out.stdout
