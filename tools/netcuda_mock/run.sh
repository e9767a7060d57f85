#!/usr/bin/env bash
# Builds and runs the host mock of the CUDA backend: the net's CUDA host code on host stand-ins of
# the CUDA launchers (mock_cuda.cpp), checked bit for bit against the CPU net (main.cpp). No nvcc
# or GPU needed. The CMake target is netcuda_mock (FUSEDNET_BUILD_MOCK=ON), built incrementally
# in build/mock; tests/test_netcuda_mock.py runs the same thing from pytest.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FUSEDNET_MOCK_BUILD_DIR:-build/mock}
gen=()
if command -v ninja >/dev/null && [ ! -f "$build/CMakeCache.txt" ]; then gen=(-G Ninja); fi
cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DFUSEDNET_BUILD_MODULE=OFF \
  -DFUSEDNET_BUILD_MOCK=ON >/dev/null
cmake --build "$build" --target netcuda_mock -j "${JOBS:-2}"
(cd "$build" && ctest --output-on-failure --no-tests=error -R '^netcuda_mock$')
