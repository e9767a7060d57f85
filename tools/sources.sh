# Sourced by tools/format.sh and tools/lint.sh: the files the formatters own, and the pinned
# versions they must be (another version formats differently). Sets PY_FILES and CXX_FILES.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Tracked files plus new ones not yet added (but not ignored ones, nor deleted ones).
_files() {
  git ls-files --cached --others --exclude-standard -- "$@" | sort -u |
    while IFS= read -r f; do if [ -f "$f" ]; then printf '%s\n' "$f"; fi; done
}
mapfile -t PY_FILES < <(_files '*.py')            # the generated *.pyi stub is left alone
mapfile -t CXX_FILES < <(_files '*.h' '*.cpp' '*.cu' '*.cuh')

# The versions pinned in pyproject.toml's `lint` extra; pre-commit's hooks must pin the same.
_pin() { sed -n "s/.*\"$1==\([^\"]*\)\".*/\1/p" pyproject.toml | head -1; }
check_tool_versions() {
  local bad=0 want have
  want=$(_pin ruff); have=$(ruff --version 2>/dev/null | awk '{print $2}')
  if [ "$have" != "$want" ]; then echo "ruff ${have:-not found}, need $want" >&2; bad=1; fi
  want=$(_pin clang-format)
  have=$(clang-format --version 2>/dev/null | sed -n 's/.*clang-format version \([0-9.]*\).*/\1/p')
  if [ "$have" != "$want" ]; then echo "clang-format ${have:-not found}, need $want" >&2; bad=1; fi
  if [ "$bad" = 1 ]; then
    echo "install the pinned tools: pip install ruff==$(_pin ruff) clang-format==$(_pin clang-format)" >&2
    return 1
  fi
}
