#!/usr/bin/env bash
# Regenerates python/fusednet/_core.pyi from the built extension (needs pybind11-stubgen and a
# tools/dev_build.sh build). Run after changing any binding.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
(cd python && python -m pybind11_stubgen fusednet._core -o "$out" --numpy-array-remove-parameters)
cp "$out/fusednet/_core.pyi" python/fusednet/_core.pyi
echo "wrote python/fusednet/_core.pyi"
