"""The public API is typed: a user script made of the README's examples passes ``mypy --strict``
(tests/typing/readme_script.py; fusednet is seen as an installed package with its py.typed, as a
user sees it), and the script runs."""

import os
import subprocess
import sys

import pytest

import fusednet

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "typing", "readme_script.py")
# The README's arrays recipe, typed as a user would write it.
ARRAYS_EXAMPLE = os.path.join(HERE, os.pardir, "examples", "arrays.py")
# The directory fusednet is imported from (python/ in a checkout, site-packages when installed).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fusednet.__file__)))


def test_py_typed_ships_with_the_package():
    assert os.path.isfile(os.path.join(os.path.dirname(fusednet.__file__), "py.typed"))


def test_readme_script_passes_mypy_strict(tmp_path):
    """One mypy run over the README script and examples/arrays.py (no errors) and a script with
    two wrong calls (two errors, so the check can fail)."""
    pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy; CI installs it)")
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import fusednet as fnet\n"
        "model = fnet.Sequential([fnet.layers.Dense('ten')])\n"
        "n: str = model.count_params()\n"
    )
    env = dict(os.environ)
    # mypy finds fusednet where Python does; on PYTHONPATH it counts as installed, like a user's.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "cache")]
        + [SCRIPT, ARRAYS_EXAMPLE, str(bad)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert [e for e in errors if "bad.py" not in e] == [], out.stdout + out.stderr
    assert len([e for e in errors if "bad.py" in e]) == 2, out.stdout + out.stderr
    assert len(errors) == 2, out.stdout


def test_readme_script_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, SCRIPT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "threads" in out.stdout
