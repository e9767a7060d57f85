#!/usr/bin/env bash
# Formats the tree in place: ruff's safe fixes (import order, pyupgrade, ...) and ruff format on
# the Python sources, clang-format on the C++/CUDA sources (the files listed by tools/sources.sh).
# Exits non-zero when ruff leaves findings that need a human; tools/lint.sh is the check.
set -euo pipefail
. "$(dirname "$0")/sources.sh"
check_tool_versions
status=0
ruff check --fix --quiet "${PY_FILES[@]}" || status=$?
ruff format --quiet "${PY_FILES[@]}"
clang-format -i "${CXX_FILES[@]}"
[ "$status" = 0 ] || echo "ruff: the findings above need a manual fix" >&2
exit "$status"
