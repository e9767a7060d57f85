# Sourced by tools/gen_stubs.sh and tools/check_stubs.sh. generate_stub OUT_DIR writes
# OUT_DIR/fusednet/_core.pyi from the fusednet._core that `python` imports in the current
# directory and environment, with the pinned pybind11-stubgen.
# Every binding exists with or without CUDA compiled in (the device is an argument), so any build
# gives the same stub.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python}
# Relative PYTHONPATH entries (PYTHONPATH=python) must survive the scripts' cd.
if [ -n "${PYTHONPATH:-}" ]; then
  PYTHONPATH=$("$PY" -c 'import os, sys; print(os.pathsep.join(os.path.abspath(p) for p in sys.argv[1].split(os.pathsep) if p))' "$PYTHONPATH")
  export PYTHONPATH
fi

check_stubgen_version() {
  local want have
  want=$(sed -n 's/.*"pybind11-stubgen==\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml" | head -1)
  have=$("$PY" -c 'import importlib.metadata as m; print(m.version("pybind11-stubgen"))' 2>/dev/null)
  if [ "$have" != "$want" ]; then
    echo "pybind11-stubgen ${have:-not installed}, need $want: pip install pybind11-stubgen==$want" >&2
    return 1
  fi
}

# Prints the path of the fusednet._core that would be used.
core_path() {
  "$PY" -c 'import fusednet._core as core; print(core.__file__)'
}

generate_stub() {
  # Enum defaults are spelled Device.cpu etc. (py::arg_v in the bindings): print them as they are.
  "$PY" -m pybind11_stubgen fusednet._core -o "$1" --numpy-array-remove-parameters \
    --print-safe-value-reprs "(Device|Activation|Reduction)\.[a-z_]+"
}
