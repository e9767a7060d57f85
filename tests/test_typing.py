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
# The rest of the public API (callbacks, fit options, weights files, utils, distributed), typed.
API_SCRIPT = os.path.join(HERE, "typing", "api_script.py")
# The README's arrays recipe, typed as a user would write it.
ARRAYS_EXAMPLE = os.path.join(HERE, os.pardir, "examples", "arrays.py")
# The directory fusednet is imported from (python/ in a checkout, site-packages when installed).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fusednet.__file__)))


def test_py_typed_ships_with_the_package():
    assert os.path.isfile(os.path.join(os.path.dirname(fusednet.__file__), "py.typed"))


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One mypy cache for the module's runs: the package is analysed once."""
    return str(tmp_path_factory.mktemp("mypy_cache"))


def _mypy(files, cwd, cache):
    """mypy --strict's error lines over `files`, with fusednet seen as an installed package."""
    pytest.importorskip("mypy", reason="mypy is not installed (pip install mypy; CI installs it)")
    env = dict(os.environ)
    # mypy finds fusednet where Python does; on PYTHONPATH it counts as installed, like a user's.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", cache] + [str(f) for f in files],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    return [line for line in out.stdout.splitlines() if ": error:" in line], out


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


# Wrong calls of the annotated API, one per line marked "# E": each must be exactly one mypy error
# (an argument or assignment type error, not an untyped call), so the annotations are checked.
BAD_API = """\
import numpy as np
import fusednet as fnet
m = fnet.Sequential([fnet.layers.Dense(2, input_shape=(3,))])
fnet.losses.Huber(delta="two")  # E
r: str = fnet.distributed.rank()  # E
fnet.utils.to_categorical([0, 1], num_classes="3")  # E
fnet.callbacks.ReduceLROnPlateau(patience="1")  # E
fnet.callbacks.ModelCheckpoint(3)  # E
m.train_on_batch(np.zeros((4, 3)), np.zeros((4, 2)), class_weight=[1.0])  # E
m.fit(np.zeros((4, 3)), np.zeros((4, 2)), validation_freq="2")  # E
j: bytes = m.to_json()  # E
fnet.layers.Dense(4, activation=3)  # E
m.save_weights(3)  # E
a: str = fnet.activations.relu(np.zeros(3))  # E
fnet.schedules.CosineDecay(0.1, decay_steps=10, warmup_target="1")  # E
"""


def test_api_script_passes_mypy_strict(tmp_path, mypy_cache):
    """tests/typing/api_script.py (the rest of the public API, typed use) has no mypy --strict
    error, and each wrong call of BAD_API is one error on its line."""
    bad = tmp_path / "bad_api.py"
    bad.write_text(BAD_API)
    errors, out = _mypy([API_SCRIPT, bad], tmp_path, mypy_cache)
    assert [e for e in errors if "bad_api.py" not in e] == [], out.stdout + out.stderr
    expected = [i + 1 for i, line in enumerate(BAD_API.splitlines()) if line.endswith("# E")]
    found = [int(e.split(":")[1]) for e in errors if "bad_api.py" in e]
    assert found == expected, out.stdout
    assert not [e for e in errors if "no-untyped-call" in e], out.stdout


def test_api_script_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, API_SCRIPT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "weights equal True" in out.stdout, out.stdout
    assert "epochs [0, 1, 2, 3] seen [0, 1, 2, 3]" in out.stdout, out.stdout
    assert "rank 0/1 main True sum 1" in out.stdout, out.stdout
