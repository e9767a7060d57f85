#!/usr/bin/env bash
# Stub drift check: regenerates the stub of the fusednet._core that `python` imports (the
# installed one; PYTHONPATH=python for the dev build) into a temp dir and fails with a diff when
# the committed python/fusednet/_core.pyi differs. Skips (exit 0, says so) when that build has
# no CUDA compiled in, since the stub describes a CUDA build.
set -euo pipefail
. "$(dirname "$0")/stubs_common.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"           # so the working directory does not shadow the module under test
check_stubgen_version
status=0
so=$(core_with_cuda) || status=$?
if [ "$status" = 3 ]; then
  echo "stub check SKIPPED: $so has no CUDA compiled in (built with FUSEDNET_CUDA=OFF or without nvcc)"
  exit 0
elif [ "$status" != 0 ]; then
  echo "stub check: fusednet._core did not import" >&2
  exit 1
fi
generate_stub "$out/gen" >/dev/null
if ! diff -u "$ROOT/python/fusednet/_core.pyi" "$out/gen/fusednet/_core.pyi"; then
  echo "stub drift: python/fusednet/_core.pyi differs from the stub of $so;" \
       "regenerate it with tools/gen_stubs.sh (on a FUSEDNET_CUDA=AUTO dev build)" >&2
  exit 1
fi
echo "stub check: python/fusednet/_core.pyi matches $so"
