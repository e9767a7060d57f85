#!/usr/bin/env bash
# Incremental developer build: compiles fusednet._core into build/dev and links it into
# python/fusednet/, so `PYTHONPATH=python pytest` tests the working tree without reinstalling.
# FUSEDNET_CUDA=OFF|AUTO|ON as for pip (default here: OFF, for speed).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DFUSEDNET_CUDA="${FUSEDNET_CUDA:-OFF}" -DFUSEDNET_CUDA_ARCHS="${FUSEDNET_CUDA_ARCHS:-80;90}" \
  -DPython_EXECUTABLE="$(command -v "$py")" \
  -Dpybind11_DIR="$("$py" -m pybind11 --cmakedir)" >/dev/null
ninja -C build/dev -j "${JOBS:-2}"
so=$(ls build/dev/_core*.so)
ln -sf "../../$so" "python/fusednet/$(basename "$so")"
echo "built $so"
