#!/usr/bin/env bash
# The test suite's CUDA cases without a GPU: builds fusednet._core with its CUDA column on the
# host stand-ins of mock_cuda.cpp (CMake option FUSEDNET_MOCK_CUDA, incremental in
# build/mock-module), stages it beside a copy of python/fusednet (the source tree is left alone)
# and runs the tests marked `cuda` on it (conftest.py marks every device="cuda" case; test_net.py's
# GPU tests and test_backends.py are marked too). Tests of what only a GPU has skip there
# (checks.real_gpu_only). `--all` first runs the whole suite instead, where device="auto" then
# means the mock device; other arguments go to pytest. This tests the CUDA host side: the
# bindings' CUDA column, the CUDA backend and data feed, CudaNet, model.to; not the .cu kernels.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FUSEDNET_MOCK_MODULE_BUILD_DIR:-build/mock-module}
py=${PYTHON:-python3}
select=(-m cuda)
if [ "${1:-}" = --all ]; then
  select=()
  shift
fi

gen=()
if command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ]; then gen=(-G Ninja); fi
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFUSEDNET_CUDA=OFF \
  -DFUSEDNET_MOCK_CUDA=ON -DPython_EXECUTABLE="$(command -v "$py")" \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" >/dev/null
cmake --build "$build" --target _core -j "${JOBS:-2}"

stage=$PWD/$build/stage
rm -rf "$stage"
mkdir -p "$stage"
cp -R python/fusednet "$stage/"
find "$stage" \( -name '_core*.so' -o -name '_core*.pyd' -o -name __pycache__ \) -prune \
  -exec rm -rf {} +
cp "$build"/_core*.so "$stage/fusednet/"

export PYTHONPATH=$stage
# Test the staged module or nothing (an installed fusednet must not answer instead).
"$py" - <<'PYEOF'
import os
import fusednet
devices = fusednet.backends()["cuda"]["devices"]
assert fusednet.__file__.startswith(os.environ["PYTHONPATH"]), fusednet.__file__
assert devices and devices[0]["name"].startswith("host mock"), devices
print(f"fusednet from {fusednet.__file__}; CUDA device: {devices[0]['name']}")
PYEOF
exec "$py" -m pytest -q -p no:cacheprovider "${select[@]}" "$@"
