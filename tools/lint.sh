#!/usr/bin/env bash
# Checks without changing anything (CI and pre-push): ruff's lint rules, ruff format and
# clang-format in check mode, and that pre-commit pins the same tool versions as pyproject.
# tools/format.sh fixes what the formatters report.
set -uo pipefail
. "$(dirname "$0")/sources.sh"
check_tool_versions || exit 1
failed=()
ruff check --no-fix "${PY_FILES[@]}" || failed+=("ruff check")
ruff format --check "${PY_FILES[@]}" || failed+=("ruff format (run tools/format.sh)")
clang-format --dry-run --Werror --ferror-limit=3 "${CXX_FILES[@]}" ||
  failed+=("clang-format (run tools/format.sh)")
for tool in ruff clang-format; do
  if ! grep -q "\"$tool==$(_pin "$tool")\"" .pre-commit-config.yaml; then
    failed+=(".pre-commit-config.yaml does not pin $tool==$(_pin "$tool")")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'lint failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint: ${#PY_FILES[@]} Python and ${#CXX_FILES[@]} C++/CUDA files clean"
