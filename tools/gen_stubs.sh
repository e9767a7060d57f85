#!/usr/bin/env bash
# Regenerates python/fusednet/_core.pyi from the dev build in python/fusednet (tools/dev_build.sh,
# with or without CUDA: the stub is the same). Run after changing any binding;
# tools/check_stubs.sh (in CI) fails while the committed stub differs from what this writes.
set -euo pipefail
. "$(dirname "$0")/stubs_common.sh"
cd "$ROOT/python"   # import fusednet from the working tree
check_stubgen_version
if ! so=$(core_path); then
  echo "fusednet._core did not import: build it with tools/dev_build.sh first" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
generate_stub "$out"
cp "$out/fusednet/_core.pyi" fusednet/_core.pyi
echo "wrote python/fusednet/_core.pyi from $so"
