#!/usr/bin/env bash
# Stub drift check: regenerates the stub of the fusednet._core that `python` imports (the
# installed one; PYTHONPATH=python for the dev build) into a temp dir and fails with a diff when
# the committed python/fusednet/_core.pyi differs.
set -euo pipefail
. "$(dirname "$0")/stubs_common.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cd "$out"           # so the working directory does not shadow the module under test
check_stubgen_version
if ! so=$(core_path); then
  echo "stub check: fusednet._core did not import" >&2
  exit 1
fi
generate_stub "$out/gen" >/dev/null
if ! diff -u "$ROOT/python/fusednet/_core.pyi" "$out/gen/fusednet/_core.pyi"; then
  echo "stub drift: python/fusednet/_core.pyi differs from the stub of $so;" \
       "regenerate it with tools/gen_stubs.sh (on a tools/dev_build.sh build)" >&2
  exit 1
fi
echo "stub check: python/fusednet/_core.pyi matches $so"
